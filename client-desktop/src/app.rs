//! The application: which screen is up (onboarding, unlock, main window), the window
//! title, and opening the profile.

use std::path::PathBuf;

use boucle_client_core::store::{KdfParams, ProfileStore};
use boucle_client_core::{Engine, EngineOptions, Event};
use iced::{Element, Subscription, Task, Theme};

use crate::screen::{main, onboarding, unlock};

/// Where the profile lives and how it is protected.
#[derive(Debug, Clone)]
pub struct Config {
    pub profile: PathBuf,
    pub kdf: KdfParams,
    /// Prefill for the relay address (a relay on this machine).
    pub relay: Option<String>,
    pub token: Option<String>,
}

pub struct App {
    config: Config,
    screen: Screen,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

pub enum Screen {
    Onboarding(onboarding::State),
    Unlock(unlock::State),
    /// The main window, over the unlocked engine.
    Main {
        engine: Engine,
        state: Box<main::State>,
    },
}

#[derive(Debug, Clone)]
pub enum Message {
    Onboarding(onboarding::Message),
    Unlock(unlock::Message),
    /// Boxed: the main window's messages carry engine views, far larger than the rest.
    Main(Box<main::Message>),
    /// The profile was created or unlocked (or why not).
    Opened(Result<Engine, String>),
    /// Tab (forward) or Shift+Tab (backward): move the keyboard focus.
    MoveFocus {
        forward: bool,
    },
}

impl Message {
    fn main(message: main::Message) -> Message {
        Message::Main(Box::new(message))
    }
}

impl App {
    /// Onboarding for a new profile, else the unlock screen.
    pub fn new(config: Config) -> App {
        let screen = if ProfileStore::exists(&config.profile) {
            Screen::Unlock(unlock::State::default())
        } else {
            Screen::Onboarding(onboarding::State::new(
                config.relay.clone(),
                config.token.clone(),
            ))
        };
        App { config, screen }
    }

    pub fn boot(config: Config) -> (App, Task<Message>) {
        let app = App::new(config);
        let focus = match app.screen {
            Screen::Onboarding(_) => iced::widget::operation::focus("name"),
            _ => iced::widget::operation::focus("passphrase"),
        };
        (app, focus)
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// "Boucle", with the unread count when there is one.
    pub fn title(&self) -> String {
        match &self.screen {
            Screen::Main { state, .. } => state.title(),
            _ => "Boucle".to_owned(),
        }
    }

    pub fn theme(&self) -> Theme {
        crate::theme::theme()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match (&mut self.screen, message) {
            (_, Message::MoveFocus { forward: true }) => iced::widget::operation::focus_next(),
            (_, Message::MoveFocus { forward: false }) => iced::widget::operation::focus_previous(),
            (Screen::Onboarding(state), Message::Onboarding(message)) => {
                match state.update(message) {
                    onboarding::Action::None => Task::none(),
                    onboarding::Action::Create(profile) => {
                        Task::perform(create(self.config.clone(), profile), Message::Opened)
                    }
                }
            }
            (Screen::Unlock(state), Message::Unlock(message)) => match state.update(message) {
                unlock::Action::None => Task::none(),
                unlock::Action::Unlock(passphrase) => {
                    Task::perform(open(self.config.clone(), passphrase), Message::Opened)
                }
            },
            (Screen::Main { engine, state }, Message::Main(message)) => {
                run(engine, state.handle(*message))
            }
            (_, Message::Opened(Ok(engine))) => {
                let (mut state, commands) = main::State::new(engine.name().unwrap_or_default());
                state.set_zone(crate::when::Zone::system());
                // The time until the first tick.
                state.handle(main::Message::Tick(crate::format::now_ms()));
                let task = run(&engine, commands);
                self.screen = Screen::Main {
                    engine,
                    state: Box::new(state),
                };
                task
            }
            (Screen::Onboarding(state), Message::Opened(Err(error))) => {
                state.update(onboarding::Message::Failed(error));
                Task::none()
            }
            (Screen::Unlock(state), Message::Opened(Err(error))) => {
                state.update(unlock::Message::Failed(error));
                iced::widget::operation::focus("passphrase")
            }
            _ => Task::none(),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        match &self.screen {
            Screen::Onboarding(state) => state.view().map(Message::Onboarding),
            Screen::Unlock(state) => state.view().map(Message::Unlock),
            Screen::Main { state, .. } => state.view().map(Message::main),
        }
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let keys = iced::event::listen_with(tab);
        match &self.screen {
            Screen::Main { engine, .. } => Subscription::batch([
                keys,
                Subscription::run_with(EngineKey(engine.clone()), events)
                    .map(|event| Message::main(main::Message::Event(event))),
                main::shortcuts::subscription().map(|s| Message::main(main::Message::Shortcut(s))),
                main::tick().map(Message::main),
            ]),
            _ => keys,
        }
    }
}

/// Runs the main window's commands as tasks against the engine.
fn run(engine: &Engine, commands: Vec<main::Command>) -> Task<Message> {
    let tasks = commands.into_iter().map(|command| match command {
        main::Command::Engine(to, request) => Task::perform(
            crate::io::perform(engine.clone(), request),
            move |response| main::Message::Response(to, response),
        ),
        main::Command::Copy(text) => iced::clipboard::write(text),
        main::Command::Focus(id) => iced::widget::operation::focus(id),
        main::Command::FocusInput(id) => iced::widget::operation::focus(id),
        // The list is anchored to the bottom, where offsets count from the end: the
        // latest message is at offset 0.
        main::Command::ShowLatest(id) => {
            iced::widget::operation::snap_to(id, iced::widget::scrollable::RelativeOffset::START)
        }
        main::Command::After(at, to, request) => {
            let engine = engine.clone();
            Task::perform(
                async move {
                    // A moment past the time, so that the engine sees it past too.
                    let wait = at.saturating_sub(crate::format::now_ms()) + 500;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    crate::io::perform(engine, request).await
                },
                move |response| main::Message::Response(to, response),
            )
        }
    });
    Task::batch(tasks).map(Message::main)
}

/// The engine as a subscription key: there is one engine at a time.
struct EngineKey(Engine);

impl std::hash::Hash for EngineKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "boucle-engine-events".hash(state);
    }
}

/// The engine's events (`None` when some were missed: reload).
fn events(key: &EngineKey) -> impl iced::futures::Stream<Item = Option<Event>> + use<> {
    use tokio::sync::broadcast::error::RecvError;
    let receiver = key.0.events();
    iced::futures::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(event) => Some((Some(event), receiver)),
            Err(RecvError::Lagged(_)) => Some((None, receiver)),
            Err(RecvError::Closed) => None,
        }
    })
}

/// Tab and Shift+Tab move the focus between fields and buttons; a file dropped on the
/// window goes to the open conversation's attach pane.
fn tab(
    event: iced::Event,
    _status: iced::event::Status,
    _window: iced::window::Id,
) -> Option<Message> {
    use iced::keyboard::{self, Key, key::Named};
    match event {
        iced::Event::Keyboard(keyboard::Event::KeyPressed {
            key: Key::Named(Named::Tab),
            modifiers,
            ..
        }) => Some(Message::MoveFocus {
            forward: !modifiers.shift(),
        }),
        iced::Event::Window(iced::window::Event::FileDropped(path)) => Some(Message::main(
            main::Message::Conversation(crate::screen::conversation::Message::FileDropped(path)),
        )),
        _ => None,
    }
}

/// Creates the profile (checks the relay first).
pub async fn create(config: Config, profile: onboarding::NewProfile) -> Result<Engine, String> {
    let options = EngineOptions {
        kdf: config.kdf,
        ..EngineOptions::default()
    };
    if let Some(parent) = config.profile.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    Engine::create(
        &config.profile,
        &profile.passphrase,
        &profile.name,
        &profile.relay,
        profile.token.as_deref(),
        options,
    )
    .await
    .map_err(|e| e.to_string())
}

/// Unlocks the profile.
pub async fn open(config: Config, passphrase: String) -> Result<Engine, String> {
    let options = EngineOptions {
        kdf: config.kdf,
        ..EngineOptions::default()
    };
    Engine::unlock(&config.profile, &passphrase, options)
        .await
        .map_err(|e| unlock::explain(&e))
}
