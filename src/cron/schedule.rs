//! A parsed cron schedule (five fields or `@daily` and friends, read by `croner` after the
//! same validation as `cron install`): when it fires next, in local time like cron.

use std::fmt;

use chrono::{DateTime, TimeZone};

/// A five-field cron schedule (or `@daily` and friends), evaluated in local time like cron.
#[derive(Clone)]
pub struct Schedule {
    text: String,
    cron: croner::Cron,
}

impl Schedule {
    /// Parses a schedule; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        super::validate_schedule(text)?;
        let cron = croner::parser::CronParser::new()
            .parse(text)
            .map_err(|err| format!("`{text}` is not a schedule cron understands: {err}"))?;
        Ok(Schedule {
            text: text.to_string(),
            cron,
        })
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first time strictly after `after` that the schedule fires, if any.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(after, false).ok()
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn next_occurrences_follow_the_schedule() {
        let nightly = Schedule::parse("0 2 * * *").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 1, 59, 30).unwrap();
        assert_eq!(
            nightly.next_after(&at),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap())
        );
        let exactly = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
        assert_eq!(
            nightly.next_after(&exactly),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()),
            "strictly after: a tick never fires twice"
        );
        let every_minute = Schedule::parse("* * * * *").unwrap();
        assert_eq!(
            every_minute.next_after(&at),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap())
        );
        let weekdays = Schedule::parse("30 6 * * 1-5").unwrap();
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert_eq!(
            weekdays.next_after(&saturday),
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 6, 30, 0).unwrap()),
            "POSIX weekdays: 1 is Monday"
        );
        assert!(Schedule::parse("@hourly").is_ok());
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        assert!(Schedule::parse("* * * *").unwrap_err().contains("five"));
        assert!(Schedule::parse("0 25 * * *").unwrap_err().contains("hour"));
        assert!(Schedule::parse("@sometimes").is_err());
    }
}
