//! Large pages on slow links: pages are asked for gzip-compressed (the simulator serves gzip
//! when asked and counts the bytes on the wire), and a page that times out is asked for again
//! smaller, so a slow link never stalls an entity.

use lightsync::entity::Entity;
use lightsync::simulator::{SimulatorConfig, StoreShape};
use predicates::prelude::*;

use crate::support::{assert_matches_simulator, lightsync, TestDatabase, TestSimulator};

fn store(slow_per_kib: std::time::Duration) -> TestSimulator {
    TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 21,
            outlets: 2,
            products: 50,
            customers: 30,
            sales: 800,
            registers: 1,
        },
        rate_limited: false,
        control: true,
        slow_per_kib,
        ..SimulatorConfig::default()
    })
}

#[test]
fn pages_travel_gzip_compressed() {
    let database = TestDatabase::migrated();
    let sim = store(std::time::Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    lightsync(&database, &sim, &dir.path().join("cp"))
        .arg("import")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
    let (sent, plain) = (
        sim.handle.stats().bytes_sent(),
        sim.handle.stats().bytes_plain(),
    );
    assert!(
        plain > 1_000_000 && sent * 3 < plain,
        "{sent} bytes on the wire for {plain} bytes of JSON"
    );
}

#[test]
fn a_page_that_times_out_is_asked_for_smaller_until_it_arrives() {
    let database = TestDatabase::migrated();
    // 800 sales of about 3 KB, a tenth of that compressed: 240 KB for the whole page at 10 ms
    // a KiB is 2.4 s, over the 1 s timeout; a page of 200 takes 0.6 s.
    let sim = store(std::time::Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    lightsync(&database, &sim, &dir.path().join("cp"))
        .args(["import", "--entity", "sales"])
        .env("LIGHTSYNC_HTTP_TIMEOUT_SECS", "1")
        .env("LIGHTSYNC_PAGE_SIZE", "1000")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "sales: a page of 1000 records timed out",
        ))
        .stderr(predicate::str::contains("at a time from now on"));
    let sales = sim.handle.expected()["entities"]["sales"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales"),
        sales as i64
    );
    assert!(
        sim.requests(Entity::Sales) > 2,
        "smaller pages, more of them"
    );
}
