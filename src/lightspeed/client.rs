//! The HTTP client for the X-Series API 2.0 list endpoints: builds requests, paces them through
//! the shared governor, retries transient failures, and decodes pages. It never logs bodies or
//! the token.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, DATE, RETRY_AFTER, USER_AGENT,
};
use reqwest::StatusCode;

use super::body::{read_body, root_cause, Body};
use super::credentials::Credentials;
use super::error::{error_detail, ApiError, FetchError};
use super::governor::RateGovernor;
use super::id_page::{decode_id_page, IdPage};
use super::page::{decode_child_page, decode_raw_page, ChildPage, Page, PageError};
use super::raw_page::RawPage;
use super::retry::{retry_after_on_server_clock, RETRY_BACKOFF};
use super::token_file::TokenFile;
use crate::backoff::Backoff;
use crate::config::ApiConfig;
use crate::entity::Entity;

/// Request counters of one entity's stream, read by the engine for `sync_log`.
#[derive(Debug, Default)]
pub struct RequestCounters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub bytes: AtomicU64,
}

/// A snapshot of `RequestCounters`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestTotals {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub bytes: u64,
}

impl RequestCounters {
    pub fn totals(&self) -> RequestTotals {
        RequestTotals {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// A client for one store. Cheap to clone; clones share the connection pool and governor.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Arc<str>,
    max_attempts: u32,
    governor: RateGovernor,
    backoff: Backoff,
    /// Where bodies too large to hold in memory are spilled (`body::SPILL_BYTES`).
    spill_dir: Arc<std::path::Path>,
    /// Per entity, the largest page still asked for after pages timed out (0: as asked).
    page_limits: Arc<[AtomicU32; Entity::ALL.len()]>,
    /// The bearer token, renewed here for an OAuth app.
    credentials: Arc<Credentials>,
}

/// The smallest page a timeout shrinks a request to; below it a timeout is an ordinary failure.
const SMALLEST_PAGE: u32 = 50;

impl Client {
    /// Builds a client from the API configuration.
    /// Builds a client from the API configuration. An OAuth app's tokens are kept in
    /// `state_dir` (the checkpoint directory).
    pub fn new(config: &ApiConfig, state_dir: &std::path::Path) -> Result<Client, ApiError> {
        let credentials = match (&config.oauth, &config.token) {
            (Some(app), initial) => Credentials::oauth(
                app,
                initial.as_ref(),
                config.base_url.as_str(),
                TokenFile::in_dir(state_dir),
            )?,
            (None, Some(token)) => Credentials::fixed(token)?,
            (None, None) => {
                return Err(ApiError::Renewal(
                    "no token configured: set LIGHTSPEED_TOKEN".into(),
                ))
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!(
                "lightsync/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/lightsync/lightsync)"
            )),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(8)
            // Pages are asked for compressed and decompressed as they are read.
            .gzip(true)
            .build()
            .map_err(|err| ApiError::Connection(format!("cannot build the HTTP client: {err}")))?;
        Ok(Client {
            http,
            base_url: config.base_url.as_str().trim_end_matches('/').into(),
            max_attempts: config.max_attempts,
            governor: RateGovernor::new(config.rate_share, config.rate_window),
            backoff: RETRY_BACKOFF,
            spill_dir: std::env::temp_dir().into(),
            page_limits: Arc::new(std::array::from_fn(|_| AtomicU32::new(0))),
            credentials: Arc::new(credentials),
        })
    }

    /// Spills large response bodies into `dir` (the run puts them beside its checkpoint store,
    /// on disk) instead of the system's temporary directory.
    pub fn spilling_into(mut self, dir: &std::path::Path) -> Client {
        self.spill_dir = dir.into();
        self
    }

    /// Shortens the retry backoff (tests that inject many faults).
    #[cfg(feature = "failpoints")]
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Client {
        self.backoff = Backoff::new(base, cap);
        self
    }

    /// Renews an OAuth app's access token if it expires within a day (or none is held yet):
    /// a run starts with a token that lasts it.
    pub async fn renew_if_expiring(&self) -> Result<(), ApiError> {
        self.credentials.renew_if_expiring(&self.http).await
    }

    /// The governor every request of this client goes through.
    pub fn governor(&self) -> &RateGovernor {
        &self.governor
    }

    /// Fetches and decodes the page of `entity` after version `after`, retrying transient
    /// failures up to the configured attempts. 429s wait for `Retry-After` and do not count.
    pub async fn fetch_page(
        &self,
        entity: Entity,
        after: i64,
        page_size: u32,
        counters: &RequestCounters,
    ) -> Result<Page, FetchError> {
        self.fetch_list(entity, after, page_size, counters, |raw| {
            decode_raw_page(entity, raw)
        })
        .await
    }

    /// Fetches the page of `entity` after version `after` with the same retries, checking its
    /// envelope but leaving the records undecoded (they are decoded a run at a time).
    pub async fn fetch_raw_page(
        &self,
        entity: Entity,
        after: i64,
        page_size: u32,
        counters: &RequestCounters,
    ) -> Result<RawPage, FetchError> {
        self.fetch_list(entity, after, page_size, counters, Ok)
            .await
    }

    /// One list page, parsed and then finished by `finish`, inside the retry loop.
    async fn fetch_list<T>(
        &self,
        entity: Entity,
        after: i64,
        page_size: u32,
        counters: &RequestCounters,
        finish: impl Fn(RawPage) -> Result<T, PageError>,
    ) -> Result<T, FetchError> {
        let url = format!("{}/{}", self.base_url, entity.name());
        let deleted = entity.accepts_deleted_param();
        self.with_retries(entity, after, counters, || async {
            let size = self.page_size_for(entity, page_size);
            let body = self
                .get(
                    entity,
                    &url,
                    Some(&after.to_string()),
                    size,
                    deleted,
                    counters,
                )
                .await
                .map_err(|err| self.shrink_on_timeout(entity, size, err))?;
            Ok(finish(RawPage::parse(after, body)?)?)
        })
        .await
    }

    /// The page size to ask `entity` for: `asked`, or less once pages of it timed out.
    fn page_size_for(&self, entity: Entity, asked: u32) -> u32 {
        match self.page_limits[entity.tag() as usize - 1].load(Ordering::Relaxed) {
            0 => asked,
            limit => asked.min(limit),
        }
    }

    /// After a page of `size` timed out, asks for half as many records from then on (a slow
    /// link then still moves, a smaller page at a time), down to `SMALLEST_PAGE`.
    fn shrink_on_timeout(&self, entity: Entity, size: u32, err: ApiError) -> ApiError {
        if !matches!(err, ApiError::Timeout) || size <= SMALLEST_PAGE {
            return err;
        }
        let smaller = (size / 2).max(SMALLEST_PAGE);
        self.page_limits[entity.tag() as usize - 1].store(smaller, Ordering::Relaxed);
        log::warn!(
            "{entity}: a page of {size} records timed out (LIGHTSYNC_HTTP_TIMEOUT_SECS); asking for {smaller} at a time from now on"
        );
        ApiError::TimedOutShrinking { page_size: size }
    }

    /// Fetches the page of an endpoint paged by id (`/product_categories`) after the id
    /// `after` (`None` for the first page), with the same retries.
    pub async fn fetch_id_page(
        &self,
        entity: Entity,
        after: Option<&str>,
        page_size: u32,
        counters: &RequestCounters,
    ) -> Result<IdPage, FetchError> {
        let url = format!("{}/{}", self.base_url, entity.name());
        self.with_retries(entity, 0, counters, || async {
            let body = self
                .get(entity, &url, after, page_size, false, counters)
                .await?
                .into_memory()
                .map_err(|err| {
                    ApiError::Spill(format!("cannot read back a spilled response body: {err}"))
                })?;
            Ok(decode_id_page(after, &body)?)
        })
        .await
    }

    /// `<base>/<entity>/<segments...>`, each segment escaped (ids are opaque text).
    fn url_under(
        &self,
        entity: Entity,
        segments: &[&str],
        after: i64,
    ) -> Result<String, FetchError> {
        let unusable = |reason: String| FetchError {
            entity,
            after,
            attempts: 0,
            cause: ApiError::Connection(reason),
        };
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|err| unusable(format!("the API base URL is invalid: {err}")))?;
        url.path_segments_mut()
            .map_err(|()| unusable("the API base URL cannot take a path".into()))?
            .push(entity.name())
            .extend(segments);
        Ok(url.to_string())
    }

    /// Fetches one record by its id (`GET /<entity>/<id>`, answered `{"data": {...}}`), with the
    /// same retries: its JSON text, or `None` when the store has no such record (404).
    pub async fn fetch_record(
        &self,
        entity: Entity,
        id: &str,
        counters: &RequestCounters,
    ) -> Result<Option<String>, FetchError> {
        let url = self.url_under(entity, &[id], 0)?;
        self.with_retries(entity, 0, counters, || async {
            match self.get(entity, &url, None, 1, false, counters).await {
                Err(ApiError::Status { status: 404, .. }) => Ok(None),
                body => {
                    let body = body?.into_memory().map_err(|err| {
                        ApiError::Spill(format!("cannot read back a spilled response body: {err}"))
                    })?;
                    #[derive(serde::Deserialize)]
                    struct One<'a> {
                        #[serde(borrow)]
                        data: &'a serde_json::value::RawValue,
                    }
                    let one: One = serde_json::from_slice(&body).map_err(|err| {
                        ApiError::Page(PageError::Envelope(format!(
                            "a record by id is not {{\"data\": {{...}}}}: {err}"
                        )))
                    })?;
                    Ok(Some(one.data.get().to_string()))
                }
            }
        })
        .await
    }

    /// Fetches the page after version `after` of a parent's children that the API lists at
    /// `GET /<entity>/<parent_id>/<sub>` (a consignment's products), with the same retries. A
    /// parent that is gone (404) has no children.
    pub async fn fetch_child_page(
        &self,
        entity: Entity,
        parent_id: &str,
        sub: &str,
        after: i64,
        page_size: u32,
        counters: &RequestCounters,
    ) -> Result<ChildPage, FetchError> {
        let url = self.url_under(entity, &[parent_id, sub], after)?;
        self.with_retries(entity, after, counters, || async {
            match self
                .get(
                    entity,
                    &url,
                    Some(&after.to_string()),
                    page_size,
                    false,
                    counters,
                )
                .await
            {
                Err(ApiError::Status { status: 404, .. }) => Ok(ChildPage::default()),
                body => {
                    let body = body?.into_memory().map_err(|err| {
                        ApiError::Spill(format!("cannot read back a spilled response body: {err}"))
                    })?;
                    Ok(decode_child_page(body)?)
                }
            }
        })
        .await
    }

    /// Runs `attempt` until it succeeds, retrying transient failures up to the configured
    /// attempts; 429s wait for `Retry-After` and do not count as attempts.
    async fn with_retries<T, F, Fut>(
        &self,
        entity: Entity,
        after: i64,
        counters: &RequestCounters,
        mut attempt: F,
    ) -> Result<T, FetchError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let mut attempts = 0u32;
        let mut renewed = false;
        loop {
            attempts += 1;
            let (_, generation) = self.credentials.current();
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(ApiError::Unauthorized) if self.credentials.renews() && !renewed => {
                    // An OAuth access token expired or was revoked: renew once and try again.
                    renewed = true;
                    attempts -= 1;
                    log::warn!("{entity}: the access token was refused (HTTP 401); renewing it");
                    if let Err(cause) = self.credentials.renew(&self.http, generation).await {
                        return Err(FetchError {
                            entity,
                            after,
                            attempts,
                            cause,
                        });
                    }
                }
                Err(ApiError::RateLimited { retry_after }) => {
                    attempts -= 1;
                    counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let wait = self.governor.rate_limited(retry_after);
                    if wait > retry_after {
                        log::warn!(
                            "{entity}: rate limited (429) with a Retry-After that is missing or already past on our clock; waiting {:.1} s",
                            wait.as_secs_f64()
                        );
                    } else {
                        log::warn!(
                            "{entity}: rate limited (429); waiting {:.1} s as Retry-After asks",
                            wait.as_secs_f64()
                        );
                    }
                }
                Err(ApiError::TimedOutShrinking { .. }) => {
                    // A smaller page is asked for at once; the timeout spent no attempt.
                    attempts -= 1;
                    counters.retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(cause) if cause.is_transient() && attempts < self.max_attempts => {
                    counters.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = self.backoff.jittered(attempts);
                    log::warn!(
                        "{entity}: attempt {attempts}/{} after version {after} failed ({cause}); retrying in {} ms",
                        self.max_attempts,
                        delay.as_millis()
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(cause) => {
                    return Err(FetchError {
                        entity,
                        after,
                        attempts,
                        cause,
                    })
                }
            }
        }
    }

    /// One GET of a list endpoint through the governor: the body of a 200, or why not.
    async fn get(
        &self,
        entity: Entity,
        url: &str,
        after: Option<&str>,
        page_size: u32,
        deleted: bool,
        counters: &RequestCounters,
    ) -> Result<Body, ApiError> {
        let page_size_text = page_size.to_string();
        let mut query: Vec<(&str, &str)> = vec![("page_size", &page_size_text)];
        if let Some(after) = after {
            query.insert(0, ("after", after));
        }
        if deleted {
            query.push(("deleted", "true"));
        }
        let (bearer, generation) = self.credentials.current();
        let bearer = match bearer {
            Some(bearer) => bearer,
            None => {
                // An OAuth app configured without an access token: get the first one.
                self.credentials.renew(&self.http, generation).await?;
                self.credentials.current().0.ok_or(ApiError::Unauthorized)?
            }
        };
        let permit = self.governor.acquire().await;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        log::debug!(
            "GET {url} after={} page_size={page_size}",
            after.unwrap_or("(none)")
        );
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, bearer)
            .query(&query)
            .send()
            .await
            .map_err(classify_transport_error);
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                drop(permit);
                return Err(err);
            }
        };
        let status = response.status();
        let headers = response.headers();
        let limit = header_number(headers, "x-ratelimit-limit");
        let remaining = header_number(headers, "x-ratelimit-remaining");
        log::debug!(
            "{entity}: HTTP {} X-RateLimit-Limit={limit:?} X-RateLimit-Remaining={remaining:?}",
            status.as_u16()
        );
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let date = headers.get(DATE).and_then(|date| date.to_str().ok());
                retry_after_on_server_clock(value, date, SystemTime::now())
            });
        permit.report_response(limit, remaining, status == StatusCode::TOO_MANY_REQUESTS);

        let body = read_body(response, &self.spill_dir).await?;
        counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);

        match status {
            StatusCode::OK => Ok(body),
            StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS => Err(ApiError::RateLimited {
                // Dates have whole-second precision: wait into the next second. A missing or
                // past date asks for nothing; the governor's floor applies.
                retry_after: retry_after
                    .filter(|wait| !wait.is_zero())
                    .map(|wait| wait + Duration::from_millis(50))
                    .unwrap_or(Duration::ZERO),
            }),
            status => Err(ApiError::Status {
                status: status.as_u16(),
                detail: error_detail(&body.head()),
            }),
        }
    }
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

fn classify_transport_error(err: reqwest::Error) -> ApiError {
    let cause = root_cause(&err);
    if err.is_timeout() {
        ApiError::Timeout
    } else if err.is_body() || err.is_decode() || cause.contains("before message completed") {
        ApiError::BodyCut(cause)
    } else {
        ApiError::Connection(cause)
    }
}
