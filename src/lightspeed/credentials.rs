//! The bearer token every request carries. A personal token never changes. An OAuth app's
//! access token lasts a week: it is renewed before it expires and after a 401, with the refresh
//! token from `token_file` (or the configured one to start a chain), and the rotated refresh
//! token is made durable before the new access token is used. Tokens are never logged.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::RwLock;

use reqwest::header::HeaderValue;
use serde::Deserialize;

use super::error::ApiError;
use super::token_file::{seed_of, StoredTokens, TokenFile};
use crate::config::{OAuthApp, Secret};

/// An access token expiring sooner than this is renewed before a run uses it.
pub const RENEW_AHEAD_SECS: i64 = 24 * 3600;

/// The current bearer token and, for an OAuth app, how to renew it.
pub struct Credentials {
    bearer: RwLock<Option<HeaderValue>>,
    /// Grows with every renewal, so concurrent 401s renew once.
    generation: AtomicU64,
    renewal: Option<Renewal>,
}

struct Renewal {
    app: OAuthApp,
    token_url: String,
    file: TokenFile,
    /// Unix time the access token expires at; 0 when unknown (a configured one).
    expires_at: AtomicI64,
    in_process: tokio::sync::Mutex<()>,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct Issued {
    access_token: String,
    #[serde(default)]
    expires: Option<i64>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

fn header(token: &str) -> Result<HeaderValue, ApiError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        ApiError::Renewal(
            "the token contains characters not allowed in a header; check LIGHTSPEED_TOKEN".into(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `POST /api/1.0/token` beside the API base (`.../api/2.0`).
pub fn token_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let root = base.strip_suffix("/api/2.0").unwrap_or(base);
    format!("{root}/api/1.0/token")
}

impl Credentials {
    /// A personal token (or an access token nobody renews).
    pub fn fixed(token: &Secret) -> Result<Credentials, ApiError> {
        Ok(Credentials {
            bearer: RwLock::new(Some(header(token.expose())?)),
            generation: AtomicU64::new(0),
            renewal: None,
        })
    }

    /// An OAuth app's tokens: the stored ones when they descend from the configured refresh
    /// token, else `initial` (the configured access token, if any).
    pub fn oauth(
        app: &OAuthApp,
        initial: Option<&Secret>,
        base_url: &str,
        file: TokenFile,
    ) -> Result<Credentials, ApiError> {
        let stored = file
            .load()
            .map_err(|err| ApiError::Renewal(format!("reading the stored OAuth tokens: {err}")))?
            .filter(|stored| stored.seeded_from == seed_of(app.refresh_token.expose()));
        let (bearer, expires_at) = match (&stored, initial) {
            (Some(stored), _) => (Some(header(&stored.access_token)?), stored.expires_at),
            (None, Some(token)) => (Some(header(token.expose())?), 0),
            (None, None) => (None, 0),
        };
        Ok(Credentials {
            bearer: RwLock::new(bearer),
            generation: AtomicU64::new(0),
            renewal: Some(Renewal {
                app: app.clone(),
                token_url: token_url(base_url),
                file,
                expires_at: AtomicI64::new(expires_at),
                in_process: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Whether a 401 can be answered by renewing.
    pub fn renews(&self) -> bool {
        self.renewal.is_some()
    }

    /// The header to send and the generation it belongs to (`None`: nothing to send yet).
    pub fn current(&self) -> (Option<HeaderValue>, u64) {
        let bearer = self.bearer.read().expect("bearer lock").clone();
        (bearer, self.generation.load(Ordering::SeqCst))
    }

    /// Renews now unless the token is known to last another `RENEW_AHEAD_SECS`.
    pub async fn renew_if_expiring(&self, http: &reqwest::Client) -> Result<(), ApiError> {
        let Some(renewal) = &self.renewal else {
            return Ok(());
        };
        let expires_at = renewal.expires_at.load(Ordering::SeqCst);
        let (bearer, generation) = self.current();
        let expiring =
            expires_at != 0 && expires_at - chrono::Utc::now().timestamp() < RENEW_AHEAD_SECS;
        if bearer.is_none() || expiring {
            self.renew(http, generation).await?;
        }
        Ok(())
    }

    /// Renews the access token that was current at `seen` (a later one is kept: another request
    /// renewed it already).
    pub async fn renew(&self, http: &reqwest::Client, seen: u64) -> Result<(), ApiError> {
        let Some(renewal) = &self.renewal else {
            return Err(ApiError::Unauthorized);
        };
        let _one_here = renewal.in_process.lock().await;
        if self.generation.load(Ordering::SeqCst) != seen {
            return Ok(());
        }
        let file = renewal.file.clone();
        let (lock, stored) = tokio::task::spawn_blocking(move || {
            let lock = file.lock()?;
            file.load().map(|stored| (lock, stored))
        })
        .await
        .map_err(|err| ApiError::Renewal(format!("the renewal task failed: {err}")))?
        .map_err(|err| ApiError::Renewal(format!("the stored OAuth tokens: {err}")))?;
        let seed = seed_of(renewal.app.refresh_token.expose());
        let stored = stored.filter(|stored| stored.seeded_from == seed);
        let now = chrono::Utc::now().timestamp();
        let ours = self.bearer.read().expect("bearer lock").clone();
        if let Some(stored) = &stored {
            // Another process renewed since this one read the file: use its token.
            let theirs = header(&stored.access_token)?;
            if Some(&theirs) != ours.as_ref() && stored.expires_at > now + 60 {
                self.adopt(renewal, theirs, stored.expires_at);
                return Ok(());
            }
        }
        let spend = stored
            .as_ref()
            .map_or(renewal.app.refresh_token.expose(), |s| &s.refresh_token)
            .to_string();
        let answer = http
            .post(&renewal.token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", spend.as_str()),
                ("client_id", renewal.app.client_id.as_str()),
                ("client_secret", renewal.app.client_secret.expose()),
            ])
            .send()
            .await
            .map_err(|err| {
                ApiError::Renewal(format!(
                    "the token endpoint did not answer: {}",
                    super::body::root_cause(&err)
                ))
            })?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|err| {
            ApiError::Renewal(format!("the token endpoint's answer was cut off: {err}"))
        })?;
        if !status.is_success() {
            return Err(ApiError::Renewal(format!(
                "the token endpoint refused the refresh token (HTTP {}{}): it may have been spent by a renewal whose answer was lost; authorize lightsync again and set LIGHTSPEED_REFRESH_TOKEN to the new refresh token",
                status.as_u16(),
                super::error::error_detail(&body)
                    .map(|detail| format!(": {detail}"))
                    .unwrap_or_default()
            )));
        }
        let issued: Issued = serde_json::from_slice(&body).map_err(|_| {
            ApiError::Renewal("the token endpoint's answer is not the documented JSON".into())
        })?;
        let expires_at = issued
            .expires
            .or(issued.expires_in.map(|secs| now + secs))
            .unwrap_or(now + 7 * 24 * 3600);
        let tokens = StoredTokens {
            access_token: issued.access_token,
            expires_at,
            // A token endpoint that does not rotate keeps the refresh token it was given.
            refresh_token: issued.refresh_token.unwrap_or(spend),
            seeded_from: seed,
            renewed_at: now,
        };
        let bearer = header(&tokens.access_token)?;
        let file = renewal.file.clone();
        tokio::task::spawn_blocking(move || file.save(&tokens))
            .await
            .map_err(|err| ApiError::Renewal(format!("the renewal task failed: {err}")))?
            .map_err(|err| {
                ApiError::Renewal(format!(
                    "storing the renewed OAuth tokens failed ({err}); the refresh token just issued is lost: authorize lightsync again"
                ))
            })?;
        drop(lock);
        self.adopt(renewal, bearer, expires_at);
        log::info!(
            "renewed the OAuth access token; it expires at {}",
            chrono::DateTime::from_timestamp(expires_at, 0)
                .map(|at| at.to_rfc3339())
                .unwrap_or_default()
        );
        Ok(())
    }

    fn adopt(&self, renewal: &Renewal, bearer: HeaderValue, expires_at: i64) {
        *self.bearer.write().expect("bearer lock") = Some(bearer);
        renewal.expires_at.store(expires_at, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_sits_beside_the_api() {
        assert_eq!(
            token_url("https://shop.retail.lightspeed.app/api/2.0"),
            "https://shop.retail.lightspeed.app/api/1.0/token"
        );
        assert_eq!(
            token_url("http://127.0.0.1:9100/api/2.0/"),
            "http://127.0.0.1:9100/api/1.0/token"
        );
    }
}
