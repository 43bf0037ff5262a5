//! Opening a run (each entity's `sync_state` row `running`, the store's run record) once
//! everything else is ready, and closing a run that failed after it was opened: every entity it
//! opened is marked failed with the error, so none is left `running` (which would refuse
//! "Sync now" until the next run).

use anyhow::Context;
use diesel::PgConnection;

use crate::checkpoint::{CheckpointStore, RunMeta};
use crate::db::{self, EntityRunEnd};
use crate::entity::Entity;

/// Opens the run of `entities`; on failure, closes what was opened and returns the error.
pub(super) fn open_run(
    conn: &mut PgConnection,
    store: &CheckpointStore,
    meta: &RunMeta,
    entities: &[Entity],
) -> anyhow::Result<()> {
    for (opened, entity) in entities.iter().enumerate() {
        if let Err(err) = db::begin_entity_run(conn, &meta.run_id, *entity, &meta.mode) {
            let opened = &entities[..opened];
            return Err(close_opened(conn, &meta.run_id, opened, err.into()));
        }
    }
    if let Err(err) = store.set_run(meta) {
        return Err(close_opened(conn, &meta.run_id, entities, err.into()));
    }
    Ok(())
}

/// Closes an opened run as failed for every entity after `err`, and returns `err`.
pub(super) async fn abandon(
    pool: db::PgPool,
    url: &crate::config::DatabaseUrl,
    run_id: &str,
    entities: &[Entity],
    err: anyhow::Error,
) -> anyhow::Error {
    let message = format!("{err:#}");
    let url = url.clone();
    let run_id = run_id.to_string();
    let entities = entities.to_vec();
    let closed = tokio::task::spawn_blocking(move || {
        let mut conn = db::checkout(&pool, &url)?;
        fail_opened(&mut conn, &run_id, &entities, &message)
    })
    .await;
    if let Ok(Err(close_err)) | Err(close_err) = closed.map_err(anyhow::Error::from) {
        log::error!("closing the failed run: {close_err:#}");
    }
    err
}

/// `abandon` on the run's own connection, for failures while the run is being opened.
fn close_opened(
    conn: &mut PgConnection,
    run_id: &str,
    opened: &[Entity],
    err: anyhow::Error,
) -> anyhow::Error {
    if let Err(close_err) = fail_opened(conn, run_id, opened, &format!("{err:#}")) {
        log::error!("closing the failed run: {close_err:#}");
    }
    err
}

/// Marks the opened runs of `entities` failed with `error`.
fn fail_opened(
    conn: &mut PgConnection,
    run_id: &str,
    entities: &[Entity],
    error: &str,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    for entity in entities {
        let end = EntityRunEnd {
            run_id,
            entity: *entity,
            error: Some(error),
            skipped: None,
            requests: 0,
            retries: 0,
            rate_limited: 0,
            wrote_rows: false,
            caught_up: false,
            started_at: now,
            finished_at: now,
        };
        db::finish_entity_run(conn, &end)
            .with_context(|| format!("recording the failure of the {entity} run"))?;
    }
    Ok(())
}
