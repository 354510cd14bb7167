//! The `boucle-relay` command line, run as a real process: init, serve, address, token,
//! stats, errors and exit statuses, logs, help. (Having an integration test here also
//! makes `cargo test` build the relay binary that the end-to-end tests start.)

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use boucle_wire::RelayAddress;

fn relay(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_boucle-relay"));
    command
        .arg("--data-dir")
        .arg(dir)
        .env_remove("BOUCLE_RELAY_DATA")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    relay(dir).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The error a command printed: exactly one line, `error: <sentence>`, nothing else.
fn one_error_line(out: &Output) -> String {
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{text}");
    let sentence = lines[0]
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("an `error: ` line, got:\n{text}"));
    sentence.to_owned()
}

fn address_line(text: &str) -> Option<RelayAddress> {
    text.lines()
        .find_map(|l| l.strip_prefix("relay address: "))
        .map(|a| a.parse().unwrap())
}

/// The `listen` key of a data directory's config.toml.
fn configured_listen(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["listen"].as_str().unwrap().to_owned()
}

/// Runs a command that should exit by itself; kills it after `secs` seconds.
fn output_within(command: &mut Command, secs: u64) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {secs} s; stdout:\n{}\nstderr:\n{}",
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A `boucle-relay serve` process; killed when dropped.
struct Serving {
    child: Child,
    /// Stdout up to and including the `relay address:` line.
    stdout: String,
    address: RelayAddress,
    stdout_rest: mpsc::Receiver<String>,
}

impl Serving {
    fn start(dir: &Path, args: &[&str]) -> Serving {
        let mut child = relay(dir)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut stdout = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    stdout.push_str(&line);
                    stdout.push('\n');
                    if let Some(address) = address_line(&line) {
                        return Serving {
                            child,
                            stdout,
                            address,
                            stdout_rest: rx,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let mut err = String::new();
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    let _ = child.wait();
                    panic!("serve printed no address; stdout:\n{stdout}\nstderr:\n{err}");
                }
            }
        }
    }

    /// SIGTERM, then everything it wrote to stderr.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exits 0 on SIGTERM: {status}\n{err}"
        );
        while let Ok(line) = self.stdout_rest.try_recv() {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        err
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn init_prints_an_address_and_a_token_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init", "--listen", "127.0.0.1:4999"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let address = address_line(&text).expect("an address line");
    assert_eq!(address.port(), 4999);
    assert!(text.contains("access token: "));
    for file in ["config.toml", "cert.der", "key.der", "tokens"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let config_before = std::fs::read(dir.path().join("config.toml")).unwrap();
    let again = run(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(2), "a usage error");
    let sentence = one_error_line(&again);
    assert!(
        sentence.contains("is already an initialized relay data directory"),
        "{sentence}"
    );
    assert!(!sentence.contains("invalid"), "{sentence}");
    assert!(sentence.contains("boucle-relay serve"), "{sentence}");
    assert_eq!(
        std::fs::read(dir.path().join("config.toml")).unwrap(),
        config_before,
        "nothing changed"
    );
}

#[test]
fn init_on_all_interfaces_needs_a_public_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let out = run(&data, &["init", "--listen", "0.0.0.0:4433"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let sentence = one_error_line(&out);
    assert!(sentence.contains("--public-host"), "{sentence}");
    assert!(sentence.contains("only on this machine"), "{sentence}");
    assert!(
        !stdout(&out).contains("boucle-relay://"),
        "no address handed out"
    );
    assert!(!data.exists(), "nothing was created");

    let out = run(
        &data,
        &[
            "init",
            "--listen",
            "0.0.0.0:4433",
            "--public-host",
            "relay.example.org",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let address = address_line(&stdout(&out)).unwrap();
    assert_eq!(
        (address.host(), address.port()),
        ("relay.example.org", 4433)
    );
}

#[test]
fn a_bad_public_host_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let out = run(&data, &["init", "--public-host", "relay example.org"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let sentence = one_error_line(&out);
    assert!(sentence.contains("--public-host"), "{sentence}");
    assert!(!data.exists(), "nothing was created");
}

#[test]
fn serve_listen_is_a_one_time_override_and_address_prints_what_serve_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let serving = Serving::start(&data, &["--listen", "127.0.0.1:0"]);
    assert_ne!(serving.address.port(), 0);
    assert!(
        !serving.stdout.contains(":0/"),
        "never a port-0 address:\n{}",
        serving.stdout
    );
    assert_eq!(
        serving.stdout.matches("relay address: ").count(),
        1,
        "one address, the live one:\n{}",
        serving.stdout
    );
    assert!(
        serving.stdout.contains("access token: "),
        "first run: a token"
    );
    assert_eq!(
        configured_listen(&data),
        "127.0.0.1:4433",
        "the override is not written into config.toml"
    );

    // While it serves, `address` prints what serve printed.
    let out = run(&data, &["address"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", serving.address));

    // Stopped, it prints the configured address (same certificate).
    serving.stop();
    assert!(
        !data.join("address").exists(),
        "a clean stop removes the live address"
    );
    let out = run(&data, &["address"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let configured: RelayAddress = stdout(&out).trim().parse().unwrap();
    assert_eq!(configured.port(), 4433);
    assert_eq!(configured.host(), "127.0.0.1");
}

#[test]
fn address_wait_prints_the_address_of_the_relay_once_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["init"]).status.success());
    let out = run(dir.path(), &["address", "--wait", "0"]);
    assert_eq!(out.status.code(), Some(1), "not serving");
    assert!(one_error_line(&out).contains("did not start serving"));

    // Asked before serve starts with an override: the live address, not the configured one.
    let waiting = relay(dir.path())
        .args(["address", "--wait", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let serving = Serving::start(dir.path(), &["--listen", "127.0.0.1:0"]);
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", serving.address));
    assert_ne!(serving.address.port(), 4433);
    serving.stop();
}

#[test]
fn a_port_zero_address_is_known_only_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let out = run(&data, &["init", "--listen", "127.0.0.1:0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("boucle-relay://"),
        "init prints no port-0 address:\n{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("boucle-relay address"));

    let stopped = run(&data, &["address"]);
    assert_eq!(stopped.status.code(), Some(1));
    let sentence = one_error_line(&stopped);
    assert!(sentence.contains("only while it serves"), "{sentence}");

    let serving = Serving::start(&data, &[]);
    assert_ne!(serving.address.port(), 0);
    let out = run(&data, &["address"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", serving.address));

    // Killed without a chance to clean up: the address left behind is not handed out.
    serving.kill9();
    let out = run(&data, &["address"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(one_error_line(&out).contains("only while it serves"));
}

#[test]
fn an_address_for_all_interfaces_without_a_public_host_comes_with_a_warning() {
    // An operator edits config.toml to listen on all interfaces and forgets public_host
    // (the test does not bind it: `address` reads the configuration, and `serve` gives the
    // same warning through the same check).
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["init"]).status.success());
    let path = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("listen = \"127.0.0.1:4433\"", "listen = \"0.0.0.0:4433\"");
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let out = run(dir.path(), &["address"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let address: RelayAddress = stdout(&out).trim().parse().unwrap();
    assert_eq!(address.host(), "127.0.0.1");
    let warning = stderr(&out);
    assert!(warning.contains("only on this machine"), "{warning}");
    assert!(warning.contains("public_host"), "{warning}");
}

#[test]
fn serve_open_on_a_relay_that_needs_tokens_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run(dir.path(), &["init", "--listen", "127.0.0.1:0"])
            .status
            .success()
    );
    let out = output_within(relay(dir.path()).args(["serve", "--open"]), 30);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let sentence = one_error_line(&out);
    assert!(
        sentence.contains("require_access_token = false"),
        "{sentence}"
    );
    assert!(!stdout(&out).contains("relay address"), "it did not serve");

    // On a relay initialized open, --open is what it does already.
    let open = tempfile::tempdir().unwrap();
    let first = Serving::start(open.path(), &["--listen", "127.0.0.1:0", "--open"]);
    assert!(first.stdout.contains("anyone may create mailboxes"));
    first.stop();
    Serving::start(open.path(), &["--listen", "127.0.0.1:0", "--open"]).stop();
}

#[test]
fn errors_are_one_sentence_with_a_status_and_never_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["init"]).status.success());
    let out = relay(dir.path())
        .args(["token", "revoke", "deadbeef"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let sentence = one_error_line(&out);
    assert!(sentence.contains("deadbeef"), "{sentence}");

    // A failure while doing the work: status 1, each cause once.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = relay(&file.join("relay"))
        .arg("init")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sentence = one_error_line(&out);
    assert_eq!(sentence.matches("Not a directory").count(), 1, "{sentence}");

    // Not initialized: a usage error.
    let empty = tempfile::tempdir().unwrap();
    for args in [&["stats"][..], &["token", "list"], &["address"]] {
        let out = run(empty.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            one_error_line(&out).contains("boucle-relay init"),
            "{args:?}"
        );
    }

    // A command-line mistake: clap's status 2.
    assert_eq!(run(dir.path(), &["bogus"]).status.code(), Some(2));
}

#[test]
fn logs_carry_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let serving = Serving::start(dir.path(), &["--listen", "127.0.0.1:0"]);
    let log = serving.stop();
    assert!(log.contains("relay started"), "{log}");
    assert!(!log.contains('\u{1b}'), "no ANSI escapes:\n{log:?}");
}

/// On a terminal (a pseudo-terminal made by util-linux `script`), logs are coloured unless
/// NO_COLOR is set. Skipped where `script` is missing.
#[test]
fn logs_are_coloured_on_a_terminal_unless_no_color_is_set() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no `script` to make a pseudo-terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run(dir.path(), &["init", "--listen", "127.0.0.1:0"])
            .status
            .success()
    );
    let on_a_terminal = |no_color: Option<&str>| {
        // Serves for one second, then stops gracefully (SIGTERM), all on the terminal.
        let inner = format!(
            "timeout -s TERM 1 '{}' --data-dir '{}' serve",
            env!("CARGO_BIN_EXE_boucle-relay"),
            dir.path().display()
        );
        let mut command = Command::new("script");
        command
            .args(["-qec", &inner, "/dev/null"])
            .env_remove("RUST_LOG");
        match no_color {
            Some(value) => command.env("NO_COLOR", value),
            None => command.env_remove("NO_COLOR"),
        };
        let out = output_within(&mut command, 30);
        let text = stdout(&out);
        assert!(text.contains("relay started"), "{text}");
        text
    };
    assert!(on_a_terminal(None).contains('\u{1b}'), "coloured");
    assert!(!on_a_terminal(Some("1")).contains('\u{1b}'), "NO_COLOR=1");
    assert!(
        on_a_terminal(Some("")).contains('\u{1b}'),
        "an empty NO_COLOR counts as unset"
    );
}

#[test]
fn tokens_can_be_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = run(dir.path(), args);
        (out.status.success(), stdout(&out))
    };
    assert!(run(&["init"]).0);
    let (ok, created) = run(&["token", "create", "--label", "north group"]);
    assert!(ok);
    let id = created
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (_, list) = run(&["token", "list"]);
    assert!(list.contains(&id) && list.contains("north group"));
    assert!(run(&["token", "revoke", &id]).0);
    assert!(!run(&["token", "list"]).1.contains("north group"));
    assert!(!run(&["token", "revoke", &id]).0, "revoking twice fails");
}

/// Seconds since the epoch, now.
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn token_list_prints_utc_times_and_raw_numbers_in_json() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["init"]).status.success());
    let json = run(dir.path(), &["token", "list", "--json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "one token, made by init");
    let created = lines[0]["created_unix"].as_u64().unwrap();
    assert!(created.abs_diff(now_unix()) < 3600);
    assert_eq!(lines[0]["label"], "created by init");

    let text = stdout(&run(dir.path(), &["token", "list"]));
    assert!(
        !text.contains(&created.to_string()),
        "no raw unix time:\n{text}"
    );
    assert!(text.contains(" UTC"), "{text}");
    let id = lines[0]["id"].as_str().unwrap();
    assert!(text.contains(id), "{text}");
}

#[test]
fn stats_on_a_stopped_and_a_running_relay() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run(dir.path(), &["init", "--listen", "127.0.0.1:0"])
            .status
            .success()
    );
    let out = run(dir.path(), &["stats"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("mailboxes = 0"));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(dir.path(), &["stats", "--json"]))).unwrap();
    assert_eq!(json["running"], false);
    assert_eq!(json["mailboxes"], 0);

    let serving = Serving::start(dir.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (text, json) = loop {
        let text = stdout(&run(dir.path(), &["stats"]));
        let json = stdout(&run(dir.path(), &["stats", "--json"]));
        if text.contains("running") && json.contains("updated_unix_ms") {
            break (text, json);
        }
        assert!(Instant::now() < deadline, "no live counters: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains("envelopes = 0"), "{text}");
    assert!(text.contains(" UTC"), "{text}");
    assert!(!text.contains("unix"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["running"], true);
    let updated = json["updated_unix_ms"].as_u64().unwrap() / 1000;
    assert!(updated.abs_diff(now_unix()) < 3600);
    serving.stop();
}

#[test]
fn help_has_examples_environment_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["init", "--help"],
        &["serve", "--help"],
        &["address", "--help"],
        &["token", "--help"],
        &["token", "create", "--help"],
        &["token", "list", "--help"],
        &["token", "revoke", "--help"],
        &["stats", "--help"],
    ] {
        let out = run(dir.path(), args);
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        for section in [
            "EXAMPLES",
            "ENVIRONMENT",
            "EXIT STATUS",
            "BOUCLE_RELAY_DATA",
        ] {
            assert!(text.contains(section), "{args:?} lacks {section}:\n{text}");
        }
    }
    let top = stdout(&run(dir.path(), &["--help"]));
    for variable in ["RUST_LOG", "NO_COLOR"] {
        assert!(top.contains(variable), "{variable}");
    }
}
