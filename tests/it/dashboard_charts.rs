//! The overview after a few dozen real runs, some failed, in headless Chromium: every card
//! holds its chart of the last 30 runs with failed runs marked, the page shows the next
//! scheduled run, and a screenshot is saved to `target/dashboard.png`.

use std::path::PathBuf;

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use fantoccini::Locator;
use lightsync::config::{Config, ConfigFlags};
use lightsync::cron::Schedule;
use lightsync::engine::{self, RunMode, RunRequest};
use lightsync::schedule::spawn_scheduler;
use lightsync::simulator::FaultKind;
use lightsync::web::{self, Monitoring};

use crate::browser::{sign_in_on_the_login_page, wait_for_port, Chromium};
use crate::support::free_port;
use crate::support::{TestDatabase, TestSimulator};

/// Incremental runs after the import: enough to fill the charts' 30 slots.
const RUNS: usize = 34;

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = BigInt)]
    failed: i64,
}

#[test]
fn charts_after_a_few_dozen_runs_in_headless_chromium() {
    let chromium = Chromium::start();
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::with_store(3, 60, 60, 400);
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("DATABASE_URL", database.url.expose().to_string()),
        ("LIGHTSPEED_BASE_URL", simulator.base_url()),
        ("LIGHTSPEED_TOKEN", "simulator".to_string()),
        (
            "LIGHTSYNC_CHECKPOINT_DIR",
            dir.path().join("cp").display().to_string(),
        ),
        ("LIGHTSYNC_MAX_ATTEMPTS", "1".to_string()),
    ];
    let config = Config::load(&ConfigFlags::default(), &|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = |mode: RunMode| {
        runtime
            .block_on(engine::run(
                &config,
                RunRequest {
                    mode,
                    restart: false,
                    entities: Vec::new(),
                },
            ))
            .unwrap()
    };
    assert!(run(RunMode::Import).succeeded());
    let mut failed_runs = 0;
    for i in 0..RUNS {
        simulator.handle.mutate(3 + (i as u32 * 7) % 25);
        if i % 6 == 4 {
            // One request fails with one attempt allowed: whichever entity asked fails.
            simulator.handle.queue_faults(FaultKind::InternalError, 1);
        }
        if !run(RunMode::Incremental).succeeded() {
            failed_runs += 1;
        }
    }
    assert!(failed_runs >= 5, "{failed_runs} runs failed");
    let failures: Vec<Failures> = sql_query(
        "SELECT entity, count(*) AS failed FROM sync_log WHERE status = 'failed' GROUP BY entity",
    )
    .load(&mut database.connect())
    .unwrap();

    let port = free_port();
    let figment = rocket::Config::figment()
        .merge(("port", port))
        .merge(("address", "127.0.0.1"))
        .merge(("secret_key", vec![3u8; 64]))
        .merge(("log_level", rocket::config::LogLevel::Off));
    let schedule = runtime.block_on(async {
        spawn_scheduler(
            config.clone(),
            Schedule::parse("0 2 * * *").unwrap(),
            lightsync::schedule::ScheduledJob::Sync,
        )
    });
    let rocket = web::build(crate::web::test_state(&database), figment)
        .unwrap()
        .manage(Monitoring {
            metrics_public: false,
            schedule: Some(schedule),
        });
    runtime.spawn(async move {
        let _ = rocket.launch().await;
    });
    wait_for_port(port, "the dashboard");
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();

    runtime.block_on(async {
        let client = chromium.session("1400,1500", &[]).await;
        client
            .goto(&format!("http://127.0.0.1:{port}/login"))
            .await
            .unwrap();
        sign_in_on_the_login_page(&client).await;

        for entity in ["outlets", "products", "customers", "inventory", "sales"] {
            let chart = client
                .find(Locator::Css(&format!("#card-{entity} .chart-box svg")))
                .await
                .unwrap_or_else(|_| panic!("{entity}'s card holds its chart"));
            let bars = chart.find_all(Locator::Css("rect.bar")).await.unwrap();
            assert_eq!(bars.len(), 30, "{entity}: the last 30 runs");
            let marks = chart.find_all(Locator::Css(".failed-mark")).await.unwrap();
            let failed = failures
                .iter()
                .find(|f| f.entity == entity)
                .map_or(0, |f| f.failed);
            assert!(
                marks.len() as i64 <= failed && (failed == 0) == marks.is_empty(),
                "{entity}: {} marks for {failed} failed runs",
                marks.len()
            );
            let width = chart.rectangle().await.unwrap().2;
            let card_width = client
                .find(Locator::Id(&format!("card-{entity}")))
                .await
                .unwrap()
                .rectangle()
                .await
                .unwrap()
                .2;
            assert!(
                width > card_width * 0.85,
                "{entity}: the chart ({width}px) uses the card's width ({card_width}px)"
            );
            let dates = chart.find_all(Locator::Css(".axis-date")).await.unwrap();
            assert!(!dates.is_empty(), "{entity}: dates on the time axis");
        }
        let schedule = client
            .find(Locator::Css("#schedule"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            schedule.contains("0 2 * * *") && schedule.contains("next run"),
            "{schedule}"
        );
        let png = client.screenshot().await.unwrap();
        std::fs::write(target.join("dashboard.png"), &png).unwrap();
        client.close().await.unwrap();
    });
    assert!(target.join("dashboard.png").metadata().unwrap().len() > 10_000);
    runtime.shutdown_background();
}
