//! Applying one batch: a single transaction that upserts the batch's rows (deduplicated,
//! version-guarded), replaces the line items and payments of every sale it changed, and records
//! the entity's new cursor and counters in `sync_state` and `sync_log`.

use std::collections::HashMap;

use diesel::connection::Connection;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use super::rows::{BatchRows, TableRow};

/// What applying a batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub inserted: u64,
    pub updated: u64,
    /// Written rows that carry `deleted_at` (soft deletes).
    pub deleted: u64,
    /// Rows left alone because the table already had that version or a newer one.
    pub unchanged: u64,
    pub line_items_written: u64,
    pub payments_written: u64,
}

/// The run bookkeeping written in the batch's transaction.
#[derive(Debug, Clone)]
pub struct BatchBookkeeping<'a> {
    pub run_id: &'a str,
    pub entity: &'a str,
    /// The `after` the page was fetched with. When given, the batch is applied only if it
    /// continues exactly from the entity's applied version (batches form a chain); a mismatch
    /// means the database lost committed work or was restored, and the batch is refused.
    pub after: Option<i64>,
    /// The page's max version: the entity's new applied version.
    pub max_version: i64,
    pub records_fetched: u64,
    /// Records with a field that could not be typed (its column left NULL, `raw` intact).
    pub records_untyped: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
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
    conn.transaction::<_, DbError, _>(|conn| {
        let mut outcome = ApplyOutcome::default();
        upsert_counted(conn, rows.outlets, &mut outcome)?;
        upsert_counted(conn, rows.products, &mut outcome)?;
        upsert_counted(conn, rows.customers, &mut outcome)?;
        upsert_counted(conn, rows.inventory, &mut outcome)?;
        // A sale may appear in several versions in one batch: only the children of the
        // version that is kept (the highest, as `dedup_by_id` keeps) belong to it.
        let mut kept_versions: HashMap<String, i64> = HashMap::with_capacity(rows.sales.len());
        for sale in &rows.sales {
            let kept = kept_versions.entry(sale.id.clone()).or_insert(sale.version);
            *kept = (*kept).max(sale.version);
        }
        let written_sales = upsert_counted(conn, rows.sales, &mut outcome)?;

        if !written_sales.is_empty() {
            // Sales that were new have no children to replace.
            let replaced: Vec<&str> = written_sales
                .iter()
                .filter(|w| !w.inserted)
                .map(|w| w.id.as_str())
                .collect();
            if !replaced.is_empty() {
                delete_sale_children(conn, &replaced)?;
            }
            let written: HashMap<String, i64> = written_sales
                .into_iter()
                .map(|w| {
                    let version = kept_versions[&w.id];
                    (w.id, version)
                })
                .collect();
            let (line_items, payments) =
                insert_sale_children(conn, &written, rows.line_items, rows.payments)?;
            outcome.line_items_written = line_items;
            outcome.payments_written = payments;
        }

        record_batch(conn, bookkeeping, &outcome)?;
        before_commit();
        Ok(outcome)
    })
}

/// Keeps one row per id, the one with the highest version (Postgres rejects a key twice in one
/// `ON CONFLICT` statement).
pub fn dedup_by_id<R: TableRow>(rows: Vec<R>) -> Vec<R> {
    let mut best: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut keep = vec![false; rows.len()];
    for (index, row) in rows.iter().enumerate() {
        match best.get(row.id()) {
            Some(&other) if rows[other].version() >= row.version() => {}
            Some(&other) => {
                keep[other] = false;
                keep[index] = true;
                best.insert(row.id().to_string(), index);
            }
            None => {
                keep[index] = true;
                best.insert(row.id().to_string(), index);
            }
        }
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .collect()
}

/// The upsert statement for a table: one array parameter per column, zipped by `unnest`.
fn upsert_sql<R: TableRow>(overwrite_same_version: bool, returning: bool) -> String {
    let columns = R::COLUMNS;
    let column_list = columns.join(", ");
    let arrays: Vec<String> = R::ARRAY_TYPES
        .iter()
        .enumerate()
        .map(|(index, array_type)| format!("${}::{array_type}", index + 1))
        .collect();
    let select: Vec<String> = columns
        .iter()
        .zip(R::JSONB)
        .map(|(column, jsonb)| {
            if *jsonb {
                format!("s.{column}::jsonb")
            } else {
                format!("s.{column}")
            }
        })
        .collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|column| **column != "id")
        .map(|column| format!("{column} = EXCLUDED.{column}"))
        .chain(std::iter::once(
            "synced_at = EXCLUDED.synced_at".to_string(),
        ))
        .collect();
    let guard = if overwrite_same_version { "<=" } else { "<" };
    format!(
        "INSERT INTO {table} AS t ({column_list}, synced_at) \
         SELECT {select}, now() FROM unnest({arrays}) AS s({column_list}) \
         ON CONFLICT (id) DO UPDATE SET {updates} WHERE t.version {guard} EXCLUDED.version{returning}",
        table = R::TABLE,
        select = select.join(", "),
        arrays = arrays.join(", "),
        updates = updates.join(", "),
        returning = if returning {
            " RETURNING t.id, (t.xmax = 0) AS inserted, (t.deleted_at IS NOT NULL) AS deleted"
        } else {
            ""
        },
    )
}

/// Upserts children (line items, payments) and returns how many rows were written.
fn upsert_children<R: TableRow>(conn: &mut PgConnection, rows: Vec<R>) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sql = upsert_sql::<R>(true, false);
    Ok(R::bind_columns(rows, sql_query(sql).into_boxed()).execute(conn)? as u64)
}

/// Deduplicates and upserts entity rows, adds them to `outcome`, and returns the rows written.
fn upsert_counted<R: TableRow>(
    conn: &mut PgConnection,
    rows: Vec<R>,
    outcome: &mut ApplyOutcome,
) -> Result<Vec<Written>, DbError> {
    let offered = rows.len();
    let written = upsert_rows(conn, dedup_by_id(rows))?;
    outcome.inserted += written.iter().filter(|w| w.inserted).count() as u64;
    outcome.updated += written.iter().filter(|w| !w.inserted).count() as u64;
    outcome.deleted += written.iter().filter(|w| w.deleted).count() as u64;
    outcome.unchanged += (offered - written.len()) as u64;
    Ok(written)
}

/// Upserts entity rows (guarded by a strictly newer version) and returns the rows written.
fn upsert_rows<R: TableRow>(
    conn: &mut PgConnection,
    rows: Vec<R>,
) -> Result<Vec<Written>, DbError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let query = R::bind_columns(rows, sql_query(upsert_sql::<R>(false, true)).into_boxed());
    Ok(query.load::<Written>(conn)?)
}

fn delete_sale_children(conn: &mut PgConnection, sale_ids: &[&str]) -> Result<(), DbError> {
    sql_query("DELETE FROM lightspeed_sale_line_items WHERE sale_id = ANY($1)")
        .bind::<Array<Text>, _>(sale_ids)
        .execute(conn)?;
    sql_query("DELETE FROM lightspeed_sale_payments WHERE sale_id = ANY($1)")
        .bind::<Array<Text>, _>(sale_ids)
        .execute(conn)?;
    Ok(())
}

/// Writes the line items and payments of the written sales (the version of each sale that was
/// written); children of sales the batch did not change are left alone.
fn insert_sale_children(
    conn: &mut PgConnection,
    written: &HashMap<String, i64>,
    line_items: Vec<super::rows::LineItemRow>,
    payments: Vec<super::rows::PaymentRow>,
) -> Result<(u64, u64), DbError> {
    let belongs = |sale_id: &str, version: i64| written.get(sale_id) == Some(&version);
    let line_items: Vec<_> = line_items
        .into_iter()
        .filter(|row| belongs(&row.sale_id, row.version))
        .collect();
    let payments: Vec<_> = payments
        .into_iter()
        .filter(|row| belongs(&row.sale_id, row.version))
        .collect();
    let line_items = upsert_children(conn, dedup_by_id(line_items))?;
    let payments = upsert_children(conn, dedup_by_id(payments))?;
    Ok((line_items, payments))
}

fn record_batch(
    conn: &mut PgConnection,
    bookkeeping: &BatchBookkeeping,
    outcome: &ApplyOutcome,
) -> Result<(), DbError> {
    let updated = sql_query(
        "UPDATE sync_state SET last_version = GREATEST(last_version, $2), \
         run_pages = run_pages + 1, run_records = run_records + $3, \
         rows_in_table = rows_in_table + $4, updated_at = now() \
         WHERE entity = $1 AND ($5::BIGINT IS NULL OR last_version = $5)",
    )
    .bind::<Text, _>(bookkeeping.entity)
    .bind::<BigInt, _>(bookkeeping.max_version)
    .bind::<BigInt, _>(bookkeeping.records_fetched as i64)
    .bind::<BigInt, _>(outcome.inserted as i64)
    .bind::<diesel::sql_types::Nullable<BigInt>, _>(bookkeeping.after)
    .execute(conn)?;
    if updated != 1 {
        return Err(DbError::Continuity {
            entity: bookkeeping.entity.to_string(),
            after: bookkeeping.after.unwrap_or_default(),
        });
    }
    sql_query(
        "UPDATE sync_log SET pages = pages + 1, records_fetched = records_fetched + $3, \
         records_inserted = records_inserted + $4, records_updated = records_updated + $5, \
         records_deleted = records_deleted + $6, requests = $7, retries = $8, rate_limited = $9, \
         records_untyped = records_untyped + $10, \
         duration_ms = (EXTRACT(EPOCH FROM (now() - started_at)) * 1000)::BIGINT \
         WHERE run_id = $1 AND entity = $2",
    )
    .bind::<Text, _>(bookkeeping.run_id)
    .bind::<Text, _>(bookkeeping.entity)
    .bind::<BigInt, _>(bookkeeping.records_fetched as i64)
    .bind::<BigInt, _>(outcome.inserted as i64)
    .bind::<BigInt, _>(outcome.updated as i64)
    .bind::<BigInt, _>(outcome.deleted as i64)
    .bind::<BigInt, _>(bookkeeping.requests as i64)
    .bind::<BigInt, _>(bookkeeping.retries as i64)
    .bind::<BigInt, _>(bookkeeping.rate_limited as i64)
    .bind::<BigInt, _>(bookkeeping.records_untyped as i64)
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::rows::InventoryRow;

    fn row(id: &str, version: i64) -> InventoryRow {
        InventoryRow {
            id: id.into(),
            product_id: None,
            outlet_id: None,
            inventory_level: None,
            current_amount: None,
            average_cost: None,
            reorder_point: None,
            reorder_amount: None,
            version,
            deleted_at: None,
            raw: "{}".into(),
        }
    }

    #[test]
    fn dedup_keeps_the_highest_version_of_each_id() {
        let rows = vec![
            row("a", 1),
            row("b", 5),
            row("a", 3),
            row("a", 2),
            row("b", 4),
        ];
        let kept: Vec<(String, i64)> = dedup_by_id(rows)
            .into_iter()
            .map(|r| (r.id, r.version))
            .collect();
        assert_eq!(kept, vec![("b".to_string(), 5), ("a".to_string(), 3)]);
    }

    #[test]
    fn upsert_is_version_guarded() {
        let sql = upsert_sql::<InventoryRow>(false, true);
        assert!(sql.contains("WHERE t.version < EXCLUDED.version"), "{sql}");
        assert!(sql.contains("unnest($1::text[], $2::text[]"), "{sql}");
        assert!(sql.contains("s.raw::jsonb"), "{sql}");
        assert!(!sql.contains("id = EXCLUDED.id"));
    }
}
