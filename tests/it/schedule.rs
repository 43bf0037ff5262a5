//! `lightsync serve --schedule "* * * * *"` as a user runs it: a tick while another run holds
//! the store's lock is skipped and logged (not queued), and the next tick runs `sync`, logged
//! in `sync_log` with mode `scheduled`.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::config::{Config, ConfigFlags};
use lightsync::db;

use crate::support::{TestDatabase, TestSimulator};

pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(QueryableByName, Debug)]
struct ScheduledRun {
    #[diesel(sql_type = Text)]
    run_id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    entities: i64,
}

fn scheduled_runs(database: &TestDatabase) -> Vec<ScheduledRun> {
    sql_query(
        "SELECT run_id, CASE WHEN bool_and(status = 'ok') THEN 'ok' ELSE 'unfinished' END AS status, min(started_at) AS started_at, count(*) AS entities \
         FROM sync_log WHERE mode = 'scheduled' GROUP BY run_id ORDER BY 3",
    )
    .load(&mut database.connect())
    .unwrap()
}

fn read_log(path: &std::path::Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// Polls `check` every 200 ms for up to `limit`; the serve log is shown if it never holds.
fn wait_for(limit: Duration, log: &std::path::Path, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}; serve printed:\n{}",
            read_log(log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_schedule_skips_a_tick_while_the_lock_is_held_then_syncs_at_the_next() {
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::with_store(2, 20, 20, 50);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");

    // Another run holds the store's lock, as a cron-started `sync` would.
    let vars = [
        ("DATABASE_URL", database.url.expose().to_string()),
        ("LIGHTSPEED_BASE_URL", simulator.base_url()),
        ("LIGHTSPEED_TOKEN", "simulator".to_string()),
    ];
    let config = Config::load(&ConfigFlags::default(), &|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let identity = config
        .api()
        .unwrap()
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let mut holder = database.connect();
    assert!(db::try_lock_store(&mut holder, db::store_lock_key(&identity)).unwrap());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _serve = KillOnDrop(
        Command::new(assert_cmd::cargo::cargo_bin("lightsync"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .env("LIGHTSYNC_CHECKPOINT_DIR", dir.path().join("cp"))
            .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the schedule test")
            .current_dir(dir.path())
            .args([
                "serve",
                "--port",
                &port.to_string(),
                "--schedule",
                "* * * * *",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("lightsync serve starts"),
    );

    wait_for(Duration::from_secs(80), &log, "a skipped tick", || {
        read_log(&log).contains("skipped")
    });
    let skipped_at = Utc::now();
    let printed = read_log(&log);
    assert!(
        printed.contains("scheduler: running `sync` on \"* * * * *\""),
        "{printed}"
    );
    assert!(
        printed.contains("skipped: another lightsync run is syncing")
            && printed.contains("not queued"),
        "{printed}"
    );
    assert!(
        scheduled_runs(&database).is_empty(),
        "a skipped tick runs nothing"
    );
    drop(holder);

    wait_for(Duration::from_secs(80), &log, "a scheduled run", || {
        scheduled_runs(&database).first().is_some_and(|run| {
            run.status == "ok" && run.entities == lightsync::entity::Entity::ALL.len() as i64
        })
    });
    let runs = scheduled_runs(&database);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let waited = runs[0].started_at - skipped_at;
    assert!(
        waited > chrono::Duration::seconds(30),
        "the skipped tick was not queued: the run started {waited} after the skip, at the next tick ({runs:?})"
    );
    let printed = read_log(&log);
    assert!(
        printed.contains(&format!("scheduler: run {} finished", runs[0].run_id)),
        "{printed}"
    );
}
