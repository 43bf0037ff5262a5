//! A record without a usable identity (an empty id, a fractional version) never stops its
//! entity: the rest of its page lands, the record is kept exactly as received in
//! `lightspeed_quarantine`, the run counts it (`sync_log`, the run page, `/metrics`), `status`
//! and the dashboard say so, and the cursor moves on. `checkpoint rewind` moves a cursor
//! forward only when told `--forward`.

use diesel::RunQueryDsl;
use lightsync::simulator::{SimulatorConfig, StoreShape, UNIDENTIFIED_SALES};
use predicates::prelude::*;

use crate::support::{lightsync, TestDatabase, TestSimulator};
use crate::web::{dashboard_with, metrics_text, sign_in, status_card, test_state};

#[derive(diesel::QueryableByName)]
struct Kept {
    #[diesel(sql_type = diesel::sql_types::Text)]
    reason: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    raw: String,
}

#[test]
fn sales_without_a_usable_identity_are_quarantined_and_the_rest_lands() {
    let database = TestDatabase::migrated();
    let sim = TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 8,
            outlets: 2,
            products: 30,
            customers: 20,
            sales: 120,
            registers: 1,
        },
        page_cap: 25,
        rate_limited: false,
        control: true,
        quirk_unidentified_sales: true,
        ..SimulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "sales: a record without a usable identity",
        ));

    let expected = sim.handle.expected();
    let sales = expected["entities"]["sales"].as_array().unwrap();
    let flawed: Vec<&str> = UNIDENTIFIED_SALES
        .iter()
        .map(|index| sales[*index as usize]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales"),
        sales.len() as i64 - 2,
        "every other sale landed"
    );
    assert_eq!(
        database.count(&format!(
            "SELECT count(*) AS n FROM lightspeed_sales WHERE id IN ('{}', '{}')",
            flawed[0], flawed[1]
        )),
        0
    );
    let kept: Vec<Kept> = diesel::sql_query(
        "SELECT reason, raw FROM lightspeed_quarantine WHERE entity = 'sales' ORDER BY id",
    )
    .load(&mut database.connect())
    .unwrap();
    assert_eq!(kept.len(), 2);
    let empty_id = kept.iter().find(|k| k.raw.contains("\"id\":\"\"")).unwrap();
    assert!(empty_id.reason.contains("id"), "{}", empty_id.reason);
    let fractional = kept.iter().find(|k| k.raw.contains(flawed[1])).unwrap();
    assert!(
        fractional.reason.contains("version"),
        "{}",
        fractional.reason
    );
    let version = sales[UNIDENTIFIED_SALES[1] as usize]["version"]
        .as_i64()
        .unwrap();
    assert!(
        fractional.raw.contains(&format!("\"version\":{version}.5")),
        "kept exactly as received"
    );
    assert_eq!(
        database.count(
            "SELECT sum(records_quarantined)::BIGINT AS n FROM sync_log WHERE entity = 'sales'"
        ),
        2
    );

    // An incremental run moves on: nothing is quarantined twice, nothing fails.
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_quarantine"),
        2
    );
    lightsync(&database, &sim, &checkpoint)
        .arg("status")
        .assert()
        .stdout(predicate::str::contains(
            "sales: 2 record(s) without a usable identity are in lightspeed_quarantine",
        ));

    let client = dashboard_with(test_state(&database));
    let metrics = metrics_text(&client);
    assert!(
        metrics.contains("lightsync_records_quarantined{entity=\"sales\"} 2"),
        "{metrics}"
    );
    sign_in(&client);
    let card = status_card(&client, "sales");
    assert_eq!(card["quarantined"], 2);
    let overview = client.get("/").dispatch().into_string().unwrap();
    assert!(overview.contains("2 record(s) without a usable identity"));
    let import_run = database.count(
        "SELECT id AS n FROM sync_log WHERE entity = 'sales' AND mode = 'import' ORDER BY id LIMIT 1",
    );
    let run_page = client
        .get(format!("/runs/{import_run}"))
        .dispatch()
        .into_string()
        .unwrap();
    assert!(
        run_page.contains("Records quarantined</th><td>2"),
        "{run_page}"
    );
}

#[test]
fn rewinding_a_cursor_forward_needs_forward() {
    let database = TestDatabase::migrated();
    let sim = TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 9,
            outlets: 1,
            products: 10,
            customers: 10,
            sales: 30,
            registers: 1,
        },
        rate_limited: false,
        ..SimulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .args(["import", "--entity", "sales"])
        .assert()
        .success();
    let applied = || {
        lightsync::db::load_last_version(&mut database.connect(), lightsync::entity::Entity::Sales)
            .unwrap()
    };
    let before = applied();
    let ahead = (before + 1000).to_string();
    let rewind = |extra: &[&str]| {
        let mut command = lightsync(&database, &sim, &checkpoint);
        command
            .args([
                "checkpoint",
                "rewind",
                "--entity",
                "sales",
                "--to-version",
                &ahead,
                "--yes",
            ])
            .args(extra);
        command.assert()
    };
    rewind(&[])
        .code(2)
        .stderr(predicate::str::contains("add --forward"));
    assert_eq!(applied(), before, "nothing changed");
    rewind(&["--forward"]).success();
    assert_eq!(applied(), before + 1000);
}
