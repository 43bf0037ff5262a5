//! Reading `sync_state` and `sync_log`: each entity's applied version and health, and the runs
//! for the dashboard, `status` and alerts (`run_log.rs` writes them).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, PgConnection};

use super::error::DbError;
use super::run_status::RunStatus;
use super::schema::{sync_log, sync_state};
use crate::entity::Entity;

/// One row of `sync_state`.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sync_state)]
pub struct SyncStateRow {
    pub entity: String,
    pub status: RunStatus,
    pub last_version: i64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub run_id: Option<String>,
    pub run_mode: Option<String>,
    pub run_started_at: Option<DateTime<Utc>>,
    pub run_pages: i64,
    pub run_records: i64,
    pub rows_in_table: i64,
    pub updated_at: DateTime<Utc>,
    /// The start of the entity's last successful run: the mirror holds everything the store
    /// had then.
    pub caught_up_at: Option<DateTime<Utc>>,
    /// The store's `updated_at` of the newest record written (entities that send one).
    pub newest_change_at: Option<DateTime<Utc>>,
    /// When the last batch that wrote rows committed.
    pub landed_at: Option<DateTime<Utc>>,
}

/// One row of `sync_log`.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sync_log)]
pub struct SyncLogRow {
    pub id: i64,
    pub run_id: String,
    pub entity: String,
    pub mode: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub pages: i64,
    pub records_fetched: i64,
    pub records_inserted: i64,
    pub records_updated: i64,
    pub records_deleted: i64,
    pub requests: i64,
    pub retries: i64,
    pub rate_limited: i64,
    pub error: Option<String>,
    /// Records with a field that could not be typed (column NULL, `raw` intact).
    pub records_untyped: i64,
    /// Records kept in `lightspeed_quarantine` for want of a usable identity.
    pub records_quarantined: i64,
    /// What a reconcile found (its rows only).
    pub reconcile_missing: Option<i64>,
    pub reconcile_stale: Option<i64>,
    pub reconcile_extra: Option<i64>,
}

#[cfg(test)]
impl SyncStateRow {
    /// The sales row of an entity in `status`, for the tests of what reads it.
    pub(crate) fn of_sales(status: RunStatus, last_success_at: Option<DateTime<Utc>>) -> Self {
        SyncStateRow {
            entity: "sales".into(),
            status,
            last_version: 0,
            last_success_at,
            last_error: None,
            run_id: None,
            run_mode: None,
            run_started_at: None,
            run_pages: 0,
            run_records: 0,
            rows_in_table: 0,
            updated_at: Utc::now(),
            caught_up_at: last_success_at,
            newest_change_at: None,
            landed_at: None,
        }
    }
}

/// Every entity's state, in table order.
pub fn load_sync_states(conn: &mut PgConnection) -> Result<Vec<SyncStateRow>, DbError> {
    Ok(sync_state::table
        .select(SyncStateRow::as_select())
        .order(sync_state::entity)
        .load(conn)?)
}

/// The applied version of one entity (0 when it has none).
pub fn load_last_version(conn: &mut PgConnection, entity: Entity) -> Result<i64, DbError> {
    Ok(sync_state::table
        .filter(sync_state::entity.eq(entity.name()))
        .select(sync_state::last_version)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub entity: Option<String>,
    pub status: Option<String>,
    pub mode: Option<String>,
}

/// A page of runs matching `filter`, newest first, and how many match in all.
pub fn load_runs(
    conn: &mut PgConnection,
    filter: &RunFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SyncLogRow>, i64), DbError> {
    let filtered = || {
        let mut query = sync_log::table.into_boxed();
        if let Some(entity) = &filter.entity {
            query = query.filter(sync_log::entity.eq(entity.clone()));
        }
        if let Some(status) = &filter.status {
            query = query.filter(sync_log::status.eq(status.clone()));
        }
        if let Some(mode) = &filter.mode {
            query = query.filter(sync_log::mode.eq(mode.clone()));
        }
        query
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(SyncLogRow::as_select())
        .order((sync_log::started_at.desc(), sync_log::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// One run by its `sync_log.id`.
pub fn load_run(conn: &mut PgConnection, id: i64) -> Result<Option<SyncLogRow>, DbError> {
    Ok(sync_log::table
        .find(id)
        .select(SyncLogRow::as_select())
        .first(conn)
        .optional()?)
}

/// The newest import or incremental run of each entity.
pub fn load_last_runs(conn: &mut PgConnection) -> Result<Vec<SyncLogRow>, DbError> {
    Ok(sync_log::table
        .filter(sync_log::mode.ne_all(["operator", "reconcile"]))
        .select(SyncLogRow::as_select())
        .distinct_on(sync_log::entity)
        .order((
            sync_log::entity,
            sync_log::started_at.desc(),
            sync_log::id.desc(),
        ))
        .load(conn)?)
}

/// The last `limit` import or incremental runs of `entity`, oldest first (for charts).
pub fn load_chart_runs(
    conn: &mut PgConnection,
    entity: &str,
    limit: i64,
) -> Result<Vec<SyncLogRow>, DbError> {
    let mut rows: Vec<SyncLogRow> = sync_log::table
        .filter(sync_log::entity.eq(entity))
        .filter(sync_log::mode.ne_all(["operator", "reconcile"]))
        .select(SyncLogRow::as_select())
        .order((sync_log::started_at.desc(), sync_log::id.desc()))
        .limit(limit)
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// The planner's estimate of a table's rows (exact counts of millions of line items are too slow
/// for a page that refreshes every 30 s); exact for small or never-analysed tables.
pub fn estimate_rows(conn: &mut PgConnection, table: &str) -> Result<i64, DbError> {
    let estimate: Estimate = sql_query(
        "SELECT GREATEST(c.reltuples, 0)::BIGINT AS rows FROM pg_class c \
         WHERE c.oid = to_regclass($1)",
    )
    .bind::<Text, _>(table)
    .get_result(conn)
    .optional()?
    .unwrap_or(Estimate { rows: 0 });
    if estimate.rows < 100_000 {
        let exact: Estimate =
            sql_query(format!("SELECT count(*)::BIGINT AS rows FROM {table}")).get_result(conn)?;
        return Ok(exact.rows);
    }
    Ok(estimate.rows)
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &mut PgConnection) -> Result<(), DbError> {
    sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
