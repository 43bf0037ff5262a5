//! `lightsync reconcile`: proves the mirror complete against the store, entity by entity, and
//! repairs what differs through the ordinary crash-exact run. Each entity's result is recorded
//! in `sync_log` (mode `reconcile`), where `status`, the dashboard and `/metrics` read it.
//!
//! While it compares, it holds the store's PostgreSQL lock, so no sync moves the applied
//! version under it. A repair marks extra rows deleted in one transaction, rewinds the entities
//! with missing or stale records to just below the lowest of them, runs an incremental sync of
//! those entities (version-guarded, crash-exact like any run), and compares again.

mod compare;
mod last;
mod sample;
mod walk;

pub use compare::{Differences, Examples, EXAMPLES};
pub use last::LastReconcile;
pub use sample::Coverage;

use std::time::Instant;

use anyhow::Context;
use diesel::PgConnection;

use crate::checkpoint::CheckpointStore;
use crate::config::Config;
use crate::db;
use crate::engine::{self, RunMode, RunRequest};
use crate::entity::Entity;
use crate::lightspeed::{Client, RequestCounters};

/// What to reconcile.
#[derive(Debug, Clone, Default)]
pub struct ReconcileRequest {
    /// All entities when empty.
    pub entities: Vec<Entity>,
    /// Windows per entity for a sampled reconcile; `None` for a full one.
    pub sample: Option<u32>,
    pub repair: bool,
}

/// One entity's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntityReconcile {
    #[serde(serialize_with = "entity_name")]
    pub entity: Entity,
    #[serde(flatten)]
    pub differences: Differences,
    /// A sampled reconcile's reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    pub requests: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why an entity was not compared record by record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// A whole reconcile's result (after the repair, when one was asked for).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReconcileReport {
    pub run_id: String,
    pub mode: &'static str,
    /// What the first comparison found, when a repair followed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_repair: Option<Vec<EntityReconcile>>,
    pub entities: Vec<EntityReconcile>,
    pub seconds: f64,
}

impl ReconcileReport {
    /// Whether anything differs (or could not be compared).
    pub fn differs(&self) -> bool {
        self.entities
            .iter()
            .any(|e| e.error.is_some() || e.differences.total() > 0)
    }
}

/// Runs a reconcile to the end.
pub async fn reconcile(
    config: &Config,
    request: ReconcileRequest,
) -> anyhow::Result<ReconcileReport> {
    let started = Instant::now();
    let entities = Entity::selection(&request.entities);
    let run_id = engine::new_run_id();
    let first = compare_all(config, &entities, request.sample, &run_id).await?;
    crate::alert::notify_after_reconcile(config, &run_id, differing(&first)).await;
    if !request.repair
        || first
            .iter()
            .all(|e| e.error.is_none() && e.differences.total() == 0)
    {
        return Ok(ReconcileReport {
            run_id,
            mode: mode_name(request.sample),
            before_repair: None,
            entities: first,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    repair(config, &first).await?;
    // A sampled check after a repair would look elsewhere: the repaired entities are proven
    // again in full.
    let repaired: Vec<Entity> = first
        .iter()
        .filter(|e| e.differences.total() > 0)
        .map(|e| e.entity)
        .collect();
    let mut after = compare_all(config, &repaired, None, &format!("{run_id}-repaired")).await?;
    for entity in &first {
        if !repaired.contains(&entity.entity) {
            after.push(entity.clone());
        }
    }
    after.sort_by_key(|e| e.entity);
    crate::alert::notify_after_reconcile(config, &format!("{run_id}-repaired"), differing(&after))
        .await;
    Ok(ReconcileReport {
        run_id,
        mode: mode_name(request.sample),
        before_repair: Some(first),
        entities: after,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The entities whose rows differ, with their counts (missing, stale, extra).
fn differing(results: &[EntityReconcile]) -> Vec<(Entity, (u64, u64, u64))> {
    results
        .iter()
        .filter(|e| e.differences.total() > 0)
        .map(|e| {
            let d = &e.differences;
            (e.entity, (d.missing, d.stale, d.extra))
        })
        .collect()
}

fn entity_name<S: serde::Serializer>(entity: &Entity, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(entity.name())
}

fn mode_name(sample: Option<u32>) -> &'static str {
    if sample.is_some() {
        "sampled"
    } else {
        "full"
    }
}

/// Compares every entity under the store's lock and records each result.
async fn compare_all(
    config: &Config,
    entities: &[Entity],
    sample: Option<u32>,
    run_id: &str,
) -> anyhow::Result<Vec<EntityReconcile>> {
    let run_id = run_id.to_string();
    let api = config.api()?;
    let url = config.database_url()?.clone();
    let client = engine::open_client(config, &api).await?;
    let identity = api.base_url.as_str().trim_end_matches('/').to_string();
    let page_size = config.page_size;
    let entities = entities.to_vec();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<EntityReconcile>> {
        let mut lock = db::connect(&url)?;
        db::run_pending_migrations(&mut lock)?;
        if !db::try_lock_store(&mut lock, db::store_lock_key(&identity))? {
            return Err(crate::db::LockHeld(format!(
                "a lightsync run is syncing {identity} into this database (its PostgreSQL advisory lock is held); reconcile when it has finished"
            ))
            .into());
        }
        let mut cursor_conn = db::connect(&url)?;
        let mut conn = db::connect(&url)?;
        // This connection only looks rows up by key or parent. Right after a large import the
        // tables have no statistics yet, and the planner scanned 3,000,000 line items for each
        // thousand parents (1.3 s, or more with JIT) instead of using the index (0.1 s).
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "SET jit = off; SET enable_seqscan = off",
        )?;
        let mut results = Vec::new();
        for entity in entities {
            let begun = chrono::Utc::now();
            let counters = RequestCounters::default();
            let outcome = compare_one(
                entity,
                &client,
                &handle,
                page_size,
                &counters,
                sample,
                &mut cursor_conn,
                &mut conn,
            );
            let (differences, coverage, error) = match outcome {
                Ok((differences, coverage)) => (differences, coverage, None),
                Err(err) => (Differences::default(), None, Some(format!("{err:#}"))),
            };
            let requests = counters.totals().requests;
            db::record_reconcile(
                &mut conn,
                &db::ReconcileRecord {
                    run_id: &run_id,
                    entity,
                    checked: differences.checked,
                    missing: differences.missing,
                    stale: differences.stale,
                    extra: differences.extra,
                    requests,
                    error: error.as_deref(),
                    started_at: begun,
                },
            )?;
            log_result(entity, &differences, error.as_deref());
            results.push(EntityReconcile {
                entity,
                differences,
                coverage,
                requests,
                error,
                note: entity.spec().is_refreshed().then_some(
                    "copied whole by every run in one transaction: complete as of the last run; not compared record by record",
                ),
            });
        }
        drop(lock);
        Ok(results)
    })
    .await
    .context("the reconcile task panicked")?
}

#[allow(clippy::too_many_arguments)]
fn compare_one(
    entity: Entity,
    client: &Client,
    handle: &tokio::runtime::Handle,
    page_size: u32,
    counters: &RequestCounters,
    sample: Option<u32>,
    cursor_conn: &mut PgConnection,
    conn: &mut PgConnection,
) -> anyhow::Result<(Differences, Option<Coverage>)> {
    let applied = db::load_last_version(conn, entity)?;
    let walk = walk::Walk {
        entity,
        client,
        handle,
        page_size,
        counters,
        applied,
        longest_child_page: Default::default(),
    };
    if entity.spec().is_refreshed() {
        // Copied whole in one transaction by every run: complete as of its last run by
        // construction, and without versions a change since then cannot be told from a
        // difference.
        return Ok((Differences::default(), None));
    }
    // Entities without versions of their own are small (reference data): always in full.
    let sampled = sample.filter(|_| entity.spec().version == crate::entity::VersionSource::Own);
    match sampled {
        Some(windows) => {
            let (differences, coverage) = walk.sampled(windows, cursor_conn, conn)?;
            Ok((differences, Some(coverage)))
        }
        None => Ok((walk.full(cursor_conn, conn)?, None)),
    }
}

fn log_result(entity: Entity, differences: &Differences, error: Option<&str>) {
    match error {
        Some(error) => log::error!("{entity}: cannot reconcile: {error}"),
        None if differences.total() == 0 => log::info!(
            "{entity}: {} record(s) checked, nothing differs",
            differences.checked
        ),
        None => log::warn!(
            "{entity}: {} record(s) checked: {} missing, {} stale, {} extra",
            differences.checked,
            differences.missing,
            differences.stale,
            differences.extra
        ),
    }
}

/// Brings PostgreSQL back in line: extras marked deleted, then the entities with missing or
/// stale records fetched again from just below the lowest of them by an ordinary run.
async fn repair(config: &Config, found: &[EntityReconcile]) -> anyhow::Result<()> {
    let url = config.database_url()?.clone();
    let dir = config.engine.checkpoint_dir.clone();
    let identity = config
        .api()?
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let plan: Vec<(Entity, Differences)> = found
        .iter()
        .filter(|e| e.differences.total() > 0)
        .map(|e| (e.entity, e.differences.clone()))
        .collect();
    let refetch: Vec<Entity> = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Entity>> {
        let mut conn = db::connect(&url)?;
        if !db::try_lock_store(&mut conn, db::store_lock_key(&identity))? {
            return Err(crate::db::LockHeld(format!(
                "a lightsync run is syncing {identity} into this database; repair when it has finished"
            ))
            .into());
        }
        let store = CheckpointStore::open(&dir, Some(&identity), "reconcile --repair")?;
        let run_id = engine::new_run_id();
        let mut refetch = Vec::new();
        for (entity, found) in plan {
            let key_sql = walk::key_sql(entity);
            if !found.extra_ids.is_empty() {
                let marked = db::mark_extras_deleted(
                    &mut conn,
                    entity,
                    &key_sql,
                    &found.extra_ids,
                    &format!("{run_id}-{entity}"),
                )?;
                log::info!("{entity}: marked {marked} row(s) the store does not list deleted");
            }
            if let Some(from) = found.refetch_from {
                let applied = db::load_last_version(&mut conn, entity)?;
                let rewind_to = (from - 1).max(0).min(applied);
                let children: Vec<(&str, &str)> = entity
                    .spec()
                    .children
                    .iter()
                    .map(|child| (child.table, child.parent_column))
                    .collect();
                db::forget_and_rewind(
                    &mut conn,
                    entity,
                    &key_sql,
                    &children,
                    &found.stale_ids,
                    rewind_to,
                    &format!("{run_id}-{entity}-rewind"),
                )?;
                store.reset_entity(entity)?;
                store.set_cursor(entity, rewind_to)?;
                log::info!(
                    "{entity}: fetching again after version {rewind_to} ({} missing, {} stale)",
                    found.missing,
                    found.stale
                );
                refetch.push(entity);
            }
        }
        Ok(refetch)
    })
    .await
    .context("the repair task panicked")??;
    crate::failpoint::crash_point("repair-rewound");
    if refetch.is_empty() {
        return Ok(());
    }
    let report = engine::run(
        config,
        RunRequest {
            mode: RunMode::Incremental,
            restart: false,
            entities: refetch,
        },
    )
    .await?;
    crate::alert::notify_after_run(config, &report).await;
    if !report.succeeded() {
        anyhow::bail!(
            "the repair's run failed for {}; run `lightsync reconcile --repair` again",
            report.failed_entities().join(", ")
        );
    }
    Ok(())
}
