//! Configuration errors through the real binary: exit code 2 and a message naming what to fix,
//! never a secret.

use predicates::prelude::*;

fn lightsync() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::from_std(crate::support::bare_lightsync());
    command.current_dir(std::env::temp_dir());
    command
}

#[test]
fn a_missing_database_url_is_named() {
    lightsync()
        .arg("migrate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("DATABASE_URL is not set"));
}

#[test]
fn a_malformed_database_url_is_named_without_its_password() {
    lightsync()
        .env("DATABASE_URL", "mysql://root:hunter2@db/x")
        .arg("migrate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("DATABASE_URL is invalid"))
        .stderr(predicate::str::contains("hunter2").not());
}

#[test]
fn malformed_numbers_are_named() {
    for (variable, value) in [
        ("LIGHTSYNC_PAGE_SIZE", "lots"),
        ("LIGHTSYNC_RATE_SHARE", "2"),
        ("LIGHTSYNC_SPOOL_MAX_BYTES", "12"),
    ] {
        lightsync()
            .env(variable, value)
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
            .arg("migrate")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(variable));
    }
}

#[test]
fn import_without_a_token_or_store_names_the_variable() {
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSPEED_DOMAIN_PREFIX", "shop")
        .arg("import")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIGHTSPEED_TOKEN"));
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSPEED_TOKEN", "t")
        .arg("sync")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIGHTSPEED_DOMAIN_PREFIX"));
    lightsync()
        .env("LIGHTSPEED_DOMAIN_PREFIX", "Not A Store!")
        .arg("sync")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "LIGHTSPEED_DOMAIN_PREFIX is invalid",
        ));
}

#[test]
fn flags_override_the_environment_and_bad_flags_are_usage_errors() {
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .args(["--page-size", "0", "migrate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--page-size is invalid"));
    // The same bad value from the variable is reported as the variable, and a flag given after
    // the command is still the flag.
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSYNC_PAGE_SIZE", "0")
        .arg("migrate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIGHTSYNC_PAGE_SIZE is invalid"));
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSYNC_PAGE_SIZE", "500")
        .args(["migrate", "--page-size", "abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--page-size is invalid"));
    lightsync()
        .args(["sync", "--entity", "line_items"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line_items"));
    lightsync().arg("frobnicate").assert().code(2);
}

#[test]
fn a_token_that_cannot_be_sent_in_a_header_is_a_configuration_error() {
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSPEED_DOMAIN_PREFIX", "shop")
        .env("LIGHTSPEED_TOKEN", "secret\u{1b}token")
        .arg("sync")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIGHTSPEED_TOKEN is invalid"))
        .stderr(predicate::str::contains("secret").not());
}

#[test]
fn restart_needs_confirmation() {
    lightsync()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("LIGHTSPEED_DOMAIN_PREFIX", "shop")
        .env("LIGHTSPEED_TOKEN", "t")
        .args(["import", "--restart"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
}

#[test]
fn an_unreadable_env_file_is_a_usage_error_that_does_not_echo_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.env");
    std::fs::write(&path, "LIGHTSPEED_TOKEN='supersecret\n").unwrap();
    lightsync()
        .arg("--env-file")
        .arg(&path)
        .arg("migrate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("supersecret").not());
}

#[test]
fn a_reader_that_stops_early_ends_status_quietly() {
    // `lightsync status | head -1`: the reader closes the pipe before the table is written.
    let database = crate::support::TestDatabase::migrated();
    let mut child = crate::support::bare_lightsync()
        .env("DATABASE_URL", database.url.expose())
        .arg("status")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the lightsync binary starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("status ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "no panic on a closed pipe: {stderr}"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "a closed pipe is the reader's choice, not a failure: {stderr}"
    );
}

#[test]
fn a_short_webhook_secret_is_refused_without_echoing_it() {
    let short = "only-twenty-one-chars";
    lightsync()
        .env("LIGHTSYNC_WEBHOOK_SECRET", short)
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .arg("migrate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIGHTSYNC_WEBHOOK_SECRET"))
        .stderr(predicate::str::contains("at least 32 characters"))
        .stderr(predicate::str::contains(short).not());
}
