//! Posting an alert to every configured webhook at once, each bounded by the alert timeout.
//! A failure is described by the webhook's host and what went wrong, never by its URL (which
//! may hold a token). Redirects are never followed and no `Referer` is sent: a followed
//! redirect would post the alert somewhere else with the secret URL in its `Referer`, and a
//! 302 answered with a GET would drop the alert while looking delivered. A 3xx is a failure.

use std::time::Duration;

use futures_util::future::join_all;

use super::message::AlertMessage;
use crate::config::WebhookUrl;

/// The webhooks and the client that posts to them.
#[derive(Clone)]
pub struct Webhooks {
    urls: Vec<WebhookUrl>,
    client: reqwest::Client,
    timeout: Duration,
}

impl Webhooks {
    pub fn new(urls: Vec<WebhookUrl>, timeout: Duration) -> anyhow::Result<Webhooks> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("lightsync/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .build()?;
        Ok(Webhooks {
            urls,
            client,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn hosts(&self) -> Vec<&str> {
        self.urls.iter().map(|url| url.host()).collect()
    }

    /// Posts `message` to every webhook concurrently; one result per webhook, in order. Never
    /// takes longer than the timeout.
    pub async fn post(&self, message: &AlertMessage) -> Vec<Result<(), String>> {
        let posts = self.urls.iter().map(|url| self.post_one(url, message));
        match tokio::time::timeout(self.timeout, join_all(posts)).await {
            Ok(results) => results,
            Err(_) => self
                .urls
                .iter()
                .map(|url| {
                    Err(format!(
                        "{}: no answer within {:?}",
                        url.host(),
                        self.timeout
                    ))
                })
                .collect(),
        }
    }

    async fn post_one(&self, url: &WebhookUrl, message: &AlertMessage) -> Result<(), String> {
        let host = url.host();
        let response = self
            .client
            .post(url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(message).expect("an alert message serializes"))
            .send()
            .await
            .map_err(|err| format!("{host}: {}", describe(err, self.timeout)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!(
                "{host}: HTTP {status}, a redirect, which is not followed (configure the URL it points to)"
            ))
        } else {
            Err(format!("{host}: HTTP {status}"))
        }
    }
}

fn describe(err: reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        format!("no answer within {timeout:?}")
    } else if err.is_connect() {
        "could not connect".to_string()
    } else {
        err.without_url().to_string()
    }
}
