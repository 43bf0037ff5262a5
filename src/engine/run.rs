//! One run (`import` or `sync`): takes both locks, recovers every entity, runs the entity
//! streams concurrently under one rate governor, and closes the run's bookkeeping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use diesel::PgConnection;
use tokio::sync::Semaphore;

use super::lanes::lanes_for;
use super::progress::ProgressDisplay;
use super::recovery::{recover_entity, Recovered};
use super::report::RunReport;
use super::run_open::{abandon, open_run};
use super::stream::{SharedByStreams, Stream};
use super::write_strategy::ApplierTarget;
use crate::checkpoint::{CheckpointStore, RunMeta};
use crate::config::{ApiConfig, Config, DatabaseUrl};
use crate::db::{self, EntityRunEnd, LockHeld};
use crate::entity::Entity;
use crate::lightspeed::Client;

/// Which kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// The historical import (`lightsync import`).
    Import,
    /// The incremental run (`lightsync sync`).
    Incremental,
    /// An incremental run started by `serve --schedule`.
    Scheduled,
    /// An incremental run of the entities a Lightspeed webhook named (`serve`).
    Webhook,
    /// An incremental run of the entities whose poll interval came round (`serve --follow`).
    Follow,
}

impl RunMode {
    pub fn name(self) -> &'static str {
        match self {
            RunMode::Import => "import",
            RunMode::Incremental => "incremental",
            RunMode::Scheduled => "scheduled",
            RunMode::Webhook => "webhook",
            RunMode::Follow => "follow",
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

/// Runs an import or sync to the end and reports per entity: prepare (locks, migrations,
/// recovery, the run opened), spawn a stream per entity, join them, close the run. The caller
/// sends the alerts the report calls for.
pub async fn run(config: &Config, request: RunRequest) -> anyhow::Result<RunReport> {
    let client = open_client(config, &config.api()?).await?;
    run_with_client(config, request, client).await
}

/// `run` with a client the caller keeps between runs (`serve --follow`), so that its runs share
/// one rate governor. The caller renews the token (`Client::renew_if_expiring`).
pub async fn run_with_client(
    config: &Config,
    request: RunRequest,
    client: Client,
) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let api = config.api()?;
    let url = config.database_url()?.clone();
    let entities = Entity::selection(&request.entities);
    let run_id = new_run_id();
    let identity = api.base_url.as_str().trim_end_matches('/').to_string();
    // Everything that can be refused without touching the database is checked before the run
    // is opened: from `prepare` on, a failure must close the run (see `abandon`).
    let prepared = {
        let (config, url, entities) = (config.clone(), url.clone(), entities.clone());
        let (run_id, request) = (run_id.clone(), request.clone());
        tokio::task::spawn_blocking(move || {
            prepare(&config, &url, &identity, &entities, &run_id, &request)
        })
        .await
        .context("the preparation task panicked")??
    };
    let shared = shared_by_streams(config, &prepared, client, &url, &run_id, request.mode);
    let streams = match spawn_streams(&shared, &entities, &prepared.recovered) {
        Ok(streams) => streams,
        Err(err) => return Err(abandon(prepared.pool, &url, &run_id, &entities, err).await),
    };
    let names: Vec<&str> = entities.iter().map(|entity| entity.name()).collect();
    // A followed store starts a run every few seconds: those starts are not news.
    let level = if request.mode == RunMode::Follow {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    log::log!(
        level,
        "run {run_id} ({}) started for {}",
        request.mode.name(),
        names.join(", ")
    );
    let display = ProgressDisplay::start(streams.iter().map(Stream::watched).collect());
    let mut reports = Vec::new();
    for stream in streams {
        reports.push(stream.join().await);
    }
    display.finish().await;
    let report = RunReport {
        run_id,
        mode: request.mode,
        entities: reports,
        elapsed: started.elapsed(),
    };
    let finishing = report.clone();
    tokio::task::spawn_blocking(move || close_run(prepared, &url, &finishing))
        .await
        .context("the closing task panicked")??;
    Ok(report)
}

/// The API client of a run (or a reconcile), its token renewed first if it would expire during
/// the run. Page bodies too large to hold (10,000 sales) are spilled beside the checkpoint
/// store.
pub async fn open_client(config: &Config, api: &ApiConfig) -> anyhow::Result<Client> {
    let client = Client::new(api, &config.engine.checkpoint_dir)
        .context("building the API client")?
        .spilling_into(&config.engine.checkpoint_dir);
    client
        .renew_if_expiring()
        .await
        .context("preparing the Lightspeed token")?;
    Ok(client)
}

fn shared_by_streams(
    config: &Config,
    prepared: &Prepared,
    client: Client,
    url: &DatabaseUrl,
    run_id: &str,
    mode: RunMode,
) -> SharedByStreams {
    let spool_budget_kib = (config.engine.spool_max_bytes / 1024).min(u32::MAX as u64) as u32;
    SharedByStreams {
        run_id: run_id.to_string(),
        store: prepared.store.clone(),
        client,
        page_size: config.page_size,
        target: ApplierTarget {
            pool: prepared.pool.clone(),
            url: url.clone(),
            patience: config.engine.db_patience,
        },
        spool_budget: Arc::new(Semaphore::new(spool_budget_kib as usize)),
        spool_budget_kib,
        one_page: mode == RunMode::Webhook,
    }
}

/// One stream per entity; if one cannot start, those started are stopped.
fn spawn_streams(
    shared: &SharedByStreams,
    entities: &[Entity],
    recovered: &BTreeMap<Entity, Recovered>,
) -> anyhow::Result<Vec<Stream>> {
    let mut streams = Vec::new();
    for entity in entities {
        match Stream::spawn(shared, *entity, recovered[entity].clone()) {
            Ok(stream) => streams.push(stream),
            Err(err) => {
                streams.iter().for_each(Stream::stop);
                return Err(anyhow::Error::new(err).context("starting an applier thread"));
            }
        }
    }
    Ok(streams)
}

/// Everything before the streams start, on blocking connections: the pooler probe, the
/// checkpoint store, the pool, migrations and the store's lock, then recovery and the run
/// opened (last: a failure from there on closes what was opened).
fn prepare(
    config: &Config,
    url: &DatabaseUrl,
    identity: &str,
    entities: &[Entity],
    run_id: &str,
    request: &RunRequest,
) -> anyhow::Result<Prepared> {
    // The first connection refuses a transaction-mode pooler before anything is written,
    // the checkpoint store included.
    drop(db::connect(url)?);
    let command = match request.mode {
        RunMode::Import => "import",
        RunMode::Incremental => "sync",
        RunMode::Scheduled => "serve --schedule",
        RunMode::Webhook => "serve (webhook)",
        RunMode::Follow => "serve --follow",
    };
    let store = CheckpointStore::open(&config.engine.checkpoint_dir, Some(identity), command)?;
    // One connection per lane of every stream, and two for the run's own bookkeeping.
    let lanes: usize = entities.iter().map(|entity| lanes_for(*entity)).sum();
    let pool = db::pool(url, lanes as u32 + 2)?;
    let mut lock_connection = lock_store(url, identity)?;
    let interrupted = db::mark_interrupted_runs(&mut lock_connection)?;
    if interrupted > 0 {
        log::warn!(
            "marked {interrupted} run(s) left `running` by a stopped process as interrupted"
        );
    }
    let mut recovered = BTreeMap::new();
    for entity in entities {
        if request.restart {
            restart_entity(&mut lock_connection, &store, *entity, run_id)?;
        }
        let applied_version = db::load_last_version(&mut lock_connection, *entity)?;
        recovered.insert(*entity, recover_entity(&store, *entity, applied_version)?);
    }
    let meta = run_meta(&store, run_id, request, entities)?;
    open_run(&mut lock_connection, &store, &meta, entities)?;
    Ok(Prepared {
        store: Arc::new(store),
        pool,
        lock_connection,
        recovered,
    })
}

/// A connection holding the store's advisory lock, the database's migrations applied.
fn lock_store(url: &DatabaseUrl, identity: &str) -> anyhow::Result<PgConnection> {
    let mut conn = db::connect(url)?;
    let applied = db::run_pending_migrations(&mut conn)?;
    if !applied.is_empty() {
        log::info!("applied {} database migration(s)", applied.len());
    }
    let key = db::store_lock_key(identity);
    if !db::try_lock_store(&mut conn, key)? {
        return Err(LockHeld(format!(
            "another lightsync run is syncing {identity} into this database (its PostgreSQL advisory lock is held); wait for it to finish"
        ))
        .into());
    }
    if !db::session_holds_lock(&mut conn, key)? {
        return Err(crate::config::ConfigError::Invalid {
            variable: "DATABASE_URL",
            reason: "it goes through a transaction-mode pooler (the run's session lock vanished between two statements); use the direct connection or a session-mode pooler connection string".into(),
        }
        .into());
    }
    Ok(conn)
}

/// `import --restart`: the entity's spool and cursor dropped and its applied version set to 0,
/// recorded as an operator action of its own (the run opens its own `sync_log` row right
/// after).
fn restart_entity(
    conn: &mut PgConnection,
    store: &CheckpointStore,
    entity: Entity,
    run_id: &str,
) -> anyhow::Result<()> {
    store.reset_entity(entity)?;
    let reason = "import --restart: fetching again from version 0";
    db::rewind_entity(conn, &format!("{run_id}-restart"), entity, 0, reason)?;
    log::info!("{entity}: restarting the import from version 0");
    Ok(())
}

/// The store's record of this run: the entities whose import is still unfinished include an
/// import's own.
fn run_meta(
    store: &CheckpointStore,
    run_id: &str,
    request: &RunRequest,
    entities: &[Entity],
) -> anyhow::Result<RunMeta> {
    let mut unfinished: Vec<String> = store
        .run()?
        .map(|run| run.unfinished_import)
        .unwrap_or_default();
    if request.mode == RunMode::Import {
        unfinished.extend(entities.iter().map(|e| e.name().to_string()));
        unfinished.sort();
        unfinished.dedup();
    }
    Ok(RunMeta {
        run_id: run_id.to_string(),
        mode: request.mode.name().to_string(),
        pid: std::process::id(),
        started_at_ms: chrono::Utc::now().timestamp_millis(),
        unfinished_import: unfinished,
    })
}

fn close_run(prepared: Prepared, url: &DatabaseUrl, report: &RunReport) -> anyhow::Result<()> {
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
            entity: entity.entity,
            error: entity.error.as_deref(),
            skipped: entity.skipped.as_deref(),
            requests: entity.requests.requests,
            retries: entity.requests.retries,
            rate_limited: entity.requests.rate_limited,
            wrote_rows: entity.inserted + entity.updated > 0,
            caught_up: entity.caught_up,
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
