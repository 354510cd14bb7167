//! The client engine against real relay processes on 127.0.0.1: profiles on disk,
//! invitations, conversations, loops, outbox, failures.

mod support;

mod conversations;
mod failures;
mod loops;
