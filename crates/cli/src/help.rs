//! The sections `--help` ends with: examples, the environment, exit statuses.

/// The long help of a command: its examples, then what every command shares, then its
/// notes (one paragraph, may be empty).
pub fn long_help(examples: &str, notes: &str) -> String {
    let mut text = format!("EXAMPLES\n{examples}\n\n{ENVIRONMENT}\n\n{EXIT_STATUS}\n\n");
    for paragraph in [notes, ERRORS] {
        if !paragraph.is_empty() {
            text.push_str(&wrap(paragraph, WIDTH));
            text.push_str("\n\n");
        }
    }
    text.truncate(text.trim_end().len());
    text
}

const WIDTH: usize = 88;

const ERRORS: &str = "Errors are one line on stderr, `error: <what happened>`, never a backtrace.";

pub const EXAMPLES: &str = "  # Two people on one relay (the relay's operator printed its address):
  RELAY='boucle-relay://127.0.0.1:4433/a_yeeWYubFUFJD0O11tpYXKAEghGV0gH5NrYTKEYjsk'
  boucle --profile alice init --name Alice --relay \"$RELAY\"  # --token T if closed
  boucle --profile bob init --name Bob --relay \"$RELAY\"
  boucle --profile alice invite              # a one-time link and its QR code
  boucle --profile bob accept 'boucle:invite/1/…'
  boucle --profile bob send Alice 'Meeting at 6?'
  boucle --profile alice read Bob
  boucle --profile alice loop create 'North group' Bob
  boucle --profile alice poll create 'North group' 'Which day?' Saturday Sunday
  boucle --profile bob sync                  # receive what is pending, send";

const ENVIRONMENT: &str = "\
ENVIRONMENT
  BOUCLE_PROFILE            the profile directory, like --profile (default:
                            $XDG_DATA_HOME/boucle, or ~/.local/share/boucle)
  BOUCLE_PASSPHRASE         the profile's passphrase (else it is asked on the terminal;
                            never give it on the command line)
  BOUCLE_NEW_PASSPHRASE     the new passphrase, for `passwd`
  BOUCLE_LOG                which log lines go to stderr, e.g. warn, info, debug
                            (default: error); logs never carry content, names or keys
  NO_COLOR                  if set and not empty, logs carry no colour codes (they are
                            coloured only when stderr is a terminal in any case)
  BOUCLE_INSECURE_FAST_KDF  1 makes passphrase hashing nearly free: for tests only, it
                            leaves the profile unprotected against anyone who copies it";

const EXIT_STATUS: &str = "\
EXIT STATUS
  0  done
  1  failed while doing it: the profile could not be read or written, a relay refused,
     a file could not be read...
  2  could not run as asked: a mistake on the command line (an unknown contact, loop or
     message, an invalid address, token or link...), a wrong passphrase, no profile (or,
     for init, one already there), a relay that needs an access token the profile lacks
  3  a relay could not be reached: what needs it did not get through (sync, send, accept
     and loop send leave it queued for the next run; other commands did nothing)";

/// Greedy word wrap at `width` columns.
fn wrap(paragraph: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in paragraph.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_ends_with_examples_environment_and_exit_statuses() {
        let text = long_help(EXAMPLES, &"word ".repeat(40));
        let at = |section: &str| text.find(section).expect(section);
        assert!(at("EXAMPLES") < at("ENVIRONMENT") && at("ENVIRONMENT") < at("EXIT STATUS"));
        assert!(
            text.lines().all(|l| l.chars().count() <= WIDTH + 2),
            "{text}"
        );
        for variable in [
            "BOUCLE_PROFILE",
            "BOUCLE_PASSPHRASE",
            "BOUCLE_LOG",
            "NO_COLOR",
        ] {
            assert!(text.contains(variable), "{variable}");
        }
    }
}
