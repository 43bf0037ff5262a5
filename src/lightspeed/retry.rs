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
    let until = parse_http_time(value)?;
    Some(until.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to wait according to a response's `Retry-After`, measured on the server's clock: a
/// date in `Retry-After` minus the response's own `Date`, which come from the same clock, so no
/// skew between the two machines distorts the wait. Without a usable `Date`, the date is
/// compared with `local_now`.
pub fn retry_after_on_server_clock(
    retry_after: &str,
    date: Option<&str>,
    local_now: SystemTime,
) -> Option<Duration> {
    let server_now = date.and_then(parse_http_time).unwrap_or(local_now);
    parse_retry_after(retry_after, server_now)
}

/// An HTTP date (`Wed, 15 Jul 2020 15:04:05 GMT`) or the same with a numeric offset.
fn parse_http_time(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    httpdate::parse_http_date(value).ok().or_else(|| {
        chrono::DateTime::parse_from_rfc2822(value)
            .ok()
            .map(SystemTime::from)
    })
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

    #[test]
    fn a_retry_after_date_is_measured_against_the_servers_date_whatever_our_clock_says() {
        let server = "Wed, 15 Jul 2020 15:04:00 GMT";
        let until = "Wed, 15 Jul 2020 15:04:30 GMT";
        let real = httpdate::parse_http_date(server).unwrap();
        for skew in [0i64, 25, -25, 3600, -3600] {
            let ours = if skew >= 0 {
                real + Duration::from_secs(skew as u64)
            } else {
                real - Duration::from_secs((-skew) as u64)
            };
            assert_eq!(
                retry_after_on_server_clock(until, Some(server), ours),
                Some(Duration::from_secs(30)),
                "our clock {skew} s off"
            );
        }
        // Without a Date (or an unreadable one), our own clock is all there is.
        assert_eq!(
            retry_after_on_server_clock(until, None, real + Duration::from_secs(10)),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            retry_after_on_server_clock(until, Some("yesterday"), real),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after_on_server_clock("12", Some(server), real),
            Some(Duration::from_secs(12)),
            "seconds need no clock"
        );
    }
}
