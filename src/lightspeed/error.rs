//! `ApiError`: every way a request to the API can fail, and the classifier that decides
//! whether to retry. Messages carry statuses and causes, never response bodies or the token.

use std::time::Duration;

use super::page::PageError;
use crate::entity::Entity;

/// One failed attempt at a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("the API rejected the token (HTTP 401): check LIGHTSPEED_TOKEN")]
    Unauthorized,
    #[error("rate limited (HTTP 429), retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    #[error("HTTP {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status { status: u16, detail: Option<String> },
    #[error("the request timed out")]
    Timeout,
    /// Renewing an OAuth access token failed; the message says what to do.
    #[error("renewing the OAuth access token failed: {0}")]
    Renewal(String),
    /// A page of `page_size` records timed out and later pages are asked for smaller: retried
    /// at once without spending an attempt.
    #[error("a page of {page_size} records timed out")]
    TimedOutShrinking { page_size: u32 },
    #[error("the connection failed: {0}")]
    Connection(String),
    #[error("the response body was cut off: {0}")]
    BodyCut(String),
    /// A large body could not be written to its temporary file (disk full, directory gone).
    #[error("{0}")]
    Spill(String),
    #[error(transparent)]
    Page(#[from] PageError),
}

impl ApiError {
    /// Whether trying the same request again may succeed. A 429 is not a failure at all: the
    /// caller waits and tries again without spending an attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unauthorized | ApiError::Spill(_) | ApiError::Renewal(_) => false,
            ApiError::RateLimited { .. } => true,
            ApiError::Status { status, detail } => {
                *status >= 500
                    || (*status == 400
                        && detail
                            .as_deref()
                            .is_some_and(|d| d.contains("Please try again later")))
                    || *status == 408
            }
            ApiError::Timeout
            | ApiError::TimedOutShrinking { .. }
            | ApiError::Connection(_)
            | ApiError::BodyCut(_) => true,
            ApiError::Page(PageError::LoopGuard { .. } | PageError::PagedById) => false,
            ApiError::Page(_) => true,
        }
    }
}

/// A request that failed for good: which entity, which cursor, after how many attempts, why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("fetching {entity} after version {after} failed after {attempts} attempt{}: {cause}", if *attempts == 1 { "" } else { "s" })]
pub struct FetchError {
    pub entity: Entity,
    pub after: i64,
    pub attempts: u32,
    pub cause: ApiError,
}

/// Picks a short, body-free detail from an error body: the API's own `error`/`message`
/// strings (never records), clipped.
pub(crate) fn error_detail(body: &[u8]) -> Option<String> {
    const MAX_DETAIL_CHARS: usize = 200;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let parts: Vec<&str> = ["error", "message"]
        .iter()
        .filter_map(|key| object.get(*key).and_then(|v| v.as_str()))
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(parts.join(": ").chars().take(MAX_DETAIL_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, detail: Option<&str>) -> ApiError {
        ApiError::Status {
            status,
            detail: detail.map(String::from),
        }
    }

    #[test]
    fn classifier_separates_transient_from_fatal() {
        for transient in [
            status(500, None),
            status(502, None),
            status(503, None),
            status(400, Some("Please try again later.")),
            ApiError::Timeout,
            ApiError::Connection("reset".into()),
            ApiError::BodyCut("eof".into()),
            ApiError::Page(PageError::Envelope("truncated".into())),
            ApiError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
        ] {
            assert!(transient.is_transient(), "{transient:?}");
        }
        for fatal in [
            ApiError::Unauthorized,
            status(400, Some("bad parameter")),
            status(403, None),
            status(404, None),
            ApiError::Page(PageError::LoopGuard {
                after: 1,
                max_version: 1,
            }),
        ] {
            assert!(!fatal.is_transient(), "{fatal:?}");
        }
    }

    #[test]
    fn error_detail_keeps_the_api_message_only() {
        assert_eq!(
            error_detail(br#"{"error":"Too Many Requests","message":"Rate limiting enforced"}"#)
                .as_deref(),
            Some("Too Many Requests: Rate limiting enforced")
        );
        assert_eq!(error_detail(br#"{"data":[{"email":"x@y"}]}"#), None);
        assert_eq!(error_detail(b"<html>"), None);
    }

    #[test]
    fn unauthorized_tells_the_user_what_to_check() {
        assert!(ApiError::Unauthorized
            .to_string()
            .contains("LIGHTSPEED_TOKEN"));
    }
}
