//! The JSON an alert posts: `{"text", "entity", "state", "run_id", "error", "dashboard_url"}`.
//! `text` is a full sentence, so Slack- and Mattermost-style incoming webhooks show it as is.
//! Every text passes through a `Scrubber`: no secret reaches a message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use super::transition::AlertState;
use crate::config::{Config, DashboardPassword, DatabaseUrl};
use crate::db::SyncStateRow;
use crate::health::{ago, duration_in_words, HealthThresholds};

/// Longest error text carried in a message (chat services cut long posts anyway).
const MAX_ERROR_CHARS: usize = 600;

/// One alert as posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    pub text: String,
    pub entity: String,
    pub state: String,
    pub run_id: Option<String>,
    pub error: Option<String>,
    pub dashboard_url: Option<String>,
}

/// Removes every configured secret from a text: the API token, the database password, the
/// dashboard password and API token, and the webhook URLs themselves.
#[derive(Clone, Default)]
pub struct Scrubber {
    database: Option<DatabaseUrl>,
    secrets: Vec<String>,
}

/// Secrets shorter than this are not searched for (they would match ordinary words).
const MIN_SECRET_CHARS: usize = 4;

impl Scrubber {
    pub fn from_config(config: &Config) -> Scrubber {
        let mut secrets = Vec::new();
        if let Ok(api) = config.api() {
            secrets.extend(api.token.iter().map(|token| token.expose().to_string()));
            if let Some(oauth) = &api.oauth {
                secrets.push(oauth.client_secret.expose().to_string());
                secrets.push(oauth.refresh_token.expose().to_string());
            }
        }
        if let Ok(dashboard) = config.dashboard() {
            if let DashboardPassword::Plain(password) = &dashboard.password {
                secrets.push(password.expose().to_string());
            }
            if let Some(token) = &dashboard.api_token {
                secrets.push(token.expose().to_string());
            }
        }
        secrets.extend(
            config
                .monitoring
                .webhooks
                .iter()
                .map(|hook| hook.expose().to_string()),
        );
        Scrubber::new(config.database_url().ok().cloned(), secrets)
    }

    pub fn new(database: Option<DatabaseUrl>, secrets: Vec<String>) -> Scrubber {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|secret| secret.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Scrubber { database, secrets }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut text = match &self.database {
            Some(url) => url.scrub(text),
            None => text.to_string(),
        };
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }
}

/// What every message of one process shares.
#[derive(Clone)]
pub struct MessageContext {
    pub dashboard_url: Option<Url>,
    pub scrubber: Scrubber,
    pub thresholds: HealthThresholds,
    /// The lag threshold, and whether this process follows the store (only then is lag news).
    pub lag_alert: std::time::Duration,
    pub following: bool,
}

impl MessageContext {
    /// The lag threshold that applies to this process's observations, if it follows the store.
    pub fn lag_limit(&self) -> Option<std::time::Duration> {
        self.following.then_some(self.lag_alert)
    }

    fn link(&self, entity: &str) -> Option<String> {
        let base = self.dashboard_url.as_ref()?;
        let mut url = base.join("history").ok()?;
        url.query_pairs_mut().append_pair("entity", entity);
        Some(url.to_string())
    }

    fn error(&self, error: Option<&str>) -> Option<String> {
        error.map(|error| {
            let scrubbed = self.scrub(error);
            if scrubbed.chars().count() > MAX_ERROR_CHARS {
                let cut: String = scrubbed.chars().take(MAX_ERROR_CHARS).collect();
                format!("{cut}…")
            } else {
                scrubbed
            }
        })
    }

    fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub(text)
    }

    /// The message for an entity's state change, from its `sync_state` row. `since` is when
    /// the state it recovers from was announced.
    pub fn state_change(
        &self,
        state: AlertState,
        row: &SyncStateRow,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> AlertMessage {
        let entity = row.entity.as_str();
        let run = row.run_id.as_deref().unwrap_or("?");
        let error = match state {
            AlertState::Failed | AlertState::Red => self.error(row.last_error.as_deref()),
            _ => None,
        };
        let last_success = match row.last_success_at {
            Some(at) => format!(
                "{} ({})",
                ago(Some(at), now),
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "never".to_string(),
        };
        let text = match state {
            AlertState::Failed => format!(
                "lightsync: {entity} sync FAILED (run {run}): {}. The data stays as of the last successful sync, {last_success}; the next run continues from there.",
                error.as_deref().unwrap_or("no error recorded")
            ),
            AlertState::Red => format!(
                "lightsync: {entity} is RED: no successful sync for {} (red after {}). Last success: {last_success}.",
                row.last_success_at
                    .and_then(|at| (now - at).to_std().ok())
                    .map_or("ever".to_string(), duration_in_words),
                duration_in_words(self.thresholds.red_after),
            ),
            AlertState::Recovered => format!(
                "lightsync: {entity} recovered: synced successfully in run {run}{}.",
                since.map_or(String::new(), |at| format!(
                    ", after a problem reported at {}",
                    at.format("%Y-%m-%d %H:%M UTC")
                ))
            ),
            AlertState::Resumed => format!("lightsync: {entity} run {run} resumed."),
            AlertState::Lagging => format!(
                "lightsync: {entity} is LAGGING: its newest complete copy is {} old while followed (alert after {}). Last success: {last_success}.",
                row.caught_up_at
                    .and_then(|at| (now - at).to_std().ok())
                    .map_or("of unknown age".to_string(), duration_in_words),
                duration_in_words(self.lag_alert),
            ),
        };
        AlertMessage {
            text: escape_for_chat(&self.scrub(&text)),
            entity: entity.to_string(),
            state: state.name().to_string(),
            run_id: row.run_id.clone(),
            error,
            dashboard_url: self.link(entity),
        }
    }

    /// The message for a run that found the entity's previous run interrupted and resumed it.
    pub fn resumed(
        &self,
        entity: &str,
        interrupted_run: &str,
        run_id: &str,
        outcome: Option<&str>,
    ) -> AlertMessage {
        let outcome = match outcome {
            None => "finished ok".to_string(),
            Some(error) => format!(
                "failed too: {}",
                self.error(Some(error)).unwrap_or_default()
            ),
        };
        AlertMessage {
            text: escape_for_chat(&self.scrub(&format!(
                "lightsync: {entity} run {interrupted_run} was interrupted before it finished (its process stopped); run {run_id} resumed from the last applied batch and {outcome}."
            ))),
            entity: entity.to_string(),
            state: AlertState::Resumed.name().to_string(),
            run_id: Some(run_id.to_string()),
            error: None,
            dashboard_url: self.link(entity),
        }
    }

    /// A reconcile found `entity`'s rows differing from the store.
    pub fn differs(
        &self,
        entity: &str,
        run_id: &str,
        (missing, stale, extra): (u64, u64, u64),
    ) -> AlertMessage {
        AlertMessage {
            text: escape_for_chat(&self.scrub(&format!(
                "lightsync: reconciling {entity} against the store found {missing} missing, {stale} stale and {extra} extra record(s); `lightsync reconcile --repair --entity {entity}` fixes them."
            ))),
            entity: entity.to_string(),
            state: "differs".to_string(),
            run_id: Some(run_id.to_string()),
            error: None,
            dashboard_url: self.link(entity),
        }
    }

    /// The message `lightsync alert test` sends.
    pub fn test(&self) -> AlertMessage {
        AlertMessage {
            text: format!(
                "lightsync: test alert from lightsync {}: this webhook receives lightsync's alerts.",
                env!("CARGO_PKG_VERSION")
            ),
            entity: "lightsync".to_string(),
            state: "test".to_string(),
            run_id: None,
            error: None,
            dashboard_url: self.dashboard_url.as_ref().map(|url| url.to_string()),
        }
    }
}

/// `text` as Slack and Mattermost want it: `&`, `<` and `>` escaped, so text taken from a
/// store or an error (`<!channel>`, `<https://evil|your bank>`) can neither mention everyone
/// nor forge a link. The machine-readable `error` field stays as it was recorded.
fn escape_for_chat(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> MessageContext {
        MessageContext {
            dashboard_url: Some(Url::parse("https://sync.example.com/").unwrap()),
            scrubber: Scrubber::new(
                Some(DatabaseUrl::parse("postgres://u:pa55word@db/x", "DATABASE_URL").unwrap()),
                vec!["tok-SECRET-123".into(), "ab".into()],
            ),
            thresholds: HealthThresholds::default(),
            lag_alert: std::time::Duration::from_secs(600),
            following: false,
        }
    }

    fn failed_row(error: &str) -> SyncStateRow {
        SyncStateRow {
            last_error: Some(error.into()),
            run_id: Some("20261126T020000Z-abcdef".into()),
            ..SyncStateRow::of_sales(crate::db::RunStatus::Failed, None)
        }
    }

    #[test]
    fn messages_carry_the_documented_fields_without_secrets() {
        let row = failed_row("HTTP 401 for Bearer tok-SECRET-123 via postgres://u:pa55word@db/x");
        let message = context().state_change(AlertState::Failed, &row, None, Utc::now());
        let json = serde_json::to_value(&message).unwrap();
        for field in [
            "text",
            "entity",
            "state",
            "run_id",
            "error",
            "dashboard_url",
        ] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
        assert_eq!(json["state"], "failed");
        assert_eq!(json["entity"], "sales");
        assert_eq!(json["run_id"], "20261126T020000Z-abcdef");
        assert_eq!(
            json["dashboard_url"],
            "https://sync.example.com/history?entity=sales"
        );
        let text = json.to_string();
        assert!(!text.contains("tok-SECRET-123"), "{text}");
        assert!(!text.contains("pa55word"), "{text}");
        assert!(text.contains("HTTP 401"), "{text}");
    }

    #[test]
    fn long_errors_are_cut_and_short_secrets_ignored() {
        let row = failed_row(&"x".repeat(5000));
        let message = context().state_change(AlertState::Failed, &row, None, Utc::now());
        assert!(message.error.unwrap().chars().count() <= MAX_ERROR_CHARS + 1);
        assert_eq!(
            context().scrubber.scrub("abc"),
            "abc",
            "two-letter secrets are not searched"
        );
    }

    #[test]
    fn error_text_can_neither_mention_everyone_nor_forge_a_link() {
        let row = failed_row("HTTP 500 <!channel> see <https://evil.example|your bank> & more");
        let message = context().state_change(AlertState::Failed, &row, None, Utc::now());
        assert!(
            message.text.contains(
                "HTTP 500 &lt;!channel&gt; see &lt;https://evil.example|your bank&gt; &amp; more"
            ),
            "{}",
            message.text
        );
        assert!(!message.text.contains('<') && !message.text.contains('>'));
        assert_eq!(
            message.error.as_deref(),
            Some("HTTP 500 <!channel> see <https://evil.example|your bank> & more"),
            "the machine-readable field keeps the recorded text"
        );
    }
}
