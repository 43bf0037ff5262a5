//! The report views against figures computed by hand: a small store built row by row (two
//! outlets on either side of UTC with sales minutes before and after local midnight, a voided
//! sale, an open layby, a return, a Discount line, a WALKIN sale, a deleted payment, a sale
//! closed in a later sync, a product without cost), and against a recomputation from the base
//! tables on the simulator's store after an import and after thousands of changes.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::support::{lightsync, TestDatabase, TestSimulator};

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

/// The rows of `sql` (a query of one view), each as JSON, timestamps in UTC.
fn rows(conn: &mut PgConnection, sql: &str) -> Vec<Value> {
    sql_query("SET TIME ZONE 'UTC'").execute(conn).unwrap();
    sql_query(format!("SELECT row_to_json(q)::text AS row FROM ({sql}) q"))
        .load::<JsonRow>(conn)
        .unwrap()
        .into_iter()
        .map(|row| serde_json::from_str(&row.row).unwrap())
        .collect()
}

/// Two JSON values are the same figure: numbers (or numeric text) compare as exact decimals,
/// whatever their scale; everything else exactly.
fn same(actual: &Value, expected: &Value) -> bool {
    let decimal = |value: &Value| match value {
        Value::Number(n) => BigDecimal::from_str(&n.to_string()).ok(),
        Value::String(s) => BigDecimal::from_str(s).ok(),
        _ => None,
    };
    match (actual, expected) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            decimal(actual).is_some() && decimal(actual) == decimal(expected)
        }
        _ => actual == expected,
    }
}

/// `sql`'s rows equal `expected`, row by row and in every column `expected` names (and no
/// column more).
fn assert_rows(conn: &mut PgConnection, sql: &str, expected: Vec<Value>) {
    let actual = rows(conn, sql);
    assert_eq!(
        actual.len(),
        expected.len(),
        "{sql}\nactual: {actual:#?}\nexpected: {expected:#?}"
    );
    for (actual_row, expected_row) in actual.iter().zip(&expected) {
        let (actual_map, expected_map) = (
            actual_row.as_object().unwrap(),
            expected_row.as_object().unwrap(),
        );
        assert_eq!(
            actual_map.keys().collect::<Vec<_>>().len(),
            expected_map.len(),
            "columns of {sql}: {actual_row} vs {expected_row}"
        );
        for (column, value) in expected_map {
            let got = &actual_row[column];
            assert!(
                same(got, value),
                "{sql}\ncolumn {column}: {got} where {value} was computed by hand\nrow: {actual_row}"
            );
        }
    }
}

/// The hand-built store. Auckland is UTC+13 in December, New York UTC-5: 10:55 UTC on 1
/// December is 23:55 in Auckland, 11:05 UTC is five past midnight there on the 2nd; 04:55 and
/// 05:05 UTC on the 2nd are either side of midnight in New York.
const STORE: &str = r#"
INSERT INTO lightspeed_outlets_rows (id, name, time_zone, version, rest, synced_at) VALUES
    ('A', 'Auckland', 'Pacific/Auckland', 1, '{}', now()),
    ('B', 'New York', 'America/New_York', 1, '{}', now());
INSERT INTO lightspeed_products_rows (id, name, sku, handle, source, deleted_at, version, rest, synced_at) VALUES
    ('P1', 'Mug', 'MUG-1', 'mug', 'USER', NULL, 1, '{}', now()),
    ('P2', 'Tea', 'TEA-1', 'tea', 'USER', NULL, 1, '{}', now()),
    ('D', 'Discount', '', 'vend-discount', 'SYSTEM', NULL, 1, '{}', now()),
    ('P3', 'Gone', 'OLD-1', 'gone', 'USER', '2026-11-01T00:00:00Z', 1, '{}', now());
INSERT INTO lightspeed_customers_rows (id, customer_code, first_name, last_name, email, deleted_at, version, rest, synced_at) VALUES
    ('W', 'WALKIN', NULL, NULL, NULL, NULL, 1, '{}', now()),
    ('C1', 'C-1', 'Ann', 'Lee', 'ann@example.com', NULL, 1, '{}', now()),
    ('C2', 'C-2', 'Bob', NULL, NULL, NULL, 1, '{}', now()),
    ('C3', 'C-3', 'Cy', 'Nosales', 'cy@example.com', NULL, 1, '{}', now()),
    ('C4', 'C-4', 'Del', 'Eted', NULL, '2026-11-01T00:00:00Z', 1, '{}', now());
INSERT INTO lightspeed_payment_types_rows (id, name, version, rest, synced_at) VALUES
    ('PT1', 'Cash', 1, '{}', now()),
    ('PT2', 'Card', 1, '{}', now());
INSERT INTO lightspeed_inventory_rows (id, product_id, outlet_id, inventory_level, reorder_point, average_cost, deleted_at, version, rest, synced_at) VALUES
    ('I1', 'P1', 'A', 5, 10, 5.00, NULL, 1, '{}', now()),
    ('I2', 'P2', 'A', 20, 5, NULL, NULL, 1, '{}', now()),
    ('I3', 'P1', 'B', 10, NULL, 4.00, NULL, 1, '{}', now()),
    ('I4', 'P2', 'B', 7, 1, 2.00, '2026-11-01T00:00:00Z', 1, '{}', now()),
    ('I5', 'P3', 'A', 3, 1, 1.00, NULL, 1, '{}', now());
INSERT INTO lightspeed_sales_rows (id, outlet_id, customer_id, status, return_for, sale_date, version, rest, synced_at) VALUES
    ('S1', 'A', 'C1', 'CLOSED', NULL, '2026-12-01T10:55:00Z', 1, '{}', now()),
    ('S2', 'A', 'W', 'CLOSED', NULL, '2026-12-01T11:05:00Z', 1, '{}', now()),
    ('S3', 'B', 'C2', 'CLOSED', NULL, '2026-12-02T04:55:00Z', 1, '{}', now()),
    ('S4', 'B', 'C2', 'CLOSED', 'S3', '2026-12-02T05:05:00Z', 1, '{}', now()),
    ('S5', 'A', 'C1', 'VOIDED', NULL, '2026-12-02T01:00:00Z', 1, '{}', now()),
    ('S6', 'A', 'C1', 'LAYBY', NULL, '2026-12-02T02:00:00Z', 1, '{}', now()),
    ('S7', 'B', NULL, 'SAVED', NULL, '2026-12-02T15:00:00Z', 1, '{}', now());
INSERT INTO lightspeed_sale_line_items_rows (id, sale_id, product_id, quantity, total_price, total_tax, cost_total, is_return, version, rest, synced_at) VALUES
    ('L1', 'S1', 'P1', 2, 20.00, 3.00, 10.00, false, 1, '{}', now()),
    ('L2', 'S2', 'P1', 1, 10.00, 1.50, 5.00, false, 1, '{}', now()),
    ('L3', 'S2', 'P2', 1, 5.00, 0.75, NULL, false, 1, '{}', now()),
    ('L4', 'S2', 'D', 1, -1.50, -0.225, NULL, false, 1, '{}', now()),
    ('L5', 'S3', 'P2', 3, 30.00, 4.50, NULL, false, 1, '{}', now()),
    ('L6', 'S4', 'P2', -1, -10.00, -1.50, NULL, true, 1, '{}', now()),
    ('L7', 'S5', 'P1', 1, 10.00, 1.50, 5.00, false, 1, '{}', now()),
    ('L8', 'S6', 'P1', 1, 10.00, 1.50, 5.00, false, 1, '{}', now()),
    ('L9', 'S7', 'P1', 1, 10.00, 1.50, 5.00, false, 1, '{}', now());
INSERT INTO lightspeed_sale_payments_rows (id, sale_id, outlet_id, retailer_payment_type_id, name, amount, payment_date, deleted_at, version, rest, synced_at) VALUES
    ('Y1', 'S1', 'A', 'PT1', 'Cash', 23.00, '2026-12-01T10:55:00Z', NULL, 1, '{}', now()),
    ('Y2', 'S2', 'A', 'PT2', 'Card', 15.53, '2026-12-01T11:05:00Z', NULL, 1, '{}', now()),
    ('Y3', 'S3', 'B', 'PT1', 'Cash', 34.50, '2026-12-02T04:55:00Z', NULL, 1, '{}', now()),
    ('Y4', 'S4', 'B', 'PT1', 'Cash', -11.50, '2026-12-02T05:05:00Z', NULL, 1, '{}', now()),
    ('Y5', 'S5', 'A', 'PT1', 'Cash', 11.50, '2026-12-02T01:00:00Z', '2026-12-02T01:10:00Z', 1, '{}', now()),
    ('Y6', 'S6', 'A', 'PT2', 'Card', 5.00, '2026-12-02T02:00:00Z', NULL, 1, '{}', now()),
    ('Y7', 'S7', 'B', 'PT2', 'Card', 11.50, '2026-12-02T15:00:00Z', NULL, 1, '{}', now()),
    ('Y8', 'S7', 'B', 'PT1', 'Cash', 11.50, '2026-12-02T15:00:00Z', '2026-12-02T15:01:00Z', 1, '{}', now());
"#;

fn report_sale(
    sale: &str,
    outlet: &str,
    customer: Option<&str>,
    local_date: &str,
    status: &str,
    figures: (bool, bool, &str, i64, &str, &str, &str, &str),
) -> Value {
    let (is_completed, is_return, units, lines, excl, tax, incl, discount) = figures;
    json!({
        "sale_id": sale, "outlet_id": outlet, "customer_id": customer, "local_date": local_date,
        "status": status, "is_completed": is_completed, "is_return": is_return, "units": units,
        "lines": lines, "revenue_excl_tax": excl, "tax": tax, "revenue_incl_tax": incl,
        "discount": discount,
    })
}

fn daily(outlet: &str, name: &str, date: &str, figures: [&str; 8]) -> Value {
    let [sales, returns, units, excl, tax, incl, discount, average] = figures;
    json!({
        "outlet_id": outlet, "outlet_name": name, "local_date": date, "sales": sales,
        "returns": returns, "units": units, "revenue_excl_tax": excl, "tax": tax,
        "revenue_incl_tax": incl, "discount": discount, "average_sale_incl_tax": average,
    })
}

/// The daily rows of the hand-built store; only New York's second day changes when S7 closes.
fn daily_rows(new_york_second_day: [&str; 8]) -> Vec<Value> {
    vec![
        daily(
            "A",
            "Auckland",
            "2026-12-01",
            ["1", "0", "2", "20", "3", "23", "0", "23.00"],
        ),
        daily(
            "A",
            "Auckland",
            "2026-12-02",
            ["1", "0", "2", "13.5", "2.025", "15.525", "1.5", "15.53"],
        ),
        daily(
            "B",
            "New York",
            "2026-12-01",
            ["1", "0", "3", "30", "4.5", "34.5", "0", "34.50"],
        ),
        daily("B", "New York", "2026-12-02", new_york_second_day),
    ]
}

const SALES_SQL: &str =
    "SELECT sale_id, outlet_id, customer_id, local_date, status, is_completed, \
     is_return, units, lines, revenue_excl_tax, tax, revenue_incl_tax, discount \
     FROM lightspeed_report_sales ORDER BY sale_id";
const DAILY_SQL: &str =
    "SELECT * FROM lightspeed_report_daily_sales ORDER BY outlet_id, local_date";

#[test]
fn every_view_equals_the_figures_computed_by_hand() {
    let database = TestDatabase::migrated();
    let mut conn = database.connect();
    conn.batch_execute(STORE).unwrap();

    let s7_saved = report_sale(
        "S7",
        "B",
        None,
        "2026-12-02",
        "SAVED",
        (false, false, "1", 1, "10", "1.5", "11.5", "0"),
    );
    let sales = |s7: Value| {
        vec![
            report_sale(
                "S1",
                "A",
                Some("C1"),
                "2026-12-01",
                "CLOSED",
                (true, false, "2", 1, "20", "3", "23", "0"),
            ),
            // WALKIN reads as no customer; the Discount line counts in revenue and discount.
            report_sale(
                "S2",
                "A",
                None,
                "2026-12-02",
                "CLOSED",
                (true, false, "2", 3, "13.5", "2.025", "15.525", "1.5"),
            ),
            report_sale(
                "S3",
                "B",
                Some("C2"),
                "2026-12-01",
                "CLOSED",
                (true, false, "3", 1, "30", "4.5", "34.5", "0"),
            ),
            report_sale(
                "S4",
                "B",
                Some("C2"),
                "2026-12-02",
                "CLOSED",
                (true, true, "-1", 1, "-10", "-1.5", "-11.5", "0"),
            ),
            // S5 is voided: nowhere.
            report_sale(
                "S6",
                "A",
                Some("C1"),
                "2026-12-02",
                "LAYBY",
                (false, false, "1", 1, "10", "1.5", "11.5", "0"),
            ),
            s7,
        ]
    };
    assert_rows(&mut conn, SALES_SQL, sales(s7_saved));
    // New York's second day holds only the return while S7 is saved.
    assert_rows(
        &mut conn,
        DAILY_SQL,
        daily_rows(["1", "1", "-1", "-10", "-1.5", "-11.5", "0", "-11.50"]),
    );

    // A later sync brings S7 closed (a newer version of the same sale).
    conn.batch_execute(
        "UPDATE lightspeed_sales_rows SET status = 'CLOSED', version = 2 WHERE id = 'S7'",
    )
    .unwrap();
    let s7_closed = report_sale(
        "S7",
        "B",
        None,
        "2026-12-02",
        "CLOSED",
        (true, false, "1", 1, "10", "1.5", "11.5", "0"),
    );
    assert_rows(&mut conn, SALES_SQL, sales(s7_closed));
    // Closed, S7 joins the return on New York's second day: net nothing, two sales.
    assert_rows(
        &mut conn,
        DAILY_SQL,
        daily_rows(["2", "1", "0", "0", "0", "0", "0", "0.00"]),
    );

    let product =
        |p: &str, o: &str, d: &str, units: &str, excl: &str, incl: &str, cost: Option<&str>| {
            json!({"product_id": p, "outlet_id": o, "local_date": d, "units": units,
               "revenue_excl_tax": excl, "revenue_incl_tax": incl, "cost": cost})
        };
    assert_rows(
        &mut conn,
        "SELECT * FROM lightspeed_report_product_sales ORDER BY product_id, outlet_id, local_date",
        vec![
            product("D", "A", "2026-12-02", "1", "-1.5", "-1.725", None),
            product("P1", "A", "2026-12-01", "2", "20", "23", Some("10")),
            product("P1", "A", "2026-12-02", "1", "10", "11.5", Some("5")),
            product("P1", "B", "2026-12-02", "1", "10", "11.5", Some("5")),
            // Tea: the store sends no cost for its lines.
            product("P2", "A", "2026-12-02", "1", "5", "5.75", None),
            product("P2", "B", "2026-12-01", "3", "30", "34.5", None),
            product("P2", "B", "2026-12-02", "-1", "-10", "-11.5", None),
        ],
    );

    assert_rows(
        &mut conn,
        "SELECT * FROM lightspeed_report_inventory ORDER BY product_id, outlet_id",
        vec![
            json!({"product_id": "P1", "outlet_id": "A", "sku": "MUG-1", "name": "Mug", "on_hand": "5",
                   "reorder_point": "10", "below_reorder": true, "average_cost": "5", "stock_value": "25"}),
            json!({"product_id": "P1", "outlet_id": "B", "sku": "MUG-1", "name": "Mug", "on_hand": "10",
                   "reorder_point": null, "below_reorder": false, "average_cost": "4", "stock_value": "40"}),
            json!({"product_id": "P2", "outlet_id": "A", "sku": "TEA-1", "name": "Tea", "on_hand": "20",
                   "reorder_point": "5", "below_reorder": false, "average_cost": null, "stock_value": null}),
        ],
    );

    assert_rows(
        &mut conn,
        "SELECT * FROM lightspeed_report_customers ORDER BY customer_id",
        vec![
            // The open layby and the voided sale are not completed sales.
            json!({"customer_id": "C1", "name": "Ann Lee", "email": "ann@example.com",
                   "first_sale_at": "2026-12-01T10:55:00+00:00", "last_sale_at": "2026-12-01T10:55:00+00:00",
                   "sales": "1", "revenue_incl_tax": "23"}),
            json!({"customer_id": "C2", "name": "Bob", "email": null,
                   "first_sale_at": "2026-12-02T04:55:00+00:00", "last_sale_at": "2026-12-02T05:05:00+00:00",
                   "sales": "2", "revenue_incl_tax": "23"}),
            json!({"customer_id": "C3", "name": "Cy Nosales", "email": "cy@example.com",
                   "first_sale_at": null, "last_sale_at": null, "sales": "0", "revenue_incl_tax": "0"}),
        ],
    );

    let paid = |o: &str, d: &str, t: &str, name: &str, n: &str, amount: &str| {
        json!({"outlet_id": o, "local_date": d, "payment_type_id": t, "payment_type_name": name,
               "payments": n, "amount": amount})
    };
    assert_rows(
        &mut conn,
        "SELECT * FROM lightspeed_report_payments_daily ORDER BY outlet_id, local_date, payment_type_id",
        vec![
            paid("A", "2026-12-01", "PT1", "Cash", "1", "23"),
            // The layby's deposit is money taken that day; the voided sale's payment is deleted.
            paid("A", "2026-12-02", "PT2", "Card", "2", "20.53"),
            paid("B", "2026-12-01", "PT1", "Cash", "1", "34.5"),
            paid("B", "2026-12-02", "PT1", "Cash", "1", "-11.5"),
            paid("B", "2026-12-02", "PT2", "Card", "1", "11.5"),
        ],
    );
}

/// An outlet that lands after its sales (entities are copied concurrently) dates them then; an
/// outlet whose time zone changes dates its sales again; an unknown zone reads as UTC.
#[test]
fn local_dates_follow_the_outlet_whenever_it_arrives_or_changes() {
    let database = TestDatabase::migrated();
    let mut conn = database.connect();
    conn.batch_execute(
        "INSERT INTO lightspeed_sales_rows (id, outlet_id, status, sale_date, version, rest, synced_at) VALUES \
         ('S1', 'A', 'CLOSED', '2026-12-01T10:55:00Z', 1, '{}', now())",
    )
    .unwrap();
    let local_date = |conn: &mut PgConnection| {
        rows(
            conn,
            "SELECT local_date FROM lightspeed_sales WHERE id = 'S1'",
        )[0]["local_date"]
            .clone()
    };
    assert_eq!(local_date(&mut conn), Value::Null, "no outlet yet");
    conn.batch_execute(
        "INSERT INTO lightspeed_outlets_rows (id, name, time_zone, version, rest, synced_at) VALUES \
         ('A', 'Auckland', 'Pacific/Auckland', 1, '{}', now())",
    )
    .unwrap();
    assert_eq!(local_date(&mut conn), json!("2026-12-01"));
    conn.batch_execute(
        "UPDATE lightspeed_outlets_rows SET time_zone = 'Asia/Tokyo' WHERE id = 'A'",
    )
    .unwrap();
    assert_eq!(local_date(&mut conn), json!("2026-12-01"), "19:55 in Tokyo");
    conn.batch_execute(
        "UPDATE lightspeed_outlets_rows SET time_zone = 'Pacific/Kiritimati' WHERE id = 'A'",
    )
    .unwrap();
    assert_eq!(
        local_date(&mut conn),
        json!("2026-12-02"),
        "00:55 at UTC+14"
    );
    conn.batch_execute(
        "UPDATE lightspeed_outlets_rows SET time_zone = 'Mars/Olympus_Mons' WHERE id = 'A'",
    )
    .unwrap();
    assert_eq!(
        local_date(&mut conn),
        json!("2026-12-01"),
        "an unknown zone reads as UTC"
    );
    assert_eq!(
        rows(
            &mut conn,
            "SELECT count(*) AS n FROM lightspeed_report_daily_sales"
        )[0]["n"],
        json!(1),
        "and every report still answers"
    );
}

/// What the views say, recomputed from the base tables a different way (per sale in Rust from
/// its lines), on the simulator's store after an import and after thousands of changes.
fn assert_views_match_a_recomputation(database: &TestDatabase) {
    let mut conn = database.connect();
    // Per completed sale, recomputed: revenue from its lines, in its outlet's local day.
    let recomputed = rows(
        &mut conn,
        "SELECT s.outlet_id, (s.sale_date AT TIME ZONE o.time_zone)::date AS local_date, \
                count(DISTINCT s.id) AS sales, \
                COALESCE(sum(li.total_price), 0) AS revenue_excl_tax, \
                COALESCE(sum(li.total_tax), 0) AS tax \
         FROM lightspeed_sales s \
         JOIN lightspeed_outlets o ON o.id = s.outlet_id \
         LEFT JOIN lightspeed_sale_line_items li ON li.sale_id = s.id AND li.deleted_at IS NULL \
         WHERE s.status IN ('CLOSED','ONACCOUNT_CLOSED','LAYBY_CLOSED','DISPATCHED_CLOSED', \
                            'PICKED_UP_CLOSED','SERVICE_CLOSED') AND s.deleted_at IS NULL \
         GROUP BY 1, 2 ORDER BY 1, 2",
    );
    let reported = rows(
        &mut conn,
        "SELECT outlet_id, local_date, sales, revenue_excl_tax, tax \
         FROM lightspeed_report_daily_sales WHERE sales > 0 ORDER BY 1, 2",
    );
    assert!(!recomputed.is_empty());
    assert_eq!(reported.len(), recomputed.len(), "days with sales");
    for (reported, recomputed) in reported.iter().zip(&recomputed) {
        for column in [
            "outlet_id",
            "local_date",
            "sales",
            "revenue_excl_tax",
            "tax",
        ] {
            assert!(
                same(&reported[column], &recomputed[column]),
                "{column}: {reported} vs {recomputed}"
            );
        }
    }
    let totals = |sql: &str, conn: &mut PgConnection| rows(conn, sql)[0].clone();
    let by_product = totals(
        "SELECT sum(units) AS units, sum(revenue_incl_tax) AS incl FROM lightspeed_report_product_sales",
        &mut conn,
    );
    let by_day = totals(
        "SELECT sum(units) AS units, sum(revenue_incl_tax) AS incl, sum(discount) AS discount \
         FROM lightspeed_report_daily_sales",
        &mut conn,
    );
    let discount_lines = totals(
        "SELECT COALESCE(sum(li.quantity), 0) AS units, -COALESCE(sum(li.total_price), 0) AS given \
         FROM lightspeed_sale_line_items li JOIN lightspeed_sales s ON s.id = li.sale_id \
         JOIN lightspeed_products p ON p.id = li.product_id \
         WHERE p.handle = 'vend-discount' AND s.deleted_at IS NULL AND s.status IN \
         ('CLOSED','ONACCOUNT_CLOSED','LAYBY_CLOSED','DISPATCHED_CLOSED','PICKED_UP_CLOSED','SERVICE_CLOSED')",
        &mut conn,
    );
    assert!(
        same(&by_product["incl"], &by_day["incl"]),
        "{by_product} vs {by_day}"
    );
    // Product rows count the Discount product's lines as units; the daily rows do not.
    let units_product = BigDecimal::from_str(&by_product["units"].to_string()).unwrap();
    let units_day = BigDecimal::from_str(&by_day["units"].to_string()).unwrap();
    let discount_units = BigDecimal::from_str(&discount_lines["units"].to_string()).unwrap();
    assert_eq!(units_product, units_day + discount_units);
    assert!(
        same(&by_day["discount"], &discount_lines["given"]),
        "{by_day} vs {discount_lines}"
    );
    let payments = totals(
        "SELECT sum(amount) AS amount FROM lightspeed_report_payments_daily",
        &mut conn,
    );
    let live_payments = totals(
        "SELECT sum(p.amount) AS amount FROM lightspeed_sale_payments p \
         JOIN lightspeed_sales s ON s.id = p.sale_id \
         WHERE p.deleted_at IS NULL AND s.status IS DISTINCT FROM 'VOIDED'",
        &mut conn,
    );
    assert!(
        same(&payments["amount"], &live_payments["amount"]),
        "{payments} vs {live_payments}"
    );
    let walkin = totals(
        "SELECT count(*) AS n FROM lightspeed_report_customers r \
         JOIN lightspeed_customers c ON c.id = r.customer_id WHERE c.customer_code = 'WALKIN'",
        &mut conn,
    );
    assert_eq!(walkin["n"], json!(0));
}

#[test]
fn on_the_simulators_store_the_views_equal_a_recomputation_after_import_and_changes() {
    let sim = TestSimulator::with_store(3, 60, 60, 2_000);
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success();
    assert_views_match_a_recomputation(&database);
    let changes = sim.handle.mutate(10_000);
    eprintln!("simulator changes: {changes:?}");
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    assert_views_match_a_recomputation(&database);
}
