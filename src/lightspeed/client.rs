//! The HTTP client for the X-Series API 2.0 list endpoints: what to ask for (the URL of a page,
//! a record, a parent's children; the page size, shrunk after timeouts) and how to decode what
//! comes back. Sending a request, with its pacing and retries, is `request.rs`. It never logs
//! bodies or the token.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, USER_AGENT};

use super::credentials::Credentials;
use super::error::{ApiError, FetchError};
use super::governor::RateGovernor;
use super::id_page::{decode_id_page, IdPage};
use super::page::{decode_child_page, decode_raw_page, ChildPage, Page, PageError};
use super::raw_page::RawPage;
use super::retry::RETRY_BACKOFF;
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
    pub(super) http: reqwest::Client,
    base_url: Arc<str>,
    pub(super) max_attempts: u32,
    pub(super) governor: RateGovernor,
    pub(super) backoff: Backoff,
    /// Where bodies too large to hold in memory are spilled (`body::SPILL_BYTES`).
    pub(super) spill_dir: Arc<std::path::Path>,
    /// Per entity, the largest page still asked for after pages timed out (0: as asked).
    page_limits: Arc<[AtomicU32; Entity::ALL.len()]>,
    /// The bearer token, renewed here for an OAuth app.
    pub(super) credentials: Arc<Credentials>,
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
    /// The API's base URL (`https://<prefix>.retail.lightspeed.app/api/2.0`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

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
}
