//! Crash tests: the real binary killed at every step of the checkpoint protocol, and with
//! SIGKILL at random moments, then run again to completion. The database must equal the
//! simulator's ground truth exactly, and almost nothing may be fetched twice.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::RunQueryDsl;
use lightsync::entity::Entity;
use lightsync::failpoint::CRASH_POINTS;
use lightsync::simulator::StoreShape;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{
    assert_matches_simulator, assert_matches_simulator_except, eventually, lightsync, spawn_import,
    ImportedStore, TestDatabase, TestSimulator,
};

#[derive(diesel::QueryableByName)]
struct Interrupted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn requests(sim: &TestSimulator) -> BTreeMap<Entity, u64> {
    Entity::ALL
        .into_iter()
        .map(|e| (e, sim.requests(e)))
        .collect()
}

/// Requests a clean import needs: one per page plus the empty page, per entity.
fn clean_requests(sim: &TestSimulator, page_cap: usize) -> BTreeMap<Entity, u64> {
    let expected = sim.handle.expected();
    Entity::ALL
        .into_iter()
        .map(|e| {
            let records = expected["entities"][e.name()].as_array().unwrap();
            let pages = records.len().div_ceil(page_cap) + 1;
            // A consignment's lines are paged from their own endpoint, to the empty page.
            let line_pages: usize = records
                .iter()
                .filter_map(|record| record["line_ids"].as_array())
                .map(|lines| lines.len().div_ceil(page_cap) + 1)
                .sum();
            (e, (pages + line_pages) as u64)
        })
        .collect()
}

/// The most requests one kill may cost: one page per entity again, where a consignments page
/// comes with its lines (all of this store's consignments fit in one page).
fn refetch_allowance(clean: &BTreeMap<Entity, u64>) -> u64 {
    Entity::ALL.len() as u64 - 1 + clean[&Entity::Consignments]
}

/// A small store served 10 records per page, a migrated database and a checkpoint directory.
fn small_paged_store() -> (TestSimulator, TestDatabase, tempfile::TempDir) {
    let sim = TestSimulator::paged(
        StoreShape {
            seed: 11,
            outlets: 2,
            products: 45,
            customers: 45,
            sales: 120,
            registers: 1,
        },
        10,
        Duration::ZERO,
    );
    (sim, TestDatabase::migrated(), tempfile::tempdir().unwrap())
}

fn crash_at(point: &str) {
    let (sim, database, dir) = small_paged_store();
    let checkpoint = dir.path().join("checkpoint");
    let crashed = lightsync(&database, &sim, &checkpoint)
        .env("LIGHTSYNC_CRASH_AT", format!("{point}:4"))
        .arg("import")
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "{point}: the process should have been killed: {}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    assert!(
        String::from_utf8_lossy(&crashed.stderr)
            .contains(&format!("crash point `{point}` reached")),
        "{point}: {}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let finished = lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .output()
        .unwrap();
    assert!(
        finished.status.success(),
        "{point}: the second run completes: {}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert_matches_simulator(&database, &sim);
    let interrupted: Interrupted =
        diesel::sql_query("SELECT count(*) AS n FROM sync_log WHERE status = 'interrupted'")
            .get_result(&mut database.connect())
            .unwrap();
    assert!(
        interrupted.n >= 1,
        "{point}: the killed run is marked interrupted"
    );
    let clean = clean_requests(&sim, 10);
    for (entity, made) in requests(&sim) {
        // One page again; this store's consignments fit in one page, which comes with its lines.
        let again = if entity == Entity::Consignments {
            clean[&entity]
        } else {
            1
        };
        assert!(
            made <= clean[&entity] + again,
            "{point}: {entity} made {made} requests, a clean import needs {}",
            clean[&entity]
        );
    }
}

macro_rules! crash_tests {
    ($($name:ident => $point:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                crash_at($point);
            }
        )*

        #[test]
        fn every_crash_point_has_a_test() {
            let tested = [$($point),*];
            for point in CRASH_POINTS {
                assert!(tested.contains(&point), "no crash test for {point}");
            }
        }
    };
}

crash_tests! {
    crash_after_fetch_before_spool => "after-fetch",
    crash_after_spool_before_apply => "after-spool",
    crash_before_apply => "before-apply",
    crash_inside_the_apply_transaction => "in-apply",
    crash_after_apply_commit_before_release => "after-apply",
    crash_after_release => "after-release",
}

/// Kills happen at points of the import's progress, not of the wall clock: after a number of
/// further API requests drawn from a seeded generator, so the test does the same on a fast or a
/// slow machine (the kill still lands mid-flight, wherever the process happens to be).
#[test]
fn sigkill_at_five_seeded_moments_of_a_100k_record_import() {
    let sim = TestSimulator::paged(
        StoreShape {
            seed: 5,
            outlets: 3,
            products: 10_000,
            customers: 20_000,
            sales: 40_000,
            registers: 1,
        },
        1000,
        Duration::ZERO,
    );
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let clean = clean_requests(&sim, 1000);
    let clean_total: u64 = clean.values().sum();
    let mut rng = StdRng::seed_from_u64(5);
    let total_requests = || requests(&sim).values().sum::<u64>();
    for kill in 1..=5 {
        let kill_at = total_requests() + rng.random_range(4..=14);
        let mut child = spawn_import(&database.url, &sim, &checkpoint, false);
        eventually(
            Duration::from_secs(120),
            format!("kill {kill}: the import neither reached request {kill_at} nor ended"),
            || total_requests() >= kill_at || child.try_wait().unwrap().is_some(),
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "kill {kill}: the import ended before request {kill_at} ({clean_total} requests make a clean import)"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success();
    let records = assert_matches_simulator(&database, &sim);
    assert!(records >= 100_000, "{records} records");
    let made = total_requests();
    assert!(
        made <= clean_total + 5 * refetch_allowance(&clean),
        "{made} requests; a clean import needs {clean_total}; at most one page per entity per kill"
    );
}

/// A bug that panics while a batch is prepared must fail that entity and the run (it used to
/// close the channel like a clean end and report success), and lose nothing: the next run
/// applies what was spooled and completes exactly.
#[test]
fn a_panic_while_preparing_a_batch_fails_the_entity_and_the_next_run_completes() {
    sales_import_panicking_at(
        "prepare-batch:3",
        "preparing a sales batch panicked: failpoint `prepare-batch` panicked on purpose",
    );
}

/// The opposite order: a writer lane fails first, and the fetcher and the other lane stop
/// because of it. The run reports the writer's panic, never the stop it caused.
#[test]
fn a_panic_while_writing_a_batch_is_reported_before_the_stages_it_stopped() {
    sales_import_panicking_at(
        "apply-batch:2",
        "a sales writer panicked: failpoint `apply-batch` panicked on purpose",
    );
}

/// A sales import that panics at `point`: it fails sales with `cause` in stderr, `sync_log` and
/// `sync_state`, never naming a stage that only stopped because another failed, and the next
/// import completes exactly.
fn sales_import_panicking_at(point: &str, cause: &str) {
    let (sim, database, dir) = small_paged_store();
    let checkpoint = dir.path().join("checkpoint");
    let panicked = lightsync(&database, &sim, &checkpoint)
        .env("LIGHTSYNC_PANIC_AT", point)
        .args(["import", "--entity", "sales"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&panicked.stderr);
    assert_eq!(panicked.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(cause), "{stderr}");
    assert!(!stderr.contains("stopped before committing"), "{stderr}");
    let cause_sql = cause.replace('\'', "''");
    assert_eq!(
        database.count(&format!(
            "SELECT count(*) AS n FROM sync_log WHERE entity = 'sales' AND status = 'failed' \
             AND position('{cause_sql}' in error) = 1"
        )),
        1,
        "sync_log records the failure with the cause first"
    );
    assert_eq!(
        database.count(&format!(
            "SELECT count(*) AS n FROM sync_state WHERE entity = 'sales' AND status = 'failed' \
             AND position('{cause_sql}' in last_error) = 1"
        )),
        1
    );
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM sync_log WHERE error LIKE '%stopped before committing%'"
        ),
        0
    );
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
}

/// A page larger than a batch is spooled and applied in runs of records, each ending at a safe
/// cursor: a crash between two runs of one page fetches only the rest of that page again.
#[test]
fn a_crash_inside_a_large_page_fetches_only_the_rest_of_it() {
    let sim = TestSimulator::paged(
        StoreShape {
            seed: 12,
            outlets: 1,
            products: 20,
            customers: 20,
            sales: 3_500,
            registers: 1,
        },
        10_000,
        Duration::ZERO,
    );
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let crashed = lightsync(&database, &sim, &checkpoint)
        .env("LIGHTSYNC_CRASH_AT", "after-spool:2")
        .args(["import", "--entity", "sales"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&crashed.stderr);
    assert!(
        !crashed.status.success() && stderr.contains("crash point `after-spool` reached"),
        "{stderr}"
    );
    assert_eq!(
        sim.requests(Entity::Sales),
        1,
        "one page holds all 3,500 sales"
    );
    lightsync(&database, &sim, &checkpoint)
        .args(["import", "--entity", "sales"])
        .assert()
        .success();
    // The rest of the page (1,500 sales after the second run's cursor), then the empty page.
    assert_eq!(sim.requests(Entity::Sales), 3);
    let others: Vec<Entity> = Entity::ALL
        .into_iter()
        .filter(|entity| *entity != Entity::Sales)
        .collect();
    assert_matches_simulator_except(&database, &sim, &others);
}

/// Every batch of a sync tried as plain inserts first (`LIGHTSYNC_INSERT_FIRST`): the batches
/// that update rows fail whole, are written again as upserts, and the sync still copies every
/// change exactly.
#[test]
fn batches_tried_as_plain_inserts_fall_back_to_upserts_and_copy_every_change() {
    let store = ImportedStore::new();
    let counts = store.sim.handle.mutate(400);
    assert!(counts.sale_voids > 0 && counts.sale_line_changes > 0);
    store
        .lightsync()
        .args(["--page-size", "50", "sync"])
        .env("LIGHTSYNC_INSERT_FIRST", "1")
        .env("RUST_LOG", "lightsync=debug")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "has rows that exist already; writing it as upserts",
        ));
    assert_matches_simulator(&store.database, &store.sim);
}
