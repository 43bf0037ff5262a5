//! The scheduler behind `serve --schedule` and `--reconcile-schedule`. What happens at each tick
//! (a tick while another run holds the store's lock is skipped, not queued; a tick while the
//! previous scheduled run is still going is skipped; the next tick runs) is checked on a clock
//! the test moves by hand, against a real PostgreSQL and the simulator; the real binary is
//! checked for starting the schedulers its flag and variable name.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone, Utc};
use lightsync::config::{Config, ConfigFlags};
use lightsync::cron::Schedule;
use lightsync::db;
use lightsync::entity::Entity;
use lightsync::schedule::{spawn_scheduler_with_clock, Clock, ScheduleStatus, ScheduledJob};
use lightsync::simulator::StoreShape;
use tokio::sync::watch;

use crate::support::{bare_lightsync, eventually, RunningChild, TestDatabase, TestSimulator};

/// A clock that stands still until the test sets it.
struct HandClock(watch::Sender<DateTime<Local>>);

impl HandClock {
    fn at(hour: u32, minute: u32, second: u32) -> Arc<HandClock> {
        Arc::new(HandClock(watch::channel(local(hour, minute, second)).0))
    }

    fn set(&self, hour: u32, minute: u32, second: u32) {
        self.0.send_replace(local(hour, minute, second));
    }
}

impl Clock for HandClock {
    fn now(&self) -> DateTime<Local> {
        *self.0.borrow()
    }

    fn sleep_until(&self, tick: DateTime<Local>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut moved = self.0.subscribe();
        Box::pin(async move {
            while *moved.borrow_and_update() < tick {
                if moved.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

fn local(hour: u32, minute: u32, second: u32) -> DateTime<Local> {
    Local
        .with_ymd_and_hms(2026, 12, 7, hour, minute, second)
        .single()
        .expect("an unambiguous local time")
}

fn config_for(database: &TestDatabase, simulator: &TestSimulator, dir: &std::path::Path) -> Config {
    let vars = [
        ("DATABASE_URL", database.url.expose().to_string()),
        ("LIGHTSPEED_BASE_URL", simulator.base_url()),
        ("LIGHTSPEED_TOKEN", "simulator".to_string()),
        (
            "LIGHTSYNC_CHECKPOINT_DIR",
            dir.join("cp").display().to_string(),
        ),
    ];
    Config::load(&ConfigFlags::default(), &|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
}

fn scheduled_runs(database: &TestDatabase) -> i64 {
    database.count("SELECT count(DISTINCT run_id) AS n FROM sync_log WHERE mode = 'scheduled'")
}

fn settled(status: &ScheduleStatus, next: DateTime<Local>, skipped: u64) -> impl Fn() -> bool + '_ {
    move || {
        let view = status.view();
        view.next_run_at == Some(next.with_timezone(&Utc)) && view.skipped_ticks == skipped
    }
}

#[test]
fn ticks_while_a_run_holds_the_store_are_skipped_not_queued_and_the_next_tick_runs() {
    let database = TestDatabase::migrated();
    // Slow pages, so a scheduled run is still going when the test moves the clock on.
    let simulator = TestSimulator::paged(
        StoreShape {
            outlets: 2,
            products: 20,
            customers: 20,
            sales: 200,
            ..StoreShape::default()
        },
        20,
        Duration::from_millis(40),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&database, &simulator, dir.path());
    let identity = config
        .api()
        .unwrap()
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    // Another run holds the store's lock, as a cron-started `sync` would.
    let mut holder = database.connect();
    assert!(db::try_lock_store(&mut holder, db::store_lock_key(&identity)).unwrap());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let clock = HandClock::at(12, 0, 30);
    let every_minute = Schedule::parse("* * * * *").unwrap();
    let status = {
        let _entered = runtime.enter();
        spawn_scheduler_with_clock(config, every_minute, ScheduledJob::Sync, clock.clone())
    };
    let wait = Duration::from_secs(60);
    eventually(
        wait,
        "the first tick is planned",
        settled(&status, local(12, 1, 0), 0),
    );

    clock.set(12, 1, 0);
    eventually(
        wait,
        "the tick met the lock and was skipped",
        settled(&status, local(12, 2, 0), 1),
    );
    assert_eq!(scheduled_runs(&database), 0, "a skipped tick runs nothing");

    drop(holder);
    clock.set(12, 2, 0);
    eventually(wait, "the next tick starts a run", || {
        status.view().running_since.is_some()
    });
    clock.set(12, 3, 0);
    eventually(
        wait,
        "a tick during the run was skipped",
        settled(&status, local(12, 4, 0), 2),
    );
    eventually(Duration::from_secs(120), "the scheduled run ended", || {
        status.view().running_since.is_none()
    });
    assert_eq!(scheduled_runs(&database), 1, "skipped ticks are not queued");
    assert_eq!(
        database
            .count("SELECT count(*) AS n FROM sync_log WHERE mode = 'scheduled' AND status = 'ok'"),
        Entity::ALL.len() as i64,
        "the scheduled run synced every entity"
    );
    crate::support::assert_matches_simulator(&database, &simulator);
}

#[test]
fn a_reconcile_tick_reconciles_every_entity() {
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::with_store(2, 20, 20, 50);
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&database, &simulator, dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(lightsync::engine::run(
            &config,
            lightsync::engine::RunRequest {
                mode: lightsync::engine::RunMode::Import,
                restart: false,
                entities: Vec::new(),
            },
        ))
        .unwrap();
    let clock = HandClock::at(2, 59, 0);
    let status = {
        let _entered = runtime.enter();
        let weekly = Schedule::parse("0 3 * * *").unwrap();
        let job = ScheduledJob::Reconcile { windows: 2 };
        spawn_scheduler_with_clock(config, weekly, job, clock.clone())
    };
    let wait = Duration::from_secs(60);
    eventually(wait, "the tick is planned", || {
        status.view().next_run_at == Some(local(3, 0, 0).with_timezone(&Utc))
    });
    clock.set(3, 0, 0);
    eventually(wait, "a scheduled reconcile of every entity", || {
        database
            .count("SELECT count(*) AS n FROM sync_log WHERE mode = 'reconcile' AND status = 'ok'")
            == Entity::ALL.len() as i64
    });
}

#[test]
fn serve_starts_the_schedulers_its_flag_and_variable_name() {
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::with_store(1, 5, 5, 5);
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let mut command = bare_lightsync();
    command
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database.url.expose())
        .env("LIGHTSPEED_BASE_URL", simulator.base_url())
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", dir.path().join("cp"))
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the schedule test")
        .env("LIGHTSYNC_RECONCILE_SCHEDULE", "0 3 * * 0")
        .current_dir(dir.path())
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--schedule",
            "*/30 * * * *",
        ]);
    let mut serve = RunningChild::spawn(command);
    let expected = [
        "scheduler: running `sync` on \"*/30 * * * *\"".to_string(),
        "scheduler: running `reconcile --sample` on \"0 3 * * 0\"".to_string(),
        format!("dashboard listening on http://127.0.0.1:{port}"),
    ];
    let mut seen = [false; 3];
    serve.wait_for(
        Duration::from_secs(60),
        "both schedulers and the dashboard",
        |line| {
            for (seen, expected) in seen.iter_mut().zip(&expected) {
                *seen |= line.contains(expected.as_str());
            }
            seen.iter().all(|seen| *seen).then_some(())
        },
    );
    serve.kill();
}
