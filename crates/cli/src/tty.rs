//! Asking for a passphrase: from an environment variable, else on the terminal
//! without echo (via `stty`), else from standard input.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::Context;

/// The passphrase in `env`, or one typed after `prompt`. Never empty.
pub fn passphrase(env: &str, prompt: &str) -> anyhow::Result<String> {
    if let Ok(value) = std::env::var(env) {
        if value.is_empty() {
            refuse!("{env} is set but empty");
        }
        return Ok(value);
    }
    let typed = match File::options().read(true).write(true).open("/dev/tty") {
        Ok(tty) => read_hidden(tty, prompt)?,
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

fn read_hidden(tty: File, prompt: &str) -> anyhow::Result<String> {
    let mut out = tty.try_clone().context("cannot use the terminal")?;
    write!(out, "{prompt}")?;
    out.flush()?;
    let hidden = set_echo(&tty, false);
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    if hidden {
        set_echo(&tty, true);
        writeln!(out)?;
    }
    read.context("cannot read the passphrase from the terminal")?;
    Ok(trim_newline(line))
}

/// Turns terminal echo on or off with `stty`; returns whether it worked.
fn set_echo(tty: &File, on: bool) -> bool {
    let Ok(stdin) = tty.try_clone() else {
        return false;
    };
    Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
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
