//! Starts `sync` (or a sampled `reconcile`) at every tick of its schedule, in the background
//! of the dashboard process. A tick while a run is still going (this process's previous one, or any other holding the
//! store's locks) is skipped and logged, never queued: the engine's locks are the only arbiter.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::cron::Schedule;
use crate::engine::{self, RunMode, RunRequest};
use crate::exit;

/// What the dashboard shows about the scheduler.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    pub schedule: String,
    pub next_run_at: Option<DateTime<Utc>>,
    /// The start of the scheduled run in progress, if any.
    pub running_since: Option<DateTime<Utc>>,
    /// Ticks skipped because a run was still going (this scheduler's or another's).
    pub skipped_ticks: u64,
}

/// The scheduler's live state, shared with the dashboard.
#[derive(Debug)]
pub struct ScheduleStatus {
    view: Mutex<ScheduleView>,
}

impl ScheduleStatus {
    fn new(schedule: &Schedule) -> ScheduleStatus {
        ScheduleStatus {
            view: Mutex::new(ScheduleView {
                schedule: schedule.as_str().to_string(),
                next_run_at: None,
                running_since: None,
                skipped_ticks: 0,
            }),
        }
    }

    /// A copy of the current state.
    pub fn view(&self) -> ScheduleView {
        self.view.lock().expect("schedule status lock").clone()
    }

    fn update(&self, change: impl FnOnce(&mut ScheduleView)) {
        change(&mut self.view.lock().expect("schedule status lock"));
    }
}

/// What a schedule starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledJob {
    /// An incremental run of every entity.
    Sync,
    /// A sampled reconcile of every entity, this many windows each.
    Reconcile { windows: u32 },
}

impl ScheduledJob {
    fn name(self) -> &'static str {
        match self {
            ScheduledJob::Sync => "sync",
            ScheduledJob::Reconcile { .. } => "reconcile --sample",
        }
    }
}

/// Where the scheduler reads the time and waits for a tick: the wall clock, or in tests a clock
/// they move by hand, so a schedule's behaviour is checked without waiting for cron minutes.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Local>;
    /// Returns once `now()` has reached `tick`.
    fn sleep_until(&self, tick: DateTime<Local>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The wall clock, followed even when it is adjusted or the machine sleeps.
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Local> {
        Local::now()
    }

    fn sleep_until(&self, tick: DateTime<Local>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(sleep_until(tick))
    }
}

/// Starts the scheduler on the current tokio runtime; it lives as long as the runtime.
pub fn spawn_scheduler(
    config: Config,
    schedule: Schedule,
    job: ScheduledJob,
) -> Arc<ScheduleStatus> {
    spawn_scheduler_with_clock(config, schedule, job, Arc::new(WallClock))
}

/// `spawn_scheduler` on the given clock.
pub fn spawn_scheduler_with_clock(
    config: Config,
    schedule: Schedule,
    job: ScheduledJob,
    clock: Arc<dyn Clock>,
) -> Arc<ScheduleStatus> {
    let status = Arc::new(ScheduleStatus::new(&schedule));
    tokio::spawn(run_schedule(config, schedule, job, status.clone(), clock));
    status
}

async fn run_schedule(
    config: Config,
    schedule: Schedule,
    job: ScheduledJob,
    status: Arc<ScheduleStatus>,
    clock: Arc<dyn Clock>,
) {
    // Held by the run in progress: a tick that cannot take it is skipped.
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let mut last_tick = clock.now();
    log::info!(
        "scheduler: running `{}` on \"{}\" (local time)",
        job.name(),
        schedule.as_str()
    );
    loop {
        let now = clock.now().max(last_tick);
        let Some(tick) = schedule.next_after(&now) else {
            log::error!(
                "scheduler: \"{}\" has no future time; no more scheduled runs",
                schedule.as_str()
            );
            status.update(|view| view.next_run_at = None);
            return;
        };
        status.update(|view| view.next_run_at = Some(tick.with_timezone(&Utc)));
        log::debug!("scheduler: next run at {tick}");
        clock.sleep_until(tick).await;
        last_tick = tick;
        let Ok(guard) = gate.clone().try_lock_owned() else {
            status.update(|view| view.skipped_ticks += 1);
            log::warn!(
                "scheduler: tick at {} skipped: the previous scheduled run is still going (ticks are skipped, not queued)",
                tick.format("%Y-%m-%d %H:%M:%S")
            );
            continue;
        };
        let config = config.clone();
        let status = status.clone();
        tokio::spawn(async move {
            let _guard = guard;
            status.update(|view| view.running_since = Some(Utc::now()));
            match job {
                ScheduledJob::Sync => scheduled_run(&config, tick, &status).await,
                ScheduledJob::Reconcile { windows } => scheduled_reconcile(&config, windows).await,
            }
            status.update(|view| view.running_since = None);
        });
    }
}

/// Sleeps until `tick` by wall clock, re-checking so a suspended or adjusted clock is followed.
async fn sleep_until(tick: DateTime<Local>) {
    /// Longest single sleep: wall-clock changes are noticed within this.
    const MAX_NAP: Duration = Duration::from_secs(30);
    loop {
        let left = tick - Local::now();
        let Ok(left) = left.to_std() else { return };
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(MAX_NAP)).await;
    }
}

async fn scheduled_run(config: &Config, tick: DateTime<Local>, status: &ScheduleStatus) {
    let request = RunRequest {
        mode: RunMode::Scheduled,
        restart: false,
        entities: Vec::new(),
    };
    match engine::run(config, request).await {
        Ok(report) => {
            crate::alert::notify_after_run(config, &report).await;
            let records: u64 = report.entities.iter().map(|e| e.records).sum();
            let failed = report.failed_entities();
            if failed.is_empty() {
                log::info!(
                    "scheduler: run {} finished in {:.1} s: {records} records",
                    report.run_id,
                    report.elapsed.as_secs_f64()
                );
            } else {
                log::error!(
                    "scheduler: run {} failed for {}; the next tick continues from where it stopped",
                    report.run_id,
                    failed.join(", ")
                );
            }
        }
        Err(err) if exit::code_for(&err) == exit::LOCKED => {
            status.update(|view| view.skipped_ticks += 1);
            log::warn!(
                "scheduler: tick at {} skipped: {err:#} (ticks are skipped, not queued)",
                tick.format("%Y-%m-%d %H:%M:%S")
            )
        }
        Err(err) => log::error!("scheduler: the run could not start: {err:#}"),
    }
}

async fn scheduled_reconcile(config: &Config, windows: u32) {
    let request = crate::reconcile::ReconcileRequest {
        entities: Vec::new(),
        sample: Some(windows),
        repair: false,
    };
    match crate::reconcile::reconcile(config, request).await {
        Ok(report) if report.differs() => log::warn!(
            "scheduler: reconcile {} found differences; `lightsync reconcile --repair` fixes them",
            report.run_id
        ),
        Ok(report) => log::info!(
            "scheduler: reconcile {} found nothing differing in {:.1} s",
            report.run_id,
            report.seconds
        ),
        Err(err) => log::error!("scheduler: the reconcile could not run: {err:#}"),
    }
}
