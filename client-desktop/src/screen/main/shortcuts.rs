//! The window's keyboard shortcuts, as a pure function of a key press (so tests can
//! check them) and the subscription that feeds them in.

use iced::keyboard::{self, Key, key::Named};
use iced::{Subscription, event};

/// A keyboard shortcut of the main window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Ctrl+N: make a new invitation.
    Invite,
    /// Ctrl+G: the agenda of every conversation.
    Agenda,
    /// Ctrl+Up: the conversation above in the list.
    Previous,
    /// Ctrl+Down: the conversation below in the list.
    Next,
    /// Escape: close the pane, or cancel a reply, an edit or a selection.
    Escape,
}

/// The shortcut a key press means, if any. `captured` says whether a widget (the
/// composer, a text field) already used the key: Escape counts only if not.
pub fn shortcut(event: &keyboard::Event, captured: bool) -> Option<Shortcut> {
    let keyboard::Event::KeyPressed { key, modifiers, .. } = event else {
        return None;
    };
    match key.as_ref() {
        Key::Named(Named::Escape) if !captured => Some(Shortcut::Escape),
        Key::Named(Named::ArrowUp) if modifiers.command() => Some(Shortcut::Previous),
        Key::Named(Named::ArrowDown) if modifiers.command() => Some(Shortcut::Next),
        Key::Character("n" | "N") if modifiers.command() && !modifiers.shift() => {
            Some(Shortcut::Invite)
        }
        Key::Character("g" | "G") if modifiers.command() && !modifiers.shift() => {
            Some(Shortcut::Agenda)
        }
        _ => None,
    }
}

/// Key presses of the window, as shortcuts.
pub fn subscription() -> Subscription<Shortcut> {
    event::listen_with(|event, status, _window| match event {
        iced::Event::Keyboard(event) => shortcut(&event, status == event::Status::Captured),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced::keyboard::{Location, Modifiers, key::Physical};

    fn press(key: Key, modifiers: Modifiers) -> keyboard::Event {
        keyboard::Event::KeyPressed {
            key: key.clone(),
            modified_key: key,
            physical_key: Physical::Unidentified(keyboard::key::NativeCode::Unidentified),
            location: Location::Standard,
            modifiers,
            text: None,
            repeat: false,
        }
    }

    #[test]
    fn keys_mean_shortcuts() {
        let ctrl = Modifiers::CTRL;
        assert_eq!(
            shortcut(&press(Key::Character("n".into()), ctrl), false),
            Some(Shortcut::Invite)
        );
        assert_eq!(
            shortcut(&press(Key::Character("n".into()), ctrl), true),
            Some(Shortcut::Invite)
        );
        assert_eq!(
            shortcut(
                &press(Key::Character("n".into()), Modifiers::empty()),
                false
            ),
            None
        );
        assert_eq!(
            shortcut(&press(Key::Character("g".into()), ctrl), true),
            Some(Shortcut::Agenda)
        );
        assert_eq!(
            shortcut(&press(Key::Named(Named::ArrowUp), ctrl), true),
            Some(Shortcut::Previous)
        );
        assert_eq!(
            shortcut(&press(Key::Named(Named::ArrowDown), ctrl), false),
            Some(Shortcut::Next)
        );
        assert_eq!(
            shortcut(
                &press(Key::Named(Named::ArrowDown), Modifiers::empty()),
                false
            ),
            None
        );
        assert_eq!(
            shortcut(&press(Key::Named(Named::Escape), Modifiers::empty()), false),
            Some(Shortcut::Escape)
        );
        assert_eq!(
            shortcut(&press(Key::Named(Named::Escape), Modifiers::empty()), true),
            None,
            "the composer used it (to cancel a reply)"
        );
    }
}
