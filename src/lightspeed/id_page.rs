//! Decoding a page of an endpoint paged by id rather than by version (`/product_categories`):
//! `{"page_info": {"has_next", "last_seen"}, "data": {"categories": [...]}}` as the OpenAPI file
//! documents it, the same one level deeper (`data.data.categories`) as real clients read it, or
//! a plain `data` array. Pure code.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::page::PageError;

/// One page paged by id: each record's JSON text as received, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct IdPage {
    pub records: Vec<String>,
    /// The `after` of the next page, `None` when this page is the last.
    pub next_after: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct Nested<'a> {
    #[serde(borrow, default)]
    categories: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Deserialize, Default, Clone)]
struct PageInfo {
    #[serde(default)]
    has_next: Option<bool>,
    #[serde(default)]
    last_seen: Option<serde_json::Value>,
}

/// The records under `data` in any of the three shapes, with the innermost `page_info`.
fn records_in(
    data: &RawValue,
    mut page_info: Option<PageInfo>,
    depth: usize,
) -> Result<(Vec<&RawValue>, Option<PageInfo>), PageError> {
    if let Ok(records) = serde_json::from_str::<Vec<&RawValue>>(data.get()) {
        return Ok((records, page_info));
    }
    let nested: Nested = serde_json::from_str(data.get()).map_err(|_| {
        PageError::Envelope(
            "`data` is neither a list of records nor an object holding `categories`".into(),
        )
    })?;
    if nested.page_info.is_some() {
        page_info = nested.page_info;
    }
    match (nested.categories, nested.data) {
        (Some(records), _) => Ok((records, page_info)),
        (None, Some(inner)) if depth < 2 => records_in(inner, page_info, depth + 1),
        _ => Err(PageError::Envelope(
            "no records at `data`, `data.categories` or `data.data.categories`".into(),
        )),
    }
}

/// The text of an id, a JSON string or number.
fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Decodes a page requested with `after` (the previous page's last id; `None` for the first).
/// The next page starts after `page_info.last_seen`, or after the last record's id when the
/// page says nothing; there is none when `has_next` is false or the page is empty. A next
/// `after` equal to `after` would fetch the same page for ever: an error (loop guard).
pub fn decode_id_page(after: Option<&str>, body: &[u8]) -> Result<IdPage, PageError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| PageError::Envelope("the body is not UTF-8".into()))?;
    let envelope: Envelope = serde_json::from_str(text)
        .map_err(|err| PageError::Envelope(format!("the body is not a JSON object: {err}")))?;
    let data = envelope
        .data
        .ok_or_else(|| PageError::Envelope("the body has no `data` member".into()))?;
    let (records, page_info) = records_in(data, envelope.page_info, 0)?;
    let page_info = page_info.unwrap_or_default();
    let records: Vec<String> = records.iter().map(|raw| raw.get().to_string()).collect();
    if records.is_empty() || page_info.has_next == Some(false) {
        return Ok(IdPage {
            records,
            next_after: None,
        });
    }
    let last_id = records.last().and_then(|last| {
        serde_json::from_str::<serde_json::Value>(last)
            .ok()
            .and_then(|record| id_text(&record["id"]))
    });
    let next = page_info.last_seen.as_ref().and_then(id_text).or(last_id);
    let Some(next) = next else {
        return Err(PageError::Envelope(
            "the page says more follow but names no last id to continue after".into(),
        ));
    };
    if Some(next.as_str()) == after {
        return Err(PageError::Envelope(format!(
            "the page after id {next:?} ends at the same id (loop guard)"
        )));
    }
    Ok(IdPage {
        records,
        next_after: Some(next),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_shape_and_the_shape_real_clients_read_both_page_by_last_seen() {
        let openapi = br#"{"page_info":{"has_next":true,"last_seen":"b"},"data":{"categories":[{"id":"a"},{"id":"b"}]}}"#;
        let page = decode_id_page(None, openapi).unwrap();
        assert_eq!(page.records, vec![r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
        assert_eq!(page.next_after.as_deref(), Some("b"));

        let nested = br#"{"data":{"data":{"categories":[{"id":"c"}]},"page_info":{"has_next":false,"last_seen":"c"}}}"#;
        let page = decode_id_page(Some("b"), nested).unwrap();
        assert_eq!(page.records, vec![r#"{"id":"c"}"#]);
        assert_eq!(page.next_after, None);
    }

    #[test]
    fn without_page_info_the_last_id_continues_until_an_empty_page() {
        let page = decode_id_page(None, br#"{"data":[{"id":7},{"id":9}]}"#).unwrap();
        assert_eq!(page.next_after.as_deref(), Some("9"));
        let page = decode_id_page(Some("9"), br#"{"data":{"categories":[]}}"#).unwrap();
        assert_eq!((page.records.len(), page.next_after), (0, None));
    }

    #[test]
    fn a_page_that_does_not_move_or_has_no_records_is_refused() {
        let same = br#"{"page_info":{"has_next":true,"last_seen":"b"},"data":{"categories":[{"id":"b"}]}}"#;
        assert!(matches!(
            decode_id_page(Some("b"), same),
            Err(PageError::Envelope(reason)) if reason.contains("loop guard")
        ));
        assert!(decode_id_page(None, br#"{"data":{"x":1}}"#).is_err());
        assert!(decode_id_page(None, br#"{"page_info":{}}"#).is_err());
        assert!(decode_id_page(None, b"[1,2]").is_err());
    }
}
