//! The runs the dashboard process starts by itself: on a `cron::Schedule` (`serve --schedule`),
//! and when Lightspeed's webhooks say something changed. It owns when such a run starts; the
//! engine's locks decide whether it may.

mod runner;
mod trigger;

pub use runner::{
    spawn_scheduler, spawn_scheduler_with_clock, Clock, ScheduleStatus, ScheduleView, ScheduledJob,
    WallClock,
};
pub use trigger::{entities_for, WebhookTrigger};
