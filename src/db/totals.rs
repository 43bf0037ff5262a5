//! Per-entity totals over `sync_log` for `/metrics`: records, requests and 429s of every run,
//! and records that could not be fully typed.

use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;

/// One entity's totals over all its runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct RunTotals {
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = BigInt)]
    pub records: i64,
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    #[diesel(sql_type = BigInt)]
    pub rate_limited: i64,
    #[diesel(sql_type = BigInt)]
    pub untyped: i64,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    present: bool,
}

/// Totals per entity that has runs, from the import and incremental runs in `sync_log`.
pub fn load_run_totals(conn: &mut PgConnection) -> Result<Vec<RunTotals>, DbError> {
    // The one place that reads `sync_log.records_untyped`, a column a later migration adds: on
    // a database without it every entity reports 0 untyped records.
    let untyped = if column_exists(conn, "sync_log", "records_untyped")? {
        "SUM(records_untyped)"
    } else {
        "0"
    };
    Ok(sql_query(format!(
        "SELECT entity, COALESCE(SUM(records_fetched), 0)::BIGINT AS records, \
         COALESCE(SUM(requests), 0)::BIGINT AS requests, \
         COALESCE(SUM(rate_limited), 0)::BIGINT AS rate_limited, \
         COALESCE({untyped}, 0)::BIGINT AS untyped \
         FROM sync_log WHERE mode NOT IN ('operator', 'reconcile') GROUP BY entity"
    ))
    .load(conn)?)
}

fn column_exists(conn: &mut PgConnection, table: &str, column: &str) -> Result<bool, DbError> {
    let row: Exists = sql_query(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2) AS present",
    )
    .bind::<Text, _>(table)
    .bind::<Text, _>(column)
    .get_result(conn)?;
    Ok(row.present)
}
