//! Server-rendered SVG chart of an entity's recent runs on a time axis: bars for duration (left
//! axis, seconds), a line for records fetched (right axis), dates and times along the bottom,
//! failed runs in red with a cross above them. It scales to the width of the card holding it
//! (`viewBox` plus `width="100%"`). No scripts, no external assets, no inline styles (the CSP
//! forbids them): only SVG presentation attributes and classes.

use std::fmt::Write;

use chrono::{DateTime, TimeZone, Utc};

use crate::db::RunStatus;
use crate::db::SyncLogRow;

// Close to a card's width in pixels, so text of size 11 shows at about 10 to 11 px.
const WIDTH: f64 = 340.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 34.0;
const RIGHT: f64 = 38.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 36.0;
const FONT: &str = r#"font-size="11" font-family="system-ui, sans-serif""#;
const DURATION_FILL: &str = "#7a8fd6";
const RECORDS_STROKE: &str = "#2a8a55";
const FAILED_FILL: &str = "#d9534f";
const INTERRUPTED_FILL: &str = "#f0ad4e";
const RUNNING_FILL: &str = "#5bc0de";
const AXIS_INK: &str = "#556";
/// Candidate spacings of the time ticks, in seconds: the smallest giving at most
/// `MAX_TIME_TICKS` ticks is used.
const TIME_STEPS: [i64; 19] = [
    1,
    2,
    5,
    10,
    30,
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    14 * 86_400,
    30 * 86_400,
    365 * 86_400,
];
const MAX_TIME_TICKS: i64 = 5;

/// One run as the chart needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRun {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub records: i64,
    pub status: RunStatus,
    pub mode: String,
}

impl From<&SyncLogRow> for ChartRun {
    fn from(row: &SyncLogRow) -> ChartRun {
        ChartRun {
            started_at: row.started_at,
            duration_ms: row.duration_ms.unwrap_or(0),
            records: row.records_fetched,
            status: row.status,
            mode: row.mode.clone(),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A compact number: 950, 12.3k, 4.5M.
pub fn compact(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if value >= 1_000.0 {
        format!("{:.1}k", value / 1_000.0)
    } else {
        format!("{value:.0}")
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value`, and at least `least`.
fn nice_ceiling(value: f64, least: f64) -> f64 {
    if value <= least {
        return least;
    }
    let magnitude = 10f64.powi(value.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

/// Seconds with at most two decimals and no trailing zeros: 0, 0.05, 0.5, 2.5, 30.
fn seconds_label(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The SVG for `runs` (oldest first) of `entity`, read from `sync_log` rows.
pub fn runs_chart(entity: &str, runs: &[SyncLogRow]) -> String {
    let runs: Vec<ChartRun> = runs.iter().map(ChartRun::from).collect();
    render(entity, &runs)
}

/// Maps times (milliseconds since the epoch) onto the plot's x range.
struct TimeScale {
    start: i64,
    end: i64,
}

impl TimeScale {
    /// A scale covering `runs` with a little room at both ends (an hour around a lone run).
    fn covering(runs: &[ChartRun]) -> TimeScale {
        let first = runs
            .iter()
            .map(|r| r.started_at.timestamp_millis())
            .min()
            .unwrap_or(0);
        let last = runs
            .iter()
            .map(|r| r.started_at.timestamp_millis())
            .max()
            .unwrap_or(0);
        let pad = if last > first {
            ((last - first) / 25).max(1)
        } else {
            1_800_000
        };
        TimeScale {
            start: first - pad,
            end: last + pad,
        }
    }

    fn x(&self, at: i64) -> f64 {
        LEFT + (at - self.start) as f64 / (self.end - self.start) as f64 * (WIDTH - LEFT - RIGHT)
    }

    /// The tick spacing in milliseconds.
    fn step(&self) -> i64 {
        let span = self.end - self.start;
        1000 * TIME_STEPS
            .into_iter()
            .find(|step| span / (step * 1000) <= MAX_TIME_TICKS)
            .unwrap_or(365 * 86_400)
    }

    /// Tick times: multiples of the step inside the scale.
    fn ticks(&self) -> Vec<i64> {
        let step = self.step();
        let first = self.start.div_euclid(step) * step + step;
        (0..)
            .map(|i| first + i * step)
            .take_while(|tick| *tick < self.end)
            .collect()
    }
}

/// The SVG for `runs` (oldest first) of `entity`.
pub fn render(entity: &str, runs: &[ChartRun]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{} runs: duration and records over time">"#,
        escape(entity)
    );
    let _ = write!(
        svg,
        "<title>{}: duration (bars, seconds) and records (line) of the last {} runs, by start time (UTC)</title>",
        escape(entity),
        runs.len()
    );
    if runs.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" class="chart-empty" fill="#667" {FONT}>no runs yet</text></svg>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return svg;
    }
    let plot_height = HEIGHT - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    let max_seconds = nice_ceiling(
        runs.iter()
            .map(|run| run.duration_ms as f64 / 1000.0)
            .fold(0.0, f64::max),
        0.1,
    );
    let max_records = nice_ceiling(
        runs.iter()
            .map(|run| run.records as f64)
            .fold(0.0, f64::max),
        1.0,
    );
    let scale = TimeScale::covering(runs);
    legend(&mut svg);
    value_axes(&mut svg, max_seconds, max_records, baseline, plot_height);
    time_axis(&mut svg, &scale, baseline);

    let slot = (WIDTH - LEFT - RIGHT) / runs.len().max(8) as f64;
    let bar_width = (slot * 0.6).clamp(2.0, 14.0);
    let mut points = Vec::with_capacity(runs.len());
    for run in runs {
        let seconds = run.duration_ms as f64 / 1000.0;
        // A failed run is often quick: keep its red bar visible.
        let least = if run.status == RunStatus::Failed {
            4.0
        } else {
            1.0
        };
        let height = (seconds / max_seconds * plot_height).max(least);
        let center = scale.x(run.started_at.timestamp_millis());
        let (fill, class) = match run.status {
            RunStatus::Failed => (FAILED_FILL, "bar failed"),
            RunStatus::Interrupted => (INTERRUPTED_FILL, "bar interrupted"),
            RunStatus::Running => (RUNNING_FILL, "bar running"),
            _ => (DURATION_FILL, "bar"),
        };
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="{bar_width:.1}" height="{height:.1}" fill="{fill}"><title>{} UTC, {}: {:.1} s, {} records ({})</title></rect>"#,
            center - bar_width / 2.0,
            baseline - height,
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            escape(&run.mode),
            seconds,
            run.records,
            run.status
        );
        if run.status == RunStatus::Failed {
            let _ = write!(
                svg,
                r#"<text class="failed-mark" x="{center:.1}" y="{:.1}" text-anchor="middle" fill="{FAILED_FILL}" font-size="12" font-weight="700">✕<title>failed run</title></text>"#,
                TOP + 9.0
            );
        }
        let y = baseline - run.records as f64 / max_records * plot_height;
        points.push((center, y));
    }
    let line: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{RECORDS_STROKE}" stroke-width="1.5"/>"#,
        line.join(" ")
    );
    for (x, y) in points {
        let _ = write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2" fill="{RECORDS_STROKE}"/>"#
        );
    }
    svg.push_str("</svg>");
    svg
}

fn legend(svg: &mut String) {
    let y = 11.0;
    let _ = write!(
        svg,
        r#"<g class="legend" {FONT} fill="{AXIS_INK}"><rect x="{LEFT}" y="{}" width="9" height="9" fill="{DURATION_FILL}"/><text x="{}" y="{y}">duration (s)</text><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{RECORDS_STROKE}" stroke-width="2"/><text x="{}" y="{y}">records</text><rect x="{}" y="{}" width="9" height="9" fill="{FAILED_FILL}"/><text x="{}" y="{y}">failed</text></g>"#,
        y - 8.0,
        LEFT + 12.0,
        LEFT + 88.0,
        y - 3.5,
        LEFT + 100.0,
        y - 3.5,
        LEFT + 103.0,
        LEFT + 156.0,
        y - 8.0,
        LEFT + 168.0,
    );
}

fn value_axes(
    svg: &mut String,
    max_seconds: f64,
    max_records: f64,
    baseline: f64,
    plot_height: f64,
) {
    for fraction in [0.0, 0.5, 1.0] {
        let y = baseline - fraction * plot_height;
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"##,
            WIDTH - RIGHT,
            if fraction == 0.0 { "#99a" } else { "#e4e7ec" }
        );
        let _ = write!(
            svg,
            r#"<text class="axis-seconds" x="{}" y="{:.1}" text-anchor="end" fill="{AXIS_INK}" {FONT}>{}</text>"#,
            LEFT - 4.0,
            y + 3.5,
            seconds_label(max_seconds * fraction)
        );
        let _ = write!(
            svg,
            r#"<text class="axis-records" x="{}" y="{:.1}" text-anchor="start" fill="{RECORDS_STROKE}" {FONT}>{}</text>"#,
            WIDTH - RIGHT + 4.0,
            y + 3.5,
            compact(max_records * fraction)
        );
    }
    let middle = TOP + plot_height / 2.0;
    let _ = write!(
        svg,
        r#"<text class="axis-title" transform="translate(10 {middle:.1}) rotate(-90)" text-anchor="middle" fill="{AXIS_INK}" {FONT}>seconds</text><text class="axis-title" transform="translate({} {middle:.1}) rotate(90)" text-anchor="middle" fill="{RECORDS_STROKE}" {FONT}>records</text>"#,
        WIDTH - 6.0
    );
}

fn time_axis(svg: &mut String, scale: &TimeScale, baseline: f64) {
    let step = scale.step();
    let time_format = if step < 60_000 { "%H:%M:%S" } else { "%H:%M" };
    let mut last_date = String::new();
    for tick in scale.ticks() {
        let Some(at) = Utc.timestamp_millis_opt(tick).single() else {
            continue;
        };
        let x = scale.x(tick);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{baseline:.1}" x2="{x:.1}" y2="{:.1}" stroke="#99a" stroke-width="1"/>"##,
            baseline + 4.0
        );
        let date = at.format("%b %-d").to_string();
        let (first, second) = if step >= 86_400_000 {
            (date.clone(), None)
        } else {
            let second = (date != last_date).then(|| date.clone());
            (at.format(time_format).to_string(), second)
        };
        last_date = date;
        let _ = write!(
            svg,
            r#"<text class="axis-time" x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{AXIS_INK}" {FONT}>{first}</text>"#,
            baseline + 14.0
        );
        if let Some(second) = second {
            let _ = write!(
                svg,
                r#"<text class="axis-date" x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{AXIS_INK}" {FONT}>{second}</text>"#,
                baseline + 26.0
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end" fill="{AXIS_INK}" font-size="9" font-family="system-ui, sans-serif">UTC</text>"#,
        WIDTH - 2.0,
        HEIGHT - 2.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn run(minutes_ago: i64, duration_ms: i64, records: i64, status: RunStatus) -> ChartRun {
        ChartRun {
            started_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
                - Duration::minutes(minutes_ago),
            duration_ms,
            records,
            status,
            mode: "incremental".into(),
        }
    }

    #[test]
    fn one_bar_per_run_a_line_through_them_and_failures_marked() {
        let svg = render(
            "sales",
            &[
                run(120, 1000, 10, RunStatus::Ok),
                run(60, 3000, 0, RunStatus::Failed),
                run(0, 2000, 50, RunStatus::Ok),
            ],
        );
        assert_eq!(svg.matches("<rect class=\"bar").count(), 3);
        assert_eq!(svg.matches("class=\"bar failed\"").count(), 1);
        assert_eq!(svg.matches("class=\"failed-mark\"").count(), 1);
        assert!(svg.contains("<polyline"));
        assert!(
            svg.contains(">seconds<") && svg.contains(">records<"),
            "axis titles"
        );
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        assert!(svg.contains(r#"width="100%""#), "scales to its card");
    }

    #[test]
    fn bars_sit_at_their_start_times() {
        // Two runs an hour apart and one a minute after the second: the gap shows.
        let svg = render(
            "sales",
            &[
                run(61, 1000, 1, RunStatus::Ok),
                run(1, 1000, 1, RunStatus::Ok),
                run(0, 1000, 1, RunStatus::Ok),
            ],
        );
        let xs: Vec<f64> = svg
            .match_indices("<rect class=\"bar\" x=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(xs.len(), 3);
        assert!(xs[1] - xs[0] > 20.0 * (xs[2] - xs[1]), "{xs:?}");
    }

    #[test]
    fn the_time_axis_shows_times_and_dates() {
        let svg = render(
            "sales",
            &[
                run(180, 1000, 1, RunStatus::Ok),
                run(0, 1000, 1, RunStatus::Ok),
            ],
        );
        assert!(svg.contains(">Nov 26<"), "{svg}");
        assert!(svg.contains(">10:00<") || svg.contains(">11:00<"), "{svg}");
        let days: Vec<ChartRun> = (0..30)
            .map(|d| run(d * 24 * 60, 500, 5, RunStatus::Ok))
            .collect();
        let svg = render("sales", &days);
        assert!(svg.contains(">Nov "), "{svg}");
        assert!(svg.contains(">Oct "), "{svg}");
    }

    #[test]
    fn value_axes_use_round_numbers() {
        assert_eq!(nice_ceiling(0.3, 1.0), 1.0);
        assert_eq!(nice_ceiling(0.13, 0.1), 0.2);
        assert_eq!(nice_ceiling(0.0, 0.1), 0.1);
        assert_eq!(nice_ceiling(3.2, 1.0), 5.0);
        assert_eq!(nice_ceiling(17.0, 1.0), 20.0);
        assert_eq!(nice_ceiling(50_000.0, 1.0), 50_000.0);
        assert_eq!(seconds_label(0.25), "0.25");
        assert_eq!(seconds_label(30.0), "30");
        assert_eq!(seconds_label(0.0), "0");
        let svg = render("sales", &[run(0, 3200, 420, RunStatus::Ok)]);
        assert!(svg.contains(">5<") && svg.contains(">500<"), "{svg}");
    }

    #[test]
    fn an_empty_history_says_so() {
        assert!(render("<x>", &[]).contains("no runs yet"));
        assert!(render("<x>", &[]).contains("&lt;x&gt;"));
    }
}
