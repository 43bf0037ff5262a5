//! `lightsync checkpoint show|list|export|verify|reset|rewind`: inspecting and repairing the local
//! checkpoint store, with what PostgreSQL knows beside it.

mod inspect;
mod repair;
mod verify;

use std::collections::BTreeMap;

use crate::cli::{CheckpointArgs, CheckpointCommand};
use crate::config::Config;
use crate::db;
use crate::engine::new_run_id;
use crate::entity::Entity;

pub fn checkpoint(config: &Config, args: CheckpointArgs) -> anyhow::Result<i32> {
    let dir = config.engine.checkpoint_dir.clone();
    match args.command {
        CheckpointCommand::Show { json } => inspect::show(config, &dir, json),
        CheckpointCommand::List { entity, json } => inspect::list(&dir, entity, json),
        CheckpointCommand::Export { file } => inspect::export(&dir, &file),
        CheckpointCommand::Verify => verify::verify(config, &dir),
        CheckpointCommand::Reset { entity, yes } => repair::reset(config, &dir, entity, yes),
        CheckpointCommand::Rewind {
            entity,
            to_version,
            forward,
            yes,
        } => repair::rewind(config, &dir, entity, to_version, forward, yes),
    }
}

/// Applied versions per entity from PostgreSQL, if it is configured and answers.
fn applied_versions(config: &Config) -> Result<BTreeMap<String, i64>, String> {
    let url = config.database_url().map_err(|err| err.to_string())?;
    let mut conn = db::connect(url).map_err(|err| err.to_string())?;
    let states = db::load_sync_states(&mut conn).map_err(|err| err.to_string())?;
    Ok(states
        .into_iter()
        .map(|s| (s.entity, s.last_version))
        .collect())
}

/// Records an operator change in `sync_log` when PostgreSQL is reachable.
fn record(config: &Config, entities: &[Entity], note: &str) {
    let Ok(url) = config.database_url() else {
        return;
    };
    match db::connect(url).and_then(|mut conn| {
        db::run_pending_migrations(&mut conn)?;
        let run_id = new_run_id();
        for entity in entities {
            db::record_operator_action(&mut conn, &run_id, *entity, note)?;
        }
        Ok(())
    }) {
        Ok(()) => {}
        Err(err) => log::warn!("the change was made but could not be recorded in sync_log: {err}"),
    }
}
