//! What the pages and the JSON API show, assembled from `sync_state` and `sync_log`: one card
//! per entity with its health, progress and last run. Reads PostgreSQL only.

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde::Serialize;

use crate::db::RunStatus;
use crate::db::{self, DbError, SyncLogRow};
use crate::entity::layout::stored_table;
use crate::entity::Entity;
use crate::health::{ago, health_of, Freshness, Health, HealthThresholds};

/// Live progress of a running entity.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub pages: i64,
    pub records: i64,
    pub records_per_sec: f64,
    pub running_for: String,
}

/// The last finished (or running) run of an entity.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub id: i64,
    pub mode: String,
    pub status: RunStatus,
    pub duration_secs: f64,
    pub records: i64,
    pub records_per_sec: f64,
}

/// One entity as the overview and `/api/status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct EntityCard {
    pub entity: String,
    pub status: RunStatus,
    pub health: Health,
    pub last_version: i64,
    pub rows: i64,
    /// Bytes on disk of the entity's tables (its children's included), in words.
    pub size: String,
    /// Line items and payments, shown with sales.
    pub line_items: Option<i64>,
    pub payments: Option<i64>,
    /// Records kept in `lightspeed_quarantine` for want of a usable identity.
    pub quarantined: i64,
    /// The entity's last reconcile against the store, if any.
    pub last_reconcile: Option<crate::reconcile::LastReconcile>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_success_ago: String,
    pub last_error: Option<String>,
    pub progress: Option<Progress>,
    pub last_run: Option<LastRun>,
    /// Whether "Sync now" is offered (failed or stale, and nothing running).
    pub can_sync: bool,
    /// How far behind the store the mirror may be, and how fast the newest change landed.
    pub freshness: Freshness,
}

fn last_run_of(row: &SyncLogRow) -> LastRun {
    let duration_secs = row.duration_ms.unwrap_or(0) as f64 / 1000.0;
    LastRun {
        id: row.id,
        mode: row.mode.clone(),
        status: row.status,
        duration_secs,
        records: row.records_fetched,
        records_per_sec: if duration_secs > 0.0 {
            row.records_fetched as f64 / duration_secs
        } else {
            0.0
        },
    }
}

/// Every entity's card, in reporting order.
pub fn load_entity_cards(
    conn: &mut PgConnection,
    thresholds: &HealthThresholds,
    now: DateTime<Utc>,
) -> Result<Vec<EntityCard>, DbError> {
    let states = db::load_sync_states(conn)?;
    let last_runs = db::load_last_runs(conn)?;
    let quarantine = db::load_quarantine_counts(conn)?;
    let reconciles = db::load_last_reconciles(conn)?;
    let disk = db::load_disk_use(conn)?;
    let any_running = states
        .iter()
        .any(|state| state.status == RunStatus::Running);
    let mut cards = Vec::new();
    for entity in Entity::ALL {
        let state = states.iter().find(|s| s.entity == entity.name());
        let last_run = last_runs
            .iter()
            .find(|run| run.entity == entity.name())
            .map(last_run_of);
        let (status, last_version, rows, last_success_at, last_error) = match state {
            Some(s) => (
                s.status,
                s.last_version,
                s.rows_in_table,
                s.last_success_at,
                s.last_error.clone(),
            ),
            None => (RunStatus::Idle, 0, 0, None, None),
        };
        let health = health_of(status, last_success_at, now, thresholds);
        let progress = state.filter(|s| s.status == RunStatus::Running).map(|s| {
            let elapsed = s
                .run_started_at
                .map(|start| (now - start).num_milliseconds().max(1) as f64 / 1000.0)
                .unwrap_or(1.0);
            Progress {
                pages: s.run_pages,
                records: s.run_records,
                records_per_sec: s.run_records as f64 / elapsed,
                running_for: if elapsed < 60.0 {
                    format!("{elapsed:.0} s")
                } else {
                    crate::health::duration_in_words(std::time::Duration::from_secs_f64(elapsed))
                },
            }
        });
        let (line_items, payments) = if entity == Entity::Sales {
            (
                Some(db::estimate_rows(
                    conn,
                    &stored_table("lightspeed_sale_line_items"),
                )?),
                Some(db::estimate_rows(
                    conn,
                    &stored_table("lightspeed_sale_payments"),
                )?),
            )
        } else {
            (None, None)
        };
        cards.push(EntityCard {
            entity: entity.name().to_string(),
            can_sync: !any_running && health != Health::Green,
            status,
            health,
            last_version,
            rows,
            line_items,
            payments,
            size: db::bytes_in_words(disk.of(entity)),
            quarantined: quarantine.of(entity.name()),
            last_reconcile: crate::reconcile::LastReconcile::find(&reconciles, entity, now),
            last_success_ago: ago(last_success_at, now),
            last_success_at,
            last_error,
            progress,
            last_run,
            freshness: state.map_or_else(
                || Freshness::of(None, None, None, now),
                |s| Freshness::of(s.caught_up_at, s.newest_change_at, s.landed_at, now),
            ),
        });
    }
    Ok(cards)
}

/// One outlet's day so far, from the report views: a glance that proves the data is live.
#[derive(Debug, Serialize, QueryableByName)]
pub struct OutletToday {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub outlet_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub outlet_name: Option<String>,
    /// The outlet's local date today.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub local_date: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub sales: i64,
    /// Completed sales' revenue including tax, to the cent.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub revenue_incl_tax: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub newest_sale_at: Option<DateTime<Utc>>,
}

/// Every outlet that exists now, with today's completed sales (in its own time zone) and the
/// time of its newest sale. Each outlet's day is read through the views' indexed local date.
pub fn load_outlets_today(conn: &mut PgConnection) -> Result<Vec<OutletToday>, DbError> {
    Ok(diesel::sql_query(
        "SELECT o.id AS outlet_id, o.name AS outlet_name, \
                ((now() AT TIME ZONE COALESCE(o.report_time_zone, 'UTC'))::date)::text AS local_date, \
                COALESCE(d.sales, 0) AS sales, \
                round(COALESCE(d.revenue_incl_tax, 0), 2)::text AS revenue_incl_tax, \
                (SELECT r.sale_at FROM lightspeed_report_sales r WHERE r.outlet_id = o.id \
                 ORDER BY r.sale_at DESC NULLS LAST LIMIT 1) AS newest_sale_at \
         FROM lightspeed_outlets o \
         LEFT JOIN LATERAL ( \
             SELECT d.sales, d.revenue_incl_tax FROM lightspeed_report_daily_sales d \
             WHERE d.outlet_id = o.id \
               AND d.local_date = (now() AT TIME ZONE COALESCE(o.report_time_zone, 'UTC'))::date \
         ) d ON true \
         WHERE o.deleted_at IS NULL \
         ORDER BY o.name, o.id",
    )
    .load(conn)?)
}
