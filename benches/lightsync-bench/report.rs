//! Formatting the report: medians with ranges, and the throughput chart.

/// Median and range of some seconds.
pub(crate) fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    (median, sorted[0], sorted[sorted.len() - 1])
}

pub(crate) fn fmt_summary(values: &[f64], unit: &str) -> String {
    let (median, low, high) = summary(values);
    if values.len() == 1 {
        format!("{median:.2} {unit}")
    } else {
        format!(
            "{median:.2} {unit} ({low:.2}–{high:.2}, n={})",
            values.len()
        )
    }
}

/// An SVG line chart of import throughput (top-level records/s) against store size.
pub(crate) fn throughput_chart(points: &[(u32, f64, f64)]) -> String {
    let (width, height, left, bottom) = (640.0, 320.0, 70.0, 40.0);
    let max_rate = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let n = points.len().max(2) as f64;
    let x = |i: usize| left + (width - left - 30.0) * i as f64 / (n - 1.0);
    let y = |rate: f64| (height - bottom) - (height - bottom - 20.0) * rate / max_rate;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="{left}" y="14" font-weight="bold">lightsync import throughput by store size (top-level records/s)</text><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#999"/>"##,
        height - bottom,
        width - 20.0,
        height - bottom
    );
    let mut line = Vec::new();
    for (i, (sales, rate, rss)) in points.iter().enumerate() {
        line.push(format!("{:.1},{:.1}", x(i), y(*rate)));
        svg.push_str(&format!(r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#3b5bdb"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{rate:.0}/s, {rss:.0} MB</text><text x="{:.1}" y="{}" text-anchor="middle">{sales} sales</text>"##, x(i), y(*rate), x(i), y(*rate) - 10.0, x(i), height - bottom + 18.0));
    }
    svg.push_str(&format!(
        r##"<polyline points="{}" fill="none" stroke="#3b5bdb" stroke-width="2"/></svg>"##,
        line.join(" ")
    ));
    svg
}
