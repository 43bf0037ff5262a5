//! Choosing what to copy: `LIGHTSYNC_ENTITIES` / `--entity` narrow a run, and an endpoint the
//! token may not read (HTTP 403) is skipped with the reason, not a failed run: the import exits
//! 0, everything else lands exactly, and `status`, `/api/status` and the dashboard say why the
//! entity is missing.

use lightsync::entity::Entity;
use lightsync::simulator::{SimulatorConfig, StoreShape};
use predicates::prelude::*;

use crate::support::{assert_matches_simulator_except, lightsync, TestDatabase, TestSimulator};
use crate::web::{dashboard_with, sign_in, test_state};

/// A small store whose token may not read `forbidden` (HTTP 403).
fn store_forbidding(forbidden: Entity) -> TestSimulator {
    TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 4,
            outlets: 2,
            products: 30,
            customers: 30,
            sales: 120,
            registers: 1,
        },
        page_cap: 25,
        rate_limited: false,
        control: true,
        forbidden: vec![forbidden],
        ..SimulatorConfig::default()
    })
}

#[test]
fn an_import_where_users_answers_403_skips_users_and_copies_everything_else() {
    let database = TestDatabase::migrated();
    let sim = store_forbidding(Entity::Users);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "skipped: the token may not read /users (HTTP 403)",
        ));
    assert_matches_simulator_except(&database, &sim, &[Entity::Users]);
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_state WHERE entity = 'users' AND status = 'skipped' AND last_error LIKE '%HTTP 403%'"),
        1
    );
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM sync_log WHERE entity = 'users' AND status = 'skipped'"
        ),
        1
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_state WHERE status = 'ok'"),
        Entity::ALL.len() as i64 - 1
    );

    // An incremental run skips it again and still succeeds.
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();

    lightsync(&database, &sim, &checkpoint)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"users\s+\S+\s+skipped\s.*HTTP 403").unwrap());

    let client = dashboard_with(test_state(&database));
    sign_in(&client);
    let status: serde_json::Value = client.get("/api/status").dispatch().into_json().unwrap();
    let users = status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "users")
        .expect("users is listed");
    assert_eq!(users["status"], "skipped", "{users}");
    // Skipped is not ill health: no red, and the overall health stays green.
    assert_eq!(users["health"], "skipped", "{users}");
    assert!(users["last_error"].as_str().unwrap().contains("HTTP 403"));
    let overview = client.get("/").dispatch().into_string().unwrap();
    // Sales and stock first, then the reference data they point at.
    let at = |needle: &str| overview.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("Sales and stock") < at("card-sales"));
    assert!(at("card-consignments") < at("Reference data"));
    assert!(at("Reference data") < at("card-users"));
    let card = &overview[overview.find("card-users").expect("a users card")..];
    let card = &card[..card.find("</section>").unwrap_or(card.len())];
    assert!(
        card.contains("data-health=\"skipped\"") && card.contains("HTTP 403"),
        "{card}"
    );
    let sales = &overview[overview.find("card-sales").expect("a sales card")..];
    assert!(
        sales.contains("data-health=\"green\""),
        "the others are green"
    );
}

#[test]
fn lightsync_entities_narrows_a_run_to_the_named_entities() {
    let database = TestDatabase::migrated();
    let sim = TestSimulator::with_store(2, 20, 10, 40);
    let dir = tempfile::tempdir().unwrap();
    lightsync(&database, &sim, &dir.path().join("cp"))
        .env("LIGHTSYNC_ENTITIES", "brands,outlet_taxes")
        .arg("import")
        .assert()
        .success();
    assert_eq!(
        database.count("SELECT count(DISTINCT entity) AS n FROM sync_log"),
        2,
        "only the named entities ran"
    );
    let expected = sim.handle.expected();
    for entity in [Entity::Brands, Entity::OutletTaxes] {
        let want = expected["entities"][entity.name()]
            .as_array()
            .unwrap()
            .len() as i64;
        let have = database.count(&format!("SELECT count(*) AS n FROM {}", entity.table()));
        assert_eq!(have, want, "{entity}");
    }
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales"),
        0
    );
    lightsync(&database, &sim, &dir.path().join("cp"))
        .env("LIGHTSYNC_ENTITIES", "brands,nonsense")
        .arg("sync")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nonsense"));
}

/// A token that may not read sales is not a store whose sales are empty: sales fails (red,
/// exit 1) naming the permission to grant, while everything else is copied.
#[test]
fn a_403_on_sales_fails_the_run_naming_the_missing_permission() {
    let database = TestDatabase::migrated();
    let sim = store_forbidding(Entity::Sales);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the token may not read /sales (HTTP 403), so sales cannot be copied: grant it the `sales:read` permission",
        ));
    assert_matches_simulator_except(&database, &sim, &[Entity::Sales]);
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM sync_state WHERE entity = 'sales' AND status = 'failed' \
             AND last_error LIKE '%sales:read%'"
        ),
        1
    );
    lightsync(&database, &sim, &checkpoint)
        .arg("status")
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"sales\s+red").unwrap());
}
