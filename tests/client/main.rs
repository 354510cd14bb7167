//! The client engine against real relay processes on 127.0.0.1: profiles on disk,
//! invitations, conversations, loops, outbox, durability, privacy, failures. Behaviour
//! that needs no relay process moves to the in-memory net of engines
//! (`crates/client-core/src/pair/`), where it runs deterministically and without
//! waiting; the roles and poll scenarios are there already.

mod support;

mod clocked;
mod conversations;
mod disappearing;
mod durability;
mod failures;
mod files;
mod invited;
mod loops;
mod privacy;
mod sharing;
