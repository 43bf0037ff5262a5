//! The `/__simulator/*` control endpoints (`--control`): make changes (all kinds, or one
//! entity's), read the ground truth, the request counters and the odd values served, and queue
//! faults.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::faults::FaultKind;
use super::server::{json_response, Shared};

pub(crate) async fn mutate(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let count = params
        .get("n")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let counts = match params.get("entity") {
        None => shared.mutate(count),
        Some(name) => match name
            .parse()
            .ok()
            .and_then(|e| shared.mutate_entity(e, count))
        {
            Some(counts) => counts,
            None => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("the simulator makes no changes of `{name}` by itself")}),
                )
            }
        },
    };
    json_response(
        StatusCode::OK,
        serde_json::to_value(counts).expect("counts serialise"),
    )
}

pub(crate) async fn expected(State(shared): State<Arc<Shared>>) -> Response {
    let expected = shared.store.read().expect("store lock").expected();
    json_response(StatusCode::OK, expected)
}

pub(crate) async fn quirks(State(shared): State<Arc<Shared>>) -> Response {
    let report = {
        let store = shared.store.read().expect("store lock");
        super::quirks::odd_value_report(&store, shared.config.odd_values)
    };
    json_response(
        StatusCode::OK,
        serde_json::to_value(report).expect("the report serialises"),
    )
}

pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, shared.stats.to_json())
}

pub(crate) async fn fail(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let kind = match params.get("kind").map(|kind| kind.parse::<FaultKind>()) {
        Some(Ok(kind)) => kind,
        Some(Err(message)) => {
            return json_response(StatusCode::BAD_REQUEST, json!({"error": message}))
        }
        None => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "kind is required"}),
            )
        }
    };
    let count = params
        .get("count")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    shared.queue_faults(kind, count);
    json_response(StatusCode::OK, json!({"queued": count}))
}
