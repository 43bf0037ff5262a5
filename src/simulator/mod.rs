//! A faithful fake of the Lightspeed X-Series API 2.0 list endpoints (`lightsync simulate`),
//! serving a generated, seeded store over real HTTP, with rate limits, faults, quirks and
//! changes over time. Tests, benchmarks and the demo all use it. The five large entities (and
//! their children) are written out by hand here; the sixteen further ones are rendered from the
//! client's own declarations (`entity::spec`), so for those the simulator checks paging, rate
//! limits, faults and odd values, not the field list. The independent check of every field is
//! the contract test (`tests/it/contract.rs`), which decodes fixtures built from the examples
//! in Lightspeed's OpenAPI file (`tests/fixtures/api2.0`).

mod control;
mod faults;
mod ids;
mod oauth;
mod page_body;
mod quirks;
mod reference;
mod render;
mod server;
mod stats;
mod store;
mod webhook_endpoints;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use faults::FaultKind;
pub use oauth::SimulatedOAuth;
pub use quirks::{OddValue, OddValueReport, ODD_VALUES};
pub use stats::Stats;
pub use store::{Changed, MutationCounts, StoreShape};
pub use webhooks::{signature, DeliveryFaults};

use server::Shared;

/// Everything the simulator can be told.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub shape: StoreShape,
    /// The only token accepted as `Authorization: Bearer <token>`.
    pub token: String,
    /// Page size cap for every endpoint (the API's real cap is unknown).
    pub page_cap: u32,
    /// A separate cap for `/sales`, if set.
    pub sales_page_cap: Option<u32>,
    /// Whether to enforce the quota (`300 x registers + 50` per window).
    pub rate_limited: bool,
    /// A quota other than the documented formula (scaled-down tests and benchmarks).
    pub rate_limit_override: Option<u32>,
    pub window: Duration,
    /// Share of requests that fail with an injected fault.
    pub fail_rate: f64,
    /// Which faults `fail_rate` picks from (all when empty).
    pub fail_kinds: Vec<FaultKind>,
    /// Added latency per request.
    pub slow: Duration,
    /// Compress pages with gzip when a client asks for it.
    pub gzip: bool,
    /// Added latency per KiB of a page as sent: a slow link, on which large pages time out.
    pub slow_per_kib: Duration,
    /// Leave the `version` member out of every page.
    pub quirk_no_version_member: bool,
    /// Send money and quantities as numeric strings.
    pub quirk_money_as_strings: bool,
    /// Ignore `after` and always serve from the start (a broken server: trips the loop guard).
    pub quirk_ignore_after: bool,
    /// Answer `/product_categories` (always paged by category id) with the records at
    /// `data.data.categories`, where real clients read them, instead of `data.categories`, where
    /// the OpenAPI file puts them.
    pub quirk_categories_nested: bool,
    /// Serve a consignment's lines from the first one whatever `after` says, as servers that
    /// page `/consignments/{id}/products` their own way (or not at all) do.
    pub quirk_lines_ignore_after: bool,
    /// Send two sales without a usable identity, as a broken store might: the one at
    /// `UNIDENTIFIED_SALES[0]` (index in creation order) with an empty `id`, the one at
    /// `UNIDENTIFIED_SALES[1]` with a fractional `version`.
    pub quirk_unidentified_sales: bool,
    /// Share of records (0 to 1) that carry one odd-but-real field value (see `ODD_VALUES`).
    pub odd_values: f64,
    /// How far the server's clock is behind ours: a 429's `Retry-After` date is this much
    /// earlier, so with a few seconds it is already past when it arrives.
    pub retry_after_skew: Duration,
    /// Random changes per minute, applied once a second.
    pub changes_per_minute: u32,
    /// Serve the `/__simulator/*` control endpoints.
    pub control: bool,
    /// Endpoints that answer 403, as for a token without that permission.
    pub forbidden: Vec<crate::entity::Entity>,
    /// Play an OAuth app's store: `token` is an access token that expires, renewed at
    /// `POST /api/1.0/token` with a rotating refresh token.
    pub oauth: Option<SimulatedOAuth>,
    /// A webhook of every type registered from the start to this URL.
    pub webhook_url: Option<String>,
    /// How webhook deliveries go wrong.
    pub webhook_faults: DeliveryFaults,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            shape: StoreShape::default(),
            token: "simulator".into(),
            page_cap: 1000,
            sales_page_cap: None,
            rate_limited: true,
            rate_limit_override: None,
            window: Duration::from_secs(300),
            fail_rate: 0.0,
            fail_kinds: Vec::new(),
            slow: Duration::ZERO,
            slow_per_kib: Duration::ZERO,
            gzip: true,
            quirk_no_version_member: false,
            quirk_money_as_strings: false,
            quirk_ignore_after: false,
            quirk_categories_nested: false,
            quirk_lines_ignore_after: false,
            quirk_unidentified_sales: false,
            odd_values: 0.0,
            retry_after_skew: Duration::ZERO,
            changes_per_minute: 0,
            control: false,
            forbidden: Vec::new(),
            oauth: None,
            webhook_url: None,
            webhook_faults: DeliveryFaults::default(),
        }
    }
}

/// The sales (by index in creation order) `quirk_unidentified_sales` sends without a usable
/// identity: an empty id, then a fractional version.
pub const UNIDENTIFIED_SALES: [u32; 2] = [3, 7];

/// A running simulator. Dropping it does not stop it; call `shutdown`.
pub struct SimulatorHandle {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SimulatorHandle {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL a client should use (ends with `/api/2.0`).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/2.0", self.address)
    }

    /// The server's request counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Applies `count` random changes to the store now.
    pub fn mutate(&self, count: u32) -> MutationCounts {
        self.shared.mutate(count)
    }

    /// `count` random changes of `entity` only, announced to the registered webhooks; `None`
    /// for an entity the simulator does not change by itself.
    pub fn mutate_entity(
        &self,
        entity: crate::entity::Entity,
        count: u32,
    ) -> Option<MutationCounts> {
        self.shared.mutate_entity(entity, count)
    }

    /// The ground truth, as `GET /__simulator/expected` returns it.
    pub fn expected(&self) -> serde_json::Value {
        self.shared.store.read().expect("store lock").expected()
    }

    /// The odd values the store's records carry now, as `GET /__simulator/quirks` reports them.
    pub fn odd_values(&self) -> OddValueReport {
        let store = self.shared.store.read().expect("store lock");
        quirks::odd_value_report(&store, self.shared.config.odd_values)
    }

    /// Makes every OAuth access token issued so far expire now.
    #[cfg(feature = "failpoints")]
    pub fn expire_access_tokens(&self) {
        if let Some(oauth) = &self.shared.oauth {
            oauth::expire_all(oauth);
        }
    }

    /// OAuth renewals answered so far.
    pub fn renewals(&self) -> u64 {
        self.shared.oauth.as_ref().map_or(0, oauth::renewals)
    }

    /// Makes the next `count` list requests fail with `kind`.
    pub fn queue_faults(&self, kind: FaultKind, count: u32) {
        self.shared.queue_faults(kind, count);
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Generates the store, binds `address` (port 0 picks a free one) and serves in the background.
pub async fn spawn(
    config: SimulatorConfig,
    address: SocketAddr,
) -> std::io::Result<SimulatorHandle> {
    let changes_per_minute = config.changes_per_minute;
    let shared = Arc::new(Shared::new(config));
    let listener = server::bind(address).await?;
    let address = listener.local_addr()?;
    let (shutdown, mut shutdown_rx) = tokio::sync::watch::channel(false);
    let app = server::router(shared.clone());
    let mut changes_shutdown = shutdown_rx.clone();
    if changes_per_minute > 0 {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut owed = 0.0f64;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = changes_shutdown.changed() => break,
                }
                owed += changes_per_minute as f64 / 60.0;
                let due = owed.floor() as u32;
                if due > 0 {
                    owed -= due as f64;
                    shared.mutate(due);
                }
            }
        });
    }
    if let Some(outbox) = shared.take_webhook_outbox() {
        let faults = shared.config.webhook_faults.clone();
        let secret = shared
            .config
            .oauth
            .as_ref()
            .map(|app| app.client_secret.clone());
        tokio::spawn(webhooks::deliver(outbox, faults, secret));
    }
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown_rx.changed().await;
        });
        if let Err(err) = serve.await {
            log::error!("simulator stopped: {err}");
        }
    });
    Ok(SimulatorHandle {
        address,
        shared,
        shutdown,
        task,
    })
}

/// `lightsync simulate`: serves until Ctrl-C.
pub async fn run(config: SimulatorConfig, address: SocketAddr) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let handle = spawn(config.clone(), address).await.map_err(|err| {
        anyhow::anyhow!("cannot listen on {address}: {err} (pick another --port or --address)")
    })?;
    let counts = handle.shared.store.read().expect("store lock").counts();
    let summary: Vec<String> = counts
        .iter()
        .map(|(entity, count)| format!("{count} {entity}"))
        .collect();
    log::info!(
        "simulated store generated in {} ms: {}",
        started.elapsed().as_millis(),
        summary.join(", ")
    );
    if config.odd_values > 0.0 {
        let report = handle.odd_values();
        log::info!(
            "odd field values in {} records ({} that a client cannot type)",
            report.records,
            report.untypable_records
        );
    }
    println!("lightsync simulator listening on {}", handle.base_url());
    println!("token: {}", config.token);
    if config.control {
        println!(
            "control: POST http://{0}/__simulator/mutate?n=K[&entity=sales], GET http://{0}/__simulator/expected, GET http://{0}/__simulator/stats, GET http://{0}/__simulator/quirks",
            handle.address()
        );
    }
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
