//! Monitoring settings: where alerts go (webhook URLs, treated as secrets because Slack-style
//! URLs carry their token in the path), how long a webhook may take, the dashboard's public
//! address for links in alerts, whether `/metrics` needs the API token, the schedule of
//! `serve --schedule`, and what `serve --follow` polls and when its lag alerts.

use std::time::Duration;

use url::Url;

use super::flags::{Inputs, Setting};
use super::parse::number_or;
use super::{vars, ConfigError, FollowPlan, Secret};
use crate::cron::Schedule;

/// How long one webhook delivery may take before it is abandoned (logged, never retried inline):
/// long enough for a chat service, short enough that a hanging receiver barely delays a run.
pub const DEFAULT_ALERT_TIMEOUT_SECS: u64 = 5;
/// How often `serve` looks for entities that turned red or recovered: staleness is measured in
/// hours, so a minute is prompt without loading the database.
pub const DEFAULT_ALERT_CHECK_SECS: u64 = 60;

/// A webhook's URL. It is a secret (Slack and Mattermost put the credential in the path): only
/// its host is ever shown.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: Secret,
    host: String,
}

impl WebhookUrl {
    /// Parses an http(s) URL; the error never repeats the URL.
    pub fn parse(text: &str, variable: &'static str) -> Result<WebhookUrl, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            variable,
            reason: reason.to_string(),
        };
        let url = Url::parse(text.trim())
            .map_err(|err| invalid(&format!("a webhook URL does not parse ({err})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(&format!(
                "a webhook URL must start with http:// or https://, not {}://",
                url.scheme()
            )));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(invalid("a webhook URL has no host")),
        };
        Ok(WebhookUrl {
            url: Secret::new(url.as_str()),
            host,
        })
    }

    /// The URL itself, for the one place that sends to it.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// Host and port, for logs and reports.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({}/***)", self.host)
    }
}

/// Alerts, metrics and the scheduler.
#[derive(Debug, Clone)]
pub struct MonitoringConfig {
    /// Where alerts are posted; none means alerts are off.
    pub webhooks: Vec<WebhookUrl>,
    pub alert_timeout: Duration,
    /// How often `serve` checks for staleness and recovery.
    pub alert_check: Duration,
    /// The dashboard's address as people reach it, for links in alerts.
    pub dashboard_url: Option<Url>,
    /// Serve `/metrics` without the API token.
    pub metrics_public: bool,
    /// When `serve` runs `sync` by itself.
    pub schedule: Option<Schedule>,
    /// When `serve` runs a sampled reconcile by itself.
    pub reconcile_schedule: Option<Schedule>,
    /// The unguessable part of the address Lightspeed's webhooks are posted to; none: `serve`
    /// receives no webhooks.
    pub webhook_secret: Option<Secret>,
    /// How often `serve` polls each entity by itself (`LIGHTSYNC_FOLLOW`); none: it does not.
    pub follow: Option<FollowPlan>,
    /// Alert when a followed entity's mirror is older than this (`LIGHTSYNC_LAG_ALERT_SECS`).
    pub lag_alert: Duration,
}

/// The default lag alert: a followed entity whose newest complete copy is ten minutes old has
/// missed many polls.
pub const DEFAULT_LAG_ALERT_SECS: u64 = 600;

/// The shortest webhook secret accepted: it is all that keeps the receiving address unguessable.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

pub(super) fn load_monitoring(inputs: &Inputs) -> Result<MonitoringConfig, ConfigError> {
    let webhooks = match inputs.variable(vars::ALERT_WEBHOOK_URL) {
        Some(setting) => parse_webhooks(&setting.value, vars::ALERT_WEBHOOK_URL)?,
        None => Vec::new(),
    };
    let alert_timeout = number_or(
        inputs.variable(vars::ALERT_TIMEOUT_SECS),
        DEFAULT_ALERT_TIMEOUT_SECS,
        1..=120,
    )?;
    let alert_check = number_or(
        inputs.variable(vars::ALERT_CHECK_SECS),
        DEFAULT_ALERT_CHECK_SECS,
        1..=86_400,
    )?;
    let dashboard_url = inputs
        .variable(vars::DASHBOARD_URL)
        .map(|setting| parse_dashboard_url(&setting))
        .transpose()?;
    let metrics_public = inputs
        .variable(vars::METRICS_PUBLIC)
        .map_or(Ok(false), |setting| setting.flag())?;
    let schedule = inputs
        .variable(vars::SCHEDULE)
        .map(|setting| parse_schedule(&setting.value, vars::SCHEDULE))
        .transpose()?;
    let reconcile_schedule = inputs
        .variable(vars::RECONCILE_SCHEDULE)
        .map(|setting| parse_schedule(&setting.value, vars::RECONCILE_SCHEDULE))
        .transpose()?;
    let webhook_secret = match inputs.variable(vars::WEBHOOK_SECRET) {
        Some(setting) if setting.value.trim().chars().count() < MIN_WEBHOOK_SECRET_CHARS => {
            return Err(ConfigError::Invalid {
                variable: vars::WEBHOOK_SECRET,
                reason: format!(
                    "it must be at least {MIN_WEBHOOK_SECRET_CHARS} characters: it is all that keeps the webhook address unguessable (e.g. `openssl rand -hex 24`)"
                ),
            });
        }
        Some(setting) => Some(Secret::new(setting.value.trim())),
        None => None,
    };
    let follow = match inputs.variable(vars::FOLLOW) {
        Some(setting) if matches!(setting.value.trim(), "0" | "false" | "off") => None,
        Some(setting) => {
            Some(FollowPlan::parse(&setting.value).map_err(|reason| setting.invalid(reason))?)
        }
        None => None,
    };
    let lag_alert = number_or(
        inputs.variable(vars::LAG_ALERT_SECS),
        DEFAULT_LAG_ALERT_SECS,
        10..=7 * 86_400,
    )?;
    Ok(MonitoringConfig {
        webhooks,
        follow,
        lag_alert: Duration::from_secs(lag_alert),
        alert_timeout: Duration::from_secs(alert_timeout),
        alert_check: Duration::from_secs(alert_check),
        dashboard_url,
        metrics_public,
        schedule,
        reconcile_schedule,
        webhook_secret,
    })
}

/// Webhook URLs separated by commas or white space (a variable cannot be repeated).
pub fn parse_webhooks(text: &str, variable: &'static str) -> Result<Vec<WebhookUrl>, ConfigError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| WebhookUrl::parse(part, variable))
        .collect()
}

/// A cron schedule from `--schedule` or LIGHTSYNC_SCHEDULE; the error names where it came from.
pub fn parse_schedule(text: &str, origin: &'static str) -> Result<Schedule, ConfigError> {
    Schedule::parse(text).map_err(|reason| ConfigError::Invalid {
        variable: origin,
        reason,
    })
}

fn parse_dashboard_url(setting: &Setting) -> Result<Url, ConfigError> {
    let url = Url::parse(setting.value.trim()).map_err(|err| {
        setting.invalid(format!(
            "`{}` is not a URL ({err}); expected the address people open, e.g. https://sync.example.com",
            setting.value.trim()
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(setting.invalid("expected an http(s) address without credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_split_on_commas_and_spaces_and_never_echo_the_url() {
        let hooks = parse_webhooks(
            " https://hooks.example/services/T0/B0/s3cret, http://127.0.0.1:9/x\nhttps://b.example/y ",
            vars::ALERT_WEBHOOK_URL,
        )
        .unwrap();
        assert_eq!(hooks.len(), 3);
        assert_eq!(hooks[0].host(), "hooks.example");
        assert_eq!(hooks[1].host(), "127.0.0.1:9");
        assert!(!format!("{hooks:?}").contains("s3cret"));
        let err = parse_webhooks("ftp://x/s3cret", vars::ALERT_WEBHOOK_URL).unwrap_err();
        assert!(
            err.to_string().starts_with("LIGHTSYNC_ALERT_WEBHOOK_URL"),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err = parse_webhooks("not a url s3cret", vars::ALERT_WEBHOOK_URL).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn a_bad_schedule_names_its_origin() {
        let err = parse_schedule("61 * * * *", "--schedule").unwrap_err();
        assert!(
            err.to_string().starts_with("--schedule is invalid"),
            "{err}"
        );
        assert!(parse_schedule("0 2 * * *", vars::SCHEDULE).is_ok());
    }
}
