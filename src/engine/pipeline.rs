//! One entity's stream: a fetcher task (API page -> spool, advancing the cursor -> decoded rows)
//! and an applier thread (rows -> one PostgreSQL transaction per batch -> release), joined by a
//! channel of prepared batches and bounded by the shared in-flight budget.
//! Each page is decoded once; the spool is read only to recover after a crash.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::child_fetch::WithChildren;
use super::failpoint::{crash_point, panic_point};
use super::lanes::{lanes_for, CommitTurn, OverlapCheck};
use super::mapping::rows_for_records;
use super::panics::panic_message;
use crate::backoff::Backoff;
use crate::checkpoint::{CheckpointStore, SpooledBatch};
use crate::config::DatabaseUrl;
use crate::db::rows::BatchRows;
use crate::db::{self, BatchBookkeeping, DbError, PgPool};
use crate::entity::Entity;
use crate::lightspeed::{decode_record, Client, RequestCounters, RunLimit};

/// Waits between attempts to reach PostgreSQL during an outage: 500 ms doubled per failure, at
/// most 15 s, so a server that comes back is found within seconds.
const DB_RETRY: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));

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
}

/// A spooled batch handed to the applier, decoded and mapped to rows: by the fetcher for a page
/// it just fetched (the spool is not read back), or from the spool for a recovered batch.
pub struct PreparedBatch {
    pub seq: u64,
    /// Budget (KiB) to give back once applied.
    pub budget_kib: u32,
    after: i64,
    max_version: i64,
    record_count: u64,
    records_untyped: u64,
    rows: BatchRows,
    /// The stream's slot for a decoded batch, given back once the batch is written.
    _slot: Option<OwnedSemaphorePermit>,
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
    /// Set by whichever half fails, so the other stops.
    pub cancelled: Arc<AtomicBool>,
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
        if ctx.cancelled.load(Ordering::SeqCst) {
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
            if ctx.cancelled.load(Ordering::SeqCst) {
                return Ok(());
            }
            // The batch's share of the budget is taken before it is decoded, so the budget
            // bounds what exists decoded, not only what is spooled.
            let raw_bytes = page.bytes(chunk.records.clone());
            let budget_kib =
                ((raw_bytes * IN_FLIGHT_PER_RAW_BYTE / 1024) as u32 + 1).min(ctx.spool_budget_kib);
            let permit = tokio::select! {
                permit = ctx.spool_budget.acquire_many(budget_kib) => permit.context("spool budget closed")?,
                _ = wait_for_cancel(&ctx.cancelled) => return Ok(()),
            };
            permit.forget();
            let slot = tokio::select! {
                slot = ctx.decoded_slots.clone().acquire_owned() => slot.context("decoded slots closed")?,
                _ = wait_for_cancel(&ctx.cancelled) => {
                    ctx.spool_budget.add_permits(budget_kib as usize);
                    return Ok(());
                }
            };
            let records = page
                .decode(entity, chunk.records.clone())
                .with_context(|| format!("decoding the {entity} page after version {cursor}"))?;
            let fetched = super::child_fetch::attach_children(&ctx, records, page_version).await?;
            crash_point("after-fetch");
            let stream = ctx.clone();
            let (after, max_version) = (chunk.after, chunk.max_version);
            let prepared = tokio::task::spawn_blocking(move || {
                spool_and_prepare(&stream, after, max_version, fetched, budget_kib, slot)
            })
            .await
            .map_err(|err| match err.try_into_panic() {
                Ok(panic) => anyhow!(
                    "preparing a {entity} batch panicked: {}; what was spooled is kept and applied by the next run",
                    panic_message(panic.as_ref())
                ),
                Err(err) => anyhow!("the {entity} spool task failed: {err}"),
            })??;
            crash_point("after-spool");
            ctx.progress
                .records_fetched
                .fetch_add(prepared.record_count, Ordering::Relaxed);
            cursor = max_version;
            if applier.send(prepared).await.is_err() {
                // The applier stopped (it failed and said why); stop fetching.
                return Ok(());
            }
        }
        ctx.progress.pages_fetched.fetch_add(1, Ordering::Relaxed);
    }
}

/// Spools a fetched page (the records' text, with fetched children embedded) and maps its
/// already decoded records to rows.
fn spool_and_prepare(
    ctx: &StreamContext,
    after: i64,
    max_version: i64,
    fetched: WithChildren,
    budget_kib: u32,
    slot: OwnedSemaphorePermit,
) -> anyhow::Result<PreparedBatch> {
    let entity = ctx.entity;
    let WithChildren {
        records,
        spool_texts,
    } = fetched;
    let texts: Vec<&str> = match &spool_texts {
        Some(texts) => texts.iter().map(String::as_str).collect(),
        None => records.iter().map(|record| record.raw.as_str()).collect(),
    };
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
    Ok(PreparedBatch {
        seq,
        budget_kib,
        after,
        max_version,
        record_count: records.len() as u64,
        records_untyped: ctx.progress.untyped.note(entity, &records),
        rows: rows_for_records(entity, records),
        _slot: Some(slot),
    })
}

async fn wait_for_cancel(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the applier writes.
pub struct ApplierTarget {
    pub pool: PgPool,
    pub url: DatabaseUrl,
    pub patience: Duration,
}

/// Applies recovered batches (read back from the spool), then every batch the fetcher hands
/// over until the fetcher is done. Runs on its own thread (diesel is blocking); while it writes
/// one batch, the fetcher prepares the next. An entity with several lanes (`lanes_for`) has its
/// batches written by that many threads at once, committed in order.
pub fn run_applier(
    ctx: Arc<StreamContext>,
    target: ApplierTarget,
    recovered: Vec<u64>,
    mut batches: mpsc::Receiver<PreparedBatch>,
) -> anyhow::Result<()> {
    let result = (|| {
        for seq in recovered {
            apply_batch(&ctx, &target, load_batch(&ctx, seq, 0)?, None)?;
        }
        let lanes = lanes_for(ctx.entity);
        if lanes == 1 {
            while let Some(batch) = batches.blocking_recv() {
                apply_batch(&ctx, &target, batch, None)?;
            }
            return Ok(());
        }
        let turn = CommitTurn::default();
        std::thread::scope(|scope| {
            let mut senders = Vec::new();
            let mut workers = Vec::new();
            for _ in 0..lanes {
                let (sender, receiver) =
                    std::sync::mpsc::sync_channel::<(PreparedBatch, InTurn)>(0);
                senders.push(sender);
                let (ctx, target, turn) = (&ctx, &target, &turn);
                workers.push(scope.spawn(move || {
                    let result = receiver.iter().try_for_each(|(batch, order)| {
                        apply_batch(ctx, target, batch, Some((turn, order)))
                    });
                    if result.is_err() {
                        ctx.cancelled.store(true, Ordering::SeqCst);
                    }
                    result
                }));
            }
            let mut overlap = OverlapCheck::new(lanes);
            let mut ordinal = 0u64;
            while let Some(batch) = batches.blocking_recv() {
                let order = InTurn {
                    ordinal,
                    wait_before_writing: overlap.overlaps(&batch.rows),
                };
                if senders[(ordinal % lanes as u64) as usize]
                    .send((batch, order))
                    .is_err()
                {
                    break; // that lane failed and said why
                }
                ordinal += 1;
            }
            drop(senders);
            let results: Vec<anyhow::Result<()>> = workers
                .into_iter()
                .map(|worker| {
                    worker.join().unwrap_or_else(|panic| {
                        Err(anyhow!(
                            "a {} writer panicked: {}",
                            ctx.entity,
                            panic_message(panic.as_ref())
                        ))
                    })
                })
                .collect();
            first_cause(results)
        })
    })();
    if result.is_err() {
        ctx.cancelled.store(true, Ordering::SeqCst);
    }
    result
}

/// Where a batch written on one of several lanes stands in its entity's commit order.
#[derive(Debug, Clone, Copy)]
struct InTurn {
    ordinal: u64,
    /// It touches a row of a batch still in flight on another lane: it waits for its turn
    /// before writing anything.
    wait_before_writing: bool,
}

/// The error that stopped the lanes: a lane's own failure rather than the others stopping
/// because of it.
fn first_cause(results: Vec<anyhow::Result<()>>) -> anyhow::Result<()> {
    let mut errors: Vec<anyhow::Error> = results.into_iter().filter_map(Result::err).collect();
    let stopped = |err: &anyhow::Error| {
        err.chain()
            .any(|cause| matches!(cause.downcast_ref::<DbError>(), Some(DbError::Stopped)))
    };
    errors.sort_by_key(stopped);
    match errors.into_iter().next() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Reads a spooled batch back and maps its records to rows (recovery, or a retry after the
/// rows were spent on a failed write).
fn load_batch(ctx: &StreamContext, seq: u64, budget_kib: u32) -> anyhow::Result<PreparedBatch> {
    let entity = ctx.entity;
    panic_point("prepare-batch");
    let batch = ctx.store.load_batch(entity, seq)?;
    let records = batch
        .records
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            decode_record(entity, raw, Some(batch.max_version)).map_err(|err| {
                anyhow!(
                    "spooled {entity} batch {seq} record {index} cannot be decoded: {err}; run `lightsync checkpoint reset --entity {entity} --yes`"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PreparedBatch {
        seq,
        budget_kib,
        after: batch.after,
        max_version: batch.max_version,
        record_count: records.len() as u64,
        records_untyped: ctx.progress.untyped.note(entity, &records),
        rows: rows_for_records(entity, records),
        _slot: None,
    })
}

/// Writes a batch in one transaction with the entity's bookkeeping, retrying through a
/// PostgreSQL outage, then releases it from the spool.
fn apply_batch(
    ctx: &StreamContext,
    target: &ApplierTarget,
    batch: PreparedBatch,
    in_turn: Option<(&CommitTurn, InTurn)>,
) -> anyhow::Result<()> {
    let entity = ctx.entity;
    let PreparedBatch {
        seq,
        budget_kib,
        after,
        max_version,
        record_count,
        records_untyped,
        rows,
        _slot,
    } = batch;
    crash_point("before-apply");
    if let Some((turn, order)) = in_turn {
        if order.wait_before_writing && !turn.wait(order.ordinal, &ctx.cancelled) {
            return Err(DbError::Stopped.into());
        }
    }
    let mut rows = Some(rows);
    let mut failures = 0u32;
    let first_failure = Instant::now();
    let outcome = loop {
        let attempt = (|| -> Result<db::ApplyOutcome, anyhow::Error> {
            // The rows are consumed by a write; a retry after an outage reads them again.
            let rows = match rows.take() {
                Some(rows) => rows,
                None => load_batch(ctx, seq, 0)?.rows,
            };
            let totals = ctx.counters.totals();
            let bookkeeping = BatchBookkeeping {
                run_id: &ctx.run_id,
                entity: entity.name(),
                after: Some(after),
                max_version,
                records_fetched: record_count,
                records_untyped,
                requests: totals.requests,
                retries: totals.retries,
                rate_limited: totals.rate_limited,
            };
            let mut conn = db::checkout(&target.pool, &target.url)?;
            let wait_turn = || match in_turn {
                Some((turn, order)) if !turn.wait(order.ordinal, &ctx.cancelled) => {
                    Err(DbError::Stopped)
                }
                _ => Ok(()),
            };
            Ok(db::apply_batch_in_turn(
                &mut conn,
                rows,
                &bookkeeping,
                wait_turn,
                || crash_point("in-apply"),
            )?)
        })();
        match attempt {
            Ok(outcome) => break outcome,
            Err(err) => {
                let transient = err
                    .downcast_ref::<DbError>()
                    .is_some_and(DbError::is_transient);
                if !transient {
                    return Err(err.context(format!(
                        "applying {entity} batch {seq} (versions {after}..{max_version})"
                    )));
                }
                if first_failure.elapsed() >= target.patience {
                    return Err(err.context(format!(
                        "PostgreSQL stayed unreachable for {} s (LIGHTSYNC_DB_PATIENCE_SECS); everything fetched is kept in the checkpoint store for the next run",
                        target.patience.as_secs()
                    )));
                }
                failures += 1;
                let delay = DB_RETRY.ceiling(failures);
                log::warn!(
                    "{entity}: PostgreSQL write failed ({err:#}); retrying in {:.1} s (patience left {} s)",
                    delay.as_secs_f64(),
                    target.patience.saturating_sub(first_failure.elapsed()).as_secs()
                );
                std::thread::sleep(delay);
            }
        }
    };
    if let Some((turn, order)) = in_turn {
        turn.advance(order.ordinal);
    }
    crash_point("after-apply");
    ctx.store.release_batch(entity, seq)?;
    if budget_kib > 0 {
        ctx.spool_budget.add_permits(budget_kib as usize);
    }
    crash_point("after-release");
    let progress = &ctx.progress;
    progress.pages_applied.fetch_add(1, Ordering::Relaxed);
    progress
        .records_applied
        .fetch_add(record_count, Ordering::Relaxed);
    progress
        .inserted
        .fetch_add(outcome.inserted, Ordering::Relaxed);
    progress
        .updated
        .fetch_add(outcome.updated, Ordering::Relaxed);
    progress
        .deleted
        .fetch_add(outcome.deleted, Ordering::Relaxed);
    progress
        .line_items
        .fetch_add(outcome.children_written[0], Ordering::Relaxed);
    Ok(())
}
