//! `serve --follow`: every entity polled on its own interval by the real binary, logged as mode
//! `follow`, the data exactly the store's after a SIGKILL of `serve` and after PostgreSQL
//! vanished and came back; the lag is visible in `status --json` and `/metrics`.

use std::time::{Duration, Instant};

use lightsync::entity::Entity;

use crate::support::proxy::PgProxy;
use crate::support::{
    assert_matches_simulator, eventually, free_port, serve_command, ImportedStore, RunningChild,
};

/// Short intervals so the test sees several rounds (5 s is the shortest allowed).
const PLAN: &str = "--follow=sales:5s,inventory:5s,products:5s,customers:5s,*:8s";

fn serve(store: &ImportedStore, database_url: &str, port: u16) -> RunningChild {
    let mut command = serve_command(database_url, &store.sim, &store.checkpoint, port);
    command
        .env("LIGHTSYNC_METRICS_PUBLIC", "true")
        .env("LIGHTSYNC_DB_PATIENCE_SECS", "120")
        .arg(PLAN);
    let mut serve = RunningChild::spawn(command);
    serve.wait_for_any(&["dashboard listening on"]);
    serve
}

/// Waits until every entity had a successful `follow` run that started after `since`.
fn caught_up(store: &ImportedStore, since: chrono::DateTime<chrono::Utc>, what: &str) {
    let sql = format!(
        "SELECT count(DISTINCT entity) AS n FROM sync_log WHERE mode = 'follow' AND status = 'ok' AND started_at > '{}'",
        since.to_rfc3339()
    );
    eventually(Duration::from_secs(90), what, || {
        store.database.count(&sql) == Entity::ALL.len() as i64
    });
}

#[test]
fn following_keeps_every_entity_current_through_a_kill_and_a_postgres_outage() {
    let store = ImportedStore::new();
    let (proxy, through_proxy) = PgProxy::in_front_of(&store.database);
    let port = free_port();
    let running = serve(&store, &through_proxy, port);

    // Changes are followed without being asked for.
    let changed_at = chrono::Utc::now();
    store.sim.handle.mutate(60);
    caught_up(
        &store,
        changed_at,
        "every entity was polled after the changes",
    );
    assert_matches_simulator(&store.database, &store.sim);
    eventually(
        Duration::from_secs(30),
        "sales polled again and again",
        || {
            store.database.count(
            "SELECT count(*) AS n FROM sync_log WHERE mode = 'follow' AND entity = 'sales' AND status = 'ok'",
        ) >= 3
        },
    );

    // The lag is visible, and small.
    let status = store
        .lightsync()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let sales = status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "sales")
        .unwrap();
    let lag = sales["freshness"]["lag_secs"].as_f64().expect("a lag");
    assert!(lag < 30.0, "sales lag {lag} s while followed every 5 s");
    let metrics = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("lightsync_entity_lag_seconds{entity=\"sales\"}"),
        "{metrics}"
    );

    // SIGKILL, more changes while nothing follows, then follow again: exact.
    let transcript = running.kill();
    assert!(
        transcript.contains("following the store: polling"),
        "{transcript}"
    );
    store.sim.handle.mutate(60);
    let restarted_at = chrono::Utc::now();
    let mut running = serve(&store, &through_proxy, port);
    caught_up(
        &store,
        restarted_at,
        "every entity was polled after the restart",
    );
    assert_matches_simulator(&store.database, &store.sim);

    // PostgreSQL goes away for a while; the follower keeps trying and catches up when it is back.
    proxy.cut();
    let cut_at = Instant::now();
    store.sim.handle.mutate(60);
    running.wait_for(
        Duration::from_secs(60),
        "a follow run meeting the outage",
        |line| {
            (line.contains("could not start") || line.contains("PostgreSQL write failed"))
                .then_some(())
        },
    );
    assert!(proxy.refused() > 0, "the outage was met");
    proxy.restore();
    let restored_at = chrono::Utc::now();
    caught_up(
        &store,
        restored_at,
        "every entity was polled after the outage",
    );
    assert_matches_simulator(&store.database, &store.sim);
    assert!(cut_at.elapsed() < Duration::from_secs(150));
    let runs_failing_for_good = store
        .database
        .count("SELECT count(*) AS n FROM sync_state WHERE status NOT IN ('ok', 'running')");
    assert_eq!(runs_failing_for_good, 0, "every entity ends ok");
    running.kill();
}

#[test]
fn a_bad_follow_plan_is_refused_naming_the_part_to_fix() {
    let store = ImportedStore::new();
    let output = store
        .lightsync()
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the follow test")
        .args([
            "serve",
            "--port",
            &free_port().to_string(),
            "--follow=sales:1s",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--follow") && stderr.contains("shorter than 5 s"),
        "{stderr}"
    );
    let output = store
        .lightsync()
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the follow test")
        .env("LIGHTSYNC_FOLLOW", "sales:30s,widgets:1m")
        .args(["serve", "--port", &free_port().to_string()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LIGHTSYNC_FOLLOW") && stderr.contains("`widgets` is not an entity"),
        "{stderr}"
    );
}
