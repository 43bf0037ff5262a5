//! One entity's stream in a run: its fetching half (a tokio task) and its applying half (a
//! thread), spawned together, stopped together, and joined into the entity's report.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Semaphore};

use super::applier::run_applier;
use super::failure::{first_cause, Failures, StageError};
use super::panics::panic_message;
use super::pipeline::{decoded_batches_per_stream, run_fetcher, EntityProgress, StreamContext};
use super::progress::Watched;
use super::recovery::Recovered;
use super::refresh::run_refresh;
use super::report::EntityReport;
use super::write_strategy::ApplierTarget;
use crate::checkpoint::CheckpointStore;
use crate::entity::Entity;
use crate::lightspeed::{Client, RequestCounters};

/// Prepared batches an entity's fetcher may hand over before the applier takes them.
const PREPARED_AHEAD: usize = 1;

/// What every stream of a run shares.
pub struct SharedByStreams {
    pub run_id: String,
    pub store: Arc<CheckpointStore>,
    pub client: Client,
    pub page_size: u32,
    pub target: ApplierTarget,
    /// The budget (KiB) of every stream's batches in flight.
    pub spool_budget: Arc<Semaphore>,
    pub spool_budget_kib: u32,
    /// Fetch one page and stop, leaving the proof of having reached the end (the empty page)
    /// to the next full run: a webhook run, whose changes fit in a page, then costs one
    /// request instead of two.
    pub one_page: bool,
}

/// A running stream.
pub struct Stream {
    ctx: Arc<StreamContext>,
    fetcher: tokio::task::JoinHandle<Result<(), StageError>>,
    /// Ends last (it drains what the fetcher spooled), so its end is the entity's end.
    applier: std::thread::JoinHandle<(Result<(), StageError>, DateTime<Utc>)>,
    started_at: DateTime<Utc>,
    recovered_batches: usize,
}

impl Stream {
    /// Starts the applier thread, then the fetcher (or, for an entity copied whole, the
    /// refresh, which applies in its own transaction and hands the applier nothing).
    pub fn spawn(
        shared: &SharedByStreams,
        entity: Entity,
        recovered: Recovered,
    ) -> std::io::Result<Stream> {
        let ctx = Arc::new(StreamContext {
            entity,
            run_id: shared.run_id.clone(),
            store: shared.store.clone(),
            client: shared.client.clone(),
            page_size: shared.page_size,
            counters: Arc::new(RequestCounters::default()),
            progress: Arc::new(EntityProgress::default()),
            spool_budget: shared.spool_budget.clone(),
            spool_budget_kib: shared.spool_budget_kib,
            decoded_slots: Arc::new(Semaphore::new(decoded_batches_per_stream(entity))),
            failures: Failures::default(),
            longest_child_page: Default::default(),
            one_page: shared.one_page,
        });
        let (sender, receiver) = mpsc::channel(PREPARED_AHEAD);
        let pending: Vec<u64> = recovered.pending.iter().map(|batch| batch.seq).collect();
        let (applier_ctx, target) = (ctx.clone(), shared.target.clone());
        let applier = std::thread::Builder::new()
            .name(format!("apply-{entity}"))
            .spawn(move || {
                let result = run_applier(applier_ctx, target, pending, receiver);
                (result, Utc::now())
            })?;
        let fetcher_ctx = ctx.clone();
        let fetcher = if entity.spec().is_refreshed() {
            drop(sender);
            let target = shared.target.clone();
            tokio::spawn(async move {
                let refreshed = run_refresh(fetcher_ctx.clone(), target).await;
                refreshed.map_err(|err| fetcher_ctx.failures.stamp(err))
            })
        } else {
            tokio::spawn(async move {
                let fetched =
                    run_fetcher(fetcher_ctx.clone(), recovered.fetch_cursor, sender).await;
                fetched.map_err(|err| fetcher_ctx.failures.stamp(err))
            })
        };
        Ok(Stream {
            ctx,
            fetcher,
            applier,
            started_at: Utc::now(),
            recovered_batches: recovered.pending.len(),
        })
    }

    /// What the progress display reads of this stream.
    pub fn watched(&self) -> Watched {
        Watched {
            entity: self.ctx.entity,
            progress: self.ctx.progress.clone(),
            counters: self.ctx.counters.clone(),
        }
    }

    /// Stops the stream: the fetcher at once, the applier once it has drained.
    pub fn stop(&self) {
        self.ctx.failures.cancel();
        self.fetcher.abort();
    }

    /// Waits for both halves and reports how the entity's run ended.
    pub async fn join(self) -> EntityReport {
        let ctx = self.ctx.clone();
        let fetched = self.fetcher.await.unwrap_or_else(|err| {
            Err(ctx
                .failures
                .stamp(anyhow!("the {} fetcher panicked: {err}", ctx.entity)))
        });
        let (applied, finished_at) = join_applier(&ctx, self.applier).await;
        ctx.progress.finished.store(true, Ordering::SeqCst);
        let ended = match first_cause([fetched.err(), applied.err()].into_iter().flatten()) {
            Some(cause) => Err(cause.into_error()),
            None => Ok(()),
        };
        let (error, skipped) = super::skip::judge(ended);
        if let Some(error) = &error {
            log::error!("{}: {error}", ctx.entity);
        }
        if let Some(reason) = &skipped {
            log::warn!("{}: skipped: {reason}", ctx.entity);
        }
        let p = &ctx.progress;
        EntityReport {
            entity: ctx.entity,
            error,
            skipped,
            pages: p.pages_applied.load(Ordering::Relaxed),
            records: p.records_applied.load(Ordering::Relaxed),
            inserted: p.inserted.load(Ordering::Relaxed),
            updated: p.updated.load(Ordering::Relaxed),
            deleted: p.deleted.load(Ordering::Relaxed),
            line_items: p.line_items.load(Ordering::Relaxed),
            caught_up: p.caught_up.load(Ordering::Relaxed),
            requests: ctx.counters.totals(),
            recovered_batches: self.recovered_batches,
            started_at: self.started_at,
            finished_at,
        }
    }
}

/// Joins the applier thread without blocking the runtime; a panic becomes the stream's error.
async fn join_applier(
    ctx: &Arc<StreamContext>,
    applier: std::thread::JoinHandle<(Result<(), StageError>, DateTime<Utc>)>,
) -> (Result<(), StageError>, DateTime<Utc>) {
    let panicked = ctx.clone();
    tokio::task::spawn_blocking(move || {
        applier.join().unwrap_or_else(|panic| {
            let err = anyhow!(
                "the {} applier panicked: {}",
                panicked.entity,
                panic_message(panic.as_ref())
            );
            (Err(panicked.failures.stamp(err)), Utc::now())
        })
    })
    .await
    .unwrap_or_else(|err| (Err(ctx.failures.stamp(err.into())), Utc::now()))
}
