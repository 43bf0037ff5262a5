//! The peer comparison: dlt 1.31 with its defaults (`scripts/dlt_peer.sh`) and lightsync on the
//! same five entities of the same workload, in the same run, when dlt is installed.

use super::*;

/// The entities dlt's peer script copies.
const DLT_ENTITIES: &str = "outlets,products,customers,inventory,sales";

/// What one run of `scripts/dlt_peer.sh` reported.
pub(crate) struct DltRun {
    pub(crate) seconds: f64,
    pub(crate) max_rss_kb: f64,
    /// Everything it printed (its tables' sizes among it).
    pub(crate) stdout: String,
}

impl DltRun {
    /// The number the script printed after `prefix`, if it did.
    pub(crate) fn value(&self, prefix: &str) -> Option<f64> {
        self.stdout
            .lines()
            .find_map(|text| text.trim().strip_prefix(prefix))
            .and_then(|value| value.trim().parse::<f64>().ok())
    }
}

/// Runs dlt on the five entities against `simulator` (`scripts/dlt_peer.sh`).
pub(crate) fn run_dlt_peer(simulator: &Simulator, sales: u32) -> anyhow::Result<DltRun> {
    let output = Command::new("scripts/dlt_peer.sh")
        .env("SALES", sales.to_string())
        .env("PAGE_CAP", simulator.page_cap.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("running scripts/dlt_peer.sh")?;
    let mut run = DltRun {
        seconds: 0.0,
        max_rss_kb: 0.0,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    };
    let (Some(seconds), Some(kb)) = (
        run.value("dlt seconds:"),
        run.value("dlt Maximum resident set size (kbytes):"),
    ) else {
        bail!(
            "scripts/dlt_peer.sh did not report its time and memory:\n{}",
            run.stdout
        );
    };
    (run.seconds, run.max_rss_kb) = (seconds, kb);
    Ok(run)
}

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
    let DltRun {
        seconds: dlt_seconds,
        max_rss_kb: dlt_kb,
        ..
    } = run_dlt_peer(simulator, sales)?;
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
