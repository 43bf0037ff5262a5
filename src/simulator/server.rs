//! The simulator's HTTP server: the X-Series 2.0 list endpoints with auth, fixed-window rate
//! limiting with the real headers, injected faults, and the `/__simulator/*` control endpoints.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::sync::mpsc;

use super::control;
use super::faults::{FaultKind, FaultPlan};
use super::page_body;
use super::stats::Stats;
use super::store::{MutationCounts, Store};
use super::webhooks::{Delivery, Webhooks};
use super::SimulatorConfig;
use crate::entity::Entity;

/// The `domain_prefix` the simulated store's webhooks carry.
const WEBHOOK_DOMAIN_PREFIX: &str = "simulator";

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) config: SimulatorConfig,
    pub(crate) store: RwLock<Store>,
    faults: Mutex<FaultPlan>,
    window: Mutex<RateWindow>,
    started: Instant,
    started_system: SystemTime,
    pub(crate) stats: Stats,
    /// Issued OAuth tokens, when the simulator plays an OAuth app's store.
    pub(crate) oauth: Option<Mutex<super::oauth::OAuthState>>,
    pub(crate) webhooks: Webhooks,
    /// Taken by the delivery task when the simulator starts.
    webhook_outbox: Mutex<Option<mpsc::UnboundedReceiver<Delivery>>>,
}

#[derive(Debug, Default)]
struct RateWindow {
    index: u64,
    used: u32,
}

impl Shared {
    pub(crate) fn new(config: SimulatorConfig) -> Shared {
        let store = Store::generate(config.shape.clone());
        let (webhooks, outbox) = Webhooks::new(config.webhook_url.as_deref());
        let faults = FaultPlan::new(
            config.fail_rate,
            config.fail_kinds.clone(),
            config.shape.seed,
        );
        Shared {
            store: RwLock::new(store),
            faults: Mutex::new(faults),
            window: Mutex::new(RateWindow::default()),
            started: Instant::now(),
            started_system: SystemTime::now(),
            stats: Stats::default(),
            oauth: config
                .oauth
                .as_ref()
                .map(|app| Mutex::new(super::oauth::OAuthState::new(app, &config.token))),
            webhooks,
            webhook_outbox: Mutex::new(Some(outbox)),
            config,
        }
    }

    pub(crate) fn take_webhook_outbox(&self) -> Option<mpsc::UnboundedReceiver<Delivery>> {
        self.webhook_outbox.lock().expect("outbox lock").take()
    }

    /// Applies `count` random changes and announces them to the registered webhooks.
    pub(crate) fn mutate(&self, count: u32) -> MutationCounts {
        let counts = self.store.write().expect("store lock").mutate(count);
        self.webhooks
            .announce(&counts.changed, WEBHOOK_DOMAIN_PREFIX);
        counts
    }

    /// `mutate` for changes of one entity only.
    pub(crate) fn mutate_entity(&self, entity: Entity, count: u32) -> Option<MutationCounts> {
        let counts = self
            .store
            .write()
            .expect("store lock")
            .mutate_entity(entity, count)?;
        self.webhooks
            .announce(&counts.changed, WEBHOOK_DOMAIN_PREFIX);
        Some(counts)
    }

    pub(crate) fn queue_faults(&self, kind: FaultKind, count: u32) {
        self.faults.lock().expect("fault lock").queue(kind, count);
    }

    fn quota(&self) -> u32 {
        300 * self.config.shape.registers.max(1) + 50
    }

    /// Counts a request against the fixed window. `Err(retry_at)` when the window is spent.
    fn take_quota(&self) -> Result<(u32, u32), SystemTime> {
        let quota = self
            .config
            .rate_limit_override
            .unwrap_or_else(|| self.quota());
        let window = self.config.window;
        let elapsed = self.started.elapsed();
        let index = elapsed.as_nanos() as u64 / window.as_nanos().max(1) as u64;
        let mut state = self.window.lock().expect("window lock");
        if state.index != index {
            state.index = index;
            state.used = 0;
        }
        if state.used >= quota {
            let window_end = self.started_system + window * (index as u32 + 1);
            return Err(window_end);
        }
        state.used += 1;
        Ok((quota, quota - state.used))
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/api/2.0/{entity}", get(list_endpoint))
        .route("/api/2.0/{entity}/{id}", get(record_endpoint))
        .route("/api/2.0/{entity}/{id}/{sub}", get(child_endpoint))
        .route("/api/1.0/token", post(super::oauth::token_endpoint))
        .route(
            "/api/2.0/webhooks",
            get(super::webhook_endpoints::list).post(super::webhook_endpoints::create),
        )
        .route(
            "/api/2.0/webhooks/{id}",
            axum::routing::delete(super::webhook_endpoints::remove),
        );
    if shared.config.control {
        router = router
            .route("/__simulator/mutate", post(control::mutate))
            .route("/__simulator/expected", get(control::expected))
            .route("/__simulator/stats", get(control::stats))
            .route("/__simulator/quirks", get(control::quirks))
            .route("/__simulator/fail", post(control::fail));
    }
    router.with_state(shared)
}

pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn http_date_rounded_up(at: SystemTime) -> String {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let whole = if since_epoch.subsec_nanos() > 0 {
        Duration::from_secs(since_epoch.as_secs() + 1)
    } else {
        since_epoch
    };
    httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + whole)
}

async fn list_endpoint(
    State(shared): State<Arc<Shared>>,
    Path(entity): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Ok(entity) = entity.parse::<Entity>() else {
        return json_response(StatusCode::NOT_FOUND, json!({"error": "Not Found"}));
    };
    match admit(&shared, entity, &headers).await {
        Ok(rate_headers) => {
            let body = page_body::list_page(&shared, entity, &params);
            ok_page(&shared, &headers, body, rate_headers).await
        }
        Err(refused) => refused,
    }
}

/// `GET /<entity>/<id>`: one record as the store holds it now, deleted ones included.
async fn record_endpoint(
    State(shared): State<Arc<Shared>>,
    Path((entity, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let not_found = || json_response(StatusCode::NOT_FOUND, json!({"error": "Not Found"}));
    let Ok(entity) = entity.parse::<Entity>() else {
        return not_found();
    };
    let rate_headers = match admit(&shared, entity, &headers).await {
        Ok(rate_headers) => rate_headers,
        Err(refused) => return refused,
    };
    match page_body::record_by_id(&shared, entity, &id) {
        Some(body) => ok_page(&shared, &headers, body, rate_headers).await,
        None => not_found(),
    }
}

/// `GET /consignments/{id}/products`: a consignment's lines, paged by version.
async fn child_endpoint(
    State(shared): State<Arc<Shared>>,
    Path((entity, id, sub)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let not_found = || json_response(StatusCode::NOT_FOUND, json!({"error": "Not Found"}));
    let Ok(entity) = entity.parse::<Entity>() else {
        return not_found();
    };
    if entity != Entity::Consignments || sub != "products" {
        return not_found();
    }
    let rate_headers = match admit(&shared, entity, &headers).await {
        Ok(rate_headers) => rate_headers,
        Err(refused) => return refused,
    };
    match page_body::consignment_products_page(&shared, &id, &params) {
        Some(body) => ok_page(&shared, &headers, body, rate_headers).await,
        None => not_found(),
    }
}

type RateHeaders = Vec<(&'static str, HeaderValue)>;

/// A page as sent: gzip-compressed when the request accepts it, and delayed by
/// `slow_per_kib` for every KiB on the wire (a slow link).
async fn ok_page(
    shared: &Shared,
    request: &HeaderMap,
    body: String,
    rate_headers: RateHeaders,
) -> Response {
    let gzip = shared.config.gzip
        && request
            .get(axum::http::header::ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accepted| {
                accepted
                    .split(',')
                    .any(|coding| coding.trim().starts_with("gzip"))
            });
    shared
        .stats
        .bytes_plain
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    let wire: Vec<u8> = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        std::io::Write::write_all(&mut encoder, body.as_bytes()).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    } else {
        body.into_bytes()
    };
    shared
        .stats
        .bytes_sent
        .fetch_add(wire.len() as u64, Ordering::Relaxed);
    if !shared.config.slow_per_kib.is_zero() {
        tokio::time::sleep(shared.config.slow_per_kib * (wire.len() / 1024) as u32).await;
    }
    let mut response =
        (StatusCode::OK, [("content-type", "application/json")], wire).into_response();
    if gzip {
        response.headers_mut().insert(
            axum::http::header::CONTENT_ENCODING,
            HeaderValue::from_static("gzip"),
        );
    }
    response.headers_mut().extend(
        rate_headers
            .into_iter()
            .map(|(name, value)| (axum::http::HeaderName::from_static(name), value)),
    );
    response
}

/// Whether the request carries the store's token (a refusal is counted).
pub(crate) fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer {}", shared.config.token);
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let authorized = match &shared.oauth {
        Some(oauth) => bearer.is_some_and(|bearer| super::oauth::accepts(oauth, bearer)),
        None => bearer == Some(expected.as_str()),
    };
    if !authorized {
        shared.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
    }
    authorized
}

/// The answer to a request without the store's token.
pub(crate) fn unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": "Access token is not valid"}),
    )
}

/// Counts the request and lets it through (with its rate headers) or answers it: a wrong
/// token, a forbidden entity, an exhausted quota, or an injected fault.
async fn admit(
    shared: &Shared,
    entity: Entity,
    headers: &HeaderMap,
) -> Result<RateHeaders, Response> {
    shared.stats.requests[Stats::slot(entity)].fetch_add(1, Ordering::Relaxed);
    if !authorized(shared, headers) {
        return Err(unauthorized());
    }

    if shared.config.forbidden.contains(&entity) {
        return Err(json_response(
            StatusCode::FORBIDDEN,
            json!({"error": "Forbidden", "message": "This token is not allowed to access this resource"}),
        ));
    }

    let mut rate_headers: RateHeaders = Vec::new();
    if shared.config.rate_limited {
        match shared.take_quota() {
            Ok((limit, remaining)) => {
                rate_headers.push(("x-ratelimit-limit", limit.into()));
                rate_headers.push(("x-ratelimit-remaining", remaining.into()));
            }
            Err(retry_at) => {
                shared.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                let quota = shared
                    .config
                    .rate_limit_override
                    .unwrap_or_else(|| shared.quota());
                let mut response = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": "Too Many Requests", "message": "Rate limiting enforced"}),
                );
                let headers = response.headers_mut();
                headers.insert("x-ratelimit-limit", quota.into());
                headers.insert("x-ratelimit-remaining", 0u32.into());
                let retry_at = retry_at
                    .checked_sub(shared.config.retry_after_skew)
                    .unwrap_or(retry_at);
                if let Ok(value) = HeaderValue::from_str(&http_date_rounded_up(retry_at)) {
                    headers.insert("retry-after", value);
                }
                return Err(response);
            }
        }
    }

    if !shared.config.slow.is_zero() {
        tokio::time::sleep(shared.config.slow).await;
    }

    let fault = shared.faults.lock().expect("fault lock").next_fault();
    if let Some(kind) = fault {
        shared.stats.faults.fetch_add(1, Ordering::Relaxed);
        let mut response = fault_response(kind, shared, entity);
        response.headers_mut().extend(
            rate_headers
                .into_iter()
                .map(|(name, value)| (axum::http::HeaderName::from_static(name), value)),
        );
        return Err(response);
    }
    Ok(rate_headers)
}

fn fault_response(kind: FaultKind, shared: &Shared, entity: Entity) -> Response {
    match kind {
        FaultKind::InternalError => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "Internal Server Error"}),
        ),
        FaultKind::BadGateway => (
            StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        FaultKind::Unavailable => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "Service Unavailable"}),
        ),
        FaultKind::TryLater => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "Please try again later."}),
        ),
        FaultKind::NotJson => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<!DOCTYPE html><html><body>Maintenance</body></html>",
        )
            .into_response(),
        FaultKind::CutBody => {
            let full = page_body::list_page(shared, entity, &HashMap::new());
            let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated cut",
                )),
            ];
            let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
            response
                .headers_mut()
                .insert("content-length", HeaderValue::from(full.len() as u64));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// Binds `address` and serves until `shutdown` resolves.
pub(crate) async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await
}
