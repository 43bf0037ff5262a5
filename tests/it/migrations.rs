//! Migrations against a real PostgreSQL: up, down, up; the `migrate` command; the row types'
//! columns against the real tables; databases of parallel tests kept apart.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::db::rows::{declared_tables, TableRows};
use lightsync::db::{revert_all_migrations, run_pending_migrations};
use predicates::prelude::*;

use crate::support::TestDatabase;

/// The bookkeeping tables beside the declared entity tables.
const BOOKKEEPING_TABLES: [&str; 6] = [
    "sync_state",
    "lightspeed_quarantine",
    "sync_log",
    "alert_log",
    "lightsync_dashboard_logouts",
    "lightsync_report_sale_totals",
];

/// Columns the database keeps for the report views beside a declared table's own: derived by
/// triggers or generated from a declared column, never written by the engine.
const REPORT_COLUMNS: [(&str, &str); 3] = [
    ("lightspeed_products", "product_category_id"),
    ("lightspeed_outlets", "report_time_zone"),
    ("lightspeed_sales", "local_date"),
];

/// Every table the migrations create: the declared ones and the bookkeeping.
fn all_tables() -> BTreeSet<String> {
    declared_tables()
        .iter()
        .map(|rows| lightsync::entity::layout::stored_table(rows.table))
        .chain(BOOKKEEPING_TABLES.iter().map(|t| t.to_string()))
        .collect()
}

/// How many migrations `migrations/` holds (one directory each).
fn migration_count() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("the migrations directory")
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count()
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn tables(database: &TestDatabase) -> BTreeSet<String> {
    let rows: Vec<Name> = sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut database.connect())
    .unwrap();
    rows.into_iter().map(|row| row.name).collect()
}

fn column_description(database: &TestDatabase, table: &str, column: &str) -> String {
    let rows: Vec<Name> = sql_query(format!(
        "SELECT data_type || ' ' || is_nullable AS name FROM information_schema.columns \
         WHERE table_name IN ('{table}', '{table}_rows') AND column_name = '{column}' \
         ORDER BY table_name DESC"
    ))
    .load(&mut database.connect())
    .unwrap();
    rows.into_iter()
        .next()
        .map(|row| row.name)
        .unwrap_or_default()
}

#[test]
fn migrations_go_up_down_and_up_again_on_a_fresh_database() {
    let database = TestDatabase::empty();
    let mut conn = database.connect();
    assert_eq!(
        run_pending_migrations(&mut conn).unwrap().len(),
        migration_count()
    );
    let expected = all_tables();
    assert_eq!(tables(&database), expected);
    assert_eq!(
        revert_all_migrations(&mut conn).unwrap().len(),
        migration_count()
    );
    assert!(
        tables(&database).is_empty(),
        "down.sql leaves nothing behind"
    );
    assert_eq!(
        run_pending_migrations(&mut conn).unwrap().len(),
        migration_count()
    );
    assert_eq!(tables(&database), expected);
    assert!(run_pending_migrations(&mut conn).unwrap().is_empty());
}

#[test]
fn tables_have_the_documented_column_types() {
    let database = TestDatabase::migrated();
    assert_eq!(
        column_description(&database, "lightspeed_sales", "version"),
        "bigint NO"
    );
    // The view's `raw`: the record as received, rebuilt from the row.
    assert_eq!(
        column_description(&database, "lightspeed_sales", "raw"),
        "jsonb YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_sales", "rest"),
        "jsonb YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_sales", "deleted_at"),
        "timestamp with time zone YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_sales", "total_price"),
        "numeric YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_customers", "date_of_birth"),
        "date YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_products", "active"),
        "boolean YES"
    );
    assert_eq!(
        column_description(&database, "lightspeed_sale_line_items", "sale_id"),
        "text NO"
    );
    assert_eq!(
        column_description(&database, "lightspeed_customers", "synced_at"),
        "timestamp with time zone NO"
    );
}

/// Every indexed text column of the synced tables but the two that hold people's text (a
/// customer code, a product's source) is an opaque id compared byte by byte, so B-tree work on
/// keys never goes through the database's collation. A new table's key columns must say
/// `COLLATE "C"` too.
#[test]
fn indexed_id_columns_compare_bytewise() {
    let database = TestDatabase::migrated();
    let linguistic: Vec<Name> = sql_query(
        "SELECT DISTINCT c.relname || '.' || a.attname AS name FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
         WHERE c.relname LIKE 'lightspeed_%' AND a.atttypid = 'text'::regtype \
         AND a.attname NOT IN ('customer_code', 'source') \
         AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C') \
         ORDER BY 1",
    )
    .load(&mut database.connect())
    .expect("the catalog query");
    let names: Vec<&str> = linguistic.iter().map(|n| n.name.as_str()).collect();
    assert!(
        names.is_empty(),
        "keys under a linguistic collation: {names:?}"
    );
    let keys: Vec<Name> = sql_query(
        "SELECT a.attname::text AS name FROM pg_attribute a \
         WHERE a.attrelid = 'lightspeed_sale_line_items'::regclass \
         AND a.attcollation = (SELECT oid FROM pg_collation WHERE collname = 'C') ORDER BY 1",
    )
    .load(&mut database.connect())
    .expect("the catalog query");
    let keys: Vec<&str> = keys.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(keys, vec!["id", "product_id", "sale_id"]);
}

fn assert_row_columns(layout: &TableRows, database: &TestDatabase) {
    let rows: Vec<Name> = sql_query(format!(
        "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = '{}_rows' AND column_name <> 'synced_at'",
        layout.table
    ))
    .load(&mut database.connect())
    .unwrap();
    let actual: BTreeSet<String> = rows
        .into_iter()
        .map(|row| row.name)
        .filter(|column| !REPORT_COLUMNS.contains(&(layout.table, column.as_str())))
        .collect();
    let declared: BTreeSet<String> = layout
        .column_names()
        .into_iter()
        .map(|(c, _, _)| c.to_string())
        .collect();
    assert_eq!(
        declared, actual,
        "{}: declaration and table disagree",
        layout.table
    );
}

#[test]
fn declarations_name_every_column_of_their_table() {
    let database = TestDatabase::migrated();
    let tables = declared_tables();
    assert!(
        tables.len() >= 7,
        "every entity table and the sales' children"
    );
    for layout in &tables {
        assert_row_columns(layout, &database);
    }
}

#[test]
fn parallel_tests_get_separate_databases() {
    let handles: Vec<_> = (0..2)
        .map(|n| {
            std::thread::spawn(move || {
                let database = TestDatabase::migrated();
                sql_query(format!(
                    "UPDATE sync_state SET last_version = {} WHERE entity = 'sales'",
                    1000 + n
                ))
                .execute(&mut database.connect())
                .unwrap();
                std::thread::sleep(Duration::from_millis(50));
                let version = lightsync::db::load_last_version(
                    &mut database.connect(),
                    lightsync::entity::Entity::Sales,
                )
                .unwrap();
                (database.name().to_string(), version, n)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_ne!(results[0].0, results[1].0);
    for (_, version, n) in results {
        assert_eq!(version, 1000 + n);
    }
}

#[test]
fn migrate_command_applies_once_then_says_it_is_up_to_date() {
    let database = TestDatabase::empty();
    let run = || {
        let mut command = assert_cmd::Command::from_std(crate::support::bare_lightsync());
        command
            .env("DATABASE_URL", database.url.expose())
            .arg("migrate")
            .assert()
    };
    run().success().stdout(predicate::str::contains(format!(
        "applied {} migration(s)",
        migration_count()
    )));
    run()
        .success()
        .stdout(predicate::str::contains("up to date"));
    assert_eq!(tables(&database).len(), all_tables().len());
}

#[test]
fn migrate_against_an_unreachable_server_names_it_and_hides_the_password() {
    let started = Instant::now();
    let output = assert_cmd::Command::from_std(crate::support::bare_lightsync())
        .env("DATABASE_URL", "postgres://u:secret@127.0.0.1:1/x")
        .arg("migrate")
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(started.elapsed() < Duration::from_secs(15));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}
