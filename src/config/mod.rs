//! Configuration: built once from command-line flags, the environment and `.env`, validated, and
//! passed down. One file per area (database, API, engine, dashboard); every variable's name is
//! written once in `vars`. Every error names the flag or variable to fix; secrets never appear
//! in messages or `Debug` output.

mod api;
mod dashboard;
mod database;
mod engine;
mod flags;
mod follow;
mod monitoring;
mod parse;
mod secret;
pub mod vars;

use std::time::Duration;

use url::Url;

pub use api::{
    ApiConfig, OAuthApp, DEFAULT_HTTP_TIMEOUT_SECS, DEFAULT_MAX_ATTEMPTS, DEFAULT_PAGE_SIZE,
    DEFAULT_RATE_SHARE, DEFAULT_RATE_WINDOW_SECS,
};
pub use dashboard::{
    check_not_guessable, DashboardConfig, DashboardPassword, TrustedProxy, MIN_API_TOKEN_CHARS,
    MIN_PASSWORD_CHARS,
};
pub use database::DatabaseUrl;
pub use engine::{
    EngineConfig, DEFAULT_CHECKPOINT_DIR, DEFAULT_DB_PATIENCE_SECS, DEFAULT_SPOOL_MAX_BYTES,
};
pub use flags::ConfigFlags;
pub use follow::{format_interval, parse_interval, FollowPlan};
pub use monitoring::{
    parse_schedule, parse_webhooks, MonitoringConfig, WebhookUrl, DEFAULT_ALERT_CHECK_SECS,
    DEFAULT_ALERT_TIMEOUT_SECS, DEFAULT_LAG_ALERT_SECS,
};
pub use secret::Secret;

use dashboard::DashboardSettings;
use flags::Inputs;

/// A configuration problem: the message names the variable or flag to fix.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{variable} is not set: {hint}")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("{variable} is invalid: {reason}")]
    Invalid {
        /// The flag (`--page-size`) or variable (`LIGHTSYNC_PAGE_SIZE`) the value came from.
        variable: &'static str,
        reason: String,
    },
}

/// The whole configuration. Required parts are checked when a command asks for them, so
/// `lightsync migrate` does not demand an API token.
#[derive(Debug, Clone)]
pub struct Config {
    database_url: Option<DatabaseUrl>,
    api_base_url: Option<Url>,
    api_token: Option<Secret>,
    oauth: Option<OAuthApp>,
    pub page_size: u32,
    pub rate_share: f64,
    pub rate_window: Duration,
    pub max_attempts: u32,
    pub http_timeout: Duration,
    pub engine: EngineConfig,
    pub health: crate::health::HealthThresholds,
    dashboard: DashboardSettings,
    /// Alerts, metrics and the scheduler.
    pub monitoring: MonitoringConfig,
}

impl Config {
    /// Reads the flags (which clap already filled from the environment where absent) and the
    /// process environment (after `.env` was loaded by `main`).
    pub fn from_env(flags: &ConfigFlags) -> Result<Config, ConfigError> {
        Config::load(flags, &|name| std::env::var(name).ok())
    }

    /// Builds the configuration from flags and a variable lookup (the environment in
    /// production, a map in tests).
    pub fn load(
        flags: &ConfigFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let inputs = Inputs { flags, env };
        let database_url = database::load_database_url(&inputs)?;
        let api = api::load_api(&inputs)?;
        let engine = engine::load_engine(&inputs)?;
        let health = engine::load_health(&inputs)?;
        let dashboard = dashboard::load_dashboard(&inputs)?;
        let monitoring = monitoring::load_monitoring(&inputs)?;
        Ok(Config {
            database_url,
            api_base_url: api.base_url,
            api_token: api.token,
            oauth: api.oauth,
            page_size: api.page_size,
            rate_share: api.rate_share,
            rate_window: api.rate_window,
            max_attempts: api.max_attempts,
            http_timeout: api.http_timeout,
            engine,
            health,
            dashboard,
            monitoring,
        })
    }

    /// The database to use, or an error saying how to name one.
    pub fn database_url(&self) -> Result<&DatabaseUrl, ConfigError> {
        self.database_url.as_ref().ok_or(ConfigError::Missing {
            variable: vars::DATABASE_URL,
            hint: "set it (or pass --database-url) to postgres://USER:PASSWORD@HOST:PORT/DATABASE",
        })
    }

    /// The API settings, or an error naming the missing variable.
    pub fn api(&self) -> Result<ApiConfig, ConfigError> {
        let base_url = self.api_base_url.clone().ok_or(ConfigError::Missing {
            variable: vars::DOMAIN_PREFIX,
            hint: "set LIGHTSPEED_DOMAIN_PREFIX (your store's name in https://NAME.retail.lightspeed.app) or LIGHTSPEED_BASE_URL",
        })?;
        if self.api_token.is_none() && self.oauth.is_none() {
            return Err(ConfigError::Missing {
                variable: vars::TOKEN,
                hint: "create a personal token in Lightspeed Retail under Setup > Personal tokens and set LIGHTSPEED_TOKEN to it (or, for an OAuth app, set LIGHTSPEED_CLIENT_ID, LIGHTSPEED_CLIENT_SECRET and LIGHTSPEED_REFRESH_TOKEN)",
            });
        }
        Ok(ApiConfig {
            base_url,
            token: self.api_token.clone(),
            oauth: self.oauth.clone(),
            page_size: self.page_size,
            rate_share: self.rate_share,
            rate_window: self.rate_window,
            max_attempts: self.max_attempts,
            timeout: self.http_timeout,
        })
    }

    /// The dashboard's authentication settings, or an error naming the password variable.
    pub fn dashboard(&self) -> Result<DashboardConfig, ConfigError> {
        self.dashboard.require()
    }

    /// Sets the dashboard password (used by `demo`, which generates one).
    pub fn set_dashboard_password(&mut self, password: Secret) {
        self.dashboard.password = Some(DashboardPassword::Plain(password));
    }

    /// Replaces the database URL (used by `demo`, which may start its own server).
    pub fn set_database_url(&mut self, url: DatabaseUrl) {
        self.database_url = Some(url);
    }

    /// Replaces the API endpoint and token (used by `demo`, which runs its own simulator).
    pub fn set_api(&mut self, base_url: Url, token: Secret) {
        self.api_base_url = Some(base_url);
        self.api_token = Some(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Duration;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with_flags(&ConfigFlags::default(), vars)
    }

    fn load_with_flags(flags: &ConfigFlags, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(flags, &|name| map.get(name).cloned())
    }

    fn invalid_variable(result: Result<Config, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Invalid { variable, .. }) => variable,
            other => panic!("expected an invalid-value error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load(&[]).unwrap();
        assert_eq!(config.page_size, 10_000);
        assert_eq!(config.rate_share, 0.95);
        assert_eq!(config.engine.checkpoint_dir, PathBuf::from(".lightsync"));
        assert_eq!(config.engine.spool_max_bytes, 64 * 1024 * 1024);
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let err = load(&[]).unwrap().database_url().unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL is not set"), "{err}");
    }

    #[test]
    fn malformed_database_url_names_the_variable_without_the_password() {
        let result = load(&[("DATABASE_URL", "mysql://u:hunter2@h/db")]);
        let err = result.unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(
            invalid_variable(load(&[("DATABASE_URL", "not a url")])),
            "DATABASE_URL"
        );
        assert_eq!(
            invalid_variable(load(&[("DATABASE_URL", "postgres:///db")])),
            "DATABASE_URL"
        );
    }

    #[test]
    fn database_url_hides_its_password_everywhere() {
        let config =
            load(&[("DATABASE_URL", "postgres://u:s3cr%40t@db.example:6543/app")]).unwrap();
        let url = config.database_url().unwrap();
        assert!(!url.to_string().contains("s3cr"));
        assert!(!format!("{url:?}").contains("s3cr"));
        assert!(!format!("{config:?}").contains("s3cr"));
        assert_eq!(url.host_port(), "db.example:6543");
        assert!(url.expose().contains("connect_timeout=10"));
        let scrubbed = url.scrub("failed for s3cr%40t and s3cr@t");
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
    }

    #[test]
    fn a_schema_goes_onto_the_search_path() {
        let config = load(&[
            ("DATABASE_URL", "postgres://u@h/db?sslmode=require"),
            ("LIGHTSYNC_DB_SCHEMA", "lightsync"),
        ])
        .unwrap();
        let url = config.database_url().unwrap().expose().to_string();
        assert!(url.contains("sslmode=require"), "{url}");
        assert!(
            url.contains("options=-c%20search_path%3Dlightsync"),
            "{url}"
        );
        assert_eq!(
            invalid_variable(load(&[
                ("DATABASE_URL", "postgres://u@h/db"),
                ("LIGHTSYNC_DB_SCHEMA", "Robert'); DROP")
            ])),
            "LIGHTSYNC_DB_SCHEMA"
        );
    }

    #[test]
    fn query_password_is_redacted() {
        let url = DatabaseUrl::parse("postgres://h/db?password=topsecret", "DATABASE_URL").unwrap();
        assert!(!url.redacted().contains("topsecret"));
        assert!(!url.scrub("x topsecret y").contains("topsecret"));
    }

    #[test]
    fn api_requires_an_endpoint_and_a_token() {
        let err = load(&[("LIGHTSPEED_TOKEN", "t")])
            .unwrap()
            .api()
            .unwrap_err();
        assert!(
            err.to_string().contains("LIGHTSPEED_DOMAIN_PREFIX"),
            "{err}"
        );
        let err = load(&[("LIGHTSPEED_DOMAIN_PREFIX", "shop")])
            .unwrap()
            .api()
            .unwrap_err();
        assert!(err.to_string().contains("LIGHTSPEED_TOKEN"), "{err}");
    }

    #[test]
    fn domain_prefix_builds_the_documented_base_url() {
        let config = load(&[
            ("LIGHTSPEED_DOMAIN_PREFIX", "my-shop"),
            ("LIGHTSPEED_TOKEN", "t0k"),
        ])
        .unwrap();
        let api = config.api().unwrap();
        assert_eq!(
            api.base_url.as_str(),
            "https://my-shop.retail.lightspeed.app/api/2.0"
        );
        assert!(!format!("{api:?}").contains("t0k"));
        assert_eq!(
            invalid_variable(load(&[("LIGHTSPEED_DOMAIN_PREFIX", "My Shop!")])),
            "LIGHTSPEED_DOMAIN_PREFIX"
        );
    }

    #[test]
    fn base_url_wins_over_prefix_and_is_validated() {
        let config = load(&[
            ("LIGHTSPEED_BASE_URL", "http://127.0.0.1:9100/api/2.0/"),
            ("LIGHTSPEED_DOMAIN_PREFIX", "ignored"),
            ("LIGHTSPEED_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(
            config.api().unwrap().base_url.as_str(),
            "http://127.0.0.1:9100/api/2.0"
        );
        for bad in [
            "ftp://x/api",
            "nonsense",
            "https://u:p@x/api/2.0",
            "https://x/api?token=1",
        ] {
            assert_eq!(
                invalid_variable(load(&[("LIGHTSPEED_BASE_URL", bad)])),
                "LIGHTSPEED_BASE_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn numeric_settings_reject_garbage_and_out_of_range_values() {
        for (variable, bad) in [
            ("LIGHTSYNC_PAGE_SIZE", "abc"),
            ("LIGHTSYNC_PAGE_SIZE", "0"),
            ("LIGHTSYNC_PAGE_SIZE", "-5"),
            ("LIGHTSYNC_RATE_SHARE", "1.5"),
            ("LIGHTSYNC_RATE_SHARE", "lots"),
            ("LIGHTSYNC_RATE_WINDOW_SECS", "0"),
            ("LIGHTSYNC_MAX_ATTEMPTS", "many"),
            ("LIGHTSYNC_HTTP_TIMEOUT_SECS", "0"),
            ("LIGHTSYNC_SPOOL_MAX_BYTES", "10"),
            ("LIGHTSYNC_DB_PATIENCE_SECS", "x"),
            ("LIGHTSYNC_HEALTH_YELLOW_HOURS", "-1"),
            ("LIGHTSYNC_HEALTH_RED_HOURS", "soon"),
            ("LIGHTSYNC_SECURE_COOKIES", "maybe"),
            ("LIGHTSYNC_DASHBOARD_PASSWORD_HASH", "plaintext"),
        ] {
            let err = load(&[(variable, bad)]).unwrap_err();
            assert_eq!(invalid_variable(Err(err.clone())), variable);
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn the_dashboard_has_no_default_password() {
        let err = load(&[]).unwrap().dashboard().unwrap_err();
        assert!(
            err.to_string().contains("LIGHTSYNC_DASHBOARD_PASSWORD"),
            "{err}"
        );
        let token = "tok-0123456789abcdef0123456789abcdef";
        let config = load(&[
            ("LIGHTSYNC_DASHBOARD_PASSWORD", "twelve chars"),
            ("LIGHTSYNC_API_TOKEN", token),
        ])
        .unwrap();
        let dashboard = config.dashboard().unwrap();
        assert!(matches!(dashboard.password, DashboardPassword::Plain(_)));
        assert!(dashboard.trusted_proxy.is_none());
        assert!(!format!("{config:?}").contains(token));
    }

    #[test]
    fn short_dashboard_secrets_are_configuration_errors_naming_their_variable() {
        let long_token = "x".repeat(MIN_API_TOKEN_CHARS);
        for (password, token, variable) in [
            (
                "eleven char",
                long_token.as_str(),
                "LIGHTSYNC_DASHBOARD_PASSWORD",
            ),
            ("x", long_token.as_str(), "LIGHTSYNC_DASHBOARD_PASSWORD"),
            ("long enough pw", &long_token[1..], "LIGHTSYNC_API_TOKEN"),
        ] {
            let err = load(&[
                ("LIGHTSYNC_DASHBOARD_PASSWORD", password),
                ("LIGHTSYNC_API_TOKEN", token),
            ])
            .unwrap()
            .dashboard()
            .unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { variable: v, .. } if *v == variable),
                "{err}"
            );
            assert!(!err.to_string().contains(password), "{err}");
        }
        // Twelve characters, not bytes: "pässwörd" style passwords count what people typed.
        assert!(load(&[("LIGHTSYNC_DASHBOARD_PASSWORD", "äöüßäöüßäöüß")])
            .unwrap()
            .dashboard()
            .is_ok());
    }

    #[test]
    fn guessable_passwords_are_refused_whatever_their_length() {
        for (password, reason) in [
            ("            ", "only whitespace"),
            (" \t   \t      \t ", "only whitespace"),
            ("aaaaaaaaaaaaaaaa", "one character repeated"),
            ("ääääääääääää", "one character repeated"),
            ("Password1234", "most common passwords"),
            ("  qwerty123456 ", "most common passwords"),
        ] {
            let err = load(&[("LIGHTSYNC_DASHBOARD_PASSWORD", password)])
                .unwrap()
                .dashboard()
                .unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("LIGHTSYNC_DASHBOARD_PASSWORD"),
                "{message}"
            );
            assert!(message.contains(reason), "{password:?}: {message}");
            let secret = password.trim();
            assert!(secret.is_empty() || !message.contains(secret), "{message}");
        }
        assert!(
            load(&[("LIGHTSYNC_DASHBOARD_PASSWORD", "a quiet password 7")])
                .unwrap()
                .dashboard()
                .is_ok()
        );
    }

    #[test]
    fn a_trusted_proxy_names_its_addresses_and_header() {
        let config = load(&[("LIGHTSYNC_TRUSTED_PROXY", "127.0.0.1, ::1")]).unwrap();
        let proxy = config.dashboard.trusted_proxy.clone().unwrap();
        assert_eq!(
            proxy.addresses,
            [
                "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(proxy.header, "X-Forwarded-For");
        let config = load(&[
            ("LIGHTSYNC_TRUSTED_PROXY", "10.0.0.2"),
            ("LIGHTSYNC_TRUSTED_PROXY_HEADER", "X-Real-IP"),
        ])
        .unwrap();
        assert_eq!(config.dashboard.trusted_proxy.unwrap().header, "X-Real-IP");
        assert_eq!(
            invalid_variable(load(&[("LIGHTSYNC_TRUSTED_PROXY", "proxy.local")])),
            "LIGHTSYNC_TRUSTED_PROXY"
        );
        assert_eq!(
            invalid_variable(load(&[("LIGHTSYNC_TRUSTED_PROXY_HEADER", "X-Real-IP")])),
            "LIGHTSYNC_TRUSTED_PROXY_HEADER",
            "a header without a proxy would be trusted from anyone"
        );
        assert_eq!(
            invalid_variable(load(&[
                ("LIGHTSYNC_TRUSTED_PROXY", "10.0.0.2"),
                ("LIGHTSYNC_TRUSTED_PROXY_HEADER", "X Real: IP")
            ])),
            "LIGHTSYNC_TRUSTED_PROXY_HEADER"
        );
    }

    #[test]
    fn health_thresholds_come_from_hours() {
        let config = load(&[
            ("LIGHTSYNC_HEALTH_YELLOW_HOURS", "1"),
            ("LIGHTSYNC_HEALTH_RED_HOURS", "6"),
        ])
        .unwrap();
        assert_eq!(config.health.yellow_after, Duration::from_secs(3600));
        assert_eq!(config.health.red_after, Duration::from_secs(6 * 3600));
        assert_eq!(
            invalid_variable(load(&[
                ("LIGHTSYNC_HEALTH_YELLOW_HOURS", "8"),
                ("LIGHTSYNC_HEALTH_RED_HOURS", "4")
            ])),
            "LIGHTSYNC_HEALTH_RED_HOURS"
        );
    }

    #[test]
    fn flags_override_the_environment() {
        let flags = ConfigFlags {
            page_size: Some("250".into()),
            checkpoint_dir: Some(PathBuf::from("/tmp/cp")),
            database_url: Some("postgres://flag@h/db".into()),
            ..ConfigFlags::default()
        };
        let config = load_with_flags(
            &flags,
            &[
                ("LIGHTSYNC_PAGE_SIZE", "10"),
                ("LIGHTSYNC_CHECKPOINT_DIR", "/tmp/env"),
                ("DATABASE_URL", "postgres://env@h/db"),
            ],
        )
        .unwrap();
        assert_eq!(config.page_size, 250);
        assert_eq!(config.engine.checkpoint_dir, PathBuf::from("/tmp/cp"));
        assert!(config
            .database_url()
            .unwrap()
            .expose()
            .starts_with("postgres://flag@"));
    }

    #[test]
    fn a_bad_flag_is_reported_as_the_flag_and_a_bad_variable_as_the_variable() {
        let flags = ConfigFlags {
            page_size: Some("lots".into()),
            ..ConfigFlags::default()
        };
        assert_eq!(
            invalid_variable(load_with_flags(&flags, &[])),
            "--page-size"
        );
        assert_eq!(
            invalid_variable(load_with_flags(&flags, &[("LIGHTSYNC_PAGE_SIZE", "7")])),
            "--page-size"
        );
        // clap fills an absent flag from its variable: the same value is the variable's.
        let from_env = ConfigFlags {
            page_size: Some("lots".into()),
            ..ConfigFlags::default()
        };
        assert_eq!(
            invalid_variable(load_with_flags(
                &from_env,
                &[("LIGHTSYNC_PAGE_SIZE", "lots")]
            )),
            "LIGHTSYNC_PAGE_SIZE"
        );
    }

    #[test]
    fn a_token_that_cannot_travel_in_a_header_is_a_configuration_error() {
        for bad in ["abc\u{7}def", "abc def", "tök"] {
            let err = load(&[("LIGHTSPEED_TOKEN", bad)]).unwrap_err();
            assert_eq!(invalid_variable(Err(err.clone())), "LIGHTSPEED_TOKEN");
            assert!(!err.to_string().contains("abc"), "{err}");
        }
        let config = load(&[("LIGHTSPEED_TOKEN", "  good-token  ")]).unwrap();
        assert_eq!(config.api_token.unwrap().expose(), "good-token");
    }
}
