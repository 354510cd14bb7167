//! The Boucle desktop app: an iced window over the client engine
//! (`boucle-client-core`), and nothing else — it never touches the network, the store
//! or the cryptography directly.
//!
//! One module per screen under [`screen`] (State, Message, update, view, Action, as in
//! iced's "Scaling Applications"; a large screen, the conversation, is made of parts
//! that each have them too); [`app`] switches between them; [`io`] holds the engine
//! requests the main window makes (run as `Task`s) and where their answers go;
//! [`theme`] the look; [`when`] the words for dates and times (the times themselves
//! are `boucle_client_core::time`'s).
//!
//! ```no_run
//! let config = boucle_desktop::app::Config {
//!     profile: "/tmp/boucle-profile".into(),
//!     kdf: boucle_client_core::store::KdfParams::recommended(),
//!     relay: None,
//!     token: None,
//! };
//! boucle_desktop::run(config).unwrap();
//! ```

pub mod app;
pub mod format;
pub mod io;
pub mod screen;
pub mod theme;
pub mod when;

/// Opens the window and runs until it is closed.
pub fn run(config: app::Config) -> iced::Result {
    iced::application(
        move || app::App::boot(config.clone()),
        app::App::update,
        app::App::view,
    )
    .title(app::App::title)
    .theme(app::App::theme)
    .subscription(app::App::subscription)
    .default_font(theme::TEXT)
    .font(theme::EMOJI_FONT)
    .window_size((1100.0, 720.0))
    .run()
}
