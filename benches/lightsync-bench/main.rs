//! `lightsync-bench`: measures lightsync against the physical floor on this machine, in one run,
//! with the simulator in a separate process and a fresh database for every measurement. Prints a
//! Markdown report (and writes it to `--out`). See BENCHMARKS.md.
//!
//! Run with `cargo bench --bench lightsync-bench -- [FLAGS]`: cargo builds this harness and the
//! `lightsync` binary in the release-like bench profile. Databases come from the tests' own
//! support (`TEST_DATABASE_URL`, or a throwaway local PostgreSQL).

// The tests' own database support; the benchmark uses only part of it.
#[allow(dead_code)]
#[path = "../../tests/it/support/database.rs"]
mod database;
mod dlt;
mod floors;
mod follow;
mod micro;
mod processes;
mod rate;
mod report;
mod storage;

use database::TestDatabase;
use dlt::dlt_comparison;
use floors::*;
use follow::follow_latency;
use micro::micro;
use processes::*;
use rate::rate_budget;
use report::*;
use storage::storage_comparison;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::checkpoint::{CheckpointStore, SpooledBatch};
use lightsync::config::{ApiConfig, DatabaseUrl, Secret};
use lightsync::entity::Entity;
use lightsync::lightspeed::{Client, RequestCounters};

/// Benchmarks lightsync (build with --release first).
#[derive(Parser, Debug)]
struct Args {
    /// Sales in the standard workload (W1: 50,000)
    #[arg(long, default_value_t = 50_000)]
    sales: u32,
    /// Repetitions of each timed measurement (median and range are reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Store sizes (sales) for the throughput and memory curve
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<u32>,
    /// Skip the rate-budget measurement (it takes over two minutes)
    #[arg(long)]
    skip_rate: bool,
    /// Measure only the rate budget
    #[arg(long)]
    rate_only: bool,
    /// Measure only the simulator's serving rate and the client's decode rate
    #[arg(long)]
    micro: bool,
    /// Measure only following a live store (`serve --follow`): change-to-row latency with and
    /// without webhooks, and the idle cost
    #[arg(long)]
    follow: bool,
    /// Changes made during the follow measurement
    #[arg(long, default_value_t = 500)]
    follow_changes: usize,
    /// Minutes the follow measurement spreads its changes over
    #[arg(long, default_value_t = 10.0)]
    follow_minutes: f64,
    /// Seconds between the imports and the first change (one quota window by default, so the
    /// imports' requests are not charged to the followed stores' first window)
    #[arg(long, default_value_t = 300)]
    follow_settle_secs: u64,
    /// Registers of the followed stores (the quota is 300 x registers + 50 per 5 minutes)
    #[arg(long, default_value_t = 1)]
    follow_registers: u32,
    /// The simulator's page cap (the most records it returns per page; lightsync asks for 10,000)
    #[arg(long, default_value_t = 1000)]
    page_cap: u32,
    /// Also run dlt (scripts/dlt_peer.sh) on the first five entities of W1, and lightsync on
    /// the same five, when dlt is installed in target/dlt-venv
    #[arg(long)]
    dlt: bool,
    /// Measure only the bytes on disk of W1's five entities (with dlt's when installed)
    #[arg(long)]
    storage: bool,
    /// An earlier lightsync binary to measure beside this build in `--storage`
    #[arg(long)]
    before_binary: Option<PathBuf>,
    /// Where to write the report
    #[arg(long, default_value = "target/bench-report.md")]
    out: PathBuf,
    /// Passed by `cargo bench` to every bench target; ignored
    #[arg(long, hide = true)]
    bench: bool,
}

const W1_PRODUCTS: u32 = 20_000;
const W1_CUSTOMERS: u32 = 20_000;
const W1_OUTLETS: u32 = 3;

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report = String::new();
    let mut line = |text: String| {
        println!("{text}");
        report.push_str(&text);
        report.push('\n');
    };
    let version: Version =
        sql_query("SELECT version()").get_result(&mut TestDatabase::empty().connect())?;
    line(format!(
        "# lightsync benchmark, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    ));
    line(String::new());
    line(format!(
        "- machine: {} CPUs, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().next().map(|l| l
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string()))
            .map(|kb| format!("{} GiB RAM", kb.parse::<u64>().unwrap_or(0) / 1024 / 1024))
            .unwrap_or_default()
    ));
    line(format!("- PostgreSQL: {}", version.version));
    if !args.follow {
        line(format!("- workload: seed 1, {W1_OUTLETS} outlets, {W1_PRODUCTS} products, {W1_CUSTOMERS} customers, {} sales, page cap {}; simulator in its own process without rate limit", args.sales, args.page_cap));
    }
    line(String::new());

    if args.micro {
        micro(&mut line)?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }
    if args.follow {
        follow_latency(
            &mut line,
            args.follow_changes,
            args.follow_minutes,
            Duration::from_secs(args.follow_settle_secs),
            args.follow_registers,
        )?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }
    if args.storage {
        storage_comparison(
            &mut line,
            args.sales,
            args.runs,
            args.before_binary.as_deref(),
        )?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }
    if args.rate_only {
        rate_budget(&mut line)?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }

    // 1-3: floors and import on the standard workload.
    let page_cap = args.page_cap.to_string();
    let w1_flags = ["--no-rate-limit", "--page-cap", page_cap.as_str()];
    let simulator = Simulator::start(args.sales, &w1_flags)?;
    let mut fetch_times = Vec::new();
    let mut fetched_records = 0;
    for _ in 0..args.runs {
        let (seconds, records) = fetch_floor(&runtime, &simulator.base_url)?;
        fetch_times.push(seconds);
        fetched_records = records;
    }
    let fetched = fetch_everything(&runtime, &simulator.base_url)?;
    let line_items = fetched.line_items.len();
    let mut bare_times = Vec::new();
    for _ in 0..args.runs {
        bare_times.push(bare_write_floor(&fetched)?);
    }
    let mut import_times = Vec::new();
    let mut import_rss = Vec::new();
    let mut import_requests = 0;
    let mut written = None;
    for _ in 0..args.runs {
        let (run, database, _cp) = import_once(&simulator, &[])?;
        import_times.push(run.seconds);
        import_rss.push(run.max_rss_kb as f64 / 1024.0);
        import_requests = run.requests;
        if written.is_none() {
            written = Some(dump_tables(&database)?);
        }
    }
    let written = written.context("no import ran (--runs 0)")?;
    let written_rows: usize = written
        .iter()
        .map(|(_, text)| text.iter().filter(|byte| **byte == b'\n').count())
        .sum();
    let mut write_times = Vec::new();
    for _ in 0..args.runs {
        write_times.push(same_rows_floor(&written)?);
    }
    drop(written);
    let floor = summary(&fetch_times).0.max(summary(&write_times).0);
    let bare_floor = summary(&fetch_times).0.max(summary(&bare_times).0);
    let import = summary(&import_times).0;
    line("## Import against the floor".into());
    line(String::new());
    line("| measurement | time | throughput |".into());
    line("|---|---|---|".into());
    line(format!(
        "| fetch floor (client alone, discarding) | {} | {:.0} records/s |",
        fmt_summary(&fetch_times, "s"),
        fetched_records as f64 / summary(&fetch_times).0
    ));
    line(format!(
        "| write floor: COPY of the rows lightsync wrote, every table and column, into freshly migrated tables | {} | {:.0} rows/s |",
        fmt_summary(&write_times, "s"),
        written_rows as f64 / summary(&write_times).0
    ));
    line(format!(
        "| bare write floor: COPY of id, version, raw + line items into primary-key-only tables | {} | {:.0} rows/s |",
        fmt_summary(&bare_times, "s"),
        (fetched_records as usize + line_items) as f64 / summary(&bare_times).0
    ));
    line(format!("| lightsync import (release binary, end to end) | {} | {:.0} records/s + {:.0} line items/s |", fmt_summary(&import_times, "s"), fetched_records as f64 / import, line_items as f64 / import));
    line(format!(
        "| ratio import / max(fetch floor, write floor) | {:.2}x | against the bare floor {:.2}x |",
        import / floor,
        import / bare_floor
    ));
    line(format!(
        "| peak RSS of the import | {} | {import_requests} requests, {written_rows} rows |",
        fmt_summary(&import_rss, "MB")
    ));
    line(String::new());
    if args.dlt {
        dlt_comparison(&mut line, &simulator, args.sales, args.runs)?;
    }

    // 9: the cost of one checkpoint step (spool a 1000-sale page durably, then release it).
    let dir = tempfile::tempdir()?;
    let store = CheckpointStore::open(dir.path(), None, "bench")?;
    let mut step_ms = Vec::new();
    let mut after = 0;
    for page in fetched.sale_pages.iter().take(30) {
        let batch = SpooledBatch {
            after,
            max_version: after + 1000,
            fetched_at_ms: 0,
            records: page.clone(),
        };
        let started = Instant::now();
        let (seq, _) = store.spool_batch(Entity::Sales, &batch)?;
        store.release_batch(Entity::Sales, seq)?;
        step_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        after += 1000;
    }
    drop(store);
    line(format!(
        "Checkpoint step (spool one 1000-sale page with its cursor, fsynced, then release): {}",
        fmt_summary(&step_ms, "ms")
    ));
    line(String::new());

    // 6: incremental cost.
    let (_, database, checkpoint) = import_once(&simulator, &[])?;
    let sync = |label: &str| -> anyhow::Result<String> {
        let before = simulator.total_requests()?;
        let (seconds, _, ok) = run_measured(lightsync_command(
            &database.url,
            &simulator.base_url,
            &checkpoint.path().join("cp"),
            &["sync"],
        ))?;
        if !ok {
            bail!("sync failed");
        }
        Ok(format!(
            "| {label} | {} | {seconds:.2} s |",
            simulator.total_requests()? - before
        ))
    };
    line("## Incremental cost".into());
    line(String::new());
    line("| sync | requests | wall time |".into());
    line("|---|---|---|".into());
    for _ in 0..args.runs.max(1) {
        line(sync("no change")?);
    }
    simulator.mutate(1000)?;
    line(sync("after 1,000 changes")?);
    simulator.mutate(10_000)?;
    line(sync("after 10,000 changes")?);
    line(String::new());
    drop(database);

    // 7: resume cost after three SIGKILLs.
    let clean = import;
    let database = TestDatabase::empty();
    let checkpoint = tempfile::tempdir()?;
    let fresh_simulator = Simulator::start(args.sales, &w1_flags)?;
    let started = Instant::now();
    for fraction in [0.25, 0.5, 0.75] {
        let mut child = Command::new(binary())
            .arg("import")
            .env("DATABASE_URL", database.url.expose())
            .env("LIGHTSPEED_BASE_URL", &fresh_simulator.base_url)
            .env("LIGHTSPEED_TOKEN", "simulator")
            .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint.path().join("cp"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_secs_f64(clean * fraction / 3.0 + 0.5));
        child.kill()?;
        child.wait()?;
    }
    let (_, _, ok) = run_measured(lightsync_command(
        &database.url,
        &fresh_simulator.base_url,
        &checkpoint.path().join("cp"),
        &["import"],
    ))?;
    if !ok {
        bail!("the resumed import failed");
    }
    let resumed_seconds = started.elapsed().as_secs_f64();
    let resumed_requests = fresh_simulator.total_requests()?;
    line("## Resume cost (3 SIGKILLs during the import, then run to the end)".into());
    line(String::new());
    line(format!(
        "- extra requests: {} (clean import: {import_requests}, with kills: {resumed_requests})",
        resumed_requests as i64 - import_requests as i64
    ));
    line(format!("- extra seconds: {:.1} (clean: {clean:.1} s, with kills and restarts: {resumed_seconds:.1} s)", resumed_seconds - clean));
    line(String::new());
    drop(fresh_simulator);
    drop(simulator);

    // 4: memory and throughput against store size.
    line("## Throughput and peak memory by store size".into());
    line(String::new());
    line("| sales | import time | sales/s | top-level records/s | peak RSS |".into());
    line("|---|---|---|---|---|".into());
    let mut points = Vec::new();
    for &sales in &args.sizes {
        let simulator = Simulator::start(sales, &w1_flags)?;
        let (run, _db, _cp) = import_once(&simulator, &[])?;
        let records = sales as f64
            + (W1_PRODUCTS + W1_CUSTOMERS + W1_OUTLETS + W1_PRODUCTS * W1_OUTLETS) as f64;
        line(format!(
            "| {sales} | {:.1} s | {:.0} | {:.0} | {:.0} MB |",
            run.seconds,
            sales as f64 / run.seconds,
            records / run.seconds,
            run.max_rss_kb as f64 / 1024.0
        ));
        points.push((sales, records / run.seconds, run.max_rss_kb as f64 / 1024.0));
    }
    line(String::new());
    std::fs::create_dir_all("target")?;
    std::fs::write("target/bench-throughput.svg", throughput_chart(&points))?;

    if !args.skip_rate {
        rate_budget(&mut line)?;
    }
    std::fs::write(&args.out, &report)?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}
