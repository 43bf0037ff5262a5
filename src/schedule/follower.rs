//! The runs `serve` starts by itself to keep entities current: each entity polled on its own
//! interval (`serve --follow`), and the entities a webhook names run within a second or two.
//! One task starts them one after another, through one API client, so polls and webhook runs
//! share one rate governor and never compete for the store's locks among themselves. A run that
//! finds the store locked (an import, a `sync` from cron) is tried again a few seconds later;
//! nothing is queued twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::{Config, FollowPlan};
use crate::engine::{self, RunMode, RunRequest};
use crate::entity::Entity;
use crate::exit;
use crate::lightspeed::Client;

/// How long after a webhook its run starts, gathering the webhooks of a burst into it.
const GATHER: Duration = Duration::from_secs(1);
/// How long to wait before trying again when another run holds the store.
const BUSY_RETRY: Duration = Duration::from_secs(5);
/// The longest a run waits for the quota to allow all its requests at once.
const MOST_QUOTA_WAIT: Duration = Duration::from_secs(10);
/// How long to wait after a run could not start for another reason (database or API down).
const FAILED_RETRY: Duration = Duration::from_secs(30);

/// Asks the follower for a run of some entities soon (a webhook said they changed).
#[derive(Debug, Clone)]
pub struct RunTrigger {
    sender: mpsc::UnboundedSender<&'static [Entity]>,
}

impl RunTrigger {
    /// Asks for a run of `entities`. Never waits.
    pub fn request(&self, entities: &'static [Entity]) {
        let _ = self.sender.send(entities);
    }
}

/// Starts the follower on the current tokio runtime; it lives as long as the runtime. With a
/// plan it polls every entity (the first poll of each at once); without one it runs only what
/// the trigger asks for.
pub fn spawn_follower(config: Config, plan: Option<FollowPlan>) -> RunTrigger {
    let (sender, receiver) = mpsc::unbounded_channel();
    if let Some(plan) = &plan {
        log::info!("following the store: polling {plan}");
    }
    let follower = Follower {
        config,
        plan,
        client: None,
        next_poll: BTreeMap::new(),
        requested: BTreeSet::new(),
        retry_at: None,
    };
    tokio::spawn(follower.run(receiver));
    RunTrigger { sender }
}

struct Follower {
    config: Config,
    plan: Option<FollowPlan>,
    /// Kept between runs, so they share one rate governor.
    client: Option<Client>,
    /// When each entity is polled next (empty without a plan).
    next_poll: BTreeMap<Entity, Instant>,
    /// Entities webhooks named that have not run yet.
    requested: BTreeSet<Entity>,
    /// When to try the requested entities again after their run could not start.
    retry_at: Option<Instant>,
}

/// How one attempt at a run ended.
enum Attempt {
    Ran,
    Busy,
    Failed,
}

impl Follower {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<&'static [Entity]>) {
        let start = Instant::now();
        if self.plan.is_some() {
            self.next_poll = Entity::ALL.into_iter().map(|e| (e, start)).collect();
        }
        // Closed when no webhook receiver holds the trigger: then only the polls remain.
        let mut open = true;
        loop {
            // Webhooks that arrived during the last run have waited already: they run at once.
            let mut queued = false;
            while let Ok(more) = requests.try_recv() {
                self.requested.extend(more.iter().copied());
                queued = true;
            }
            if !queued {
                let wake = self.next_wake();
                if !open && wake.is_none() {
                    return;
                }
                tokio::select! {
                    more = requests.recv(), if open => match more {
                        Some(entities) => {
                            self.requested.extend(entities.iter().copied());
                            if self.retry_at.is_none() {
                                gather(&mut requests, &mut self.requested).await;
                            }
                        }
                        None => open = false,
                    },
                    _ = sleep_until(wake) => {}
                }
                while let Ok(more) = requests.try_recv() {
                    self.requested.extend(more.iter().copied());
                }
            }
            self.run_what_is_due().await;
        }
    }

    /// The next poll, or a retry of requested entities, whichever is first.
    fn next_wake(&self) -> Option<Instant> {
        let poll = self.next_poll.values().min().copied();
        let retry = self.retry_at.filter(|_| !self.requested.is_empty());
        match (poll, retry) {
            (Some(poll), Some(retry)) => Some(poll.min(retry)),
            (poll, retry) => poll.or(retry),
        }
    }

    async fn run_what_is_due(&mut self) {
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| at > now) {
            // Requested entities wait for their retry; polls that are due go now.
            if !self.next_poll.values().any(|at| *at <= now) {
                return;
            }
        }
        let polled: BTreeSet<Entity> = self
            .next_poll
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(entity, _)| *entity)
            .collect();
        let mut entities = polled.clone();
        entities.extend(self.requested.iter().copied());
        if entities.is_empty() {
            return;
        }
        // In a busy store the quota, not the clock, sets the pace: wait until the governor can
        // send every entity's request at once, so the run is short and whatever arrives
        // meanwhile is in it.
        // Webhooks that arrive during the wait for an entity of the run are covered by it.
        let wait = self.client.as_ref().map_or(Duration::ZERO, |client| {
            client.governor().time_until(entities.len() as u32)
        });
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(MOST_QUOTA_WAIT)).await;
        }
        // A webhook's run reads one page of each entity (`RunMode::Webhook`); a poll that
        // falls due joins it and makes it a poll, which reads to the empty page, so a steady
        // stream of webhooks never keeps an entity from being proven caught up.
        let mode = if polled.is_empty() {
            RunMode::Webhook
        } else {
            RunMode::Follow
        };
        let entities: Vec<Entity> = entities.into_iter().collect();
        match self.attempt(mode, &entities).await {
            Attempt::Ran => {
                self.requested.retain(|entity| !entities.contains(entity));
                self.retry_at = None;
                self.schedule_polls(&polled, now, None);
            }
            Attempt::Busy => {
                self.retry_at = Some(Instant::now() + BUSY_RETRY);
                self.schedule_polls(&polled, now, Some(BUSY_RETRY));
            }
            Attempt::Failed => {
                self.retry_at = Some(Instant::now() + FAILED_RETRY);
                self.schedule_polls(&polled, now, Some(FAILED_RETRY));
            }
        }
    }

    /// The next poll of each polled entity: one interval after this one started, or `retry`
    /// from now when it could not run (whichever is sooner).
    fn schedule_polls(
        &mut self,
        polled: &BTreeSet<Entity>,
        started: Instant,
        retry: Option<Duration>,
    ) {
        let Some(plan) = &self.plan else { return };
        for entity in polled {
            let interval = plan.interval(*entity);
            let next = match retry {
                Some(retry) => Instant::now() + retry.min(interval),
                None => (started + interval).max(Instant::now()),
            };
            self.next_poll.insert(*entity, next);
        }
    }

    async fn attempt(&mut self, mode: RunMode, entities: &[Entity]) -> Attempt {
        let client = match self.client().await {
            Ok(client) => client,
            Err(err) => {
                log::error!(
                    "follow: cannot reach the API to run {}: {err:#}",
                    names(entities)
                );
                return Attempt::Failed;
            }
        };
        let request = RunRequest {
            mode,
            restart: false,
            entities: entities.to_vec(),
        };
        match engine::run_with_client(&self.config, request, client).await {
            Ok(report) => {
                crate::alert::notify_after_run(&self.config, &report).await;
                let records: u64 = report.entities.iter().map(|e| e.records).sum();
                let failed = report.failed_entities();
                if failed.is_empty() {
                    // A poll that found nothing new is logged only when asked for (debug).
                    let level = if records == 0 && mode == RunMode::Follow {
                        log::Level::Debug
                    } else {
                        log::Level::Info
                    };
                    log::log!(
                        level,
                        "{}: run {} of {} finished in {:.1} s: {records} records",
                        mode.name(),
                        report.run_id,
                        names(entities),
                        report.elapsed.as_secs_f64()
                    );
                } else {
                    log::error!(
                        "{}: run {} failed for {}; the next poll continues from where it stopped",
                        mode.name(),
                        report.run_id,
                        failed.join(", ")
                    );
                }
                Attempt::Ran
            }
            Err(err) if exit::code_for(&err) == exit::LOCKED => {
                log::info!(
                    "{}: another run holds the store; {} again in {} s",
                    mode.name(),
                    names(entities),
                    BUSY_RETRY.as_secs()
                );
                Attempt::Busy
            }
            Err(err) => {
                log::error!(
                    "{}: the run of {} could not start: {err:#}; trying again in {} s",
                    mode.name(),
                    names(entities),
                    FAILED_RETRY.as_secs()
                );
                Attempt::Failed
            }
        }
    }

    /// The follower's client, opened on first use; its token renewed when it would expire.
    async fn client(&mut self) -> anyhow::Result<Client> {
        if let Some(client) = &self.client {
            client.renew_if_expiring().await?;
            return Ok(client.clone());
        }
        let client = engine::open_client(&self.config, &self.config.api()?).await?;
        self.client = Some(client.clone());
        Ok(client)
    }
}

/// Adds what arrives within `GATHER` of the first webhook.
async fn gather(
    requests: &mut mpsc::UnboundedReceiver<&'static [Entity]>,
    pending: &mut BTreeSet<Entity>,
) {
    let deadline = tokio::time::sleep(GATHER);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            more = requests.recv() => match more {
                Some(more) => pending.extend(more.iter().copied()),
                None => return,
            },
        }
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn names(entities: &[Entity]) -> String {
    if entities.len() == Entity::ALL.len() {
        return "every entity".into();
    }
    entities
        .iter()
        .map(|entity| entity.name())
        .collect::<Vec<_>>()
        .join(", ")
}
