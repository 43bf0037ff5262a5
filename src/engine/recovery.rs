//! Recovery at the start of every run: reconciles each entity's local cursor and spool with the
//! version PostgreSQL has applied. PostgreSQL always wins; every correction is logged.

use crate::checkpoint::{BatchSummary, CheckpointError, CheckpointStore};
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

/// Reconciles `entity` with `applied_version` (from `sync_state`).
pub fn recover_entity(
    store: &CheckpointStore,
    entity: Entity,
    applied_version: i64,
) -> Result<Recovered, CheckpointError> {
    let dropped = store.drop_batches_through(entity, applied_version)?;
    if dropped > 0 {
        log::warn!(
            "{entity}: recovered {dropped} spooled batch(es) that PostgreSQL had already applied (up to version {applied_version}); dropped them"
        );
    }
    let pending = store.batch_summaries(entity)?;
    let cursor = store.cursor(entity)?;
    let chain_ok = chain_is_contiguous(&pending, applied_version, cursor.map(|c| c.fetch_cursor))
        && pending
            .iter()
            .all(|batch| store.batch_intact(entity, batch.seq));
    let fetch_cursor = match cursor {
        None => {
            if applied_version > 0 {
                log::warn!(
                    "{entity}: no local checkpoint; resuming from PostgreSQL's applied version {applied_version}"
                );
            }
            store.set_cursor(entity, applied_version)?;
            applied_version
        }
        Some(cursor) if cursor.fetch_cursor < applied_version => {
            log::warn!(
                "{entity}: local cursor {} is behind PostgreSQL ({applied_version}); resuming from PostgreSQL",
                cursor.fetch_cursor
            );
            return restart_from_postgres(store, entity, applied_version, dropped);
        }
        Some(cursor) if !chain_ok => {
            log::warn!(
                "{entity}: local spool does not continue PostgreSQL's applied version {applied_version} or is damaged (cursor {}); discarding it and fetching again from {applied_version}",
                cursor.fetch_cursor
            );
            return restart_from_postgres(store, entity, applied_version, dropped);
        }
        Some(cursor) => cursor.fetch_cursor,
    };
    if !pending.is_empty() {
        log::warn!(
            "{entity}: recovered {} spooled batch(es) (versions {}..{}) fetched before the last run stopped; applying them before fetching",
            pending.len(),
            pending[0].after,
            pending[pending.len() - 1].max_version
        );
    }
    Ok(Recovered {
        fetch_cursor,
        pending,
        dropped,
    })
}

/// Discards the entity's local state and resumes fetching from PostgreSQL's applied version.
fn restart_from_postgres(
    store: &CheckpointStore,
    entity: Entity,
    applied_version: i64,
    dropped: usize,
) -> Result<Recovered, CheckpointError> {
    store.reset_entity(entity)?;
    store.set_cursor(entity, applied_version)?;
    Ok(Recovered {
        fetch_cursor: applied_version,
        pending: Vec::new(),
        dropped,
    })
}

/// Whether the spooled batches continue exactly from `applied` and end at the cursor.
fn chain_is_contiguous(pending: &[BatchSummary], applied: i64, cursor: Option<i64>) -> bool {
    let Some(cursor) = cursor else {
        return pending.is_empty();
    };
    let mut expected_after = applied;
    for batch in pending {
        if batch.after != expected_after || batch.max_version <= batch.after {
            return false;
        }
        expected_after = batch.max_version;
    }
    expected_after == cursor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SpooledBatch;

    fn spool(store: &CheckpointStore, entity: Entity, after: i64, max_version: i64) {
        store
            .spool_batch(
                entity,
                &SpooledBatch {
                    after,
                    max_version,
                    fetched_at_ms: 0,
                    records: vec![],
                },
            )
            .unwrap();
    }

    #[test]
    fn applied_batches_are_dropped_and_the_rest_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        spool(&store, Entity::Sales, 0, 10);
        spool(&store, Entity::Sales, 10, 20);
        spool(&store, Entity::Sales, 20, 30);
        let recovered = recover_entity(&store, Entity::Sales, 10).unwrap();
        assert_eq!(recovered.dropped, 1);
        assert_eq!(recovered.fetch_cursor, 30);
        let afters: Vec<i64> = recovered.pending.iter().map(|b| b.after).collect();
        assert_eq!(afters, vec![10, 20]);
    }

    #[test]
    fn a_missing_store_resumes_from_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        let recovered = recover_entity(&store, Entity::Products, 500).unwrap();
        assert_eq!(recovered.fetch_cursor, 500);
        assert_eq!(
            store
                .cursor(Entity::Products)
                .unwrap()
                .unwrap()
                .fetch_cursor,
            500
        );
    }

    #[test]
    fn a_cursor_behind_postgres_is_corrected() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        store.set_cursor(Entity::Customers, 5).unwrap();
        let recovered = recover_entity(&store, Entity::Customers, 50).unwrap();
        assert_eq!(recovered.fetch_cursor, 50);
        assert!(recovered.pending.is_empty());
    }

    #[test]
    fn a_damaged_batch_file_is_discarded_and_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        spool(&store, Entity::Sales, 0, 10);
        spool(&store, Entity::Sales, 10, 20);
        for entry in std::fs::read_dir(store.batch_dir()).unwrap() {
            std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
        }
        let recovered = recover_entity(&store, Entity::Sales, 0).unwrap();
        assert_eq!(recovered.fetch_cursor, 0);
        assert!(recovered.pending.is_empty());
    }

    #[test]
    fn a_spool_with_a_gap_is_discarded_and_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        store.set_cursor(Entity::Inventory, 40).unwrap();
        spool(&store, Entity::Inventory, 40, 50);
        let recovered = recover_entity(&store, Entity::Inventory, 20).unwrap();
        assert_eq!(recovered.fetch_cursor, 20);
        assert!(recovered.pending.is_empty());
        assert!(store.batch_summaries(Entity::Inventory).unwrap().is_empty());
    }
}
