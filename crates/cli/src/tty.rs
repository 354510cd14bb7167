//! Asking for a passphrase: from an environment variable, else on the terminal
//! without echo (`rpassword`), else from standard input.

use std::fs::File;
use std::io::BufRead;

use anyhow::Context;

/// The passphrase in `env`, or one typed after `prompt`. Never empty.
pub fn passphrase(env: &str, prompt: &str) -> anyhow::Result<String> {
    if let Ok(value) = std::env::var(env) {
        if value.is_empty() {
            refuse!("{env} is set but empty");
        }
        return Ok(value);
    }
    // No controlling terminal (a script, a service): read a line from standard input.
    let typed = match File::options().read(true).write(true).open("/dev/tty") {
        Ok(_) => rpassword::prompt_password(prompt)
            .context("cannot read the passphrase from the terminal")?,
        Err(_) => read_stdin(prompt)?,
    };
    if typed.is_empty() {
        refuse!("no passphrase given (type it at the prompt, or set {env})");
    }
    Ok(typed)
}

/// Asks twice for a new passphrase (unless it comes from `env`).
pub fn new_passphrase(env: &str) -> anyhow::Result<String> {
    if std::env::var_os(env).is_some() {
        return passphrase(env, "");
    }
    let first = passphrase(env, "New passphrase: ")?;
    let second = passphrase(env, "Repeat it: ")?;
    if first != second {
        refuse!("the two passphrases differ; nothing was changed");
    }
    Ok(first)
}

fn read_stdin(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}(reading from standard input; it will be visible) ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the passphrase from standard input")?;
    Ok(trim_newline(line))
}

fn trim_newline(mut line: String) -> String {
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    line
}
