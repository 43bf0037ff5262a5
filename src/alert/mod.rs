//! Alerts that reach people: when an entity's run fails, it turns red, it recovers, or an
//! interrupted run is resumed, one JSON message is posted to each configured webhook, once per
//! change. Whichever process sees the change first sends it (a run when it closes, `serve` when
//! it checks staleness); `alert_log` in PostgreSQL makes sure no change is sent twice. Webhook
//! trouble is logged and bounded by the alert timeout: it never fails a run.

mod message;
mod record;
mod transition;
mod webhook;

use std::time::Duration;

use chrono::Utc;
use diesel::PgConnection;

pub use message::{AlertMessage, MessageContext, Scrubber};
pub use transition::{decide, observe, AlertState, ChainHead, Observation};
pub use webhook::Webhooks;

use crate::config::{Config, DatabaseUrl};
use crate::db::{self, DbError};
use crate::engine::RunReport;
use crate::entity::Entity;

/// Time allowed for the alert bookkeeping in PostgreSQL on top of the webhook timeout.
const DATABASE_ALLOWANCE: Duration = Duration::from_secs(5);

/// Sends the alerts of one process.
#[derive(Clone)]
pub struct Alerter {
    webhooks: Webhooks,
    context: MessageContext,
    url: DatabaseUrl,
}

/// A claimed alert waiting to be posted.
struct Pending {
    id: i64,
    message: AlertMessage,
}

impl Alerter {
    /// The alerter of `config`, or `None` when no webhook is configured (or no database).
    pub fn from_config(config: &Config) -> Option<Alerter> {
        let monitoring = &config.monitoring;
        if monitoring.webhooks.is_empty() {
            return None;
        }
        let url = config.database_url().ok()?.clone();
        let webhooks = match Webhooks::new(monitoring.webhooks.clone(), monitoring.alert_timeout) {
            Ok(webhooks) => webhooks,
            Err(err) => {
                log::error!("alerts are off: the webhook client cannot start: {err:#}");
                return None;
            }
        };
        Some(Alerter {
            webhooks,
            context: MessageContext {
                dashboard_url: monitoring.dashboard_url.clone(),
                scrubber: Scrubber::from_config(config),
                thresholds: config.health,
                lag_alert: monitoring.lag_alert,
                following: false,
            },
            url,
        })
    }

    /// One look at every entity: claims and posts what changed since the last alerts.
    pub async fn check_entities(&self) {
        let context = self.context.clone();
        let url = self.url.clone();
        self.claim_then_post(
            move |conn| {
                let mut pending = Vec::new();
                for entity in Entity::ALL {
                    pending.extend(claim_state_change(conn, &context, entity)?);
                }
                Ok(pending)
            },
            url,
        )
        .await;
    }

    /// After a run: announces resumed interrupted runs and each entity's change of state.
    async fn after_run(&self, report: &RunReport) {
        let context = self.context.clone();
        let url = self.url.clone();
        let run_id = report.run_id.clone();
        let outcomes: Vec<(Entity, Option<String>)> = report
            .entities
            .iter()
            .map(|e| (e.entity, e.error.clone()))
            .collect();
        self.claim_then_post(
            move |conn| {
                let mut pending = Vec::new();
                for (entity, error) in &outcomes {
                    let name = entity.name();
                    if let Some(interrupted) =
                        record::load_interrupted_predecessor(conn, name, &run_id)?
                    {
                        let message =
                            context.resumed(name, &interrupted, &run_id, error.as_deref());
                        let key = format!("resumed:{name}:{interrupted}");
                        if let Some(id) = record::claim_event(conn, &key, &message)? {
                            pending.push(Pending { id, message });
                        }
                    }
                    pending.extend(claim_state_change(conn, &context, *entity)?);
                }
                Ok(pending)
            },
            url,
        )
        .await;
    }

    /// Runs `claim` on a connection, posts what it claimed, and records each delivery.
    async fn claim_then_post<F>(&self, claim: F, url: DatabaseUrl)
    where
        F: FnOnce(&mut PgConnection) -> Result<Vec<Pending>, DbError> + Send + 'static,
    {
        let claimed = tokio::task::spawn_blocking(move || {
            let mut conn = db::connect(&url)?;
            let pending = claim(&mut conn)?;
            Ok::<_, DbError>((conn, pending))
        })
        .await;
        let (conn, pending) = match claimed {
            Ok(Ok(claimed)) => claimed,
            Ok(Err(err)) => {
                log::warn!(
                    "alerts: cannot read or record alert state: {}",
                    self.url.scrub(&err.to_string())
                );
                return;
            }
            Err(_) => return log::error!("alerts: the alert task panicked"),
        };
        if pending.is_empty() {
            return;
        }
        let results = futures_util::future::join_all(
            pending
                .iter()
                .map(|alert| self.webhooks.post(&alert.message)),
        )
        .await;
        let mut deliveries = Vec::new();
        for (alert, results) in pending.iter().zip(results) {
            let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
            if failures.is_empty() {
                log::info!(
                    "alert sent: {} {} ({})",
                    alert.message.entity,
                    alert.message.state,
                    self.webhooks.hosts().join(", ")
                );
                deliveries.push((alert.id, None));
            } else {
                let error = failures.join("; ");
                log::warn!(
                    "alert {} {} not delivered: {error}",
                    alert.message.entity,
                    alert.message.state
                );
                deliveries.push((alert.id, Some(error)));
            }
        }
        let url = self.url.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            for (id, error) in deliveries {
                record::record_delivery(&mut conn, id, error.as_deref())?;
            }
            Ok::<_, DbError>(())
        })
        .await;
        if let Ok(Err(err)) = recorded {
            log::warn!(
                "alerts: cannot record deliveries: {}",
                url.scrub(&err.to_string())
            );
        }
    }
}

/// Claims the state change of `entity` that its `sync_state` shows, if one is due.
fn claim_state_change(
    conn: &mut PgConnection,
    context: &MessageContext,
    entity: Entity,
) -> Result<Option<Pending>, DbError> {
    let now = Utc::now();
    let Some(row) = db::load_sync_states(conn)?
        .into_iter()
        .find(|row| row.entity == entity.name())
    else {
        return Ok(None);
    };
    let head = record::load_chain_head(conn, entity.name())?;
    let observation = observe(&row, now, &context.thresholds, context.lag_limit());
    let Some(state) = decide(head, observation, row.last_success_at) else {
        return Ok(None);
    };
    let message = context.state_change(state, &row, head.map(|head| head.at), now);
    Ok(record::claim_state_change(conn, head, &message)?.map(|id| Pending { id, message }))
}

/// `lightsync alert test`: posts the test message to every configured webhook; one result per
/// webhook host. Needs no database.
pub async fn send_test(config: &Config) -> anyhow::Result<Vec<(String, Result<(), String>)>> {
    let monitoring = &config.monitoring;
    let webhooks = Webhooks::new(monitoring.webhooks.clone(), monitoring.alert_timeout)?;
    let context = MessageContext {
        dashboard_url: monitoring.dashboard_url.clone(),
        scrubber: Scrubber::from_config(config),
        thresholds: config.health,
        lag_alert: monitoring.lag_alert,
        following: false,
    };
    let hosts: Vec<String> = webhooks.hosts().iter().map(|h| h.to_string()).collect();
    let results = webhooks.post(&context.test()).await;
    Ok(hosts.into_iter().zip(results).collect())
}

/// The hook a reconcile calls: one `differs` alert for each entity whose rows differ from the
/// store. Never fails.
pub async fn notify_after_reconcile(
    config: &Config,
    run_id: &str,
    differing: Vec<(Entity, (u64, u64, u64))>,
) {
    let Some(alerter) = Alerter::from_config(config) else {
        return;
    };
    if differing.is_empty() {
        return;
    }
    let context = alerter.context.clone();
    let run_id = run_id.to_string();
    let budget = alerter.webhooks.timeout() + DATABASE_ALLOWANCE;
    let url = alerter.url.clone();
    let claimed = alerter.claim_then_post(
        move |conn| {
            let mut pending = Vec::new();
            for (entity, counts) in &differing {
                let message = context.differs(entity.name(), &run_id, *counts);
                let key = format!("differs:{}:{run_id}", entity.name());
                if let Some(id) = record::claim_event(conn, &key, &message)? {
                    pending.push(Pending { id, message });
                }
            }
            Ok(pending)
        },
        url,
    );
    if tokio::time::timeout(budget, claimed).await.is_err() {
        log::warn!("alerts: gave up after {budget:?}; the reconcile is not affected");
    }
}

/// Posts the alerts a closed run calls for; each caller of `engine::run` calls it. Never
/// fails and never takes much longer than the alert timeout.
pub async fn notify_after_run(config: &Config, report: &RunReport) {
    let Some(alerter) = Alerter::from_config(config) else {
        return;
    };
    let budget = alerter.webhooks.timeout() + DATABASE_ALLOWANCE;
    if tokio::time::timeout(budget, alerter.after_run(report))
        .await
        .is_err()
    {
        log::warn!("alerts: gave up after {budget:?}; the run is not affected");
    }
}

/// `serve`'s watch: every `config.monitoring.alert_check`, announces entities that turned red,
/// fell behind while `following`, or recovered (and failures of runs that had no webhook configured). Runs until the runtime
/// stops; does nothing when no webhook is configured.
pub fn spawn_watch(config: &Config, following: bool) {
    let Some(mut alerter) = Alerter::from_config(config) else {
        return;
    };
    alerter.context.following = following;
    let every = config.monitoring.alert_check;
    let budget = alerter.webhooks.timeout() + DATABASE_ALLOWANCE;
    log::info!(
        "alerts: posting to {} and checking entities every {every:?}",
        alerter.webhooks.hosts().join(", ")
    );
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if tokio::time::timeout(budget, alerter.check_entities())
                .await
                .is_err()
            {
                log::warn!("alerts: a check took longer than {budget:?} and was abandoned");
            }
        }
    });
}
