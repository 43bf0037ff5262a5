//! Recovery at the start of every run: reconciles each entity's local cursor and spool with the
//! version PostgreSQL has applied. PostgreSQL always wins; every correction is logged.

use crate::checkpoint::{judge_spool, BatchSummary, CheckpointError, CheckpointStore};
use crate::entity::Entity;

/// What recovery decided for one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Where fetching resumes.
    pub fetch_cursor: i64,
    /// Spooled batches still to apply, in order.
    pub pending: Vec<BatchSummary>,
    /// Batches dropped because PostgreSQL already had them.
    pub dropped: usize,
}

/// Reconciles `entity` with `applied_version` (from `sync_state`), acting on the verdict of
/// `checkpoint::judge_spool`, the same rule `checkpoint verify` reports.
pub fn recover_entity(
    store: &CheckpointStore,
    entity: Entity,
    applied_version: i64,
) -> Result<Recovered, CheckpointError> {
    let batches = store.batch_summaries(entity)?;
    let cursor = store.cursor(entity)?.map(|cursor| cursor.fetch_cursor);
    let damaged: Vec<u64> = batches
        .iter()
        .filter(|batch| {
            batch.max_version > applied_version && !store.batch_intact(entity, batch.seq)
        })
        .map(|batch| batch.seq)
        .collect();
    let verdict = judge_spool(applied_version, cursor, &batches, &damaged);
    let dropped = drop_applied(store, entity, &verdict.stale, applied_version)?;
    let pending = match verdict.chain {
        Ok(pending) => pending,
        Err(problem) => {
            log::warn!(
                "{entity}: the local spool cannot continue PostgreSQL's applied version {applied_version} ({problem}); discarding it and fetching again from {applied_version}"
            );
            store.reset_entity(entity)?;
            store.set_cursor(entity, applied_version)?;
            return Ok(Recovered {
                fetch_cursor: applied_version,
                pending: Vec::new(),
                dropped,
            });
        }
    };
    if cursor.is_none() {
        if applied_version > 0 {
            log::warn!(
                "{entity}: no local checkpoint; resuming from PostgreSQL's applied version {applied_version}"
            );
        }
        store.set_cursor(entity, applied_version)?;
    }
    if let (Some(first), Some(last)) = (pending.first(), pending.last()) {
        log::warn!(
            "{entity}: recovered {} spooled batch(es) (versions {}..{}) fetched before the last run stopped; applying them before fetching",
            pending.len(),
            first.after,
            last.max_version
        );
    }
    Ok(Recovered {
        fetch_cursor: verdict.resume_at,
        pending,
        dropped,
    })
}

/// Releases the spooled batches PostgreSQL already has; returns how many.
fn drop_applied(
    store: &CheckpointStore,
    entity: Entity,
    stale: &[u64],
    applied_version: i64,
) -> Result<usize, CheckpointError> {
    for seq in stale {
        store.release_batch(entity, *seq)?;
    }
    if !stale.is_empty() {
        store.flush()?;
        log::warn!(
            "{entity}: recovered {} spooled batch(es) that PostgreSQL had already applied (up to version {applied_version}); dropped them",
            stale.len()
        );
    }
    Ok(stale.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::chain_cases::{spool_case, CASES};

    #[test]
    fn recovery_follows_the_spool_chain_table() {
        for case in CASES {
            let dir = tempfile::tempdir().unwrap();
            let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
            let entity = Entity::Sales;
            spool_case(&store, entity, case);
            let recovered = recover_entity(&store, entity, case.applied).unwrap();
            let remaining: Vec<u64> = store
                .batch_summaries(entity)
                .unwrap()
                .iter()
                .map(|b| b.seq)
                .collect();
            match case.expect {
                Ok(pending) => {
                    let seqs: Vec<u64> = recovered.pending.iter().map(|b| b.seq).collect();
                    assert_eq!(seqs, pending, "{}", case.name);
                    assert_eq!(remaining, pending, "{}: stale batches dropped", case.name);
                    assert_eq!(recovered.dropped, case.stale.len(), "{}", case.name);
                    assert_eq!(
                        recovered.fetch_cursor,
                        case.cursor.unwrap_or(case.applied),
                        "{}",
                        case.name
                    );
                }
                Err(_) => {
                    assert!(recovered.pending.is_empty(), "{}", case.name);
                    assert!(remaining.is_empty(), "{}: spool discarded", case.name);
                    assert_eq!(recovered.fetch_cursor, case.applied, "{}", case.name);
                }
            }
            assert_eq!(
                store.cursor(entity).unwrap().unwrap().fetch_cursor,
                recovered.fetch_cursor,
                "{}: the cursor is stored",
                case.name
            );
        }
    }

    #[test]
    fn a_damaged_batch_file_is_discarded_and_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        for (after, max_version) in [(0, 10), (10, 20)] {
            let batch: crate::checkpoint::SpooledBatch = crate::checkpoint::SpooledBatch {
                after,
                max_version,
                fetched_at_ms: 0,
                records: vec![],
            };
            store.spool_batch(Entity::Sales, &batch).unwrap();
        }
        for entry in std::fs::read_dir(store.batch_dir()).unwrap() {
            std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
        }
        let recovered = recover_entity(&store, Entity::Sales, 0).unwrap();
        assert_eq!(recovered.fetch_cursor, 0);
        assert!(recovered.pending.is_empty());
    }
}
