//! Retry policy for transient API failures: capped exponential backoff with full jitter, and
//! parsing of the `Retry-After` header (HTTP date, `+0000` date or delta seconds).

use std::time::{Duration, SystemTime};

use rand::Rng;

/// First backoff step; doubled each attempt.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Upper bound of one backoff sleep, so a long outage is probed at least this often.
pub const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// The sleep before retry number `attempt` (1-based): uniform in `[0, min(cap, base * 2^(attempt-1))]`.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = backoff_ceiling(attempt, base, cap);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// The largest sleep `backoff_delay` may return for `attempt`.
pub fn backoff_ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(20);
    base.saturating_mul(factor).min(cap)
}

/// How long to wait according to a `Retry-After` value received at `now`. Dates have whole-second
/// precision, so a date is taken as the end of its second.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let until = httpdate::parse_http_date(value).ok().or_else(|| {
        chrono::DateTime::parse_from_rfc2822(value)
            .ok()
            .map(SystemTime::from)
    })?;
    Some(until.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_and_stays_within_its_ceiling() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        assert_eq!(backoff_ceiling(1, base, cap), Duration::from_millis(100));
        assert_eq!(backoff_ceiling(3, base, cap), Duration::from_millis(400));
        assert_eq!(backoff_ceiling(10, base, cap), cap);
        assert_eq!(backoff_ceiling(u32::MAX, base, cap), cap);
        for attempt in 1..12 {
            assert!(backoff_delay(attempt, base, cap) <= backoff_ceiling(attempt, base, cap));
        }
    }

    #[test]
    fn retry_after_accepts_http_dates_offset_dates_and_seconds() {
        let now = httpdate::parse_http_date("Wed, 15 Jul 2020 15:04:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 15 Jul 2020 15:04:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Wed, 15 Jul 2020 15:04:05 +0000", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 15 Jul 2020 15:03:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
