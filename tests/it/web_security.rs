//! The dashboard under attack: forged client addresses, floods of wrong passwords and bearer
//! tokens, concurrent guesses, saved cookies after logout and after a password change, the
//! port and limits of `serve` from an empty directory, the "Sync now" child's environment,
//! absurd page numbers, HSTS, and a run that fails after it was opened.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use futures_util::future::join_all;
use lightsync::config::{ConfigFlags, Secret, TrustedProxy};
use lightsync::web::client_addr::ClientAddr;
use lightsync::web::throttle::{Throttle, DEFAULT_DELAY_CAP};
use lightsync::web::{self, SyncLauncher, WebState};
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::blocking::Client;

use crate::support::{RunningChild, TestDatabase};
use crate::web::{
    csrf_in, dashboard_with, login, quick_throttle, state_with_password, urlencode, API_TOKEN,
    PASSWORD,
};

fn state(database: &TestDatabase) -> WebState {
    state_with_password(database, PASSWORD, Vec::new())
}

fn addr(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn key(ip: &str) -> lightsync::web::client_addr::ClientKey {
    ClientAddr(Some(ip.parse::<IpAddr>().unwrap())).key()
}

fn web_state(client: &Client) -> &WebState {
    client.rocket().state::<WebState>().unwrap()
}

/// One login attempt from `remote` with extra headers; the status.
fn login_from(client: &Client, remote: &str, headers: &[(&str, &str)], password: &str) -> Status {
    let csrf = csrf_in(&client.get("/login").dispatch().into_string().unwrap());
    let mut request = client
        .post("/login")
        .remote(addr(remote))
        .header(ContentType::Form)
        .body(format!("password={}&csrf={csrf}", urlencode(password)));
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    request.dispatch().status()
}

#[test]
fn a_forged_x_real_ip_neither_bypasses_the_throttle_nor_locks_anyone_out() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(WebState {
        throttle: quick_throttle(Duration::from_millis(10), Duration::from_millis(40)),
        ..state(&database)
    });
    let started = Instant::now();
    for n in 0..30 {
        let forged = format!("203.0.113.{n}");
        let status = login_from(
            &client,
            "198.51.100.66",
            &[("X-Real-IP", &forged), ("X-Forwarded-For", &forged)],
            "wrong guess",
        );
        assert_eq!(status, Status::Unauthorized);
    }
    let throttle = &web_state(&client).throttle;
    assert_eq!(
        throttle.failures(key("198.51.100.66")),
        30,
        "every guess counts against the socket's address"
    );
    assert_eq!(throttle.failures(key("203.0.113.5")), 0);
    assert!(
        started.elapsed() >= Duration::from_millis(10 + 20 + 40 * 28),
        "the guesses were slowed down: {:?}",
        started.elapsed()
    );

    for _ in 0..10 {
        login_from(
            &client,
            "198.51.100.66",
            &[("X-Real-IP", "192.0.2.10")],
            "wrong guess",
        );
    }
    assert_eq!(throttle.failures(key("192.0.2.10")), 0);
    let victim_started = Instant::now();
    assert_eq!(
        login_from(&client, "192.0.2.10", &[], PASSWORD),
        Status::SeeOther,
        "the named address was not locked out"
    );
    assert!(victim_started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_trusted_proxy_names_the_client_and_nobody_else_can() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(WebState {
        trusted_proxy: Some(TrustedProxy {
            addresses: vec!["127.0.0.1".parse().unwrap()],
            header: "X-Forwarded-For".into(),
        }),
        ..state(&database)
    });
    let forwarded = [("X-Forwarded-For", "10.1.1.1, 203.0.113.9")];
    login_from(&client, "127.0.0.1", &forwarded, "wrong guess");
    login_from(&client, "198.51.100.20", &forwarded, "wrong guess");
    let throttle = &web_state(&client).throttle;
    assert_eq!(
        throttle.failures(key("203.0.113.9")),
        1,
        "through the proxy"
    );
    assert_eq!(throttle.failures(key("198.51.100.20")), 1, "not the proxy");
    assert_eq!(
        throttle.failures(key("10.1.1.1")),
        0,
        "forged by the client"
    );
    assert_eq!(throttle.failures(key("127.0.0.1")), 0);
}

#[test]
fn the_owner_gets_in_after_a_flood_within_the_documented_delay() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(WebState {
        throttle: Throttle::default(),
        ..state(&database)
    });
    // A flood from the owner's address (think: everyone behind one proxy), counted by the same
    // throttle the login uses, with its production delays.
    let throttle = &web_state(&client).throttle;
    for _ in 0..1000 {
        throttle.begin(key("192.0.2.44"));
    }
    let started = Instant::now();
    assert_eq!(
        login_from(&client, "192.0.2.44", &[], PASSWORD),
        Status::SeeOther
    );
    let took = started.elapsed();
    assert!(took >= DEFAULT_DELAY_CAP, "the attempt waited: {took:?}");
    assert!(
        took < DEFAULT_DELAY_CAP + Duration::from_secs(5),
        "at most the documented {DEFAULT_DELAY_CAP:?} plus one verification: {took:?}"
    );
    assert_eq!(throttle.failures(key("192.0.2.44")), 0, "forgiven");
}

fn async_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn async_dashboard(state: WebState) -> Arc<rocket::local::asynchronous::Client> {
    let figment = rocket::Config::figment()
        .merge(("secret_key", vec![7u8; 64]))
        .merge(("log_level", rocket::config::LogLevel::Off));
    let rocket = web::build(state, figment).unwrap();
    Arc::new(
        rocket::local::asynchronous::Client::tracked(rocket)
            .await
            .unwrap(),
    )
}

/// Wrong logins sent all at once from `remotes` (one each, each its own task like connections
/// of a real server); their statuses.
async fn flood(
    client: Arc<rocket::local::asynchronous::Client>,
    remotes: Vec<String>,
) -> Vec<Status> {
    let page = client.get("/login").dispatch().await;
    let csrf = csrf_in(&page.into_string().await.unwrap());
    let attempts = remotes.into_iter().map(|remote| {
        let client = client.clone();
        let body = format!("password=wrong+guess+123&csrf={csrf}");
        tokio::spawn(async move {
            client
                .post("/login")
                .remote(addr(&remote))
                .header(ContentType::Form)
                .body(body)
                .dispatch()
                .await
                .status()
        })
    });
    join_all(attempts)
        .await
        .into_iter()
        .map(|status| status.unwrap())
        .collect()
}

#[test]
fn parallel_guesses_from_one_address_are_checked_one_at_a_time() {
    let database = TestDatabase::migrated();
    let runtime = async_runtime();
    let statuses = runtime.block_on(async {
        let client = async_dashboard(WebState {
            throttle: quick_throttle(Duration::from_millis(50), Duration::from_secs(3)),
            ..state(&database)
        })
        .await;
        let statuses = flood(client.clone(), vec!["198.51.100.9".to_string(); 12]).await;
        let state = client.rocket().state::<WebState>().unwrap();
        assert_eq!(
            state.throttle.failures(key("198.51.100.9")),
            1,
            "only the checked guess counts"
        );
        assert_eq!(state.throttle.in_flight(), 0, "nothing left in flight");
        statuses
    });
    let checked = statuses
        .iter()
        .filter(|status| **status == Status::Unauthorized)
        .count();
    let refused = statuses
        .iter()
        .filter(|status| **status == Status::TooManyRequests)
        .count();
    assert_eq!((checked, refused), (1, 11), "{statuses:?}");
}

#[test]
fn healthz_stays_fast_during_a_login_flood() {
    let database = TestDatabase::migrated();
    let runtime = async_runtime();
    runtime.block_on(async {
        let client = async_dashboard(state(&database)).await;
        // Before the flood: the database connection is made, so what follows measures waiting.
        assert_eq!(client.get("/healthz").dispatch().await.status(), Status::Ok);
        let remotes = (0..64).map(|n| format!("203.0.113.{n}")).collect();
        let attack = tokio::spawn(flood(client.clone(), remotes));
        let state = client.rocket().state::<WebState>().unwrap();
        crate::support::eventually_async(
            Duration::from_secs(30),
            "the flood reached argon2",
            || state.password.verifications_in_flight() > 0,
        )
        .await;
        // Measured from a task of its own, as a monitor's connection would be served.
        let monitor = client.clone();
        let slowest = tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            for _ in 0..5 {
                let started = Instant::now();
                let response = monitor.get("/healthz").dispatch().await;
                assert_eq!(response.status(), Status::Ok);
                slowest = slowest.max(started.elapsed());
            }
            slowest
        })
        .await
        .unwrap();
        assert!(
            !attack.is_finished(),
            "the flood was still being verified while /healthz was measured"
        );
        assert!(
            slowest < Duration::from_millis(250),
            "/healthz took {slowest:?} during the flood"
        );
        let statuses = attack.await.unwrap();
        assert_eq!(statuses, vec![Status::Unauthorized; 64]);
    });
}

fn session_cookie(client: &Client) -> Cookie<'static> {
    let jar = client.cookies();
    let value = jar.get("lightsync_session").unwrap().value().to_string();
    Cookie::new("lightsync_session", value)
}

fn opens(client: &Client, cookie: &Cookie<'static>) -> (Status, Status) {
    let page = client.get("/").cookie(cookie.clone()).dispatch().status();
    let api = client
        .get("/api/status")
        .cookie(cookie.clone())
        .dispatch()
        .status();
    (page, api)
}

#[test]
fn a_saved_cookie_is_refused_after_logout() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(state(&database));
    let csrf = login(&client);
    let saved = session_cookie(&client);
    let elsewhere = dashboard_with(state(&database));
    assert_eq!(
        opens(&elsewhere, &saved),
        (Status::Ok, Status::Ok),
        "a copy of the cookie works while the session lives"
    );
    let logout = client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch();
    assert_eq!(logout.status(), Status::SeeOther);
    assert_eq!(
        opens(&client, &saved),
        (Status::SeeOther, Status::Unauthorized)
    );
    assert_eq!(web_state(&client).sessions.revoked_count(), 1);
}

#[test]
fn a_saved_cookie_is_refused_after_a_password_change() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(state(&database));
    login(&client);
    let saved = session_cookie(&client);
    // A restart with the same password and secret key keeps the session ...
    let restarted = dashboard_with(state(&database));
    assert_eq!(opens(&restarted, &saved), (Status::Ok, Status::Ok));
    // ... a restart with a new password ends it.
    let changed = dashboard_with(state_with_password(
        &database,
        "a brand new password",
        Vec::new(),
    ));
    assert_eq!(
        opens(&changed, &saved),
        (Status::SeeOther, Status::Unauthorized)
    );
}

#[test]
fn bad_bearer_tokens_slow_down_and_are_counted_apart_from_logins() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(WebState {
        bearer_throttle: quick_throttle(Duration::from_millis(30), Duration::from_millis(120)),
        ..state(&database)
    });
    let remote = "198.51.100.30";
    for _ in 0..3 {
        assert_eq!(
            login_from(&client, remote, &[], "wrong guess 123"),
            Status::Unauthorized
        );
    }
    let started = Instant::now();
    for _ in 0..6 {
        let response = client
            .get("/api/status")
            .remote(addr(remote))
            .header(Header::new("Authorization", "Bearer guessed-token"))
            .dispatch();
        assert_eq!(response.status(), Status::Unauthorized);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(30 + 60 + 120 * 3),
        "{:?}",
        started.elapsed()
    );
    let state = web_state(&client);
    assert_eq!(state.bearer_throttle.failures(key(remote)), 6);
    assert_eq!(
        state.throttle.failures(key(remote)),
        3,
        "logins counted apart"
    );
    let monitor = client
        .get("/api/status")
        .remote(addr(remote))
        .header(Header::new("Authorization", format!("Bearer {API_TOKEN}")))
        .dispatch();
    assert_eq!(monitor.status(), Status::Ok, "the right token still works");
    assert_eq!(state.bearer_throttle.failures(key(remote)), 0);
    assert_eq!(
        state.throttle.failures(key(remote)),
        3,
        "a good token does not forgive the address's failed logins"
    );
    assert_eq!(login_from(&client, remote, &[], PASSWORD), Status::SeeOther);
    assert_eq!(state.throttle.failures(key(remote)), 0);
}

#[test]
fn absurd_page_numbers_are_bounded() {
    let database = TestDatabase::migrated();
    let client = dashboard_with(state(&database));
    login(&client);
    for page in ["9223372036854775807", "-9223372036854775808", "0"] {
        let response = client.get(format!("/history?page={page}")).dispatch();
        assert_eq!(response.status(), Status::Ok, "page={page}");
    }
}

#[test]
fn hsts_is_sent_only_with_secure_cookies() {
    let database = TestDatabase::migrated();
    let secure = dashboard_with(WebState {
        secure_cookies: true,
        ..state(&database)
    });
    let response = secure.get("/login").dispatch();
    assert_eq!(
        response.headers().get_one("Strict-Transport-Security"),
        Some("max-age=31536000")
    );
    let plain = dashboard_with(state(&database));
    let response = plain.get("/login").dispatch();
    assert_eq!(
        response.headers().get_one("Strict-Transport-Security"),
        None
    );
}

/// A stand-in for `lightsync` that records its arguments and environment, then waits until
/// the test releases it (or its directory is gone, so no test leaves a process behind).
fn recording_executable(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-lightsync");
    let dir = dir.display();
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$$ $*\" >> {dir}/invocations\nenv > {dir}/env-$$\nwhile [ ! -e {dir}/release ] && [ -d {dir} ]; do sleep 0.05; done\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn wait_for_file(path: &std::path::Path) -> String {
    crate::support::eventually_some(
        Duration::from_secs(20),
        format!("{} never appeared", path.display()),
        || {
            std::fs::read_to_string(path)
                .ok()
                .filter(|text| text.ends_with('\n'))
        },
    )
}

#[test]
fn sync_now_starts_one_child_without_dashboard_secrets() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let parent_env = [
        ("LIGHTSYNC_DASHBOARD_PASSWORD", "dashboard-secret-value"),
        ("LIGHTSYNC_API_TOKEN", "api-token-secret-value-0123456789"),
        ("ROCKET_SECRET_KEY", "rocket-secret-value"),
        ("LIGHTSPEED_TOKEN", "lightspeed-token"),
        ("LIGHTSYNC_CHECKPOINT_DIR", "/tmp/checkpoints"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .chain([("PATH".into(), std::env::var_os("PATH").unwrap())])
    .collect();
    let launcher = SyncLauncher::with_executable(
        recording_executable(dir.path()),
        database.url.clone(),
        None,
        vec![("LIGHTSPEED_BASE_URL".into(), "http://127.0.0.1:9".into())],
    )
    .with_parent_env(parent_env);
    let runtime = async_runtime();
    let flashes = runtime.block_on(async {
        let client = async_dashboard(WebState {
            launcher,
            ..state(&database)
        })
        .await;
        let page = client.get("/login").dispatch().await;
        let csrf = csrf_in(&page.into_string().await.unwrap());
        let signed_in = client
            .post("/login")
            .header(ContentType::Form)
            .body(format!("password={}&csrf={csrf}", urlencode(PASSWORD)))
            .dispatch()
            .await;
        assert_eq!(signed_in.status(), Status::SeeOther);
        let overview = client.get("/").dispatch().await;
        let csrf = csrf_in(&overview.into_string().await.unwrap());
        let posts = (0..3).map(|_| {
            client
                .post("/sync/sales")
                .header(ContentType::Form)
                .body(format!("csrf={csrf}"))
                .dispatch()
        });
        join_all(posts)
            .await
            .into_iter()
            .map(|response| {
                let flash = response
                    .cookies()
                    .get("_flash")
                    .unwrap()
                    .value()
                    .to_string();
                url::form_urlencoded::parse(format!("f={flash}").as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned()
            })
            .collect::<Vec<String>>()
    });
    let started = flashes.iter().filter(|f| f.contains("Started")).count();
    assert_eq!(started, 1, "{flashes:?}");
    assert_eq!(
        flashes
            .iter()
            .filter(|f| f.contains("is still running"))
            .count(),
        2,
        "{flashes:?}"
    );
    let invocations = wait_for_file(&dir.path().join("invocations"));
    let (pid, args) = invocations.trim().split_once(' ').unwrap();
    assert_eq!(args, "--env-file /dev/null sync --entity sales");
    let env = wait_for_file(&dir.path().join(format!("env-{pid}")));
    std::fs::write(dir.path().join("release"), "").unwrap();
    for secret in [
        "LIGHTSYNC_DASHBOARD_PASSWORD",
        "LIGHTSYNC_API_TOKEN",
        "ROCKET_SECRET_KEY",
        "secret-value",
    ] {
        assert!(!env.contains(secret), "the child saw {secret}:\n{env}");
    }
    for needed in [
        "LIGHTSPEED_TOKEN=lightspeed-token",
        "LIGHTSYNC_CHECKPOINT_DIR=/tmp/checkpoints",
        "LIGHTSPEED_BASE_URL=http://127.0.0.1:9",
        "DATABASE_URL=postgres",
    ] {
        assert!(env.contains(needed), "the child lacks {needed}:\n{env}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("invocations"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[test]
fn an_invalid_token_leaves_no_entity_running() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp").display().to_string();
    let url = database.url.expose().to_string();
    let mut config = lightsync::config::Config::load(&ConfigFlags::default(), &|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "LIGHTSYNC_CHECKPOINT_DIR" => Some(checkpoint.clone()),
        _ => None,
    })
    .unwrap();
    // The configuration refuses such a token; a caller that builds its own must be refused too,
    // before anything is marked running.
    config.set_api(
        "http://127.0.0.1:9/api/2.0".parse().unwrap(),
        Secret::new("bad\u{7}token"),
    );
    let result = async_runtime().block_on(lightsync::engine::run(
        &config,
        lightsync::engine::RunRequest {
            mode: lightsync::engine::RunMode::Incremental,
            restart: false,
            entities: Vec::new(),
        },
    ));
    let err = result.unwrap_err();
    assert!(format!("{err:#}").contains("LIGHTSPEED_TOKEN"), "{err:#}");
    assert!(!format!("{err:#}").contains("bad"), "{err:#}");
    let mut conn = database.connect();
    for table in ["sync_state", "sync_log"] {
        let running: Count = sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE status = 'running'"
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(running.n, 0, "{table} has entities left running");
    }
}

/// `lightsync serve` started in `dir` with nothing from this process's environment but PATH.
fn serve_command(database: &TestDatabase, dir: &std::path::Path) -> std::process::Command {
    let mut command = crate::support::bare_lightsync();
    command
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database.url.expose())
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", PASSWORD)
        .current_dir(dir)
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    command
}

#[test]
fn serve_from_an_empty_directory_listens_on_5001() {
    let database = TestDatabase::migrated();
    let empty = tempfile::tempdir().unwrap();
    let mut served = RunningChild::spawn(serve_command(&database, empty.path()));
    let line = served.wait_for_any(&["dashboard listening on", "stopped"]);
    if line.contains("dashboard listening on") {
        assert!(line.ends_with("http://127.0.0.1:5001"), "{line}");
        let health = reqwest::blocking::get("http://127.0.0.1:5001/healthz").unwrap();
        assert_eq!(health.status(), 200);
        served.kill();
    } else {
        // Something else on this machine holds 5001: the error still shows what was tried.
        let output = served.kill();
        assert!(output.contains("on 127.0.0.1:5001 stopped"), "{output}");
        assert!(output.contains("starting the dashboard on http://127.0.0.1:5001"));
    }
}

#[test]
fn serve_refuses_a_short_password_naming_the_variable() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let output = serve_command(&database, dir.path())
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "hunter2")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LIGHTSYNC_DASHBOARD_PASSWORD is invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("at least 12"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let output = serve_command(&database, dir.path())
        .env("LIGHTSYNC_API_TOKEN", "short-token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LIGHTSYNC_API_TOKEN is invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains("short-token"), "{stderr}");
}

#[test]
fn a_wrong_bearer_token_is_logged_with_the_real_address_and_without_the_token() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let mut command = serve_command(&database, dir.path());
    command
        .env("LIGHTSYNC_API_TOKEN", API_TOKEN)
        .args(["--port", "0"]);
    let mut served = RunningChild::spawn(command);
    let line = served.wait_for_any(&["dashboard listening on"]);
    let base = line[line.find("http://").unwrap()..].to_string();
    let guess = "guessed-token-7f3a9c";
    let response = reqwest::blocking::Client::new()
        .get(format!("{base}/api/status"))
        .header("Authorization", format!("Bearer {guess}"))
        .header("X-Real-IP", "192.0.2.99")
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    served.wait_for_any(&["wrong bearer token"]);
    let output = served.kill();
    assert!(
        output.contains("wrong bearer token from 127.0.0.1"),
        "{output}"
    );
    assert!(
        !output.contains("192.0.2.99"),
        "the forged address: {output}"
    );
    assert!(!output.contains(guess), "{output}");
    assert!(!output.contains(API_TOKEN), "{output}");
}

/// A client of a real server that shows redirects instead of following them.
fn without_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The login form as a client of a real server gets it: its CSRF cookie and token.
struct LoginForm {
    cookie: String,
    csrf: String,
}

fn login_form(base: &str, client_ip: &str) -> LoginForm {
    let response = reqwest::blocking::Client::new()
        .get(format!("{base}/login"))
        .header("X-Forwarded-For", client_ip)
        .send()
        .unwrap();
    let cookie = response
        .headers()
        .get_all("Set-Cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("lightsync_login_csrf="))
        .and_then(|value| value.split(';').next())
        .expect("the login page sets its CSRF cookie")
        .to_string();
    LoginForm {
        cookie,
        csrf: csrf_in(&response.text().unwrap()),
    }
}

/// A login attempt through a real server, from `client_ip` as the trusted proxy names it: the
/// status and the `Retry-After` it carried.
fn post_login(base: &str, form: &LoginForm, client_ip: &str, password: &str) -> (u16, Option<u64>) {
    let response = without_redirects()
        .post(format!("{base}/login"))
        .header("X-Forwarded-For", client_ip)
        .header("Cookie", &form.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "password={}&csrf={}",
            urlencode(password),
            form.csrf
        ))
        .send()
        .unwrap();
    let retry_after = response
        .headers()
        .get("Retry-After")
        .map(|value| value.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), retry_after)
}

/// Through the real binary with its production delays: thirty wrong passwords sent at once from
/// one address, each retried as `Retry-After` says, are checked no faster than thirty sent one
/// after another; and the owner, on another address, gets in within 11 s meanwhile.
#[test]
fn parallel_guessing_is_no_faster_than_serial_and_the_owner_gets_in() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let mut command = serve_command(&database, dir.path());
    command
        .args(["--port", &port.to_string()])
        .env("LIGHTSYNC_TRUSTED_PROXY", "127.0.0.1");
    let mut served = RunningChild::spawn(command);
    served.wait_for_any(&["dashboard listening on"]);
    let base = format!("http://127.0.0.1:{port}");
    let attacker = "203.0.113.7";
    let window = Duration::from_secs(12);
    let started = Instant::now();
    let guessers: Vec<_> = (0..30)
        .map(|n| {
            let base = base.clone();
            std::thread::spawn(move || {
                let form = login_form(&base, attacker);
                let (mut checked, mut refused) = (0u32, 0u32);
                while started.elapsed() < window {
                    match post_login(&base, &form, attacker, &format!("guess {n}")) {
                        (401, _) => {
                            checked += 1;
                            break;
                        }
                        (429, Some(wait)) => {
                            assert!(wait >= 1);
                            refused += 1;
                            std::thread::sleep(Duration::from_secs(wait));
                        }
                        other => panic!("unexpected answer to a guess: {other:?}"),
                    }
                }
                (checked, refused)
            })
        })
        .collect();
    // The owner arrives while the guesses are in flight.
    std::thread::sleep(Duration::from_millis(500));
    let owner = "198.51.100.1";
    let form = login_form(&base, owner);
    let signing_in = Instant::now();
    let (status, _) = post_login(&base, &form, owner, PASSWORD);
    let owner_took = signing_in.elapsed();
    let results: Vec<(u32, u32)> = guessers.into_iter().map(|g| g.join().unwrap()).collect();
    served.kill();
    assert_eq!(status, 303, "the owner's password is accepted");
    assert!(owner_took < Duration::from_secs(11), "{owner_took:?}");
    let checked: u32 = results.iter().map(|(checked, _)| checked).sum();
    let refused: u32 = results.iter().map(|(_, refused)| refused).sum();
    eprintln!("in {window:?}: {checked} guesses checked, {refused} refused; the owner got in after {owner_took:?}");
    // Serially, guess n waits 250 ms * 2^(n-1) before its check: within 12 s at most six
    // guesses are checked (0 + 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s; the seventh waits 8 s more).
    let serial_within_window = 6;
    assert!(
        checked <= serial_within_window,
        "{checked} guesses checked in {window:?} (serially at most {serial_within_window})"
    );
    assert!(checked >= 1, "the first guess is checked");
    assert!(
        refused >= 29,
        "the others were refused while one was in flight"
    );
}

/// A session cookie from signing in to a real server.
fn sign_in(base: &str) -> String {
    let form = login_form(base, "127.0.0.1");
    let response = without_redirects()
        .post(format!("{base}/login"))
        .header("Cookie", &form.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "password={}&csrf={}",
            urlencode(PASSWORD),
            form.csrf
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 303);
    response
        .headers()
        .get_all("Set-Cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("lightsync_session="))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// The status of `path` with `cookie`, redirects not followed.
fn status_with_cookie(base: &str, path: &str, cookie: &str) -> (u16, String) {
    let response = without_redirects()
        .get(format!("{base}{path}"))
        .header("Cookie", cookie)
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

/// A logout is kept in PostgreSQL: a saved copy of the cookie stays refused after `serve`
/// restarts with the same secret key (where the session itself would still be valid).
#[test]
fn a_logout_survives_a_restart_of_serve() {
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let start = || {
        let mut command = serve_command(&database, dir.path());
        command.args(["--port", &port.to_string()]).env(
            "ROCKET_SECRET_KEY",
            "bGlnaHRzeW5jLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc=",
        );
        let mut served = RunningChild::spawn(command);
        served.wait_for_any(&["dashboard listening on"]);
        served
    };
    let served = start();
    let kept = sign_in(&base);
    let saved = sign_in(&base);
    served.kill();
    let served = start();
    let (status, page) = status_with_cookie(&base, "/", &saved);
    assert_eq!(
        status, 200,
        "a session outlives a restart with the same key"
    );
    let logout = without_redirects()
        .post(format!("{base}/logout"))
        .header("Cookie", &saved)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", csrf_in(&page)))
        .send()
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert_eq!(status_with_cookie(&base, "/api/status", &saved).0, 401);
    served.kill();
    let served = start();
    assert_eq!(
        status_with_cookie(&base, "/", &saved).0,
        303,
        "the logged-out cookie is sent to the login page after the restart"
    );
    assert_eq!(status_with_cookie(&base, "/api/status", &saved).0, 401);
    assert_eq!(
        status_with_cookie(&base, "/api/status", &kept).0,
        200,
        "another session is untouched"
    );
    served.kill();
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightsync_dashboard_logouts"),
        1
    );
}

/// Whether the server closed `stream` (a read ends or fails) within `limit`.
fn closed_within(stream: &mut std::net::TcpStream, limit: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 answer before the close
            Err(err) => {
                return !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// Through the real binary: connections that send nothing, half a request, or announce a body
/// they never send are closed within the door's timeouts (10 s), while `/healthz` and the
/// owner's login stay fast.
#[test]
fn idle_and_half_sent_connections_are_closed_and_the_dashboard_stays_fast() {
    use std::io::Write;
    use std::net::TcpStream;
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let mut command = serve_command(&database, dir.path());
    command.args(["--port", &port.to_string()]);
    let mut served = RunningChild::spawn(command);
    served.wait_for_any(&["dashboard listening on"]);
    let base = format!("http://127.0.0.1:{port}");
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut half_sent: Vec<TcpStream> = (0..200)
        .map(|n| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(stream, "GET /healthz?{n} HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
            stream
        })
        .collect();
    let mut huge_body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        huge_body,
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10737418240\r\n\r\npassword="
    )
    .unwrap();

    let started = Instant::now();
    let health = reqwest::blocking::get(format!("{base}/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    let healthz_took = started.elapsed();
    assert!(healthz_took < Duration::from_secs(2), "{healthz_took:?}");
    let signing_in = Instant::now();
    sign_in(&base);
    let login_took = signing_in.elapsed();
    assert!(login_took < Duration::from_secs(5), "{login_took:?}");

    // The door's limits are 10 s for a head and 10 s of silence in a body; allow 5 s more.
    let limit = Duration::from_secs(15);
    for stream in idle
        .iter_mut()
        .chain(half_sent.iter_mut())
        .chain([&mut huge_body])
    {
        let left = limit
            .saturating_sub(opened.elapsed())
            .max(Duration::from_millis(100));
        assert!(
            closed_within(stream, left),
            "a connection was still open after {:?}",
            opened.elapsed()
        );
    }
    let all_closed = opened.elapsed();
    assert!(
        all_closed >= Duration::from_secs(9),
        "closed too early to be the timeout: {all_closed:?}"
    );
    eprintln!("221 stalled connections closed after {all_closed:?}; /healthz took {healthz_took:?} and a login {login_took:?} meanwhile");
    served.kill();
}
