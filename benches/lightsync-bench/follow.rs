//! Following a live store (`serve --follow`): for store changes spread over some minutes, the
//! time from each change in the simulator to its row committed in PostgreSQL, with webhooks
//! delivered, with a share of them lost, and without webhooks; and what an idle followed store
//! spends of the API quota. The scenarios run side by side, each with its own simulator (with
//! the real quota), database and `serve`.

use std::sync::{Arc, Mutex};

use super::*;

const SECRET: &str = "benchmark-webhook-secret-of-40-characters";

/// Which entity each change touches, in turn: sales most, as at a till.
const CHANGE_MIX: [Entity; 10] = [
    Entity::Sales,
    Entity::Inventory,
    Entity::Sales,
    Entity::Products,
    Entity::Sales,
    Entity::Inventory,
    Entity::Sales,
    Entity::Customers,
    Entity::Sales,
    Entity::Inventory,
];

/// One scenario's serve, simulator and database.
struct Followed {
    label: String,
    simulator: Simulator,
    database: TestDatabase,
    serve: Child,
    _checkpoint: tempfile::TempDir,
}

/// One change and when it landed.
#[derive(Clone)]
struct Change {
    entity: Entity,
    version: i64,
    at: Instant,
    landed: Option<Duration>,
}

fn start(label: &str, webhook_loss: Option<f64>, store: &[&str]) -> anyhow::Result<Followed> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut flags: Vec<String> = store.iter().map(|flag| flag.to_string()).collect();
    if let Some(loss) = webhook_loss {
        flags.extend([
            "--webhook-url".into(),
            format!("http://127.0.0.1:{port}/hooks/lightspeed/{SECRET}"),
            "--webhook-loss".into(),
            loss.to_string(),
            "--webhook-delay-ms".into(),
            "300".into(),
        ]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let simulator = Simulator::start(5_000, &flags)?;
    let (_, database, checkpoint) = import_once(&simulator, &[])?;
    let mut command = Command::new(binary());
    command
        .args(["serve", "--port", &port.to_string(), "--follow"])
        .env("DATABASE_URL", database.url.expose())
        .env("LIGHTSPEED_BASE_URL", &simulator.base_url)
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint.path().join("cp"))
        .env(
            "LIGHTSYNC_DASHBOARD_PASSWORD",
            "benchmark dashboard password",
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if webhook_loss.is_some() {
        command.env("LIGHTSYNC_WEBHOOK_SECRET", SECRET);
    }
    let serve = command
        .spawn()
        .context("starting `lightsync serve --follow`")?;
    Ok(Followed {
        label: label.to_string(),
        simulator,
        database,
        serve,
        _checkpoint: checkpoint,
    })
}

impl Drop for Followed {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }
}

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = diesel::sql_types::Text)]
    entity: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_version: i64,
}

/// Makes `count` changes spread over `span` and records when each one's version is applied
/// (`sync_state.last_version` is committed in the same transaction as the rows).
fn drive(followed: &Followed, count: usize, span: Duration) -> anyhow::Result<Vec<Change>> {
    let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (changes, done) = (changes.clone(), done.clone());
        let mut conn = followed.database.connect();
        std::thread::spawn(move || -> anyhow::Result<()> {
            loop {
                let applied: Vec<Applied> =
                    sql_query("SELECT entity, last_version FROM sync_state").load(&mut conn)?;
                let now = Instant::now();
                let mut changes = changes.lock().unwrap();
                for change in changes.iter_mut().filter(|c| c.landed.is_none()) {
                    if applied.iter().any(|row| {
                        row.entity == change.entity.name() && row.last_version >= change.version
                    }) {
                        change.landed = Some(now - change.at);
                    }
                }
                let all_landed = changes.iter().all(|c| c.landed.is_some());
                drop(changes);
                if done.load(std::sync::atomic::Ordering::SeqCst) && all_landed {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    for n in 0..count {
        let due = started + span.mul_f64(n as f64 / count as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let entity = CHANGE_MIX[n % CHANGE_MIX.len()];
        let at = Instant::now();
        let response: serde_json::Value = serde_json::from_str(
            &http
                .post(format!(
                    "{}/mutate?n=1&entity={}",
                    followed.simulator.control,
                    entity.name()
                ))
                .send()?
                .text()?,
        )?;
        let version = response["changed"][0]["version"]
            .as_i64()
            .context("the simulator named the changed version")?;
        changes.lock().unwrap().push(Change {
            entity,
            version,
            at,
            landed: None,
        });
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    // Everything lands within the longest poll interval of the changed entities (5 minutes).
    let deadline = Instant::now() + Duration::from_secs(420);
    while !watcher.is_finished() {
        if Instant::now() > deadline {
            bail!(
                "{}: changes still missing 7 minutes after the last",
                followed.label
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    watcher.join().expect("the watcher thread")?;
    let changes = changes.lock().unwrap().clone();
    Ok(changes)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Waits until every entity was polled once by `serve --follow`.
fn first_round(followed: &Followed) -> anyhow::Result<()> {
    let mut conn = followed.database.connect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let polled: Count = sql_query(
            "SELECT count(DISTINCT entity) AS n FROM sync_log WHERE mode = 'follow' AND status = 'ok'",
        )
        .get_result(&mut conn)?;
        if polled.n == Entity::ALL.len() as i64 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{}: the first round of polls did not end", followed.label);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The requests of the first poll of the entities polled hourly by default.
fn hourly_round_cost(followed: &Followed) -> anyhow::Result<i64> {
    let plan = lightsync::config::FollowPlan::default();
    let hourly: Vec<String> = Entity::ALL
        .into_iter()
        .filter(|e| plan.interval(*e) >= Duration::from_secs(3600))
        .map(|e| format!("'{}'", e.name()))
        .collect();
    let cost: Count = sql_query(format!(
        "SELECT COALESCE(sum(requests), 0)::BIGINT AS n FROM sync_log WHERE mode = 'follow' AND entity IN ({}) \
         AND run_id = (SELECT min(run_id) FROM sync_log WHERE mode = 'follow')",
        hourly.join(", ")
    ))
    .get_result(&mut followed.database.connect())?;
    Ok(cost.n)
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    let rank = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn latency_row(label: &str, changes: &[Change]) -> String {
    let mut all: Vec<f64> = changes
        .iter()
        .filter_map(|c| c.landed.map(|d| d.as_secs_f64()))
        .collect();
    all.sort_by(f64::total_cmp);
    let worst_by_entity: Vec<String> = [
        Entity::Sales,
        Entity::Inventory,
        Entity::Products,
        Entity::Customers,
    ]
    .iter()
    .map(|entity| {
        let worst = changes
            .iter()
            .filter(|c| c.entity == *entity)
            .filter_map(|c| c.landed.map(|d| d.as_secs_f64()))
            .fold(0.0, f64::max);
        format!("{} {worst:.1}", entity.name())
    })
    .collect();
    format!(
        "| {label} | {} | {:.1} s | {:.1} s | {:.1} s | {} |",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        all.last().copied().unwrap_or(0.0),
        worst_by_entity.join(", ")
    )
}

/// The three latency scenarios side by side, then the idle cost, reported as Markdown.
pub(crate) fn follow_latency(
    line: &mut impl FnMut(String),
    changes: usize,
    minutes: f64,
    settle: Duration,
    registers: u32,
) -> anyhow::Result<()> {
    let registers_text = registers.to_string();
    let store = [
        "--outlets",
        "3",
        "--products",
        "1000",
        "--customers",
        "1000",
        "--registers",
        registers_text.as_str(),
    ];
    let quota = 300 * registers + 50;
    let span = Duration::from_secs_f64(minutes * 60.0);
    let scenarios = [
        ("webhooks delivered", Some(0.0)),
        ("30% of webhooks lost", Some(0.3)),
        ("no webhooks (polling alone)", None),
    ];
    // Each scenario has its own simulator and quota: their imports run side by side.
    let (followed, idle) = std::thread::scope(|scope| {
        let starting: Vec<_> = scenarios
            .iter()
            .map(|(label, loss)| scope.spawn(move || start(label, *loss, &store)))
            .collect();
        let idle = scope.spawn(|| start("idle", None, &store));
        let followed: anyhow::Result<Vec<Followed>> = starting
            .into_iter()
            .map(|handle| handle.join().expect("a starting thread"))
            .collect();
        (followed, idle.join().expect("the idle thread"))
    });
    let (followed, idle) = (followed?, idle?);
    first_round(&idle)?;
    // The changes start once the window the imports spent part of has passed: what is measured
    // is a followed store, not the tail of its import.
    std::thread::sleep(settle);
    let idle_from = idle.simulator.total_requests()?;
    let results: Vec<anyhow::Result<Vec<Change>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = followed
            .iter()
            .map(|f| scope.spawn(move || drive(f, changes, span)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a scenario thread"))
            .collect()
    });
    line(format!(
        "## Following a live store: {changes} changes over {minutes} minutes, change to row committed"
    ));
    line(String::new());
    line(format!("`serve --follow` with its default intervals (sales 30 s, inventory 1 min, products and customers 5 min, reference data 1 h), a store of 3 outlets, {registers} register(s), 1,000 products, 1,000 customers and 5,000 sales with the real quota ({quota} requests per 5 minutes), the changes starting {} s after the import. Changes: half sales, 30% inventory, 10% products, 10% customers. Webhooks are delayed up to 300 ms by the simulator, so some arrive out of order.", settle.as_secs()));
    line(String::new());
    line("| scenario | changes | p50 | p95 | max | max by entity (s) | requests | 429s |".into());
    line("|---|---|---|---|---|---|---|---|".into());
    for (followed, result) in followed.iter().zip(results) {
        let changes = result?;
        let stats = followed.simulator.stats()?;
        line(format!(
            "{} {} | {} |",
            latency_row(&followed.label, &changes),
            followed.simulator.total_requests()?,
            stats["rate_limited"]
        ));
    }
    line(String::new());
    let idle_requests = idle.simulator.total_requests()? - idle_from;
    let per_five = idle_requests as f64 / minutes * 5.0;
    let hourly = hourly_round_cost(&idle)?;
    let with_hourly = per_five + hourly as f64 / 12.0;
    line(format!(
        "Idle followed store: {idle_requests} requests in the {minutes} minutes after its first round = {per_five:.1} per 5 minutes; with the hourly round ({hourly} requests for the entities polled hourly, spread over twelve 5-minute windows) {with_hourly:.1} per 5 minutes on average, {:.1}% of the smallest quota (350).",
        with_hourly / 350.0 * 100.0,
    ));
    line(String::new());
    Ok(())
}
