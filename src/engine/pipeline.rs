//! One entity's stream: a fetcher task (API page -> spool, advancing the cursor) and an applier
//! thread (spool -> one PostgreSQL transaction per batch -> release), joined by a channel of
//! batch sequence numbers and bounded by the shared spool budget in bytes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tokio::sync::{mpsc, Semaphore};

use super::failpoint::{crash_point, panic_point};
use super::mapping::rows_for_records;
use super::panics::panic_message;
use crate::backoff::Backoff;
use crate::checkpoint::{CheckpointStore, SpooledBatch};
use crate::config::DatabaseUrl;
use crate::db::rows::BatchRows;
use crate::db::{self, BatchBookkeeping, DbError, PgPool};
use crate::entity::Entity;
use crate::lightspeed::{decode_record, Client, RequestCounters};

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

/// A spooled batch handed from the fetcher to the applier.
#[derive(Debug, Clone, Copy)]
pub struct SpooledRef {
    pub seq: u64,
    /// Spool budget (KiB) to give back once applied.
    pub budget_kib: u32,
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
    pub spool_budget: Arc<Semaphore>,
    pub spool_budget_kib: u32,
    /// Set by whichever half fails, so the other stops.
    pub cancelled: Arc<AtomicBool>,
}

/// Fetches pages from `cursor` until the empty page, spooling each before handing it on.
pub async fn run_fetcher(
    ctx: Arc<StreamContext>,
    mut cursor: i64,
    applier: mpsc::UnboundedSender<SpooledRef>,
) -> anyhow::Result<()> {
    let entity = ctx.entity;
    loop {
        if ctx.cancelled.load(Ordering::SeqCst) {
            return Ok(());
        }
        let page = ctx
            .client
            .fetch_page(entity, cursor, ctx.page_size, &ctx.counters)
            .await?;
        let Some(max_version) = page.max_version else {
            ctx.progress.caught_up.store(true, Ordering::SeqCst);
            return Ok(());
        };
        let records = super::child_fetch::spool_texts(&ctx, page.records).await?;
        crash_point("after-fetch");
        let record_count = records.len() as u64;
        let page_bytes: usize = records.iter().map(String::len).sum();
        let budget_kib = ((page_bytes / 1024) as u32 + 1).min(ctx.spool_budget_kib);
        let permit = tokio::select! {
            permit = ctx.spool_budget.acquire_many(budget_kib) => permit.context("spool budget closed")?,
            _ = wait_for_cancel(&ctx.cancelled) => return Ok(()),
        };
        permit.forget();
        let batch = SpooledBatch {
            after: cursor,
            max_version,
            fetched_at_ms: chrono::Utc::now().timestamp_millis(),
            records,
        };
        let store = ctx.store.clone();
        let (seq, _) = tokio::task::spawn_blocking(move || store.spool_batch(entity, &batch))
            .await
            .context("the spool task panicked")?
            .with_context(|| format!("spooling a {entity} page after version {cursor}"))?;
        crash_point("after-spool");
        ctx.progress.pages_fetched.fetch_add(1, Ordering::Relaxed);
        ctx.progress
            .records_fetched
            .fetch_add(record_count, Ordering::Relaxed);
        cursor = max_version;
        if applier.send(SpooledRef { seq, budget_kib }).is_err() {
            // The applier stopped (it failed and said why); stop fetching.
            return Ok(());
        }
    }
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

/// A spooled batch read back and mapped to rows, ready to write.
struct PreparedBatch {
    spooled: SpooledRef,
    after: i64,
    max_version: i64,
    record_count: u64,
    records_untyped: u64,
    rows: BatchRows,
}

/// Applies recovered batches, then every batch the fetcher spools, until the fetcher is done.
/// Runs on its own thread (diesel is blocking), with a helper thread that reads and decodes the
/// next batch while the current one is being written.
pub fn run_applier(
    ctx: Arc<StreamContext>,
    target: ApplierTarget,
    recovered: Vec<u64>,
    mut batches: mpsc::UnboundedReceiver<SpooledRef>,
) -> anyhow::Result<()> {
    let (prepared_tx, prepared_rx) =
        std::sync::mpsc::sync_channel::<anyhow::Result<PreparedBatch>>(0);
    let preparer_ctx = ctx.clone();
    let preparer = std::thread::Builder::new()
        .name(format!("prepare-{}", ctx.entity))
        .spawn(move || {
            let recovered = recovered
                .into_iter()
                .map(|seq| SpooledRef { seq, budget_kib: 0 });
            for spooled in recovered.chain(std::iter::from_fn(|| batches.blocking_recv())) {
                let prepared = prepare_batch(&preparer_ctx, spooled);
                let failed = prepared.is_err();
                if prepared_tx.send(prepared).is_err() || failed {
                    break;
                }
            }
        })
        .context("starting a preparer thread")?;
    let result = (|| {
        for prepared in prepared_rx {
            apply_prepared(&ctx, &target, prepared?)?;
        }
        Ok(())
    })();
    if result.is_err() {
        ctx.cancelled.store(true, Ordering::SeqCst);
    }
    // A panic while preparing closes the channel like a clean end would: the join says which.
    match preparer.join() {
        Ok(()) => result,
        Err(panic) => {
            ctx.cancelled.store(true, Ordering::SeqCst);
            Err(anyhow!(
                "preparing a {} batch panicked: {}; what was spooled is kept and applied by the next run",
                ctx.entity,
                panic_message(panic.as_ref())
            ))
        }
    }
}

/// Reads a spooled batch and maps its records to rows.
fn prepare_batch(ctx: &StreamContext, spooled: SpooledRef) -> anyhow::Result<PreparedBatch> {
    let entity = ctx.entity;
    panic_point("prepare-batch");
    let batch = ctx.store.load_batch(entity, spooled.seq)?;
    let records = batch
        .records
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            decode_record(entity, raw, Some(batch.max_version)).map_err(|err| {
                anyhow!(
                    "spooled {entity} batch {} record {index} cannot be decoded: {err}; run `lightsync checkpoint reset --entity {entity} --yes`",
                    spooled.seq
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PreparedBatch {
        spooled,
        after: batch.after,
        max_version: batch.max_version,
        record_count: records.len() as u64,
        records_untyped: ctx.progress.untyped.note(entity, &records),
        rows: rows_for_records(entity, records),
    })
}

fn apply_prepared(
    ctx: &StreamContext,
    target: &ApplierTarget,
    prepared: PreparedBatch,
) -> anyhow::Result<()> {
    let entity = ctx.entity;
    let PreparedBatch {
        spooled,
        after,
        max_version,
        record_count,
        records_untyped,
        rows,
    } = prepared;
    crash_point("before-apply");
    let mut rows = Some(rows);
    let mut failures = 0u32;
    let first_failure = Instant::now();
    let outcome = loop {
        let attempt = (|| -> Result<db::ApplyOutcome, anyhow::Error> {
            // The rows are consumed by a write; a retry after an outage maps them again.
            let rows = match rows.take() {
                Some(rows) => rows,
                None => prepare_batch(ctx, spooled)?.rows,
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
            Ok(db::apply_batch(&mut conn, rows, &bookkeeping, || {
                crash_point("in-apply")
            })?)
        })();
        match attempt {
            Ok(outcome) => break outcome,
            Err(err) => {
                let transient = err
                    .downcast_ref::<DbError>()
                    .is_some_and(DbError::is_transient);
                if !transient {
                    return Err(err.context(format!(
                        "applying {entity} batch {} (versions {after}..{max_version})",
                        spooled.seq
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
    crash_point("after-apply");
    ctx.store.release_batch(entity, spooled.seq)?;
    if spooled.budget_kib > 0 {
        ctx.spool_budget.add_permits(spooled.budget_kib as usize);
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
