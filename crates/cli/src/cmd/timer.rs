//! `boucle timer CONVERSATION [off|1h|1d|1w|4w]`: show or set disappearing messages.

use std::time::Duration;

use crate::cmd::share::resolve_conversation;
use crate::output::json_line;
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A contact or a loop (name, or the start of its id).
    conversation: String,
    /// The new timer: off, 1h, 1d, 1w or 4w. Without it, shows the current one.
    #[arg(value_parser = parse_timer)]
    timer: Option<u32>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let conversation = resolve_conversation(&engine, &args.conversation)?;
            if let Some(seconds) = args.timer {
                engine.set_timer(conversation, seconds)?;
                engine.sync(Duration::from_secs(10)).await;
            }
            let seconds = engine.timer(conversation)?;
            if globals.json {
                json_line(&serde_json::json!({
                    "timer_seconds": seconds,
                    "timer": timer_name(seconds),
                }));
            } else if seconds == 0 {
                outln!("Disappearing messages are off.");
            } else {
                outln!(
                    "Messages disappear {} after they are sent.",
                    timer_text(seconds)
                );
            }
            Ok(())
        })
        .await
}

/// `off`, `1h`, `1d`, `1w`, `4w` (or the same in seconds) to seconds.
pub fn parse_timer(text: &str) -> Result<u32, String> {
    let seconds = match text.trim().to_lowercase().as_str() {
        "off" | "0" => 0,
        "1h" | "3600" => 3_600,
        "1d" | "86400" => 86_400,
        "1w" | "604800" => 604_800,
        "4w" | "2419200" => 2_419_200,
        other => return Err(format!("{other:?}: use off, 1h, 1d, 1w or 4w")),
    };
    Ok(seconds)
}

/// The short name of a timer (`off`, `1h`, ...), or its seconds.
pub fn timer_name(seconds: u32) -> String {
    match seconds {
        0 => "off".into(),
        3_600 => "1h".into(),
        86_400 => "1d".into(),
        604_800 => "1w".into(),
        2_419_200 => "4w".into(),
        other => format!("{other}s"),
    }
}

/// A timer in words: "1 hour", "1 day", ...
pub fn timer_text(seconds: u32) -> String {
    match seconds {
        0 => "off".into(),
        3_600 => "1 hour".into(),
        86_400 => "1 day".into(),
        604_800 => "1 week".into(),
        2_419_200 => "4 weeks".into(),
        other => format!("{other} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offered_timers_parse_and_others_do_not() {
        for (text, seconds) in [("off", 0), ("1h", 3600), ("1D", 86_400), ("1w", 604_800)] {
            assert_eq!(parse_timer(text), Ok(seconds));
        }
        assert_eq!(parse_timer("4w").map(timer_name).as_deref(), Ok("4w"));
        assert!(parse_timer("2h").is_err());
        assert!(parse_timer("").is_err());
        for seconds in boucle_client_core::TIMER_CHOICES {
            assert_eq!(parse_timer(&timer_name(seconds)), Ok(seconds));
        }
    }
}
