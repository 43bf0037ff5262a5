//! Applying a full refresh of an entity paged by id (`/product_categories`): one transaction
//! that writes the records that are new, changed or back, marks every row no longer listed as
//! deleted, and records the refresh's generation as the entity's applied version. A refresh cut
//! short writes nothing, so it never marks a row deleted that a later page would have listed.

use std::collections::HashMap;

use diesel::connection::Connection;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use super::layout_sql::keep_received_deleted_at_sql;
use super::rows::BatchRows;
use super::write::{record_batch, write_rows, ApplyOutcome, BatchBookkeeping, WriteMode};
use crate::entity::layout::{stored_table, TableLayout};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    raw: String,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

/// Each live row of `table` by id, with its `raw` as JSON (deleted rows are left out: a
/// record listed again is written whatever it holds).
pub fn load_live_raw(
    conn: &mut PgConnection,
    table: &str,
) -> Result<HashMap<String, serde_json::Value>, DbError> {
    let rows: Vec<Stored> = sql_query(format!(
        "SELECT id, raw::text AS raw, deleted_at IS NOT NULL AS deleted FROM {table}"
    ))
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| !row.deleted)
        .filter_map(|row| Some((row.id, serde_json::from_str(&row.raw).ok()?)))
        .collect())
}

/// Writes `rows` (the listed records that differ from what is stored), marks the live rows
/// whose id is not in `listed` deleted with the refresh's generation (`bookkeeping.max_version`),
/// and records the refresh, all in one transaction. `before_commit` runs just before it commits.
pub fn apply_refresh(
    conn: &mut PgConnection,
    table: &str,
    rows: BatchRows,
    listed: &[String],
    bookkeeping: &BatchBookkeeping,
    before_commit: impl FnOnce(),
) -> Result<ApplyOutcome, DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        let mut outcome = write_rows(conn, rows, WriteMode::Upsert)?;
        let keep_received = keep_received_deleted_at_sql(TableLayout::of_table(table), "t");
        let absent = sql_query(format!(
            "UPDATE {stored} t SET {keep_received}, deleted_at = now(), version = $1, \
             synced_at = now() WHERE deleted_at IS NULL AND version < $1 AND NOT (id = ANY($2))",
            stored = stored_table(table),
        ))
        .bind::<BigInt, _>(bookkeeping.max_version)
        .bind::<Array<Text>, _>(listed)
        .execute(conn)?;
        outcome.updated += absent as u64;
        outcome.deleted += absent as u64;
        record_batch(conn, bookkeeping, &outcome)?;
        before_commit();
        Ok(outcome)
    })
}
