//! Children the API lists at their own endpoint instead of embedding them (a consignment's
//! products): fetched for every record of a freshly fetched page, before the page is spooled,
//! and spooled inside their parent's record. The page and its children then reach PostgreSQL in
//! one transaction, a replay writes nothing (the parent's version guard), and a crash before
//! the spool re-fetches the page with its children. Only records on fetched pages (those that
//! changed since the cursor) have their children fetched.

use std::sync::atomic::Ordering;

use anyhow::Context;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::entity::ChildSpec;
use crate::lightspeed::{decode_record, FetchError, Record};

use super::pipeline::StreamContext;

/// Parents whose children are fetched at once: enough to hide a request's latency, few enough
/// that one entity cannot crowd the others out of the rate budget.
const CONCURRENT_PARENTS: usize = 4;

/// A fetched page's records, decoded with their children, and the texts the spool keeps when
/// they differ from the records' own `raw` (records whose children were fetched and embedded).
pub struct WithChildren {
    pub records: Vec<Record>,
    pub spool_texts: Option<Vec<String>>,
}

/// Fetches the children of every record of a page of `ctx.entity` (whose `version.max` is
/// `page_version`) that the API does not embed, and decodes the records with them.
pub async fn attach_children(
    ctx: &StreamContext,
    records: Vec<Record>,
    page_version: i64,
) -> anyhow::Result<WithChildren> {
    let entity = ctx.entity;
    let children: Vec<&'static ChildSpec> = entity.spec().fetched_children().collect();
    if children.is_empty() {
        return Ok(WithChildren {
            records,
            spool_texts: None,
        });
    }
    let texts: Vec<String> = stream::iter(records)
        .map(|record| {
            let children = &children;
            async move {
                let mut text = record.raw;
                for child in children {
                    let lines = fetch_all(ctx, &record.id, child).await?;
                    text = embed(&text, child.array, &lines);
                }
                Ok::<String, FetchError>(text)
            }
        })
        .buffered(CONCURRENT_PARENTS)
        .try_collect()
        .await?;
    let records = texts
        .iter()
        .map(|text| decode_record(entity, text, Some(page_version)))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("a {entity} record with its fetched children"))?;
    Ok(WithChildren {
        records,
        spool_texts: Some(texts),
    })
}

/// Every child of `parent_id`. No real client pages this endpoint by version (one call with
/// `after=0`, or `page=N`), so the list ends at the first page that is empty, states no
/// version, does not advance past `after` (a server that ignores `after` answers the same
/// lines again), or is short: shorter than asked and than the longest page this endpoint has
/// answered in the run. The second half of the short rule keeps a server that clamps
/// `page_size` below what was asked from cutting lists at its clamp; once any list has shown
/// the clamp, a consignment's lines cost one request.
async fn fetch_all(
    ctx: &StreamContext,
    parent_id: &str,
    child: &ChildSpec,
) -> Result<Vec<String>, FetchError> {
    let sub = child
        .fetched_from
        .expect("only fetched children are fetched");
    let mut after = 0;
    let mut records = Vec::new();
    loop {
        let page = ctx
            .client
            .fetch_child_page(
                ctx.entity,
                parent_id,
                sub,
                after,
                ctx.page_size,
                &ctx.counters,
            )
            .await?;
        let length = page.records.len();
        if length == 0 {
            return Ok(records);
        }
        let longest = ctx
            .longest_child_page
            .fetch_max(length, Ordering::Relaxed)
            .max(length);
        match judge_child_page(after, length, page.max_version, ctx.page_size, longest) {
            ChildPageVerdict::Repeat => {
                log::warn!(
                    "{}/{parent_id}/{sub}: the server answered the same lines again for after={after}; keeping the first {} (a server that ignores `after` lists no more than one page: raise LIGHTSYNC_PAGE_SIZE if a list is longer)",
                    ctx.entity,
                    records.len()
                );
                return Ok(records);
            }
            ChildPageVerdict::Keep { next } => {
                records.extend(page.records);
                match next {
                    Some(next) => after = next,
                    None => return Ok(records),
                }
            }
        }
    }
}

/// What a page of a parent's children means for its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildPageVerdict {
    /// The page repeats what came before (a server that ignores `after`): drop it and stop.
    Repeat,
    /// Keep the page's records; continue after `next`, or stop when `None`.
    Keep { next: Option<i64> },
}

/// Where a list of children goes after a page of `length` records requested after `after` with
/// `asked` as the page size, when the longest page of children answered so far is `longest`.
/// The list ends at a page that is empty, states no version, does not advance, or is short:
/// shorter than asked and than the longest page seen (a server clamping `page_size` answers
/// pages of its clamp, which must not end a list).
pub(crate) fn judge_child_page(
    after: i64,
    length: usize,
    max_version: Option<i64>,
    asked: u32,
    longest: usize,
) -> ChildPageVerdict {
    let advanced = max_version.filter(|max| *max > after);
    if length > 0 && after > 0 && advanced.is_none() {
        return ChildPageVerdict::Repeat;
    }
    let short = length < asked as usize && length < longest;
    ChildPageVerdict::Keep {
        next: advanced.filter(|_| length > 0 && !short),
    }
}

/// `object` (a JSON object's text) with `field` set to the array of `items` (JSON texts). A
/// field of that name the API might send is overridden (the last duplicate key wins).
fn embed(object: &str, field: &str, items: &[String]) -> String {
    let body = object.trim_end();
    let body = body.strip_suffix('}').unwrap_or(body).trim_end();
    let mut out = String::with_capacity(
        body.len() + field.len() + 8 + items.iter().map(String::len).sum::<usize>() + items.len(),
    );
    out.push_str(body);
    if !body.trim_start().ends_with('{') {
        out.push(',');
    }
    out.push_str(&serde_json::to_string(field).expect("a field name serialises"));
    out.push_str(":[");
    out.push_str(&items.join(","));
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_list_of_children_ends_where_the_server_says_or_shows_it() {
        use ChildPageVerdict::*;
        // A full page continues; a short one ends the list once a longer one was seen.
        assert_eq!(
            judge_child_page(0, 10, Some(20), 10, 10),
            Keep { next: Some(20) }
        );
        assert_eq!(
            judge_child_page(20, 4, Some(24), 10, 10),
            Keep { next: None }
        );
        // A server clamping to 5 when 10 are asked: pages of 5 go on.
        assert_eq!(
            judge_child_page(0, 5, Some(5), 10, 5),
            Keep { next: Some(5) }
        );
        // The same lines again: a server ignoring `after`.
        assert_eq!(judge_child_page(5, 5, Some(5), 10, 5), Repeat);
        // No version to continue after, or an empty page.
        assert_eq!(judge_child_page(0, 3, None, 10, 3), Keep { next: None });
        assert_eq!(judge_child_page(7, 0, None, 10, 3), Keep { next: None });
    }

    #[test]
    fn children_are_embedded_as_an_array_field() {
        let embedded = embed(
            "{\"id\":\"c1\",\"version\":7 } \n",
            "products",
            &[
                "{\"product_id\":\"p\"}".into(),
                "{\"product_id\":\"q\"}".into(),
            ],
        );
        let value: Value = serde_json::from_str(&embedded).unwrap();
        assert_eq!(
            value,
            json!({"id":"c1","version":7,"products":[{"product_id":"p"},{"product_id":"q"}]})
        );
        let value: Value = serde_json::from_str(&embed("{}", "products", &[])).unwrap();
        assert_eq!(value, json!({"products": []}));
    }

    #[test]
    fn a_field_of_the_same_name_is_overridden() {
        let embedded = embed("{\"products\":5}", "products", &["1".into()]);
        let value: Value = serde_json::from_str(&embedded).unwrap();
        assert_eq!(value, json!({"products": [1]}));
    }
}
