//! One module per screen, each with its State, Message, update, view and Action.

pub mod accept;
pub mod agenda;
pub mod conversation;
pub mod event_form;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod invite;
pub mod loop_settings;
pub mod main;
pub mod new_loop;
pub mod new_poll;
pub mod onboarding;
pub mod unlock;
pub mod verify;
