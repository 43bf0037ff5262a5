//! `serve` with `LIGHTSYNC_WEBHOOK_SECRET`: Lightspeed's webhooks start incremental runs of the
//! entities they name, a burst becomes one run, a wrong secret is refused, a payload is never
//! written, and the entities end exactly as the store has them.

use std::time::Duration;

use crate::support::{eventually, free_port, serve_command, ImportedStore, RunningChild};

const SECRET: &str = "a-webhook-secret-of-forty-characters-xyz";

#[test]
fn webhooks_run_the_entities_they_name_once_per_burst_and_a_wrong_secret_is_refused() {
    let store = ImportedStore::new();
    let port = free_port();
    let mut command = serve_command(
        store.database.url.expose(),
        &store.sim,
        &store.checkpoint,
        port,
    );
    command.env("LIGHTSYNC_WEBHOOK_SECRET", SECRET);
    let mut serve = RunningChild::spawn(command);
    serve.wait_for_any(&["dashboard listening on"]);
    store.sim.handle.mutate(60);

    let http = reqwest::blocking::Client::new();
    let post = |secret: &str, kind: &str| {
        http.post(format!("http://127.0.0.1:{port}/hooks/lightspeed/{secret}"))
            .form(&[
                ("type", kind),
                ("payload", r#"{"id":"forged","version":9}"#),
            ])
            .send()
            .expect("serve answers")
            .status()
            .as_u16()
    };
    let wrong = "b-webhook-secret-of-forty-characters-xyz";
    for _ in 0..3 {
        assert_eq!(post(wrong, "sale.update"), 404, "a wrong secret is refused");
    }
    let kinds = [
        "sale.update",
        "product.update",
        "customer.update",
        "inventory.update",
    ];
    for n in 0..40 {
        assert_eq!(post(SECRET, kinds[n % kinds.len()]), 200);
    }
    assert_eq!(
        post(SECRET, "sale.delete"),
        200,
        "an unknown type is acknowledged"
    );

    let database = &store.database;
    eventually(Duration::from_secs(60), "the webhooks' run ended", || {
        database.count("SELECT count(*) AS n FROM sync_log WHERE mode = 'webhook' AND status = 'running'") == 0
            && database.count(
                "SELECT count(DISTINCT entity) AS n FROM sync_log WHERE mode = 'webhook' AND status = 'ok'",
            ) == kinds.len() as i64
    });
    let runs =
        database.count("SELECT count(DISTINCT run_id) AS n FROM sync_log WHERE mode = 'webhook'");
    assert!(
        (1..=2).contains(&runs),
        "a burst of 40 webhooks became {runs} runs"
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_log WHERE mode = 'webhook' AND entity NOT IN ('sales', 'products', 'customers', 'inventory')"),
        0,
        "only the entities the webhooks named ran"
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales WHERE id = 'forged'"),
        0,
        "a payload is never written"
    );
    // Those entities now match the store exactly.
    store
        .lightsync()
        .args([
            "reconcile",
            "--entity",
            "sales",
            "--entity",
            "products",
            "--entity",
            "customers",
            "--entity",
            "inventory",
        ])
        .assert()
        .success();
    let transcript = serve.kill();
    assert!(
        !transcript.contains(SECRET),
        "the secret is never logged:\n{}",
        transcript
            .lines()
            .filter(|line| line.contains(SECRET))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        transcript.contains("ignored a webhook of type \"sale.delete\""),
        "{transcript}"
    );
    assert!(
        transcript.contains("wrong secret from 127.0.0.1 (3 failure(s) counted with the logins')"),
        "wrong secrets count in the login throttle: {transcript}"
    );
}

mod from_the_store {
    //! The store sends its webhooks (the simulator, as an OAuth app's store, signs them with the
    //! client secret): changes land within seconds without any polling, a webhook without the
    //! right signature is refused, and `webhooks install/list/remove` manage them where the
    //! token allows it.

    use std::time::{Duration, Instant};

    use lightsync::entity::Entity;
    use lightsync::simulator::StoreShape;

    use super::SECRET;
    use crate::support::{
        bare_lightsync, eventually, free_port, ImportedStore, RunningChild, TestSimulator,
    };

    const CLIENT_SECRET: &str = "client-secret-of-the-app";
    const REFRESH: &str = "refresh-authorized-by-the-owner";

    fn oauth_store(webhook_url: Option<String>) -> TestSimulator {
        let shape = StoreShape {
            seed: 23,
            outlets: 2,
            products: 40,
            customers: 30,
            sales: 120,
            registers: 1,
        };
        TestSimulator::oauth_app(
            shape,
            CLIENT_SECRET,
            REFRESH,
            Duration::from_secs(7 * 24 * 3600),
            webhook_url,
        )
    }

    fn as_app(command: &mut std::process::Command) -> &mut std::process::Command {
        command
            .env("LIGHTSPEED_CLIENT_ID", "app-1")
            .env("LIGHTSPEED_CLIENT_SECRET", CLIENT_SECRET)
            .env("LIGHTSPEED_REFRESH_TOKEN", REFRESH)
    }

    #[test]
    fn signed_webhooks_bring_changes_in_within_seconds_and_unsigned_ones_are_refused() {
        let port = free_port();
        let sim = oauth_store(Some(format!(
            "http://127.0.0.1:{port}/hooks/lightspeed/{SECRET}"
        )));
        let database = crate::support::TestDatabase::migrated();
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("cp");
        let mut import = bare_lightsync();
        as_app(&mut import)
            .env("DATABASE_URL", database.url.expose())
            .env("LIGHTSPEED_BASE_URL", sim.base_url())
            .env("LIGHTSYNC_CHECKPOINT_DIR", &checkpoint)
            .arg("import");
        assert_cmd::Command::from_std(import).assert().success();
        let mut command = bare_lightsync();
        as_app(&mut command)
            .env("RUST_LOG", "info")
            .env("DATABASE_URL", database.url.expose())
            .env("LIGHTSPEED_BASE_URL", sim.base_url())
            .env("LIGHTSYNC_CHECKPOINT_DIR", &checkpoint)
            .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the webhook test")
            .env("LIGHTSYNC_WEBHOOK_SECRET", SECRET)
            .args(["serve", "--port", &port.to_string()]);
        let mut serve = RunningChild::spawn(command);
        serve.wait_for_any(&["verifying each webhook's X-Signature"]);
        serve.wait_for_any(&["dashboard listening on"]);

        // Ten sales change one after the other; each lands within seconds, through webhooks
        // alone (serve does not poll).
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let changed = sim.handle.mutate_entity(Entity::Sales, 1).unwrap();
            let version = changed.changed[0].version;
            let started = Instant::now();
            eventually(Duration::from_secs(20), "the changed sale landed", || {
                database.count(&format!(
                    "SELECT count(*) AS n FROM sync_state WHERE entity = 'sales' AND last_version >= {version}"
                )) == 1
            });
            slowest = slowest.max(started.elapsed());
        }
        assert!(
            slowest < Duration::from_secs(10),
            "the slowest change took {slowest:?}"
        );
        assert_eq!(
            database.count(
                "SELECT count(*) AS n FROM sync_log WHERE mode NOT IN ('import', 'webhook')"
            ),
            0,
            "only webhooks started runs"
        );
        // Each webhook run read one page (one request) and left proving the end to a full run:
        // the sales' caught_up_at is still the import's.
        assert_eq!(
            database.count(
                "SELECT count(*) AS n FROM sync_log WHERE mode = 'webhook' AND entity = 'sales' \
                 AND status = 'ok' AND requests <> 1"
            ),
            0,
            "a webhook run costs one request per entity"
        );
        assert_eq!(
            database.count(
                "SELECT count(*) AS n FROM sync_state s WHERE entity = 'sales' AND caught_up_at = \
                 (SELECT max(started_at) FROM sync_log l WHERE l.entity = 'sales' AND l.mode = 'import')"
            ),
            1,
            "webhook runs do not claim to have reached the end"
        );

        // A webhook with the right address but no signature, or a wrong one, is refused.
        let http = reqwest::blocking::Client::new();
        let url = format!("http://127.0.0.1:{port}/hooks/lightspeed/{SECRET}");
        let body = "type=product.update&payload=%7B%7D";
        let unsigned = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(unsigned.status().as_u16(), 401);
        let forged = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "x-signature",
                lightsync::simulator::signature(body.as_bytes(), "another-secret"),
            )
            .body(body)
            .send()
            .unwrap();
        assert_eq!(forged.status().as_u16(), 401);
        let signed = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "x-signature",
                lightsync::simulator::signature(body.as_bytes(), CLIENT_SECRET),
            )
            .body(body)
            .send()
            .unwrap();
        assert_eq!(signed.status().as_u16(), 200);
        eventually(Duration::from_secs(20), "the products' run", || {
            database.count(
                "SELECT count(*) AS n FROM sync_log WHERE mode = 'webhook' AND entity = 'products' AND status = 'ok'",
            ) >= 1
        });
        let transcript = serve.kill();
        assert!(
            transcript.contains("X-Signature does not match"),
            "{transcript}"
        );
        for secret in [SECRET, CLIENT_SECRET, REFRESH] {
            assert!(!transcript.contains(secret), "a secret was logged");
        }
        let sales = database.count("SELECT count(*) AS n FROM lightspeed_sales");
        assert!(sales > 120, "new sales landed: {sales}");
    }

    #[test]
    fn webhooks_install_list_and_remove_through_the_api_or_say_how_by_hand() {
        let sim = oauth_store(None);
        let dir = tempfile::tempdir().unwrap();
        let lightsync = |args: &[&str]| {
            let mut command = bare_lightsync();
            as_app(&mut command)
                .env("LIGHTSPEED_BASE_URL", sim.base_url())
                .env("LIGHTSYNC_CHECKPOINT_DIR", dir.path().join("cp"))
                .env("LIGHTSYNC_WEBHOOK_SECRET", SECRET)
                .args(args);
            let output = command.output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).to_string();
            let stderr = String::from_utf8_lossy(&output.stderr).to_string();
            assert!(
                !stdout.contains(SECRET) && !stderr.contains(SECRET),
                "the secret was printed: {stdout}{stderr}"
            );
            (output.status.code(), stdout, stderr)
        };
        let (code, stdout, stderr) =
            lightsync(&["webhooks", "install", "--url", "https://sync.example.com/"]);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("7 webhook(s) added"), "{stdout}");
        let (code, stdout, _) =
            lightsync(&["webhooks", "install", "--url", "https://sync.example.com"]);
        assert_eq!(code, Some(0));
        assert!(
            stdout.contains("0 webhook(s) added"),
            "installing twice adds nothing: {stdout}"
        );

        let (code, stdout, _) = lightsync(&["webhooks", "list", "--json"]);
        assert_eq!(code, Some(0));
        let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 7);
        for webhook in listed {
            assert_eq!(
                webhook["url"],
                "https://sync.example.com/hooks/lightspeed/***"
            );
            assert_eq!(webhook["understood"], true);
            assert_eq!(webhook["active"], true);
        }
        let one = listed[0]["id"].as_str().unwrap().to_string();
        let (code, stdout, _) = lightsync(&["webhooks", "remove", "--id", &one]);
        assert_eq!(code, Some(0));
        assert!(stdout.contains(&format!("removed {one}")), "{stdout}");
        let (code, _, _) = lightsync(&["webhooks", "remove", "--id", &one]);
        assert_eq!(code, Some(1), "removing a webhook that is gone fails");
        let (code, stdout, _) =
            lightsync(&["webhooks", "remove", "--url", "https://sync.example.com"]);
        assert_eq!(code, Some(0));
        assert!(stdout.contains("6 webhook(s) removed"), "{stdout}");
        let (_, stdout, _) = lightsync(&["webhooks", "list"]);
        assert!(stdout.contains("the store has no webhooks"), "{stdout}");

        // A personal token may not: the error says how to do it by hand.
        let store = ImportedStore::new();
        let output = store
            .lightsync()
            .env("LIGHTSYNC_WEBHOOK_SECRET", SECRET)
            .args(["webhooks", "install", "--url", "https://sync.example.com"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("HTTP 403")
                && stderr.contains("/setup/api")
                && stderr.contains("sale.update")
                && stderr.contains("https://sync.example.com/hooks/lightspeed/***"),
            "{stderr}"
        );
        assert!(!stderr.contains(SECRET));
        // Without a secret there is no address to give.
        let output = store
            .lightsync()
            .args(["webhooks", "install", "--url", "https://sync.example.com"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("LIGHTSYNC_WEBHOOK_SECRET"));
    }
}

mod simulated {
    //! `lightsync simulate --webhook-url`: the simulator's own process sends the store's
    //! webhooks as Lightspeed does, repeating or losing them as told.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Duration;

    use crate::support::{bare_lightsync, free_port, RunningChild};

    /// A receiver that answers 200 to every POST and hands each body on.
    fn receiver() -> (u16, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let _ = sender.send(String::from_utf8_lossy(&body).to_string());
            }
        });
        (port, bodies)
    }

    fn simulate(hook_port: u16, faults: &[&str]) -> (RunningChild, String) {
        let port = free_port();
        let mut command = bare_lightsync();
        command
            .args(["simulate", "--control", "--port", &port.to_string()])
            .args([
                "--webhook-url",
                &format!("http://127.0.0.1:{hook_port}/hook"),
            ])
            .args(faults);
        let mut child = RunningChild::spawn(command);
        child.wait_for_any(&["listening on"]);
        (child, format!("http://127.0.0.1:{port}/__simulator"))
    }

    fn change_a_sale(control: &str) -> serde_json::Value {
        let response = reqwest::blocking::Client::new()
            .post(format!("{control}/mutate?n=1&entity=sales"))
            .send()
            .unwrap();
        assert!(response.status().is_success());
        serde_json::from_str(&response.text().unwrap()).unwrap()
    }

    #[test]
    fn the_simulator_sends_a_webhook_per_change_and_repeats_or_loses_them_as_told() {
        let (hook_port, bodies) = receiver();
        let (simulator, control) = simulate(hook_port, &["--webhook-duplicate", "1"]);
        let changed = change_a_sale(&control);
        let id = changed["changed"][0]["id"].as_str().unwrap().to_string();
        for copy in 0..2 {
            let body = bodies
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("copy {copy} of the webhook arrived"));
            let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            assert!(
                form.contains(&("type".into(), "sale.update".into())),
                "{body}"
            );
            let payload = &form.iter().find(|(name, _)| name == "payload").unwrap().1;
            let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
            assert_eq!(payload["id"], id.as_str());
            assert_eq!(payload["version"], changed["changed"][0]["version"]);
        }
        simulator.kill();

        let (hook_port, bodies) = receiver();
        let (simulator, control) = simulate(hook_port, &["--webhook-loss", "1"]);
        change_a_sale(&control);
        change_a_sale(&control);
        // A delivered webhook arrives within milliseconds.
        assert!(
            bodies.recv_timeout(Duration::from_secs(2)).is_err(),
            "every webhook is lost"
        );
        simulator.kill();

        let output = bare_lightsync()
            .args(["simulate", "--webhook-loss", "1.5"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--webhook-loss 1.5 is outside 0..1")
        );
    }
}
