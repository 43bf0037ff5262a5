//! `checkpoint reset|rewind`: discarding local state or moving an entity's cursor back, each
//! recorded in `sync_log`.

use std::path::Path;

use super::record;
use crate::checkpoint::{self, CheckpointStore};
use crate::config::Config;
use crate::db;
use crate::db::LockHeld;
use crate::engine::new_run_id;
use crate::entity::Entity;
use crate::exit::{self, UsageError};

pub(super) fn reset(
    config: &Config,
    dir: &Path,
    entity: Option<Entity>,
    yes: bool,
) -> anyhow::Result<i32> {
    if !yes {
        return Err(UsageError(format!(
            "`checkpoint reset` discards local state{}; add --yes to confirm (nothing was changed)",
            entity.map(|e| format!(" for {e}")).unwrap_or_default()
        ))
        .into());
    }
    let note = "checkpoint reset: local state discarded; the next run resumes from PostgreSQL";
    match entity {
        Some(entity) => {
            let store = CheckpointStore::inspect(dir)?;
            store.reset_entity(entity)?;
            record(config, &[entity], note);
            crate::outln!("reset the {entity} checkpoint; the next run resumes from PostgreSQL");
        }
        None => {
            // A damaged or foreign store is exactly what a full reset is for.
            checkpoint::destroy(dir)?;
            record(config, &Entity::ALL, note);
            crate::outln!(
                "reset the checkpoint store {}; the next run resumes from PostgreSQL",
                dir.display()
            );
        }
    }
    Ok(exit::SUCCESS)
}

pub(super) fn rewind(
    config: &Config,
    dir: &Path,
    entity: Entity,
    to_version: i64,
    forward: bool,
    yes: bool,
) -> anyhow::Result<i32> {
    if !yes {
        return Err(UsageError(format!(
            "`checkpoint rewind` makes the next run fetch {entity} again from version {to_version}; add --yes to confirm (nothing was changed)"
        ))
        .into());
    }
    if to_version < 0 {
        return Err(UsageError("--to-version must be 0 or more".into()).into());
    }
    let store = CheckpointStore::inspect(dir)?;
    let url = config.database_url()?;
    let mut conn = db::connect(url)?;
    db::run_pending_migrations(&mut conn)?;
    if let Some(identity) = store.identity()? {
        if !db::try_lock_store(&mut conn, db::store_lock_key(&identity))? {
            return Err(LockHeld(format!(
                "a lightsync run is syncing {identity} into this database (its PostgreSQL advisory lock is held); rewind when it has finished"
            ))
            .into());
        }
    }
    let applied = db::load_last_version(&mut conn, entity)?;
    if to_version > applied && !forward {
        return Err(UsageError(format!(
            "--to-version {to_version} is ahead of the version PostgreSQL has applied for {entity} ({applied}): the records changed in between would never be fetched; add --forward if that is what you want (nothing was changed)"
        ))
        .into());
    }
    db::rewind_entity(
        &mut conn,
        &new_run_id(),
        entity,
        to_version,
        &format!(
            "checkpoint rewind: the next run fetches {entity} again from version {to_version}"
        ),
    )?;
    store.reset_entity(entity)?;
    store.set_cursor(entity, to_version)?;
    crate::outln!("rewound {entity} to version {to_version}: the next run fetches from there (rows already stored stay; newer versions win)");
    Ok(exit::SUCCESS)
}
