//! `/api/2.0/webhooks`: list, create and delete the store's webhooks. As in the real API only an
//! OAuth app may (a personal token gets 403, and its owner registers webhooks by hand on the
//! store's setup page).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::server::{authorized, json_response, unauthorized, Shared};

/// The refusal of a request that may not manage webhooks, if it may not.
fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if !authorized(shared, headers) {
        return Some(unauthorized());
    }
    shared.oauth.is_none().then(|| {
        json_response(
            StatusCode::FORBIDDEN,
            json!({"error": "Forbidden", "message": "Webhooks can be managed by OAuth applications with the webhooks scope only"}),
        )
    })
}

/// `GET /api/2.0/webhooks`.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&shared, &headers) {
        return refused;
    }
    json_response(StatusCode::OK, json!({"data": shared.webhooks.list()}))
}

#[derive(Deserialize)]
pub(crate) struct NewWebhook {
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `POST /api/2.0/webhooks` with `{"url": ..., "type": ..., "active": true}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = refusal(&shared, &headers) {
        return refused;
    }
    let bad = |message: &str| {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "Bad Request", "message": message}),
        )
    };
    let Ok(new) = serde_json::from_slice::<NewWebhook>(&body) else {
        return bad("the body is not a webhook as JSON");
    };
    let (Some(url), Some(kind)) = (new.url, new.kind) else {
        return bad("url and type are required");
    };
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return bad("url must be an http(s) URL");
    }
    let webhook = shared.webhooks.register(&url, &kind);
    json_response(StatusCode::OK, json!({"data": webhook}))
}

/// `DELETE /api/2.0/webhooks/{id}`.
pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&shared, &headers) {
        return refused;
    }
    if shared.webhooks.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_response(StatusCode::NOT_FOUND, json!({"error": "Not Found"}))
    }
}
