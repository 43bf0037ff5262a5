//! Dashboard settings: how people (password or its argon2 hash) and monitors (bearer token)
//! authenticate, whether the session cookie is `Secure`, and which reverse proxy (if any) may
//! name the client's address in a header.

use std::net::IpAddr;

use super::flags::{Inputs, Setting};
use super::{vars, ConfigError, Secret};

/// Shortest dashboard password accepted: long enough that the login throttle, not luck, decides.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Shortest API token accepted: monitors store it, so it can be long and random.
pub const MIN_API_TOKEN_CHARS: usize = 32;
/// The header a trusted proxy names the client in when LIGHTSYNC_TRUSTED_PROXY_HEADER is unset.
pub const DEFAULT_PROXY_HEADER: &str = "X-Forwarded-For";

/// How the dashboard authenticates people and monitors.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The password (plain) or its argon2 PHC hash.
    pub password: DashboardPassword,
    /// Bearer token for `/api/*` (disabled when unset).
    pub api_token: Option<Secret>,
    /// Mark the session cookie `Secure` (set when the dashboard is served over https).
    pub secure_cookies: bool,
    /// The reverse proxy whose header names the client; without one the socket peer is the client.
    pub trusted_proxy: Option<TrustedProxy>,
}

/// A reverse proxy the operator trusts to name the client's address in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxy {
    /// The proxy's own addresses (the socket peer when a request comes through it).
    pub addresses: Vec<IpAddr>,
    /// The header it sets, e.g. `X-Forwarded-For` or `X-Real-IP`.
    pub header: String,
}

/// Where the dashboard password comes from.
#[derive(Debug, Clone)]
pub enum DashboardPassword {
    Plain(Secret),
    /// An argon2 hash in PHC format (`$argon2id$...`).
    Hash(String),
}

/// The dashboard settings as loaded; the password is demanded only by `serve`.
#[derive(Debug, Clone)]
pub(super) struct DashboardSettings {
    pub password: Option<DashboardPassword>,
    pub api_token: Option<Secret>,
    pub secure_cookies: bool,
    pub trusted_proxy: Option<TrustedProxy>,
}

pub(super) fn load_dashboard(inputs: &Inputs) -> Result<DashboardSettings, ConfigError> {
    let password = match (
        inputs.variable(vars::DASHBOARD_PASSWORD_HASH),
        (inputs.env)(vars::DASHBOARD_PASSWORD).filter(|v| !v.is_empty()),
    ) {
        (Some(hash), _) => {
            let value = hash.value.trim().to_string();
            if !value.starts_with("$argon2") {
                return Err(hash.invalid(
                    "expected an argon2 hash in PHC format ($argon2id$...); `lightsync hash-password` prints one",
                ));
            }
            Some(DashboardPassword::Hash(value))
        }
        // A password is taken exactly as given: spaces may be part of it.
        (None, Some(password)) => Some(DashboardPassword::Plain(Secret::new(password))),
        (None, None) => None,
    };
    let api_token = inputs
        .variable(vars::API_TOKEN)
        .map(|setting| Secret::new(setting.value.trim()));
    let secure_cookies = inputs
        .variable(vars::SECURE_COOKIES)
        .map_or(Ok(false), |setting| setting.flag())?;
    let trusted_proxy = load_trusted_proxy(inputs)?;
    Ok(DashboardSettings {
        password,
        api_token,
        secure_cookies,
        trusted_proxy,
    })
}

fn load_trusted_proxy(inputs: &Inputs) -> Result<Option<TrustedProxy>, ConfigError> {
    let header = inputs.variable(vars::TRUSTED_PROXY_HEADER);
    let Some(proxy) = inputs.variable(vars::TRUSTED_PROXY) else {
        return match header {
            Some(header) => Err(header.invalid(format!(
                "it has no effect without {}: name the proxy's address there, or unset it",
                vars::TRUSTED_PROXY
            ))),
            None => Ok(None),
        };
    };
    let addresses = proxy
        .value
        .split(',')
        .map(|address| {
            let address = address.trim();
            address.parse::<IpAddr>().map_err(|_| {
                proxy.invalid(format!(
                    "`{address}` is not an IP address; expected the proxy's addresses separated by commas, e.g. 127.0.0.1"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = match header {
        Some(setting) => parse_header_name(&setting)?,
        None => DEFAULT_PROXY_HEADER.to_string(),
    };
    Ok(Some(TrustedProxy { addresses, header }))
}

fn parse_header_name(setting: &Setting) -> Result<String, ConfigError> {
    let name = setting.value.trim();
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(setting.invalid(format!(
            "`{name}` is not a header name; expected e.g. X-Forwarded-For or X-Real-IP"
        )));
    }
    Ok(name.to_string())
}

impl DashboardSettings {
    /// The settings `serve` needs, or an error naming the variable to fix: a missing password,
    /// or a password or API token shorter than its minimum.
    pub(super) fn require(&self) -> Result<DashboardConfig, ConfigError> {
        let password = self.password.clone().ok_or(ConfigError::Missing {
            variable: vars::DASHBOARD_PASSWORD,
            hint: "the dashboard has no built-in password: set LIGHTSYNC_DASHBOARD_PASSWORD (or an argon2 hash in LIGHTSYNC_DASHBOARD_PASSWORD_HASH)",
        })?;
        if let DashboardPassword::Plain(secret) = &password {
            check_length(vars::DASHBOARD_PASSWORD, secret, MIN_PASSWORD_CHARS)?;
            check_not_guessable(vars::DASHBOARD_PASSWORD, secret)?;
        }
        if let Some(token) = &self.api_token {
            check_length(vars::API_TOKEN, token, MIN_API_TOKEN_CHARS)?;
        }
        Ok(DashboardConfig {
            password,
            api_token: self.api_token.clone(),
            secure_cookies: self.secure_cookies,
            trusted_proxy: self.trusted_proxy.clone(),
        })
    }
}

/// Passwords of 12 characters or more that guessing lists try first (compared ignoring case).
const COMMON_PASSWORDS: [&str; 20] = [
    "123456789012",
    "1234567890123",
    "12345678901234",
    "1q2w3e4r5t6y",
    "qwertyuiop12",
    "qwerty123456",
    "qwertyuiopasdf",
    "password1234",
    "password123!",
    "passwordpassword",
    "password12345",
    "iloveyou1234",
    "letmein12345",
    "changeme1234",
    "welcome12345",
    "administrator",
    "admin1234567",
    "lightsync123",
    "lightspeed123",
    "correcthorsebatterystaple",
];

/// A password that is only whitespace, one character repeated, or on the list of the most
/// common ones is a configuration error (which never shows it), whatever its length.
pub fn check_not_guessable(variable: &'static str, secret: &Secret) -> Result<(), ConfigError> {
    let password = secret.expose();
    let mut chars = password.chars();
    let first = chars.next();
    let reason = if password.trim().is_empty() {
        Some("it is only whitespace")
    } else if first.is_some_and(|first| chars.all(|c| c == first)) {
        Some("it is one character repeated")
    } else if COMMON_PASSWORDS
        .iter()
        .any(|common| common.eq_ignore_ascii_case(password.trim()))
    {
        Some("it is one of the most common passwords")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::Invalid {
            variable,
            reason: format!("{reason}, which guessing tries first; choose another (e.g. `openssl rand -base64 33`)"),
        }),
        None => Ok(()),
    }
}

/// A secret shorter than `minimum` characters is a configuration error (which never shows it).
fn check_length(
    variable: &'static str,
    secret: &Secret,
    minimum: usize,
) -> Result<(), ConfigError> {
    let length = secret.expose().chars().count();
    if length < minimum {
        return Err(ConfigError::Invalid {
            variable,
            reason: format!(
                "it is {length} characters long; use at least {minimum} (e.g. `openssl rand -base64 33`)"
            ),
        });
    }
    Ok(())
}
