//! The binary as `cargo install` leaves it: copied alone into an empty directory and run from
//! another empty directory, with nothing of the repository around (no templates, static files,
//! migrations, Rocket.toml or .env). `demo` serves `/healthz`, `serve` renders the overview with
//! its stylesheet, `import` and `sync` copy the store, and none of them leaves anything in the
//! temporary directory. `--version` names the commit the binary was built from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lightsync::simulator::StoreShape;

use crate::support::{
    assert_matches_simulator, eventually_some, free_port, RunningChild, TestDatabase, TestSimulator,
};

/// How long a starting demo or dashboard may take to print what the test waits for.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A copy of the built binary in an empty directory, a separate empty working directory and an
/// empty TMPDIR for it.
struct Installed {
    _bin_dir: tempfile::TempDir,
    binary: PathBuf,
    work: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl Installed {
    fn new() -> Installed {
        let bin_dir = tempfile::tempdir().unwrap();
        let binary = bin_dir.path().join("lightsync");
        std::fs::copy(assert_cmd::cargo::cargo_bin("lightsync"), &binary).unwrap();
        Installed {
            _bin_dir: bin_dir,
            binary,
            work: tempfile::tempdir().unwrap(),
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    /// The installed binary run from the empty working directory, with a clean environment.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TMPDIR", self.tmp.path())
            .current_dir(self.work.path())
            .stdin(Stdio::null());
        command
    }

    fn assert_tmp_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET url` until it answers (the server may print its address just before it accepts).
fn get_when_up(http: &reqwest::blocking::Client, url: &str) -> reqwest::blocking::Response {
    eventually_some(Duration::from_secs(30), format!("{url} answers"), || {
        http.get(url).send().ok()
    })
}

fn cookie(response: &reqwest::blocking::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

/// Signs in through the login form and returns the session cookie.
fn sign_in(http: &reqwest::blocking::Client, base: &str, password: &str) -> String {
    let login_page = get_when_up(http, &format!("{base}/login"));
    assert_eq!(login_page.status(), 200);
    let csrf_cookie = cookie(&login_page, "lightsync_login_csrf");
    let html = login_page.text().unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a login form") + marker.len();
    let csrf = &html[start..start + 48];
    let signed_in = http
        .post(format!("{base}/login"))
        .header("cookie", csrf_cookie)
        .form(&[("password", password), ("csrf", csrf)])
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303, "signed in");
    cookie(&signed_in, "lightsync_session")
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let installed = Installed::new();
    let output = installed.command().arg("--version").output().unwrap();
    assert!(output.status.success());
    let version = String::from_utf8(output.stdout).unwrap();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        version.trim(),
        format!("lightsync {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_installed_demo_serves_healthz_and_leaves_nothing_behind() {
    let installed = Installed::new();
    let database = TestDatabase::empty();
    let port = free_port();
    let mut command = installed.command();
    command.env("DATABASE_URL", database.url.expose()).args([
        "demo",
        "--port",
        &port.to_string(),
        "--sales",
        "200",
        "--every-secs",
        "3600",
    ]);
    let mut demo = RunningChild::spawn(command);
    let password = demo.wait_for(START_TIMEOUT, "dashboard password", |line| {
        line.strip_prefix("password:").map(|p| p.trim().to_string())
    });
    assert_eq!(password.len(), 16);

    let http = http();
    let health = get_when_up(&http, &format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().unwrap(), r#"{"status":"ok"}"#);

    let log = demo.stop(libc::SIGINT);
    assert!(log.contains("demo stopped"), "{log}");
    installed.assert_tmp_empty();
    assert_eq!(std::fs::read_dir(installed.work.path()).unwrap().count(), 0);
}

#[test]
fn an_installed_dashboard_renders_the_overview_with_its_assets() {
    let installed = Installed::new();
    let database = TestDatabase::migrated();
    let port = free_port();
    let password = "installed dashboard password";
    let mut command = installed.command();
    command
        .env("DATABASE_URL", database.url.expose())
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", password)
        .args([
            "serve",
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]);
    let mut serve = RunningChild::spawn(command);
    serve.wait_for(START_TIMEOUT, "dashboard address", |line| {
        line.contains(&format!("dashboard listening on http://127.0.0.1:{port}"))
            .then_some(())
    });

    let http = http();
    let base = format!("http://127.0.0.1:{port}");
    let session = sign_in(&http, &base, password);
    let overview = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(overview.status(), 200);
    let content_type = overview.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = overview.text().unwrap();
    for entity in ["outlets", "products", "customers", "inventory", "sales"] {
        assert!(html.contains(&format!("id=\"card-{entity}\"")), "{html}");
    }
    let css = http.get(format!("{base}/static/app.css")).send().unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.text().unwrap().contains(".card"));
    let icon = http
        .get(format!("{base}/static/favicon.svg"))
        .send()
        .unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    let favicon = http.get(format!("{base}/favicon.ico")).send().unwrap();
    assert_eq!(favicon.status(), 204);

    let log = serve.stop(libc::SIGTERM);
    assert!(!log.contains("ERROR"), "nothing logged as an error:\n{log}");
    installed.assert_tmp_empty();
}

#[test]
fn an_installed_binary_imports_and_syncs_from_an_empty_directory() {
    let installed = Installed::new();
    let database = TestDatabase::empty();
    let simulator = TestSimulator::start(lightsync::simulator::SimulatorConfig {
        shape: StoreShape {
            seed: 16,
            outlets: 2,
            products: 30,
            customers: 30,
            sales: 60,
            registers: 1,
        },
        rate_limited: false,
        ..Default::default()
    });
    for command in ["import", "sync"] {
        let output = installed
            .command()
            .env("DATABASE_URL", database.url.expose())
            .env("LIGHTSPEED_BASE_URL", simulator.base_url())
            .env("LIGHTSPEED_TOKEN", "simulator")
            .arg(command)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_matches_simulator(&database, &simulator);
    // The default checkpoint store is `./.lightsync` in the directory it was run from.
    assert!(Path::new(installed.work.path()).join(".lightsync").is_dir());
    installed.assert_tmp_empty();
}
