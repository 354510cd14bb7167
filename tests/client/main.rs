//! The client engine against real relay processes on 127.0.0.1: profiles on disk,
//! invitations, conversations, loops, outbox, durability, privacy, failures.

mod support;

mod agenda;
mod conversations;
mod disappearing;
mod durability;
mod failures;
mod files;
mod invited;
mod loops;
mod polls;
mod privacy;
mod roles;
mod sharing;
