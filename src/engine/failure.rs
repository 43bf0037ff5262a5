//! Which failure of an entity's stream is its cause. The stages of a stream (the fetcher with
//! its child fetches, the applier and its writer lanes) stop one another: the first to fail
//! cancels the rest, and those then end with errors of their own ("stopped before committing")
//! that are consequences. Each stage's error is stamped with the order in which it was noticed;
//! the error a run records and prints is the earliest cause, whichever stage the run happens to
//! join first. Pure bookkeeping, no I/O.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::db::DbError;

/// One stream's failure clock and its cancellation flag (set by the first failure, read by
/// every stage to stop).
#[derive(Debug, Default)]
pub struct Failures {
    cancelled: AtomicBool,
    noticed: AtomicU64,
}

/// A stage's error with the order in which its stream noticed it.
#[derive(Debug)]
pub struct StageError {
    order: u64,
    error: anyhow::Error,
}

impl Failures {
    /// Whether a stage of the stream failed (or the run stopped it): the others stop.
    pub fn cancelled(&self) -> &AtomicBool {
        &self.cancelled
    }

    /// Stops the stream without a failure of its own (the run is being abandoned).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Records that a stage failed with `error`, now: the stream's other stages are told to
    /// stop, and the error keeps its place in the order of failures.
    pub fn stamp(&self, error: anyhow::Error) -> StageError {
        let order = self.noticed.fetch_add(1, Ordering::SeqCst);
        self.cancelled.store(true, Ordering::SeqCst);
        StageError { order, error }
    }
}

impl StageError {
    /// Whether the stage only stopped because another one had failed first.
    fn is_consequence(&self) -> bool {
        self.error
            .chain()
            .any(|cause| matches!(cause.downcast_ref::<DbError>(), Some(DbError::Stopped)))
    }

    pub fn into_error(self) -> anyhow::Error {
        self.error
    }
}

/// The error a stream reports: the earliest cause among its stages' errors, or, when every
/// stage only stopped, the earliest of those. The others are logged at debug level.
pub fn first_cause(errors: impl IntoIterator<Item = StageError>) -> Option<StageError> {
    let mut errors: Vec<StageError> = errors.into_iter().collect();
    errors.sort_by_key(|stage| (stage.is_consequence(), stage.order));
    let mut errors = errors.into_iter();
    let first = errors.next()?;
    for later in errors {
        log::debug!(
            "after the first failure ({:#}), also: {:#}",
            first.error,
            later.error
        );
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;

    fn stopped() -> anyhow::Error {
        anyhow::Error::new(DbError::Stopped).context("applying sales batch 1 (versions 1..2)")
    }

    fn reported(errors: Vec<StageError>) -> String {
        format!("{:#}", first_cause(errors).unwrap().into_error())
    }

    #[test]
    fn stamping_a_failure_cancels_the_stream() {
        let failures = Failures::default();
        assert!(!failures.cancelled().load(Ordering::SeqCst));
        failures.stamp(anyhow!("boom"));
        assert!(failures.cancelled().load(Ordering::SeqCst));
    }

    #[test]
    fn a_cause_wins_over_the_stop_it_caused_whichever_is_joined_first() {
        let failures = Failures::default();
        let cause = failures.stamp(anyhow!("preparing a sales batch panicked"));
        let consequence = failures.stamp(stopped());
        assert_eq!(
            reported(vec![consequence, cause]),
            "preparing a sales batch panicked"
        );
        let failures = Failures::default();
        let cause = failures.stamp(anyhow!("a sales writer panicked"));
        let consequence = failures.stamp(stopped());
        assert_eq!(
            reported(vec![cause, consequence]),
            "a sales writer panicked"
        );
    }

    #[test]
    fn of_two_causes_the_one_noticed_first_is_reported() {
        let failures = Failures::default();
        let applier = failures.stamp(anyhow!("the applier failed"));
        let fetcher = failures.stamp(anyhow!("the fetcher failed"));
        assert_eq!(reported(vec![fetcher, applier]), "the applier failed");
        let failures = Failures::default();
        let fetcher = failures.stamp(anyhow!("the fetcher failed"));
        let applier = failures.stamp(anyhow!("the applier failed"));
        assert_eq!(reported(vec![applier, fetcher]), "the fetcher failed");
    }

    #[test]
    fn a_stream_that_only_stopped_reports_the_stop() {
        let failures = Failures::default();
        let only = failures.stamp(stopped());
        assert!(reported(vec![only]).contains("stopped before committing"));
        assert!(first_cause(Vec::new()).is_none());
    }
}
