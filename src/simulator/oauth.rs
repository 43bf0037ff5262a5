//! The simulator's OAuth app: access tokens that expire, and `POST /api/1.0/token` renewing
//! them with a refresh token that rotates (the old one is revoked the moment the next is
//! issued), as Lightspeed has done since March 2025.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::server::{json_response, Shared};

/// An OAuth app the simulator accepts.
#[derive(Debug, Clone)]
pub struct SimulatedOAuth {
    pub client_id: String,
    pub client_secret: String,
    /// The refresh token the store's owner authorized.
    pub refresh_token: String,
    /// How long an issued access token lasts (the API's is 7 days).
    pub access_ttl: Duration,
    /// How long the configured `token` lasts from the start (zero: already expired).
    pub initial_ttl: Duration,
}

/// Issued tokens.
#[derive(Debug)]
pub(crate) struct OAuthState {
    /// Access token -> when it expires.
    access: HashMap<String, SystemTime>,
    /// The one refresh token that is valid now.
    refresh: String,
    renewals: u64,
}

impl OAuthState {
    pub(crate) fn new(app: &SimulatedOAuth, initial_token: &str) -> OAuthState {
        OAuthState {
            access: HashMap::from([(
                initial_token.to_string(),
                SystemTime::now() + app.initial_ttl,
            )]),
            refresh: app.refresh_token.clone(),
            renewals: 0,
        }
    }
}

/// Whether `bearer` (the whole `Authorization` value) is an unexpired access token.
pub(crate) fn accepts(state: &Mutex<OAuthState>, bearer: &str) -> bool {
    let Some(token) = bearer.strip_prefix("Bearer ") else {
        return false;
    };
    let state = state.lock().expect("oauth lock");
    state
        .access
        .get(token)
        .is_some_and(|expires| *expires > SystemTime::now())
}

/// Makes every access token issued so far expire now.
#[cfg(feature = "failpoints")]
pub(crate) fn expire_all(state: &Mutex<OAuthState>) {
    let now = SystemTime::now();
    for expires in state.lock().expect("oauth lock").access.values_mut() {
        *expires = now;
    }
}

/// Renewals answered so far.
pub(crate) fn renewals(state: &Mutex<OAuthState>) -> u64 {
    state.lock().expect("oauth lock").renewals
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// `POST /api/1.0/token` with `grant_type=refresh_token`, form-encoded.
pub(crate) async fn token_endpoint(
    State(shared): State<std::sync::Arc<Shared>>,
    body: Bytes,
) -> Response {
    let refused = |error: &str| json_response(StatusCode::BAD_REQUEST, json!({"error": error}));
    let (Some(app), Some(state)) = (&shared.config.oauth, &shared.oauth) else {
        return refused("unsupported_grant_type");
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return refused("unsupported_grant_type");
    }
    if field("client_id") != app.client_id || field("client_secret") != app.client_secret {
        return refused("invalid_client");
    }
    let mut state = state.lock().expect("oauth lock");
    if field("refresh_token") != state.refresh {
        return refused("invalid_grant");
    }
    state.renewals += 1;
    let serial = state.renewals;
    let access_token = format!("sim-access-{serial}-{:016x}", rand::random::<u64>());
    let refresh_token = format!("sim-refresh-{serial}-{:016x}", rand::random::<u64>());
    let expires = SystemTime::now() + app.access_ttl;
    state.access.insert(access_token.clone(), expires);
    state.refresh = refresh_token.clone();
    json_response(
        StatusCode::OK,
        json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires": unix(expires),
        "expires_in": app.access_ttl.as_secs(),
        "refresh_token": refresh_token,
        "domain_prefix": "simulator",
            "scope": "sales:read products:read customers:read inventory:read",
        }),
    )
}
