//! The store's webhooks through `/api/2.0/webhooks` (`lightsync webhooks install/list/remove`):
//! list, create and delete. Only OAuth apps with the `webhooks` scope may; a personal token is
//! answered 403, which `ApiError::Status` carries to the command, which then says how to
//! register them by hand.

use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::{error_detail, ApiError};

/// One webhook the store has.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreWebhook {
    pub id: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The API sends a boolean or a string; anything but false/"false"/"0" is active.
    #[serde(default)]
    pub active: serde_json::Value,
}

impl StoreWebhook {
    pub fn is_active(&self) -> bool {
        !matches!(
            &self.active,
            serde_json::Value::Bool(false) | serde_json::Value::Null
        ) && !matches!(self.active.as_str(), Some("false" | "0"))
    }
}

impl Client {
    /// Every webhook the store has.
    pub async fn list_webhooks(&self) -> Result<Vec<StoreWebhook>, ApiError> {
        #[derive(Deserialize)]
        struct Listed {
            data: Vec<StoreWebhook>,
        }
        let body = self.webhooks_request(Method::GET, &[], None).await?;
        let listed: Listed = serde_json::from_slice(&body).map_err(|err| {
            ApiError::Connection(format!(
                "the webhook list is not {{\"data\": [...]}}: {err}"
            ))
        })?;
        Ok(listed.data)
    }

    /// Registers a webhook of `kind` posting to `url`.
    pub async fn create_webhook(&self, url: &str, kind: &str) -> Result<StoreWebhook, ApiError> {
        #[derive(Deserialize)]
        struct Created {
            data: StoreWebhook,
        }
        let request = serde_json::json!({"url": url, "type": kind, "active": true});
        let body = self
            .webhooks_request(Method::POST, &[], Some(request))
            .await?;
        let created: Created = serde_json::from_slice(&body).map_err(|err| {
            ApiError::Connection(format!(
                "the created webhook is not {{\"data\": {{...}}}}: {err}"
            ))
        })?;
        Ok(created.data)
    }

    /// Deletes the webhook `id`; `false` when the store has no such webhook.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool, ApiError> {
        match self.webhooks_request(Method::DELETE, &[id], None).await {
            Ok(_) => Ok(true),
            Err(ApiError::Status { status: 404, .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// One request under `/webhooks`, paced by the governor; an OAuth token refused once is
    /// renewed and the request sent again, and a 429 waits as asked (three times at most).
    async fn webhooks_request(
        &self,
        method: Method,
        segments: &[&str],
        json: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let mut url = reqwest::Url::parse(self.base_url())
            .map_err(|err| ApiError::Connection(format!("the API base URL is invalid: {err}")))?;
        url.path_segments_mut()
            .map_err(|()| ApiError::Connection("the API base URL cannot take a path".into()))?
            .push("webhooks")
            .extend(segments);
        let mut renewed = false;
        for _ in 0..4 {
            let (bearer, generation) = self.credentials.current();
            let Some(bearer) = bearer else {
                self.credentials.renew(&self.http, generation).await?;
                continue;
            };
            let permit = self.governor.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, bearer);
            if let Some(json) = &json {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(json.to_string());
            }
            let response = request
                .send()
                .await
                .map_err(|err| ApiError::Connection(super::body::root_cause(&err)))?;
            let status = response.status();
            permit.report_response(None, None, status == StatusCode::TOO_MANY_REQUESTS);
            let body = response
                .bytes()
                .await
                .map_err(|err| ApiError::BodyCut(super::body::root_cause(&err)))?;
            match status {
                status if status.is_success() => return Ok(body.to_vec()),
                StatusCode::UNAUTHORIZED if self.credentials.renews() && !renewed => {
                    renewed = true;
                    self.credentials.renew(&self.http, generation).await?;
                }
                StatusCode::UNAUTHORIZED => return Err(ApiError::Unauthorized),
                StatusCode::TOO_MANY_REQUESTS => {
                    tokio::time::sleep(self.governor.rate_limited(Duration::ZERO)).await;
                }
                status => {
                    return Err(ApiError::Status {
                        status: status.as_u16(),
                        detail: error_detail(&body[..body.len().min(4096)]),
                    });
                }
            }
        }
        Err(ApiError::Connection(
            "the webhook request did not succeed after renewing the token and waiting out 429s"
                .into(),
        ))
    }
}
