//! The `boucle-relay` command line: init, token, stats. (Having an integration test here
//! also makes `cargo test` build the relay binary that the end-to-end tests start.)

use std::process::Command;

fn relay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boucle-relay"))
}

#[test]
fn init_prints_an_address_and_a_token_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let out = relay()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["init", "--listen", "127.0.0.1:4999"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let address = stdout
        .lines()
        .find_map(|l| l.strip_prefix("relay address: "))
        .expect("an address line");
    let address: boucle_wire::RelayAddress = address.parse().unwrap();
    assert_eq!(address.port(), 4999);
    assert!(stdout.contains("access token: "));
    for file in ["config.toml", "cert.der", "key.der", "tokens"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let again = relay()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("init")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialized"));
}

#[test]
fn tokens_can_be_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = relay()
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
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

#[test]
fn stats_on_a_stopped_relay_and_on_an_uninitialized_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = relay()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("stats")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an initialized"));
    relay()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("init")
        .output()
        .unwrap();
    let out = relay()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("stats")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mailboxes = 0"));
}
