//! `/product_categories` is paged by category id, not by version: it is copied whole every run
//! in either shape a store answers with (`data.categories`, `data.data.categories`), a category
//! no longer listed gets `deleted_at`, an unchanged store writes nothing, and a refresh killed
//! before its commit marks nothing deleted.

use lightsync::entity::Entity;
use lightsync::simulator::{SimulatorConfig, StoreShape};

use crate::support::{assert_matches_simulator, lightsync, TestDatabase, TestSimulator};

/// A store with 8 categories served 3 to a page.
fn store(nested: bool) -> TestSimulator {
    TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 31,
            outlets: 1,
            products: 400,
            customers: 20,
            sales: 40,
            registers: 1,
        },
        page_cap: 3,
        rate_limited: false,
        control: true,
        quirk_categories_nested: nested,
        ..SimulatorConfig::default()
    })
}

fn categories(sim: &TestSimulator) -> Vec<serde_json::Value> {
    sim.handle.expected()["entities"]["product_categories"]
        .as_array()
        .unwrap()
        .clone()
}

/// Changes the store until at least one category is deleted.
fn delete_a_category(sim: &TestSimulator) -> usize {
    for _ in 0..50 {
        sim.handle.mutate(500);
        let deleted = categories(sim)
            .iter()
            .filter(|c| c["deleted"] == true)
            .count();
        if deleted > 0 {
            return deleted;
        }
    }
    panic!("50 x 500 changes deleted no category");
}

#[test]
fn categories_are_copied_whole_in_both_shapes_with_deletes_by_absence() {
    for nested in [false, true] {
        let database = TestDatabase::migrated();
        let sim = store(nested);
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("cp");
        lightsync(&database, &sim, &checkpoint)
            .arg("import")
            .assert()
            .success();
        assert_matches_simulator(&database, &sim);
        let listed = categories(&sim).len();
        assert_eq!(listed, 8, "nested {nested}");
        assert_eq!(
            sim.requests(Entity::ProductCategories),
            listed.div_ceil(3) as u64,
            "nested {nested}: one request per page, the last one says has_next false"
        );
        assert_eq!(
            database.count("SELECT count(*) AS n FROM lightspeed_product_categories WHERE deleted_at IS NULL AND name IS NOT NULL"),
            8
        );

        let deleted = delete_a_category(&sim);
        lightsync(&database, &sim, &checkpoint)
            .arg("sync")
            .assert()
            .success();
        assert_matches_simulator(&database, &sim);
        assert_eq!(
            database.count(
                "SELECT count(*) AS n FROM lightspeed_product_categories WHERE deleted_at IS NOT NULL"
            ),
            deleted as i64,
            "nested {nested}"
        );

        // Nothing changed: the refresh lists every category again and writes none.
        lightsync(&database, &sim, &checkpoint)
            .arg("sync")
            .assert()
            .success();
        assert_eq!(
            database.count(
                "SELECT records_inserted + records_updated + records_deleted AS n FROM sync_log \
                 WHERE entity = 'product_categories' AND status = 'ok' ORDER BY id DESC LIMIT 1"
            ),
            0,
            "nested {nested}: an unchanged listing writes nothing"
        );
        assert_matches_simulator(&database, &sim);
    }
}

#[test]
fn a_refresh_killed_before_its_commit_marks_nothing_deleted_and_the_next_run_is_exact() {
    let database = TestDatabase::migrated();
    let sim = store(false);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .args(["import", "--entity", "product_categories"])
        .assert()
        .success();
    delete_a_category(&sim);
    let killed = lightsync(&database, &sim, &checkpoint)
        .args(["sync", "--entity", "product_categories"])
        .env("LIGHTSYNC_CRASH_AT", "in-apply")
        .output()
        .unwrap();
    assert!(!killed.status.success(), "the run was killed");
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM lightspeed_product_categories WHERE deleted_at IS NOT NULL"
        ),
        0,
        "a refresh that did not commit marks nothing deleted"
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_product_categories"),
        8,
        "and loses nothing"
    );
    lightsync(&database, &sim, &checkpoint)
        .args(["sync", "--entity", "product_categories"])
        .assert()
        .success();
    let expected = categories(&sim);
    let deleted = expected.iter().filter(|c| c["deleted"] == true).count();
    assert!(deleted > 0);
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM lightspeed_product_categories WHERE deleted_at IS NOT NULL"
        ),
        deleted as i64
    );
}
