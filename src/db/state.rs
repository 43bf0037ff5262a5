//! `sync_state` and `sync_log`: reading each entity's applied version and health, and the run
//! bookkeeping (start, finish, interrupted runs, operator changes).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel::{sql_query, PgConnection};

use super::error::DbError;
use super::schema::{sync_log, sync_state};

/// One row of `sync_state`.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sync_state)]
pub struct SyncStateRow {
    pub entity: String,
    pub status: String,
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
}

/// One row of `sync_log`.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sync_log)]
pub struct SyncLogRow {
    pub id: i64,
    pub run_id: String,
    pub entity: String,
    pub mode: String,
    pub status: String,
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

/// Every entity's state, in table order.
pub fn load_sync_states(conn: &mut PgConnection) -> Result<Vec<SyncStateRow>, DbError> {
    Ok(sync_state::table
        .select(SyncStateRow::as_select())
        .order(sync_state::entity)
        .load(conn)?)
}

/// The applied version of one entity (0 when it has none).
pub fn load_last_version(conn: &mut PgConnection, entity: &str) -> Result<i64, DbError> {
    Ok(sync_state::table
        .filter(sync_state::entity.eq(entity))
        .select(sync_state::last_version)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Marks runs a dead process left `running` as `interrupted`; returns how many. Call only while
/// holding the run lock, so no live run is touched.
pub fn mark_interrupted_runs(conn: &mut PgConnection) -> Result<usize, DbError> {
    let runs = sql_query(
        "UPDATE sync_log SET status = 'interrupted', finished_at = now(), \
         error = COALESCE(error, 'the process stopped before the run finished') \
         WHERE status = 'running'",
    )
    .execute(conn)?;
    sql_query(
        "UPDATE sync_state SET status = 'failed', \
         last_error = 'the previous run was interrupted before it finished', updated_at = now() \
         WHERE status = 'running'",
    )
    .execute(conn)?;
    Ok(runs)
}

/// Opens the `sync_log` row of one entity's run and shows the run in `sync_state`.
pub fn begin_entity_run(
    conn: &mut PgConnection,
    run_id: &str,
    entity: &str,
    mode: &str,
) -> Result<(), DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        sql_query(
            "INSERT INTO sync_log (run_id, entity, mode, status) VALUES ($1, $2, $3, 'running')",
        )
        .bind::<Text, _>(run_id)
        .bind::<Text, _>(entity)
        .bind::<Text, _>(mode)
        .execute(conn)?;
        sql_query("INSERT INTO sync_state (entity) VALUES ($1) ON CONFLICT (entity) DO NOTHING")
            .bind::<Text, _>(entity)
            .execute(conn)?;
        sql_query(
            "UPDATE sync_state SET status = 'running', run_id = $2, run_mode = $3, \
             run_started_at = now(), run_pages = 0, run_records = 0, updated_at = now() \
             WHERE entity = $1",
        )
        .bind::<Text, _>(entity)
        .bind::<Text, _>(run_id)
        .bind::<Text, _>(mode)
        .execute(conn)?;
        Ok(())
    })
}

/// How one entity's run ended.
#[derive(Debug, Clone)]
pub struct EntityRunEnd<'a> {
    pub run_id: &'a str,
    pub entity: &'a str,
    pub table: &'a str,
    /// `None` for success, the error otherwise.
    pub error: Option<&'a str>,
    /// Why the entity was skipped (no permission), if it was.
    pub skipped: Option<&'a str>,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    /// Whether anything was written (the row count is refreshed only then).
    pub wrote_rows: bool,
    /// When this entity's stream started and ended (each entity of a run has its own).
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// Closes one entity's `sync_log` row and updates its `sync_state`.
pub fn finish_entity_run(conn: &mut PgConnection, end: &EntityRunEnd) -> Result<(), DbError> {
    let status = match (end.error, end.skipped) {
        (Some(_), _) => "failed",
        (None, Some(_)) => "skipped",
        (None, None) => "ok",
    };
    let reason = end.error.or(end.skipped);
    conn.transaction::<_, DbError, _>(|conn| {
        sql_query(
            "UPDATE sync_log SET status = $3, started_at = $8, finished_at = $9, \
             duration_ms = (EXTRACT(EPOCH FROM ($9 - $8)) * 1000)::BIGINT, \
             error = $4, requests = $5, retries = $6, rate_limited = $7 \
             WHERE run_id = $1 AND entity = $2",
        )
        .bind::<Text, _>(end.run_id)
        .bind::<Text, _>(end.entity)
        .bind::<Text, _>(status)
        .bind::<Nullable<Text>, _>(reason)
        .bind::<BigInt, _>(end.requests as i64)
        .bind::<BigInt, _>(end.retries as i64)
        .bind::<BigInt, _>(end.rate_limited as i64)
        .bind::<Timestamptz, _>(end.started_at)
        .bind::<Timestamptz, _>(end.finished_at)
        .execute(conn)?;
        let success = reason.is_none();
        let rows_sql = if end.wrote_rows {
            format!("(SELECT count(*) FROM {})", end.table)
        } else {
            "rows_in_table".to_string()
        };
        sql_query(format!(
            "UPDATE sync_state SET status = $2, \
             last_success_at = CASE WHEN $3 THEN now() ELSE last_success_at END, \
             last_error = CASE WHEN $3 THEN NULL ELSE $4 END, \
             rows_in_table = {rows_sql}, updated_at = now() WHERE entity = $1"
        ))
        .bind::<Text, _>(end.entity)
        .bind::<Text, _>(status)
        .bind::<diesel::sql_types::Bool, _>(success)
        .bind::<Nullable<Text>, _>(reason)
        .execute(conn)?;
        Ok(())
    })
}

/// Sets an entity's applied version (operator rewind) and records the change in `sync_log`
/// with mode `operator`.
pub fn rewind_entity(
    conn: &mut PgConnection,
    run_id: &str,
    entity: &str,
    to_version: i64,
    note: &str,
) -> Result<(), DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        sql_query("INSERT INTO sync_state (entity) VALUES ($1) ON CONFLICT (entity) DO NOTHING")
            .bind::<Text, _>(entity)
            .execute(conn)?;
        sql_query("UPDATE sync_state SET last_version = $2, updated_at = now() WHERE entity = $1")
            .bind::<Text, _>(entity)
            .bind::<BigInt, _>(to_version)
            .execute(conn)?;
        record_operator_action(conn, run_id, entity, note)
    })
}

/// Records an operator's change (reset, rewind) as a finished `sync_log` row of mode `operator`.
pub fn record_operator_action(
    conn: &mut PgConnection,
    run_id: &str,
    entity: &str,
    note: &str,
) -> Result<(), DbError> {
    sql_query(
        "INSERT INTO sync_log (run_id, entity, mode, status, finished_at, duration_ms, error) \
         VALUES ($1, $2, 'operator', 'ok', now(), 0, $3)",
    )
    .bind::<Text, _>(run_id)
    .bind::<Text, _>(entity)
    .bind::<Text, _>(note)
    .execute(conn)?;
    Ok(())
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
