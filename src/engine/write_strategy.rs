//! How one entity's batches reach PostgreSQL: the write mode, the lanes and the patience, behind
//! one type.
//!
//! The contract of `WriteStrategy::write`: a batch is written in one transaction with the
//! entity's bookkeeping (its new applied version), and commits at most once, after every batch
//! handed over before it. Behind that, three choices are made here and nowhere else. The *mode*:
//! while the entity's batches insert only new rows (an import's do), the next is tried as plain
//! inserts, and one refused for a key that exists is written again as upserts. The *lanes*: an
//! entity with children writes on two connections at once; a batch waits for its turn before it
//! commits, and before it writes anything when it touches a row of a batch still in flight; a
//! wait for the turn that outlasts `TURN_PATIENCE` rolls back, waits outside the transaction and
//! writes again. The *patience*: a PostgreSQL outage is retried with backoff for
//! `LIGHTSYNC_DB_PATIENCE_SECS`, the rows read back from the spool after a failed write; then
//! the entity fails, everything fetched kept for the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::lanes::{lanes_for, CommitTurn, Turn};
use super::pipeline::{load_batch, BatchMeta, StreamContext};
use crate::backoff::Backoff;
use crate::config::DatabaseUrl;
use crate::db::rows::BatchRows;
use crate::db::{self, ApplyOutcome, BatchBookkeeping, DbError, PgPool, WriteMode};
use crate::entity::Entity;
use crate::failpoint::{crash_point, insert_first_forced};

/// Waits between attempts to reach PostgreSQL during an outage: 500 ms doubled per failure, at
/// most 15 s, so a server that comes back is found within seconds.
const DB_RETRY: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));

/// How long a batch that has written its rows waits for the batches before it to commit. A
/// batch's write takes well under a second; a longer wait may be a lock the batch before it
/// needs from this one (a row the key check cannot see, such as an old child row both
/// replace), so the batch rolls back, waits outside its transaction and writes again.
const TURN_PATIENCE: Duration = Duration::from_secs(20);

/// Where the batches are written.
#[derive(Clone)]
pub struct ApplierTarget {
    pub pool: PgPool,
    pub url: DatabaseUrl,
    /// How long an outage is retried before the entity fails.
    pub patience: Duration,
}

/// The write strategy of one entity's stream (see the module's contract).
pub struct WriteStrategy {
    target: ApplierTarget,
    lanes: usize,
    new_rows: NewRowsLately,
}

/// A batch's place in the commit order of an entity written on several lanes.
#[derive(Clone, Copy)]
pub struct TurnTicket<'a> {
    pub turn: &'a CommitTurn,
    /// The batch's number in the order the stream handed batches over, from 0.
    pub ordinal: u64,
    /// It touches a row of a batch still in flight on another lane: it waits for its turn
    /// before writing anything.
    pub wait_before_writing: bool,
}

impl TurnTicket<'_> {
    /// Waits for the batch's turn, at most `patience` when given.
    fn wait(&self, cancelled: &AtomicBool, patience: Option<Duration>) -> Result<(), DbError> {
        match self.turn.wait(self.ordinal, cancelled, patience) {
            Turn::Ready => Ok(()),
            Turn::Cancelled => Err(DbError::Stopped),
            Turn::TimedOut => Err(DbError::TurnTimedOut),
        }
    }
}

impl WriteStrategy {
    pub fn for_entity(entity: Entity, target: ApplierTarget) -> WriteStrategy {
        WriteStrategy {
            target,
            lanes: lanes_for(entity),
            new_rows: NewRowsLately::default(),
        }
    }

    /// How many batches of the entity are written at once.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Writes a batch and its bookkeeping in one transaction, in its turn when it has a ticket.
    pub fn write(
        &self,
        ctx: &StreamContext,
        meta: &BatchMeta,
        rows: BatchRows,
        ticket: Option<TurnTicket>,
    ) -> anyhow::Result<ApplyOutcome> {
        let cancelled = ctx.failures.cancelled();
        if let Some(ticket) = ticket.filter(|ticket| ticket.wait_before_writing) {
            ticket.wait(cancelled, None)?;
        }
        let mut rows = Some(rows);
        let mut mode = self.new_rows.mode();
        let mut outage = Outage::starting_now();
        let outcome = loop {
            match self.attempt(ctx, meta, &mut rows, mode, ticket) {
                Ok(outcome) => break outcome,
                Err(err) => {
                    mode = self.before_next_attempt(ctx, meta, err, mode, ticket, &mut outage)?
                }
            }
        };
        self.new_rows.written(&outcome);
        if let Some(ticket) = ticket {
            ticket.turn.advance(ticket.ordinal);
        }
        Ok(outcome)
    }

    /// One transaction: the rows (read back from the spool if a failed attempt spent them),
    /// the turn, the bookkeeping.
    fn attempt(
        &self,
        ctx: &StreamContext,
        meta: &BatchMeta,
        rows: &mut Option<BatchRows>,
        mode: WriteMode,
        ticket: Option<TurnTicket>,
    ) -> anyhow::Result<ApplyOutcome> {
        let rows = match rows.take() {
            Some(rows) => rows,
            None => load_batch(ctx, meta.seq, 0)?.rows,
        };
        let totals = ctx.counters.totals();
        let bookkeeping = BatchBookkeeping {
            run_id: &ctx.run_id,
            entity: ctx.entity,
            after: Some(meta.after),
            max_version: meta.max_version,
            records_fetched: meta.record_count,
            records_untyped: meta.records_untyped,
            quarantined: &meta.quarantined,
            requests: totals.requests,
            retries: totals.retries,
            rate_limited: totals.rate_limited,
        };
        let mut conn = db::checkout(&self.target.pool, &self.target.url)?;
        let wait_turn = || match ticket {
            None => Ok(()),
            Some(ticket) => ticket.wait(ctx.failures.cancelled(), Some(TURN_PATIENCE)),
        };
        Ok(db::apply_batch_in_turn(
            &mut conn,
            rows,
            &bookkeeping,
            mode,
            wait_turn,
            || crash_point("in-apply"),
        )?)
    }

    /// After a failed (rolled back) attempt: the mode of the next attempt, once whatever it
    /// must wait for has happened; or the error that ends the entity.
    fn before_next_attempt(
        &self,
        ctx: &StreamContext,
        meta: &BatchMeta,
        err: anyhow::Error,
        mode: WriteMode,
        ticket: Option<TurnTicket>,
        outage: &mut Outage,
    ) -> anyhow::Result<WriteMode> {
        let entity = ctx.entity;
        let seq = meta.seq;
        match err.downcast_ref::<DbError>() {
            Some(db_err) if mode == WriteMode::InsertNew && db_err.is_key_taken() => {
                log::debug!(
                    "{entity}: batch {seq} has rows that exist already; writing it as upserts"
                );
                Ok(WriteMode::Upsert)
            }
            Some(DbError::TurnTimedOut) => {
                // Whatever lock the batch before it waits for is free now: wait for its
                // commit here, then write again.
                log::info!(
                    "{entity}: batch {seq} waited {} s for the batch before it; writing it again once that one commits",
                    TURN_PATIENCE.as_secs()
                );
                let ticket = ticket.expect("only batches on lanes wait for a turn");
                ticket.wait(ctx.failures.cancelled(), None)?;
                Ok(mode)
            }
            Some(db_err) if db_err.is_transient() => {
                outage.wait_or_give_up(entity, err, self.target.patience)?;
                Ok(mode)
            }
            _ => Err(err.context(format!(
                "applying {entity} batch {seq} (versions {}..{})",
                meta.after, meta.max_version
            ))),
        }
    }
}

/// A PostgreSQL outage met while writing one batch.
struct Outage {
    since: Instant,
    failures: u32,
}

impl Outage {
    fn starting_now() -> Outage {
        Outage {
            since: Instant::now(),
            failures: 0,
        }
    }

    /// Sleeps before the next attempt, or gives up once `patience` has run out.
    fn wait_or_give_up(
        &mut self,
        entity: Entity,
        err: anyhow::Error,
        patience: Duration,
    ) -> anyhow::Result<()> {
        if self.since.elapsed() >= patience {
            return Err(err.context(format!(
                "PostgreSQL stayed unreachable for {} s (LIGHTSYNC_DB_PATIENCE_SECS); everything fetched is kept in the checkpoint store for the next run",
                patience.as_secs()
            )));
        }
        self.failures += 1;
        let delay = DB_RETRY.ceiling(self.failures);
        log::warn!(
            "{entity}: PostgreSQL write failed ({err:#}); retrying in {:.1} s (patience left {} s)",
            delay.as_secs_f64(),
            patience.saturating_sub(self.since.elapsed()).as_secs()
        );
        std::thread::sleep(delay);
        Ok(())
    }
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

    fn written(&self, outcome: &ApplyOutcome) {
        let all_new = outcome.inserted > 0 && outcome.updated == 0 && outcome.unchanged == 0;
        self.0.store(all_new, Ordering::Relaxed);
    }
}
