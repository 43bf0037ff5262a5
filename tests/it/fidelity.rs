//! Real-store fidelity end to end: an import from a simulator whose records carry odd field
//! values lands every record with its raw JSON and counts and names what it could not type; a
//! 429 whose Retry-After is already past does not turn into a request storm; the run page shows
//! the count; a database made by
//! the previous release's migrations is migrated forward with the new columns filled from raw,
//! the grouping fields (families, barcodes, categories, taxes) included.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use lightsync::entity::Entity;
use lightsync::simulator::{SimulatorConfig, StoreShape};
use serde_json::Value;

use crate::support::{self, TestDatabase, TestSimulator};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(database: &TestDatabase, sql: &str) -> i64 {
    sql_query(sql)
        .get_result::<Count>(&mut database.connect())
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .n
}

#[derive(QueryableByName)]
struct IdRaw {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    raw: String,
}

/// Every record the simulator serves for `entity`, by id, as JSON values.
fn served(simulator: &TestSimulator, entity: Entity) -> BTreeMap<String, Value> {
    let client = reqwest::blocking::Client::new();
    let mut after = 0i64;
    let mut records = BTreeMap::new();
    if entity.spec().is_refreshed() {
        // Paged by id; every page but the last is full.
        let body = client
            .get(format!("{}/{}", simulator.base_url(), entity.name()))
            .query(&[("page_size", "100000")])
            .bearer_auth("simulator")
            .send()
            .unwrap()
            .text()
            .unwrap();
        let page: Value = serde_json::from_str(&body).unwrap();
        for record in page["data"]["categories"].as_array().unwrap() {
            records.insert(record["id"].as_str().unwrap().to_string(), record.clone());
        }
        return records;
    }
    loop {
        let body = client
            .get(format!("{}/{}", simulator.base_url(), entity.name()))
            .query(&[("after", after.to_string()), ("page_size", "1000".into())])
            .query(&[("deleted", "true")])
            .bearer_auth("simulator")
            .send()
            .unwrap()
            .text()
            .unwrap();
        let page: Value = serde_json::from_str(&body).unwrap();
        let data = page["data"].as_array().unwrap();
        if data.is_empty() {
            return records;
        }
        for record in data {
            let key: Vec<&str> = entity
                .spec()
                .key
                .iter()
                .map(|key| record[*key].as_str().unwrap())
                .collect();
            records.insert(key.join("\u{1f}"), record.clone());
        }
        after = page["version"]["max"].as_i64().unwrap();
    }
}

#[test]
fn an_import_with_odd_values_in_one_percent_of_records_lands_counts_and_names_them() {
    let simulator = TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 12,
            outlets: 3,
            products: 300,
            customers: 400,
            sales: 3000,
            registers: 1,
        },
        rate_limited: false,
        control: true,
        odd_values: 0.01,
        ..SimulatorConfig::default()
    });
    let injected = simulator.handle.odd_values();
    assert!(
        injected.untypable_records >= 20 && injected.records > injected.untypable_records,
        "{injected:?}"
    );
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let output = support::lightsync(&database, &simulator, &dir.path().join("checkpoints"))
        .env("LIGHTSYNC_PAGE_SIZE", "500")
        .arg("import")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "the import failed:\n{log}");

    // Every record present, and its raw JSON exactly what was served.
    support::assert_matches_simulator(&database, &simulator);
    for entity in Entity::ALL {
        let served = served(&simulator, entity);
        let stored: Vec<IdRaw> = sql_query(format!(
            "SELECT {} AS id, raw::text AS raw FROM {}",
            support::key_sql(entity),
            entity.table()
        ))
        .load(&mut database.connect())
        .unwrap();
        assert_eq!(stored.len(), served.len(), "{entity}");
        for row in stored {
            let raw: Value = serde_json::from_str(&row.raw).unwrap();
            assert_eq!(raw, served[&row.id], "{entity} {}: raw differs", row.id);
        }
    }

    // The count of untypable records, per entity, is what the simulator injected.
    for entity in Entity::ALL {
        let counted = count(
            &database,
            &format!(
                "SELECT coalesce(sum(records_untyped), 0)::BIGINT AS n FROM sync_log WHERE entity = '{entity}'"
            ),
        );
        let expected = injected
            .untypable_by_entity
            .get(entity.name())
            .copied()
            .unwrap_or(0);
        assert_eq!(
            counted as u64, expected,
            "{entity}: records_untyped in sync_log"
        );
    }

    // The log names each untypable field once, and nothing else as untypable.
    let problem_lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("could not be typed"))
        .collect();
    let mut named = 0;
    for (entity, fields) in &injected.untypable_fields {
        for field in fields {
            let needle = format!("{entity}: field `{field}` could not be typed");
            let lines = problem_lines.iter().filter(|l| l.contains(&needle)).count();
            assert_eq!(lines, 1, "`{needle}` logged {lines} times:\n{log}");
            named += 1;
        }
    }
    assert_eq!(problem_lines.len(), named, "{problem_lines:#?}");
    assert!(
        !log.contains("simulator\""),
        "the token never appears in the log"
    );

    // An untyped value is read from `raw` as the README shows: the column is NULL, `raw` has
    // the value as sent.
    let mut read_from_raw = 0;
    for (entity, fields) in &injected.untypable_fields {
        let spec = entity.parse::<Entity>().expect("an entity").spec();
        for field in fields {
            if !spec.columns.iter().any(|column| column.name == field) {
                continue;
            }
            let sent = count(
                &database,
                &format!(
                    "SELECT count(*) AS n FROM {table} \
                     WHERE {field} IS NULL AND raw->>'{field}' IS NOT NULL",
                    table = spec.table
                ),
            );
            assert!(sent > 0, "{entity}.{field}: the value sent is not in raw");
            read_from_raw += 1;
        }
    }
    assert!(read_from_raw > 0, "{:?}", injected.untypable_fields);
    // A field without a column is indexed in `rest`, as the README shows.
    sql_query("CREATE INDEX ON lightspeed_customers_rows ((rest->>'custom_field_1'))")
        .execute(&mut database.connect())
        .unwrap();
    assert_eq!(
        count(
            &database,
            "SELECT count(*) AS n FROM lightspeed_customers c JOIN lightspeed_customers_rows r \
             USING (id) WHERE c.raw->>'custom_field_1' IS DISTINCT FROM r.rest->>'custom_field_1'"
        ),
        0,
        "a field without a column is in rest as in raw"
    );

    // Odd values a correct client can type are typed: numbers sent as text, placeholder dates.
    assert_eq!(
        count(
            &database,
            "SELECT count(*) AS n FROM lightspeed_sale_line_items WHERE jsonb_typeof(raw->'quantity') = 'string' AND quantity IS DISTINCT FROM 2"
        ),
        0
    );
    assert_eq!(
        count(
            &database,
            "SELECT count(*) AS n FROM lightspeed_customers WHERE raw->>'date_of_birth' = '0000-12-30' AND date_of_birth IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(
            &database,
            "SELECT count(*) AS n FROM lightspeed_sale_line_items WHERE raw->>'sequence' = '1.5' AND sequence IS NOT NULL"
        ),
        0
    );
}

#[test]
fn a_429_with_a_retry_after_already_past_does_not_become_a_request_storm() {
    let window = Duration::from_secs(3);
    let simulator = TestSimulator::start(SimulatorConfig {
        shape: StoreShape {
            seed: 4,
            outlets: 1,
            products: 5,
            customers: 5,
            sales: 60,
            registers: 1,
        },
        rate_limited: true,
        rate_limit_override: Some(8),
        window,
        // The server's clock is a minute behind ours: every Retry-After date is already past.
        retry_after_skew: Duration::from_secs(60),
        control: true,
        ..SimulatorConfig::default()
    });
    // Another app spends this window's quota.
    let other_app = reqwest::blocking::Client::new();
    for _ in 0..8 {
        let response = other_app
            .get(format!("{}/outlets", simulator.base_url()))
            .bearer_auth("simulator")
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let before = simulator.handle.stats().total_requests();
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = support::lightsync(&database, &simulator, &dir.path().join("checkpoints"))
        .env("LIGHTSYNC_PAGE_SIZE", "10")
        .env("LIGHTSYNC_RATE_WINDOW_SECS", "3")
        .env("LIGHTSYNC_MAX_ATTEMPTS", "1")
        .args(["import", "--entity", "sales"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let log = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "429s never fail a run nor spend its single attempt:\n{log}"
    );
    assert_eq!(
        count(&database, "SELECT count(*) AS n FROM lightspeed_sales"),
        60
    );
    let requests = simulator.handle.stats().total_requests() - before;
    let rate_limited = simulator.handle.stats().rate_limited();
    assert!(rate_limited >= 1, "the run met a 429 with a past date");
    assert!(
        log.contains("missing or already past on our clock"),
        "the log says why it waits:\n{log}"
    );
    // Waiting 1 s, then 2 s, ...: at most a few 429s per window. Retrying every 50 ms as
    // the date asks would have sent dozens.
    let windows = (elapsed.as_secs_f64() / window.as_secs_f64()).ceil() as u64;
    assert!(
        rate_limited <= 2 * windows,
        "{rate_limited} 429s in {windows} windows ({elapsed:?})"
    );
    let per_second = requests as f64 / elapsed.as_secs_f64();
    assert!(
        per_second < 4.0,
        "{requests} requests in {elapsed:?}: {per_second:.1}/s"
    );
}

/// The previous release's migrations: the first four.
const PREVIOUS_RELEASE_MIGRATIONS: usize = 4;

#[derive(QueryableByName, Debug, PartialEq)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

fn row(database: &TestDatabase, sql: &str) -> String {
    sql_query(sql)
        .get_result::<Row>(&mut database.connect())
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .row
}

#[test]
fn a_database_of_the_previous_release_migrates_forward_with_new_columns_filled_from_raw() {
    let database = TestDatabase::empty();
    let mut conn = database.connect();
    for _ in 0..PREVIOUS_RELEASE_MIGRATIONS {
        conn.run_next_migration(lightsync::db::MIGRATIONS).unwrap();
    }
    // Rows as the previous release wrote them: 0.9 column names, everything else only in raw,
    // a placeholder birthday typed as 1 BC, and one row with values nothing can type.
    for statement in [
        r#"INSERT INTO lightspeed_outlets (id, name, version, raw) VALUES
           ('o1', 'Second Outlet', 5, '{"id":"o1","physical_address_1":"Nuffield Street","physical_address_2":"","default_tax_id":"t1"}'),
           ('o2', 'Old', 6, '{"id":"o2","physical_address1":"Old Street","physical_address_2":{"odd":true}}')"#,
        r#"INSERT INTO lightspeed_customers (id, version, date_of_birth, raw) VALUES
           ('c1', 7, '0001-12-30 BC', '{"id":"c1","date_of_birth":"0000-12-30","gender":"F","do_not_email":true,"on_account_limit":"1000.5","physical_address_1":"Street 1","postal_address_2":"Street 2","postal_country_id":"NZ"}'),
           ('c2', 8, '1963-03-03', '{"id":"c2","date_of_birth":"1963-03-03","do_not_email":"maybe","on_account_limit":"N/A","enable_loyalty":1}')"#,
        r#"INSERT INTO lightspeed_products (id, version, raw) VALUES
           ('p1', 9, '{"id":"p1","source":"SYSTEM","handle":"vend-discount","has_inventory":false,"is_composite":"0","supplier_code":"X-1"}')"#,
        r#"INSERT INTO lightspeed_sales (id, version, total_price, raw) VALUES
           ('s1', 10, 20.66, '{"id":"s1","total_price":20.66,"total_price_incl":25.0,"state":"closed","source":"USER","source_id":null,"short_code":"xamfvy","return_for":"s0"}'),
           ('s2', 11, NULL, '{"id":"s2","total_price_incl":"1e999999","state":["closed"]}')"#,
        r#"INSERT INTO lightspeed_sale_line_items (id, sale_id, version, raw) VALUES
           ('l1', 's1', 10, '{"id":"l1","salesperson_id":"u1","unit_price":13.7741046832,"total_price":"20.66116","unit_tax":2.0661157025,"total_tax":3.09917,"unit_cost":6.5,"total_cost":9.75,"unit_discount":0.1,"total_discount":"N/A"}')"#,
        r#"INSERT INTO lightspeed_sale_payments (id, sale_id, version, raw) VALUES
           ('pay1', 's1', 10, '{"id":"pay1","register_id":"r1","outlet_id":"o1"}')"#,
        "INSERT INTO sync_log (run_id, entity, mode, status) VALUES ('old', 'sales', 'import', 'ok')",
    ] {
        sql_query(statement).execute(&mut conn).unwrap();
    }

    let applied = lightsync::db::run_pending_migrations(&mut conn).unwrap();
    // The two migrations that typed the 2.0 fields come first; later ones add other tables.
    let applied: Vec<String> = applied.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        applied[..2],
        ["20261126120000".to_string(), "20261126120100".to_string()],
        "{applied:?}"
    );

    assert_eq!(
        row(&database, "SELECT concat_ws('|', id, physical_address_1, physical_address_2, default_tax_id) AS row FROM lightspeed_outlets ORDER BY id LIMIT 1"),
        "o1|Nuffield Street||t1"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', id, physical_address_1, coalesce(physical_address_2, 'NULL')) AS row FROM lightspeed_outlets WHERE id = 'o2'"),
        "o2|Old Street|NULL",
        "the 0.9 spelling is read; an object is not text"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', coalesce(date_of_birth::text, 'NULL'), gender, do_not_email, on_account_limit, physical_address_1, postal_address_2, postal_country_id) AS row FROM lightspeed_customers WHERE id = 'c1'"),
        "NULL|F|t|1000.5|Street 1|Street 2|NZ"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', date_of_birth, coalesce(do_not_email::text, 'NULL'), coalesce(on_account_limit::text, 'NULL'), enable_loyalty) AS row FROM lightspeed_customers WHERE id = 'c2'"),
        "1963-03-03|NULL|NULL|t"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', source, has_inventory, is_composite, supplier_code) AS row FROM lightspeed_products"),
        "SYSTEM|f|f|X-1"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', total_price, total_price_incl, state, source, coalesce(source_id, 'NULL'), short_code, return_for) AS row FROM lightspeed_sales WHERE id = 's1'"),
        "20.66|25.0|closed|USER|NULL|xamfvy|s0"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', coalesce(total_price_incl::text, 'NULL'), coalesce(state, 'NULL')) AS row FROM lightspeed_sales WHERE id = 's2'"),
        "NULL|NULL",
        "values nothing can type stay NULL and the migration goes through"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', salesperson_id, unit_price, total_price, unit_tax, total_tax, unit_cost, total_cost, unit_discount, coalesce(total_discount::text, 'NULL')) AS row FROM lightspeed_sale_line_items"),
        "u1|13.7741046832|20.66116|2.0661157025|3.09917|6.5|9.75|0.1|NULL"
    );
    assert_eq!(
        row(
            &database,
            "SELECT concat_ws('|', register_id, outlet_id) AS row FROM lightspeed_sale_payments"
        ),
        "r1|o1"
    );
    assert_eq!(
        count(
            &database,
            "SELECT records_untyped AS n FROM sync_log WHERE run_id = 'old'"
        ),
        0
    );
    // And back: the previous release's columns again.
    let reverted: BTreeSet<String> = (0..applied.len())
        .map(|_| {
            conn.revert_last_migration(lightsync::db::MIGRATIONS)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(reverted.len(), applied.len());
    assert_eq!(
        row(
            &database,
            "SELECT physical_address1 AS row FROM lightspeed_outlets WHERE id = 'o1'"
        ),
        "Nuffield Street"
    );
}

/// The last migration before the grouping fields were typed.
const BEFORE_GROUPING_FIELDS: &str = "20261204120000";

#[test]
fn stored_rows_get_the_grouping_fields_typed_from_raw() {
    let database = TestDatabase::empty();
    let mut conn = database.connect();
    loop {
        let applied = conn
            .run_next_migration(lightsync::db::MIGRATIONS)
            .unwrap()
            .to_string();
        if applied == BEFORE_GROUPING_FIELDS {
            break;
        }
    }
    for statement in [
        r#"INSERT INTO lightspeed_products (id, version, raw) VALUES
           ('p1', 9, '{"id":"p1","family_id":"f1","variant_parent_id":null,"has_variants":"1","variant_count":3.0,"variant_options":[{"name":"Size","value":"L"}],"product_codes":[{"type":"UPC","code":"0123"}],"product_category":{"id":"c7","name":"Shoes","path":[]}}'),
           ('p2', 10, '{"id":"p2","variant_count":"many","product_category":null}')"#,
        r#"INSERT INTO lightspeed_customers (id, version, raw) VALUES ('c1', 7, '{"id":"c1","customer_group_ids":["g1","g2"]}')"#,
        r#"INSERT INTO lightspeed_sales (id, version, raw) VALUES ('s1', 10, '{"id":"s1","return_ids":["s9"],"taxes":[{"id":"t1","amount":1.5}]}')"#,
        r#"INSERT INTO lightspeed_sale_line_items (id, sale_id, version, raw) VALUES
           ('l1', 's1', 10, '{"id":"l1","tax_components":[{"rate_id":"t1","total_tax":1.5}],"promotions":[{"id":"pr1"}]}')"#,
        r#"INSERT INTO lightspeed_sale_payments (id, sale_id, version, raw) VALUES
           ('pay1', 's1', 10, '{"id":"pay1","register_open_sequence_id":"ros1"}')"#,
    ] {
        sql_query(statement).execute(&mut conn).unwrap();
    }
    lightsync::db::run_pending_migrations(&mut conn).unwrap();
    assert_eq!(
        row(&database, "SELECT concat_ws('|', family_id, has_variants, variant_count, variant_options->0->>'value', product_codes->0->>'code', product_category_id) AS row FROM lightspeed_products WHERE id = 'p1'"),
        "f1|t|3|L|0123|c7"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', coalesce(variant_count::text, 'NULL'), coalesce(product_category::text, 'NULL'), coalesce(product_category_id, 'NULL')) AS row FROM lightspeed_products WHERE id = 'p2'"),
        "NULL|NULL|NULL",
        "an untypable count and a null category stay NULL"
    );
    assert_eq!(
        row(&database, "SELECT concat_ws('|', jsonb_array_length(c.customer_group_ids), s.return_ids->>0, s.taxes->0->>'amount', l.tax_components->0->>'rate_id', l.promotions->0->>'id', p.register_open_sequence_id) AS row FROM lightspeed_customers c, lightspeed_sales s, lightspeed_sale_line_items l, lightspeed_sale_payments p"),
        "2|s9|1.5|t1|pr1|ros1"
    );
}

#[test]
fn the_run_page_and_the_api_show_how_many_records_had_untyped_fields() {
    let database = TestDatabase::migrated();
    sql_query(
        "INSERT INTO sync_log (id, run_id, entity, mode, status, records_fetched, records_untyped) \
         VALUES (41, 'r41', 'sales', 'import', 'ok', 3000, 17), \
                (42, 'r42', 'sales', 'incremental', 'ok', 5, 0)",
    )
    .execute(&mut database.connect())
    .unwrap();
    let client = crate::web::dashboard_with(crate::web::test_state(&database));
    crate::web::sign_in(&client);
    let page = client.get("/runs/41").dispatch().into_string().unwrap();
    let row = &page[page
        .find(r#"id="records-untyped""#)
        .expect("the row is shown")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>17 "), "{row}");
    assert!(
        row.contains("raw"),
        "the page says where the values are: {row}"
    );
    let quiet = client.get("/runs/42").dispatch().into_string().unwrap();
    assert!(quiet.contains("<td>0</td>"));
    let runs: Value = client
        .get("/api/runs?entity=sales&limit=5")
        .dispatch()
        .into_json()
        .unwrap();
    let untyped: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["records_untyped"].as_i64().unwrap())
        .collect();
    assert_eq!(untyped.iter().sum::<i64>(), 17);
}
