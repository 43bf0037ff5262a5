//! `checkpoint show|list|export`: what the local store holds, with PostgreSQL's applied
//! versions beside it; a store held by a running sync is shown from PostgreSQL alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use super::applied_versions;
use crate::checkpoint::{
    read_holder, BatchSummary, CheckpointError, CheckpointStore, FORMAT_VERSION,
};
use crate::config::Config;
use crate::entity::Entity;
use crate::exit;

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

pub(super) fn show(config: &Config, dir: &Path, json: bool) -> anyhow::Result<i32> {
    let w = Entity::NAME_WIDTH;
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
        crate::outln!(
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
    crate::outln!("checkpoint store {}", dir.display());
    crate::outln!(
        "  format version {FORMAT_VERSION}, {} bytes on disk",
        store.size_on_disk()
    );
    if let Some(identity) = store.identity()? {
        crate::outln!("  store {identity}");
    }
    if let Some(run) = &run {
        crate::outln!("  last run {} ({}, pid {})", run.run_id, run.mode, run.pid);
    }
    if let Err(err) = &applied {
        crate::outln!("  PostgreSQL not consulted: {err}");
    }
    crate::outln!(
        "{:<w$} {:>14} {:>14} {:>8} {:>12} {:>26} {:>10}  import",
        "entity",
        "fetch cursor",
        "applied",
        "batches",
        "bytes",
        "spooled versions",
        "oldest"
    );
    for e in &entities {
        crate::outln!(
            "{:<w$} {:>14} {:>14} {:>8} {:>12} {:>26} {:>10}  {}",
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
    let w = Entity::NAME_WIDTH;
    let holder = read_holder(dir);
    if json {
        crate::outln!(
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
    crate::outln!("checkpoint store {}", dir.display());
    match &holder {
        Some(h) => crate::outln!(
            "  in use by a running lightsync: pid {}, `lightsync {}`, since {}",
            h.pid,
            h.command,
            h.since
        ),
        None => crate::outln!("  in use by another lightsync process"),
    }
    crate::outln!("  its local state cannot be read while it runs; PostgreSQL says:");
    match applied {
        Ok(applied) => {
            for entity in Entity::ALL {
                crate::outln!(
                    "  {:<w$} applied version {}",
                    entity.name(),
                    applied
                        .get(entity.name())
                        .map_or("-".into(), |v| v.to_string())
                );
            }
        }
        Err(err) => crate::outln!("  (PostgreSQL not consulted: {err})"),
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

pub(super) fn list(dir: &Path, entity: Option<Entity>, json: bool) -> anyhow::Result<i32> {
    let w = Entity::NAME_WIDTH;
    let store = CheckpointStore::inspect(dir)?;
    let views = batch_views(&store, entity)?;
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(exit::SUCCESS);
    }
    if views.is_empty() {
        crate::outln!("no spooled batches: everything fetched has been applied");
        return Ok(exit::SUCCESS);
    }
    crate::outln!(
        "{:<w$} {:>6} {:>14} {:>14} {:>8} {:>10}  fetched at",
        "entity",
        "seq",
        "after",
        "max version",
        "records",
        "bytes"
    );
    for v in &views {
        crate::outln!(
            "{:<w$} {:>6} {:>14} {:>14} {:>8} {:>10}  {}",
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

pub(super) fn export(dir: &Path, file: &Path) -> anyhow::Result<i32> {
    let store = CheckpointStore::inspect(dir)?;
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
    // The export holds customers' data: readable by its owner only.
    crate::private_files::write_private(file, &serde_json::to_vec_pretty(&document)?)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", file.display()))?;
    crate::outln!("exported the checkpoint store to {}", file.display());
    Ok(exit::SUCCESS)
}
