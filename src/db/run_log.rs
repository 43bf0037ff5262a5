//! The run bookkeeping written to `sync_state` and `sync_log`, through diesel's DSL: a run
//! opened and closed per entity, a batch's progress (in the batch's own transaction), runs a
//! dead process left `running`, an operator's rewind, a reconcile's findings.

use chrono::{DateTime, Utc};
use diesel::dsl::{now, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use diesel::PgConnection;

use super::error::DbError;
use super::run_status::RunStatus;
use super::schema::{sync_log, sync_state};
use super::write::{ApplyOutcome, BatchBookkeeping};
use crate::entity::Entity;

/// What `sync_log.duration_ms` of a row still running is: the time since it started.
fn milliseconds_since_start() -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>("(EXTRACT(EPOCH FROM (now() - started_at)) * 1000)::BIGINT")
}

/// Marks runs a dead process left `running` as `interrupted`; returns how many. Call only while
/// holding the run lock, so no live run is touched.
pub fn mark_interrupted_runs(conn: &mut PgConnection) -> Result<usize, DbError> {
    let running = sync_log::status.eq(RunStatus::Running);
    diesel::update(sync_log::table.filter(running.and(sync_log::error.is_null())))
        .set(sync_log::error.eq("the process stopped before the run finished"))
        .execute(conn)?;
    let runs = diesel::update(sync_log::table.filter(running))
        .set((
            sync_log::status.eq(RunStatus::Interrupted),
            sync_log::finished_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(sync_state::table.filter(sync_state::status.eq(RunStatus::Running)))
        .set((
            sync_state::status.eq(RunStatus::Failed),
            sync_state::last_error.eq("the previous run was interrupted before it finished"),
            sync_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(runs)
}

/// The entity's `sync_state` row, created idle if it has none.
fn ensure_state(conn: &mut PgConnection, entity: Entity) -> Result<(), DbError> {
    diesel::insert_into(sync_state::table)
        .values(sync_state::entity.eq(entity.name()))
        .on_conflict(sync_state::entity)
        .do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Opens the `sync_log` row of one entity's run and shows the run in `sync_state`.
pub fn begin_entity_run(
    conn: &mut PgConnection,
    run_id: &str,
    entity: Entity,
    mode: &str,
) -> Result<(), DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        diesel::insert_into(sync_log::table)
            .values((
                sync_log::run_id.eq(run_id),
                sync_log::entity.eq(entity.name()),
                sync_log::mode.eq(mode),
                sync_log::status.eq(RunStatus::Running),
            ))
            .execute(conn)?;
        ensure_state(conn, entity)?;
        diesel::update(sync_state::table.find(entity.name()))
            .set((
                sync_state::status.eq(RunStatus::Running),
                sync_state::run_id.eq(run_id),
                sync_state::run_mode.eq(mode),
                sync_state::run_started_at.eq(now),
                sync_state::run_pages.eq(0),
                sync_state::run_records.eq(0),
                sync_state::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// How one entity's run ended.
#[derive(Debug, Clone)]
pub struct EntityRunEnd<'a> {
    pub run_id: &'a str,
    pub entity: Entity,
    /// `None` for success, the error otherwise.
    pub error: Option<&'a str>,
    /// Why the entity was skipped (no permission), if it was.
    pub skipped: Option<&'a str>,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    /// Whether anything was written (the row count is refreshed only then).
    pub wrote_rows: bool,
    /// Whether the run read up to the empty page (then `caught_up_at` becomes its start).
    pub caught_up: bool,
    /// When this entity's stream started and ended (each entity of a run has its own).
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// Closes one entity's `sync_log` row and updates its `sync_state`.
pub fn finish_entity_run(conn: &mut PgConnection, end: &EntityRunEnd) -> Result<(), DbError> {
    let status = RunStatus::ended(end.error, end.skipped);
    let reason = end.error.or(end.skipped);
    let entity = end.entity.name();
    conn.transaction::<_, DbError, _>(|conn| {
        let this_run = sync_log::run_id
            .eq(end.run_id)
            .and(sync_log::entity.eq(entity));
        diesel::update(sync_log::table.filter(this_run))
            .set((
                sync_log::status.eq(status),
                sync_log::started_at.eq(end.started_at),
                sync_log::finished_at.eq(end.finished_at),
                sync_log::duration_ms.eq((end.finished_at - end.started_at).num_milliseconds()),
                sync_log::error.eq(reason),
                sync_log::requests.eq(end.requests as i64),
                sync_log::retries.eq(end.retries as i64),
                sync_log::rate_limited.eq(end.rate_limited as i64),
            ))
            .execute(conn)?;
        let state = || sync_state::table.find(entity);
        let ended = (
            sync_state::status.eq(status),
            sync_state::updated_at.eq(now),
        );
        match reason {
            None if end.caught_up => diesel::update(state())
                .set((
                    ended,
                    sync_state::last_success_at.eq(now),
                    sync_state::caught_up_at.eq(end.started_at),
                    sync_state::last_error.eq(None::<&str>),
                ))
                .execute(conn)?,
            None => diesel::update(state())
                .set((
                    ended,
                    sync_state::last_success_at.eq(now),
                    sync_state::last_error.eq(None::<&str>),
                ))
                .execute(conn)?,
            Some(reason) => diesel::update(state())
                .set((ended, sync_state::last_error.eq(reason)))
                .execute(conn)?,
        };
        if end.wrote_rows {
            let count = format!("(SELECT count(*) FROM {})", end.entity.table());
            diesel::update(state())
                .set(sync_state::rows_in_table.eq(sql::<BigInt>(&count)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Sets an entity's applied version, inside the caller's transaction.
pub(super) fn set_applied_version(
    conn: &mut PgConnection,
    entity: Entity,
    to_version: i64,
) -> Result<(), DbError> {
    ensure_state(conn, entity)?;
    diesel::update(sync_state::table.find(entity.name()))
        .set((
            sync_state::last_version.eq(to_version),
            sync_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets an entity's applied version (operator rewind) and records the change in `sync_log`
/// with mode `operator`.
pub fn rewind_entity(
    conn: &mut PgConnection,
    run_id: &str,
    entity: Entity,
    to_version: i64,
    note: &str,
) -> Result<(), DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        set_applied_version(conn, entity, to_version)?;
        record_operator_action(conn, run_id, entity, note)
    })
}

/// Records an operator's change (reset, rewind) as a finished `sync_log` row of mode `operator`.
pub fn record_operator_action(
    conn: &mut PgConnection,
    run_id: &str,
    entity: Entity,
    note: &str,
) -> Result<(), DbError> {
    diesel::insert_into(sync_log::table)
        .values((
            sync_log::run_id.eq(run_id),
            sync_log::entity.eq(entity.name()),
            sync_log::mode.eq("operator"),
            sync_log::status.eq(RunStatus::Ok),
            sync_log::finished_at.eq(now),
            sync_log::duration_ms.eq(0),
            sync_log::error.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Advances the entity's applied version to the batch's and adds the batch to the run's
/// counters (`quarantined`: the records it set aside that were not kept already); refuses a
/// batch that does not continue from the applied version.
pub(super) fn record_batch_progress(
    conn: &mut PgConnection,
    batch: &BatchBookkeeping,
    outcome: &ApplyOutcome,
    quarantined: u64,
) -> Result<(), DbError> {
    let entity = batch.entity.name();
    let state = sync_state::table.find(entity);
    let changes = || {
        (
            sync_state::last_version.eq(sql::<BigInt>("GREATEST(last_version, ")
                .bind::<BigInt, _>(batch.max_version)
                .sql(")")),
            sync_state::run_pages.eq(sync_state::run_pages + 1),
            sync_state::run_records.eq(sync_state::run_records + batch.records_fetched as i64),
            sync_state::rows_in_table.eq(sync_state::rows_in_table + outcome.inserted as i64),
            sync_state::updated_at.eq(now),
        )
    };
    let advanced = match batch.after {
        Some(after) => diesel::update(state.filter(sync_state::last_version.eq(after)))
            .set(changes())
            .execute(conn)?,
        None => diesel::update(state).set(changes()).execute(conn)?,
    };
    if advanced != 1 {
        // A batch whose commit reached the server but whose acknowledgment was lost (the
        // connection dropped in an outage) is tried again: PostgreSQL already holds exactly its
        // version, its rows were written again as version-guarded no-ops, and there is nothing
        // left to record.
        let applied: i64 = state.select(sync_state::last_version).first(conn)?;
        if batch.after.is_some() && applied == batch.max_version {
            log::info!(
                "{entity}: the batch up to version {applied} was committed before the connection dropped; nothing more to do"
            );
            return Ok(());
        }
        return Err(DbError::Continuity {
            entity: entity.to_string(),
            after: batch.after.unwrap_or_default(),
        });
    }
    if outcome.inserted + outcome.updated > 0 {
        diesel::update(sync_state::table.find(entity))
            .set((
                sync_state::landed_at.eq(now),
                sync_state::newest_change_at.eq(sql::<Nullable<Timestamptz>>(
                    "GREATEST(newest_change_at, ",
                )
                .bind::<Nullable<Timestamptz>, _>(outcome.newest_change)
                .sql(")")),
            ))
            .execute(conn)?;
    }
    let this_run = sync_log::run_id
        .eq(batch.run_id)
        .and(sync_log::entity.eq(entity));
    diesel::update(sync_log::table.filter(this_run))
        .set((
            sync_log::pages.eq(sync_log::pages + 1),
            sync_log::records_fetched.eq(sync_log::records_fetched + batch.records_fetched as i64),
            sync_log::records_inserted.eq(sync_log::records_inserted + outcome.inserted as i64),
            sync_log::records_updated.eq(sync_log::records_updated + outcome.updated as i64),
            sync_log::records_deleted.eq(sync_log::records_deleted + outcome.deleted as i64),
            sync_log::requests.eq(batch.requests as i64),
            sync_log::retries.eq(batch.retries as i64),
            sync_log::rate_limited.eq(batch.rate_limited as i64),
            sync_log::records_untyped.eq(sync_log::records_untyped + batch.records_untyped as i64),
            sync_log::records_quarantined.eq(sync_log::records_quarantined + quarantined as i64),
            sync_log::duration_ms.eq(milliseconds_since_start().nullable()),
        ))
        .execute(conn)?;
    Ok(())
}

/// One entity's reconcile, as recorded.
#[derive(Debug, Clone)]
pub struct ReconcileRecord<'a> {
    pub run_id: &'a str,
    pub entity: Entity,
    pub checked: u64,
    pub missing: u64,
    pub stale: u64,
    pub extra: u64,
    pub requests: u64,
    pub error: Option<&'a str>,
    pub started_at: DateTime<Utc>,
}

/// Records an entity's reconcile as a finished `sync_log` row of mode `reconcile`.
pub fn record_reconcile(conn: &mut PgConnection, record: &ReconcileRecord) -> Result<(), DbError> {
    let differs = record.missing + record.stale + record.extra > 0;
    let status = match (record.error, differs) {
        (Some(_), _) => RunStatus::Failed,
        (None, true) => RunStatus::Differs,
        (None, false) => RunStatus::Ok,
    };
    let finished_at = Utc::now();
    diesel::insert_into(sync_log::table)
        .values((
            sync_log::run_id.eq(record.run_id),
            sync_log::entity.eq(record.entity.name()),
            sync_log::mode.eq("reconcile"),
            sync_log::status.eq(status),
            sync_log::started_at.eq(record.started_at),
            sync_log::finished_at.eq(finished_at),
            sync_log::duration_ms.eq((finished_at - record.started_at).num_milliseconds()),
            sync_log::records_fetched.eq(record.checked as i64),
            sync_log::requests.eq(record.requests as i64),
            sync_log::error.eq(record.error),
            sync_log::reconcile_missing.eq(record.missing as i64),
            sync_log::reconcile_stale.eq(record.stale as i64),
            sync_log::reconcile_extra.eq(record.extra as i64),
        ))
        .execute(conn)?;
    Ok(())
}
