//! A consignment's lines (`GET /consignments/{id}/products`) are not paged by version by any
//! real client: a server that ignores `after` neither loops nor fails consignments, and a
//! consignment's lines cost one request once a short page has shown where a list ends.

use lightsync::entity::Entity;
use lightsync::simulator::{SimulatorConfig, StoreShape};

use crate::support::{lightsync, TestDatabase, TestSimulator};

/// Lines paged by version with pages of 10 (lists of 1 to 30 lines), and served whatever
/// `after` says with pages of 50 (every list fits one page, as with Vend's own client).
#[test]
fn lines_served_whatever_after_says_land_exactly_at_one_request_per_consignment() {
    for (ignore_after, page) in [(false, 10u32), (true, 50)] {
        let database = TestDatabase::migrated();
        let sim = TestSimulator::start(SimulatorConfig {
            shape: StoreShape {
                seed: 12,
                outlets: 2,
                products: 40,
                customers: 10,
                sales: 1_000,
                registers: 1,
            },
            page_cap: page,
            rate_limited: false,
            control: true,
            quirk_lines_ignore_after: ignore_after,
            ..SimulatorConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        lightsync(&database, &sim, &dir.path().join("cp"))
            .args(["import", "--entity", "consignments"])
            .env("LIGHTSYNC_PAGE_SIZE", page.to_string())
            .assert()
            .success();
        let expected = sim.handle.expected();
        let consignments = expected["entities"]["consignments"].as_array().unwrap();
        let lengths: Vec<u64> = consignments
            .iter()
            .map(|c| c["line_ids"].as_array().unwrap().len() as u64)
            .collect();
        assert!(consignments.len() >= 10 && lengths.iter().any(|n| *n > 10));
        assert_lines_match(&database, &sim);
        let list_requests = (consignments.len() as u64).div_ceil(page as u64) + 1;
        let line_requests = sim.requests(Entity::Consignments) - list_requests;
        // A list costs its pages, and one more only when its last page is full or it is the
        // longest list so far (a few per run, four lists being fetched at once).
        let pages: u64 = lengths.iter().map(|n| n.div_ceil(page as u64)).sum();
        assert!(
            line_requests <= pages + 8,
            "ignore_after {ignore_after}: {line_requests} line requests for {} consignments in {pages} pages",
            consignments.len()
        );
        if ignore_after {
            assert!(line_requests <= consignments.len() as u64 + 8);
        }
    }
}

/// The consignments' lines are exactly the simulator's, by key.
fn assert_lines_match(database: &TestDatabase, sim: &TestSimulator) {
    let expected = sim.handle.expected();
    let want: Vec<String> = expected["entities"]["consignments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["line_ids"].as_array().unwrap().clone())
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    let listed = want.join(",");
    assert_eq!(
        database.count(&format!(
            "SELECT count(*) AS n FROM lightspeed_consignment_products \
             WHERE id = ANY(string_to_array('{listed}', ','))"
        )),
        want.len() as i64
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_consignment_products"),
        want.len() as i64
    );
}
