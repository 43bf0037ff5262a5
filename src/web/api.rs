//! The JSON API (`/api/status`, `/api/runs`), authenticated by the session cookie or the API
//! token, and `/healthz` for monitors (no login, no detail).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, State};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::ApiUser;
use super::views::{load_entity_cards, EntityCard};
use super::{with_db, WebState};
use crate::db::{self, RunFilter, SyncLogRow};

/// Most runs `/api/runs` returns at once.
const MAX_RUNS: i64 = 1000;

#[derive(Serialize)]
pub struct StatusResponse {
    generated_at: chrono::DateTime<chrono::Utc>,
    entities: Vec<EntityCard>,
}

#[get("/api/status")]
pub async fn status(
    _user: ApiUser,
    state: &State<WebState>,
) -> Result<Json<StatusResponse>, Status> {
    let thresholds = state.health;
    let now = chrono::Utc::now();
    let entities = with_db(state, move |conn| load_entity_cards(conn, &thresholds, now)).await?;
    Ok(Json(StatusResponse {
        generated_at: now,
        entities,
    }))
}

#[get("/api/runs?<entity>&<status>&<mode>&<limit>")]
pub async fn runs(
    _user: ApiUser,
    state: &State<WebState>,
    entity: Option<String>,
    status: Option<String>,
    mode: Option<String>,
    limit: Option<i64>,
) -> Result<Json<Vec<SyncLogRow>>, Status> {
    let filter = RunFilter {
        entity: entity.filter(|e| !e.is_empty()),
        status: status.filter(|s| !s.is_empty()),
        mode: mode.filter(|m| !m.is_empty()),
    };
    let limit = limit.unwrap_or(100).clamp(1, MAX_RUNS);
    let (rows, _) = with_db(state, move |conn| db::load_runs(conn, &filter, limit, 0)).await?;
    Ok(Json(rows))
}

#[get("/healthz")]
pub async fn healthz(state: &State<WebState>) -> (Status, Json<Value>) {
    match with_db(state, db::ping).await {
        Ok(()) => (Status::Ok, Json(json!({"status": "ok"}))),
        Err(_) => (
            Status::ServiceUnavailable,
            Json(json!({"status": "unavailable"})),
        ),
    }
}
