//! Server-rendered SVG chart of an entity's recent runs: bars for duration, a line for records
//! fetched. No scripts, no external assets, no inline styles (the CSP forbids them): only SVG
//! presentation attributes and classes.

use std::fmt::Write;

use crate::db::SyncLogRow;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const MARGIN_LEFT: f64 = 48.0;
const MARGIN_RIGHT: f64 = 72.0;
const MARGIN_TOP: f64 = 12.0;
const MARGIN_BOTTOM: f64 = 22.0;

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

/// The SVG for `runs` (oldest first) of `entity`.
pub fn runs_chart(entity: &str, runs: &[SyncLogRow]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{} runs: duration and records">"#,
        escape(entity)
    );
    let _ = write!(
        svg,
        "<title>{}: duration (bars) and records (line) of the last {} runs</title>",
        escape(entity),
        runs.len()
    );
    if runs.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" class="chart-empty" fill="#667">no runs yet</text></svg>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return svg;
    }
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let max_duration = runs
        .iter()
        .map(|run| run.duration_ms.unwrap_or(0) as f64)
        .fold(1.0, f64::max);
    let max_records = runs
        .iter()
        .map(|run| run.records_fetched as f64)
        .fold(1.0, f64::max);
    let slot = plot_width / runs.len() as f64;
    let bar_width = (slot * 0.7).max(1.0);
    let baseline = MARGIN_TOP + plot_height;
    let _ = write!(
        svg,
        r##"<line x1="{MARGIN_LEFT}" y1="{baseline}" x2="{}" y2="{baseline}" stroke="#99a" stroke-width="1"/>"##,
        WIDTH - MARGIN_RIGHT
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end" class="axis" fill="#557" font-size="10">{:.1} s</text>"##,
        MARGIN_LEFT - 4.0,
        MARGIN_TOP + 8.0,
        max_duration / 1000.0
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="start" class="axis" fill="#2a6" font-size="10">{} rec</text>"##,
        WIDTH - MARGIN_RIGHT + 4.0,
        MARGIN_TOP + 8.0,
        compact(max_records)
    );
    let mut points = Vec::with_capacity(runs.len());
    for (index, run) in runs.iter().enumerate() {
        let duration = run.duration_ms.unwrap_or(0) as f64;
        let height = duration / max_duration * plot_height;
        let x = MARGIN_LEFT + index as f64 * slot + (slot - bar_width) / 2.0;
        let fill = match run.status.as_str() {
            "failed" => "#d9534f",
            "interrupted" => "#f0ad4e",
            "running" => "#5bc0de",
            _ => "#7a8fd6",
        };
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bar_width:.1}" height="{height:.1}" fill="{fill}"><title>{} {}: {:.1} s, {} records ({})</title></rect>"#,
            baseline - height,
            escape(&run.started_at.format("%Y-%m-%d %H:%M").to_string()),
            escape(&run.mode),
            duration / 1000.0,
            run.records_fetched,
            escape(&run.status)
        );
        let y = baseline - run.records_fetched as f64 / max_records * plot_height;
        points.push(format!("{:.1},{y:.1}", x + bar_width / 2.0));
    }
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#2a6" stroke-width="2"/>"##,
        points.join(" ")
    );
    let _ = write!(
        svg,
        r##"<text x="{MARGIN_LEFT}" y="{}" class="axis" fill="#557" font-size="10">oldest</text><text x="{}" y="{}" text-anchor="end" class="axis" fill="#557" font-size="10">newest</text>"##,
        HEIGHT - 6.0,
        WIDTH - MARGIN_RIGHT,
        HEIGHT - 6.0
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn run(duration_ms: i64, records: i64, status: &str) -> SyncLogRow {
        SyncLogRow {
            id: 1,
            run_id: "r".into(),
            entity: "sales".into(),
            mode: "incremental".into(),
            status: status.into(),
            started_at: Utc::now(),
            finished_at: None,
            duration_ms: Some(duration_ms),
            pages: 1,
            records_fetched: records,
            records_inserted: 0,
            records_updated: 0,
            records_deleted: 0,
            requests: 1,
            retries: 0,
            rate_limited: 0,
            records_untyped: 0,
            error: None,
        }
    }

    #[test]
    fn one_bar_per_run_and_a_line_through_them() {
        let svg = runs_chart(
            "sales",
            &[
                run(1000, 10, "ok"),
                run(3000, 0, "failed"),
                run(2000, 50, "ok"),
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("#d9534f"), "failed runs are red");
        assert!(!svg.contains("style="), "no inline styles under the CSP");
    }

    #[test]
    fn an_empty_history_says_so() {
        assert!(runs_chart("<x>", &[]).contains("no runs yet"));
        assert!(runs_chart("<x>", &[]).contains("&lt;x&gt;"));
    }
}
