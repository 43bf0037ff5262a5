//! OAuth apps: an access token that expires is renewed (when refused, and a day before it
//! expires), the rotated refresh token is kept owner-only beside the checkpoint store and
//! nowhere else, a crash after the renewal's journal is synced loses nothing, and `token
//! status` says which token is in use and when it expires.

use std::time::Duration;

use diesel::RunQueryDsl;
use lightsync::simulator::{SimulatorConfig, StoreShape};
use predicates::prelude::*;

use crate::support::{assert_matches_simulator, lightsync, TestDatabase, TestSimulator};

const REFRESH: &str = "refresh-authorized-by-the-owner";
const CLIENT_SECRET: &str = "client-secret-of-the-app";

fn store(access_ttl: Duration) -> TestSimulator {
    let shape = StoreShape {
        seed: 17,
        outlets: 1,
        products: 20,
        customers: 10,
        sales: 60,
        registers: 1,
    };
    TestSimulator::oauth_app(shape, CLIENT_SECRET, REFRESH, access_ttl, None)
}

/// The real binary set up as an OAuth app, starting from an access token that has expired.
fn as_app(
    database: &TestDatabase,
    sim: &TestSimulator,
    checkpoint: &std::path::Path,
) -> assert_cmd::Command {
    let mut command = lightsync(database, sim, checkpoint);
    command
        .env("LIGHTSPEED_CLIENT_ID", "app-1")
        .env("LIGHTSPEED_CLIENT_SECRET", CLIENT_SECRET)
        .env("LIGHTSPEED_REFRESH_TOKEN", REFRESH);
    command
}

/// Output that must not carry any token or the client secret.
fn assert_no_secret(text: &str) {
    for secret in ["sim-access-", "sim-refresh-", REFRESH, CLIENT_SECRET] {
        assert!(
            !text.contains(secret),
            "a secret ({secret}) was printed: {text}"
        );
    }
}

fn run(command: &mut assert_cmd::Command) -> assert_cmd::assert::Assert {
    let assert = command.assert();
    let output = assert.get_output();
    assert_no_secret(&String::from_utf8_lossy(&output.stdout));
    assert_no_secret(&String::from_utf8_lossy(&output.stderr));
    assert
}

#[test]
fn an_expired_access_token_is_renewed_and_the_rotated_refresh_token_kept_owner_only() {
    let database = TestDatabase::migrated();
    let sim = store(Duration::from_secs(7 * 24 * 3600));
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    run(as_app(&database, &sim, &checkpoint).arg("import")).success();
    assert_matches_simulator(&database, &sim);
    assert_eq!(
        sim.handle.renewals(),
        1,
        "21 entities refused at once renew once"
    );

    let token_file = checkpoint.join("oauth-token.json");
    let stored = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        stored.contains("sim-refresh-1-"),
        "the rotated refresh token is kept"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    run(as_app(&database, &sim, &checkpoint).args(["token", "status"]))
        .success()
        .stdout(predicate::str::contains(
            "an OAuth access token for app app-1: expires",
        ))
        .stdout(predicate::str::contains("in 6 days"));
    let export = dir.path().join("export.json");
    run(as_app(&database, &sim, &checkpoint)
        .args(["checkpoint", "export"])
        .arg(&export))
    .success();
    assert_no_secret(&std::fs::read_to_string(&export).unwrap());
    #[derive(diesel::QueryableByName)]
    struct Logged {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let logged: Vec<Logged> = diesel::sql_query("SELECT sync_log::text AS text FROM sync_log")
        .load(&mut database.connect())
        .unwrap();
    for row in &logged {
        assert_no_secret(&row.text);
    }

    // The stored token lasts a week: the next run renews nothing.
    run(as_app(&database, &sim, &checkpoint).arg("sync")).success();
    assert_eq!(sim.handle.renewals(), 1);

    // Revoked early: refused once, renewed with the rotated refresh token, and the run goes on.
    sim.handle.expire_access_tokens();
    sim.handle.mutate(30);
    run(as_app(&database, &sim, &checkpoint).arg("sync")).success();
    assert_eq!(sim.handle.renewals(), 2);
    assert_matches_simulator(&database, &sim);

    // The configured refresh token was spent by the first renewal: without the kept one the
    // store cannot be reached, and the run says what to do.
    std::fs::remove_file(&token_file).unwrap();
    sim.handle.expire_access_tokens();
    run(as_app(&database, &sim, &checkpoint).arg("sync"))
        .code(1)
        .stderr(predicate::str::contains("refused the refresh token"))
        .stderr(predicate::str::contains("LIGHTSPEED_REFRESH_TOKEN"));
}

#[test]
fn a_token_expiring_within_a_day_is_renewed_before_the_run_starts() {
    let database = TestDatabase::migrated();
    let sim = store(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    run(as_app(&database, &sim, &checkpoint).arg("import")).success();
    assert_eq!(sim.handle.renewals(), 1);
    let refused = sim.handle.stats().unauthorized();
    run(as_app(&database, &sim, &checkpoint).arg("sync")).success();
    assert_eq!(sim.handle.renewals(), 2, "renewed ahead of its expiry");
    assert_eq!(
        sim.handle.stats().unauthorized(),
        refused,
        "and never refused on the way"
    );
}

#[test]
fn a_crash_after_the_renewal_is_journaled_loses_no_token() {
    let database = TestDatabase::migrated();
    let sim = store(Duration::from_secs(7 * 24 * 3600));
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    let killed = as_app(&database, &sim, &checkpoint)
        .arg("import")
        .env("LIGHTSYNC_CRASH_AT", "token-journaled")
        .output()
        .unwrap();
    assert!(
        !killed.status.success(),
        "killed after the journal was synced"
    );
    assert_eq!(sim.handle.renewals(), 1);
    assert!(!checkpoint.join("oauth-token.json").exists());
    // The next run finds the journal, keeps its tokens and needs no renewal.
    run(as_app(&database, &sim, &checkpoint).arg("import")).success();
    assert_eq!(sim.handle.renewals(), 1);
    assert_matches_simulator(&database, &sim);
}

#[test]
fn a_personal_token_says_it_does_not_expire() {
    let database = TestDatabase::migrated();
    let sim = TestSimulator::start(SimulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    run(lightsync(&database, &sim, &dir.path().join("cp")).args(["token", "status", "--json"]))
        .success()
        .stdout(predicate::str::contains("\"kind\": \"personal\""));
    lightsync(&database, &sim, &dir.path().join("cp"))
        .args(["token", "status"])
        .env("LIGHTSPEED_CLIENT_ID", "app-1")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "LIGHTSPEED_CLIENT_SECRET and LIGHTSPEED_REFRESH_TOKEN missing",
        ));
}
