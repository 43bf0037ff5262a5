//! The runs the dashboard process starts by itself: on a `cron::Schedule` (`serve --schedule`),
//! on each entity's poll interval (`serve --follow`), and when Lightspeed's webhooks say
//! something changed. It owns when such a run starts; the engine's locks decide whether it may.

mod follower;
mod runner;
mod webhook_types;

pub use follower::{spawn_follower, RunTrigger};
pub use runner::{
    spawn_scheduler, spawn_scheduler_with_clock, Clock, ScheduleStatus, ScheduleView, ScheduledJob,
    WallClock,
};
pub use webhook_types::{entities_for, WEBHOOK_TYPES};
