//! One entity's applying half: recovered batches, then every batch its fetcher hands over, each
//! written in one PostgreSQL transaction with the entity's cursor (retrying through an outage)
//! and then released from the spool; on one connection, or on several lanes committing in order.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use tokio::sync::mpsc;

use super::failure::{first_cause, StageError};
use super::lanes::{lanes_for, CommitTurn, OverlapCheck, Turn};
use super::mapping::rows_for_records;
use super::panics::panic_message;
use super::pipeline::{PreparedBatch, StreamContext};
use crate::backoff::Backoff;
use crate::config::DatabaseUrl;
use crate::db::{self, BatchBookkeeping, DbError, PgPool, WriteMode};
use crate::failpoint::{crash_point, insert_first_forced, panic_point};
use crate::lightspeed::{decode_or_quarantine, Sorted};

/// Waits between attempts to reach PostgreSQL during an outage: 500 ms doubled per failure, at
/// most 15 s, so a server that comes back is found within seconds.
const DB_RETRY: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));

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
    batches: mpsc::Receiver<PreparedBatch>,
) -> Result<(), StageError> {
    // A panic is stamped where it happens, so the stream's other half stops at once and the
    // panic is reported as the cause rather than what it stopped.
    let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
        apply_all(&ctx, &target, recovered, batches)
    }));
    match applied {
        Ok(result) => result,
        Err(panic) => Err(ctx.failures.stamp(anyhow!(
            "the {} applier panicked: {}",
            ctx.entity,
            panic_message(panic.as_ref())
        ))),
    }
}

fn apply_all(
    ctx: &StreamContext,
    target: &ApplierTarget,
    recovered: Vec<u64>,
    mut batches: mpsc::Receiver<PreparedBatch>,
) -> Result<(), StageError> {
    let new_rows = NewRowsLately::default();
    let stamp = |err| ctx.failures.stamp(err);
    for seq in recovered {
        let batch = load_batch(ctx, seq, 0).map_err(stamp)?;
        apply_batch(ctx, target, batch, &new_rows, None).map_err(stamp)?;
    }
    let lanes = lanes_for(ctx.entity);
    if lanes == 1 {
        while let Some(batch) = batches.blocking_recv() {
            apply_batch(ctx, target, batch, &new_rows, None).map_err(stamp)?;
        }
        return Ok(());
    }
    let turn = CommitTurn::default();
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..lanes {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<(PreparedBatch, InTurn)>(0);
            senders.push(sender);
            let (turn, new_rows) = (&turn, &new_rows);
            workers.push(scope.spawn(move || {
                let written = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    receiver.iter().try_for_each(|(batch, order)| {
                        apply_batch(ctx, target, batch, new_rows, Some((turn, order)))
                    })
                }));
                match written {
                    Ok(result) => result.map_err(stamp),
                    // Stamped here, not when the lane is joined: the other lane may be
                    // waiting for this one's turn and must be told to stop now.
                    Err(panic) => Err(stamp(anyhow!(
                        "a {} writer panicked: {}",
                        ctx.entity,
                        panic_message(panic.as_ref())
                    ))),
                }
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
        let failed = workers
            .into_iter()
            .filter_map(|worker| worker.join().expect("a lane catches its own panics").err());
        match first_cause(failed.collect::<Vec<_>>()) {
            Some(cause) => Err(cause),
            None => Ok(()),
        }
    })
}

/// How long a batch that has written its rows waits for the batches before it to commit. A
/// batch's write takes well under a second; a longer wait may be a lock the batch before it
/// needs from this one (a row the key check cannot see, such as an old child row both
/// replace), so the batch rolls back, waits outside its transaction and writes again.
const TURN_PATIENCE: Duration = Duration::from_secs(20);

fn is_turn_timeout(err: &anyhow::Error) -> bool {
    matches!(err.downcast_ref::<DbError>(), Some(DbError::TurnTimedOut))
}

/// Whether the entity's last batch inserted every row it wrote, as an import's do: the next
/// batch is then tried with plain inserts (`WriteMode::InsertNew`), which spare PostgreSQL the
/// conflict check of every row. A batch with a row that exists already is written again as an
/// upsert, and the batches after it start as upserts until one inserts everything again, so an
/// incremental run, whose batches mostly update, pays for at most one such attempt.
#[derive(Debug, Default)]
struct NewRowsLately(AtomicBool);

impl NewRowsLately {
    fn mode(&self) -> WriteMode {
        if self.0.load(Ordering::Relaxed) || insert_first_forced() {
            WriteMode::InsertNew
        } else {
            WriteMode::Upsert
        }
    }

    fn written(&self, outcome: &db::ApplyOutcome) {
        let all_new = outcome.inserted > 0 && outcome.updated == 0 && outcome.unchanged == 0;
        self.0.store(all_new, Ordering::Relaxed);
    }
}

fn is_key_taken(err: &anyhow::Error) -> bool {
    err.downcast_ref::<DbError>()
        .is_some_and(DbError::is_key_taken)
}

/// Where a batch written on one of several lanes stands in its entity's commit order.
#[derive(Debug, Clone, Copy)]
struct InTurn {
    ordinal: u64,
    /// It touches a row of a batch still in flight on another lane: it waits for its turn
    /// before writing anything.
    wait_before_writing: bool,
}

/// Reads a spooled batch back and maps its records to rows (recovery, or a retry after the
/// rows were spent on a failed write).
fn load_batch(ctx: &StreamContext, seq: u64, budget_kib: u32) -> anyhow::Result<PreparedBatch> {
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
    Ok(PreparedBatch {
        seq,
        budget_kib,
        after: batch.after,
        max_version: batch.max_version,
        record_count: records.len() as u64,
        records_untyped: ctx.progress.untyped.note(entity, &records),
        rows: rows_for_records(entity, records),
        quarantined: ctx.progress.note_quarantined(entity, quarantined),
        _slot: None,
    })
}

/// Writes a batch in one transaction with the entity's bookkeeping, retrying through a
/// PostgreSQL outage, then releases it from the spool.
fn apply_batch(
    ctx: &StreamContext,
    target: &ApplierTarget,
    batch: PreparedBatch,
    new_rows: &NewRowsLately,
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
        quarantined,
        _slot,
    } = batch;
    crash_point("before-apply");
    panic_point("apply-batch");
    if let Some((turn, order)) = in_turn {
        if order.wait_before_writing
            && turn.wait(order.ordinal, ctx.failures.cancelled(), None) != Turn::Ready
        {
            return Err(DbError::Stopped.into());
        }
    }
    let mut rows = Some(rows);
    let mut mode = new_rows.mode();
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
                quarantined: &quarantined,
                requests: totals.requests,
                retries: totals.retries,
                rate_limited: totals.rate_limited,
            };
            let mut conn = db::checkout(&target.pool, &target.url)?;
            let wait_turn = || match in_turn {
                None => Ok(()),
                Some((turn, order)) => {
                    match turn.wait(order.ordinal, ctx.failures.cancelled(), Some(TURN_PATIENCE)) {
                        Turn::Ready => Ok(()),
                        Turn::Cancelled => Err(DbError::Stopped),
                        Turn::TimedOut => Err(DbError::TurnTimedOut),
                    }
                }
            };
            Ok(db::apply_batch_in_turn(
                &mut conn,
                rows,
                &bookkeeping,
                mode,
                wait_turn,
                || crash_point("in-apply"),
            )?)
        })();
        match attempt {
            Ok(outcome) => break outcome,
            Err(err) if mode == WriteMode::InsertNew && is_key_taken(&err) => {
                // Rolled back: write it again, rows that exist included.
                log::debug!(
                    "{entity}: batch {seq} has rows that exist already; writing it as upserts"
                );
                mode = WriteMode::Upsert;
            }
            Err(err) if is_turn_timeout(&err) => {
                // Rolled back, so whatever lock the batch before it waits for is free; wait
                // for its commit here, then write again (the rows come back from the spool).
                let (turn, order) = in_turn.expect("only batches on lanes wait for a turn");
                log::info!(
                    "{entity}: batch {seq} waited {} s for the batch before it; writing it again once that one commits",
                    TURN_PATIENCE.as_secs()
                );
                if turn.wait(order.ordinal, ctx.failures.cancelled(), None) != Turn::Ready {
                    return Err(DbError::Stopped.into());
                }
            }
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
    new_rows.written(&outcome);
    if let Some((turn, order)) = in_turn {
        turn.advance(order.ordinal);
    }
    crash_point("after-apply");
    ctx.store.release_batch(entity, seq)?;
    if budget_kib > 0 {
        ctx.spool_budget.add_permits(budget_kib as usize);
    }
    crash_point("after-release");
    ctx.progress.applied(record_count, &outcome);
    Ok(())
}
