//! What `reconcile` reads and writes in PostgreSQL: an entity's rows streamed in version order
//! through a cursor (never held whole), the children's ids of a page of parents, the rows a
//! repair marks deleted, and the reconcile's own `sync_log` rows.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use super::layout_sql::keep_received_deleted_at_sql;
use crate::entity::layout::{stored_table, TableLayout};
use crate::entity::Entity;

/// One row as reconcile compares it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct RowIdentity {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = Bool)]
    pub deleted: bool,
}

/// Rows fetched from the cursor at a time.
const CHUNK: i64 = 10_000;

/// An entity's rows at or below a version, in `(version, id)` order, read a chunk at a time
/// through a server-side cursor inside one read-only transaction on its own connection.
pub struct RowsInVersionOrder<'c> {
    conn: &'c mut PgConnection,
    open: bool,
}

impl<'c> RowsInVersionOrder<'c> {
    /// Opens the cursor over `table` (keyed by `key_sql`, the id or its composite text) for
    /// rows whose version is in `(after, up_to]`.
    pub fn open(
        conn: &'c mut PgConnection,
        table: &str,
        key_sql: &str,
        after: i64,
        up_to: i64,
    ) -> Result<RowsInVersionOrder<'c>, DbError> {
        conn.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
             DECLARE lightsync_reconcile NO SCROLL CURSOR FOR \
             SELECT {key_sql} AS id, version, deleted_at IS NOT NULL AS deleted FROM {table} t \
             WHERE version > {after} AND version <= {up_to} ORDER BY version, {key_sql}"
        ))
        .map_err(DbError::Query)?;
        Ok(RowsInVersionOrder { conn, open: true })
    }

    /// The next chunk of rows; empty at the end.
    pub fn next_chunk(&mut self) -> Result<Vec<RowIdentity>, DbError> {
        if !self.open {
            return Ok(Vec::new());
        }
        let rows: Vec<RowIdentity> =
            sql_query(format!("FETCH {CHUNK} FROM lightsync_reconcile")).load(self.conn)?;
        if rows.is_empty() {
            self.close()?;
        }
        Ok(rows)
    }

    /// Hands every row left to `each`, in order.
    pub fn for_each_left(&mut self, mut each: impl FnMut(RowIdentity)) -> Result<(), DbError> {
        loop {
            let chunk = self.next_chunk()?;
            if chunk.is_empty() {
                return Ok(());
            }
            chunk.into_iter().for_each(&mut each);
        }
    }

    fn close(&mut self) -> Result<(), DbError> {
        if self.open {
            self.open = false;
            self.conn
                .batch_execute("CLOSE lightsync_reconcile; COMMIT")?;
        }
        Ok(())
    }
}

impl Drop for RowsInVersionOrder<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }
}

#[derive(QueryableByName)]
struct ChildId {
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    id: String,
}

/// The ids of `table`'s rows under each of `parents` (by `parent_column`).
pub fn child_ids(
    conn: &mut PgConnection,
    table: &str,
    parent_column: &str,
    parents: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, DbError> {
    let rows: Vec<ChildId> = sql_query(format!(
        "SELECT {parent_column} AS parent, id FROM {table} WHERE {parent_column} = ANY($1)"
    ))
    .bind::<Array<Text>, _>(parents)
    .load(conn)?;
    let mut by_parent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        by_parent.entry(row.parent).or_default().insert(row.id);
    }
    Ok(by_parent)
}

/// Marks the live rows of `table` whose key is in `ids` deleted (rows the store does not list
/// or lists as deleted), in one transaction with a `sync_log` row saying so.
pub fn mark_extras_deleted(
    conn: &mut PgConnection,
    entity: Entity,
    key_sql: &str,
    ids: &[String],
    run_id: &str,
) -> Result<usize, DbError> {
    use diesel::Connection;
    let keep_received = keep_received_deleted_at_sql(TableLayout::of_table(entity.table()), "t");
    let table = stored_table(entity.table());
    conn.transaction::<_, DbError, _>(|conn| {
        let marked = sql_query(format!(
            "UPDATE {table} t SET {keep_received}, deleted_at = now(), synced_at = now() \
             WHERE deleted_at IS NULL AND {key_sql} = ANY($1)"
        ))
        .bind::<Array<Text>, _>(ids)
        .execute(conn)?;
        super::record_operator_action(
            conn,
            run_id,
            entity,
            &format!("reconcile --repair: marked {marked} row(s) the store does not list deleted"),
        )?;
        Ok(marked)
    })
}

/// Removes the rows of `table` whose key is in `ids` (stale ones: a rewrite at the same
/// version would be refused by the version guard) with their children, and rewinds the
/// entity's applied version to `to_version`, in one transaction: the next run fetches them
/// again, and a crash at any point leaves either nothing changed or the rewind that brings them
/// back.
pub fn forget_and_rewind(
    conn: &mut PgConnection,
    entity: Entity,
    key_sql: &str,
    children: &[(&str, &str)],
    ids: &[String],
    to_version: i64,
    run_id: &str,
) -> Result<(), DbError> {
    use diesel::Connection;
    let table = stored_table(entity.table());
    conn.transaction::<_, DbError, _>(|conn| {
        for (child_table, parent_column) in children {
            let child_table = stored_table(child_table);
            sql_query(format!(
                "DELETE FROM {child_table} WHERE {parent_column} = ANY($1)"
            ))
            .bind::<Array<Text>, _>(ids)
            .execute(conn)?;
        }
        sql_query(format!("DELETE FROM {table} t WHERE {key_sql} = ANY($1)"))
            .bind::<Array<Text>, _>(ids)
            .execute(conn)?;
        super::run_log::set_applied_version(conn, entity, to_version)?;
        super::record_operator_action(
            conn,
            run_id,
            entity,
            &format!(
                "reconcile --repair: {} stale row(s) removed; fetching {entity} again after version {to_version}",
                ids.len()
            ),
        )
    })
}

/// Each entity's last reconcile, newest per entity.
pub fn load_last_reconciles(conn: &mut PgConnection) -> Result<Vec<super::SyncLogRow>, DbError> {
    use super::schema::sync_log;
    use diesel::prelude::*;
    Ok(sync_log::table
        .filter(sync_log::mode.eq("reconcile"))
        .select(super::SyncLogRow::as_select())
        .distinct_on(sync_log::entity)
        .order((sync_log::entity, sync_log::id.desc()))
        .load(conn)?)
}
