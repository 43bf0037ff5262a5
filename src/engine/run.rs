//! One run (`import` or `sync`): takes both locks, recovers every entity, runs the entity
//! streams concurrently under one rate governor, and closes the run's bookkeeping.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use diesel::PgConnection;
use tokio::sync::{mpsc, Semaphore};

use super::applier::{run_applier, ApplierTarget};
use super::failure::{first_cause, Failures};
use super::panics::panic_message;
use super::pipeline::{decoded_batches_per_stream, run_fetcher, EntityProgress, StreamContext};
use super::progress::{ProgressDisplay, Watched};
use super::recovery::{recover_entity, Recovered};
use super::refresh::run_refresh;
use super::report::{EntityReport, RunReport};
use super::run_open::{abandon, open_run};
use crate::checkpoint::{CheckpointStore, RunMeta};
use crate::config::Config;
use crate::db::{self, EntityRunEnd};
use crate::entity::Entity;
use crate::exit::LockHeld;
use crate::lightspeed::{Client, RequestCounters};

/// Which kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// The historical import (`lightsync import`).
    Import,
    /// The incremental run (`lightsync sync`).
    Incremental,
    /// An incremental run started by `serve --schedule`.
    Scheduled,
}

impl RunMode {
    pub fn name(self) -> &'static str {
        match self {
            RunMode::Import => "import",
            RunMode::Incremental => "incremental",
            RunMode::Scheduled => "scheduled",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub mode: RunMode,
    /// Start the import over from version 0 (existing rows stay; upserts are version-guarded).
    pub restart: bool,
    /// The entities to run; all when empty.
    pub entities: Vec<Entity>,
}

/// A new run id: sortable time plus randomness.
pub fn new_run_id() -> String {
    format!(
        "{}-{:06x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        rand::random::<u32>() & 0xff_ffff
    )
}

/// What the blocking preparation hands to the async part of the run.
struct Prepared {
    store: Arc<CheckpointStore>,
    pool: db::PgPool,
    /// Holds the advisory lock for as long as it lives.
    lock_connection: PgConnection,
    recovered: BTreeMap<Entity, Recovered>,
}

/// Runs an import or sync to the end and reports per entity.
pub async fn run(config: &Config, request: RunRequest) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let api = config.api()?;
    let url = config.database_url()?.clone();
    let entities = Entity::selection(&request.entities);
    let run_id = new_run_id();
    let identity = api.base_url.as_str().trim_end_matches('/').to_string();
    // Everything that can be refused without touching the database is checked before the run
    // is opened: from `prepare` on, a failure must close the run (see `abandon`).
    // Page bodies too large to hold (10,000 sales) are spilled beside the checkpoint store.
    let client = Client::new(&api, &config.engine.checkpoint_dir)
        .context("building the API client")?
        .spilling_into(&config.engine.checkpoint_dir);
    // An OAuth access token that would expire during the run is renewed first.
    client
        .renew_if_expiring()
        .await
        .context("preparing the Lightspeed token")?;

    let prepared = {
        let config = config.clone();
        let url = url.clone();
        let entities = entities.clone();
        let run_id = run_id.clone();
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            prepare(&config, &url, &identity, &entities, &run_id, &request)
        })
        .await
        .context("the preparation task panicked")??
    };

    /// Prepared batches an entity's fetcher may hand over before the applier takes them.
    const PREPARED_AHEAD: usize = 1;
    let spool_budget_kib = (config.engine.spool_max_bytes / 1024).min(u32::MAX as u64) as u32;
    let spool_budget = Arc::new(Semaphore::new(spool_budget_kib as usize));
    let mut streams: Vec<(Arc<StreamContext>, _, std::thread::JoinHandle<_>, _, _)> = Vec::new();
    let mut watched = Vec::new();
    for entity in &entities {
        let recovered = prepared.recovered[entity].clone();
        let ctx = Arc::new(StreamContext {
            entity: *entity,
            run_id: run_id.clone(),
            store: prepared.store.clone(),
            client: client.clone(),
            page_size: config.page_size,
            counters: Arc::new(RequestCounters::default()),
            progress: Arc::new(EntityProgress::default()),
            spool_budget: spool_budget.clone(),
            spool_budget_kib,
            decoded_slots: Arc::new(Semaphore::new(decoded_batches_per_stream(*entity))),
            failures: Failures::default(),
            longest_child_page: Default::default(),
        });
        watched.push(Watched {
            entity: *entity,
            progress: ctx.progress.clone(),
            counters: ctx.counters.clone(),
        });
        let (sender, receiver) = mpsc::channel(PREPARED_AHEAD);
        let target = ApplierTarget {
            pool: prepared.pool.clone(),
            url: url.clone(),
            patience: config.engine.db_patience,
        };
        let pending: Vec<u64> = recovered.pending.iter().map(|batch| batch.seq).collect();
        let applier_ctx = ctx.clone();
        let applier = match std::thread::Builder::new()
            .name(format!("apply-{entity}"))
            .spawn(move || {
                // The applier ends last in a stream (it drains what the fetcher spooled), so its
                // end is the entity's end.
                let result = run_applier(applier_ctx, target, pending, receiver);
                (result, chrono::Utc::now())
            }) {
            Ok(applier) => applier,
            Err(err) => {
                // The streams already started stop; their appliers drain and end on their own.
                for (ctx, fetcher, ..) in &streams {
                    ctx.failures.cancel();
                    tokio::task::JoinHandle::abort(fetcher);
                }
                let err = anyhow::Error::new(err).context("starting an applier thread");
                return Err(abandon(prepared.pool, &url, &run_id, &entities, err).await);
            }
        };
        let fetcher_ctx = ctx.clone();
        let fetcher = if entity.spec().is_refreshed() {
            // Copied whole in one transaction: the applier gets no batch and ends at once.
            drop(sender);
            let target = ApplierTarget {
                pool: prepared.pool.clone(),
                url: url.clone(),
                patience: config.engine.db_patience,
            };
            tokio::spawn(async move {
                run_refresh(fetcher_ctx.clone(), target)
                    .await
                    .map_err(|err| fetcher_ctx.failures.stamp(err))
            })
        } else {
            tokio::spawn(async move {
                run_fetcher(fetcher_ctx.clone(), recovered.fetch_cursor, sender)
                    .await
                    .map_err(|err| fetcher_ctx.failures.stamp(err))
            })
        };
        streams.push((
            ctx,
            fetcher,
            applier,
            chrono::Utc::now(),
            recovered.pending.len(),
        ));
    }
    log::info!(
        "run {run_id} ({}) started for {}",
        request.mode.name(),
        entities
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let display = ProgressDisplay::start(watched);

    let mut reports = Vec::new();
    for (ctx, fetcher, applier, entity_started, recovered_batches) in streams {
        let fetched = fetcher.await.unwrap_or_else(|err| {
            Err(ctx
                .failures
                .stamp(anyhow!("the {} fetcher panicked: {err}", ctx.entity)))
        });
        let applier_ctx = ctx.clone();
        let (applied, finished_at) = tokio::task::spawn_blocking(move || {
            applier.join().unwrap_or_else(|panic| {
                let err = anyhow!(
                    "the {} applier panicked: {}",
                    applier_ctx.entity,
                    panic_message(panic.as_ref())
                );
                (Err(applier_ctx.failures.stamp(err)), chrono::Utc::now())
            })
        })
        .await
        .unwrap_or_else(|err| (Err(ctx.failures.stamp(err.into())), chrono::Utc::now()));
        ctx.progress.finished.store(true, Ordering::SeqCst);
        let ended = match first_cause([fetched.err(), applied.err()].into_iter().flatten()) {
            Some(cause) => Err(cause.into_error()),
            None => Ok(()),
        };
        let (error, skipped) = super::skip::judge(ended);
        if let Some(error) = &error {
            log::error!("{}: {error}", ctx.entity);
        }
        if let Some(reason) = &skipped {
            log::warn!("{}: skipped: {reason}", ctx.entity);
        }
        let p = &ctx.progress;
        reports.push(EntityReport {
            entity: ctx.entity,
            error,
            skipped,
            pages: p.pages_applied.load(Ordering::Relaxed),
            records: p.records_applied.load(Ordering::Relaxed),
            inserted: p.inserted.load(Ordering::Relaxed),
            updated: p.updated.load(Ordering::Relaxed),
            deleted: p.deleted.load(Ordering::Relaxed),
            line_items: p.line_items.load(Ordering::Relaxed),
            requests: ctx.counters.totals(),
            recovered_batches,
            started_at: entity_started,
            finished_at,
        });
    }
    display.finish().await;

    let report = RunReport {
        run_id: run_id.clone(),
        mode: request.mode,
        entities: reports,
        elapsed: started.elapsed(),
    };
    let finishing = report.clone();
    tokio::task::spawn_blocking(move || close_run(prepared, &url, &finishing))
        .await
        .context("the closing task panicked")??;
    crate::alert::notify_after_run(config, &report).await;
    Ok(report)
}

fn prepare(
    config: &Config,
    url: &crate::config::DatabaseUrl,
    identity: &str,
    entities: &[Entity],
    run_id: &str,
    request: &RunRequest,
) -> anyhow::Result<Prepared> {
    let command = match request.mode {
        RunMode::Import => "import",
        RunMode::Incremental => "sync",
        RunMode::Scheduled => "serve --schedule",
    };
    // The first connection refuses a transaction-mode pooler before anything is written,
    // the checkpoint store included.
    drop(db::connect(url)?);
    let store = CheckpointStore::open(&config.engine.checkpoint_dir, Some(identity), command)?;
    // One connection per lane of every stream, and two for the run's own bookkeeping.
    let lanes: usize = entities
        .iter()
        .map(|entity| super::lanes::lanes_for(*entity))
        .sum();
    let pool = db::pool(url, lanes as u32 + 2)?;
    let mut lock_connection = db::connect(url)?;
    let applied = db::run_pending_migrations(&mut lock_connection)?;
    if !applied.is_empty() {
        log::info!("applied {} database migration(s)", applied.len());
    }
    if !db::try_lock_store(&mut lock_connection, db::store_lock_key(identity))? {
        return Err(LockHeld(format!(
            "another lightsync run is syncing {identity} into this database (its PostgreSQL advisory lock is held); wait for it to finish"
        ))
        .into());
    }
    if !db::session_holds_lock(&mut lock_connection, db::store_lock_key(identity))? {
        return Err(crate::config::ConfigError::Invalid {
            variable: "DATABASE_URL",
            reason: "it goes through a transaction-mode pooler (the run's session lock vanished between two statements); use the direct connection or a session-mode pooler connection string".into(),
        }
        .into());
    }
    let interrupted = db::mark_interrupted_runs(&mut lock_connection)?;
    if interrupted > 0 {
        log::warn!(
            "marked {interrupted} run(s) left `running` by a stopped process as interrupted"
        );
    }
    let mut recovered = BTreeMap::new();
    for entity in entities {
        if request.restart {
            store.reset_entity(*entity)?;
            // The rewind is an operator action of its own: the run itself opens its own
            // `sync_log` row for the entity under `run_id` right after.
            db::rewind_entity(
                &mut lock_connection,
                &format!("{run_id}-restart"),
                entity.name(),
                0,
                "import --restart: fetching again from version 0",
            )?;
            log::info!("{entity}: restarting the import from version 0");
        }
        let applied_version = db::load_last_version(&mut lock_connection, entity.name())?;
        recovered.insert(*entity, recover_entity(&store, *entity, applied_version)?);
    }
    let mut unfinished: Vec<String> = store
        .run()?
        .map(|run| run.unfinished_import)
        .unwrap_or_default();
    if request.mode == RunMode::Import {
        unfinished.extend(entities.iter().map(|e| e.name().to_string()));
        unfinished.sort();
        unfinished.dedup();
    }
    let meta = RunMeta {
        run_id: run_id.to_string(),
        mode: request.mode.name().to_string(),
        pid: std::process::id(),
        started_at_ms: chrono::Utc::now().timestamp_millis(),
        unfinished_import: unfinished,
    };
    // Opened last: a failure from here on closes what was opened.
    open_run(&mut lock_connection, &store, &meta, entities)?;
    Ok(Prepared {
        store: Arc::new(store),
        pool,
        lock_connection,
        recovered,
    })
}

fn close_run(
    prepared: Prepared,
    url: &crate::config::DatabaseUrl,
    report: &RunReport,
) -> anyhow::Result<()> {
    let Prepared {
        store,
        pool,
        lock_connection,
        ..
    } = prepared;
    let mut conn = db::checkout(&pool, url)?;
    for entity in &report.entities {
        let end = EntityRunEnd {
            run_id: &report.run_id,
            entity: entity.entity.name(),
            table: entity.entity.table(),
            error: entity.error.as_deref(),
            skipped: entity.skipped.as_deref(),
            requests: entity.requests.requests,
            retries: entity.requests.retries,
            rate_limited: entity.requests.rate_limited,
            wrote_rows: entity.inserted + entity.updated > 0,
            started_at: entity.started_at,
            finished_at: entity.finished_at,
        };
        db::finish_entity_run(&mut conn, &end)
            .with_context(|| format!("recording the end of the {} run", entity.entity))?;
    }
    if let Some(mut run) = store.run()? {
        let done: Vec<&str> = report
            .entities
            .iter()
            .filter(|e| e.error.is_none() && e.skipped.is_none())
            .map(|e| e.entity.name())
            .collect();
        run.unfinished_import
            .retain(|name| !done.contains(&name.as_str()));
        store.set_run(&run)?;
    }
    drop(lock_connection);
    Ok(())
}
