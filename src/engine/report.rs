//! What a run reports: per entity its counters, timing and error, and the summary table printed
//! at the end of a run.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::run::RunMode;
use crate::entity::Entity;
use crate::lightspeed::RequestTotals;

/// How one entity's run ended.
#[derive(Debug, Clone)]
pub struct EntityReport {
    pub entity: Entity,
    pub error: Option<String>,
    /// Why the entity was skipped (its endpoint answered 403), if it was.
    pub skipped: Option<String>,
    pub pages: u64,
    pub records: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub line_items: u64,
    /// Whether the stream read up to the empty page: the mirror then held everything the store
    /// had when it started (a one-page webhook run does not claim it).
    pub caught_up: bool,
    pub requests: RequestTotals,
    pub recovered_batches: usize,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

impl EntityReport {
    /// How long this entity's stream ran.
    pub fn elapsed(&self) -> Duration {
        (self.finished_at - self.started_at)
            .to_std()
            .unwrap_or_default()
    }
}

/// How the whole run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub mode: RunMode,
    pub entities: Vec<EntityReport>,
    pub elapsed: Duration,
}

impl RunReport {
    pub fn succeeded(&self) -> bool {
        self.entities.iter().all(|entity| entity.error.is_none())
    }

    /// The entities whose stream failed, in reporting order.
    pub fn failed_entities(&self) -> Vec<&'static str> {
        self.entities
            .iter()
            .filter(|e| e.error.is_some())
            .map(|e| e.entity.name())
            .collect()
    }

    /// The summary table printed at the end of a run.
    pub fn summary_table(&self) -> String {
        let w = Entity::NAME_WIDTH;
        let mut out = format!(
            "{:<w$} {:>7} {:>9} {:>9} {:>9} {:>8} {:>10} {:>8} {:>9} {:>8}  {}\n",
            "entity",
            "pages",
            "records",
            "inserted",
            "updated",
            "deleted",
            "line items",
            "requests",
            "records/s",
            "seconds",
            "status"
        );
        for e in &self.entities {
            let seconds = e.elapsed().as_secs_f64();
            out.push_str(&format!(
                "{:<w$} {:>7} {:>9} {:>9} {:>9} {:>8} {:>10} {:>8} {:>9.0} {:>8.1}  {}\n",
                e.entity.name(),
                e.pages,
                e.records,
                e.inserted,
                e.updated,
                e.deleted,
                e.line_items,
                e.requests.requests,
                e.records as f64 / seconds.max(0.001),
                seconds,
                match (&e.error, &e.skipped) {
                    (Some(error), _) => format!("FAILED: {error}"),
                    (None, Some(reason)) => format!("skipped: {reason}"),
                    (None, None) => "ok".to_string(),
                }
            ));
        }
        out
    }
}
