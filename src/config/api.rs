//! Lightspeed API settings: the endpoint, the token (checked to be sendable in a header), page
//! size, rate share, retries and timeouts.

use std::time::Duration;

use url::Url;

use super::flags::{Inputs, Setting};
use super::parse::number_or;
use super::{vars, ConfigError, Secret};

/// Default rows per page requested from the API (the server clamps to its own cap).
pub const DEFAULT_PAGE_SIZE: u32 = 10_000;
/// Share of the API quota lightsync may spend; the rest is left to the retailer's other apps.
pub const DEFAULT_RATE_SHARE: f64 = 0.95;
/// The API's rate window: documented as 5 minutes.
pub const DEFAULT_RATE_WINDOW_SECS: u64 = 300;
/// Attempts per request before a transient failure fails the entity.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Per-request HTTP timeout: long enough for a slow 1000-row page, short enough to notice a hang.
pub const DEFAULT_HTTP_TIMEOUT_SECS: u64 = 60;

/// An OAuth app's credentials: with them, lightsync renews the access token itself.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
    /// The refresh token the store's owner authorized; rotated on every renewal.
    pub refresh_token: Secret,
}

/// Everything about talking to the Lightspeed API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Ends with the version segment, e.g. `https://shop.retail.lightspeed.app/api/2.0`.
    pub base_url: Url,
    /// A personal token, or an OAuth access token to start with (`None`: renew first).
    pub token: Option<Secret>,
    pub oauth: Option<OAuthApp>,
    pub page_size: u32,
    pub rate_share: f64,
    pub rate_window: Duration,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// The API settings as loaded; the endpoint and token are checked when a command needs them.
#[derive(Debug, Clone)]
pub(super) struct ApiSettings {
    pub base_url: Option<Url>,
    pub token: Option<Secret>,
    pub oauth: Option<OAuthApp>,
    pub page_size: u32,
    pub rate_share: f64,
    pub rate_window: Duration,
    pub max_attempts: u32,
    pub http_timeout: Duration,
}

pub(super) fn load_api(inputs: &Inputs) -> Result<ApiSettings, ConfigError> {
    let flags = inputs.flags;
    let base_url = match (
        inputs.flagged(flags.base_url.as_deref(), "--base-url", vars::BASE_URL),
        inputs.flagged(
            flags.domain_prefix.as_deref(),
            "--domain-prefix",
            vars::DOMAIN_PREFIX,
        ),
    ) {
        (Some(base), _) => Some(parse_base_url(&base)?),
        (None, Some(prefix)) => Some(base_url_for_prefix(&prefix)?),
        (None, None) => None,
    };
    let token = inputs
        .flagged(flags.token.as_deref(), "--token", vars::TOKEN)
        .map(|setting| parse_token(&setting))
        .transpose()?;
    let page_size = number_or(
        inputs.flagged(flags.page_size.as_deref(), "--page-size", vars::PAGE_SIZE),
        DEFAULT_PAGE_SIZE,
        1..=100_000,
    )?;
    let rate_share = inputs
        .variable(vars::RATE_SHARE)
        .map_or(Ok(DEFAULT_RATE_SHARE), |s| s.share())?;
    let rate_window_secs = number_or(
        inputs.variable(vars::RATE_WINDOW_SECS),
        DEFAULT_RATE_WINDOW_SECS,
        1..=3600,
    )?;
    let max_attempts = number_or(
        inputs.variable(vars::MAX_ATTEMPTS),
        DEFAULT_MAX_ATTEMPTS,
        1..=100,
    )?;
    let http_timeout_secs = number_or(
        inputs.variable(vars::HTTP_TIMEOUT_SECS),
        DEFAULT_HTTP_TIMEOUT_SECS,
        1..=3600,
    )?;
    let oauth = load_oauth(inputs)?;
    Ok(ApiSettings {
        base_url,
        token,
        oauth,
        page_size,
        rate_share,
        rate_window: Duration::from_secs(rate_window_secs),
        max_attempts,
        http_timeout: Duration::from_secs(http_timeout_secs),
    })
}

/// The OAuth app's three settings: all or none.
fn load_oauth(inputs: &Inputs) -> Result<Option<OAuthApp>, ConfigError> {
    let client_id = inputs.variable(vars::CLIENT_ID);
    let client_secret = inputs.variable(vars::CLIENT_SECRET);
    let refresh_token = inputs.variable(vars::REFRESH_TOKEN);
    match (client_id, client_secret, refresh_token) {
        (None, None, None) => Ok(None),
        (Some(id), Some(secret), Some(refresh)) => Ok(Some(OAuthApp {
            client_id: id.value.trim().to_string(),
            client_secret: Secret::new(secret.value.trim()),
            refresh_token: parse_token(&refresh)?,
        })),
        (id, secret, refresh) => {
            let missing: Vec<&str> = [
                (id.is_none(), vars::CLIENT_ID),
                (secret.is_none(), vars::CLIENT_SECRET),
                (refresh.is_none(), vars::REFRESH_TOKEN),
            ]
            .into_iter()
            .filter(|(absent, _)| *absent)
            .map(|(_, name)| name)
            .collect();
            Err(ConfigError::Invalid {
                variable: missing[0],
                reason: format!(
                    "an OAuth app needs {}, {} and {} together; {} missing",
                    vars::CLIENT_ID,
                    vars::CLIENT_SECRET,
                    vars::REFRESH_TOKEN,
                    missing.join(" and ")
                ),
            })
        }
    }
}

/// A token goes into an `Authorization` header: only visible ASCII can travel there. The message
/// never repeats the token.
fn parse_token(setting: &Setting) -> Result<Secret, ConfigError> {
    let token = setting.value.trim();
    if let Some(position) = token.chars().position(|c| !c.is_ascii_graphic()) {
        return Err(setting.invalid(format!(
            "character {} of the token is a space, a control character or not ASCII, which cannot be sent in an HTTP header; copy the token again without it",
            position + 1
        )));
    }
    Ok(Secret::new(token))
}

fn parse_base_url(setting: &Setting) -> Result<Url, ConfigError> {
    let url = Url::parse(setting.value.trim().trim_end_matches('/')).map_err(|err| {
        setting.invalid(format!(
            "not a URL ({err}); expected e.g. https://NAME.retail.lightspeed.app/api/2.0"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(setting.invalid(
            "expected an http(s) URL such as https://NAME.retail.lightspeed.app/api/2.0",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(setting.invalid(format!(
            "must not carry credentials or a query string; put the token in {}",
            vars::TOKEN
        )));
    }
    Ok(url)
}

fn base_url_for_prefix(setting: &Setting) -> Result<Url, ConfigError> {
    let prefix = setting.value.trim();
    let valid = prefix.len() <= 63
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !prefix.starts_with('-')
        && !prefix.ends_with('-');
    if !valid {
        return Err(setting.invalid(format!(
            "`{prefix}` is not a store name; use the NAME in https://NAME.retail.lightspeed.app (lowercase letters, digits, hyphens)"
        )));
    }
    Url::parse(&format!("https://{prefix}.retail.lightspeed.app/api/2.0"))
        .map_err(|err| setting.invalid(err.to_string()))
}
