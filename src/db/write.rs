//! Applying one batch: a single transaction that upserts the batch's rows (deduplicated,
//! version-guarded), replaces the children (a sale's line items and payments) of every parent
//! it changed, and records the entity's new cursor and counters in `sync_state` and `sync_log`.
//! The SQL follows from the entity's declaration (`TableRows`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use diesel::connection::Connection;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use super::prepared::TableUpsert;
use super::rows::{BatchRows, TableRows};
use crate::entity::layout::stored_table;
use crate::entity::{Entity, Quarantined};

/// What applying a batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub inserted: u64,
    pub updated: u64,
    /// Written rows that carry `deleted_at` (soft deletes).
    pub deleted: u64,
    /// Rows left alone because the table already had that version or a newer one.
    pub unchanged: u64,
    /// Child rows (line items, payments) written, per declared child.
    pub children_written: [u64; MAX_CHILDREN],
    /// The store's latest `updated_at` among the batch's records, if they carry one.
    pub newest_change: Option<DateTime<Utc>>,
}

/// The most child tables one entity declares (sales: line items and payments).
pub const MAX_CHILDREN: usize = 2;

/// The run bookkeeping written in the batch's transaction.
#[derive(Debug, Clone)]
pub struct BatchBookkeeping<'a> {
    pub run_id: &'a str,
    pub entity: Entity,
    /// The `after` the page was fetched with. When given, the batch is applied only if it
    /// continues exactly from the entity's applied version (batches form a chain); a mismatch
    /// means the database lost committed work or was restored, and the batch is refused.
    pub after: Option<i64>,
    /// The page's max version: the entity's new applied version.
    pub max_version: i64,
    pub records_fetched: u64,
    /// Records with a field that could not be typed (its column left NULL, `raw` intact).
    pub records_untyped: u64,
    /// Records without a usable identity, kept in `lightspeed_quarantine`.
    pub quarantined: &'a [Quarantined],
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
}

/// How a batch's rows reach their tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Version-guarded upserts: any row may exist already.
    Upsert,
    /// Plain inserts, for a batch whose rows are all expected to be new (an import's):
    /// PostgreSQL then skips the conflict check of every row (14% of a sales writer's time). A
    /// row that exists already fails the whole batch with a unique violation
    /// (`DbError::is_key_taken`) and nothing is written; the batch is then written as `Upsert`.
    InsertNew,
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Bool)]
    inserted: bool,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

/// Applies `rows` and the bookkeeping in one transaction. `before_commit` runs inside the
/// transaction just before it commits (crash tests stop the process there).
pub fn apply_batch(
    conn: &mut PgConnection,
    rows: BatchRows,
    bookkeeping: &BatchBookkeeping,
    before_commit: impl FnOnce(),
) -> Result<ApplyOutcome, DbError> {
    apply_batch_in_turn(
        conn,
        rows,
        bookkeeping,
        WriteMode::Upsert,
        || Ok(()),
        before_commit,
    )
}

/// `apply_batch` for a batch written beside others of its entity: once its rows are written,
/// `wait_turn` returns when the batches before it have committed (or fails to give up), and
/// only then is its cursor recorded and the transaction committed. `mode` says whether rows may
/// exist already.
pub fn apply_batch_in_turn(
    conn: &mut PgConnection,
    rows: BatchRows,
    bookkeeping: &BatchBookkeeping,
    mode: WriteMode,
    wait_turn: impl FnOnce() -> Result<(), DbError>,
    before_commit: impl FnOnce(),
) -> Result<ApplyOutcome, DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        let outcome = write_rows(conn, rows, mode)?;
        wait_turn()?;
        record_batch(conn, bookkeeping, &outcome)?;
        before_commit();
        Ok(outcome)
    })
}

/// Upserts a batch's rows and replaces the children of every parent it changed, inside the
/// caller's transaction.
pub(super) fn write_rows(
    conn: &mut PgConnection,
    rows: BatchRows,
    mode: WriteMode,
) -> Result<ApplyOutcome, DbError> {
    {
        let mut outcome = ApplyOutcome::default();
        let BatchRows { mut rows, children } = rows;
        rows.dedup_by_key();
        outcome.newest_change = rows.latest("updated_at");
        // A parent may appear in several versions in one batch: only the children of the
        // version that is kept (the highest) belong to it.
        let kept_versions: HashMap<String, i64> = if children.is_empty() {
            HashMap::new()
        } else {
            rows.ids
                .iter()
                .cloned()
                .zip(rows.versions.iter().copied())
                .collect()
        };
        let written = upsert_counted(conn, rows, mode, &mut outcome)?;

        if !written.is_empty() && !children.is_empty() {
            // Parents that were new have no children to replace.
            let replaced: Vec<&str> = written
                .iter()
                .filter(|w| !w.inserted)
                .map(|w| w.id.as_str())
                .collect();
            let written: HashMap<&str, i64> = written
                .iter()
                .map(|w| (w.id.as_str(), kept_versions[&w.id]))
                .collect();
            for (index, mut child) in children.into_iter().enumerate() {
                if !replaced.is_empty() {
                    delete_children(conn, &child, &replaced)?;
                }
                let keep: Vec<bool> = child
                    .parents
                    .iter()
                    .zip(&child.versions)
                    .map(|(parent, version)| written.get(parent.as_str()) == Some(version))
                    .collect();
                child.retain_rows(&keep);
                child.dedup_by_key();
                outcome.children_written[index] = upsert_children(conn, child, mode)?;
            }
        }
        Ok(outcome)
    }
}

/// The upsert statement for a table: one array parameter per column, zipped by `unnest`.
/// Entity rows are written only over a strictly older version (a replay is a no-op); children
/// (`overwrite_same_version`) also over their parent's same version. As `WriteMode::InsertNew`
/// the statement is a plain insert.
pub fn upsert_sql(
    rows: &TableRows,
    mode: WriteMode,
    overwrite_same_version: bool,
    returning: bool,
) -> String {
    let columns = rows.column_names();
    let column_list = columns
        .iter()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    // Each array expanded by its own `unnest` in the select list: PostgreSQL runs them in
    // lockstep, one row at a time (ProjectSet). `unnest(a, b, ...)` in FROM materialised every
    // array into a tuplestore first (10% of a sales writer's time).
    let select: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(index, (_, array_type, jsonb))| {
            let (wire, cast) = wire_type(array_type, *jsonb);
            let unnest = format!("unnest(${}::{wire})", index + 1);
            match cast {
                Some(cast) => format!("{unnest}::{cast}"),
                None => unnest,
            }
        })
        .collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|(name, _, _)| !rows.key.contains(name))
        .map(|(name, _, _)| format!("{name} = EXCLUDED.{name}"))
        .chain(std::iter::once(
            "synced_at = EXCLUDED.synced_at".to_string(),
        ))
        .collect();
    let guard = if overwrite_same_version { "<=" } else { "<" };
    let key_text = crate::entity::key_text_sql(rows.key);
    let on_conflict = match mode {
        WriteMode::Upsert => format!(
            " ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE t.version {guard} EXCLUDED.version",
            key = rows.key.join(", "),
            updates = updates.join(", "),
        ),
        WriteMode::InsertNew => String::new(),
    };
    format!(
        "INSERT INTO {table} AS t ({column_list}, synced_at) \
         SELECT {select}, now(){on_conflict}{returning}",
        table = stored_table(rows.table),
        select = select.join(", "),
        returning = if returning {
            format!(
                " RETURNING {key_text} AS id, (t.xmax = 0) AS inserted, \
                 (t.deleted_at IS NOT NULL) AS deleted"
            )
        } else {
            String::new()
        },
    )
}

/// How a column travels: the array type it is bound as, and the cast that turns each value
/// into the column's type on the server. JSONB and NUMERIC travel as text: the client then
/// needs no arbitrary-precision arithmetic (NUMERIC's binary form measured no faster overall).
fn wire_type(array_type: &'static str, jsonb: bool) -> (&'static str, Option<&'static str>) {
    match (array_type, jsonb) {
        (_, true) => ("text[]", Some("jsonb")),
        ("numeric[]", false) => ("text[]", Some("numeric")),
        (other, false) => (other, None),
    }
}

/// Upserts child rows and returns how many were written.
fn upsert_children(
    conn: &mut PgConnection,
    rows: TableRows,
    mode: WriteMode,
) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sql = upsert_sql(&rows, mode, true, false);
    Ok(TableUpsert::new(&sql, rows).execute(conn)? as u64)
}

/// Upserts deduplicated entity rows (guarded by a strictly newer version), adds them to
/// `outcome`, and returns the rows written.
fn upsert_counted(
    conn: &mut PgConnection,
    rows: TableRows,
    mode: WriteMode,
    outcome: &mut ApplyOutcome,
) -> Result<Vec<Written>, DbError> {
    let offered = rows.len();
    if offered == 0 {
        return Ok(Vec::new());
    }
    let sql = upsert_sql(&rows, mode, false, true);
    let written: Vec<Written> = TableUpsert::new(&sql, rows).load(conn)?;
    outcome.inserted += written.iter().filter(|w| w.inserted).count() as u64;
    outcome.updated += written.iter().filter(|w| !w.inserted).count() as u64;
    outcome.deleted += written.iter().filter(|w| w.deleted).count() as u64;
    outcome.unchanged += (offered - written.len()) as u64;
    Ok(written)
}

fn delete_children(
    conn: &mut PgConnection,
    child: &TableRows,
    parent_ids: &[&str],
) -> Result<(), DbError> {
    let parent_column = child
        .parent_column
        .expect("child rows always name their parent column");
    sql_query(format!(
        "DELETE FROM {} WHERE {parent_column} = ANY($1)",
        stored_table(child.table)
    ))
    .bind::<Array<Text>, _>(parent_ids)
    .execute(conn)?;
    Ok(())
}

pub(super) fn record_batch(
    conn: &mut PgConnection,
    bookkeeping: &BatchBookkeeping,
    outcome: &ApplyOutcome,
) -> Result<(), DbError> {
    let quarantined = if bookkeeping.quarantined.is_empty() {
        0
    } else {
        let (reasons, raws): (Vec<&str>, Vec<&str>) = bookkeeping
            .quarantined
            .iter()
            .map(|record| (record.reason.as_str(), record.raw.as_str()))
            .unzip();
        // A replayed batch finds its records there already.
        sql_query(
            "INSERT INTO lightspeed_quarantine (entity, after_version, max_version, reason, raw, run_id) \
             SELECT $1, $2, $3, unnest($4::text[]), unnest($5::text[]), $6 \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Text, _>(bookkeeping.entity.name())
        .bind::<BigInt, _>(bookkeeping.after.unwrap_or_default())
        .bind::<BigInt, _>(bookkeeping.max_version)
        .bind::<Array<Text>, _>(reasons)
        .bind::<Array<Text>, _>(raws)
        .bind::<Text, _>(bookkeeping.run_id)
        .execute(conn)?
    };
    super::run_log::record_batch_progress(conn, bookkeeping, outcome, quarantined as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{Cell, Entity};

    fn inventory(rows: &[(&str, i64)]) -> TableRows {
        let mut table = TableRows::for_entity(Entity::Inventory.spec(), rows.len());
        let columns = Entity::Inventory.spec().columns.len();
        for (id, version) in rows {
            let cells = (0..columns)
                .map(|index| {
                    if index < 2 {
                        Cell::Text(None)
                    } else {
                        Cell::Numeric(None)
                    }
                })
                .collect();
            table.push(
                crate::db::rows::RowKey::of(*id),
                *version,
                None,
                Default::default(),
                cells,
            );
        }
        table
    }

    #[test]
    fn dedup_keeps_the_highest_version_of_each_key() {
        let mut rows = inventory(&[("a", 1), ("b", 5), ("a", 3), ("a", 2), ("b", 4)]);
        rows.dedup_by_key();
        let kept: Vec<(String, i64)> = rows.ids.into_iter().zip(rows.versions).collect();
        assert_eq!(kept, vec![("b".to_string(), 5), ("a".to_string(), 3)]);
    }

    #[test]
    fn on_a_tied_version_the_later_row_of_the_page_wins() {
        let mut rows = inventory(&[("a", 7), ("a", 7)]);
        rows.dedup_by_key();
        assert_eq!(rows.len(), 1);
        let sql = upsert_sql(&rows, WriteMode::Upsert, false, true);
        assert!(sql.contains("SELECT unnest($1::text[]), "), "{sql}");
    }

    #[test]
    fn upsert_is_version_guarded() {
        let rows = inventory(&[("a", 1)]);
        let sql = upsert_sql(&rows, WriteMode::Upsert, false, true);
        assert!(sql.contains("WHERE t.version < EXCLUDED.version"), "{sql}");
        assert!(
            sql.contains("unnest($1::text[]), unnest($2::bigint[])"),
            "{sql}"
        );
        assert!(sql.contains("::text[])::jsonb"), "{sql}");
        assert!(sql.contains("ON CONFLICT (id)"), "{sql}");
        assert!(!sql.contains("id = EXCLUDED.id"));
        let insert = upsert_sql(&rows, WriteMode::InsertNew, false, true);
        assert!(!insert.contains("ON CONFLICT"), "{insert}");
        assert!(
            insert.ends_with("(t.deleted_at IS NOT NULL) AS deleted"),
            "{insert}"
        );
    }
}
