//! `/metrics` parsed by a strict OpenMetrics parser: every metric present with an `entity`
//! label for each entity, values matching `sync_state` and `sync_log`, behind the API token
//! unless the operator opened it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::entity::Entity;
use lightsync::simulator::FaultKind;
use lightsync::web::{self, Monitoring};
use openmetrics_parser::{OpenMetricsType, OpenMetricsValue};
use rocket::http::{Header, Status};
use rocket::local::blocking::Client;

use crate::support::{lightsync, TestDatabase, TestSimulator};

fn dashboard(database: &TestDatabase, metrics_public: bool) -> Client {
    let figment = rocket::Config::figment()
        .merge(("secret_key", vec![5u8; 64]))
        .merge(("log_level", rocket::config::LogLevel::Off));
    let rocket = web::build(crate::web::test_state(database), figment)
        .unwrap()
        .manage(Monitoring {
            metrics_public,
            schedule: None,
        });
    Client::tracked(rocket).unwrap()
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    last_version: i64,
    #[diesel(sql_type = BigInt)]
    rows_in_table: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_success_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = BigInt)]
    records: i64,
    #[diesel(sql_type = BigInt)]
    requests: i64,
    #[diesel(sql_type = BigInt)]
    rate_limited: i64,
    #[diesel(sql_type = BigInt)]
    last_duration_ms: i64,
}

fn number(value: &OpenMetricsValue) -> f64 {
    match value {
        OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
        OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
        other => panic!("unexpected value {other:?}"),
    }
}

#[test]
fn metrics_parse_and_match_sync_state() {
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::with_store(2, 30, 30, 120);
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    lightsync(&database, &simulator, &checkpoints)
        .arg("import")
        .assert()
        .success();
    simulator.handle.mutate(20);
    lightsync(&database, &simulator, &checkpoints)
        .arg("sync")
        .assert()
        .success();
    simulator.handle.queue_faults(FaultKind::InternalError, 1);
    lightsync(&database, &simulator, &checkpoints)
        .env("LIGHTSYNC_MAX_ATTEMPTS", "1")
        .args(["sync", "--entity", "customers"])
        .assert()
        .code(1);
    sql_query("UPDATE sync_state SET last_success_at = now() - interval '5 hours' WHERE entity = 'products'")
        .execute(&mut database.connect())
        .unwrap();

    let client = dashboard(&database, false);
    assert_eq!(
        client.get("/metrics").dispatch().status(),
        Status::Unauthorized
    );
    let response = client
        .get("/metrics")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", crate::web::API_TOKEN),
        ))
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    let content_type = response.content_type().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.into_string().unwrap();
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|err| panic!("{err:?} in\n{text}"));

    let mut conn = database.connect();
    let states: Vec<State> = sql_query(
        "SELECT entity, status, last_version, rows_in_table, last_success_at FROM sync_state",
    )
    .load(&mut conn)
    .unwrap();
    let totals: Vec<Totals> = sql_query(
        "SELECT entity, SUM(records_fetched)::BIGINT AS records, SUM(requests)::BIGINT AS requests, \
         SUM(rate_limited)::BIGINT AS rate_limited, \
         (array_agg(COALESCE(duration_ms, 0) ORDER BY started_at DESC, id DESC))[1] AS last_duration_ms \
         FROM sync_log WHERE mode <> 'operator' GROUP BY entity",
    )
    .load(&mut conn)
    .unwrap();

    let families = [
        ("lightsync_entity_health", OpenMetricsType::Gauge),
        (
            "lightsync_entity_last_success_timestamp_seconds",
            OpenMetricsType::Gauge,
        ),
        ("lightsync_entity_rows", OpenMetricsType::Gauge),
        ("lightsync_entity_last_version", OpenMetricsType::Gauge),
        ("lightsync_run_duration_seconds", OpenMetricsType::Gauge),
        ("lightsync_records_synced", OpenMetricsType::Counter),
        ("lightsync_api_requests", OpenMetricsType::Counter),
        ("lightsync_api_429", OpenMetricsType::Counter),
        ("lightsync_records_untyped", OpenMetricsType::Counter),
        ("lightsync_table_bytes", OpenMetricsType::Gauge),
    ];
    let mut values: BTreeMap<(&str, String), f64> = BTreeMap::new();
    for (name, kind) in families {
        let family = exposition
            .families
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"));
        assert_eq!(family.family_type, kind, "{name}");
        assert!(!family.help.is_empty(), "{name} has HELP");
        let mut seen: Vec<String> = family
            .iter_samples()
            .map(|sample| {
                let labels = sample
                    .get_labelset()
                    .expect("samples belong to their family");
                let entity = labels
                    .get_label_value("entity")
                    .unwrap_or_else(|| panic!("{name}: a sample without an entity label"))
                    .to_string();
                values.insert((name, entity.clone()), number(&sample.value));
                entity
            })
            .collect();
        seen.sort();
        let mut expected: Vec<String> = Entity::ALL.iter().map(|e| e.to_string()).collect();
        expected.sort();
        assert_eq!(seen, expected, "{name}: one sample per entity");
    }
    assert!(
        text.contains("lightsync_records_synced_total{entity=\"sales\"}"),
        "{text}"
    );

    let value = |name: &str, entity: &str| values[&(name, entity.to_string())];
    for state in &states {
        let entity = state.entity.as_str();
        let health = match (state.status.as_str(), entity) {
            ("failed", _) => 2.0,
            (_, "products") => 1.0,
            _ => 0.0,
        };
        assert_eq!(value("lightsync_entity_health", entity), health, "{entity}");
        assert_eq!(
            value("lightsync_entity_rows", entity),
            state.rows_in_table as f64,
            "{entity}"
        );
        assert_eq!(
            value("lightsync_entity_last_version", entity),
            state.last_version as f64,
            "{entity}"
        );
        let success = state.last_success_at.unwrap().timestamp_millis() as f64 / 1000.0;
        assert!(
            (value("lightsync_entity_last_success_timestamp_seconds", entity) - success).abs()
                < 0.002,
            "{entity}"
        );
        assert!(
            state.rows_in_table > 0 && state.last_version > 0,
            "{entity} was synced"
        );
    }
    assert_eq!(value("lightsync_entity_health", "customers"), 2.0);
    for total in &totals {
        let entity = total.entity.as_str();
        assert_eq!(
            value("lightsync_records_synced", entity),
            total.records as f64,
            "{entity}"
        );
        assert_eq!(
            value("lightsync_api_requests", entity),
            total.requests as f64,
            "{entity}"
        );
        assert_eq!(
            value("lightsync_api_429", entity),
            total.rate_limited as f64,
            "{entity}"
        );
        assert_eq!(
            value("lightsync_run_duration_seconds", entity),
            total.last_duration_ms as f64 / 1000.0,
            "{entity}"
        );
        assert!(total.records > 0 && total.requests > 0, "{entity}");
    }
    assert_eq!(totals.len(), Entity::ALL.len());

    // What each entity costs on disk: its table and its children's, as PostgreSQL counts them,
    // the same in /metrics, /api/status and `lightsync status --json`. Vacuumed first, with
    // autovacuum off, so no visibility map appears between two readings.
    for table in [
        "lightspeed_sales",
        "lightspeed_sale_line_items",
        "lightspeed_sale_payments",
    ] {
        let mut conn = database.connect();
        sql_query(format!("VACUUM {table}_rows"))
            .execute(&mut conn)
            .unwrap();
        sql_query(format!(
            "ALTER TABLE {table}_rows SET (autovacuum_enabled = false)"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let text = crate::web::metrics_text(&client);
    let exposition =
        openmetrics_parser::openmetrics::parse_openmetrics(&text).expect("the exposition parses");
    let bytes_family = &exposition.families["lightsync_table_bytes"];
    let metric_bytes = bytes_family
        .iter_samples()
        .find(|sample| {
            sample
                .get_labelset()
                .ok()
                .and_then(|labels| labels.get_label_value("entity").map(|e| e == "sales"))
                .unwrap_or(false)
        })
        .map(|sample| number(&sample.value))
        .expect("a sales sample");
    let sales_bytes = crate::support::count(
        &database.url,
        "SELECT (pg_total_relation_size('lightspeed_sales_rows') \
         + pg_total_relation_size('lightspeed_sale_line_items_rows') \
         + pg_total_relation_size('lightspeed_sale_payments_rows'))::BIGINT AS n",
    );
    assert!(sales_bytes > 100_000, "{sales_bytes}");
    assert_eq!(metric_bytes, sales_bytes as f64);
    let status: serde_json::Value = client
        .get("/api/status")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", crate::web::API_TOKEN),
        ))
        .dispatch()
        .into_json()
        .expect("a status body");
    let sales_card = status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["entity"] == "sales")
        .unwrap();
    assert_eq!(
        sales_card["size"],
        lightsync::db::bytes_in_words(sales_bytes)
    );
    let output = lightsync(&database, &simulator, &checkpoints)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sales = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entity| entity["entity"] == "sales")
        .unwrap();
    assert_eq!(sales["size_bytes"], sales_bytes);
    let database_bytes = report["database_size_bytes"].as_i64().unwrap();
    assert!(
        database_bytes >= sales_bytes,
        "{database_bytes} < {sales_bytes}"
    );
    let table = lightsync(&database, &simulator, &checkpoints)
        .arg("status")
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains(&lightsync::db::bytes_in_words(sales_bytes))
            && table.contains("database size "),
        "{table}"
    );
}

#[test]
fn metrics_can_be_opened_to_everyone() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database, true);
    let response = client.get("/metrics").dispatch();
    assert_eq!(response.status(), Status::Ok);
    let text = response.into_string().unwrap();
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    let health = &exposition.families["lightsync_entity_health"];
    assert_eq!(health.iter_samples().count(), Entity::ALL.len());
    for sample in health.iter_samples() {
        assert_eq!(number(&sample.value), 2.0, "never synced: red");
    }
}
