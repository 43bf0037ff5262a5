//! The API client against the simulator over real HTTP: paging, deletes, every fault kind,
//! 401, the loop guard, version-less pages, 429 with Retry-After, and the shared governor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lightsync::config::{ApiConfig, Secret};
use lightsync::entity::Entity;
use lightsync::lightspeed::{ApiError, Client, PageError, RequestCounters};
use lightsync::simulator::{FaultKind, SimulatorConfig, StoreShape};

use crate::support::TestSimulator;

fn api_config(simulator: &TestSimulator) -> ApiConfig {
    ApiConfig {
        base_url: simulator.base_url().parse().unwrap(),
        token: Some(Secret::new("simulator")),
        oauth: None,
        page_size: 1000,
        rate_share: 0.95,
        rate_window: Duration::from_secs(300),
        max_attempts: 8,
        timeout: Duration::from_secs(10),
    }
}

fn fast_client(config: &ApiConfig) -> Client {
    // A personal token: the client keeps no token file.
    Client::new(config, &std::env::temp_dir())
        .unwrap()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
}

fn store(sales: u32) -> StoreShape {
    StoreShape {
        seed: 3,
        outlets: 2,
        products: 40,
        customers: 45,
        sales,
        registers: 1,
    }
}

fn simulator(config: SimulatorConfig) -> TestSimulator {
    TestSimulator::start(SimulatorConfig {
        rate_limited: false,
        control: true,
        ..config
    })
}

/// Pages through `entity` to the end; returns (records, requests).
fn fetch_all(
    sim: &TestSimulator,
    client: &Client,
    entity: Entity,
    page_size: u32,
) -> (Vec<lightsync::lightspeed::Record>, u64) {
    let counters = RequestCounters::default();
    let mut after = 0;
    let mut records = Vec::new();
    sim.runtime().block_on(async {
        if entity.spec().is_refreshed() {
            let mut after: Option<String> = None;
            loop {
                let page = client
                    .fetch_id_page(entity, after.as_deref(), page_size, &counters)
                    .await
                    .unwrap();
                records.extend(page.records.iter().map(|text| {
                    lightsync::lightspeed::decode_record(entity, text, Some(1)).unwrap()
                }));
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => return,
                }
            }
        }
        loop {
            let page = client
                .fetch_page(entity, after, page_size, &counters)
                .await
                .unwrap();
            let Some(max) = page.max_version else { break };
            assert!(page
                .records
                .iter()
                .all(|r| r.version > after && r.version <= max));
            after = max;
            records.extend(page.records);
        }
    });
    (records, counters.totals().requests)
}

#[test]
fn pages_to_the_end_with_odd_page_caps() {
    let sim = simulator(SimulatorConfig {
        shape: store(50),
        page_cap: 7,
        sales_page_cap: Some(3),
        ..SimulatorConfig::default()
    });
    let client = fast_client(&api_config(&sim));
    let expected = sim.handle.expected();
    for entity in Entity::ALL {
        let want = expected["entities"][entity.name()]
            .as_array()
            .unwrap()
            .len();
        let (records, requests) = fetch_all(&sim, &client, entity, 1000);
        assert_eq!(records.len(), want, "{entity}");
        let cap = if entity == Entity::Sales { 3 } else { 7 };
        // An endpoint paged by id says which page is the last; the others end at an empty one.
        let empty_page = usize::from(!entity.spec().is_refreshed());
        assert_eq!(
            requests as usize,
            want.div_ceil(cap) + empty_page,
            "{entity}: one request per page plus the empty one"
        );
        let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), want, "{entity}: no record twice");
    }
}

/// How many of `entity`'s records the simulator's ground truth holds as deleted.
fn deleted_in(expected: &serde_json::Value, entity: Entity) -> usize {
    expected["entities"][entity.name()]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["deleted"].as_bool().unwrap())
        .count()
}

#[test]
fn deleted_rows_come_with_their_deleted_at() {
    let sim = simulator(SimulatorConfig {
        shape: store(10),
        ..SimulatorConfig::default()
    });
    sim.handle.mutate(400);
    let expected = sim.handle.expected();
    let client = fast_client(&api_config(&sim));
    for entity in [Entity::Products, Entity::Customers] {
        let want = deleted_in(&expected, entity);
        assert!(want > 0, "{entity}: the mutation deleted some");
        let (records, _) = fetch_all(&sim, &client, entity, 1000);
        let deleted = records.iter().filter(|r| r.deleted_at.is_some()).count();
        assert_eq!(deleted, want, "{entity}");
    }
}

/// Every endpoint whose schema has `deleted_at` is asked for deleted rows (`deleted=true`):
/// the simulator, like a store that hides them otherwise, serves none without the flag.
#[test]
fn deleted_reference_rows_come_only_with_the_flag_lightsync_sends() {
    let sim = simulator(SimulatorConfig {
        shape: store(10),
        ..SimulatorConfig::default()
    });
    sim.handle.mutate(4_000);
    let expected = sim.handle.expected();
    let client = fast_client(&api_config(&sim));
    let mut checked = 0;
    for entity in [
        Entity::Users,
        Entity::Taxes,
        Entity::PaymentTypes,
        Entity::Brands,
        Entity::Suppliers,
        Entity::ProductTypes,
        Entity::PriceBooks,
        Entity::PriceBookProducts,
        Entity::Consignments,
    ] {
        assert!(entity.accepts_deleted_param(), "{entity}");
        let want = deleted_in(&expected, entity);
        let (records, _) = fetch_all(&sim, &client, entity, 1000);
        let deleted = records.iter().filter(|r| r.deleted_at.is_some()).count();
        assert_eq!(deleted, want, "{entity}");
        let unflagged: serde_json::Value = serde_json::from_str(
            &reqwest::blocking::Client::new()
                .get(format!("{}/{entity}?page_size=1000", sim.base_url()))
                .bearer_auth("simulator")
                .send()
                .unwrap()
                .text()
                .unwrap(),
        )
        .unwrap();
        let hidden = unflagged["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["deleted_at"].is_null())
            .count();
        assert_eq!(hidden, 0, "{entity}: deleted rows without the flag");
        checked += want;
    }
    assert!(checked > 0, "the mutation deleted some reference rows");
    eprintln!("{checked} deleted reference rows fetched with deleted=true");
}

#[test]
fn every_fault_kind_is_retried_and_recovered_within_the_budget() {
    let sim = simulator(SimulatorConfig {
        shape: store(5),
        ..SimulatorConfig::default()
    });
    let client = fast_client(&api_config(&sim));
    for kind in FaultKind::ALL {
        sim.handle.queue_faults(kind, 2);
        let counters = RequestCounters::default();
        let page = sim
            .runtime()
            .block_on(client.fetch_page(Entity::Sales, 0, 1000, &counters))
            .unwrap_or_else(|err| panic!("{kind:?}: {err}"));
        assert_eq!(page.records.len(), 5, "{kind:?}");
        let totals = counters.totals();
        assert_eq!((totals.requests, totals.retries), (3, 2), "{kind:?}");
    }
}

#[test]
fn faults_beyond_the_budget_fail_with_entity_cursor_and_cause() {
    let sim = simulator(SimulatorConfig {
        shape: store(5),
        ..SimulatorConfig::default()
    });
    let mut config = api_config(&sim);
    config.max_attempts = 3;
    let client = fast_client(&config);
    for (kind, cause) in [
        (FaultKind::Unavailable, "HTTP 503"),
        (FaultKind::CutBody, "cut off"),
        (FaultKind::NotJson, "not JSON"),
    ] {
        sim.handle.queue_faults(kind, 3);
        let counters = RequestCounters::default();
        let err = sim
            .runtime()
            .block_on(client.fetch_page(Entity::Customers, 42, 1000, &counters))
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("customers") && message.contains("after version 42"),
            "{message}"
        );
        assert!(
            message.contains("3 attempts") && message.contains(cause),
            "{message}"
        );
        assert!(
            !message.contains("simulator"),
            "no token in errors: {message}"
        );
        assert_eq!(counters.totals().requests, 3);
    }
}

#[test]
fn a_wrong_token_fails_at_once_and_says_what_to_check() {
    let sim = simulator(SimulatorConfig {
        shape: store(5),
        ..SimulatorConfig::default()
    });
    let mut config = api_config(&sim);
    config.token = Some(Secret::new("wrong-token"));
    let client = fast_client(&config);
    let counters = RequestCounters::default();
    let err = sim
        .runtime()
        .block_on(client.fetch_page(Entity::Outlets, 0, 1000, &counters))
        .unwrap_err();
    assert_eq!(err.cause, ApiError::Unauthorized);
    assert!(err.to_string().contains("check LIGHTSPEED_TOKEN"));
    assert!(!err.to_string().contains("wrong-token"));
    assert_eq!(counters.totals().requests, 1, "401 is never retried");
}

#[test]
fn a_server_that_does_not_advance_trips_the_loop_guard() {
    let sim = simulator(SimulatorConfig {
        shape: store(5),
        quirk_ignore_after: true,
        ..SimulatorConfig::default()
    });
    let client = fast_client(&api_config(&sim));
    let counters = RequestCounters::default();
    let first = sim
        .runtime()
        .block_on(client.fetch_page(Entity::Sales, 0, 1000, &counters))
        .unwrap();
    let err = sim
        .runtime()
        .block_on(client.fetch_page(Entity::Sales, first.max_version.unwrap(), 1000, &counters))
        .unwrap_err();
    assert!(
        matches!(err.cause, ApiError::Page(PageError::LoopGuard { .. })),
        "{err}"
    );
    assert_eq!(err.attempts, 1, "the loop guard is not retried");
}

#[test]
fn version_less_pages_and_string_money_still_page_to_the_end() {
    let sim = simulator(SimulatorConfig {
        shape: store(30),
        page_cap: 4,
        quirk_no_version_member: true,
        quirk_money_as_strings: true,
        ..SimulatorConfig::default()
    });
    let client = fast_client(&api_config(&sim));
    let (records, _) = fetch_all(&sim, &client, Entity::Sales, 1000);
    assert_eq!(records.len(), 30);
    let total_price = records[0].cell(Entity::Sales.spec().columns, "total_price");
    assert!(
        total_price.is_some_and(|cell| !cell.is_null()),
        "money from numeric strings"
    );
    assert!(!records[0].children.is_empty());
}

#[test]
fn a_429_waits_until_retry_after_without_counting_as_a_failure() {
    let window = Duration::from_secs(2);
    let sim = TestSimulator::start(SimulatorConfig {
        shape: store(5),
        rate_limited: true,
        rate_limit_override: Some(3),
        window,
        control: true,
        ..SimulatorConfig::default()
    });
    let started = Instant::now();
    // Another app spends the whole window's quota.
    let other_app = reqwest::blocking::Client::new();
    for _ in 0..3 {
        let response = other_app
            .get(format!("{}/outlets", sim.base_url()))
            .bearer_auth("simulator")
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let mut config = api_config(&sim);
    config.max_attempts = 1;
    let client = fast_client(&config);
    let counters = RequestCounters::default();
    let page = sim
        .runtime()
        .block_on(client.fetch_page(Entity::Sales, 0, 1000, &counters))
        .expect("a 429 is never fatal, even with a single attempt");
    assert_eq!(page.records.len(), 5);
    assert!(
        started.elapsed() >= window,
        "waited for the next window: {:?}",
        started.elapsed()
    );
    let totals = counters.totals();
    assert_eq!(totals.rate_limited, 1);
    assert_eq!(totals.retries, 0);
}

#[test]
fn the_governor_keeps_to_at_most_one_429_per_window() {
    let window = Duration::from_secs(3);
    let sim = TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            customers: 120,
            products: 120,
            ..store(5)
        },
        rate_limited: true,
        rate_limit_override: Some(30),
        window,
        control: true,
        ..SimulatorConfig::default()
    });
    let mut config = api_config(&sim);
    config.rate_window = window;
    let client = Arc::new(fast_client(&config));
    let started = Instant::now();
    let counters = Arc::new(RequestCounters::default());
    // Two entities page concurrently through one governor: 100 requests in all.
    sim.runtime().block_on(async {
        let tasks: Vec<_> = [Entity::Customers, Entity::Products]
            .into_iter()
            .map(|entity| {
                let client = client.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    let mut after = 0;
                    for _ in 0..50 {
                        let page = client
                            .fetch_page(entity, after, 1, &counters)
                            .await
                            .unwrap();
                        after = page.max_version.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let elapsed = started.elapsed();
    let windows = (elapsed.as_secs_f64() / window.as_secs_f64()).ceil() as u64;
    let rate_limited = sim.handle.stats().rate_limited();
    assert!(
        rate_limited <= windows,
        "{rate_limited} 429s in {windows} windows ({elapsed:?})"
    );
    // 100 requests at 28 per 3 s cannot finish much faster than 3 full windows.
    assert!(elapsed >= Duration::from_secs(9), "{elapsed:?}");
    assert!(
        elapsed <= Duration::from_secs(20),
        "the budget was used: {elapsed:?}"
    );
}
