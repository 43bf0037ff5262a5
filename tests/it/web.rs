//! The dashboard through Rocket's local client against a real PostgreSQL: authentication,
//! throttling, CSRF, health colours at their boundaries, escaping, history, the JSON API,
//! `/healthz`, and "Sync now". Attacks on it are in `web_security`.

use std::time::{Duration, Instant};

use diesel::{sql_query, RunQueryDsl};
use lightsync::config::{DashboardPassword, Secret};
use lightsync::db;
use lightsync::health::HealthThresholds;
use lightsync::web::auth::PasswordCheck;
use lightsync::web::session::Sessions;
use lightsync::web::throttle::{Throttle, ThrottleSettings};
use lightsync::web::{self, SyncLauncher, WebState};
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;

use crate::support::{eventually, TestDatabase, TestSimulator};

pub const PASSWORD: &str = "correct horse battery";
pub const API_TOKEN: &str = "monitor-token-0123456789abcdef0123";

/// Delays short enough for tests that fail a login on purpose.
pub fn quick_throttle(delay_base: Duration, delay_cap: Duration) -> Throttle {
    Throttle::new(ThrottleSettings {
        delay_base,
        delay_cap,
        ..ThrottleSettings::default()
    })
}

/// The dashboard's state with `password`.
pub fn state_with_password(
    database: &TestDatabase,
    password: &str,
    extra_env: Vec<(String, String)>,
) -> WebState {
    let password = PasswordCheck::new(&DashboardPassword::Plain(Secret::new(password))).unwrap();
    WebState {
        pool: db::pool(&database.url, 4).unwrap(),
        url: database.url.clone(),
        sessions: Sessions::new(password.epoch()),
        password,
        api_token: Some(Secret::new(API_TOKEN)),
        throttle: quick_throttle(Duration::from_millis(1), Duration::from_millis(5)),
        bearer_throttle: quick_throttle(Duration::from_millis(1), Duration::from_millis(5)),
        trusted_proxy: None,
        health: HealthThresholds::default(),
        secure_cookies: false,
        launcher: SyncLauncher::with_executable(
            assert_cmd::cargo::cargo_bin("lightsync"),
            database.url.clone(),
            None,
            extra_env,
        ),
        door_secret: None,
    }
}

fn state(database: &TestDatabase, extra_env: Vec<(String, String)>) -> WebState {
    state_with_password(database, PASSWORD, extra_env)
}

pub fn dashboard_with(state: WebState) -> Client {
    let figment = rocket::Config::figment()
        .merge(("secret_key", vec![7u8; 64]))
        .merge(("log_level", rocket::config::LogLevel::Off));
    Client::tracked(web::build(state, figment).unwrap()).unwrap()
}

/// A dashboard state for `database` with the test password (used by the browser test).
pub fn test_state(database: &TestDatabase) -> WebState {
    state(database, Vec::new())
}

fn dashboard(database: &TestDatabase) -> Client {
    dashboard_with(state(database, Vec::new()))
}

pub fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + 48].to_string()
}

pub fn try_login(client: &Client, password: &str) -> (Status, String) {
    let csrf = csrf_in(&client.get("/login").dispatch().into_string().unwrap());
    let response = client
        .post("/login")
        .header(ContentType::Form)
        .body(format!("password={}&csrf={csrf}", urlencode(password)))
        .dispatch();
    let status = response.status();
    (status, response.into_string().unwrap_or_default())
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Signs in (for other test modules).
/// `/metrics` as a monitor with the API token reads it.
pub fn metrics_text(client: &Client) -> String {
    client
        .get("/metrics")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {API_TOKEN}"),
        ))
        .dispatch()
        .into_string()
        .expect("a metrics body")
}

/// `entity`'s card in `/api/status` (the client signed in).
pub fn status_card(client: &Client, entity: &str) -> serde_json::Value {
    let status: serde_json::Value = client
        .get("/api/status")
        .dispatch()
        .into_json()
        .expect("a status body");
    status["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .find(|card| card["entity"] == entity)
        .unwrap_or_else(|| panic!("no {entity} card"))
        .clone()
}

pub fn sign_in(client: &Client) {
    login(client);
}

/// Signs in and returns the session's CSRF token.
pub fn login(client: &Client) -> String {
    let (status, _) = try_login(client, PASSWORD);
    assert_eq!(status, Status::SeeOther);
    csrf_in(&client.get("/").dispatch().into_string().unwrap())
}

pub fn seed(database: &TestDatabase, sql: &str) {
    sql_query(sql).execute(&mut database.connect()).unwrap();
}

#[test]
fn pages_need_a_session_and_the_api_answers_401() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database);
    for page in ["/", "/history", "/runs/1"] {
        let response = client.get(page).dispatch();
        assert_eq!(response.status(), Status::SeeOther, "{page}");
        assert_eq!(
            response.headers().get_one("Location"),
            Some("/login"),
            "{page}"
        );
    }
    for api in ["/api/status", "/api/runs"] {
        let response = client.get(api).dispatch();
        assert_eq!(response.status(), Status::Unauthorized, "{api}");
        assert!(response.into_string().unwrap().contains("unauthorized"));
    }
    let wrong_token = client
        .get("/api/status")
        .header(Header::new("Authorization", "Bearer nope"))
        .dispatch();
    assert_eq!(wrong_token.status(), Status::Unauthorized);
    let monitor = client
        .get("/api/status")
        .header(Header::new("Authorization", format!("Bearer {API_TOKEN}")))
        .dispatch();
    assert_eq!(monitor.status(), Status::Ok);
}

#[test]
fn a_wrong_password_is_refused_and_the_right_one_signs_in_until_logout() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database);
    let (status, body) = try_login(&client, "correct horse batter");
    assert_eq!(status, Status::Unauthorized);
    assert!(body.contains("Wrong password"));
    let csrf = login(&client);
    let overview = client.get("/").dispatch();
    assert_eq!(overview.status(), Status::Ok);
    let cookie = client.cookies().get_private("lightsync_session").unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(rocket::http::SameSite::Strict));
    assert_eq!(
        client.get("/api/status").dispatch().status(),
        Status::Ok,
        "the session also opens the API"
    );

    let forged = client
        .post("/logout")
        .header(ContentType::Form)
        .body("csrf=forged")
        .dispatch();
    assert_eq!(
        forged.status(),
        Status::Forbidden,
        "logout needs the CSRF token"
    );
    assert_eq!(client.get("/").dispatch().status(), Status::Ok);
    let logout = client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch();
    assert_eq!(logout.status(), Status::SeeOther);
    assert_eq!(client.get("/").dispatch().status(), Status::SeeOther);
}

#[test]
fn repeated_failures_slow_down_and_never_lock_out() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(WebState {
        throttle: quick_throttle(Duration::from_millis(20), Duration::from_millis(80)),
        ..state(&database, Vec::new())
    });
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(try_login(&client, "guess").0);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(20 + 40 + 80 * 6),
        "failures were slowed down"
    );
    assert!(
        statuses.iter().all(|s| *s == Status::Unauthorized),
        "{statuses:?}"
    );
    let (status, _) = try_login(&client, PASSWORD);
    assert_eq!(
        status,
        Status::SeeOther,
        "the right password is accepted after the delay"
    );
}

#[test]
fn forms_without_the_right_csrf_token_are_rejected() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database);
    let no_cookie = Client::tracked(
        web::build(
            state(&database, Vec::new()),
            rocket::Config::figment().merge(("secret_key", vec![7u8; 64])),
        )
        .unwrap(),
    )
    .unwrap();
    let response = no_cookie
        .post("/login")
        .header(ContentType::Form)
        .body(format!("password={}&csrf=abc", urlencode(PASSWORD)))
        .dispatch();
    assert_eq!(
        response.status(),
        Status::Forbidden,
        "login form without its CSRF cookie"
    );
    login(&client);
    seed(
        &database,
        "UPDATE sync_state SET status = 'failed', last_error = 'boom'",
    );
    let response = client
        .post("/sync/sales")
        .header(ContentType::Form)
        .body("csrf=0000")
        .dispatch();
    assert_eq!(response.status(), Status::Forbidden);
}

#[test]
fn health_colours_follow_their_boundaries_and_errors_are_escaped() {
    let database = TestDatabase::migrated();
    seed(&database, "UPDATE sync_state SET status = 'ok', last_success_at = now() - interval '119 minutes' WHERE entity = 'outlets'");
    seed(&database, "UPDATE sync_state SET status = 'ok', last_success_at = now() - interval '121 minutes' WHERE entity = 'products'");
    seed(&database, "UPDATE sync_state SET status = 'ok', last_success_at = now() - interval '11 hours 59 minutes' WHERE entity = 'customers'");
    seed(&database, "UPDATE sync_state SET status = 'ok', last_success_at = now() - interval '12 hours 1 minute' WHERE entity = 'inventory'");
    seed(&database, "UPDATE sync_state SET status = 'failed', last_success_at = now() - interval '5 minutes', last_error = '<script>alert(1)</script> & more' WHERE entity = 'sales'");
    let client = dashboard(&database);
    login(&client);
    let html = client.get("/").dispatch().into_string().unwrap();
    for (entity, colour) in [
        ("outlets", "green"),
        ("products", "yellow"),
        ("customers", "yellow"),
        ("inventory", "red"),
        ("sales", "red"),
    ] {
        assert!(
            html.contains(&format!(r#"id="card-{entity}" data-health="{colour}""#)),
            "{entity} should be {colour}"
        );
    }
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "error text is escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt; &amp; more")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more")
    );
    assert!(html.contains("2 h ago"), "time since success in words");
    let status: serde_json::Value = client.get("/api/status").dispatch().into_json().unwrap();
    let health: Vec<&str> = status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["health"].as_str().unwrap())
        .collect();
    assert_eq!(health[..5], ["green", "yellow", "yellow", "red", "red"]);
    assert!(
        health[5..].iter().all(|h| *h == "red"),
        "never synced: {health:?}"
    );

    seed(&database, "UPDATE sync_state SET status = 'idle', last_success_at = NULL, last_error = NULL WHERE entity = 'outlets'");
    let html = client.get("/").dispatch().into_string().unwrap();
    assert!(
        html.contains(r#"id="card-outlets" data-health="red""#),
        "never synced is red"
    );
}

#[test]
fn a_first_time_user_is_told_what_to_run_and_security_headers_are_set() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database);
    login(&client);
    let response = client.get("/").dispatch();
    let csp = response
        .headers()
        .get_one("Content-Security-Policy")
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(response.headers().get_one("X-Frame-Options"), Some("DENY"));
    assert_eq!(
        response.headers().get_one("X-Content-Type-Options"),
        Some("nosniff")
    );
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    let html = response.into_string().unwrap();
    assert!(html.contains("Nothing has been synced yet"));
    assert!(html.contains("lightsync import"));
    assert!(!html.contains("<script>"), "no inline scripts");
    assert!(!html.contains("style="), "no inline styles");
    let history = client.get("/history").dispatch().into_string().unwrap();
    assert!(history.contains("No runs match"));
}

#[test]
fn history_filters_and_pages_through_thousands_of_runs() {
    let database = TestDatabase::migrated();
    seed(
        &database,
        "INSERT INTO sync_log (run_id, entity, mode, status, started_at, finished_at, duration_ms, pages, records_fetched, error) \
         SELECT 'run-' || n, (ARRAY['outlets','products','customers','inventory','sales'])[1 + n % 5], \
                CASE WHEN n % 7 = 0 THEN 'import' ELSE 'incremental' END, \
                CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'ok' END, \
                now() - n * interval '1 minute', now() - n * interval '1 minute' + interval '3 seconds', 3000, 2, n, \
                CASE WHEN n % 10 = 0 THEN repeat('very long error <b>x</b> ', 4000) END \
         FROM generate_series(1, 2500) AS n",
    );
    let client = dashboard(&database);
    login(&client);
    let page = client.get("/history").dispatch().into_string().unwrap();
    assert!(page.contains("2500 runs"));
    assert!(page.contains("page 1 of 50"));
    assert!(page.contains("older"));
    let failed_outlets = client
        .get("/history?entity=outlets&status=failed&page=2")
        .dispatch()
        .into_string()
        .unwrap();
    assert!(
        failed_outlets.contains("250 runs"),
        "every 10th run failed, all of them outlets (n % 5 == 0)"
    );
    assert!(failed_outlets.contains("page 2 of 5"));
    assert!(
        !failed_outlets.contains("<b>x</b>"),
        "errors are escaped in the history"
    );
    let detail = client.get("/runs/10").dispatch();
    assert_eq!(detail.status(), Status::Ok);
    let detail = detail.into_string().unwrap();
    assert!(detail.contains("Rate limited (429)") && detail.contains("very long error"));
    assert_eq!(
        client.get("/runs/999999").dispatch().status(),
        Status::NotFound
    );
    let overview = client.get("/").dispatch().into_string().unwrap();
    assert_eq!(
        overview.matches("<svg").count(),
        lightsync::entity::Entity::ALL.len(),
        "a chart per entity"
    );
    let runs: serde_json::Value = client
        .get("/api/runs?entity=outlets&status=ok&limit=7")
        .dispatch()
        .into_json()
        .unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 7);
    assert!(runs
        .iter()
        .all(|r| r["entity"] == "outlets" && r["status"] == "ok"));
}

#[test]
fn healthz_reports_the_database_without_a_login() {
    let database = TestDatabase::migrated();
    let client = dashboard(&database);
    let response = client.get("/healthz").dispatch();
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().unwrap(), r#"{"status":"ok"}"#);
    let mut admin = db::connect(&database.url.with_database("postgres")).unwrap();
    sql_query(format!("DROP DATABASE {} WITH (FORCE)", database.name()))
        .execute(&mut admin)
        .unwrap();
    let response = client.get("/healthz").dispatch();
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let body = response.into_string().unwrap();
    assert_eq!(
        body, r#"{"status":"unavailable"}"#,
        "no detail for attackers"
    );
}

/// Posts the "Sync now" form for sales; the overview it leads to (with its flash message).
fn post_sync_now(client: &Client, csrf: &str) -> String {
    let response = client
        .post("/sync/sales")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch();
    assert_eq!(response.status(), Status::SeeOther);
    client.get("/").dispatch().into_string().unwrap()
}

#[test]
fn sync_now_starts_a_background_sync_and_refuses_while_one_runs() {
    let sim = TestSimulator::with_store(2, 10, 10, 20);
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("LIGHTSPEED_BASE_URL".to_string(), sim.base_url()),
        ("LIGHTSPEED_TOKEN".to_string(), "simulator".to_string()),
        (
            "LIGHTSYNC_CHECKPOINT_DIR".to_string(),
            dir.path().join("cp").display().to_string(),
        ),
    ];
    let client = dashboard_with(state(&database, env));
    let csrf = login(&client);
    seed(
        &database,
        "UPDATE sync_state SET status = 'running' WHERE entity = 'products'",
    );
    let page = post_sync_now(&client, &csrf);
    assert!(
        page.contains("Not started: a run is in progress (products)"),
        "{page}"
    );

    seed(
        &database,
        "UPDATE sync_state SET status = 'failed', last_error = 'x'",
    );
    let html = client.get("/").dispatch().into_string().unwrap();
    assert!(html.contains("Sync now"));
    let page = post_sync_now(&client, &csrf);
    assert!(
        page.contains("Started `lightsync sync --entity sales`"),
        "{page}"
    );
    eventually(
        Duration::from_secs(60),
        "the background sync never finished",
        || {
            db::load_sync_states(&mut database.connect())
                .unwrap()
                .into_iter()
                .any(|s| {
                    s.entity == "sales"
                        && s.status == lightsync::db::RunStatus::Ok
                        && s.rows_in_table == 20
                })
        },
    );
    // Now green: the card shows no button, and a form posted by hand is refused too.
    let html = client.get("/").dispatch().into_string().unwrap();
    assert!(!html.contains(r#"action="/sync/sales""#), "{html}");
    let page = post_sync_now(&client, &csrf);
    assert!(page.contains("Not started: sales is up to date"), "{page}");
}

/// The overview shows each outlet's day so far from the report views: today's completed sales
/// in the outlet's own time zone (a sale of three days ago and a voided one left out) and the
/// time of its newest sale. Sales are placed minutes after the outlet's local midnight, so the
/// test holds at any hour.
#[test]
fn the_overview_shows_each_outlets_completed_sales_today() {
    let database = TestDatabase::migrated();
    use diesel::connection::SimpleConnection;
    database
        .connect()
        .batch_execute(
        "INSERT INTO lightspeed_outlets_rows (id, name, time_zone, version, rest, synced_at) VALUES \
             ('A', 'Harbour St', 'Pacific/Auckland', 1, '{}', now()), \
             ('B', 'Quiet Lane', 'America/New_York', 1, '{}', now()); \
         INSERT INTO lightspeed_sales_rows (id, outlet_id, status, sale_date, version, rest, synced_at) VALUES \
             ('S1', 'A', 'CLOSED', (date_trunc('day', now() AT TIME ZONE 'Pacific/Auckland') AT TIME ZONE 'Pacific/Auckland') + interval '1 minute', 1, '{}', now()), \
             ('S2', 'A', 'CLOSED', (date_trunc('day', now() AT TIME ZONE 'Pacific/Auckland') AT TIME ZONE 'Pacific/Auckland') + interval '2 minutes', 1, '{}', now()), \
             ('S3', 'A', 'VOIDED', (date_trunc('day', now() AT TIME ZONE 'Pacific/Auckland') AT TIME ZONE 'Pacific/Auckland') + interval '3 minutes', 1, '{}', now()), \
             ('S4', 'A', 'CLOSED', (date_trunc('day', now() AT TIME ZONE 'Pacific/Auckland') AT TIME ZONE 'Pacific/Auckland') - interval '3 days', 1, '{}', now()); \
         INSERT INTO lightspeed_sale_line_items_rows (id, sale_id, quantity, total_price, total_tax, version, rest, synced_at) VALUES \
             ('L1', 'S1', 1, 10.00, 1.50, 1, '{}', now()), \
             ('L2', 'S2', 2, 20.004, 3.0006, 1, '{}', now()), \
             ('L3', 'S3', 1, 99.00, 0, 1, '{}', now()), \
             ('L4', 'S4', 1, 99.00, 0, 1, '{}', now());",
    )
    .unwrap();
    let client = dashboard(&database);
    login(&client);
    let html = client.get("/").dispatch().into_string().unwrap();
    let row = |outlet: &str| {
        let start = html
            .find(&format!(r#"data-outlet="{outlet}""#))
            .unwrap_or_else(|| panic!("no row for outlet {outlet}: {html}"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    let harbour = row("A");
    assert!(harbour.contains("Harbour St"), "{harbour}");
    assert!(
        harbour.contains(r#"<td class="sales-today">2</td>"#),
        "{harbour}"
    );
    // 11.50 + 23.0046 = 34.5046, to the cent.
    assert!(
        harbour.contains(r#"<td class="revenue-today">34.50</td>"#),
        "{harbour}"
    );
    assert!(!harbour.contains("none yet"), "{harbour}");
    let quiet = row("B");
    assert!(
        quiet.contains(r#"<td class="sales-today">0</td>"#),
        "{quiet}"
    );
    assert!(quiet.contains("none yet"), "{quiet}");
}
