//! One request to the API as the client sends it: paced through the shared governor, sent with
//! the current token, retried while the failure is transient (429s wait for `Retry-After`
//! against the server's clock and do not count as attempts), the body read, spilled to a file
//! when large. It never logs bodies or the token.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, AUTHORIZATION, DATE, RETRY_AFTER};
use reqwest::StatusCode;

use super::body::{read_body, root_cause, Body};
use super::client::{Client, RequestCounters};
use super::error::{error_detail, ApiError, FetchError};
use super::retry::retry_after_on_server_clock;
use crate::entity::Entity;

impl Client {
    /// Runs `attempt` until it succeeds, retrying transient failures up to the configured
    /// attempts; 429s wait for `Retry-After` and do not count as attempts.
    pub(super) async fn with_retries<T, F, Fut>(
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
    pub(super) async fn get(
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
