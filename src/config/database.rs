//! PostgreSQL settings: `DatabaseUrl` (which hides its password everywhere) and the schema
//! lightsync's tables live in.

use std::fmt;

use url::Url;

use super::flags::Inputs;
use super::{vars, ConfigError};

/// libpq connect timeout added to database URLs that do not set one, so an unreachable
/// server fails within seconds rather than the OS default of minutes.
const DEFAULT_CONNECT_TIMEOUT_SECS: u32 = 10;

/// The database URL from `--database-url` or `DATABASE_URL`, with `LIGHTSYNC_DB_SCHEMA` first on
/// its search path.
pub(super) fn load_database_url(inputs: &Inputs) -> Result<Option<DatabaseUrl>, ConfigError> {
    let Some(setting) = inputs.flagged(
        inputs.flags.database_url.as_deref(),
        "--database-url",
        vars::DATABASE_URL,
    ) else {
        return Ok(None);
    };
    let url = DatabaseUrl::parse(&setting.value, setting.origin.name())?;
    let Some(schema) = inputs.variable(vars::DB_SCHEMA) else {
        return Ok(Some(url));
    };
    let name = schema.value.trim();
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(schema.invalid(format!(
            "`{name}` is not a plain schema name (lowercase letters, digits, underscores)"
        )));
    }
    Ok(Some(url.with_search_path(name)))
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

    /// The same server with another database name (the tests and the benchmark harness create
    /// their databases with it; the benchmark builds without the test hooks).
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
