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
    if entity.spec().is_refreshed() {
        return id_paged_page(shared, entity, params, page_size);
    }
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
    body.push_str("{\"data\":[");
    for (position, snapshot) in snapshots.iter().enumerate() {
        if position > 0 {
            body.push(',');
        }
        let flawed = config.quirk_unidentified_sales
            && entity == Entity::Sales
            && super::UNIDENTIFIED_SALES.contains(&snapshot.index);
        if flawed {
            body.push_str(&without_identity(snapshot, &context));
        } else {
            render_record_into(&mut body, snapshot, &context);
        }
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

/// A sale rendered without a usable identity (`quirk_unidentified_sales`): its own `id` empty,
/// or its `version` fractional.
fn without_identity(snapshot: &super::store::RecordSnapshot, context: &RenderContext) -> String {
    let mut text = String::new();
    render_record_into(&mut text, snapshot, context);
    if snapshot.index == super::UNIDENTIFIED_SALES[0] {
        let id = super::store::record_id(context.seed, Entity::Sales, snapshot.index);
        text.replacen(&format!("\"id\":\"{id}\""), "\"id\":\"\"", 1)
    } else {
        let version = format!("\"version\":{}", snapshot.version);
        text.replacen(&version, &format!("{version}.5"), 1)
    }
}

/// A page of an endpoint paged by id (`/product_categories`): the live records after the id
/// `after` in id order, with `page_info`, at `data.categories` as the OpenAPI file documents it
/// or at `data.data.categories` as real clients read it (`quirk_categories_nested`).
fn id_paged_page(
    shared: &Shared,
    entity: Entity,
    params: &HashMap<String, String>,
    page_size: usize,
) -> String {
    let config = &shared.config;
    let after = params
        .get("after")
        .filter(|_| !config.quirk_ignore_after)
        .cloned()
        .unwrap_or_default();
    let (mut listed, shape) = {
        let store = shared.store.read().expect("store lock");
        let shape = store.shape().clone();
        let listed: Vec<(String, super::store::RecordSnapshot)> = store
            .page(entity, 0, None, usize::MAX, false)
            .into_iter()
            .map(|snapshot| {
                let key = super::reference::record_key(shape.seed, entity, snapshot.index, &shape);
                (key, snapshot)
            })
            .filter(|(key, _)| after.is_empty() || *key > after)
            .collect();
        (listed, shape)
    };
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let has_next = listed.len() > page_size;
    listed.truncate(page_size);
    shared
        .stats
        .records_served
        .fetch_add(listed.len() as u64, Ordering::Relaxed);
    let context = render_context(shared, &shape);
    let mut records = String::with_capacity(listed.len() * 400 + 2);
    records.push('[');
    for (position, (_, snapshot)) in listed.iter().enumerate() {
        if position > 0 {
            records.push(',');
        }
        render_record_into(&mut records, snapshot, &context);
    }
    records.push(']');
    let page_info = serde_json::json!({
        "has_next": has_next,
        "last_seen": listed.last().map(|(key, _)| key.clone()),
    });
    if config.quirk_categories_nested {
        format!("{{\"data\":{{\"data\":{{\"categories\":{records}}},\"page_info\":{page_info}}}}}")
    } else {
        format!("{{\"page_info\":{page_info},\"data\":{{\"categories\":{records}}}}}")
    }
}

/// The body of `GET /<entity>/<id>` (`{"data": {...}}`), or `None` when there is no such
/// record. Found by computing every record's key: fine for the few lookups a reconcile makes.
pub(crate) fn record_by_id(shared: &Shared, entity: Entity, id: &str) -> Option<String> {
    let (snapshot, shape) = {
        let store = shared.store.read().expect("store lock");
        let shape = store.shape().clone();
        let snapshot = store
            .page(entity, 0, None, usize::MAX, true)
            .into_iter()
            .find(|snapshot| {
                super::reference::record_key(shape.seed, entity, snapshot.index, &shape) == id
            })?;
        (snapshot, shape)
    };
    let mut body = String::from("{\"data\":");
    render_record_into(&mut body, &snapshot, &render_context(shared, &shape));
    body.push('}');
    Some(body)
}

/// The body of `GET /consignments/{id}/products`, or `None` for an unknown consignment.
pub(crate) fn consignment_products_page(
    shared: &Shared,
    id: &str,
    params: &HashMap<String, String>,
) -> Option<String> {
    let after = if shared.config.quirk_lines_ignore_after {
        0
    } else {
        number(params, "after").unwrap_or(0)
    };
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
