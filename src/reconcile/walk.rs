//! One entity's full comparison: the store's records from version 0, walked through the same
//! client and governor as a sync, against PostgreSQL's rows streamed in version order
//! (`compare`), children included. Runs on a blocking thread; each API call is awaited on the
//! runtime's handle. The sampled comparison (`sample`) reuses its pieces.

use std::collections::{BTreeSet, VecDeque};

use diesel::PgConnection;
use tokio::runtime::Handle;

use super::compare::{Comparison, Differences, Seen};
use crate::db::{self, RowIdentity, RowsInVersionOrder};
use crate::entity::{ChildKey, Entity, VersionSource};
use crate::lightspeed::{decode_record, Client, RawPage, Record, RequestCounters};

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
pub(super) const DECODED_AT_ONCE: usize = 1000;

/// How a row's key reads as one string (composite keys joined as `Record::id` joins them).
pub fn key_sql(entity: Entity) -> String {
    crate::entity::key_text_sql(entity.spec().key)
}

pub(super) fn seen(record: &Record) -> Seen {
    Seen {
        id: record.id.clone(),
        version: record.version,
        deleted: record.deleted_at.is_some(),
    }
}

pub(super) fn row_seen(row: RowIdentity) -> Seen {
    Seen {
        id: row.id,
        version: row.version,
        deleted: row.deleted,
    }
}

impl Walk<'_> {
    /// The store's page of `entity` after version `after`, through the run's client.
    pub(super) fn page(&self, entity: Entity, after: i64) -> anyhow::Result<RawPage> {
        let page = self.handle.block_on(self.client.fetch_raw_page(
            entity,
            after,
            self.page_size,
            self.counters,
        ))?;
        Ok(page)
    }

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
                let page = self.page(entity, after)?;
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
        rows.for_each_left(|row| comparison.row(row_seen(row)))?;
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

    /// Children listed inside their parents (a sale's line items and payments) and those
    /// fetched from their own endpoint (a consignment's lines, one request per consignment):
    /// the ids PostgreSQL holds under each parent compared at or below the applied version.
    pub(super) fn compare_children(
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
