//! `serve --schedule`: the runner that starts the runs the dashboard process starts by itself,
//! on a `cron::Schedule`. It owns when a scheduled run starts; the engine's locks decide whether it may.

mod runner;

pub use runner::{
    spawn_scheduler, spawn_scheduler_with_clock, Clock, ScheduleStatus, ScheduleView, ScheduledJob,
    WallClock,
};
