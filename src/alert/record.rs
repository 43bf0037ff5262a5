//! `alert_log`: what was sent, so no two processes send the same change. A state change is
//! claimed by inserting the row that follows the entity's chain head; the unique
//! `(entity, follows)` lets exactly one claimant win. Claimed first, posted after: a process
//! that dies in between loses that one message rather than sending it twice.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel::{sql_query, OptionalExtension, PgConnection, QueryableByName, RunQueryDsl};

use super::message::AlertMessage;
use super::transition::{AlertState, ChainHead};
use crate::db::DbError;

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// The newest state change announced for `entity`.
pub fn load_chain_head(
    conn: &mut PgConnection,
    entity: &str,
) -> Result<Option<ChainHead>, DbError> {
    let row: Option<HeadRow> = sql_query(
        "SELECT id, state, created_at FROM alert_log \
         WHERE entity = $1 AND follows IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind::<Text, _>(entity)
    .get_result(conn)
    .optional()?;
    Ok(row.and_then(|row| {
        AlertState::from_name(&row.state).map(|state| ChainHead {
            id: row.id,
            state,
            at: row.created_at,
        })
    }))
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims the state change after `head` (the first when `None`); `None` when another process
/// claimed a change after the same head first.
pub fn claim_state_change(
    conn: &mut PgConnection,
    head: Option<ChainHead>,
    message: &AlertMessage,
) -> Result<Option<i64>, DbError> {
    claim(conn, Some(head.map_or(0, |head| head.id)), None, message)
}

/// Claims a one-off event by its key; `None` when it was claimed before.
pub fn claim_event(
    conn: &mut PgConnection,
    event_key: &str,
    message: &AlertMessage,
) -> Result<Option<i64>, DbError> {
    claim(conn, None, Some(event_key), message)
}

fn claim(
    conn: &mut PgConnection,
    follows: Option<i64>,
    event_key: Option<&str>,
    message: &AlertMessage,
) -> Result<Option<i64>, DbError> {
    let json = serde_json::to_value(message).expect("an alert message serializes");
    let rows: Vec<Claimed> = sql_query(
        "INSERT INTO alert_log (entity, state, follows, event_key, run_id, message) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind::<Text, _>(&message.entity)
    .bind::<Text, _>(&message.state)
    .bind::<Nullable<BigInt>, _>(follows)
    .bind::<Nullable<Text>, _>(event_key)
    .bind::<Nullable<Text>, _>(message.run_id.as_deref())
    .bind::<Jsonb, _>(json)
    .get_results(conn)?;
    Ok(rows.first().map(|row| row.id))
}

/// Records how the delivery of alert `id` went (`None`: every webhook took it).
pub fn record_delivery(
    conn: &mut PgConnection,
    id: i64,
    error: Option<&str>,
) -> Result<(), DbError> {
    sql_query(
        "UPDATE alert_log SET delivered_at = CASE WHEN $2::text IS NULL THEN now() END, \
         delivery_error = $2 WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct PreviousRun {
    #[diesel(sql_type = Text)]
    run_id: String,
    #[diesel(sql_type = Text)]
    status: crate::db::RunStatus,
}

/// The run of `entity` just before `run_id` (operator actions aside), if that run was
/// interrupted: its run id.
pub fn load_interrupted_predecessor(
    conn: &mut PgConnection,
    entity: &str,
    run_id: &str,
) -> Result<Option<String>, DbError> {
    let previous: Option<PreviousRun> = sql_query(
        "SELECT run_id, status FROM sync_log WHERE entity = $1 AND mode <> 'operator' \
         AND id < (SELECT id FROM sync_log WHERE entity = $1 AND run_id = $2) \
         ORDER BY id DESC LIMIT 1",
    )
    .bind::<Text, _>(entity)
    .bind::<Text, _>(run_id)
    .get_result(conn)
    .optional()?;
    Ok(previous
        .filter(|run| run.status == crate::db::RunStatus::Interrupted)
        .map(|run| run.run_id))
}
