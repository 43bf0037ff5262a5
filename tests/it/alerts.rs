//! Alerts against a local HTTP receiver: a failing entity produces exactly one `failed` message
//! and its next successful run exactly one `recovered`; a resumed interrupted run is announced
//! once; a receiver that hangs or answers 500 delays a run by no more than the alert timeout and
//! fails nothing; two processes seeing the same change send it once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::alert::Alerter;
use lightsync::config::{Config, ConfigFlags};
use lightsync::simulator::{FaultKind, StoreShape};
use serde_json::Value;

use crate::support::{lightsync, running_import, TestDatabase, TestSimulator};

/// How a receiver answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answer {
    Ok,
    ServerError,
    /// Never answers.
    Hang,
    /// Redirects to another path of the same receiver with this status (307 or 302).
    Redirect(u16),
}

/// A local webhook receiver on an ephemeral port that keeps every JSON body it was sent.
pub struct Receiver {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Value>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Receiver {
    pub fn start(answer: Answer) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/hook/{token}", post(receive).get(receive))
            .with_state((received.clone(), answer));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Receiver {
            address,
            received,
            runtime: Some(runtime),
        }
    }

    /// The webhook URL, with a secret-looking path like a Slack webhook's.
    pub fn url(&self) -> String {
        format!("http://{}/hook/T000-s3cr3t-path", self.address)
    }

    pub fn messages(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// The messages about `entity` in `state`.
    pub fn count(&self, entity: &str, state: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| m["entity"] == entity && m["state"] == state)
            .count()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn receive(
    State((received, answer)): State<(Arc<Mutex<Vec<Value>>>, Answer)>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Whatever arrives is kept, a body-less request too (a 302 followed as a GET would be one).
    let mut json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if let Some(referer) = headers.get("referer") {
        json = serde_json::json!({ "referer": referer.to_str().unwrap_or(""), "body": json });
    }
    received.lock().unwrap().push(json);
    match answer {
        Answer::Ok => StatusCode::OK.into_response(),
        Answer::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Answer::Redirect(status) => (
            StatusCode::from_u16(status).unwrap(),
            [(axum::http::header::LOCATION, "/hook/elsewhere")],
        )
            .into_response(),
    }
}

fn small_store() -> TestSimulator {
    TestSimulator::with_store(2, 20, 20, 60)
}

/// `lightsync sync --entity sales` with one attempt per request and alerts to `hooks`.
fn sync_sales(
    database: &TestDatabase,
    simulator: &TestSimulator,
    dir: &std::path::Path,
    hooks: &str,
) -> (i32, Duration, String) {
    let started = Instant::now();
    let output = lightsync(database, simulator, dir)
        .env("LIGHTSYNC_MAX_ATTEMPTS", "1")
        .env("LIGHTSYNC_ALERT_WEBHOOK_URL", hooks)
        .env("LIGHTSYNC_ALERT_TIMEOUT_SECS", "1")
        .env("LIGHTSYNC_DASHBOARD_URL", "https://sync.example.com/")
        .args(["sync", "--entity", "sales"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (
        output.status.code().unwrap_or(-1),
        started.elapsed(),
        stderr,
    )
}

#[derive(QueryableByName, Debug)]
struct AlertRow {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Text>)]
    delivery_error: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    follows: Option<i64>,
}

fn alert_log(database: &TestDatabase) -> Vec<AlertRow> {
    sql_query("SELECT entity, state, delivery_error, follows FROM alert_log ORDER BY id")
        .load(&mut database.connect())
        .unwrap()
}

#[derive(QueryableByName)]
struct RunId {
    #[diesel(sql_type = Text)]
    run_id: String,
}

fn last_run_id(database: &TestDatabase, status: &str) -> String {
    let row: RunId = sql_query(format!(
        "SELECT run_id FROM sync_log WHERE entity = 'sales' AND status = '{status}' ORDER BY id DESC LIMIT 1"
    ))
    .get_result(&mut database.connect())
    .unwrap();
    row.run_id
}

#[test]
fn a_failing_entity_alerts_once_and_its_recovery_once() {
    let database = TestDatabase::migrated();
    let simulator = small_store();
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let receiver = Receiver::start(Answer::Ok);
    let hook = receiver.url();

    lightsync(&database, &simulator, &checkpoints)
        .arg("import")
        .assert()
        .success();
    assert!(
        receiver.messages().is_empty(),
        "a healthy import says nothing"
    );

    // Sales fails twice in a row: one message, not two.
    for attempt in 0..2 {
        simulator.handle.queue_faults(FaultKind::InternalError, 1);
        let (code, _, stderr) = sync_sales(&database, &simulator, &checkpoints, &hook);
        assert_eq!(code, 1, "attempt {attempt}: {stderr}");
    }
    assert_eq!(
        receiver.count("sales", "failed"),
        1,
        "{:#?}",
        receiver.messages()
    );
    assert_eq!(receiver.messages().len(), 1, "{:#?}", receiver.messages());
    let failed = &receiver.messages()[0];
    let first_failed_run = {
        let rows: Vec<RunId> = sql_query(
            "SELECT run_id FROM sync_log WHERE entity = 'sales' AND status = 'failed' ORDER BY id",
        )
        .load(&mut database.connect())
        .unwrap();
        rows[0].run_id.clone()
    };
    assert_eq!(failed["run_id"], first_failed_run.as_str());
    assert!(
        failed["error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    assert!(
        failed["text"]
            .as_str()
            .unwrap()
            .contains("sales sync FAILED"),
        "{failed}"
    );
    assert_eq!(
        failed["dashboard_url"],
        "https://sync.example.com/history?entity=sales"
    );
    assert!(!failed.to_string().contains("s3cr3t"), "{failed}");

    // The next successful run recovers, once; a further success says nothing.
    let mut recovering_run = String::new();
    for attempt in 0..2 {
        let (code, _, stderr) = sync_sales(&database, &simulator, &checkpoints, &hook);
        assert_eq!(code, 0, "{stderr}");
        if attempt == 0 {
            recovering_run = last_run_id(&database, "ok");
        }
    }
    assert_eq!(
        receiver.count("sales", "recovered"),
        1,
        "{:#?}",
        receiver.messages()
    );
    assert_eq!(receiver.messages().len(), 2, "{:#?}", receiver.messages());
    let recovered = &receiver.messages()[1];
    assert_eq!(recovered["run_id"], recovering_run.as_str());
    assert_eq!(recovered["error"], Value::Null);

    let log = alert_log(&database);
    assert_eq!(log.len(), 2);
    assert!(
        log.iter().all(|row| row.delivery_error.is_none()),
        "{log:?}"
    );
    assert_eq!((log[0].state.as_str(), log[0].follows), ("failed", Some(0)));
    assert_eq!(log[1].state, "recovered");
}

#[test]
fn receivers_that_hang_or_fail_delay_a_run_by_at_most_the_timeout_and_fail_nothing() {
    let database = TestDatabase::migrated();
    let simulator = small_store();
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let hanging = Receiver::start(Answer::Hang);
    let failing = Receiver::start(Answer::ServerError);
    let hooks = format!("{},{}", hanging.url(), failing.url());
    lightsync(&database, &simulator, &checkpoints)
        .arg("import")
        .assert()
        .success();

    // Baseline: the same kind of run with no alert to send.
    let (code, baseline, stderr) = sync_sales(&database, &simulator, &checkpoints, &hooks);
    assert_eq!(code, 0, "{stderr}");
    assert!(hanging.messages().is_empty());

    simulator.handle.queue_faults(FaultKind::InternalError, 1);
    let (code, failing_run, stderr) = sync_sales(&database, &simulator, &checkpoints, &hooks);
    assert_eq!(code, 1, "the entity failed, nothing else: {stderr}");
    let (code, recovering_run, stderr) = sync_sales(&database, &simulator, &checkpoints, &hooks);
    assert_eq!(
        code, 0,
        "a webhook that hangs or answers 500 fails nothing: {stderr}"
    );
    assert!(stderr.contains("not delivered"), "{stderr}");
    assert!(
        !stderr.contains("s3cr3t"),
        "webhook URLs are secrets: {stderr}"
    );

    let timeout = Duration::from_secs(1);
    // Process start, migrations check and the run itself vary between runs, much more on a
    // loaded machine; five extra seconds on top of the baseline cover that and are still far
    // below the hour the hanging receiver would take. The precise bound is measured below.
    let allowance = baseline + timeout + Duration::from_secs(5);
    for (what, took) in [
        ("failing run", failing_run),
        ("recovering run", recovering_run),
    ] {
        assert!(
            took <= allowance,
            "{what} took {took:?}; baseline {baseline:?}, alert timeout {timeout:?}"
        );
    }
    assert_eq!(hanging.count("sales", "failed"), 1);
    assert_eq!(failing.count("sales", "failed"), 1);
    assert_eq!(failing.count("sales", "recovered"), 1);
    let log = alert_log(&database);
    assert_eq!(log.len(), 2, "{log:?}");
    let hanging_host = hanging.address.to_string();
    let failing_host = failing.address.to_string();
    for row in &log {
        let error = row.delivery_error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&format!("{hanging_host}: no answer within")),
            "{row:?}"
        );
        // The failing receiver answers 500 at once, unless the machine is so loaded that even
        // that answer misses the timeout.
        assert!(
            error.contains(&format!("{failing_host}: HTTP 500"))
                || error.contains(&format!("{failing_host}: no answer within")),
            "{row:?}"
        );
        assert!(!error.contains("s3cr3t"), "{row:?}");
    }

    // The same path measured on its own: a check that has an alert to post to a hanging
    // receiver returns within the timeout plus the bookkeeping in PostgreSQL.
    sql_query(
        "UPDATE sync_state SET status = 'failed', last_error = 'HTTP 503', run_id = 'r-timed' \
         WHERE entity = 'outlets'",
    )
    .execute(&mut database.connect())
    .unwrap();
    let vars = [
        (
            "DATABASE_URL".to_string(),
            database.url.expose().to_string(),
        ),
        ("LIGHTSYNC_ALERT_WEBHOOK_URL".to_string(), hanging.url()),
        ("LIGHTSYNC_ALERT_TIMEOUT_SECS".to_string(), "1".to_string()),
    ];
    let config = Config::load(&ConfigFlags::default(), &|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let alerter = Alerter::from_config(&config).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime.block_on(alerter.check_entities());
    let took = started.elapsed();
    assert_eq!(hanging.count("outlets", "failed"), 1);
    assert!(
        took < timeout + Duration::from_millis(1500),
        "posting to a hanging receiver took {took:?} with a {timeout:?} timeout"
    );
}

#[test]
fn a_run_that_resumes_an_interrupted_one_says_so_once() {
    let database = TestDatabase::migrated();
    let simulator = TestSimulator::paged(
        StoreShape {
            seed: 3,
            outlets: 2,
            products: 50,
            customers: 50,
            sales: 3000,
            registers: 1,
        },
        50,
        Duration::from_millis(20),
    );
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let receiver = Receiver::start(Answer::Ok);
    let mut child = running_import(&database, &simulator, &checkpoints);
    child.kill().unwrap();
    child.wait().unwrap();

    for _ in 0..2 {
        lightsync(&database, &simulator, &checkpoints)
            .env("LIGHTSYNC_ALERT_WEBHOOK_URL", receiver.url())
            .arg("sync")
            .assert()
            .success();
    }
    let resumed: Vec<Value> = receiver
        .messages()
        .into_iter()
        .filter(|m| m["state"] == "resumed")
        .collect();
    // Exactly the entities whose run the kill interrupted (those that had begun) are announced.
    #[derive(QueryableByName)]
    struct Interrupted {
        #[diesel(sql_type = Text)]
        entity: String,
    }
    let mut interrupted: Vec<String> =
        sql_query("SELECT entity FROM sync_log WHERE status = 'interrupted'")
            .load::<Interrupted>(&mut database.connect())
            .unwrap()
            .into_iter()
            .map(|row| row.entity)
            .collect();
    interrupted.sort();
    let mut announced: Vec<String> = resumed
        .iter()
        .map(|m| m["entity"].as_str().unwrap().to_string())
        .collect();
    announced.sort();
    assert!(!interrupted.is_empty(), "the kill interrupted a run");
    assert_eq!(announced, interrupted, "{resumed:#?}");
    for entity in ["outlets", "products", "customers", "inventory", "sales"] {
        assert!(
            receiver.count(entity, "resumed") <= 1,
            "{entity}: {resumed:#?}"
        );
    }
    let text = resumed[0]["text"].as_str().unwrap();
    assert!(
        text.contains("was interrupted") && text.contains("resumed"),
        "{text}"
    );
    assert_eq!(
        receiver.messages().len(),
        resumed.len(),
        "only the resumption is news: {:#?}",
        receiver.messages()
    );
}

#[test]
fn two_processes_seeing_the_same_change_send_it_once() {
    let database = TestDatabase::migrated();
    let receiver = Receiver::start(Answer::Ok);
    sql_query(
        "UPDATE sync_state SET status = 'ok', last_success_at = now() - interval '13 hours' \
         WHERE entity = 'customers'",
    )
    .execute(&mut database.connect())
    .unwrap();
    let vars = [
        (
            "DATABASE_URL".to_string(),
            database.url.expose().to_string(),
        ),
        ("LIGHTSYNC_ALERT_WEBHOOK_URL".to_string(), receiver.url()),
    ];
    let config = Config::load(&ConfigFlags::default(), &|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let watchers: Vec<Alerter> = (0..4)
            .map(|_| Alerter::from_config(&config).expect("alerts are configured"))
            .collect();
        futures_util::future::join_all(watchers.iter().map(|w| w.check_entities())).await;
        // And again later: still nothing new.
        watchers[0].check_entities().await;
    });
    assert_eq!(
        receiver.count("customers", "red"),
        1,
        "{:#?}",
        receiver.messages()
    );
    assert_eq!(
        receiver.messages().len(),
        1,
        "entities never synced are not news: {:#?}",
        receiver.messages()
    );
    let text = receiver.messages()[0]["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("customers is RED") && text.contains("13 h"),
        "{text}"
    );
    let log = alert_log(&database);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entity, "customers");
}

/// A receiver that answers 307 or 302 gets the alert once: the redirect is not followed (no
/// second request, so no copy of the alert and no `Referer` with the secret URL elsewhere), and
/// the delivery is recorded as failed, naming the redirect.
#[test]
fn an_alert_receiver_that_redirects_gets_one_request_and_the_delivery_fails() {
    let database = TestDatabase::migrated();
    let simulator = small_store();
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let temporary = Receiver::start(Answer::Redirect(307));
    let found = Receiver::start(Answer::Redirect(302));
    let hooks = format!("{},{}", temporary.url(), found.url());
    lightsync(&database, &simulator, &checkpoints)
        .arg("import")
        .assert()
        .success();
    simulator.handle.queue_faults(FaultKind::InternalError, 1);
    let (code, _, stderr) = sync_sales(&database, &simulator, &checkpoints, &hooks);
    assert_eq!(code, 1, "{stderr}");
    for receiver in [&temporary, &found] {
        let messages = receiver.messages();
        assert_eq!(messages.len(), 1, "exactly one request: {messages:?}");
        assert_eq!(messages[0]["state"], "failed", "{messages:?}");
    }
    assert!(stderr.contains("not delivered"), "{stderr}");
    assert!(stderr.contains("HTTP 307"), "{stderr}");
    assert!(stderr.contains("HTTP 302"), "{stderr}");
    assert!(
        !stderr.contains("s3cr3t"),
        "webhook URLs are secrets: {stderr}"
    );
    let rows = alert_log(&database);
    let failed: Vec<&AlertRow> = rows.iter().filter(|row| row.state == "failed").collect();
    assert_eq!(failed.len(), 1);
    let error = failed[0].delivery_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("HTTP 307") && error.contains("HTTP 302") && error.contains("not followed"),
        "{error}"
    );
}

#[test]
fn a_followed_entity_that_falls_behind_alerts_once_and_recovers_once() {
    use crate::support::{eventually, free_port, serve_command, RunningChild};

    let database = TestDatabase::migrated();
    let simulator = small_store();
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let receiver = Receiver::start(Answer::Ok);
    lightsync(&database, &simulator, &checkpoints)
        .arg("import")
        .assert()
        .success();

    // Another session holds the store's run lock (as a long import would): polls cannot run.
    let mut holder = database.connect();
    let identity = simulator.base_url().trim_end_matches('/').to_string();
    let key = lightsync::db::store_lock_key(&identity);
    assert!(lightsync::db::try_lock_store(&mut holder, key).unwrap());

    let port = free_port();
    let mut command = serve_command(database.url.expose(), &simulator, &checkpoints, port);
    command
        .env("LIGHTSYNC_ALERT_WEBHOOK_URL", receiver.url())
        .env("LIGHTSYNC_ALERT_CHECK_SECS", "1")
        .env("LIGHTSYNC_LAG_ALERT_SECS", "10")
        .arg("--follow=*:5s");
    let mut serve = RunningChild::spawn(command);
    serve.wait_for(
        Duration::from_secs(30),
        "a poll finding the store locked",
        |line| line.contains("another run holds the store").then_some(()),
    );
    eventually(Duration::from_secs(60), "a lagging alert for sales", || {
        receiver.count("sales", "lagging") == 1
    });
    let lagging = receiver
        .messages()
        .into_iter()
        .find(|m| m["entity"] == "sales" && m["state"] == "lagging")
        .unwrap();
    assert!(
        lagging["text"]
            .as_str()
            .unwrap()
            .contains("sales is LAGGING"),
        "{lagging}"
    );
    // Polls that find the store locked spend no request (an import beside them keeps its
    // share of the quota), and still behind a few checks later there is still one alert.
    let requests = simulator.handle.stats().total_requests();
    for _ in 0..2 {
        serve.wait_for(
            Duration::from_secs(30),
            "another poll finding the store locked",
            |line| line.contains("another run holds the store").then_some(()),
        );
    }
    assert_eq!(simulator.handle.stats().total_requests(), requests);
    assert_eq!(receiver.count("sales", "lagging"), 1);

    drop(holder);
    eventually(Duration::from_secs(60), "sales recovered", || {
        receiver.count("sales", "recovered") == 1
    });
    serve.kill();
    assert_eq!(receiver.count("sales", "lagging"), 1);
    assert_eq!(receiver.count("sales", "failed"), 0);
}
