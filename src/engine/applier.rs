//! One entity's applying half: recovered batches, then every batch its fetcher hands over, each
//! written by the entity's `WriteStrategy` and then released from the spool; on one connection,
//! or on several lanes that commit in the order the batches were handed over.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

use anyhow::anyhow;
use tokio::sync::mpsc;

use super::failure::{first_cause, StageError};
use super::lanes::{CommitTurn, OverlapCheck};
use super::panics::panic_message;
use super::pipeline::{load_batch, PreparedBatch, StreamContext};
use super::write_strategy::{ApplierTarget, TurnTicket, WriteStrategy};
use crate::failpoint::{crash_point, panic_point};

/// Applies recovered batches (read back from the spool), then every batch the fetcher hands
/// over until the fetcher is done. Runs on its own thread (diesel is blocking); while it writes
/// one batch, the fetcher prepares the next.
pub fn run_applier(
    ctx: Arc<StreamContext>,
    target: ApplierTarget,
    recovered: Vec<u64>,
    batches: mpsc::Receiver<PreparedBatch>,
) -> Result<(), StageError> {
    // A panic is stamped where it happens, so the stream's other half stops at once and the
    // panic is reported as the cause rather than what it stopped.
    let strategy = WriteStrategy::for_entity(ctx.entity, target);
    let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
        apply_recovered(&ctx, &strategy, recovered)?;
        if strategy.lanes() == 1 {
            apply_in_order(&ctx, &strategy, batches)
        } else {
            apply_on_lanes(&ctx, &strategy, batches)
        }
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

/// The batches a previous run spooled and did not apply, read back in order.
fn apply_recovered(
    ctx: &StreamContext,
    strategy: &WriteStrategy,
    recovered: Vec<u64>,
) -> Result<(), StageError> {
    for seq in recovered {
        let batch = load_batch(ctx, seq, 0).map_err(|err| ctx.failures.stamp(err))?;
        apply_batch(ctx, strategy, batch, None).map_err(|err| ctx.failures.stamp(err))?;
    }
    Ok(())
}

/// One batch after the other on this thread's connection.
fn apply_in_order(
    ctx: &StreamContext,
    strategy: &WriteStrategy,
    mut batches: mpsc::Receiver<PreparedBatch>,
) -> Result<(), StageError> {
    while let Some(batch) = batches.blocking_recv() {
        apply_batch(ctx, strategy, batch, None).map_err(|err| ctx.failures.stamp(err))?;
    }
    Ok(())
}

/// A batch handed to a lane, with its place in the commit order.
type LaneOrder = (PreparedBatch, u64, bool);

/// Batches dealt round-robin to `strategy.lanes()` writer threads, committed in order.
fn apply_on_lanes(
    ctx: &StreamContext,
    strategy: &WriteStrategy,
    mut batches: mpsc::Receiver<PreparedBatch>,
) -> Result<(), StageError> {
    let lanes = strategy.lanes();
    let turn = CommitTurn::default();
    std::thread::scope(|scope| {
        let (senders, workers): (Vec<_>, Vec<_>) = (0..lanes)
            .map(|_| spawn_lane(scope, ctx, strategy, &turn))
            .unzip();
        let mut overlap = OverlapCheck::new(lanes);
        let mut ordinal = 0u64;
        while let Some(batch) = batches.blocking_recv() {
            let wait_before_writing = overlap.overlaps(&batch.rows);
            let lane = &senders[(ordinal % lanes as u64) as usize];
            if lane.send((batch, ordinal, wait_before_writing)).is_err() {
                break; // that lane failed and said why
            }
            ordinal += 1;
        }
        drop(senders);
        let failed = workers
            .into_iter()
            .filter_map(|worker| worker.join().expect("a lane catches its own panics").err());
        first_cause(failed.collect::<Vec<_>>()).map_or(Ok(()), Err)
    })
}

/// A writer thread of one lane: writes what it is handed, each batch in its turn.
fn spawn_lane<'scope>(
    scope: &'scope Scope<'scope, '_>,
    ctx: &'scope StreamContext,
    strategy: &'scope WriteStrategy,
    turn: &'scope CommitTurn,
) -> (
    SyncSender<LaneOrder>,
    ScopedJoinHandle<'scope, Result<(), StageError>>,
) {
    let (sender, receiver) = sync_channel::<LaneOrder>(0);
    let worker = scope.spawn(move || {
        let written = std::panic::catch_unwind(AssertUnwindSafe(|| {
            receiver
                .iter()
                .try_for_each(|(batch, ordinal, wait_before_writing)| {
                    let ticket = TurnTicket {
                        turn,
                        ordinal,
                        wait_before_writing,
                    };
                    apply_batch(ctx, strategy, batch, Some(ticket))
                })
        }));
        match written {
            Ok(result) => result.map_err(|err| ctx.failures.stamp(err)),
            // Stamped here, not when the lane is joined: the other lane may be waiting for
            // this one's turn and must be told to stop now.
            Err(panic) => Err(ctx.failures.stamp(anyhow!(
                "a {} writer panicked: {}",
                ctx.entity,
                panic_message(panic.as_ref())
            ))),
        }
    });
    (sender, worker)
}

/// Writes a batch (see `WriteStrategy::write`), then releases it from the spool and gives its
/// share of the in-flight budget back.
fn apply_batch(
    ctx: &StreamContext,
    strategy: &WriteStrategy,
    batch: PreparedBatch,
    ticket: Option<TurnTicket>,
) -> anyhow::Result<()> {
    let PreparedBatch { meta, rows, _slot } = batch;
    crash_point("before-apply");
    panic_point("apply-batch");
    let outcome = strategy.write(ctx, &meta, rows, ticket)?;
    crash_point("after-apply");
    ctx.store.release_batch(ctx.entity, meta.seq)?;
    if meta.budget_kib > 0 {
        ctx.spool_budget.add_permits(meta.budget_kib as usize);
    }
    crash_point("after-release");
    ctx.progress.applied(meta.record_count, &outcome);
    Ok(())
}
