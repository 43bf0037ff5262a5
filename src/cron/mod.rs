//! The one crontab entry lightsync manages: validating a schedule, rendering the entry, and
//! replacing or removing it in a crontab's text while leaving every other line untouched. Pure
//! code; `commands::cron` reads and writes the crontab. `Schedule` is a validated schedule
//! parsed for `serve`.

mod schedule;

pub use schedule::Schedule;

/// Appended to the managed line so it can be found again (a shell comment for cron's `sh`).
pub const MARKER: &str = "# lightsync-managed";
/// Daily at 02:00.
pub const DEFAULT_SCHEDULE: &str = "0 2 * * *";

const FIELD_RANGES: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Checks a five-field cron schedule (or `@hourly`, `@daily`, ...); the error says what is wrong.
pub fn validate_schedule(schedule: &str) -> Result<(), String> {
    let schedule = schedule.trim();
    if schedule.starts_with('@') {
        return match schedule {
            "@hourly" | "@daily" | "@midnight" | "@weekly" | "@monthly" | "@yearly" | "@annually" => Ok(()),
            other => Err(format!("`{other}` is not a cron shorthand (use @hourly, @daily, @weekly, @monthly or @yearly)")),
        };
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{schedule}` has {} fields; a schedule has five: minute hour day-of-month month day-of-week (e.g. \"0 2 * * *\")",
            fields.len()
        ));
    }
    for (field, (name, low, high)) in fields.iter().zip(FIELD_RANGES) {
        validate_field(field, name, low, high)?;
    }
    Ok(())
}

fn validate_field(field: &str, name: &str, low: u32, high: u32) -> Result<(), String> {
    let bad = |why: &str| Err(format!("the {name} field `{field}` {why}"));
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(step) if step >= 1 && step <= high => {}
                _ => return bad(&format!("has an invalid step `{step}`")),
            }
        }
        if range == "*" {
            continue;
        }
        let bounds: Vec<&str> = range.split('-').collect();
        if bounds.is_empty() || bounds.len() > 2 {
            return bad("is not a number, range or list");
        }
        let mut values = Vec::new();
        for bound in bounds {
            let value = match parse_value(bound, name) {
                Some(value) => value,
                None => return bad(&format!("has `{bound}`, which is not a valid {name}")),
            };
            if value < low || value > high {
                return bad(&format!("has {value}, outside {low}-{high}"));
            }
            values.push(value);
        }
        if values.len() == 2 && values[0] > values[1] {
            return bad("has a range that runs backwards");
        }
    }
    Ok(())
}

fn parse_value(text: &str, field: &str) -> Option<u32> {
    if let Ok(value) = text.parse::<u32>() {
        return Some(value);
    }
    let lower = text.to_ascii_lowercase();
    match field {
        "month" => MONTHS
            .iter()
            .position(|m| *m == lower)
            .map(|i| i as u32 + 1),
        "day of week" => DAYS.iter().position(|d| *d == lower).map(|i| i as u32),
        _ => None,
    }
}

/// Quotes a path for `sh` and escapes `%`, which cron turns into a newline.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''")).replace('%', r"\%")
}

/// The managed crontab line.
pub fn render_entry(
    schedule: &str,
    binary: &str,
    env_file: &str,
    log_file: &str,
    working_dir: &str,
) -> String {
    format!(
        "{schedule} cd {} && {} --env-file {} sync >> {} 2>&1 {MARKER}",
        shell_quote(working_dir),
        shell_quote(binary),
        shell_quote(env_file),
        shell_quote(log_file)
    )
}

/// The crontab with exactly one managed line, `entry`, and every other line as it was.
pub fn install_entry(crontab: &str, entry: &str) -> String {
    let mut lines: Vec<&str> = crontab
        .lines()
        .filter(|line| !line.ends_with(MARKER))
        .collect();
    lines.push(entry);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The crontab without the managed line.
pub fn remove_entry(crontab: &str) -> String {
    let lines: Vec<&str> = crontab
        .lines()
        .filter(|line| !line.ends_with(MARKER))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The managed line, if the crontab has one.
pub fn find_entry(crontab: &str) -> Option<&str> {
    crontab.lines().find(|line| line.ends_with(MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_validated_field_by_field() {
        for good in [
            "0 2 * * *",
            "*/15 * * * *",
            "0 1-5/2 * * mon-fri",
            "30 3 1,15 jan,jul 0",
            "@daily",
            "0 0 * * 7",
        ] {
            assert_eq!(validate_schedule(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("0 2 * *", "4 fields"),
            ("61 * * * *", "outside 0-59"),
            ("0 24 * * *", "outside 0-23"),
            ("0 2 0 * *", "outside 1-31"),
            ("0 2 * 13 *", "outside 1-12"),
            ("x 2 * * *", "not a valid minute"),
            ("*/0 * * * *", "invalid step"),
            ("0 5-2 * * *", "backwards"),
            ("@sometimes", "shorthand"),
        ] {
            let err = validate_schedule(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn installing_twice_keeps_one_entry_and_removing_keeps_the_rest() {
        let existing = "MAILTO=ops@example.com\n5 * * * * /usr/bin/backup\n";
        let entry = render_entry(
            "0 2 * * *",
            "/opt/lightsync",
            "/etc/lightsync.env",
            "/var/log/ls.log",
            "/srv",
        );
        let once = install_entry(existing, &entry);
        let twice = install_entry(&once, &entry.replace("0 2", "0 3"));
        assert_eq!(twice.matches(MARKER).count(), 1);
        assert!(twice.contains("0 3 * * *"));
        assert!(twice.starts_with("MAILTO=ops@example.com\n5 * * * * /usr/bin/backup\n"));
        assert_eq!(remove_entry(&twice), existing);
        assert_eq!(find_entry(&twice).map(|l| l.starts_with("0 3")), Some(true));
        assert_eq!(find_entry(existing), None);
    }

    #[test]
    fn paths_are_quoted_for_sh_and_cron() {
        let entry = render_entry(
            "@daily",
            "/opt/my app/lightsync",
            "/etc/it's.env",
            "/logs/100%.log",
            "/srv",
        );
        assert!(entry.contains("'/opt/my app/lightsync'"));
        assert!(entry.contains(r"'/etc/it'\''s.env'"));
        assert!(entry.contains(r"100\%.log"));
    }
}
