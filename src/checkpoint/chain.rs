//! The one rule for a spool chain: given the version PostgreSQL has applied, the fetch cursor
//! and the spooled batches of one entity, which batches are stale, which are still to apply, and
//! whether the chain is broken. Pure code; recovery acts on the verdict, `checkpoint verify`
//! reports it.

use std::fmt;

use super::BatchSummary;

/// Why an entity's local state cannot be continued (it is discarded and fetched again from the
/// applied version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// The fetch cursor is behind what PostgreSQL has applied.
    CursorBehind { cursor: i64, applied: i64 },
    /// Batches are spooled but no cursor records where fetching stopped.
    BatchesWithoutCursor,
    /// A batch does not start where the chain so far ends: a gap, an overlap, or a batch that
    /// straddles the applied version.
    Discontinuous { seq: u64, after: i64, expected: i64 },
    /// A batch whose versions do not advance (`max_version <= after`).
    Empty {
        seq: u64,
        after: i64,
        max_version: i64,
    },
    /// The chain ends somewhere other than the fetch cursor.
    CursorMismatch { cursor: i64, chain_end: i64 },
    /// A batch's file is missing or damaged.
    Damaged { seq: u64 },
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::CursorBehind { cursor, applied } => write!(
                f,
                "the fetch cursor {cursor} is behind PostgreSQL's applied version {applied}"
            ),
            ChainProblem::BatchesWithoutCursor => {
                f.write_str("batches are spooled but there is no fetch cursor")
            }
            ChainProblem::Discontinuous {
                seq,
                after,
                expected,
            } => write!(
                f,
                "batch {seq} starts after version {after} but the chain ends at {expected}: versions are missing or overlap"
            ),
            ChainProblem::Empty {
                seq,
                after,
                max_version,
            } => write!(
                f,
                "batch {seq} covers versions {after}..{max_version}, which do not advance"
            ),
            ChainProblem::CursorMismatch { cursor, chain_end } => write!(
                f,
                "the fetch cursor {cursor} does not match the end of the applied and spooled versions ({chain_end})"
            ),
            ChainProblem::Damaged { seq } => write!(f, "batch {seq} is missing or damaged"),
        }
    }
}

/// What to do with one entity's local state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolVerdict {
    /// Batches already in PostgreSQL (`max_version <= applied`): drop them.
    pub stale: Vec<u64>,
    /// `Ok`: batches to apply in order, then fetch from `resume_at`. `Err`: discard the rest and
    /// fetch again from the applied version.
    pub chain: Result<Vec<BatchSummary>, ChainProblem>,
    /// Where fetching resumes.
    pub resume_at: i64,
}

/// Judges one entity's spool. `batches` are in sequence order; `damaged` names batches whose
/// file cannot be read. `cursor` is `None` when the store has none (a new or reset store).
pub fn judge_spool(
    applied: i64,
    cursor: Option<i64>,
    batches: &[BatchSummary],
    damaged: &[u64],
) -> SpoolVerdict {
    let (stale, live): (Vec<&BatchSummary>, Vec<&BatchSummary>) = batches
        .iter()
        .partition(|batch| batch.max_version <= applied);
    let stale: Vec<u64> = stale.iter().map(|batch| batch.seq).collect();
    let chain = judge_chain(applied, cursor, &live, damaged);
    let resume_at = match (&chain, cursor) {
        (Ok(_), Some(cursor)) => cursor,
        _ => applied,
    };
    SpoolVerdict {
        stale,
        chain,
        resume_at,
    }
}

fn judge_chain(
    applied: i64,
    cursor: Option<i64>,
    live: &[&BatchSummary],
    damaged: &[u64],
) -> Result<Vec<BatchSummary>, ChainProblem> {
    let Some(cursor) = cursor else {
        return match live.is_empty() {
            true => Ok(Vec::new()),
            false => Err(ChainProblem::BatchesWithoutCursor),
        };
    };
    if cursor < applied {
        return Err(ChainProblem::CursorBehind { cursor, applied });
    }
    let mut expected = applied;
    for batch in live {
        if batch.max_version <= batch.after {
            return Err(ChainProblem::Empty {
                seq: batch.seq,
                after: batch.after,
                max_version: batch.max_version,
            });
        }
        if batch.after != expected {
            return Err(ChainProblem::Discontinuous {
                seq: batch.seq,
                after: batch.after,
                expected,
            });
        }
        if damaged.contains(&batch.seq) {
            return Err(ChainProblem::Damaged { seq: batch.seq });
        }
        expected = batch.max_version;
    }
    if expected != cursor {
        return Err(ChainProblem::CursorMismatch {
            cursor,
            chain_end: expected,
        });
    }
    Ok(live.iter().map(|batch| **batch).collect())
}

/// The table of spool chains that recovery and `checkpoint verify` are both tested against:
/// (name, applied, cursor, batches as `(after, max_version)`, damaged seqs, expected verdict as
/// `(stale seqs, Ok(pending seqs) or Err(problem kind))`).
#[cfg(test)]
pub mod cases {
    /// One case of the table.
    pub struct Case {
        pub name: &'static str,
        pub applied: i64,
        pub cursor: Option<i64>,
        pub batches: &'static [(i64, i64)],
        pub damaged: &'static [u64],
        pub stale: &'static [u64],
        /// `Ok(pending seqs)` or `Err(problem name)`.
        pub expect: Result<&'static [u64], &'static str>,
    }

    pub const CASES: &[Case] = &[
        Case {
            name: "contiguous",
            applied: 0,
            cursor: Some(30),
            batches: &[(0, 10), (10, 20), (20, 30)],
            damaged: &[],
            stale: &[],
            expect: Ok(&[0, 1, 2]),
        },
        Case {
            name: "applied batches are stale",
            applied: 20,
            cursor: Some(30),
            batches: &[(0, 10), (10, 20), (20, 30)],
            damaged: &[],
            stale: &[0, 1],
            expect: Ok(&[2]),
        },
        Case {
            name: "all applied",
            applied: 30,
            cursor: Some(30),
            batches: &[(0, 10), (10, 30)],
            damaged: &[],
            stale: &[0, 1],
            expect: Ok(&[]),
        },
        Case {
            name: "straddles the applied version",
            applied: 15,
            cursor: Some(30),
            batches: &[(10, 20), (20, 30)],
            damaged: &[],
            stale: &[],
            expect: Err("Discontinuous"),
        },
        Case {
            name: "gap after the applied version",
            applied: 10,
            cursor: Some(40),
            batches: &[(20, 40)],
            damaged: &[],
            stale: &[],
            expect: Err("Discontinuous"),
        },
        Case {
            name: "gap between batches",
            applied: 0,
            cursor: Some(40),
            batches: &[(0, 10), (20, 40)],
            damaged: &[],
            stale: &[],
            expect: Err("Discontinuous"),
        },
        Case {
            name: "overlapping batches",
            applied: 0,
            cursor: Some(25),
            batches: &[(0, 20), (10, 25)],
            damaged: &[],
            stale: &[],
            expect: Err("Discontinuous"),
        },
        Case {
            name: "max_version at or below after",
            applied: 0,
            cursor: Some(10),
            batches: &[(0, 10), (10, 10)],
            damaged: &[],
            stale: &[],
            expect: Err("Empty"),
        },
        Case {
            name: "cursor behind PostgreSQL",
            applied: 50,
            cursor: Some(5),
            batches: &[],
            damaged: &[],
            stale: &[],
            expect: Err("CursorBehind"),
        },
        Case {
            name: "cursor ahead of the chain",
            applied: 10,
            cursor: Some(40),
            batches: &[(10, 20)],
            damaged: &[],
            stale: &[],
            expect: Err("CursorMismatch"),
        },
        Case {
            name: "damaged batch",
            applied: 0,
            cursor: Some(20),
            batches: &[(0, 10), (10, 20)],
            damaged: &[1],
            stale: &[],
            expect: Err("Damaged"),
        },
        Case {
            name: "new store",
            applied: 500,
            cursor: None,
            batches: &[],
            damaged: &[],
            stale: &[],
            expect: Ok(&[]),
        },
    ];

    /// Builds the case's spool for `entity` in `store` (sequence numbers from 0, in order).
    pub fn spool_case(
        store: &crate::checkpoint::CheckpointStore,
        entity: crate::entity::Entity,
        case: &Case,
    ) {
        for (after, max_version) in case.batches {
            store.set_cursor(entity, *after).unwrap();
            let batch: crate::checkpoint::SpooledBatch = crate::checkpoint::SpooledBatch {
                after: *after,
                max_version: *max_version,
                fetched_at_ms: 0,
                records: vec!["{}".into()],
            };
            store.spool_batch(entity, &batch).unwrap();
        }
        if let Some(cursor) = case.cursor {
            store.set_cursor(entity, cursor).unwrap();
        }
        for seq in case.damaged {
            let path = crate::checkpoint::batch_files::batch_path(store.path(), entity, *seq);
            std::fs::write(path, b"garbage").unwrap();
        }
    }

    /// The problem's variant name, to compare with `Case::expect`.
    pub fn problem_name(problem: &super::ChainProblem) -> &'static str {
        use super::ChainProblem::*;
        match problem {
            CursorBehind { .. } => "CursorBehind",
            BatchesWithoutCursor => "BatchesWithoutCursor",
            Discontinuous { .. } => "Discontinuous",
            Empty { .. } => "Empty",
            CursorMismatch { .. } => "CursorMismatch",
            Damaged { .. } => "Damaged",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cases::{problem_name, CASES};
    use super::*;

    #[test]
    fn every_case_of_the_table_gets_its_verdict() {
        for case in CASES {
            let batches: Vec<BatchSummary> = case
                .batches
                .iter()
                .enumerate()
                .map(|(seq, (after, max_version))| BatchSummary {
                    seq: seq as u64,
                    after: *after,
                    max_version: *max_version,
                    records: 1,
                    bytes: 1,
                    fetched_at_ms: 0,
                })
                .collect();
            let verdict = judge_spool(case.applied, case.cursor, &batches, case.damaged);
            assert_eq!(verdict.stale, case.stale, "{}", case.name);
            match (&verdict.chain, case.expect) {
                (Ok(pending), Ok(expected)) => {
                    let seqs: Vec<u64> = pending.iter().map(|b| b.seq).collect();
                    assert_eq!(seqs, expected, "{}", case.name);
                    assert_eq!(
                        verdict.resume_at,
                        case.cursor.unwrap_or(case.applied),
                        "{}",
                        case.name
                    );
                }
                (Err(problem), Err(expected)) => {
                    assert_eq!(problem_name(problem), expected, "{}", case.name);
                    assert_eq!(verdict.resume_at, case.applied, "{}", case.name);
                }
                (got, expected) => panic!("{}: got {got:?}, expected {expected:?}", case.name),
            }
        }
    }
}
