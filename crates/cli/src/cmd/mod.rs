//! One module per command. Each has `Args` (if it takes any) and `run`.

pub mod accept;
pub mod block;
pub mod contacts;
pub mod event;
pub mod files;
pub mod init;
pub mod invite;
pub mod loops;
pub mod passwd;
pub mod poll;
pub mod read;
pub mod send;
pub mod share;
pub mod sync;
pub mod timer;
pub mod token;
pub mod verify;
pub mod watch;
