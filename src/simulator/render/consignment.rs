//! A consignment's lines as `GET /consignments/{id}/products` lists them: no id of their own,
//! each with its own `version` (ascending, the last equal to the consignment's), paged by
//! version like every list endpoint.

use chrono::Duration;

use super::{changed_at, RenderContext};
use crate::entity::Entity;
use crate::simulator::reference::{consignment_line_count, reference_id};
use crate::simulator::store::{hash, RecordSnapshot};

const LINE_STATUSES: [&str; 3] = ["PENDING", "SUCCESS", "RECEIVE_SUCCESS"];

/// Appends the page of `consignment`'s lines with `after < version`, at most `limit`, as the
/// API's envelope.
pub fn products_page(
    out: &mut String,
    consignment: &RecordSnapshot,
    c: &RenderContext,
    after: i64,
    limit: usize,
) {
    let count = consignment_line_count(c.seed, consignment) as i64;
    let first_version = consignment.version - (count - 1);
    let lines: Vec<i64> = (0..count)
        .filter(|position| first_version + position > after)
        .take(limit)
        .collect();
    out.push_str("{\"data\":[");
    for (at, position) in lines.iter().enumerate() {
        if at > 0 {
            out.push(',');
        }
        line(out, consignment, c, *position, first_version + position);
    }
    out.push(']');
    match (lines.first(), lines.last()) {
        (Some(first), Some(last)) => out.push_str(&format!(
            ",\"version\":{{\"min\":{},\"max\":{}}}}}",
            first_version + first,
            first_version + last
        )),
        _ => out.push_str(",\"version\":{\"min\":null,\"max\":null}}"),
    }
}

fn line(out: &mut String, s: &RecordSnapshot, c: &RenderContext, position: i64, version: i64) {
    let h = hash(&[
        c.seed,
        71,
        s.index as u64,
        s.revision as u64,
        position as u64,
    ]);
    let mut obj = c.open(out);
    let product = (h % c.products.max(1) as u64) as u32;
    if c.products > 0 {
        obj.str(
            "product_id",
            &reference_id(c.seed, Entity::Products, product),
        );
    } else {
        obj.null("product_id");
    }
    if h.is_multiple_of(5) {
        obj.null("product_sku");
    } else {
        obj.str("product_sku", &format!("SKU-{product:05}"));
    }
    let ordered = 1 + (h >> 8) % 48;
    // Quantities and cost are decimal strings, as the API sends them.
    obj.str("count", &format!("{ordered}.00000"));
    obj.str("received", &format!("{}.00000", (h >> 16) % (ordered + 1)));
    let cost = (h >> 24) % 5_000_000;
    obj.str("cost", &format!("{}.{:05}", cost / 100_000, cost % 100_000));
    obj.bool("is_included", h & 1 == 1);
    obj.str("status", LINE_STATUSES[((h >> 40) % 3) as usize]);
    let at = changed_at(s);
    obj.timestamp("created_at", at - Duration::days(3));
    obj.timestamp("updated_at", at);
    obj.int("version", version);
    obj.close();
}
