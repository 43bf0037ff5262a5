//! Decoding a list endpoint's response body: the `{"data": [...], "version": {...}}` envelope,
//! every record in it, and the page's max version (the next `after`). Pure code.

use serde::Deserialize;
use serde_json::value::RawValue;
#[cfg(test)]
use serde_json::Value;

#[cfg(test)]
use std::ops::Range;

use bytes::Bytes;

use super::body::Body;
use super::decode::parse_integer;
use super::raw_object::Scalar;
use super::raw_page::RawPage;
use super::records::Record;
use crate::entity::Entity;

/// One decoded page. Empty `records` means the entity is exhausted.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The next `after`: the envelope's `version.max`, or the largest row version when the
    /// envelope has none. `None` on an empty page.
    pub max_version: Option<i64>,
}

/// Why a response body is not a page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PageError {
    #[error("the body is not the documented JSON envelope: {0}")]
    Envelope(String),
    #[error("record {index} is invalid: {reason}")]
    Record { index: usize, reason: String },
    /// The shape the OpenAPI file documents for `/product_categories`: `{"page_info": ...,
    /// "data": {"categories": [...]}}`, paged by category id, not by version.
    #[error("the endpoint answers in the shape paged by category id (page_info, data.categories), not by version")]
    PagedById,
    #[error(
        "the page's max version {max_version} does not exceed the cursor {after} (loop guard)"
    )]
    LoopGuard { after: i64, max_version: i64 },
}

/// The envelope as serde reads it (the tests' oracle).
#[cfg(test)]
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    version: Option<VersionRange<'a>>,
}

#[derive(Deserialize)]
struct VersionRange<'a> {
    #[serde(default, borrow)]
    max: Option<&'a RawValue>,
}

impl VersionRange<'_> {
    fn max_version(&self) -> Option<i64> {
        self.max.and_then(integer_of)
    }
}

/// An integer from a JSON number or numeric string.
fn integer_of(value: &RawValue) -> Option<i64> {
    parse_integer(&Scalar::of(value))
}

/// A record read only for its own `version`.
#[derive(Deserialize)]
struct Versioned<'a> {
    #[serde(default, borrow)]
    version: Option<&'a RawValue>,
}

/// A record's own `version` (`None` when it has none that is an integer); an error when the
/// text is not a JSON object.
pub(super) fn record_version(text: &[u8]) -> Result<Option<i64>, serde_json::Error> {
    serde_json::from_slice::<Versioned>(text).map(|record| record.version.and_then(integer_of))
}

/// The `max` of an envelope's `version` member given as its text (`null` has none).
pub(super) fn declared_max(version: &[u8]) -> Result<Option<i64>, serde_json::Error> {
    serde_json::from_slice::<Option<VersionRange>>(version)
        .map(|range| range.as_ref().and_then(VersionRange::max_version))
}

/// Parses a page's envelope with serde: where each record's text lies in `body`, and the
/// declared `version.max`. The tests' oracle for `envelope_scan`, which parses every body.
#[cfg(test)]
pub(super) fn parse_envelope(body: &[u8]) -> Result<(Vec<Range<usize>>, Option<i64>), PageError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| PageError::Envelope("the body is not UTF-8".into()))?;
    let envelope: Envelope = serde_json::from_str(text).map_err(|err| {
        if paged_by_id(text) {
            return PageError::PagedById;
        }
        PageError::Envelope(format!(
            "{} at line {} column {}",
            classify(&err),
            err.line(),
            err.column()
        ))
    })?;
    let declared = envelope
        .version
        .as_ref()
        .and_then(VersionRange::max_version);
    let start = text.as_ptr() as usize;
    let spans = envelope
        .data
        .iter()
        .map(|raw| {
            let at = raw.get().as_ptr() as usize - start;
            at..at + raw.get().len()
        })
        .collect();
    Ok((spans, declared))
}

/// Whether `text` is a page in the shape paged by id (`page_info` and `data.categories`).
#[cfg(test)]
fn paged_by_id(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .is_ok_and(|page| page["page_info"].is_object() && page["data"]["categories"].is_array())
}

/// Decodes a whole page of `entity` that was requested with `after`.
pub fn decode_page(entity: Entity, after: i64, body: &[u8]) -> Result<Page, PageError> {
    decode_raw_page(
        entity,
        RawPage::parse(after, Body::Memory(Bytes::copy_from_slice(body)))?,
    )
}

/// Decodes every record of a parsed page.
pub(super) fn decode_raw_page(entity: Entity, raw: RawPage) -> Result<Page, PageError> {
    Ok(Page {
        records: raw.decode(entity, 0..raw.len())?,
        max_version: raw.max_version,
    })
}

/// One page of a parent's children (`GET /consignments/{id}/products`): each record's JSON
/// text as received, and the page's largest version if it states one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildPage {
    pub records: Vec<String>,
    /// The envelope's `version.max`, or the largest record version; `None` when the page
    /// states no version at all (no real client pages this endpoint by version).
    pub max_version: Option<i64>,
}

/// Reads a page of children: only the envelope and the versions; the records are typed with
/// their parent. Unlike a list page it has no loop guard: the caller decides where the list
/// ends (`engine::child_fetch`), since servers page this endpoint in their own ways.
pub fn decode_child_page(body: Bytes) -> Result<ChildPage, PageError> {
    let found = super::envelope_scan::scan_envelope_in(&body)?;
    let (spans, declared) = (found.spans, found.declared_max);
    let mut records = Vec::with_capacity(spans.len());
    let mut largest: Option<i64> = None;
    for (index, span) in spans.into_iter().enumerate() {
        let text = std::str::from_utf8(&body[span]).map_err(|_| PageError::Record {
            index,
            reason: "a record is not UTF-8".into(),
        })?;
        let version = record_version(text.as_bytes()).map_err(|err| PageError::Record {
            index,
            reason: err.to_string(),
        })?;
        largest = largest.max(version);
        records.push(text.to_string());
    }
    Ok(ChildPage {
        records,
        max_version: declared.or(largest),
    })
}

#[cfg(test)]
fn classify(err: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => "the body ends early (truncated)",
        Category::Syntax => "the body is not JSON",
        Category::Data => "the JSON does not have the expected shape",
        Category::Io => "the body could not be read",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_category_shape_paged_by_id_is_named() {
        let body = br#"{"page_info":{"has_next":false,"last_seen":"b"},"data":{"categories":[{"id":"a","name":"Shoes"}]}}"#;
        assert_eq!(
            decode_page(Entity::ProductCategories, 0, body),
            Err(PageError::PagedById)
        );
        assert!(matches!(
            decode_page(Entity::ProductCategories, 0, br#"{"data":{"x":1}}"#),
            Err(PageError::Envelope(_))
        ));
    }

    #[test]
    fn the_envelope_max_is_the_next_cursor() {
        let body = br#"{"data":[{"id":"a","version":5},{"id":"b","version":9}],"version":{"min":5,"max":9}}"#;
        let page = decode_page(Entity::Customers, 0, body).unwrap();
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.max_version, Some(9));
    }

    #[test]
    fn a_missing_version_member_falls_back_to_the_largest_row() {
        let body = br#"{"data":[{"id":"a","version":"12"},{"id":"b","version":7}]}"#;
        assert_eq!(
            decode_page(Entity::Products, 0, body).unwrap().max_version,
            Some(12)
        );
    }

    #[test]
    fn an_empty_page_has_no_max() {
        let body = br#"{"data":[],"version":{"min":null,"max":null}}"#;
        let page = decode_page(Entity::Sales, 10, body).unwrap();
        assert!(page.records.is_empty());
        assert_eq!(page.max_version, None);
    }

    #[test]
    fn a_page_that_does_not_advance_trips_the_loop_guard() {
        let body = br#"{"data":[{"id":"a","version":5}],"version":{"min":5,"max":5}}"#;
        assert_eq!(
            decode_page(Entity::Outlets, 5, body),
            Err(PageError::LoopGuard {
                after: 5,
                max_version: 5
            })
        );
    }

    #[test]
    fn truncated_and_non_json_bodies_are_typed_errors() {
        let truncated = br#"{"data":[{"id":"a","vers"#;
        assert!(matches!(
            decode_page(Entity::Sales, 0, truncated),
            Err(PageError::Envelope(reason)) if reason.contains("truncated")
        ));
        assert!(matches!(
            decode_page(Entity::Sales, 0, b"<html>502 Bad Gateway</html>"),
            Err(PageError::Envelope(_))
        ));
        assert!(matches!(
            decode_page(Entity::Sales, 0, br#"{"data":[{"version":3}]}"#),
            Err(PageError::Record { index: 0, .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_page(Entity::Sales, 0, &body);
        }

        #[test]
        fn arbitrary_json_shaped_text_never_panics(body in r#"\{"data":\[(\{"id":("[a-z]{0,3}"|[0-9]{1,3}|null),"version":("?[0-9]{0,12}"?|null|\[\]),"line_items":(\[\{"id":"x","quantity":"[0-9a-z.\-]{0,6}"\}\]|null|7)\},?){0,4}\],"version":\{"max":[0-9]{0,5}\}\}"#) {
            let _ = decode_page(Entity::Sales, 0, body.as_bytes());
        }
    }
}
