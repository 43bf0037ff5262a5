//! Entity health: the colour an operator sees for an entity, from its status and the time since
//! its last successful sync, that time in words, and how fresh the mirror is (`Freshness`). Pure code, shared by the dashboard and
//! `lightsync status`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::RunStatus;

/// Default age at which an entity turns yellow.
pub const DEFAULT_YELLOW_HOURS: f64 = 2.0;
/// Default age beyond which an entity turns red.
pub const DEFAULT_RED_HOURS: f64 = 12.0;

/// When an entity's data counts as stale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HealthThresholds {
    /// At or beyond this age since the last success: yellow.
    pub yellow_after: Duration,
    /// Beyond this age: red.
    pub red_after: Duration,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds {
            yellow_after: Duration::from_secs_f64(DEFAULT_YELLOW_HOURS * 3600.0),
            red_after: Duration::from_secs_f64(DEFAULT_RED_HOURS * 3600.0),
        }
    }
}

/// An entity's health colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not copied on purpose (the token lacks the permission): no colour, no alert, and it
    /// never makes the overall health worse (it sorts first).
    Skipped,
    Green,
    Yellow,
    Red,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Skipped => "skipped",
            Health::Green => "green",
            Health::Yellow => "yellow",
            Health::Red => "red",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The health of an entity whose `sync_state` says `status` and `last_success_at`.
/// Skipped when the entity is skipped; red when failed or never synced; otherwise by age: green under `yellow_after`, yellow up to
/// `red_after`, red beyond.
pub fn health_of(
    status: RunStatus,
    last_success_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    thresholds: &HealthThresholds,
) -> Health {
    match status {
        RunStatus::Failed => return Health::Red,
        RunStatus::Skipped => return Health::Skipped,
        _ => {}
    }
    let Some(last_success) = last_success_at else {
        return Health::Red;
    };
    let age = (now - last_success).to_std().unwrap_or(Duration::ZERO);
    if age < thresholds.yellow_after {
        Health::Green
    } else if age <= thresholds.red_after {
        Health::Yellow
    } else {
        Health::Red
    }
}

/// A duration in the words a person uses: "just now", "12 min", "3 h", "2 days".
pub fn duration_in_words(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min", seconds / 60),
        3600..=172_799 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// "3 h ago" (or "never") for an instant.
pub fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".to_string(),
        Some(at) => {
            let words = duration_in_words((now - at).to_std().unwrap_or(Duration::ZERO));
            if words == "just now" {
                words
            } else {
                format!("{words} ago")
            }
        }
    }
}

/// How fresh an entity's mirror is, from its `sync_state` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freshness {
    /// Seconds since the start of the entity's last successful run: everything the store had
    /// then is in the mirror, so nothing in it is older than this.
    pub lag_secs: Option<f64>,
    pub lag: String,
    /// The store's `updated_at` of the newest record written, and how long ago that was.
    pub newest_change_at: Option<DateTime<Utc>>,
    pub newest_change_ago: String,
    /// How long after that change its record landed in PostgreSQL.
    pub landed_after_secs: Option<f64>,
}

impl Freshness {
    pub fn of(
        caught_up_at: Option<DateTime<Utc>>,
        newest_change_at: Option<DateTime<Utc>>,
        landed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Freshness {
        let seconds = |from: DateTime<Utc>, to: DateTime<Utc>| {
            (to - from).num_milliseconds().max(0) as f64 / 1000.0
        };
        let lag_secs = caught_up_at.map(|at| seconds(at, now));
        Freshness {
            lag: match lag_secs {
                None => "-".to_string(),
                Some(secs) if secs < 120.0 => format!("{secs:.0} s"),
                Some(secs) => duration_in_words(Duration::from_secs_f64(secs)),
            },
            lag_secs,
            newest_change_ago: ago(newest_change_at, now),
            newest_change_at,
            landed_after_secs: newest_change_at
                .zip(landed_at)
                .map(|(changed, landed)| seconds(changed, landed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Age;

    fn at(age: Age) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
        let now = Utc::now();
        (Some(now - age), now)
    }

    #[test]
    fn colours_follow_the_documented_boundaries() {
        let t = HealthThresholds::default();
        let cases = [
            (Age::minutes(119), Health::Green),
            (Age::minutes(121), Health::Yellow),
            (Age::minutes(11 * 60 + 59), Health::Yellow),
            (Age::minutes(12 * 60 + 1), Health::Red),
        ];
        for (age, expected) in cases {
            let (last, now) = at(age);
            assert_eq!(health_of(RunStatus::Ok, last, now, &t), expected, "{age:?}");
        }
        let (last, now) = at(Age::minutes(5));
        assert_eq!(health_of(RunStatus::Failed, last, now, &t), Health::Red);
        assert_eq!(
            health_of(RunStatus::Idle, None, now, &t),
            Health::Red,
            "never synced"
        );
        assert_eq!(health_of(RunStatus::Running, last, now, &t), Health::Green);
    }

    #[test]
    fn thresholds_are_configurable() {
        let t = HealthThresholds {
            yellow_after: Duration::from_secs(60),
            red_after: Duration::from_secs(120),
        };
        let (last, now) = at(Age::seconds(90));
        assert_eq!(health_of(RunStatus::Ok, last, now, &t), Health::Yellow);
    }

    #[test]
    fn ages_read_like_words() {
        let now = Utc::now();
        assert_eq!(ago(None, now), "never");
        assert_eq!(ago(Some(now - Age::seconds(5)), now), "just now");
        assert_eq!(ago(Some(now - Age::minutes(12)), now), "12 min ago");
        assert_eq!(ago(Some(now - Age::hours(3)), now), "3 h ago");
        assert_eq!(ago(Some(now - Age::days(4)), now), "4 days ago");
    }

    #[test]
    fn freshness_reads_lag_and_landing_delay() {
        let now = Utc::now();
        let fresh = Freshness::of(
            Some(now - Age::seconds(12)),
            Some(now - Age::seconds(40)),
            Some(now - Age::seconds(37)),
            now,
        );
        assert_eq!(fresh.lag, "12 s");
        assert_eq!(fresh.landed_after_secs, Some(3.0));
        assert_eq!(fresh.newest_change_ago, "just now");
        let never = Freshness::of(None, None, None, now);
        assert_eq!(never.lag, "-");
        assert_eq!(never.lag_secs, None);
        assert_eq!(never.landed_after_secs, None);
    }
}
