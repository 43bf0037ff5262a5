//! Contract tests: pages written from the OpenAPI file's own examples (`tests/fixtures/api2.0/
//! <entity>.json`, verbatim) and from its field lists (`<entity>_field_list.json`, every
//! declared field filled, with values shaped like a live store's), decoded by the client and
//! written to PostgreSQL. Every typed column of every row is checked against the field of the
//! same name in the record, and every typed column must be filled by some fixture.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use diesel::sql_types::Text;
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};
use lightsync::db::rows::{declared_tables, TableRows};
use lightsync::db::{apply_batch, BatchBookkeeping};
use lightsync::engine::mapping::rows_for_records;
use lightsync::entity::Entity;
use lightsync::lightspeed::decode::{parse_date, parse_timestamp};
use lightsync::lightspeed::{decode_id_page, decode_page, decode_record, Page};
use serde_json::Value;

use crate::support::TestDatabase;

/// The entities with fixtures in `tests/fixtures/api2.0`: all of them.
const FIXTURE_ENTITIES: [Entity; 21] = Entity::ALL;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/api2.0/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// A consignments fixture with each consignment's lines embedded as lightsync spools them
/// (`products`): the lines of `consignment_products<suffix>.json`, the endpoint's own page.
fn with_consignment_lines(body: Vec<u8>, suffix: &str) -> Vec<u8> {
    let mut page: Value = serde_json::from_slice(&body).unwrap();
    let lines_page: Value =
        serde_json::from_slice(&fixture(&format!("consignment_products{suffix}"))).unwrap();
    let lines = lines_page["data"].clone();
    for record in page["data"].as_array_mut().unwrap() {
        record["products"] = lines.clone();
    }
    serde_json::to_vec(&page).unwrap()
}

/// Decodes both fixtures of `entity` and applies them as one batch each.
fn load(conn: &mut PgConnection, entity: Entity) -> usize {
    let mut records = 0;
    for suffix in ["", "_field_list"] {
        let name = format!("{}{suffix}", entity.name());
        let mut body = fixture(&name);
        if entity == Entity::Consignments {
            body = with_consignment_lines(body, suffix);
        }
        let page = if entity.spec().is_refreshed() {
            // Paged by id: the records are versioned by the refresh that copies them.
            let listed = decode_id_page(None, &body).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(listed.next_after, None, "{name}: one page");
            let generation = records as i64 + 1;
            Page {
                records: listed
                    .records
                    .iter()
                    .map(|text| decode_record(entity, text, Some(generation)).unwrap())
                    .collect(),
                max_version: Some(generation),
            }
        } else {
            decode_page(entity, 0, &body).unwrap_or_else(|err| panic!("{name}: {err}"))
        };
        assert!(
            page.records.iter().all(|record| record.problems.is_empty()),
            "{name}: the documented shapes type without problems: {:?}",
            page.records
                .iter()
                .flat_map(|r| &r.problems)
                .collect::<Vec<_>>()
        );
        records += page.records.len();
        let bookkeeping = BatchBookkeeping {
            run_id: "contract",
            entity,
            after: None,
            max_version: page.max_version.unwrap(),
            records_fetched: page.records.len() as u64,
            records_untyped: 0,
            quarantined: &[],
            requests: 1,
            retries: 0,
            rate_limited: 0,
        };
        apply_batch(
            conn,
            rows_for_records(entity, page.records),
            &bookkeeping,
            || {},
        )
        .unwrap();
    }
    records
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    json: String,
}

/// The declared layout of `table`.
fn layout(table: &str) -> TableRows {
    declared_tables()
        .into_iter()
        .find(|rows| rows.table == table)
        .unwrap_or_else(|| panic!("{table} is not declared"))
}

fn rows_of(layout: &TableRows, conn: &mut PgConnection) -> Vec<serde_json::Map<String, Value>> {
    let rows: Vec<Json> = sql_query(format!(
        "SELECT row_to_json(t)::text AS json FROM {} t",
        layout.table
    ))
    .load(conn)
    .unwrap();
    rows.into_iter()
        .map(|row| match serde_json::from_str(&row.json).unwrap() {
            Value::Object(map) => map,
            other => panic!("not a row: {other}"),
        })
        .collect()
}

fn decimal(value: &Value) -> BigDecimal {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    BigDecimal::from_str(&text).unwrap_or_else(|_| panic!("{value} is not a number"))
}

/// Checks one typed column against the record's field of the same name.
fn check_column(
    table: &str,
    (column, array_type, json): (&str, &str, bool),
    stored: &Value,
    sent: &Value,
) {
    let context = format!("{table}.{column}: stored {stored}, sent {sent}");
    if json {
        assert_eq!(stored, sent, "{context}");
        return;
    }
    let sent_null = sent.is_null() || sent.as_str() == Some("") && array_type != "text[]";
    if sent_null {
        assert!(stored.is_null(), "{context}");
        return;
    }
    assert!(!stored.is_null(), "{context}");
    match array_type {
        "numeric[]" => assert_eq!(decimal(stored), decimal(sent), "{context}"),
        "boolean[]" => assert_eq!(stored, sent, "{context}"),
        "bigint[]" => assert_eq!(decimal(stored), decimal(sent), "{context}"),
        "timestamptz[]" => {
            let stored = parse_timestamp(stored.as_str().unwrap()).unwrap();
            let sent = parse_timestamp(sent.as_str().unwrap()).unwrap();
            assert_eq!(stored, sent, "{context}");
        }
        "date[]" => {
            let stored = parse_date(stored.as_str().unwrap()).unwrap();
            let sent = parse_date(sent.as_str().unwrap()).unwrap();
            assert_eq!(stored, sent, "{context}");
        }
        "text[]" => {
            let sent_text = match sent {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            assert_eq!(stored.as_str(), Some(sent_text.as_str()), "{context}");
        }
        other => panic!("{context}: unexpected column type {other}"),
    }
}

/// Checks every typed column of every row of `table` against its `raw` (for child rows, their
/// own entry of the parent's list); returns how many rows there are and the typed columns
/// some row filled.
fn check_table(table: &str, conn: &mut PgConnection) -> (usize, BTreeSet<&'static str>) {
    let layout = layout(table);
    let rows = rows_of(&layout, conn);
    let columns = layout.column_names();
    let mut filled = BTreeSet::new();
    for row in &rows {
        let raw = row["raw"].as_object().expect("raw is an object");
        for (column, array_type, json) in &columns {
            // The layout's own columns are not shown by the view; `raw` stands for them.
            if ["rest", "absent", "position"].contains(column) {
                continue;
            }
            if !row[*column].is_null() {
                filled.insert(*column);
            }
            if Some(*column) == layout.parent_column {
                continue;
            }
            // A child row's version is its parent's; a record without its own version is
            // stored with its page's (the column is NOT NULL).
            if *column == "version"
                && (layout.parent_column.is_some() || !raw.contains_key("version"))
            {
                continue;
            }
            // A child keyed by position has no `id` field.
            if *column == "id" && !raw.contains_key("id") {
                assert!(layout.parent_column.is_some(), "{table}: a row without id");
                continue;
            }
            let sent = raw.get(*column).cloned().unwrap_or(Value::Null);
            check_column(
                layout.table,
                (column, array_type, *json),
                &row[*column],
                &sent,
            );
        }
    }
    (rows.len(), filled)
}

/// Asserts some fixture filled every typed column of `R` but `never_sent` (fields the API does
/// not declare for the entity).
fn assert_every_column_filled(table: &str, filled: &BTreeSet<&'static str>, never_sent: &[&str]) {
    let missing: Vec<&str> = layout(table)
        .column_names()
        .into_iter()
        .map(|(column, _, _)| column)
        .filter(|column| {
            !filled.contains(column)
                && !["rest", "absent", "position"].contains(column)
                && !never_sent.contains(column)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{}: no fixture fills {missing:?}",
        table
    );
}

#[test]
fn documented_records_land_with_every_typed_column_from_their_fields() {
    let database = TestDatabase::migrated();
    let mut conn = database.connect();
    let mut loaded = BTreeMap::new();
    for entity in FIXTURE_ENTITIES {
        loaded.insert(entity, load(&mut conn, entity));
    }
    for entity in FIXTURE_ENTITIES {
        let spec = entity.spec();
        let (rows, filled) = check_table(spec.table, &mut conn);
        assert_eq!(rows, loaded[&entity], "{entity}: one row per record");
        // Endpoints without the `deleted` parameter do not send deleted records; sales
        // are voided, not deleted.
        let never_sent: &[&str] = if spec.takes_deleted {
            &[]
        } else {
            &["deleted_at"]
        };
        assert_every_column_filled(spec.table, &filled, never_sent);
    }
    let (line_items, filled) = check_table("lightspeed_sale_line_items", &mut conn);
    assert_eq!(
        line_items, 7,
        "2 + 3 lines in the examples, 2 in the field list"
    );
    // LineItem declares no `deleted_at` (the column is kept for stores that send one).
    assert_every_column_filled("lightspeed_sale_line_items", &filled, &["deleted_at"]);
    let (payments, filled) = check_table("lightspeed_sale_payments", &mut conn);
    assert_eq!(payments, 3);
    assert_every_column_filled("lightspeed_sale_payments", &filled, &[]);
    // Consignment lines: the endpoint's example (3 lines) under each of the 3 example
    // consignments, its field list (2 lines) under each of the 3 field-list ones.
    let (lines, filled) = check_table("lightspeed_consignment_products", &mut conn);
    assert_eq!(lines, 3 * 3 + 3 * 2);
    assert_every_column_filled("lightspeed_consignment_products", &filled, &[]);
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Named {
    #[diesel(sql_type = Text)]
    value: String,
}

fn one(conn: &mut PgConnection, sql: &str) -> String {
    sql_query(sql)
        .get_result::<Named>(conn)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .value
}

#[test]
fn the_documented_values_read_back_as_an_analyst_queries_them() {
    let database = TestDatabase::migrated();
    let mut conn = database.connect();
    for entity in FIXTURE_ENTITIES {
        load(&mut conn, entity);
    }
    let conn = &mut conn;
    // The OpenAPI example's outlet address, in the 2.0 spelling.
    assert_eq!(
        one(conn, "SELECT physical_address_1 || '/' || physical_suburb || '/' || physical_country_id AS value FROM lightspeed_outlets WHERE id = 'b8ca3a65-0183-11e4-fbb5-2816d2677218'"),
        "Nuffield Street/Newmarket/NZ"
    );
    assert_eq!(
        one(conn, "SELECT postal_address_1 || '/' || physical_address_2 || '/' || balance::text AS value FROM lightspeed_customers WHERE customer_code = 'Tony-N4ZJ'"),
        "Street 1/Street 2/-25840.85"
    );
    assert_eq!(
        one(conn, "SELECT id AS value FROM lightspeed_customers WHERE customer_code = 'WALKIN' AND first_name IS NULL"),
        "06bf537b-c783-11e6-ff13-f2128629a1b2"
    );
    // Revenue: total_price is tax-exclusive and rounded, total_price_incl is what was paid.
    assert_eq!(
        one(conn, "SELECT total_price::text || '/' || total_price_incl::text || '/' || state || '/' || source || '/' || short_code AS value FROM lightspeed_sales WHERE status = 'VOIDED'"),
        "20.66/25.0/voided/USER/kq3zpd"
    );
    assert_eq!(
        one(conn, "SELECT sum(l.total_price)::text AS value FROM lightspeed_sale_line_items l JOIN lightspeed_sales s ON s.id = l.sale_id WHERE s.status = 'VOIDED'"),
        "18.5950442975"
    );
    // The Discount product appears as a line and is a SYSTEM product without inventory.
    assert_eq!(
        one(conn, "SELECT p.handle || '/' || p.source || '/' || p.has_inventory::text || '/' || l.unit_price::text AS value FROM lightspeed_sale_line_items l JOIN lightspeed_products p ON p.id = l.product_id WHERE p.source = 'SYSTEM'"),
        "vend-discount/SYSTEM/false/-2.0661157025"
    );
    // A sale rung up without choosing a customer carries the WALKIN customer.
    assert_eq!(
        one(conn, "SELECT c.customer_code AS value FROM lightspeed_sales s JOIN lightspeed_customers c ON c.id = s.customer_id WHERE s.status = 'VOIDED'"),
        "WALKIN"
    );
    // A voided sale's payment is deleted.
    assert_eq!(
        one(conn, "SELECT count(*)::text AS value FROM lightspeed_sale_payments WHERE deleted_at IS NOT NULL AND register_id IS NOT NULL"),
        "1"
    );
    assert_eq!(
        one(
            conn,
            "SELECT sum(inventory_level)::text AS value FROM lightspeed_inventory"
        ),
        "2.5"
    );
}
