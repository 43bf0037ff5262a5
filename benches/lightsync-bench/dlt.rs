//! The peer comparison: dlt 1.31 with its defaults (`scripts/dlt_peer.sh`) and lightsync on the
//! same five entities of the same workload, in the same run, when dlt is installed.

use super::*;

/// The entities dlt's peer script copies.
const DLT_ENTITIES: &str = "outlets,products,customers,inventory,sales";

pub(crate) fn dlt_comparison(
    line: &mut impl FnMut(String),
    simulator: &Simulator,
    sales: u32,
    runs: usize,
) -> anyhow::Result<()> {
    line("## Against dlt (same machine, same run)".into());
    line(String::new());
    if !Path::new("target/dlt-venv/bin/python").exists() {
        line("dlt is not installed (`scripts/dlt_peer.sh` installs it into target/dlt-venv): not measured.".into());
        line(String::new());
        return Ok(());
    }
    let page_cap = simulator.page_cap.to_string();
    let output = Command::new("scripts/dlt_peer.sh")
        .env("SALES", sales.to_string())
        .env("PAGE_CAP", &page_cap)
        .stderr(Stdio::inherit())
        .output()
        .context("running scripts/dlt_peer.sh")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |prefix: &str| {
        stdout
            .lines()
            .find_map(|text| text.trim().strip_prefix(prefix))
            .and_then(|value| value.trim().parse::<f64>().ok())
    };
    let (Some(dlt_seconds), Some(dlt_kb)) = (
        value("dlt seconds:"),
        value("dlt Maximum resident set size (kbytes):"),
    ) else {
        bail!("scripts/dlt_peer.sh did not report its time and memory:\n{stdout}");
    };
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let (run, _db, _cp) = import_once(simulator, &[("LIGHTSYNC_ENTITIES", DLT_ENTITIES)])?;
        times.push(run.seconds);
        rss.push(run.max_rss_kb as f64 / 1024.0);
    }
    let lightsync_seconds = summary(&times).0;
    line("| tool (outlets, products, customers, inventory, sales) | time | peak RSS |".into());
    line("|---|---|---|".into());
    line(format!(
        "| dlt 1.31, defaults (one run) | {dlt_seconds:.2} s | {:.0} MB |",
        dlt_kb / 1024.0
    ));
    line(format!(
        "| lightsync | {} | {} |",
        fmt_summary(&times, "s"),
        fmt_summary(&rss, "MB")
    ));
    line(format!(
        "| lightsync is faster by | {:.1}x | |",
        dlt_seconds / lightsync_seconds
    ));
    line(String::new());
    Ok(())
}
