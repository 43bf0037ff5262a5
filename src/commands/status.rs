//! `lightsync status`: each entity's health from PostgreSQL, for people and monitors. Exit 0 when
//! every entity is green, 1 otherwise.

use serde::Serialize;

use crate::config::Config;
use crate::db;
use crate::db::RunStatus;
use crate::entity::Entity;
use crate::exit;
use crate::health::{ago, health_of, Freshness, Health};

#[derive(Serialize)]
struct EntityStatus {
    entity: String,
    status: RunStatus,
    health: Health,
    last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    last_success_ago: String,
    last_version: i64,
    rows: i64,
    /// Bytes on disk of the entity's tables (its children's included), and the same in words.
    size_bytes: i64,
    size: String,
    /// Records kept in `lightspeed_quarantine` for want of a usable identity.
    quarantined: i64,
    /// The last reconcile against the store.
    last_reconcile: Option<crate::reconcile::LastReconcile>,
    /// How far behind the store the mirror may be, and how fast the newest change landed.
    freshness: Freshness,
    last_error: Option<String>,
}

pub fn status(config: &Config, json: bool) -> anyhow::Result<i32> {
    let w = Entity::NAME_WIDTH;
    let url = config.database_url()?;
    let mut conn = db::connect(url)?;
    db::run_pending_migrations(&mut conn)?;
    let states = db::load_sync_states(&mut conn)?;
    let quarantine = db::load_quarantine_counts(&mut conn)?;
    let reconciles = db::load_last_reconciles(&mut conn)?;
    let disk = db::load_disk_use(&mut conn)?;
    let now = chrono::Utc::now();
    let entities: Vec<EntityStatus> = Entity::ALL
        .into_iter()
        .map(|entity| {
            let state = states.iter().find(|s| s.entity == entity.name());
            let status = state.map_or(RunStatus::Idle, |s| s.status);
            let last_success_at = state.and_then(|s| s.last_success_at);
            EntityStatus {
                entity: entity.name().to_string(),
                health: health_of(status, last_success_at, now, &config.health),
                status,
                last_success_at,
                last_success_ago: ago(last_success_at, now),
                last_version: state.map_or(0, |s| s.last_version),
                rows: state.map_or(0, |s| s.rows_in_table),
                size_bytes: disk.of(entity),
                size: db::bytes_in_words(disk.of(entity)),
                quarantined: quarantine.of(entity.name()),
                last_reconcile: crate::reconcile::LastReconcile::find(&reconciles, entity, now),
                freshness: Freshness::of(
                    state.and_then(|s| s.caught_up_at),
                    state.and_then(|s| s.newest_change_at),
                    state.and_then(|s| s.landed_at),
                    now,
                ),
                last_error: state.and_then(|s| s.last_error.clone()),
            }
        })
        .collect();
    // An entity skipped for want of a permission is a choice of the store, not ill health.
    let all_green = entities
        .iter()
        .all(|e| e.health == Health::Green || e.status == RunStatus::Skipped);
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "all_green": all_green,
                "database_size_bytes": disk.database,
                "entities": entities,
            }))?
        );
    } else {
        crate::outln!(
            "{:<w$} {:<7} {:<8} {:<14} {:>15} {:>14} {:>10} {:>9}  last error",
            "entity",
            "health",
            "status",
            "last success",
            "lag",
            "last version",
            "rows",
            "size"
        );
        for e in &entities {
            crate::outln!(
                "{:<w$} {:<7} {:<8} {:<14} {:>15} {:>14} {:>10} {:>9}  {}",
                e.entity,
                e.health.name(),
                e.status,
                e.last_success_ago,
                e.freshness.lag,
                e.last_version,
                e.rows,
                e.size,
                e.last_error.as_deref().unwrap_or("-")
            );
        }
        let tables: i64 = entities.iter().map(|e| e.size_bytes).sum();
        crate::outln!(
            "database size {} (the tables above: {})",
            db::bytes_in_words(disk.database),
            db::bytes_in_words(tables)
        );
        for e in &entities {
            if let Some(reconcile) = e
                .last_reconcile
                .as_ref()
                .filter(|r| r.status != RunStatus::Ok)
            {
                crate::outln!(
                    "{}: the last reconcile ({}) {}",
                    e.entity,
                    reconcile.ago,
                    if reconcile.status == RunStatus::Failed {
                        "could not compare; see `lightsync reconcile`".to_string()
                    } else {
                        format!(
                            "found {} missing, {} stale, {} extra; `lightsync reconcile --repair` fixes them",
                            reconcile.missing, reconcile.stale, reconcile.extra
                        )
                    }
                );
            }
        }
        if let Some(oldest) = entities
            .iter()
            .filter_map(|e| e.last_reconcile.as_ref())
            .min_by_key(|r| r.at)
        {
            let reconciled = entities
                .iter()
                .filter(|e| e.last_reconcile.is_some())
                .count();
            crate::outln!(
                "{reconciled} of {} entities reconciled against the store, the oldest {}",
                entities.len(),
                oldest.ago
            );
        }
        for e in entities.iter().filter(|e| e.quarantined > 0) {
            crate::outln!(
                "{}: {} record(s) without a usable identity are in lightspeed_quarantine (SELECT reason, raw FROM lightspeed_quarantine WHERE entity = '{}')",
                e.entity, e.quarantined, e.entity
            );
        }
    }
    Ok(if all_green {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
