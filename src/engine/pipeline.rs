//! One entity's stream and its fetching half: a fetcher task (API page -> spool, advancing the
//! cursor -> decoded rows) hands prepared batches to the applier (`engine/applier.rs`) over a
//! channel, bounded by the shared in-flight budget. Each page is decoded once; the spool is read
//! only to recover after a crash.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::child_fetch::WithChildren;
use super::failure::Failures;
use super::lanes::lanes_for;
use super::mapping::rows_for_records;
use super::panics::panic_message;
use crate::checkpoint::{CheckpointStore, SpooledBatch};
use crate::db::rows::BatchRows;
use crate::entity::Entity;
use crate::entity::Quarantined;
use crate::failpoint::{crash_point, panic_point};
use crate::lightspeed::{
    decode_or_quarantine, Chunk, Client, RawPage, Record, RequestCounters, RunLimit, Sorted,
};

/// Live counters of one entity's run, read by the progress display.
#[derive(Debug, Default)]
pub struct EntityProgress {
    pub pages_fetched: AtomicU64,
    pub records_fetched: AtomicU64,
    pub pages_applied: AtomicU64,
    pub records_applied: AtomicU64,
    pub inserted: AtomicU64,
    pub updated: AtomicU64,
    pub deleted: AtomicU64,
    pub line_items: AtomicU64,
    /// Records applied with a field that could not be typed; each field is logged once.
    pub untyped: super::untyped::UntypedFields,
    /// Set when the fetcher saw the empty page (the entity is caught up).
    pub caught_up: AtomicBool,
    pub finished: AtomicBool,
    /// Records set aside for want of a usable identity.
    pub quarantined: AtomicU64,
}

impl EntityProgress {
    /// Counts a batch of `records` written with `outcome`.
    pub fn applied(&self, records: u64, outcome: &crate::db::ApplyOutcome) {
        self.pages_applied.fetch_add(1, Ordering::Relaxed);
        self.records_applied.fetch_add(records, Ordering::Relaxed);
        self.inserted.fetch_add(outcome.inserted, Ordering::Relaxed);
        self.updated.fetch_add(outcome.updated, Ordering::Relaxed);
        self.deleted.fetch_add(outcome.deleted, Ordering::Relaxed);
        self.line_items
            .fetch_add(outcome.children_written[0], Ordering::Relaxed);
    }

    /// Counts and logs records set aside, and hands them on.
    pub fn note_quarantined(&self, entity: Entity, records: Vec<Quarantined>) -> Vec<Quarantined> {
        for record in &records {
            log::warn!(
                "{entity}: a record without a usable identity ({}) is kept in lightspeed_quarantine, not in {}",
                record.reason,
                entity.table()
            );
        }
        self.quarantined
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        records
    }
}

/// A spooled batch handed to the applier, decoded and mapped to rows: by the fetcher for a page
/// it just fetched (the spool is not read back), or from the spool for a recovered batch.
pub struct PreparedBatch {
    pub meta: BatchMeta,
    pub(super) rows: BatchRows,
    /// The stream's slot for a decoded batch, given back once the batch is written.
    pub(super) _slot: Option<OwnedSemaphorePermit>,
}

/// What the applier records of a batch besides its rows.
pub struct BatchMeta {
    pub seq: u64,
    /// Budget (KiB) to give back once applied.
    pub budget_kib: u32,
    pub(super) after: i64,
    pub(super) max_version: i64,
    pub(super) record_count: u64,
    pub(super) records_untyped: u64,
    /// Records without a usable identity, kept in `lightspeed_quarantine` by the batch's
    /// transaction.
    pub(super) quarantined: Vec<Quarantined>,
}

/// Batches of one stream that may exist decoded at once: one being written on each of its
/// lanes, and one prepared next.
pub fn decoded_batches_per_stream(entity: Entity) -> usize {
    lanes_for(entity) + 1
}

/// What both halves of an entity's stream share.
pub struct StreamContext {
    pub entity: Entity,
    pub run_id: String,
    pub store: Arc<CheckpointStore>,
    pub client: Client,
    pub page_size: u32,
    pub counters: Arc<RequestCounters>,
    pub progress: Arc<EntityProgress>,
    /// The budget (KiB) of every stream's batches in flight, raw and decoded.
    pub spool_budget: Arc<Semaphore>,
    pub spool_budget_kib: u32,
    /// `DECODED_BATCHES_PER_STREAM` slots: a run is decoded only once it has one.
    pub decoded_slots: Arc<Semaphore>,
    /// Stamps each stage's failure with the order it was noticed in, and tells the other
    /// stages to stop (`cancelled`).
    pub failures: Failures,
    /// The longest page of fetched children the API has answered in this run: a shorter one
    /// ends a parent's children (`child_fetch`).
    pub longest_child_page: AtomicUsize,
    /// Stop after one page (`SharedByStreams::one_page`).
    pub one_page: bool,
}

/// What a batch in flight is charged against the budget, per byte of its records' raw JSON:
/// the raw text the rows keep, the typed cells and the children's raw beside it, and the
/// statement's binary parameters while it is written. Measured: a sales-only W1 import peaks
/// about 12 bytes above the idle process per raw byte of the batches it holds decoded.
const IN_FLIGHT_PER_RAW_BYTE: usize = 12;

/// How large a batch grows: a page of 10,000 is cut into runs within this, so it is never held
/// decoded at once and a crash re-fetches at most one run. The byte limit keeps a batch of wide
/// records (a sale with its lines is about 3 KB) as small in memory as one of narrow ones.
const RUN_LIMIT: RunLimit = RunLimit {
    records: 1000,
    bytes: 1 << 20,
};
/// The same for records whose children are fetched one request per record (consignments): a
/// crash then re-fetches at most this many records' children.
const RUN_LIMIT_WITH_FETCHED_CHILDREN: RunLimit = RunLimit {
    records: 50,
    bytes: 1 << 20,
};

/// Fetches pages from `cursor` until the empty page. Each page is cut into runs of records
/// (`RawPage::chunks`); each run is decoded once, spooled (for crash recovery only) with the
/// cursor after it, and handed to the applier with its rows.
pub async fn run_fetcher(
    ctx: Arc<StreamContext>,
    mut cursor: i64,
    applier: mpsc::Sender<PreparedBatch>,
) -> anyhow::Result<()> {
    let entity = ctx.entity;
    let run_limit = if entity.spec().fetched_children().next().is_some() {
        RUN_LIMIT_WITH_FETCHED_CHILDREN
    } else {
        RUN_LIMIT
    };
    loop {
        if ctx.failures.cancelled().load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut page = ctx
            .client
            .fetch_raw_page(entity, cursor, ctx.page_size, &ctx.counters)
            .await?;
        let Some(page_version) = page.max_version else {
            ctx.progress.caught_up.store(true, Ordering::SeqCst);
            return Ok(());
        };
        for chunk in page.chunks(entity, cursor, run_limit) {
            let Some(prepared) = prepare_chunk(&ctx, &page, chunk, page_version).await? else {
                return Ok(()); // the stream was stopped
            };
            crash_point("after-spool");
            ctx.progress
                .records_fetched
                .fetch_add(prepared.meta.record_count, Ordering::Relaxed);
            cursor = prepared.meta.max_version;
            if applier.send(prepared).await.is_err() {
                // The applier stopped (it failed and said why); stop fetching.
                return Ok(());
            }
        }
        ctx.progress.pages_fetched.fetch_add(1, Ordering::Relaxed);
        if ctx.one_page {
            return Ok(());
        }
    }
}

/// One run of a page's records made a batch: its share of the in-flight budget and a decoded
/// slot taken, decoded, its fetched children attached, spooled. `None` when the stream was
/// stopped meanwhile.
async fn prepare_chunk(
    ctx: &Arc<StreamContext>,
    page: &RawPage,
    chunk: Chunk,
    page_version: i64,
) -> anyhow::Result<Option<PreparedBatch>> {
    let entity = ctx.entity;
    let Some((budget_kib, slot)) = reserve(ctx, page.bytes(chunk.records.clone())).await? else {
        return Ok(None);
    };
    let Sorted {
        records,
        quarantined,
    } = page
        .decode_or_quarantine(entity, chunk.records.clone())
        .with_context(|| format!("decoding the {entity} page after version {}", chunk.after))?;
    let fetched = super::child_fetch::attach_children(ctx, records, page_version).await?;
    crash_point("after-fetch");
    let stream = ctx.clone();
    let bounds = (chunk.after, chunk.max_version);
    let prepared = tokio::task::spawn_blocking(move || {
        spool_and_prepare(&stream, bounds, fetched, quarantined, budget_kib, slot)
    })
    .await
    .map_err(|err| match err.try_into_panic() {
        Ok(panic) => anyhow!(
            "preparing a {entity} batch panicked: {}; what was spooled is kept and applied by the next run",
            panic_message(panic.as_ref())
        ),
        Err(err) => anyhow!("the {entity} spool task failed: {err}"),
    })??;
    Ok(Some(prepared))
}

/// Takes a batch's share of the in-flight budget (before it is decoded, so the budget bounds
/// what exists decoded, not only what is spooled) and one of the stream's decoded slots.
/// `None` when the stream was stopped while waiting.
async fn reserve(
    ctx: &StreamContext,
    raw_bytes: usize,
) -> anyhow::Result<Option<(u32, OwnedSemaphorePermit)>> {
    let cancelled = ctx.failures.cancelled();
    if cancelled.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let budget_kib =
        ((raw_bytes * IN_FLIGHT_PER_RAW_BYTE / 1024) as u32 + 1).min(ctx.spool_budget_kib);
    let permit = tokio::select! {
        permit = ctx.spool_budget.acquire_many(budget_kib) => permit.context("spool budget closed")?,
        _ = wait_for_cancel(cancelled) => return Ok(None),
    };
    permit.forget();
    let slot = tokio::select! {
        slot = ctx.decoded_slots.clone().acquire_owned() => slot.context("decoded slots closed")?,
        _ = wait_for_cancel(cancelled) => {
            ctx.spool_budget.add_permits(budget_kib as usize);
            return Ok(None);
        }
    };
    Ok(Some((budget_kib, slot)))
}

/// Spools a fetched page (the records' text, with fetched children embedded) and maps its
/// already decoded records to rows.
fn spool_and_prepare(
    ctx: &StreamContext,
    (after, max_version): (i64, i64),
    fetched: WithChildren,
    quarantined: Vec<Quarantined>,
    budget_kib: u32,
    slot: OwnedSemaphorePermit,
) -> anyhow::Result<PreparedBatch> {
    let entity = ctx.entity;
    let WithChildren {
        records,
        spool_texts,
    } = fetched;
    // Records set aside are spooled too, so a batch read back quarantines them again.
    let mut texts: Vec<&str> = match &spool_texts {
        Some(texts) => texts.iter().map(String::as_str).collect(),
        None => records.iter().map(|record| record.raw.as_str()).collect(),
    };
    texts.extend(quarantined.iter().map(|record| record.raw.as_str()));
    let batch = SpooledBatch {
        after,
        max_version,
        fetched_at_ms: chrono::Utc::now().timestamp_millis(),
        records: texts,
    };
    let (seq, _) = ctx
        .store
        .spool_batch(entity, &batch)
        .with_context(|| format!("spooling a {entity} page after version {after}"))?;
    drop(batch);
    drop(spool_texts);
    panic_point("prepare-batch");
    Ok(prepare(
        ctx,
        seq,
        (after, max_version),
        budget_kib,
        records,
        quarantined,
        Some(slot),
    ))
}

/// Reads a spooled batch back and maps its records to rows (recovery, or a retry after the
/// rows were spent on a failed write).
pub(super) fn load_batch(
    ctx: &StreamContext,
    seq: u64,
    budget_kib: u32,
) -> anyhow::Result<PreparedBatch> {
    let entity = ctx.entity;
    panic_point("prepare-batch");
    let batch = ctx.store.load_batch(entity, seq)?;
    let Sorted {
        records,
        quarantined,
    } = decode_or_quarantine(
        entity,
        batch.records.iter().map(String::as_str),
        Some(batch.max_version),
    );
    let bounds = (batch.after, batch.max_version);
    Ok(prepare(
        ctx,
        seq,
        bounds,
        budget_kib,
        records,
        quarantined,
        None,
    ))
}

/// A spooled batch's decoded records mapped to rows, counted and logged.
fn prepare(
    ctx: &StreamContext,
    seq: u64,
    (after, max_version): (i64, i64),
    budget_kib: u32,
    records: Vec<Record>,
    quarantined: Vec<Quarantined>,
    slot: Option<OwnedSemaphorePermit>,
) -> PreparedBatch {
    let entity = ctx.entity;
    let meta = BatchMeta {
        seq,
        budget_kib,
        after,
        max_version,
        record_count: records.len() as u64,
        records_untyped: ctx.progress.untyped.note(entity, &records),
        quarantined: ctx.progress.note_quarantined(entity, quarantined),
    };
    PreparedBatch {
        meta,
        rows: rows_for_records(entity, records),
        _slot: slot,
    }
}

async fn wait_for_cancel(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
