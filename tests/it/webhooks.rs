//! `serve` with `LIGHTSYNC_WEBHOOK_SECRET`: Lightspeed's webhooks start incremental runs of the
//! entities they name, a burst becomes one run, a wrong secret is refused, a payload is never
//! written, and the entities end exactly as the store has them.

use std::time::Duration;

use crate::support::{bare_lightsync, eventually, free_port, ImportedStore, RunningChild};

const SECRET: &str = "a-webhook-secret-of-forty-characters-xyz";

#[test]
fn webhooks_run_the_entities_they_name_once_per_burst_and_a_wrong_secret_is_refused() {
    let store = ImportedStore::new();
    let port = free_port();
    let mut command = bare_lightsync();
    command
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", store.database.url.expose())
        .env("LIGHTSPEED_BASE_URL", store.sim.base_url())
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", &store.checkpoint)
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for the webhook test")
        .env("LIGHTSYNC_WEBHOOK_SECRET", SECRET)
        .args(["serve", "--port", &port.to_string()]);
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
    assert_eq!(post(wrong, "sale.update"), 404, "a wrong secret is refused");
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
}
