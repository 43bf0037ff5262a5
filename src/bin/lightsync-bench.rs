//! `lightsync-bench`: measures lightsync against the physical floor on this machine, in one run,
//! with the simulator in a separate process and a fresh database for every measurement. Prints a
//! Markdown report (and writes it to `--out`). See BENCHMARKS.md.

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
use lightsync::lightspeed::{Client, RecordBody, RequestCounters};

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
    /// Where to write the report
    #[arg(long, default_value = "target/bench-report.md")]
    out: PathBuf,
}

const W1_PRODUCTS: u32 = 20_000;
const W1_CUSTOMERS: u32 = 20_000;
const W1_OUTLETS: u32 = 3;

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.with_file_name("lightsync")
}

fn admin_url() -> anyhow::Result<DatabaseUrl> {
    let value = std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .context("set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server where the benchmark may create databases")?;
    Ok(DatabaseUrl::parse(&value, "TEST_DATABASE_URL")?)
}

struct FreshDatabase {
    admin: DatabaseUrl,
    name: String,
    url: DatabaseUrl,
}

impl FreshDatabase {
    fn create(admin: &DatabaseUrl, label: &str) -> anyhow::Result<FreshDatabase> {
        let name = format!("bench_{label}_{}", rand::random::<u32>());
        let mut conn = lightsync::db::connect(admin)?;
        sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
        Ok(FreshDatabase {
            admin: admin.clone(),
            url: admin.with_database(&name),
            name,
        })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = lightsync::db::connect(&self.admin) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

struct Simulator {
    child: Child,
    base_url: String,
    control: String,
}

impl Simulator {
    fn start(sales: u32, extra: &[&str]) -> anyhow::Result<Simulator> {
        let w1 = [
            "--outlets",
            "3",
            "--products",
            "20000",
            "--customers",
            "20000",
            "--page-cap",
            "1000",
        ];
        // Flags given in `extra` replace the W1 defaults.
        let mut defaults: Vec<&str> = Vec::new();
        for pair in w1.chunks(2) {
            if !extra.contains(&pair[0]) {
                defaults.extend(pair);
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(binary())
            .args(["simulate", "--control", "--seed", "1"])
            .args(["--port", &port.to_string(), "--sales", &sales.to_string()])
            .args(&defaults)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting `lightsync simulate` (build with `cargo build --release` first)")?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().context("the simulator said nothing")??;
        let base_url = line
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http"))
            .context("unexpected simulator banner")?
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Ok(Simulator {
            child,
            control: base_url.replace("/api/2.0", "/__simulator"),
            base_url,
        })
    }

    fn stats(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(
            &reqwest::blocking::get(format!("{}/stats", self.control))?.text()?,
        )?)
    }

    fn total_requests(&self) -> anyhow::Result<u64> {
        Ok(self.stats()?["total_requests"].as_u64().unwrap_or(0))
    }

    fn mutate(&self, n: u32) -> anyhow::Result<()> {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/mutate?n={n}", self.control))
            .send()?;
        if !response.status().is_success() {
            bail!("mutate failed: {}", response.status());
        }
        Ok(())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Median and range of some seconds.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    (median, sorted[0], sorted[sorted.len() - 1])
}

fn fmt_summary(values: &[f64], unit: &str) -> String {
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

/// One fetched record: id, version, raw JSON.
type RawRow = (String, i64, String);

/// Every record of every entity, as fetched (raw JSON), plus each sale's line items.
struct Fetched {
    records: Vec<(Entity, Vec<RawRow>)>,
    line_items: Vec<(String, String, i64, String)>,
    sale_pages: Vec<Vec<String>>,
}

fn api(base_url: &str) -> ApiConfig {
    ApiConfig {
        base_url: base_url.parse().expect("simulator URL"),
        token: Secret::new("simulator"),
        page_size: 1000,
        rate_share: 1.0,
        rate_window: Duration::from_secs(300),
        max_attempts: 8,
        timeout: Duration::from_secs(60),
    }
}

/// The fetch floor: the client alone pages every entity concurrently, keeping nothing.
fn fetch_floor(runtime: &tokio::runtime::Runtime, base_url: &str) -> anyhow::Result<(f64, u64)> {
    let client = Client::new(&api(base_url))?;
    let started = Instant::now();
    let records = runtime.block_on(async {
        let mut tasks = Vec::new();
        for entity in Entity::ALL {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let counters = RequestCounters::default();
                let mut after = 0;
                let mut count = 0u64;
                loop {
                    let page = client.fetch_page(entity, after, 1000, &counters).await?;
                    match page.max_version {
                        Some(max) => {
                            count += page.records.len() as u64;
                            after = max;
                        }
                        None => return Ok::<u64, anyhow::Error>(count),
                    }
                }
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await??;
        }
        Ok::<u64, anyhow::Error>(total)
    })?;
    Ok((started.elapsed().as_secs_f64(), records))
}

fn fetch_everything(runtime: &tokio::runtime::Runtime, base_url: &str) -> anyhow::Result<Fetched> {
    let client = Client::new(&api(base_url))?;
    runtime.block_on(async {
        let mut fetched = Fetched {
            records: Vec::new(),
            line_items: Vec::new(),
            sale_pages: Vec::new(),
        };
        for entity in Entity::ALL {
            let counters = RequestCounters::default();
            let mut after = 0;
            let mut rows = Vec::new();
            loop {
                let page = client.fetch_page(entity, after, 1000, &counters).await?;
                let Some(max) = page.max_version else { break };
                after = max;
                if entity == Entity::Sales {
                    fetched
                        .sale_pages
                        .push(page.records.iter().map(|r| r.raw.clone()).collect());
                }
                for record in page.records {
                    if let RecordBody::Sale(sale) = &record.body {
                        for item in &sale.line_items {
                            fetched.line_items.push((
                                item.id.clone(),
                                record.id.clone(),
                                record.version,
                                item.raw.clone(),
                            ));
                        }
                    }
                    rows.push((record.id, record.version, record.raw));
                }
            }
            fetched.records.push((entity, rows));
        }
        Ok(fetched)
    })
}

fn copy_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The write floor: plain COPY of (id, version, raw) and the line items into fresh tables, one
/// psql per table, all at once, from memory.
fn write_floor(admin: &DatabaseUrl, fetched: &Fetched) -> anyhow::Result<f64> {
    let database = FreshDatabase::create(admin, "floor")?;
    let mut conn = lightsync::db::connect(&database.url)?;
    for entity in Entity::ALL {
        sql_query(format!("CREATE TABLE floor_{} (id TEXT PRIMARY KEY, version BIGINT NOT NULL, raw JSONB NOT NULL)", entity.name())).execute(&mut conn)?;
    }
    sql_query("CREATE TABLE floor_line_items (id TEXT PRIMARY KEY, sale_id TEXT NOT NULL, version BIGINT NOT NULL, raw JSONB NOT NULL)").execute(&mut conn)?;
    let mut payloads: Vec<(String, String)> = fetched
        .records
        .iter()
        .map(|(entity, rows)| {
            let mut text = String::new();
            for (id, version, raw) in rows {
                text.push_str(&format!(
                    "{}\t{version}\t{}\n",
                    copy_escape(id),
                    copy_escape(raw)
                ));
            }
            (format!("floor_{} (id, version, raw)", entity.name()), text)
        })
        .collect();
    let mut items = String::new();
    for (id, sale_id, version, raw) in &fetched.line_items {
        items.push_str(&format!(
            "{}\t{}\t{version}\t{}\n",
            copy_escape(id),
            copy_escape(sale_id),
            copy_escape(raw)
        ));
    }
    payloads.push(("floor_line_items (id, sale_id, version, raw)".into(), items));
    let started = Instant::now();
    let mut children = Vec::new();
    for (target, text) in payloads {
        let mut child = Command::new("psql")
            .arg(database.url.expose())
            .args([
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("COPY {target} FROM STDIN"),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("running psql (install postgresql-client)")?;
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        children.push((child, writer));
    }
    for (mut child, writer) in children {
        writer.join().expect("writer thread")?;
        if !child.wait()?.success() {
            bail!("COPY failed");
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

struct ImportRun {
    seconds: f64,
    max_rss_kb: u64,
    requests: u64,
}

fn lightsync_command(
    database: &DatabaseUrl,
    base_url: &str,
    checkpoint: &Path,
    args: &[&str],
) -> Command {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-v")
        .arg(binary())
        .args(args)
        .env("DATABASE_URL", database.expose())
        .env("LIGHTSPEED_BASE_URL", base_url)
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn run_measured(mut command: Command) -> anyhow::Result<(f64, u64, bool)> {
    let started = Instant::now();
    let output = command.output()?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = stderr
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((seconds, rss, output.status.success()))
}

fn import_once(
    admin: &DatabaseUrl,
    simulator: &Simulator,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<(ImportRun, FreshDatabase, tempfile::TempDir)> {
    let database = FreshDatabase::create(admin, "import")?;
    let checkpoint = tempfile::tempdir()?;
    let before = simulator.total_requests()?;
    let mut command = lightsync_command(
        &database.url,
        &simulator.base_url,
        &checkpoint.path().join("cp"),
        &["import"],
    );
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let (seconds, max_rss_kb, ok) = run_measured(command)?;
    if !ok {
        bail!("the import failed");
    }
    let requests = simulator.total_requests()? - before;
    Ok((
        ImportRun {
            seconds,
            max_rss_kb,
            requests,
        },
        database,
        checkpoint,
    ))
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin = admin_url()?;
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
        sql_query("SELECT version()").get_result(&mut lightsync::db::connect(&admin)?)?;
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
    line(format!("- workload: seed 1, {W1_OUTLETS} outlets, {W1_PRODUCTS} products, {W1_CUSTOMERS} customers, {} sales, page cap 1000; simulator in its own process without rate limit", args.sales));
    line(String::new());

    if args.micro {
        micro(&mut line)?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }
    if args.rate_only {
        rate_budget(&admin, &mut line)?;
        std::fs::write(&args.out, &report)?;
        return Ok(());
    }

    // 1-3: floors and import on the standard workload.
    let simulator = Simulator::start(args.sales, &["--no-rate-limit"])?;
    let mut fetch_times = Vec::new();
    let mut fetched_records = 0;
    for _ in 0..args.runs {
        let (seconds, records) = fetch_floor(&runtime, &simulator.base_url)?;
        fetch_times.push(seconds);
        fetched_records = records;
    }
    let fetched = fetch_everything(&runtime, &simulator.base_url)?;
    let line_items = fetched.line_items.len();
    let mut write_times = Vec::new();
    for _ in 0..args.runs {
        write_times.push(write_floor(&admin, &fetched)?);
    }
    let mut import_times = Vec::new();
    let mut import_rss = Vec::new();
    let mut import_requests = 0;
    for _ in 0..args.runs {
        let (run, _db, _cp) = import_once(&admin, &simulator, &[])?;
        import_times.push(run.seconds);
        import_rss.push(run.max_rss_kb as f64 / 1024.0);
        import_requests = run.requests;
    }
    let floor = summary(&fetch_times).0.max(summary(&write_times).0);
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
        "| write floor (plain COPY of id, version, raw + line items) | {} | {:.0} rows/s |",
        fmt_summary(&write_times, "s"),
        (fetched_records as usize + line_items) as f64 / summary(&write_times).0
    ));
    line(format!("| lightsync import (release binary, end to end) | {} | {:.0} records/s + {:.0} line items/s |", fmt_summary(&import_times, "s"), fetched_records as f64 / import, line_items as f64 / import));
    line(format!(
        "| ratio import / max(fetch floor, write floor) | {:.2}x | |",
        import / floor
    ));
    line(format!(
        "| peak RSS of the import | {} | {import_requests} requests |",
        fmt_summary(&import_rss, "MB")
    ));
    line(String::new());

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
    let (_, database, checkpoint) = import_once(&admin, &simulator, &[])?;
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
    let database = FreshDatabase::create(&admin, "resume")?;
    let checkpoint = tempfile::tempdir()?;
    let fresh_simulator = Simulator::start(args.sales, &["--no-rate-limit"])?;
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
        let simulator = Simulator::start(sales, &["--no-rate-limit"])?;
        let (run, _db, _cp) = import_once(&admin, &simulator, &[])?;
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
        rate_budget(&admin, &mut line)?;
    }
    std::fs::write(&args.out, &report)?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// The simulator's serving rate (one client thread paging sales without decoding) and the
/// client's page decode rate (records per second on one core).
fn micro(line: &mut impl FnMut(String)) -> anyhow::Result<()> {
    let simulator = Simulator::start(100_000, &["--no-rate-limit"])?;
    let http = reqwest::blocking::Client::new();
    let mut after = 0i64;
    let mut records = 0u64;
    let mut bodies = Vec::new();
    let started = Instant::now();
    loop {
        let body = http
            .get(format!(
                "{}/sales?after={after}&page_size=1000",
                simulator.base_url
            ))
            .bearer_auth("simulator")
            .send()?
            .bytes()?;
        // Only the envelope's tail (`"version":{"min":..,"max":N}}`) is read, so the measuring
        // client does not compete with the simulator for the CPU it measures.
        let tail = std::str::from_utf8(&body[body.len().saturating_sub(64)..]).unwrap_or("");
        let Some(max) = tail
            .rsplit_once("\"max\":")
            .and_then(|(_, rest)| rest.trim_end_matches('}').parse::<i64>().ok())
        else {
            break;
        };
        // One `invoice_number` per sale (line items and payments have none).
        records += std::str::from_utf8(&body)
            .map_or(0, |text| text.matches("\"invoice_number\":").count() as u64);
        after = max;
        if bodies.len() < 10 {
            bodies.push(body);
        }
    }
    let serving = records as f64 / started.elapsed().as_secs_f64();
    line("## Simulator and client".into());
    line(String::new());
    line(format!("- simulator serving rate: {serving:.0} sales/s ({records} sales with their line items, one client connection, no decoding)"));
    let started = Instant::now();
    let mut decoded = 0u64;
    for _ in 0..5 {
        for body in &bodies {
            decoded += lightsync::lightspeed::decode_page(Entity::Sales, 0, body)?
                .records
                .len() as u64;
        }
    }
    line(format!(
        "- client decode rate: {:.0} sales/s on one core (full typed decoding with line items and payments)",
        decoded as f64 / started.elapsed().as_secs_f64()
    ));
    line(String::new());
    Ok(())
}

/// Rate budget with a scaled-down quota: 350 requests per 30 s window, page cap 10, so the
/// import needs several windows.
fn rate_budget(admin: &DatabaseUrl, line: &mut impl FnMut(String)) -> anyhow::Result<()> {
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
        admin,
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

/// An SVG line chart of import throughput (top-level records/s) against store size.
fn throughput_chart(points: &[(u32, f64, f64)]) -> String {
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
