//! One entity's comparison: the store's records, walked through the same client and governor as
//! a sync, against PostgreSQL's rows streamed in version order (`compare`). Full: every page
//! from version 0. Sampled: windows of one page each at random cursors. Runs on a blocking
//! thread; each API call is awaited on the runtime's handle.

use std::collections::{BTreeSet, VecDeque};

use anyhow::Context;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};
use tokio::runtime::Handle;

use super::compare::{Comparison, Differences, Seen};
use crate::db::{self, RowIdentity, RowsInVersionOrder};
use crate::entity::{ChildKey, Entity, VersionSource};
use crate::lightspeed::{decode_record, Client, Record, RequestCounters};

/// What one entity's walk needs.
pub struct Walk<'a> {
    pub entity: Entity,
    pub client: &'a Client,
    pub handle: &'a Handle,
    pub page_size: u32,
    pub counters: &'a RequestCounters,
    /// PostgreSQL's applied version: nothing above it is compared.
    pub applied: i64,
    /// The longest page of fetched children answered so far (a sync's stop rule).
    pub longest_child_page: std::cell::Cell<usize>,
}

/// Pages a full walk reads past the applied version (records changed since the last sync)
/// before it stops and settles what it did not meet by id.
const PAGES_BEYOND_APPLIED: u32 = 2;

/// Records decoded at once while walking a page.
const DECODED_AT_ONCE: usize = 1000;

/// A sampled walk's reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    pub windows: u32,
    /// Store records the windows compared.
    pub covered: u64,
    /// Rows of the table at or below the applied version.
    pub rows: u64,
}

/// How a row's key reads as one string (composite keys joined as `Record::id` joins them).
pub fn key_sql(entity: Entity) -> String {
    crate::entity::key_text_sql(entity.spec().key)
}

fn seen(record: &Record) -> Seen {
    Seen {
        id: record.id.clone(),
        version: record.version,
        deleted: record.deleted_at.is_some(),
    }
}

fn row_seen(row: RowIdentity) -> Seen {
    Seen {
        id: row.id,
        version: row.version,
        deleted: row.deleted,
    }
}

impl Walk<'_> {
    /// Every record of the store against every row at or below the applied version.
    pub fn full(
        &self,
        cursor_conn: &mut PgConnection,
        conn: &mut PgConnection,
    ) -> anyhow::Result<Differences> {
        let entity = self.entity;
        let spec = entity.spec();
        let comparable = spec.version == VersionSource::Own;
        let mut comparison = Comparison::new(self.applied, comparable);
        let mut rows = RowsInVersionOrder::open(
            cursor_conn,
            spec.table,
            &key_sql(entity),
            i64::MIN,
            self.applied,
        )?;
        let mut waiting: VecDeque<RowIdentity> = VecDeque::new();
        let mut stopped_early = false;
        if spec.is_refreshed() {
            let mut after: Option<String> = None;
            loop {
                let page = self.handle.block_on(self.client.fetch_id_page(
                    entity,
                    after.as_deref(),
                    self.page_size,
                    self.counters,
                ))?;
                for text in &page.records {
                    if let Ok(record) = decode_record(entity, text, Some(0)) {
                        comparison.store(seen(&record));
                    }
                }
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        } else {
            let mut after = 0;
            let mut pages_beyond = 0;
            loop {
                if pages_beyond >= PAGES_BEYOND_APPLIED {
                    stopped_early = true;
                    break;
                }
                let page = self.handle.block_on(self.client.fetch_raw_page(
                    entity,
                    after,
                    self.page_size,
                    self.counters,
                ))?;
                let Some(max_version) = page.max_version else {
                    break;
                };
                if after >= self.applied {
                    pages_beyond += 1;
                }
                // Decoded a run at a time, as a sync decodes: a page of 10,000 sales is never
                // held decoded whole.
                for start in (0..page.len()).step_by(DECODED_AT_ONCE) {
                    let run = start..(start + DECODED_AT_ONCE).min(page.len());
                    let records = page.decode_or_quarantine(entity, run)?.records;
                    for record in &records {
                        if comparable {
                            // Rows before this record in (version, id) order meet their records
                            // first: the maps hold only what differs.
                            loop {
                                if waiting.is_empty() {
                                    waiting.extend(rows.next_chunk()?);
                                }
                                match waiting.front() {
                                    Some(row)
                                        if (row.version, &row.id)
                                            < (record.version, &record.id) =>
                                    {
                                        let row = waiting.pop_front().expect("just seen");
                                        comparison.row(row_seen(row));
                                    }
                                    _ => break,
                                }
                            }
                        }
                        comparison.store(seen(record));
                    }
                    self.compare_children(conn, &records, &mut comparison)?;
                }
                crate::failpoint::crash_point("reconcile-page");
                after = max_version;
            }
        }
        for row in waiting.drain(..) {
            comparison.row(row_seen(row));
        }
        loop {
            let chunk = rows.next_chunk()?;
            if chunk.is_empty() {
                break;
            }
            for row in chunk {
                comparison.row(row_seen(row));
            }
        }
        let mut found = comparison.finish();
        if stopped_early {
            self.excuse_changed_since(&mut found)?;
        }
        Ok(found)
    }

    /// After a walk that stopped short of the store's end (a store changing faster than it
    /// is paged), a row the walk did not meet may belong to a record changed since the applied
    /// version: each is looked up by id, and those the store holds above it are no difference.
    fn excuse_changed_since(&self, found: &mut Differences) -> anyhow::Result<()> {
        let mut still_extra = Vec::new();
        for id in std::mem::take(&mut found.extra_ids) {
            let record = self
                .handle
                .block_on(self.client.fetch_record(self.entity, &id, self.counters))?
                .and_then(|text| decode_record(self.entity, &text, None).ok());
            match record {
                Some(record) if record.version > self.applied => {}
                _ => still_extra.push(id),
            }
        }
        found.extra = still_extra.len() as u64;
        found.examples.extra = still_extra
            .iter()
            .take(super::compare::EXAMPLES)
            .cloned()
            .collect();
        found.extra_ids = still_extra;
        Ok(())
    }

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
            let page = self.handle.block_on(self.client.fetch_raw_page(
                entity,
                cursor,
                self.page_size,
                self.counters,
            ))?;
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
            loop {
                let chunk = rows.next_chunk()?;
                if chunk.is_empty() {
                    break;
                }
                for row in chunk {
                    comparison.row(row_seen(row));
                }
            }
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

    /// Children listed inside their parents (a sale's line items and payments) and those
    /// fetched from their own endpoint (a consignment's lines, one request per consignment):
    /// the ids PostgreSQL holds under each parent compared at or below the applied version.
    fn compare_children(
        &self,
        conn: &mut PgConnection,
        records: &[Record],
        comparison: &mut Comparison,
    ) -> anyhow::Result<()> {
        let entity = self.entity;
        let spec = entity.spec();
        if spec.children.is_empty() {
            return Ok(());
        }
        let parents: Vec<&Record> = records
            .iter()
            .filter(|record| record.version <= self.applied)
            .collect();
        if parents.is_empty() {
            return Ok(());
        }
        let parent_ids: Vec<String> = parents.iter().map(|record| record.id.clone()).collect();
        for (index, child) in spec.children.iter().enumerate() {
            let held = db::child_ids(conn, child.table, child.parent_column, &parent_ids)?;
            for parent in &parents {
                let listed: BTreeSet<String> = match (child.fetched_from, child.key) {
                    (Some(sub), _) => {
                        let count = self.count_fetched_children(&parent.id, sub)?;
                        (1..=count).map(|n| format!("{}:{n}", parent.id)).collect()
                    }
                    (None, ChildKey::Id) => parent
                        .children
                        .iter()
                        .filter(|c| c.child == index)
                        .map(|c| c.id.clone())
                        .collect(),
                    (None, ChildKey::Position) => parent
                        .children
                        .iter()
                        .filter(|c| c.child == index)
                        .enumerate()
                        .map(|(n, _)| format!("{}:{}", parent.id, n + 1))
                        .collect(),
                };
                let empty = BTreeSet::new();
                if &listed != held.get(&parent.id).unwrap_or(&empty) {
                    comparison.children_differ(parent.id.clone(), parent.version);
                }
            }
        }
        Ok(())
    }

    /// How many children `parent_id` has at its own endpoint, paged as a sync pages them.
    fn count_fetched_children(&self, parent_id: &str, sub: &str) -> anyhow::Result<usize> {
        use crate::engine::child_fetch::{judge_child_page, ChildPageVerdict};
        let mut after = 0;
        let mut count = 0;
        loop {
            let page = self.handle.block_on(self.client.fetch_child_page(
                self.entity,
                parent_id,
                sub,
                after,
                self.page_size,
                self.counters,
            ))?;
            let length = page.records.len();
            let longest = self.longest_child_page.get().max(length);
            self.longest_child_page.set(longest);
            match judge_child_page(after, length, page.max_version, self.page_size, longest) {
                ChildPageVerdict::Repeat => return Ok(count),
                ChildPageVerdict::Keep { next } => {
                    count += length;
                    match next {
                        Some(next) => after = next,
                        None => return Ok(count),
                    }
                }
            }
        }
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
