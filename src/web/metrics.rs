//! `GET /metrics`: each entity's health, freshness, size and run totals in the OpenMetrics text
//! format that Prometheus scrapes, encoded by the `prometheus-client` crate from PostgreSQL
//! (what `sync_state` and `sync_log` say, the same numbers as the overview). Behind the API
//! token unless LIGHTSYNC_METRICS_PUBLIC is set.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, State};

use super::auth::ApiUser;
use super::{with_db, WebState};
use crate::db::{self, RunTotals};
use crate::entity::Entity;
use crate::health::{health_of, Health, HealthThresholds};

/// Access to `/metrics`: the API token (or a session), or anyone when the operator opened it.
pub struct MetricsAccess;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsAccess {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        if super::monitoring::metrics_public(request) {
            return Outcome::Success(MetricsAccess);
        }
        ApiUser::from_request(request).await.map(|_| MetricsAccess)
    }
}

/// One entity's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityFigures {
    pub entity: &'static str,
    pub health: Health,
    pub last_success_at: Option<DateTime<Utc>>,
    pub rows: i64,
    pub last_version: i64,
    pub last_run_seconds: f64,
    pub totals: RunTotals,
    /// Records held in `lightspeed_quarantine`.
    pub quarantined: i64,
    /// Bytes on disk of the entity's tables, its children's included.
    pub bytes: i64,
    /// The last reconcile: unix time and differences found, if there was one.
    pub last_reconcile: Option<(f64, i64)>,
    /// Seconds since the start of the last successful run, and how long after its change in
    /// the store the newest record landed (see `health::Freshness`).
    pub lag_seconds: Option<f64>,
    pub landed_after_seconds: Option<f64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntityLabel {
    entity: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The exposition of `figures`.
pub fn render(figures: &[EntityFigures]) -> String {
    let mut registry = Registry::default();
    let health = Family::<EntityLabel, Gauge>::default();
    let last_success = Family::<EntityLabel, FloatGauge>::default();
    let rows = Family::<EntityLabel, Gauge>::default();
    let last_version = Family::<EntityLabel, Gauge>::default();
    let duration = Family::<EntityLabel, FloatGauge>::default();
    let records = Family::<EntityLabel, Counter>::default();
    let requests = Family::<EntityLabel, Counter>::default();
    let rate_limited = Family::<EntityLabel, Counter>::default();
    let untyped = Family::<EntityLabel, Counter>::default();
    let quarantined = Family::<EntityLabel, Gauge>::default();
    let bytes = Family::<EntityLabel, Gauge>::default();
    let reconcile_differences = Family::<EntityLabel, Gauge>::default();
    let last_reconcile = Family::<EntityLabel, FloatGauge>::default();
    let lag = Family::<EntityLabel, FloatGauge>::default();
    let landed_after = Family::<EntityLabel, FloatGauge>::default();
    registry.register(
        "lightsync_entity_health",
        "Entity health: 0 green, 1 yellow, 2 red (failed, never synced, or stale), -1 skipped (the token lacks the permission)",
        health.clone(),
    );
    registry.register_with_unit(
        "lightsync_entity_last_success_timestamp",
        "Unix time of the entity's last successful sync (0 when never)",
        Unit::Seconds,
        last_success.clone(),
    );
    registry.register(
        "lightsync_entity_rows",
        "Rows in the entity's table after its last run that wrote any",
        rows.clone(),
    );
    registry.register(
        "lightsync_entity_last_version",
        "Highest API version applied to PostgreSQL",
        last_version.clone(),
    );
    registry.register_with_unit(
        "lightsync_run_duration",
        "Duration of the entity's last run (import, incremental or scheduled)",
        Unit::Seconds,
        duration.clone(),
    );
    registry.register(
        "lightsync_records_synced",
        "Records fetched and applied, over every run in sync_log",
        records.clone(),
    );
    registry.register(
        "lightsync_api_requests",
        "Lightspeed API requests made, over every run in sync_log",
        requests.clone(),
    );
    registry.register(
        "lightsync_api_429",
        "Lightspeed API answers 429 Too Many Requests, over every run in sync_log",
        rate_limited.clone(),
    );
    registry.register(
        "lightsync_records_untyped",
        "Records stored with raw JSON but some typed column left NULL, over every run in sync_log",
        untyped.clone(),
    );
    registry.register(
        "lightsync_records_quarantined",
        "Records held in lightspeed_quarantine for want of a usable id or version",
        quarantined.clone(),
    );
    registry.register_with_unit(
        "lightsync_table",
        "Bytes on disk of the entity's tables (its children's, indexes and TOAST included)",
        Unit::Bytes,
        bytes.clone(),
    );
    registry.register(
        "lightsync_reconcile_differences",
        "Records the last reconcile found missing, stale or extra (entities reconciled at least once)",
        reconcile_differences.clone(),
    );
    registry.register_with_unit(
        "lightsync_last_reconcile_timestamp",
        "Unix time of the entity's last reconcile against the store",
        Unit::Seconds,
        last_reconcile.clone(),
    );
    registry.register_with_unit(
        "lightsync_entity_lag",
        "Seconds since the start of the entity's last successful run: the mirror holds everything the store had then (entities that synced at least once)",
        Unit::Seconds,
        lag.clone(),
    );
    registry.register_with_unit(
        "lightsync_entity_landing",
        "How long after its change in the store (its updated_at) the newest record written landed in PostgreSQL",
        Unit::Seconds,
        landed_after.clone(),
    );
    for entity in figures {
        let label = EntityLabel {
            entity: entity.entity.to_string(),
        };
        health.get_or_create(&label).set(match entity.health {
            Health::Skipped => -1,
            Health::Green => 0,
            Health::Yellow => 1,
            Health::Red => 2,
        });
        last_success.get_or_create(&label).set(
            entity
                .last_success_at
                .map_or(0.0, |at| at.timestamp_millis() as f64 / 1000.0),
        );
        rows.get_or_create(&label).set(entity.rows);
        last_version.get_or_create(&label).set(entity.last_version);
        duration.get_or_create(&label).set(entity.last_run_seconds);
        quarantined.get_or_create(&label).set(entity.quarantined);
        bytes.get_or_create(&label).set(entity.bytes);
        if let Some(seconds) = entity.lag_seconds {
            lag.get_or_create(&label).set(seconds);
        }
        if let Some(seconds) = entity.landed_after_seconds {
            landed_after.get_or_create(&label).set(seconds);
        }
        if let Some((at, differences)) = entity.last_reconcile {
            last_reconcile.get_or_create(&label).set(at);
            reconcile_differences.get_or_create(&label).set(differences);
        }
        let totals = &entity.totals;
        for (family, value) in [
            (&records, totals.records),
            (&requests, totals.requests),
            (&rate_limited, totals.rate_limited),
            (&untyped, totals.untyped),
        ] {
            family.get_or_create(&label).inc_by(value.max(0) as u64);
        }
    }
    let mut out = String::new();
    encode(&mut out, &registry).expect("writing to a String cannot fail");
    out
}

/// Every entity's figures from PostgreSQL.
pub fn load_figures(
    conn: &mut diesel::PgConnection,
    thresholds: &HealthThresholds,
    now: DateTime<Utc>,
) -> Result<Vec<EntityFigures>, db::DbError> {
    let states = db::load_sync_states(conn)?;
    let last_runs = db::load_last_runs(conn)?;
    let totals = db::load_run_totals(conn)?;
    let quarantine = db::load_quarantine_counts(conn)?;
    let reconciles = db::load_last_reconciles(conn)?;
    let disk = db::load_disk_use(conn)?;
    Ok(Entity::ALL
        .iter()
        .map(|entity| {
            let name = entity.name();
            let state = states.iter().find(|s| s.entity == name);
            let status = state.map_or(crate::db::RunStatus::Idle, |s| s.status);
            let last_success_at = state.and_then(|s| s.last_success_at);
            let freshness = state.map(|s| {
                crate::health::Freshness::of(s.caught_up_at, s.newest_change_at, s.landed_at, now)
            });
            EntityFigures {
                lag_seconds: freshness.as_ref().and_then(|f| f.lag_secs),
                landed_after_seconds: freshness.as_ref().and_then(|f| f.landed_after_secs),
                entity: name,
                health: health_of(status, last_success_at, now, thresholds),
                last_success_at,
                rows: state.map_or(0, |s| s.rows_in_table),
                last_version: state.map_or(0, |s| s.last_version),
                last_run_seconds: last_runs
                    .iter()
                    .find(|run| run.entity == name)
                    .and_then(|run| run.duration_ms)
                    .map_or(0.0, |ms| ms as f64 / 1000.0),
                totals: totals
                    .iter()
                    .find(|t| t.entity == name)
                    .cloned()
                    .unwrap_or_default(),
                quarantined: quarantine.of(name),
                bytes: disk.of(*entity),
                last_reconcile: reconciles.iter().find(|row| row.entity == name).map(|row| {
                    let reconcile = crate::reconcile::LastReconcile::of(row, now);
                    (
                        reconcile.at.timestamp_millis() as f64 / 1000.0,
                        reconcile.differences(),
                    )
                }),
            }
        })
        .collect())
}

/// The content type of the OpenMetrics text format (what Prometheus negotiates first).
fn openmetrics() -> ContentType {
    ContentType::new("application", "openmetrics-text")
        .with_params([("version", "1.0.0"), ("charset", "utf-8")])
}

#[get("/metrics")]
pub async fn metrics(
    _access: MetricsAccess,
    state: &State<WebState>,
) -> Result<(ContentType, String), Status> {
    let thresholds = state.health;
    let now = Utc::now();
    let figures = with_db(state, move |conn| load_figures(conn, &thresholds, now)).await?;
    Ok((openmetrics(), render(&figures)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_type_and_one_sample_per_entity() {
        let figures: Vec<EntityFigures> = ["outlets", "sales"]
            .into_iter()
            .map(|entity| EntityFigures {
                entity,
                health: Health::Yellow,
                last_success_at: None,
                rows: 3,
                last_version: 3_000_000_123,
                last_run_seconds: 1.5,
                totals: RunTotals {
                    entity: entity.into(),
                    records: 10,
                    requests: 4,
                    rate_limited: 1,
                    untyped: 0,
                },
                quarantined: 2,
                bytes: 8_192,
                last_reconcile: Some((1_700_000_000.0, 3)),
                lag_seconds: Some(12.5),
                landed_after_seconds: None,
            })
            .collect();
        let text = render(&figures);
        assert!(
            text.contains("lightsync_table_bytes{entity=\"sales\"} 8192"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_entity_lag_seconds{entity=\"sales\"} 12.5"),
            "{text}"
        );
        assert!(
            !text.contains("lightsync_entity_landing_seconds{"),
            "no figure without a landing: {text}"
        );
        assert!(
            text.contains("# TYPE lightsync_records_synced counter"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_records_synced_total{entity=\"sales\"} 10"),
            "{text}"
        );
        assert!(
            text.contains("# UNIT lightsync_run_duration_seconds seconds"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_entity_last_version{entity=\"outlets\"} 3000000123"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_entity_health{entity=\"outlets\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_records_quarantined{entity=\"sales\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("lightsync_reconcile_differences{entity=\"sales\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "lightsync_last_reconcile_timestamp_seconds{entity=\"outlets\"} 1700000000"
            ),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
