//! `lightsync checkpoint show|list|export|verify|reset|rewind`: inspecting and repairing the local
//! checkpoint store, with what PostgreSQL knows beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::checkpoint::{
    read_holder, BatchSummary, CheckpointError, CheckpointStore, FORMAT_VERSION,
};
use crate::cli::{CheckpointArgs, CheckpointCommand};
use crate::config::Config;
use crate::db;
use crate::engine::{new_run_id, LockHeld};
use crate::entity::Entity;
use crate::exit::{self, UsageError};

pub fn checkpoint(config: &Config, args: CheckpointArgs) -> anyhow::Result<i32> {
    let dir = config.engine.checkpoint_dir.clone();
    match args.command {
        CheckpointCommand::Show { json } => show(config, &dir, json),
        CheckpointCommand::List { entity, json } => list(&dir, entity, json),
        CheckpointCommand::Export { file } => export(&dir, &file),
        CheckpointCommand::Verify => verify(config, &dir),
        CheckpointCommand::Reset { entity, yes } => reset(config, &dir, entity, yes),
        CheckpointCommand::Rewind {
            entity,
            to_version,
            yes,
        } => rewind(config, &dir, entity, to_version, yes),
    }
}

/// Opens the store for an operator command; a running sync's lock is exit code 3.
fn open_for_operator(dir: &Path) -> anyhow::Result<CheckpointStore> {
    match CheckpointStore::inspect(dir) {
        Ok(store) => Ok(store),
        Err(err @ CheckpointError::Locked { .. }) => Err(LockHeld(err.to_string()).into()),
        Err(err) => Err(err.into()),
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

#[derive(Serialize)]
struct EntityView {
    entity: String,
    fetch_cursor: Option<i64>,
    applied_version: Option<i64>,
    spooled_batches: usize,
    spooled_bytes: u64,
    spooled_records: u64,
    version_range: Option<(i64, i64)>,
    oldest_batch_age_secs: Option<i64>,
    unfinished_import: bool,
}

fn show(config: &Config, dir: &Path, json: bool) -> anyhow::Result<i32> {
    let applied = applied_versions(config);
    let store = match CheckpointStore::inspect(dir) {
        Ok(store) => store,
        Err(CheckpointError::Locked { .. }) => return show_locked(dir, &applied, json),
        Err(err) => return Err(err.into()),
    };
    let run = store.run()?;
    let unfinished: Vec<String> = run
        .as_ref()
        .map(|r| r.unfinished_import.clone())
        .unwrap_or_default();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut entities = Vec::new();
    for entity in Entity::ALL {
        let batches = store.batch_summaries(entity)?;
        entities.push(EntityView {
            entity: entity.name().to_string(),
            fetch_cursor: store.cursor(entity)?.map(|c| c.fetch_cursor),
            applied_version: applied
                .as_ref()
                .ok()
                .and_then(|a| a.get(entity.name()).copied()),
            spooled_batches: batches.len(),
            spooled_bytes: batches.iter().map(|b| b.bytes).sum(),
            spooled_records: batches.iter().map(|b| b.records).sum(),
            version_range: batches
                .first()
                .zip(batches.last())
                .map(|(f, l)| (f.after, l.max_version)),
            oldest_batch_age_secs: batches.first().map(|b| (now_ms - b.fetched_at_ms) / 1000),
            unfinished_import: unfinished.iter().any(|name| name == entity.name()),
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "path": dir,
                "format_version": FORMAT_VERSION,
                "size_bytes": store.size_on_disk(),
                "store": store.identity()?,
                "locked_by": null,
                "postgres": applied.as_ref().err(),
                "last_run": run,
                "entities": entities,
            }))?
        );
        return Ok(exit::SUCCESS);
    }
    println!("checkpoint store {}", dir.display());
    println!(
        "  format version {FORMAT_VERSION}, {} bytes on disk",
        store.size_on_disk()
    );
    if let Some(identity) = store.identity()? {
        println!("  store {identity}");
    }
    if let Some(run) = &run {
        println!("  last run {} ({}, pid {})", run.run_id, run.mode, run.pid);
    }
    if let Err(err) = &applied {
        println!("  PostgreSQL not consulted: {err}");
    }
    println!(
        "{:<10} {:>14} {:>14} {:>8} {:>12} {:>26} {:>10}  import",
        "entity", "fetch cursor", "applied", "batches", "bytes", "spooled versions", "oldest"
    );
    for e in &entities {
        println!(
            "{:<10} {:>14} {:>14} {:>8} {:>12} {:>26} {:>10}  {}",
            e.entity,
            e.fetch_cursor.map_or("-".into(), |v| v.to_string()),
            e.applied_version.map_or("-".into(), |v| v.to_string()),
            e.spooled_batches,
            e.spooled_bytes,
            e.version_range
                .map_or("-".into(), |(a, b)| format!("{a}..{b}")),
            e.oldest_batch_age_secs
                .map_or("-".into(), |s| format!("{s} s")),
            if e.unfinished_import {
                "unfinished"
            } else {
                "done"
            }
        );
    }
    Ok(exit::SUCCESS)
}

fn show_locked(
    dir: &Path,
    applied: &Result<BTreeMap<String, i64>, String>,
    json: bool,
) -> anyhow::Result<i32> {
    let holder = read_holder(dir);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "path": dir,
                "locked_by": holder,
                "applied_versions": applied.as_ref().ok(),
                "postgres": applied.as_ref().err(),
            }))?
        );
        return Ok(exit::SUCCESS);
    }
    println!("checkpoint store {}", dir.display());
    match &holder {
        Some(h) => println!(
            "  in use by a running lightsync: pid {}, `lightsync {}`, since {}",
            h.pid, h.command, h.since
        ),
        None => println!("  in use by another lightsync process"),
    }
    println!("  its local state cannot be read while it runs; PostgreSQL says:");
    match applied {
        Ok(applied) => {
            for entity in Entity::ALL {
                println!(
                    "  {:<10} applied version {}",
                    entity.name(),
                    applied
                        .get(entity.name())
                        .map_or("-".into(), |v| v.to_string())
                );
            }
        }
        Err(err) => println!("  (PostgreSQL not consulted: {err})"),
    }
    Ok(exit::SUCCESS)
}

#[derive(Serialize)]
struct BatchView {
    entity: String,
    #[serde(flatten)]
    batch: BatchSummary,
    fetched_at: String,
}

fn batch_views(store: &CheckpointStore, entity: Option<Entity>) -> anyhow::Result<Vec<BatchView>> {
    let entities: Vec<Entity> = entity.map_or(Entity::ALL.to_vec(), |e| vec![e]);
    let mut views = Vec::new();
    for entity in entities {
        for batch in store.batch_summaries(entity)? {
            views.push(BatchView {
                entity: entity.name().to_string(),
                fetched_at: chrono::DateTime::from_timestamp_millis(batch.fetched_at_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                batch,
            });
        }
    }
    Ok(views)
}

fn list(dir: &Path, entity: Option<Entity>, json: bool) -> anyhow::Result<i32> {
    let store = open_for_operator(dir)?;
    let views = batch_views(&store, entity)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(exit::SUCCESS);
    }
    if views.is_empty() {
        println!("no spooled batches: everything fetched has been applied");
        return Ok(exit::SUCCESS);
    }
    println!(
        "{:<10} {:>6} {:>14} {:>14} {:>8} {:>10}  fetched at",
        "entity", "seq", "after", "max version", "records", "bytes"
    );
    for v in &views {
        println!(
            "{:<10} {:>6} {:>14} {:>14} {:>8} {:>10}  {}",
            v.entity,
            v.batch.seq,
            v.batch.after,
            v.batch.max_version,
            v.batch.records,
            v.batch.bytes,
            v.fetched_at
        );
    }
    Ok(exit::SUCCESS)
}

fn export(dir: &Path, file: &PathBuf) -> anyhow::Result<i32> {
    let store = open_for_operator(dir)?;
    let mut entities = serde_json::Map::new();
    for entity in Entity::ALL {
        let mut batches = Vec::new();
        for summary in store.batch_summaries(entity)? {
            let batch = store.load_batch(entity, summary.seq)?;
            let records: Vec<serde_json::Value> = batch
                .records
                .iter()
                .map(|raw| {
                    serde_json::from_str(raw).unwrap_or(serde_json::Value::String(raw.clone()))
                })
                .collect();
            batches.push(json!({
                "seq": summary.seq,
                "after": batch.after,
                "max_version": batch.max_version,
                "fetched_at_ms": batch.fetched_at_ms,
                "records": records,
            }));
        }
        entities.insert(
            entity.name().to_string(),
            json!({ "cursor": store.cursor(entity)?, "batches": batches }),
        );
    }
    let document = json!({
        "format_version": FORMAT_VERSION,
        "store": store.identity()?,
        "last_run": store.run()?,
        "entities": entities,
    });
    std::fs::write(file, serde_json::to_vec_pretty(&document)?)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", file.display()))?;
    println!("exported the checkpoint store to {}", file.display());
    Ok(exit::SUCCESS)
}

fn verify(config: &Config, dir: &Path) -> anyhow::Result<i32> {
    let mut problems: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let store = match CheckpointStore::inspect(dir) {
        Ok(store) => store,
        Err(err @ CheckpointError::Locked { .. }) => return Err(LockHeld(err.to_string()).into()),
        Err(err) => {
            println!("problem: {err}");
            return Ok(exit::FAILURE);
        }
    };
    let applied = applied_versions(config);
    if let Err(err) = &applied {
        notes.push(format!("PostgreSQL not consulted: {err}"));
    }
    problems.extend(store.orphans()?);
    if let Err(err) = store.run() {
        problems.push(err.to_string());
    }
    for entity in Entity::ALL {
        let cursor = match store.cursor(entity) {
            Ok(cursor) => cursor,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        let batches = match store.batch_summaries(entity) {
            Ok(batches) => batches,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        for batch in &batches {
            if let Err(err) = store.load_batch(entity, batch.seq) {
                problems.push(err.to_string());
            }
        }
        for pair in batches.windows(2) {
            if pair[1].after != pair[0].max_version {
                problems.push(format!(
                    "{entity}: batch {} starts after {} but the previous one ends at {}: the spool has a gap",
                    pair[1].seq, pair[1].after, pair[0].max_version
                ));
            }
        }
        if let (Some(last), Some(cursor)) = (batches.last(), cursor) {
            if last.max_version != cursor.fetch_cursor {
                problems.push(format!(
                    "{entity}: the fetch cursor {} does not match the last spooled batch ({})",
                    cursor.fetch_cursor, last.max_version
                ));
            }
        }
        if let Ok(applied) = &applied {
            let applied = applied.get(entity.name()).copied().unwrap_or(0);
            if let Some(cursor) = cursor {
                if cursor.fetch_cursor < applied {
                    problems.push(format!(
                        "{entity}: the fetch cursor {} is behind PostgreSQL's applied version {applied}",
                        cursor.fetch_cursor
                    ));
                }
            }
            let stale = batches.iter().filter(|b| b.max_version <= applied).count();
            if stale > 0 {
                notes.push(format!(
                    "{entity}: {stale} spooled batch(es) are already in PostgreSQL; the next run drops them"
                ));
            }
            if let Some(first) = batches.iter().find(|b| b.max_version > applied) {
                if first.after > applied {
                    problems.push(format!(
                        "{entity}: the spool continues from {} but PostgreSQL has applied only up to {applied}: versions in between are missing",
                        first.after
                    ));
                }
            }
        }
    }
    for note in &notes {
        println!("note: {note}");
    }
    for problem in &problems {
        println!("problem: {problem}");
    }
    if problems.is_empty() {
        println!("checkpoint store {} is consistent", dir.display());
        Ok(exit::SUCCESS)
    } else {
        println!(
            "{} problem(s). `lightsync checkpoint reset --yes` discards the local state; the next run resumes from PostgreSQL.",
            problems.len()
        );
        Ok(exit::FAILURE)
    }
}

/// sled's own files and lightsync's, the only entries `reset` removes from the directory.
fn is_store_file(name: &str) -> bool {
    matches!(name, "conf" | "db" | "blobs" | "batches" | "holder.json") || name.starts_with("snap.")
}

fn reset(config: &Config, dir: &Path, entity: Option<Entity>, yes: bool) -> anyhow::Result<i32> {
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
            let store = open_for_operator(dir)?;
            store.reset_entity(entity)?;
            record(config, &[entity], note);
            println!("reset the {entity} checkpoint; the next run resumes from PostgreSQL");
        }
        None => {
            match CheckpointStore::inspect(dir) {
                Err(err @ CheckpointError::Locked { .. }) => {
                    return Err(LockHeld(err.to_string()).into())
                }
                // A damaged or foreign store is exactly what a full reset is for.
                Ok(store) => drop(store),
                Err(_) => {}
            }
            if dir.is_dir() {
                for entry in std::fs::read_dir(dir)? {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if is_store_file(&name) {
                        let path = entry.path();
                        if path.is_dir() {
                            std::fs::remove_dir_all(&path)?;
                        } else {
                            std::fs::remove_file(&path)?;
                        }
                    }
                }
                let _ = std::fs::remove_dir(dir);
            }
            record(config, &Entity::ALL, note);
            println!(
                "reset the checkpoint store {}; the next run resumes from PostgreSQL",
                dir.display()
            );
        }
    }
    Ok(exit::SUCCESS)
}

fn rewind(
    config: &Config,
    dir: &Path,
    entity: Entity,
    to_version: i64,
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
    let store = open_for_operator(dir)?;
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
    db::rewind_entity(
        &mut conn,
        &new_run_id(),
        entity.name(),
        to_version,
        &format!(
            "checkpoint rewind: the next run fetches {entity} again from version {to_version}"
        ),
    )?;
    store.reset_entity(entity)?;
    store.set_cursor(entity, to_version)?;
    println!("rewound {entity} to version {to_version}: the next run fetches from there (rows already stored stay; newer versions win)");
    Ok(exit::SUCCESS)
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
            db::record_operator_action(&mut conn, &run_id, entity.name(), note)?;
        }
        Ok(())
    }) {
        Ok(()) => {}
        Err(err) => log::warn!("the change was made but could not be recorded in sync_log: {err}"),
    }
}
