//! `lightsync webhooks install/list/remove`: the store's webhooks that tell `serve` what
//! changed, managed through the API where the token allows it (an OAuth app with the `webhooks`
//! scope). A token that may not is told how to register them by hand. The secret part of a
//! webhook URL is never printed.

use serde::Serialize;

use crate::cli::WebhooksCommand;
use crate::config::{vars, Config};
use crate::exit::{self, UsageError};
use crate::lightspeed::{ApiError, Client, StoreWebhook};
use crate::schedule::WEBHOOK_TYPES;

/// Where `serve` receives webhooks, under the dashboard's address.
const HOOK_PATH: &str = "/hooks/lightspeed/";

pub fn webhooks(config: &Config, command: WebhooksCommand) -> anyhow::Result<i32> {
    let api = config.api()?;
    let runtime = super::runtime()?;
    let client = runtime.block_on(crate::engine::open_client(config, &api))?;
    match command {
        WebhooksCommand::Install { url } => {
            let url = hook_url(config, &url)?;
            runtime.block_on(install(&client, &url, config))
        }
        WebhooksCommand::List { json } => runtime.block_on(list(&client, json, config)),
        WebhooksCommand::Remove { url, id } => {
            let url = url.map(|url| hook_url(config, &url)).transpose()?;
            runtime.block_on(remove(&client, url.as_deref(), id.as_deref(), config))
        }
    }
}

/// The webhook URL for `given`: the whole URL when it names the hook path, otherwise the
/// dashboard address with the path and `LIGHTSYNC_WEBHOOK_SECRET` added.
fn hook_url(config: &Config, given: &str) -> anyhow::Result<String> {
    let given = given.trim();
    if !given.starts_with("https://") && !given.starts_with("http://") {
        return Err(UsageError(format!(
            "--url `{}` is not an http(s) address; give the dashboard's public address, e.g. https://sync.example.com",
            mask(given)
        ))
        .into());
    }
    if given.contains(HOOK_PATH) {
        return Ok(given.to_string());
    }
    let Some(secret) = &config.monitoring.webhook_secret else {
        return Err(UsageError(format!(
            "set {} (32 characters or more, the same `serve` has) so the webhook address is unguessable, or give the whole URL ending in {HOOK_PATH}<secret>",
            vars::WEBHOOK_SECRET
        ))
        .into());
    };
    Ok(format!(
        "{}{HOOK_PATH}{}",
        given.trim_end_matches('/'),
        secret.expose()
    ))
}

/// A webhook URL with the secret after the hook path replaced by `***`.
fn mask(url: &str) -> String {
    match url.find(HOOK_PATH) {
        Some(at) => format!("{}{HOOK_PATH}***", &url[..at]),
        None => url.to_string(),
    }
}

async fn install(client: &Client, url: &str, config: &Config) -> anyhow::Result<i32> {
    let existing = client
        .list_webhooks()
        .await
        .map_err(|err| refused(err, url, config))?;
    let mut added = 0;
    for kind in WEBHOOK_TYPES {
        if existing.iter().any(|w| w.url == url && w.kind == kind) {
            crate::outln!("{kind:<24} already registered");
            continue;
        }
        let created = client
            .create_webhook(url, kind)
            .await
            .map_err(|err| refused(err, url, config))?;
        added += 1;
        crate::outln!("{kind:<24} registered as {}", created.id);
    }
    crate::outln!(
        "{added} webhook(s) added; the store now posts {} types to {}",
        WEBHOOK_TYPES.len(),
        mask(url)
    );
    Ok(exit::SUCCESS)
}

#[derive(Serialize)]
struct Listed {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    url: String,
    active: bool,
    /// Whether lightsync acts on this type.
    understood: bool,
}

async fn list(client: &Client, json: bool, config: &Config) -> anyhow::Result<i32> {
    let webhooks = client
        .list_webhooks()
        .await
        .map_err(|err| refused(err, "<your dashboard>/hooks/lightspeed/<secret>", config))?;
    let listed: Vec<Listed> = webhooks.iter().map(listed).collect();
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(exit::SUCCESS);
    }
    if listed.is_empty() {
        crate::outln!("the store has no webhooks; `lightsync webhooks install --url <dashboard address>` adds them");
        return Ok(exit::SUCCESS);
    }
    for webhook in &listed {
        crate::outln!(
            "{:<12} {:<24} {:<8} {}{}",
            webhook.id,
            webhook.kind,
            if webhook.active { "active" } else { "inactive" },
            webhook.url,
            if webhook.understood {
                ""
            } else {
                "  (a type lightsync ignores)"
            }
        );
    }
    Ok(exit::SUCCESS)
}

fn listed(webhook: &StoreWebhook) -> Listed {
    Listed {
        id: webhook.id.clone(),
        understood: WEBHOOK_TYPES.contains(&webhook.kind.as_str()),
        kind: webhook.kind.clone(),
        url: mask(&webhook.url),
        active: webhook.is_active(),
    }
}

async fn remove(
    client: &Client,
    url: Option<&str>,
    id: Option<&str>,
    config: &Config,
) -> anyhow::Result<i32> {
    let shown = url.unwrap_or("<your dashboard>/hooks/lightspeed/<secret>");
    let ids: Vec<String> = match (url, id) {
        (_, Some(id)) => vec![id.to_string()],
        (Some(url), None) => client
            .list_webhooks()
            .await
            .map_err(|err| refused(err, shown, config))?
            .into_iter()
            .filter(|webhook| webhook.url == url)
            .map(|webhook| webhook.id)
            .collect(),
        (None, None) => unreachable!("clap requires --url or --id"),
    };
    let mut removed = 0;
    for id in &ids {
        if client
            .delete_webhook(id)
            .await
            .map_err(|err| refused(err, shown, config))?
        {
            removed += 1;
            crate::outln!("removed {id}");
        } else {
            crate::outln!("{id}: the store has no such webhook");
        }
    }
    crate::outln!("{removed} webhook(s) removed");
    Ok(if removed == 0 && id.is_some() {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}

/// The error for a request the API refused; a 403 says how to register webhooks by hand.
fn refused(err: ApiError, url: &str, config: &Config) -> anyhow::Error {
    match err {
        ApiError::Status { status: 403, .. } => {
            let setup = config
                .api()
                .ok()
                .map(|api| {
                    let base = api.base_url.as_str();
                    let host_end = base.find("/api/").unwrap_or(base.len());
                    format!("{}/setup/api", &base[..host_end])
                })
                .unwrap_or_else(|| "https://<your store>.retail.lightspeed.app/setup/api".into());
            anyhow::anyhow!(
                "this token may not manage webhooks (HTTP 403): only an OAuth app with the `webhooks` scope may. Register them by hand instead: open {setup}, and add one webhook for each of {} with the URL {} (*** being LIGHTSYNC_WEBHOOK_SECRET)",
                WEBHOOK_TYPES.join(", "),
                mask(url)
            )
        }
        err => anyhow::anyhow!("the store's webhooks could not be managed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_shown_without_its_secret() {
        assert_eq!(
            mask("https://sync.example.com/hooks/lightspeed/abcdefabcdef"),
            "https://sync.example.com/hooks/lightspeed/***"
        );
        assert_eq!(mask("https://other.example/x"), "https://other.example/x");
    }
}
