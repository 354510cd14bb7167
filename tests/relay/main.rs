//! The relay, as a real process over real QUIC on 127.0.0.1.

mod access;
mod basics;
mod disk;
mod durability;
mod flood;
mod limits;
mod malformed;
