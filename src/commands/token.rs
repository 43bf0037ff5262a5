//! `lightsync token status`: which kind of Lightspeed token is in use and, for an OAuth app,
//! when its access token expires and where the rotated refresh token is kept. Never prints a
//! token.

use serde::Serialize;

use crate::cli::TokenCommand;
use crate::config::Config;
use crate::exit;
use crate::health::duration_in_words;
use crate::lightspeed::token_file::{seed_of, TokenFile};

#[derive(Serialize)]
struct TokenStatus {
    /// `personal` or `oauth`.
    kind: &'static str,
    client_id: Option<String>,
    /// When the access token expires, if known.
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    renewed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where the rotated refresh token is kept.
    token_file: Option<String>,
    summary: String,
}

pub fn token(config: &Config, command: TokenCommand) -> anyhow::Result<i32> {
    let TokenCommand::Status { json } = command;
    let api = config.api()?;
    let status = match &api.oauth {
        None => TokenStatus {
            kind: "personal",
            client_id: None,
            expires_at: None,
            renewed_at: None,
            token_file: None,
            summary: "a personal token (LIGHTSPEED_TOKEN): it does not expire".into(),
        },
        Some(app) => {
            let file = TokenFile::in_dir(&config.engine.checkpoint_dir);
            let stored = file
                .load()?
                .filter(|stored| stored.seeded_from == seed_of(app.refresh_token.expose()));
            let at = |secs: i64| chrono::DateTime::from_timestamp(secs, 0);
            let now = chrono::Utc::now();
            let summary = match &stored {
                Some(stored) => {
                    let expires = at(stored.expires_at).unwrap_or(now);
                    let left = (expires - now).to_std().unwrap_or_default();
                    format!(
                        "an OAuth access token for app {}: expires {} ({}), renewed a day ahead or when refused; the rotated refresh token is kept in {} (owner-only)",
                        app.client_id,
                        expires.format("%Y-%m-%d %H:%M UTC"),
                        if left.is_zero() {
                            "expired; the next run renews it".to_string()
                        } else {
                            format!("in {}", duration_in_words(left))
                        },
                        file.path().display()
                    )
                }
                None => format!(
                    "an OAuth app {}: not renewed yet; {} (the next run renews it when it is refused, and keeps the rotated refresh token in {})",
                    app.client_id,
                    if api.token.is_some() {
                        "the expiry of the configured access token is unknown"
                    } else {
                        "no access token is configured"
                    },
                    file.path().display()
                ),
            };
            TokenStatus {
                kind: "oauth",
                client_id: Some(app.client_id.clone()),
                expires_at: stored.as_ref().and_then(|s| at(s.expires_at)),
                renewed_at: stored.as_ref().and_then(|s| at(s.renewed_at)),
                token_file: Some(file.path().display().to_string()),
                summary,
            }
        }
    };
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        crate::outln!("{}", status.summary);
    }
    Ok(exit::SUCCESS)
}
