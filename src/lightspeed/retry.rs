//! Retry policy for transient API failures: the backoff curve (full jitter, from
//! `crate::backoff`) and parsing of the `Retry-After` header (HTTP date, `+0000` date or delta
//! seconds).

use std::time::{Duration, SystemTime};

use crate::backoff::Backoff;

/// Retries of a transient failure: 200 ms doubled per attempt, at most 20 s, so a long outage
/// is probed at least that often.
pub const RETRY_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(200), Duration::from_secs(20));

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
