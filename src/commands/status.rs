//! `lightsync status`: each entity's health from PostgreSQL, for people and monitors. Exit 0 when
//! every entity is green, 1 otherwise.

use serde::Serialize;

use crate::config::Config;
use crate::db;
use crate::entity::Entity;
use crate::exit;
use crate::health::{ago, health_of, Health};

#[derive(Serialize)]
struct EntityStatus {
    entity: String,
    status: String,
    health: Health,
    last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    last_success_ago: String,
    last_version: i64,
    rows: i64,
    /// Records kept in `lightspeed_quarantine` for want of a usable identity.
    quarantined: i64,
    last_error: Option<String>,
}

pub fn status(config: &Config, json: bool) -> anyhow::Result<i32> {
    let url = config.database_url()?;
    let mut conn = db::connect(url)?;
    db::run_pending_migrations(&mut conn)?;
    let states = db::load_sync_states(&mut conn)?;
    let quarantine = db::load_quarantine_counts(&mut conn)?;
    let now = chrono::Utc::now();
    let entities: Vec<EntityStatus> = Entity::ALL
        .into_iter()
        .map(|entity| {
            let state = states.iter().find(|s| s.entity == entity.name());
            let status = state.map_or("idle".to_string(), |s| s.status.clone());
            let last_success_at = state.and_then(|s| s.last_success_at);
            EntityStatus {
                entity: entity.name().to_string(),
                health: health_of(&status, last_success_at, now, &config.health),
                status,
                last_success_at,
                last_success_ago: ago(last_success_at, now),
                last_version: state.map_or(0, |s| s.last_version),
                rows: state.map_or(0, |s| s.rows_in_table),
                quarantined: quarantine.of(entity.name()),
                last_error: state.and_then(|s| s.last_error.clone()),
            }
        })
        .collect();
    // An entity skipped for want of a permission is a choice of the store, not ill health.
    let all_green = entities
        .iter()
        .all(|e| e.health == Health::Green || e.status == "skipped");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "all_green": all_green,
                "entities": entities,
            }))?
        );
    } else {
        println!(
            "{:<20} {:<7} {:<8} {:<14} {:>14} {:>10}  last error",
            "entity", "health", "status", "last success", "last version", "rows"
        );
        for e in &entities {
            println!(
                "{:<20} {:<7} {:<8} {:<14} {:>14} {:>10}  {}",
                e.entity,
                e.health.name(),
                e.status,
                e.last_success_ago,
                e.last_version,
                e.rows,
                e.last_error.as_deref().unwrap_or("-")
            );
        }
        for e in entities.iter().filter(|e| e.quarantined > 0) {
            println!(
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
