//! `checkpoint verify`: judges every entity's spool by the rule recovery follows
//! (`checkpoint::judge_spool`) against PostgreSQL's applied versions, and checks every batch
//! file. Prints each problem; exit 1 if there is any.

use std::path::Path;

use super::applied_versions;
use crate::checkpoint::{judge_spool, ChainProblem, CheckpointError, CheckpointStore};
use crate::config::Config;
use crate::entity::Entity;
use crate::exit;

pub(super) fn verify(config: &Config, dir: &Path) -> anyhow::Result<i32> {
    warn_if_open_to_others(dir)?;
    let store = match CheckpointStore::inspect(dir) {
        Ok(store) => store,
        Err(err @ CheckpointError::Locked { .. }) => return Err(err.into()),
        Err(err) => {
            crate::outln!("problem: {err}");
            return Ok(exit::FAILURE);
        }
    };
    let mut findings = Findings::default();
    let applied = applied_versions(config);
    if let Err(err) = &applied {
        findings.notes.push(format!(
            "PostgreSQL not consulted ({err}); each spool is checked against itself only"
        ));
    }
    for path in store.unindexed_files()? {
        findings.notes.push(format!(
            "{} is not part of the spool; the next run removes it",
            path.display()
        ));
    }
    if let Err(err) = store.run() {
        findings.problems.push(err.to_string());
    }
    for entity in Entity::ALL {
        let applied = applied
            .as_ref()
            .ok()
            .map(|versions| versions.get(entity.name()).copied().unwrap_or(0));
        if let Err(err) = judge_entity(&store, entity, applied, &mut findings) {
            findings.problems.push(format!("{entity}: {err}"));
        }
    }
    for note in &findings.notes {
        crate::outln!("note: {note}");
    }
    for problem in &findings.problems {
        crate::outln!("problem: {problem}");
    }
    if findings.problems.is_empty() {
        crate::outln!("checkpoint store {} is consistent", dir.display());
        Ok(exit::SUCCESS)
    } else {
        crate::outln!(
            "{} problem(s). The next run discards a spool it cannot continue and fetches again from PostgreSQL's applied version; `lightsync checkpoint reset --yes` discards all local state now.",
            findings.problems.len()
        );
        Ok(exit::FAILURE)
    }
}

/// Spooled pages hold customers' names, emails and phone numbers: a store others can read is
/// worth a warning (not a problem: the next run makes it private by itself).
fn warn_if_open_to_others(dir: &Path) -> std::io::Result<()> {
    let Ok(open) = crate::private_files::open_to_others(dir) else {
        return Ok(());
    };
    if let Some((path, mode)) = open.first() {
        crate::outln!(
            "warning: the checkpoint store is readable by other local users ({} entries, e.g. {} with mode {mode:04o}); it holds customers' data: run `chmod -R go-rwx {}` (the next import or sync makes it private by itself)",
            open.len(),
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// What `verify` found.
#[derive(Debug, Default)]
struct Findings {
    problems: Vec<String>,
    notes: Vec<String>,
}

/// Judges one entity's spool. Without PostgreSQL (`applied` is `None`) the spool is judged
/// against itself, as if everything before its first batch were applied.
fn judge_entity(
    store: &CheckpointStore,
    entity: Entity,
    applied: Option<i64>,
    findings: &mut Findings,
) -> Result<(), CheckpointError> {
    let batches = store.batch_summaries(entity)?;
    let cursor = store.cursor(entity)?.map(|cursor| cursor.fetch_cursor);
    let mut damage = Vec::new();
    for batch in &batches {
        if let Err(err) = store.load_batch(entity, batch.seq) {
            damage.push((batch.seq, err.to_string()));
        }
    }
    let damaged: Vec<u64> = damage.iter().map(|(seq, _)| *seq).collect();
    let basis = applied.unwrap_or_else(|| {
        batches
            .first()
            .map(|batch| batch.after)
            .or(cursor)
            .unwrap_or(0)
    });
    let verdict = judge_spool(basis, cursor, &batches, &damaged);
    if applied.is_some() && !verdict.stale.is_empty() {
        findings.notes.push(format!(
            "{entity}: {} spooled batch(es) are already in PostgreSQL; the next run drops them",
            verdict.stale.len()
        ));
    }
    if let Err(problem) = verdict.chain {
        let text = match &problem {
            ChainProblem::Damaged { seq } => damage
                .iter()
                .find(|(damaged, _)| damaged == seq)
                .map_or_else(|| problem.to_string(), |(_, err)| err.clone()),
            other => other.to_string(),
        };
        findings.problems.push(format!("{entity}: {text}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::chain_cases::{spool_case, CASES};

    #[test]
    fn verify_follows_the_spool_chain_table() {
        for case in CASES {
            let dir = tempfile::tempdir().unwrap();
            let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
            spool_case(&store, Entity::Sales, case);
            let mut findings = Findings::default();
            judge_entity(&store, Entity::Sales, Some(case.applied), &mut findings).unwrap();
            assert_eq!(
                findings.problems.is_empty(),
                case.expect.is_ok(),
                "{}: {:?}",
                case.name,
                findings.problems
            );
            assert_eq!(
                findings.notes.len(),
                usize::from(!case.stale.is_empty()),
                "{}: {:?}",
                case.name,
                findings.notes
            );
        }
    }
}
