//! One entity's sampled comparison: windows of one page each at random versions, never
//! overlapping, each page's records against the rows in the same version range, and what they
//! disagree on settled by id in the store and in PostgreSQL.

use std::collections::BTreeSet;

use anyhow::Context;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::compare::{Comparison, Differences, Seen};
use super::walk::{key_sql, row_seen, seen, Walk, DECODED_AT_ONCE};
use crate::db::RowsInVersionOrder;
use crate::entity::Entity;
use crate::lightspeed::decode_record;

/// A sampled walk's reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    pub windows: u32,
    /// Store records the windows compared.
    pub covered: u64,
    /// Rows of the table at or below the applied version.
    pub rows: u64,
}

impl Walk<'_> {
    /// `windows` pages at random cursors: each page's records against the rows whose versions
    /// fall in the same range. A row of that range the page does not list is looked up by id
    /// in the store (it may have changed since); a record the range's rows lack, by id in
    /// PostgreSQL.
    pub fn sampled(
        &self,
        windows: u32,
        cursor_conn: &mut PgConnection,
        conn: &mut PgConnection,
    ) -> anyhow::Result<(Differences, Coverage)> {
        let entity = self.entity;
        let spec = entity.spec();
        let table = spec.table;
        let (lowest, rows_total) = version_range(conn, table, self.applied)?;
        let mut coverage = Coverage {
            windows: 0,
            covered: 0,
            rows: rows_total,
        };
        let mut total = Differences::default();
        let Some(lowest) = lowest else {
            return Ok((total, coverage));
        };
        // Windows in version order, each starting where the one before ended if they would
        // overlap: no record is compared twice.
        let mut cursors: Vec<i64> = (0..windows)
            .map(|_| {
                if self.applied > lowest {
                    rand::random_range(lowest - 1..self.applied)
                } else {
                    lowest - 1
                }
            })
            .collect();
        cursors.sort_unstable();
        let mut covered_to = i64::MIN;
        for cursor in cursors {
            let cursor = cursor.max(covered_to);
            if cursor >= self.applied {
                break;
            }
            let page = self.page(entity, cursor)?;
            coverage.windows += 1;
            let Some(max_version) = page.max_version else {
                continue;
            };
            let top = max_version.min(self.applied);
            covered_to = top;
            let mut comparison = Comparison::new(top, true);
            for start in (0..page.len()).step_by(DECODED_AT_ONCE) {
                let run = start..(start + DECODED_AT_ONCE).min(page.len());
                let records = page.decode_or_quarantine(entity, run)?.records;
                for record in &records {
                    comparison.store(seen(record));
                }
                self.compare_children(conn, &records, &mut comparison)?;
            }
            let mut rows =
                RowsInVersionOrder::open(cursor_conn, table, &key_sql(entity), cursor, top)?;
            rows.for_each_left(|row| comparison.row(row_seen(row)))?;
            drop(rows);
            let window = comparison.finish();
            coverage.covered += window.checked;
            let window = self.confirm(conn, window)?;
            merge(&mut total, window);
        }
        Ok((total, coverage))
    }

    /// Settles a window's differences by id: a record missing from the window's rows may be
    /// held at another version (stale) or not at all (missing); a row the window does not list
    /// may have changed since the applied version (no difference) or be gone (extra).
    fn confirm(&self, conn: &mut PgConnection, window: Differences) -> anyhow::Result<Differences> {
        let entity = self.entity;
        let mut settled = Differences {
            checked: window.checked,
            ..Differences::default()
        };
        let mut comparison = Comparison::new(self.applied, true);
        let mut ids: BTreeSet<String> = BTreeSet::new();
        ids.extend(window.differing_ids.iter().cloned());
        ids.extend(window.extra_ids.iter().cloned());
        for id in ids {
            if let Some(text) =
                self.handle
                    .block_on(self.client.fetch_record(entity, &id, self.counters))?
            {
                if let Ok(record) = decode_record(entity, &text, None) {
                    comparison.store(seen(&record));
                }
            }
            if let Some(row) = row_by_id(conn, entity, &id)? {
                comparison.row(row);
            }
        }
        let confirmed = comparison.finish();
        settled.missing = confirmed.missing;
        settled.stale = confirmed.stale;
        settled.extra = confirmed.extra;
        settled.examples = confirmed.examples;
        settled.extra_ids = confirmed.extra_ids;
        settled.differing_ids = confirmed.differing_ids;
        settled.stale_ids = confirmed.stale_ids;
        settled.refetch_from = confirmed.refetch_from;
        Ok(settled)
    }
}

fn merge(total: &mut Differences, window: Differences) {
    total.checked += window.checked;
    total.missing += window.missing;
    total.stale += window.stale;
    total.extra += window.extra;
    for (all, some) in [
        (&mut total.examples.missing, window.examples.missing),
        (&mut total.examples.stale, window.examples.stale),
        (&mut total.examples.extra, window.examples.extra),
    ] {
        for id in some {
            if all.len() < super::compare::EXAMPLES && !all.contains(&id) {
                all.push(id);
            }
        }
    }
    total.extra_ids.extend(window.extra_ids);
    total.differing_ids.extend(window.differing_ids);
    total.stale_ids.extend(window.stale_ids);
    total.refetch_from = match (total.refetch_from, window.refetch_from) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

#[derive(QueryableByName)]
struct Range {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    lowest: Option<i64>,
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// The lowest version and the number of rows at or below `applied`.
fn version_range(
    conn: &mut PgConnection,
    table: &str,
    applied: i64,
) -> anyhow::Result<(Option<i64>, u64)> {
    let range: Range = sql_query(format!(
        "SELECT min(version) AS lowest, count(*) AS rows FROM {table} WHERE version <= $1"
    ))
    .bind::<BigInt, _>(applied)
    .get_result(conn)
    .with_context(|| format!("reading {table}'s versions"))?;
    Ok((range.lowest, range.rows as u64))
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

fn row_by_id(conn: &mut PgConnection, entity: Entity, id: &str) -> anyhow::Result<Option<Seen>> {
    let held: Option<Held> = sql_query(format!(
        "SELECT version, deleted_at IS NOT NULL AS deleted FROM {} t WHERE {} = $1",
        entity.table(),
        key_sql(entity)
    ))
    .bind::<Text, _>(id)
    .get_result(conn)
    .map(Some)
    .or_else(|err| match err {
        diesel::result::Error::NotFound => Ok(None),
        err => Err(err),
    })?;
    Ok(held.map(|held| Seen {
        id: id.to_string(),
        version: held.version,
        deleted: held.deleted,
    }))
}
