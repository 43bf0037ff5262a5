//! The rate-budget measurement under a scaled-down quota.

use super::*;

/// Rate budget with a scaled-down quota: 350 requests per 30 s window, page cap 10, so the
/// import needs several windows.
pub(crate) fn rate_budget(line: &mut impl FnMut(String)) -> anyhow::Result<()> {
    let window = 30.0;
    let simulator = Simulator::start(
        6_000,
        &[
            "--rate-limit",
            "350",
            "--window-secs",
            "30",
            "--page-cap",
            "10",
            "--products",
            "3000",
            "--customers",
            "3000",
            "--outlets",
            "1",
        ],
    )?;
    let (run, _db, _cp) = import_once(
        &simulator,
        &[
            ("LIGHTSYNC_RATE_WINDOW_SECS", "30"),
            ("LIGHTSYNC_PAGE_SIZE", "10"),
        ],
    )?;
    let stats = simulator.stats()?;
    let windows = run.seconds / window;
    let allowed = 350.0 * windows;
    line("## Rate budget (350 requests per 30 s window, page cap 10)".into());
    line(String::new());
    line(format!(
        "- {} requests in {:.1} s = {windows:.2} windows; the quota allowed {allowed:.0}: {:.1}% used ({:.1}% of lightsync's 95% share)",
        run.requests,
        run.seconds,
        run.requests as f64 / allowed * 100.0,
        run.requests as f64 / (allowed * 0.95) * 100.0
    ));
    line(format!("- 429 responses: {}", stats["rate_limited"]));
    line(String::new());
    Ok(())
}
