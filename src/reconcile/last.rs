//! An entity's last reconcile as `status`, the dashboard and `/metrics` show it, read from its
//! `sync_log` row.

use crate::entity::Entity;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::RunStatus;
use crate::db::SyncLogRow;
use crate::health::ago;

/// When an entity was last compared with the store, and what differed.
#[derive(Debug, Clone, Serialize)]
pub struct LastReconcile {
    pub at: DateTime<Utc>,
    pub ago: String,
    /// `ok`, `differs` or `failed`.
    pub status: RunStatus,
    pub checked: i64,
    pub missing: i64,
    pub stale: i64,
    pub extra: i64,
}

impl LastReconcile {
    /// `entity`'s last reconcile among `rows` (each entity's newest), if it has one.
    pub fn find(rows: &[SyncLogRow], entity: Entity, now: DateTime<Utc>) -> Option<LastReconcile> {
        rows.iter()
            .find(|row| row.entity == entity.name())
            .map(|row| LastReconcile::of(row, now))
    }

    pub fn of(row: &SyncLogRow, now: DateTime<Utc>) -> LastReconcile {
        let at = row.finished_at.unwrap_or(row.started_at);
        LastReconcile {
            at,
            ago: ago(Some(at), now),
            status: row.status,
            checked: row.records_fetched,
            missing: row.reconcile_missing.unwrap_or(0),
            stale: row.reconcile_stale.unwrap_or(0),
            extra: row.reconcile_extra.unwrap_or(0),
        }
    }

    /// Records found missing, stale or extra.
    pub fn differences(&self) -> i64 {
        self.missing + self.stale + self.extra
    }
}
