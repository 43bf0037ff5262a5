//! Which change of an entity's state deserves an alert: pure code over `sync_state` and the last
//! alert sent for the entity. Failures, turning red and recovering form a chain per entity;
//! an alert is due only when the observed condition differs from the chain's head, so a
//! failing entity alerts once, not at every run.

use chrono::{DateTime, Utc};

use crate::db::RunStatus;
use crate::db::SyncStateRow;
use crate::health::{health_of, Health, HealthThresholds};

/// The state an alert announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// A run of the entity failed.
    Failed,
    /// No successful sync for longer than the red threshold.
    Red,
    /// Synced successfully again after `Failed` or `Red`.
    Recovered,
    /// A run was interrupted (its process stopped) and a later run resumed it.
    Resumed,
    /// Followed (`serve --follow`), and the mirror's newest complete copy is older than the lag
    /// threshold.
    Lagging,
}

impl AlertState {
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Failed => "failed",
            AlertState::Red => "red",
            AlertState::Recovered => "recovered",
            AlertState::Resumed => "resumed",
            AlertState::Lagging => "lagging",
        }
    }

    pub fn from_name(name: &str) -> Option<AlertState> {
        [
            AlertState::Failed,
            AlertState::Red,
            AlertState::Recovered,
            AlertState::Resumed,
            AlertState::Lagging,
        ]
        .into_iter()
        .find(|state| state.name() == name)
    }
}

/// The newest alert of an entity's chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainHead {
    pub id: i64,
    pub state: AlertState,
    pub at: DateTime<Utc>,
}

/// What `sync_state` says about an entity, as far as alerts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    Failed,
    /// Stale beyond the red threshold after having synced at least once (an entity that was
    /// never synced is red from the start: that is not a change).
    Red,
    /// Followed and behind the lag threshold (see `AlertState::Lagging`).
    Lagging,
    Green,
    /// Yellow, or never synced: nothing to announce.
    Quiet,
}

/// Reads an entity's condition from its `sync_state` row. `lag_alert` is the lag threshold
/// when the entity is followed.
pub fn observe(
    state: &SyncStateRow,
    now: DateTime<Utc>,
    thresholds: &HealthThresholds,
    lag_alert: Option<std::time::Duration>,
) -> Observation {
    if state.status == RunStatus::Failed {
        return Observation::Failed;
    }
    let lagging = lag_alert.is_some_and(|limit| {
        state
            .caught_up_at
            .and_then(|at| (now - at).to_std().ok())
            .is_some_and(|lag| lag > limit)
    });
    match health_of(state.status, state.last_success_at, now, thresholds) {
        Health::Red if state.last_success_at.is_some() => Observation::Red,
        _ if lagging => Observation::Lagging,
        Health::Green => Observation::Green,
        _ => Observation::Quiet,
    }
}

/// The alert due for `observation` given the chain's head, if any. A recovery counts only when
/// the entity succeeded after the alert it recovers from (a run in progress after a failure
/// still shows the older success).
pub fn decide(
    head: Option<ChainHead>,
    observation: Observation,
    last_success_at: Option<DateTime<Utc>>,
) -> Option<AlertState> {
    let last = head.map(|head| head.state);
    match observation {
        Observation::Failed => (last != Some(AlertState::Failed)).then_some(AlertState::Failed),
        Observation::Red => matches!(
            last,
            None | Some(AlertState::Recovered | AlertState::Lagging)
        )
        .then_some(AlertState::Red),
        Observation::Lagging => {
            matches!(last, None | Some(AlertState::Recovered)).then_some(AlertState::Lagging)
        }
        Observation::Green => match head {
            Some(head)
                if matches!(
                    head.state,
                    AlertState::Failed | AlertState::Red | AlertState::Lagging
                ) && last_success_at.is_some_and(|success| success > head.at) =>
            {
                Some(AlertState::Recovered)
            }
            _ => None,
        },
        Observation::Quiet => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn head(state: AlertState, at: DateTime<Utc>) -> Option<ChainHead> {
        Some(ChainHead { id: 1, state, at })
    }

    fn row(status: RunStatus, last_success_at: Option<DateTime<Utc>>) -> SyncStateRow {
        SyncStateRow::of_sales(status, last_success_at)
    }

    #[test]
    fn a_failure_alerts_once_until_something_else_was_said() {
        let now = Utc::now();
        assert_eq!(
            decide(None, Observation::Failed, None),
            Some(AlertState::Failed)
        );
        assert_eq!(
            decide(head(AlertState::Failed, now), Observation::Failed, None),
            None
        );
        assert_eq!(
            decide(head(AlertState::Recovered, now), Observation::Failed, None),
            Some(AlertState::Failed)
        );
        assert_eq!(
            decide(head(AlertState::Red, now), Observation::Failed, None),
            Some(AlertState::Failed),
            "a run that fails while stale is news"
        );
    }

    #[test]
    fn red_is_announced_once_and_not_on_top_of_a_failure() {
        let now = Utc::now();
        assert_eq!(decide(None, Observation::Red, None), Some(AlertState::Red));
        assert_eq!(
            decide(head(AlertState::Red, now), Observation::Red, None),
            None
        );
        assert_eq!(
            decide(head(AlertState::Failed, now), Observation::Red, None),
            None
        );
        assert_eq!(
            decide(head(AlertState::Recovered, now), Observation::Red, None),
            Some(AlertState::Red)
        );
    }

    #[test]
    fn recovery_needs_a_success_after_the_alert() {
        let alerted = Utc::now();
        let before = alerted - Duration::minutes(30);
        let after = alerted + Duration::seconds(5);
        let failed = head(AlertState::Failed, alerted);
        assert_eq!(decide(failed, Observation::Green, Some(before)), None);
        assert_eq!(
            decide(failed, Observation::Green, Some(after)),
            Some(AlertState::Recovered)
        );
        assert_eq!(
            decide(
                head(AlertState::Red, alerted),
                Observation::Green,
                Some(after)
            ),
            Some(AlertState::Recovered)
        );
        assert_eq!(
            decide(None, Observation::Green, Some(after)),
            None,
            "nothing to recover from"
        );
        assert_eq!(
            decide(
                head(AlertState::Recovered, alerted),
                Observation::Green,
                Some(after)
            ),
            None
        );
        assert_eq!(decide(failed, Observation::Quiet, Some(after)), None);
    }

    #[test]
    fn observations_follow_status_and_health() {
        let t = HealthThresholds::default();
        let now = Utc::now();
        assert_eq!(
            observe(&row(RunStatus::Failed, Some(now)), now, &t, None),
            Observation::Failed
        );
        assert_eq!(
            observe(&row(RunStatus::Ok, Some(now)), now, &t, None),
            Observation::Green
        );
        assert_eq!(
            observe(
                &row(RunStatus::Ok, Some(now - Duration::hours(3))),
                now,
                &t,
                None
            ),
            Observation::Quiet,
            "yellow"
        );
        assert_eq!(
            observe(
                &row(RunStatus::Ok, Some(now - Duration::hours(13))),
                now,
                &t,
                None
            ),
            Observation::Red
        );
        assert_eq!(
            observe(&row(RunStatus::Idle, None), now, &t, None),
            Observation::Quiet,
            "never synced"
        );
        assert_eq!(AlertState::from_name("red"), Some(AlertState::Red));
        assert_eq!(AlertState::from_name("lagging"), Some(AlertState::Lagging));
        assert_eq!(AlertState::from_name("blue"), None);
    }

    #[test]
    fn a_followed_entity_behind_its_lag_threshold_alerts_once_and_recovers() {
        let t = HealthThresholds::default();
        let now = Utc::now();
        let mut behind = row(RunStatus::Ok, Some(now - Duration::minutes(20)));
        behind.caught_up_at = Some(now - Duration::minutes(20));
        let limit = Some(std::time::Duration::from_secs(600));
        assert_eq!(observe(&behind, now, &t, limit), Observation::Lagging);
        assert_eq!(
            observe(&behind, now, &t, None),
            Observation::Green,
            "not followed: twenty minutes is green"
        );
        assert_eq!(
            decide(None, Observation::Lagging, behind.last_success_at),
            Some(AlertState::Lagging)
        );
        let alerted = now;
        assert_eq!(
            decide(
                head(AlertState::Lagging, alerted),
                Observation::Lagging,
                None
            ),
            None,
            "once"
        );
        assert_eq!(
            decide(
                head(AlertState::Lagging, alerted),
                Observation::Green,
                Some(alerted + Duration::seconds(30))
            ),
            Some(AlertState::Recovered)
        );
        assert_eq!(
            decide(head(AlertState::Lagging, alerted), Observation::Red, None),
            Some(AlertState::Red),
            "turning red while lagging is news"
        );
    }
}
