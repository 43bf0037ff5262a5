//! The dashboard in a real headless Chromium driven over WebDriver (chromedriver + fantoccini):
//! sign in through the form, see the five entity cards with their colours, open the history,
//! and save screenshots to `target/dashboard-seeded.png` and `target/dashboard-history.png`
//! (`target/dashboard.png` comes from real runs in `dashboard_charts`). With
//! `LIGHTSYNC_UPDATE_SCREENSHOT=1` it also refreshes the README's `docs/dashboard.png` and its
//! stamp, and a test without a browser fails when the dashboard's look changed since then.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::{sql_query, RunQueryDsl};
use fantoccini::{ClientBuilder, Locator};
use lightsync::web;

use crate::support::{eventually, free_port, TestDatabase};

pub(crate) fn wait_for_port(port: u16, what: &str) {
    eventually(
        Duration::from_secs(30),
        format!("{what} did not start listening on port {port}"),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

pub(crate) fn find_program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("this test needs `{name}`: install Chromium and its driver (Debian: `apt-get install chromium chromium-driver`)")
        })
}

pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port with a fresh Chromium profile; the session comes from
/// `Chromium::session` inside the test's runtime.
pub(crate) struct Chromium {
    binary: PathBuf,
    driver_port: u16,
    profile: tempfile::TempDir,
    _driver: KillOnDrop,
}

impl Chromium {
    pub(crate) fn start() -> Chromium {
        let binary = find_program("chromium");
        let chromedriver = find_program("chromedriver");
        let driver_port = free_port();
        let driver = KillOnDrop(
            Command::new(&chromedriver)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        wait_for_port(driver_port, "chromedriver");
        Chromium {
            binary,
            driver_port,
            profile: tempfile::tempdir().unwrap(),
            _driver: driver,
        }
    }

    /// A headless WebDriver session with a `width,height` window (flags as in the env notes:
    /// no background networking on this closed network).
    pub(crate) async fn session(&self, window: &str, extra: &[&str]) -> fantoccini::Client {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        .iter()
        .chain(extra)
        .map(|flag| flag.to_string())
        .collect();
        args.push(format!("--window-size={window}"));
        args.push(format!("--user-data-dir={}", self.profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": self.binary, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.driver_port))
            .await
            .expect("a WebDriver session in Chromium")
    }
}

/// Types `password` into the open login page and submits it.
async fn submit_password(client: &fantoccini::Client, password: &str) {
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    client
        .find(Locator::Css("#sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types the dashboard password into the open login page and waits for the overview.
pub(crate) async fn sign_in_on_the_login_page(client: &fantoccini::Client) {
    submit_password(client, crate::web::PASSWORD).await;
    client
        .wait()
        .for_element(Locator::Css("#card-sales"))
        .await
        .unwrap();
}

fn seed(database: &TestDatabase) {
    let mut conn = database.connect();
    for sql in [
        "UPDATE sync_state SET status = 'ok', last_version = 3000001200, rows_in_table = 3, last_success_at = now() - interval '25 minutes', caught_up_at = now() - interval '25 minutes' WHERE entity = 'outlets'",
        "UPDATE sync_state SET status = 'ok', last_version = 3000004100, rows_in_table = 20000, last_success_at = now() - interval '5 hours', caught_up_at = now() - interval '5 hours' WHERE entity = 'products'",
        "UPDATE sync_state SET status = 'failed', last_version = 3000009000, rows_in_table = 19876, last_success_at = now() - interval '30 hours', last_error = 'fetching customers after version 3000009000 failed after 8 attempts: HTTP 503: Service Unavailable' WHERE entity = 'customers'",
        "UPDATE sync_state SET status = 'running', last_version = 3000012000, rows_in_table = 41000, last_success_at = now() - interval '50 minutes', caught_up_at = now() - interval '51 minutes', run_pages = 12, run_records = 12000, run_started_at = now() - interval '40 seconds' WHERE entity = 'inventory'",
        "UPDATE sync_state SET status = 'ok', last_version = 3000090000, rows_in_table = 50000, last_success_at = now() - interval '8 minutes', caught_up_at = now() - interval '8 minutes', newest_change_at = now() - interval '9 minutes', landed_at = now() - interval '8 minutes' - interval '58 seconds' WHERE entity = 'sales'",
        "INSERT INTO sync_log (run_id, entity, mode, status, started_at, finished_at, duration_ms, pages, records_fetched, records_inserted, records_updated, requests) \
         SELECT 'run-' || n || '-' || e, e, CASE WHEN n = 1 THEN 'import' ELSE 'incremental' END, \
                CASE WHEN e = 'customers' AND n > 34 THEN 'failed' ELSE 'ok' END, \
                now() - (37 - n) * interval '1 hour', now() - (37 - n) * interval '1 hour' + interval '10 seconds', \
                CASE WHEN n = 1 THEN 60000 ELSE 800 + (n * 37) % 900 END, 1 + n % 3, \
                CASE WHEN n = 1 THEN 50000 ELSE 20 + (n * 53) % 400 END, 10, 5, 2 + n % 3 \
         FROM generate_series(1, 36) AS n, unnest(ARRAY['outlets','products','customers','inventory','sales']) AS e",
    ] {
        sql_query(sql).execute(&mut conn).unwrap();
    }
}

#[test]
fn the_dashboard_works_in_headless_chromium() {
    let database = TestDatabase::migrated();
    seed(&database);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = free_port();
    let figment = rocket::Config::figment()
        .merge(("port", port))
        .merge(("address", "127.0.0.1"))
        .merge(("secret_key", vec![9u8; 64]))
        .merge(("log_level", rocket::config::LogLevel::Off));
    let rocket = web::build(crate::web::test_state(&database), figment).unwrap();
    runtime.spawn(async move {
        let _ = rocket.launch().await;
    });
    wait_for_port(port, "the dashboard");

    let chromium = Chromium::start();
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();

    runtime.block_on(async {
        let client = chromium.session("1280,1000", &["--hide-scrollbars"]).await;
        let base = format!("http://127.0.0.1:{port}");

        client.goto(&format!("{base}/")).await.unwrap();
        assert!(
            client
                .current_url()
                .await
                .unwrap()
                .path()
                .ends_with("/login"),
            "redirected to the login form"
        );
        submit_password(&client, "wrong").await;
        let message = client
            .wait()
            .for_element(Locator::Css("#login-message"))
            .await
            .unwrap();
        assert_eq!(message.text().await.unwrap(), "Wrong password.");
        sign_in_on_the_login_page(&client).await;
        assert_eq!(client.current_url().await.unwrap().path(), "/");

        let cards = client.find_all(Locator::Css("section.card")).await.unwrap();
        assert_eq!(
            cards.len(),
            lightsync::entity::Entity::ALL.len(),
            "a card per entity"
        );
        for (entity, colour) in [
            ("outlets", "green"),
            ("products", "yellow"),
            ("customers", "red"),
            ("inventory", "green"),
            ("sales", "green"),
        ] {
            let card = client
                .find(Locator::Id(&format!("card-{entity}")))
                .await
                .unwrap();
            assert_eq!(
                card.attr("data-health").await.unwrap().as_deref(),
                Some(colour),
                "{entity}"
            );
        }
        let inventory = client
            .find(Locator::Css("#card-inventory .progress"))
            .await
            .unwrap();
        assert!(
            inventory.text().await.unwrap().contains("12000 records"),
            "live progress of the running entity"
        );
        let customers = client
            .find(Locator::Css("#card-customers .error"))
            .await
            .unwrap();
        assert!(customers.text().await.unwrap().contains("HTTP 503"));
        let charts = client
            .find_all(Locator::Css(".chart-box svg"))
            .await
            .unwrap();
        assert_eq!(charts.len(), lightsync::entity::Entity::ALL.len());
        let png = client.screenshot().await.unwrap();
        std::fs::write(target.join("dashboard-seeded.png"), &png).unwrap();
        if std::env::var_os(UPDATE_SCREENSHOT).is_some_and(|value| value == "1") {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
            std::fs::write(docs.join("dashboard.png"), &png).unwrap();
            std::fs::write(docs.join("dashboard.stamp"), screenshot_stamp()).unwrap();
        }

        client
            .find(Locator::LinkText("History"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let table = client
            .wait()
            .for_element(Locator::Css("#runs"))
            .await
            .unwrap();
        let rows = table.find_all(Locator::Css("tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 50, "the first page of 180 runs");
        let png = client.screenshot().await.unwrap();
        std::fs::write(target.join("dashboard-history.png"), &png).unwrap();
        client.close().await.unwrap();
    });
    assert!(
        target
            .join("dashboard-seeded.png")
            .metadata()
            .unwrap()
            .len()
            > 10_000
    );
    runtime.shutdown_background();
}

/// Set to 1 to refresh the README's screenshot from the browser test.
const UPDATE_SCREENSHOT: &str = "LIGHTSYNC_UPDATE_SCREENSHOT";

/// The files that decide what the overview looks like in the screenshot (a change to the seeded
/// data above needs a refresh too, by hand).
const SCREENSHOT_INPUTS: [&str; 5] = [
    "templates/layout.html.tera",
    "templates/overview.html.tera",
    "static/app.css",
    "src/web/chart.rs",
    "src/web/views.rs",
];

/// One line per input with its CRC-32, as kept in `docs/dashboard.stamp`.
fn screenshot_stamp() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    SCREENSHOT_INPUTS
        .iter()
        .map(|input| {
            let bytes = std::fs::read(root.join(input)).unwrap();
            format!("{:08x}  {input}\n", crc32fast::hash(&bytes))
        })
        .collect()
}

#[test]
fn the_readme_screenshot_shows_the_current_dashboard() {
    if std::env::var_os(UPDATE_SCREENSHOT).is_some_and(|value| value == "1") {
        return; // the browser test is taking it again right now
    }
    let stamp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.stamp");
    let recorded = std::fs::read_to_string(&stamp).unwrap_or_default();
    assert_eq!(
        recorded,
        screenshot_stamp(),
        "the dashboard changed since docs/dashboard.png was taken: refresh it with \
         `{UPDATE_SCREENSHOT}=1 cargo test --features failpoints --test it the_dashboard_works_in_headless_chromium` \
         and commit docs/dashboard.png and docs/dashboard.stamp"
    );
}
