//! What the simulator counts of the requests it answers, for tests and benchmarks
//! (`GET /__simulator/stats`).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use crate::entity::Entity;

/// Request counters, for tests and benchmarks (`GET /__simulator/stats`).
#[derive(Debug, Default)]
pub struct Stats {
    pub(super) requests: [AtomicU64; Entity::ALL.len()],
    pub(crate) records_served: AtomicU64,
    pub(super) rate_limited: AtomicU64,
    pub(super) faults: AtomicU64,
    pub(super) unauthorized: AtomicU64,
    /// Body bytes of the pages answered, as sent (compressed when asked for).
    pub(super) bytes_sent: AtomicU64,
    /// Body bytes of the same pages before compression.
    pub(super) bytes_plain: AtomicU64,
}

impl Stats {
    pub(super) fn slot(entity: Entity) -> usize {
        entity.tag() as usize - 1
    }

    /// Requests received for `entity`, whatever their outcome.
    pub fn requests(&self, entity: Entity) -> u64 {
        self.requests[Stats::slot(entity)].load(Ordering::Relaxed)
    }

    pub fn total_requests(&self) -> u64 {
        Entity::ALL
            .into_iter()
            .map(|entity| self.requests(entity))
            .sum()
    }

    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    pub fn records_served(&self) -> u64 {
        self.records_served.load(Ordering::Relaxed)
    }

    /// Requests refused for a wrong or expired token (HTTP 401).
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::Relaxed)
    }

    /// Body bytes of the pages answered, as they went on the wire.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// Body bytes of the same pages before compression.
    pub fn bytes_plain(&self) -> u64 {
        self.bytes_plain.load(Ordering::Relaxed)
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        let requests: serde_json::Map<String, serde_json::Value> = Entity::ALL
            .into_iter()
            .map(|entity| (entity.name().to_string(), self.requests(entity).into()))
            .collect();
        json!({
            "requests": requests,
            "total_requests": self.total_requests(),
            "records_served": self.records_served(),
            "bytes_sent": self.bytes_sent(),
            "bytes_plain": self.bytes_plain(),
            "rate_limited": self.rate_limited(),
            "faults": self.faults.load(Ordering::Relaxed),
            "unauthorized": self.unauthorized.load(Ordering::Relaxed),
        })
    }
}
