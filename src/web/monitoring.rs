//! What `serve` adds to the dashboard for monitoring, kept in Rocket's managed state apart from
//! `WebState`: whether `/metrics` is public, and the scheduler's status for the overview. When
//! nothing is managed (tests, `demo`), `/metrics` needs the API token and no schedule is shown.

use std::sync::Arc;

use chrono::Utc;
use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;

use crate::health::duration_in_words;
use crate::schedule::ScheduleStatus;

/// Monitoring settings of the running dashboard (`rocket.manage(Monitoring { .. })`).
#[derive(Debug, Default)]
pub struct Monitoring {
    /// Serve `/metrics` without the API token.
    pub metrics_public: bool,
    /// The scheduler of `serve --schedule`, if it runs in this process.
    pub schedule: Option<Arc<ScheduleStatus>>,
}

/// The schedule as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleNote {
    pub schedule: String,
    /// "2026-11-27 02:00 UTC"
    pub next_run: Option<String>,
    /// "in 5 h"
    pub next_run_in: Option<String>,
    pub running: bool,
}

/// Request guard: the schedule note, if this dashboard runs a scheduler. Never fails.
pub struct Scheduled(pub Option<ScheduleNote>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Scheduled {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let note = request
            .rocket()
            .state::<Monitoring>()
            .and_then(|monitoring| monitoring.schedule.as_ref())
            .map(|status| {
                let view = status.view();
                let now = Utc::now();
                ScheduleNote {
                    schedule: view.schedule,
                    next_run: view
                        .next_run_at
                        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                    next_run_in: view.next_run_at.map(|at| {
                        let left = (at - now).to_std().unwrap_or_default();
                        if left.as_secs() < 60 {
                            "in less than a minute".to_string()
                        } else {
                            format!("in {}", duration_in_words(left))
                        }
                    }),
                    running: view.running_since.is_some(),
                }
            });
        Outcome::Success(Scheduled(note))
    }
}

/// Whether `/metrics` is open to everyone.
pub fn metrics_public(request: &Request<'_>) -> bool {
    request
        .rocket()
        .state::<Monitoring>()
        .is_some_and(|monitoring| monitoring.metrics_public)
}
