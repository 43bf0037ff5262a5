//! The bodies the simulator's endpoints answer with: a list endpoint's page of records cut from
//! the store by version, and a consignment's lines. Pure code over the shared store.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::render::{products_page, render_record_into, RenderContext, RenderQuirks};
use super::server::Shared;
use super::store::StoreShape;
use crate::entity::Entity;

fn number(params: &HashMap<String, String>, key: &str) -> Option<i64> {
    params
        .get(key)
        .and_then(|value| value.trim().parse::<i64>().ok())
}

fn render_context(shared: &Shared, shape: &StoreShape) -> RenderContext {
    let config = &shared.config;
    RenderContext {
        seed: shape.seed,
        outlets: shape.outlets,
        products: shape.products,
        customers: shape.customers,
        registers: shape.registers,
        sales: shape.sales,
        always_version: config.quirk_no_version_member,
        quirks: RenderQuirks {
            money_as_strings: config.quirk_money_as_strings,
            odd_values: config.odd_values,
        },
    }
}

/// The body of `GET /<entity>` for `params` (`after`, `before`, `page_size`, `deleted`).
pub(crate) fn list_page(
    shared: &Shared,
    entity: Entity,
    params: &HashMap<String, String>,
) -> String {
    let config = &shared.config;
    let number = |key: &str| number(params, key);
    let after = if config.quirk_ignore_after {
        0
    } else {
        number("after").unwrap_or(0)
    };
    let before = number("before");
    let cap = if entity == Entity::Sales {
        config.sales_page_cap.unwrap_or(config.page_cap)
    } else {
        config.page_cap
    }
    .max(1) as i64;
    let page_size = number("page_size").unwrap_or(cap).clamp(1, cap) as usize;
    let include_deleted = entity.accepts_deleted_param()
        && params
            .get("deleted")
            .is_some_and(|value| value == "true" || value == "1");

    let (snapshots, shape) = {
        let store = shared.store.read().expect("store lock");
        (
            store.page(entity, after, before, page_size, include_deleted),
            store.shape().clone(),
        )
    };
    shared
        .stats
        .records_served
        .fetch_add(snapshots.len() as u64, Ordering::Relaxed);
    let context = render_context(shared, &shape);
    let mut body = String::with_capacity(snapshots.len() * 1200 + 64);
    if entity == Entity::ProductCategories && config.quirk_categories_by_id {
        body.push_str(
            "{\"page_info\":{\"has_next\":false,\"last_seen\":null},\"data\":{\"categories\":[",
        );
        for (position, snapshot) in snapshots.iter().enumerate() {
            if position > 0 {
                body.push(',');
            }
            render_record_into(&mut body, snapshot, &context);
        }
        body.push_str("]}}");
        return body;
    }
    body.push_str("{\"data\":[");
    for (position, snapshot) in snapshots.iter().enumerate() {
        if position > 0 {
            body.push(',');
        }
        render_record_into(&mut body, snapshot, &context);
    }
    body.push(']');
    if !config.quirk_no_version_member {
        match (snapshots.first(), snapshots.last()) {
            (Some(first), Some(last)) => body.push_str(&format!(
                ",\"version\":{{\"min\":{},\"max\":{}}}",
                first.version, last.version
            )),
            _ => body.push_str(",\"version\":{\"min\":null,\"max\":null}"),
        }
    }
    body.push('}');
    body
}

/// The body of `GET /consignments/{id}/products`, or `None` for an unknown consignment.
pub(crate) fn consignment_products_page(
    shared: &Shared,
    id: &str,
    params: &HashMap<String, String>,
) -> Option<String> {
    let after = number(params, "after").unwrap_or(0);
    let cap = shared.config.page_cap.max(1) as i64;
    let limit = number(params, "page_size").unwrap_or(cap).clamp(1, cap) as usize;
    let (consignment, shape) = {
        let store = shared.store.read().expect("store lock");
        (store.consignment(id)?, store.shape().clone())
    };
    let mut body = String::with_capacity(4096);
    products_page(
        &mut body,
        &consignment,
        &render_context(shared, &shape),
        after,
        limit,
    );
    Some(body)
}
