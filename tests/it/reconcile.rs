//! `lightsync reconcile` through the real binary: differences placed in PostgreSQL are reported
//! exactly (counts and ids) and repaired; a store that keeps changing during the comparison
//! shows no false difference; a sampled reconcile finds a difference in its window; a
//! reconcile or a repair killed with SIGKILL leaves the data correct and the next one
//! completes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::{sql_query, RunQueryDsl};
use lightsync::simulator::{SimulatorConfig, StoreShape};
use predicates::prelude::*;
use serde_json::Value;

use crate::alerts::{Answer, Receiver};
use crate::support::{assert_matches_simulator, lightsync, TestDatabase, TestSimulator};
use crate::web::{dashboard_with, metrics_text, sign_in, status_card, test_state};

fn store(page_cap: u32) -> TestSimulator {
    TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 41,
            outlets: 2,
            products: 40,
            customers: 30,
            sales: 150,
            registers: 1,
        },
        page_cap,
        rate_limited: false,
        control: true,
        ..SimulatorConfig::default()
    })
}

fn imported(page_cap: u32) -> (TestSimulator, TestDatabase, tempfile::TempDir) {
    crate::support::ImportedStore::import(store(page_cap), &[]).into_parts()
}

fn execute(database: &TestDatabase, sql: &str) {
    sql_query(sql).execute(&mut database.connect()).unwrap();
}

/// The ids of `table`'s rows ordered by version, `skip` first skipped.
fn ids(database: &TestDatabase, table: &str, skip: usize, take: usize) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let rows: Vec<Id> = sql_query(format!(
        "SELECT id FROM {table} ORDER BY version OFFSET {skip} LIMIT {take}"
    ))
    .load(&mut database.connect())
    .unwrap();
    rows.into_iter().map(|row| row.id).collect()
}

fn entity<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

fn examples(report: &Value, name: &str, kind: &str) -> Vec<String> {
    let mut ids: Vec<String> = entity(report, name)["examples"][kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn differences_placed_in_postgresql_are_reported_exactly_then_repaired() {
    let (sim, database, dir) = imported(50);
    let checkpoint = dir.path().join("cp");
    let mut gone = ids(&database, "lightspeed_sales", 10, 2);
    let lowered = ids(&database, "lightspeed_customers", 3, 1);
    let short = ids(&database, "lightspeed_sales", 20, 1);
    execute(
        &database,
        &format!(
            "DELETE FROM lightspeed_sales WHERE id IN ('{}', '{}')",
            gone[0], gone[1]
        ),
    );
    execute(
        &database,
        &format!(
            "UPDATE lightspeed_customers SET version = version - 1 WHERE id = '{}'",
            lowered[0]
        ),
    );
    execute(&database, "INSERT INTO lightspeed_products_rows (id, version, rest) VALUES ('not-in-the-store-1', 7, '{}'), ('not-in-the-store-2', 8, '{}')");
    execute(&database, &format!("DELETE FROM lightspeed_sale_line_items WHERE id = (SELECT min(id) FROM lightspeed_sale_line_items WHERE sale_id = '{}')", short[0]));

    let receiver = Receiver::start(Answer::Ok);
    let output = lightsync(&database, &sim, &checkpoint)
        .args(["reconcile", "--json"])
        .env("LIGHTSYNC_ALERT_WEBHOOK_URL", receiver.url())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "something differs");
    for entity in ["sales", "customers", "products"] {
        assert_eq!(receiver.count(entity, "differs"), 1, "{entity}: one alert");
    }
    assert_eq!(receiver.messages().len(), 3);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    gone.sort();
    assert_eq!(examples(&report, "sales", "missing"), gone);
    assert_eq!(examples(&report, "sales", "stale"), short);
    assert_eq!(examples(&report, "customers", "stale"), lowered);
    assert_eq!(
        examples(&report, "products", "extra"),
        vec!["not-in-the-store-1", "not-in-the-store-2"]
    );
    let mut total = 0;
    for e in report["entities"].as_array().unwrap() {
        total += e["missing"].as_u64().unwrap()
            + e["stale"].as_u64().unwrap()
            + e["extra"].as_u64().unwrap();
        assert!(
            e["checked"].as_u64().unwrap() > 0 || e["note"].is_string(),
            "{e}"
        );
    }
    assert_eq!(total, 2 + 1 + 1 + 2, "nothing else is reported");
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM sync_log WHERE mode = 'reconcile' AND status = 'differs'"
        ),
        3
    );
    lightsync(&database, &sim, &checkpoint)
        .arg("status")
        .assert()
        .stdout(predicate::str::contains(
            "sales: the last reconcile (just now) found 2 missing, 1 stale, 0 extra",
        ));

    let client = dashboard_with(test_state(&database));
    let metrics = metrics_text(&client);
    assert!(
        metrics.contains("lightsync_reconcile_differences{entity=\"sales\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("lightsync_last_reconcile_timestamp_seconds{entity=\"outlets\"}"));
    sign_in(&client);
    let card = status_card(&client, "customers");
    assert_eq!(card["last_reconcile"]["status"], "differs");
    assert_eq!(card["last_reconcile"]["stale"], 1);
    let overview = client.get("/").dispatch().into_string().unwrap();
    assert!(
        overview.contains("2 missing, 1 stale, 0 extra of"),
        "the sales card says so"
    );

    lightsync(&database, &sim, &checkpoint)
        .args(["reconcile", "--repair"])
        .assert()
        .success()
        .stdout(predicate::str::contains("before the repair:"))
        .stdout(predicate::str::contains("0 difference(s)"));
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_products WHERE id LIKE 'not-in-the-store-%' AND deleted_at IS NOT NULL"),
        2,
        "extras are marked deleted, not removed"
    );
    execute(
        &database,
        "DELETE FROM lightspeed_products WHERE id LIKE 'not-in-the-store-%'",
    );
    assert_matches_simulator(&database, &sim);
    lightsync(&database, &sim, &checkpoint)
        .arg("reconcile")
        .assert()
        .success()
        .stdout(predicate::str::contains("0 difference(s)"));
}

#[test]
fn a_store_that_keeps_changing_during_the_reconcile_shows_no_false_difference() {
    let (sim, database, dir) = imported(10);
    let sim = Arc::new(sim);
    let stop = Arc::new(AtomicBool::new(false));
    let changer = {
        let (sim, stop) = (sim.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut changes = 0;
            // A busy store, not a storm: two changes every 20 ms while the reconcile runs.
            while !stop.load(Ordering::SeqCst) {
                sim.handle.mutate(2);
                changes += 2;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            changes
        })
    };
    let output = lightsync(&database, &sim, &dir.path().join("cp"))
        .args(["reconcile", "--json"])
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let changes = changer.join().unwrap();
    assert!(changes > 0);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        entity(&report, "sales")["checked"].as_u64().unwrap() > 100,
        "most sales were compared: {report}"
    );
}

#[test]
fn a_sampled_reconcile_finds_a_difference_in_its_window() {
    // Every tenth sale removed: any window of 20 records holds at least one of them.
    let (sim, database, dir) = imported(20);
    let every_tenth: Vec<String> = (0..15)
        .flat_map(|n| ids(&database, "lightspeed_sales", n * 10, 1))
        .collect();
    execute(
        &database,
        &format!(
            "DELETE FROM lightspeed_sales WHERE id IN ('{}')",
            every_tenth.join("', '")
        ),
    );
    let output = lightsync(&database, &sim, &dir.path().join("cp"))
        .args(["reconcile", "--sample", "3", "--entity", "sales", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["mode"], "sampled");
    let sales = entity(&report, "sales");
    let windows = sales["coverage"]["windows"].as_u64().unwrap();
    let missing = sales["missing"].as_u64().unwrap();
    assert!((1..=3).contains(&windows), "{sales}");
    assert!(missing >= windows, "each window finds one: {sales}");
    for id in examples(&report, "sales", "missing") {
        assert!(every_tenth.contains(&id), "{id} was not removed");
    }
    assert_eq!(sales["stale"], 0);
    assert_eq!(sales["extra"], 0);
    assert_eq!(
        sales["requests"].as_u64().unwrap(),
        windows + missing,
        "one request per window and one lookup per difference"
    );
    lightsync(&database, &sim, &dir.path().join("cp"))
        .args(["reconcile", "--sample", "3", "--entity", "sales"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::is_match(
                r"\d+ difference\(s\) in \d window\(s\) covering \d+ of 135 records",
            )
            .unwrap(),
        );
}

#[test]
fn a_killed_reconcile_and_a_killed_repair_leave_the_data_correct() {
    let (sim, database, dir) = imported(10);
    let checkpoint = dir.path().join("cp");
    let gone = ids(&database, "lightspeed_sales", 5, 3);
    execute(
        &database,
        &format!(
            "DELETE FROM lightspeed_sales WHERE id IN ('{}')",
            gone.join("', '")
        ),
    );
    execute(
        &database,
        "INSERT INTO lightspeed_products_rows (id, version, rest) VALUES ('not-in-the-store', 7, '{}')",
    );
    // The repair's run killed in its first write; then a comparison killed between pages.
    for (args, point) in [
        (vec!["reconcile", "--repair"], "in-apply"),
        (vec!["reconcile"], "reconcile-page:3"),
    ] {
        let killed = lightsync(&database, &sim, &checkpoint)
            .args(&args)
            .env("LIGHTSYNC_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(!killed.status.success(), "{point}: killed");
    }
    // The repair rewound before it was killed: the next run brings the rows back.
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    lightsync(&database, &sim, &checkpoint)
        .args(["reconcile", "--repair"])
        .assert()
        .success();
    execute(
        &database,
        "DELETE FROM lightspeed_products WHERE id = 'not-in-the-store'",
    );
    assert_matches_simulator(&database, &sim);

    // A repair killed after it removed stale rows and rewound, before its run.
    execute(
        &database,
        &format!(
            "UPDATE lightspeed_sales SET version = version - 1 WHERE id = '{}'",
            gone[0]
        ),
    );
    let killed = lightsync(&database, &sim, &checkpoint)
        .args(["reconcile", "--repair"])
        .env("LIGHTSYNC_CRASH_AT", "repair-rewound")
        .output()
        .unwrap();
    assert!(!killed.status.success(), "repair-rewound: killed");
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
    lightsync(&database, &sim, &checkpoint)
        .arg("reconcile")
        .assert()
        .success();
}
