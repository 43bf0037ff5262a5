//! Dashboard settings: how people (password or its argon2 hash) and monitors (bearer token)
//! authenticate, and whether the session cookie is `Secure`.

use super::flags::Inputs;
use super::{vars, ConfigError, Secret};

/// How the dashboard authenticates people and monitors.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The password (plain) or its argon2 PHC hash.
    pub password: DashboardPassword,
    /// Bearer token for `/api/*` (disabled when unset).
    pub api_token: Option<Secret>,
    /// Mark the session cookie `Secure` (set when the dashboard is served over https).
    pub secure_cookies: bool,
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
    Ok(DashboardSettings {
        password,
        api_token,
        secure_cookies,
    })
}

impl DashboardSettings {
    /// The settings `serve` needs, or an error naming the password variable.
    pub(super) fn require(&self) -> Result<DashboardConfig, ConfigError> {
        let password = self.password.clone().ok_or(ConfigError::Missing {
            variable: vars::DASHBOARD_PASSWORD,
            hint: "the dashboard has no built-in password: set LIGHTSYNC_DASHBOARD_PASSWORD (or an argon2 hash in LIGHTSYNC_DASHBOARD_PASSWORD_HASH)",
        })?;
        Ok(DashboardConfig {
            password,
            api_token: self.api_token.clone(),
            secure_cookies: self.secure_cookies,
        })
    }
}
