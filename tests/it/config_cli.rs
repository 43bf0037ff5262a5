//! Configuration errors through the real binary: exit code 2 and a message naming what to fix,
//! never a secret.

use predicates::prelude::*;

fn lightsync() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("lightsync").unwrap();
    command.env_clear().current_dir(std::env::temp_dir());
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
    lightsync()
        .args(["sync", "--entity", "line_items"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line_items"));
    lightsync().arg("frobnicate").assert().code(2);
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
