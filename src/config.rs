//! Configuration: built once from command-line flags, the environment and `.env`, validated, and
//! passed down. Every error names the variable or flag to fix; secrets never appear in messages
//! or `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// Default rows per page requested from the API (the server clamps to its own cap).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Share of the API quota lightsync may spend; the rest is left to the retailer's other apps.
pub const DEFAULT_RATE_SHARE: f64 = 0.95;
/// The API's rate window: documented as 5 minutes.
pub const DEFAULT_RATE_WINDOW_SECS: u64 = 300;
/// Attempts per request before a transient failure fails the entity.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Bytes of fetched-but-unapplied pages allowed in the checkpoint spool (back-pressure bound).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// How long the writer waits out a PostgreSQL outage before the run fails.
pub const DEFAULT_DB_PATIENCE_SECS: u64 = 600;
/// Per-request HTTP timeout: long enough for a slow 1000-row page, short enough to notice a hang.
pub const DEFAULT_HTTP_TIMEOUT_SECS: u64 = 60;
/// Where the checkpoint store lives unless configured.
pub const DEFAULT_CHECKPOINT_DIR: &str = ".lightsync";
/// libpq connect timeout added to database URLs that do not set one, so an unreachable
/// server fails within seconds rather than the OS default of minutes.
const DEFAULT_CONNECT_TIMEOUT_SECS: u32 = 10;

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
        variable: &'static str,
        reason: String,
    },
}

/// A value that must never be printed (tokens, passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it (a header, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A PostgreSQL connection URL. `Display` and `Debug` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: Url,
}

impl DatabaseUrl {
    /// Parses and checks a `postgres://` URL; `variable` names its source in errors.
    pub fn parse(value: &str, variable: &'static str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { variable, reason };
        let mut url = Url::parse(value.trim()).map_err(|err| {
            invalid(format!(
                "not a URL ({err}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(invalid(format!(
                "scheme `{}` is not supported; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty)
            && !url.query_pairs().any(|(key, _)| key == "host")
        {
            return Err(invalid(
                "it names no host; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
            ));
        }
        if !url.query_pairs().any(|(key, _)| key == "connect_timeout") {
            url.query_pairs_mut()
                .append_pair("connect_timeout", &DEFAULT_CONNECT_TIMEOUT_SECS.to_string());
        }
        Ok(DatabaseUrl { url })
    }

    /// The same URL with `schema` first on the search path (libpq's `options` parameter), so
    /// every table lightsync creates and reads lives there.
    pub fn with_search_path(&self, schema: &str) -> DatabaseUrl {
        let mut url = self.url.clone();
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let setting = format!("-c search_path={schema}");
        match pairs.iter_mut().find(|(key, _)| key == "options") {
            Some((_, value)) => {
                value.push(' ');
                value.push_str(&setting);
            }
            None => pairs.push(("options".into(), setting)),
        }
        url.query_pairs_mut().clear().extend_pairs(pairs);
        // Form encoding writes spaces as `+`, which libpq does not decode (a literal `+` is
        // `%2B`, so every `+` here is a space).
        let query = url.query().map(|query| query.replace('+', "%20"));
        url.set_query(query.as_deref());
        DatabaseUrl { url }
    }

    /// The port the URL names (PostgreSQL's default when it names none).
    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(5432)
    }

    /// The full URL with its password, for opening connections only.
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }

    /// `host:port` for messages.
    pub fn host_port(&self) -> String {
        format!(
            "{}:{}",
            self.url.host_str().unwrap_or("localhost"),
            self.url.port().unwrap_or(5432)
        )
    }

    /// The database name, if the URL names one.
    pub fn database_name(&self) -> Option<&str> {
        let name = self.url.path().trim_start_matches('/');
        (!name.is_empty()).then_some(name)
    }

    /// The same server with another database name (used to create test databases).
    pub fn with_database(&self, name: &str) -> DatabaseUrl {
        let mut url = self.url.clone();
        url.set_path(&format!("/{name}"));
        DatabaseUrl { url }
    }

    /// The URL with the password replaced by `***`, safe for logs and messages.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// Removes every occurrence of this URL's password from `text` (for driver messages).
    pub fn scrub(&self, text: &str) -> String {
        let mut scrubbed = text.replace(self.url.as_str(), &self.redacted());
        for secret in self.secrets() {
            if !secret.is_empty() {
                scrubbed = scrubbed.replace(&secret, "***");
            }
        }
        scrubbed
    }

    fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        if let Some(password) = self.url.password() {
            secrets.push(password.to_string());
            if let Ok(decoded) = url::form_urlencoded::parse(password.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .ok_or(())
            {
                secrets.push(decoded);
            }
        }
        for (key, value) in self.url.query_pairs() {
            if key == "password" {
                secrets.push(value.into_owned());
            }
        }
        secrets
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// Values given on the command line; each overrides its environment variable.
#[derive(Debug, Clone, Default)]
pub struct FlagOverrides {
    pub database_url: Option<String>,
    pub base_url: Option<String>,
    pub domain_prefix: Option<String>,
    pub token: Option<String>,
    pub checkpoint_dir: Option<PathBuf>,
    pub page_size: Option<String>,
}

/// Everything about talking to the Lightspeed API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Ends with the version segment, e.g. `https://shop.retail.lightspeed.app/api/2.0`.
    pub base_url: Url,
    pub token: Secret,
    pub page_size: u32,
    pub rate_share: f64,
    pub rate_window: Duration,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// Everything about how a run is carried out locally.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub checkpoint_dir: PathBuf,
    pub spool_max_bytes: u64,
    pub db_patience: Duration,
}

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

/// The whole configuration. Required parts are checked when a command asks for them, so
/// `lightsync migrate` does not demand an API token.
#[derive(Debug, Clone)]
pub struct Config {
    database_url: Option<DatabaseUrl>,
    api_base_url: Option<Url>,
    api_token: Option<Secret>,
    pub page_size: u32,
    pub rate_share: f64,
    pub rate_window: Duration,
    pub max_attempts: u32,
    pub http_timeout: Duration,
    pub engine: EngineConfig,
    pub health: crate::health::HealthThresholds,
    dashboard_password: Option<DashboardPassword>,
    dashboard_api_token: Option<Secret>,
    secure_cookies: bool,
}

impl Config {
    /// Reads the process environment (after `.env` was loaded by `main`) and the flags.
    pub fn from_env(flags: &FlagOverrides) -> Result<Config, ConfigError> {
        Config::load(flags, |name| std::env::var(name).ok())
    }

    /// Builds the configuration from flags and a variable lookup (the environment in
    /// production, a map in tests).
    pub fn load(
        flags: &FlagOverrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let lookup = |flag: &Option<String>, variable: &str| -> Option<String> {
            flag.clone()
                .or_else(|| env(variable))
                .filter(|value| !value.trim().is_empty())
        };

        let mut database_url = lookup(&flags.database_url, "DATABASE_URL")
            .map(|value| DatabaseUrl::parse(&value, "DATABASE_URL"))
            .transpose()?;
        if let Some(schema) = env("LIGHTSYNC_DB_SCHEMA").filter(|v| !v.trim().is_empty()) {
            let schema = schema.trim().to_string();
            let valid = schema.len() <= 63
                && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTSYNC_DB_SCHEMA",
                    reason: format!("`{schema}` is not a plain schema name (lowercase letters, digits, underscores)"),
                });
            }
            database_url = database_url.map(|url| url.with_search_path(&schema));
        }

        let api_base_url = match (
            lookup(&flags.base_url, "LIGHTSPEED_BASE_URL"),
            lookup(&flags.domain_prefix, "LIGHTSPEED_DOMAIN_PREFIX"),
        ) {
            (Some(base), _) => Some(parse_base_url(&base)?),
            (None, Some(prefix)) => Some(base_url_for_prefix(&prefix)?),
            (None, None) => None,
        };
        let api_token = lookup(&flags.token, "LIGHTSPEED_TOKEN")
            .map(|token| Secret::new(token.trim().to_string()));

        let page_size = parse_number(
            lookup(&flags.page_size, "LIGHTSYNC_PAGE_SIZE"),
            "LIGHTSYNC_PAGE_SIZE",
            DEFAULT_PAGE_SIZE,
            1..=100_000,
        )?;
        let rate_share = match env("LIGHTSYNC_RATE_SHARE").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_RATE_SHARE,
            Some(value) => {
                let share: f64 = value.trim().parse().map_err(|_| ConfigError::Invalid {
                    variable: "LIGHTSYNC_RATE_SHARE",
                    reason: format!("`{value}` is not a number; expected a share such as 0.95"),
                })?;
                if !(share > 0.0 && share <= 1.0) {
                    return Err(ConfigError::Invalid {
                        variable: "LIGHTSYNC_RATE_SHARE",
                        reason: format!("{share} is outside (0, 1]; expected a share such as 0.95"),
                    });
                }
                share
            }
        };
        let rate_window_secs = parse_number(
            env("LIGHTSYNC_RATE_WINDOW_SECS"),
            "LIGHTSYNC_RATE_WINDOW_SECS",
            DEFAULT_RATE_WINDOW_SECS,
            1..=3600,
        )?;
        let max_attempts = parse_number(
            env("LIGHTSYNC_MAX_ATTEMPTS"),
            "LIGHTSYNC_MAX_ATTEMPTS",
            DEFAULT_MAX_ATTEMPTS,
            1..=100,
        )?;
        let http_timeout_secs = parse_number(
            env("LIGHTSYNC_HTTP_TIMEOUT_SECS"),
            "LIGHTSYNC_HTTP_TIMEOUT_SECS",
            DEFAULT_HTTP_TIMEOUT_SECS,
            1..=3600,
        )?;
        let spool_max_bytes = parse_number(
            env("LIGHTSYNC_SPOOL_MAX_BYTES"),
            "LIGHTSYNC_SPOOL_MAX_BYTES",
            DEFAULT_SPOOL_MAX_BYTES,
            1024 * 1024..=u64::MAX,
        )?;
        let db_patience_secs = parse_number(
            env("LIGHTSYNC_DB_PATIENCE_SECS"),
            "LIGHTSYNC_DB_PATIENCE_SECS",
            DEFAULT_DB_PATIENCE_SECS,
            1..=86_400,
        )?;
        let checkpoint_dir = flags
            .checkpoint_dir
            .clone()
            .or_else(|| {
                env("LIGHTSYNC_CHECKPOINT_DIR")
                    .filter(|v| !v.trim().is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CHECKPOINT_DIR));

        let yellow_hours = parse_hours(
            env("LIGHTSYNC_HEALTH_YELLOW_HOURS"),
            "LIGHTSYNC_HEALTH_YELLOW_HOURS",
            crate::health::DEFAULT_YELLOW_HOURS,
        )?;
        let red_hours = parse_hours(
            env("LIGHTSYNC_HEALTH_RED_HOURS"),
            "LIGHTSYNC_HEALTH_RED_HOURS",
            crate::health::DEFAULT_RED_HOURS,
        )?;
        if red_hours < yellow_hours {
            return Err(ConfigError::Invalid {
                variable: "LIGHTSYNC_HEALTH_RED_HOURS",
                reason: format!(
                    "{red_hours} is below LIGHTSYNC_HEALTH_YELLOW_HOURS ({yellow_hours})"
                ),
            });
        }
        let dashboard_password = match (
            env("LIGHTSYNC_DASHBOARD_PASSWORD_HASH").filter(|v| !v.trim().is_empty()),
            env("LIGHTSYNC_DASHBOARD_PASSWORD").filter(|v| !v.is_empty()),
        ) {
            (Some(hash), _) => {
                let hash = hash.trim().to_string();
                if !hash.starts_with("$argon2") {
                    return Err(ConfigError::Invalid {
                        variable: "LIGHTSYNC_DASHBOARD_PASSWORD_HASH",
                        reason: "expected an argon2 hash in PHC format ($argon2id$...); `lightsync hash-password` prints one".into(),
                    });
                }
                Some(DashboardPassword::Hash(hash))
            }
            (None, Some(password)) => Some(DashboardPassword::Plain(Secret::new(password))),
            (None, None) => None,
        };
        let dashboard_api_token = env("LIGHTSYNC_API_TOKEN")
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim().to_string()));
        let secure_cookies = match env("LIGHTSYNC_SECURE_COOKIES").as_deref().map(str::trim) {
            None | Some("") | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTSYNC_SECURE_COOKIES",
                    reason: format!("`{other}` is not true or false"),
                })
            }
        };

        Ok(Config {
            health: crate::health::HealthThresholds {
                yellow_after: Duration::from_secs_f64(yellow_hours * 3600.0),
                red_after: Duration::from_secs_f64(red_hours * 3600.0),
            },
            dashboard_password,
            dashboard_api_token,
            secure_cookies,
            database_url,
            api_base_url,
            api_token,
            page_size,
            rate_share,
            rate_window: Duration::from_secs(rate_window_secs),
            max_attempts,
            http_timeout: Duration::from_secs(http_timeout_secs),
            engine: EngineConfig {
                checkpoint_dir,
                spool_max_bytes,
                db_patience: Duration::from_secs(db_patience_secs),
            },
        })
    }

    /// The database to use, or an error saying how to name one.
    pub fn database_url(&self) -> Result<&DatabaseUrl, ConfigError> {
        self.database_url.as_ref().ok_or(ConfigError::Missing {
            variable: "DATABASE_URL",
            hint: "set it (or pass --database-url) to postgres://USER:PASSWORD@HOST:PORT/DATABASE",
        })
    }

    /// The API settings, or an error naming the missing variable.
    pub fn api(&self) -> Result<ApiConfig, ConfigError> {
        let base_url = self.api_base_url.clone().ok_or(ConfigError::Missing {
            variable: "LIGHTSPEED_DOMAIN_PREFIX",
            hint: "set LIGHTSPEED_DOMAIN_PREFIX (your store's name in https://NAME.retail.lightspeed.app) or LIGHTSPEED_BASE_URL",
        })?;
        let token = self.api_token.clone().ok_or(ConfigError::Missing {
            variable: "LIGHTSPEED_TOKEN",
            hint: "create a personal token in Lightspeed Retail under Setup > Personal tokens and set LIGHTSPEED_TOKEN to it",
        })?;
        Ok(ApiConfig {
            base_url,
            token,
            page_size: self.page_size,
            rate_share: self.rate_share,
            rate_window: self.rate_window,
            max_attempts: self.max_attempts,
            timeout: self.http_timeout,
        })
    }

    /// The dashboard's authentication settings, or an error naming the password variable.
    pub fn dashboard(&self) -> Result<DashboardConfig, ConfigError> {
        let password = self.dashboard_password.clone().ok_or(ConfigError::Missing {
            variable: "LIGHTSYNC_DASHBOARD_PASSWORD",
            hint: "the dashboard has no built-in password: set LIGHTSYNC_DASHBOARD_PASSWORD (or an argon2 hash in LIGHTSYNC_DASHBOARD_PASSWORD_HASH)",
        })?;
        Ok(DashboardConfig {
            password,
            api_token: self.dashboard_api_token.clone(),
            secure_cookies: self.secure_cookies,
        })
    }

    /// Sets the dashboard password (used by `demo`, which generates one).
    pub fn set_dashboard_password(&mut self, password: Secret) {
        self.dashboard_password = Some(DashboardPassword::Plain(password));
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

fn parse_base_url(value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        variable: "LIGHTSPEED_BASE_URL",
        reason,
    };
    let url = Url::parse(value.trim().trim_end_matches('/')).map_err(|err| {
        invalid(format!(
            "not a URL ({err}); expected e.g. https://NAME.retail.lightspeed.app/api/2.0"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "expected an http(s) URL such as https://NAME.retail.lightspeed.app/api/2.0".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(invalid(
            "must not carry credentials or a query string; put the token in LIGHTSPEED_TOKEN"
                .into(),
        ));
    }
    Ok(url)
}

fn base_url_for_prefix(prefix: &str) -> Result<Url, ConfigError> {
    let prefix = prefix.trim();
    let valid = !prefix.is_empty()
        && prefix.len() <= 63
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !prefix.starts_with('-')
        && !prefix.ends_with('-');
    if !valid {
        return Err(ConfigError::Invalid {
            variable: "LIGHTSPEED_DOMAIN_PREFIX",
            reason: format!(
                "`{prefix}` is not a store name; use the NAME in https://NAME.retail.lightspeed.app (lowercase letters, digits, hyphens)"
            ),
        });
    }
    Url::parse(&format!("https://{prefix}.retail.lightspeed.app/api/2.0")).map_err(|err| {
        ConfigError::Invalid {
            variable: "LIGHTSPEED_DOMAIN_PREFIX",
            reason: err.to_string(),
        }
    })
}

fn parse_hours(
    value: Option<String>,
    variable: &'static str,
    default: f64,
) -> Result<f64, ConfigError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    match value.trim().parse::<f64>() {
        Ok(hours) if hours > 0.0 && hours.is_finite() => Ok(hours),
        _ => Err(ConfigError::Invalid {
            variable,
            reason: format!("`{value}` is not a positive number of hours"),
        }),
    }
}

fn parse_number<T>(
    value: Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    let number: T = value.trim().parse().map_err(|_| ConfigError::Invalid {
        variable,
        reason: format!("`{value}` is not a whole number"),
    })?;
    if !range.contains(&number) {
        return Err(ConfigError::Invalid {
            variable,
            reason: format!(
                "{number} is out of range; expected {} to {}",
                range.start(),
                range.end()
            ),
        });
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with_flags(&FlagOverrides::default(), vars)
    }

    fn load_with_flags(
        flags: &FlagOverrides,
        vars: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(flags, |name| map.get(name).cloned())
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
        assert_eq!(config.page_size, 1000);
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
        let config = load(&[
            ("LIGHTSYNC_DASHBOARD_PASSWORD", "pw"),
            ("LIGHTSYNC_API_TOKEN", "tok"),
        ])
        .unwrap();
        let dashboard = config.dashboard().unwrap();
        assert!(matches!(dashboard.password, DashboardPassword::Plain(_)));
        assert!(!format!("{config:?}").contains("tok\""));
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
        let flags = FlagOverrides {
            page_size: Some("250".into()),
            checkpoint_dir: Some(PathBuf::from("/tmp/cp")),
            database_url: Some("postgres://flag@h/db".into()),
            ..FlagOverrides::default()
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
}
