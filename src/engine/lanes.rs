//! Writing one entity's batches on several connections at once while they still commit in
//! order: the commit turn each batch waits for before it records its cursor, and the key
//! check that makes a batch wait for its predecessors before it writes anything when they
//! touch a row it touches (so two lanes do not wait for each other's row locks; a wait for the
//! turn that runs out of patience rolls back and waits outside its transaction, for the rows
//! the key check cannot see).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::db::rows::BatchRows;
use crate::entity::Entity;

/// Connections that write one entity's batches at once. Entities with children (sales with
/// their line items and payments) are the heaviest writes of a run, and one PostgreSQL backend
/// writing them is the critical path of an import; a second one uses the second core.
pub fn lanes_for(entity: Entity) -> usize {
    if entity.spec().children.is_empty() {
        1
    } else {
        2
    }
}

/// The order batches commit in: batch `n` (numbered from 0 as the stream hands them over)
/// records its cursor and commits only once batches `0..n` have.
#[derive(Debug, Default)]
pub struct CommitTurn {
    next: Mutex<u64>,
    changed: Condvar,
}

/// How a wait for a batch's turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Every earlier batch has committed.
    Ready,
    /// The stream stopped (a lane failed).
    Cancelled,
    /// `patience` ran out first.
    TimedOut,
}

impl CommitTurn {
    /// Waits until it is batch `ordinal`'s turn, at most `patience` when given.
    pub fn wait(&self, ordinal: u64, cancelled: &AtomicBool, patience: Option<Duration>) -> Turn {
        let deadline = patience.map(|patience| Instant::now() + patience);
        let mut next = self.next.lock().expect("commit turn poisoned");
        while *next < ordinal {
            if cancelled.load(Ordering::SeqCst) {
                return Turn::Cancelled;
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Turn::TimedOut;
            }
            next = self
                .changed
                .wait_timeout(next, Duration::from_millis(100))
                .expect("commit turn poisoned")
                .0;
        }
        Turn::Ready
    }

    /// Batch `ordinal` committed: the next one may.
    pub fn advance(&self, ordinal: u64) {
        let mut next = self.next.lock().expect("commit turn poisoned");
        *next = (*next).max(ordinal + 1);
        self.changed.notify_all();
    }
}

/// The keys of the rows a batch writes (its own and its children's), hashed: a collision only
/// makes a batch wait when it need not.
fn row_keys(rows: &BatchRows) -> HashSet<u64> {
    let tables = std::iter::once(&rows.rows).chain(&rows.children);
    let mut keys = HashSet::new();
    for (table, rows) in tables.enumerate() {
        for id in &rows.ids {
            let mut hasher = DefaultHasher::new();
            (table, id.as_str()).hash(&mut hasher);
            keys.insert(hasher.finish());
        }
    }
    keys
}

/// Remembers the keys of the batches that may still be in flight on other lanes.
pub struct OverlapCheck {
    recent: VecDeque<HashSet<u64>>,
    in_flight: usize,
}

impl OverlapCheck {
    pub fn new(lanes: usize) -> OverlapCheck {
        OverlapCheck {
            recent: VecDeque::new(),
            in_flight: lanes.saturating_sub(1),
        }
    }

    /// Whether `rows` touch a row of one of the batches handed over just before them (then
    /// they must wait for those to commit before writing).
    pub fn overlaps(&mut self, rows: &BatchRows) -> bool {
        if self.in_flight == 0 {
            return false;
        }
        let keys = row_keys(rows);
        let overlaps = self
            .recent
            .iter()
            .any(|earlier| !earlier.is_disjoint(&keys));
        if self.recent.len() == self.in_flight {
            self.recent.pop_front();
        }
        self.recent.push_back(keys);
        overlaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Cell;
    use std::sync::Arc;

    fn batch(ids: &[&str]) -> BatchRows {
        let spec = Entity::Inventory.spec();
        let mut rows = BatchRows::for_entity(spec, ids.len());
        for id in ids {
            // Inventory's columns: two ids, then numbers.
            let cells = (0..spec.columns.len())
                .map(|index| match index {
                    0 | 1 => Cell::Text(None),
                    _ => Cell::Numeric(None),
                })
                .collect();
            rows.rows.push(
                crate::db::rows::RowKey::of(*id),
                1,
                None,
                Default::default(),
                cells,
            );
        }
        rows
    }

    #[test]
    fn a_batch_sharing_a_row_with_the_one_before_must_wait() {
        let mut check = OverlapCheck::new(2);
        assert!(!check.overlaps(&batch(&["a", "b"])));
        assert!(!check.overlaps(&batch(&["c"])));
        // Only the batch just before is in flight on the other lane.
        assert!(!check.overlaps(&batch(&["a"])));
        assert!(check.overlaps(&batch(&["a", "d"])));
        assert!(!OverlapCheck::new(1).overlaps(&batch(&["a"])));
    }

    #[test]
    fn batches_commit_in_turn() {
        let turn = Arc::new(CommitTurn::default());
        let cancelled = Arc::new(AtomicBool::new(false));
        let order = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4u64)
            .rev()
            .map(|ordinal| {
                let (turn, cancelled, order) = (turn.clone(), cancelled.clone(), order.clone());
                std::thread::spawn(move || {
                    assert_eq!(turn.wait(ordinal, &cancelled, None), Turn::Ready);
                    order.lock().unwrap().push(ordinal);
                    turn.advance(ordinal);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
        let patience = Some(Duration::from_millis(150));
        assert_eq!(turn.wait(10, &cancelled, patience), Turn::TimedOut);
        assert_eq!(turn.wait(4, &cancelled, patience), Turn::Ready);
        cancelled.store(true, Ordering::SeqCst);
        assert_eq!(turn.wait(10, &cancelled, None), Turn::Cancelled);
    }
}
