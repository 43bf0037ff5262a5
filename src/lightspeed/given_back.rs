//! Which members of a record its row's columns give back exactly (`entity::layout`), and so
//! what is left to store in `rest` and which columns' fields the record did not have
//! (`absent`). A member is left out of `rest` only when writing the column back as JSON yields
//! the very value received; anything else (a number sent as a string, a timestamp in another
//! form, an untyped value) stays in `rest` as sent. Pure code.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::jsonb_order;
use super::raw_object::{RawObject, Scalar};
use crate::entity::layout::{date_text, timestamp_text, TableLayout};
use crate::entity::{Cell, Kind};

/// What a row stores beside its typed columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The record's members no column gives back, in jsonb key order; `None` when there are
    /// none.
    pub rest: Option<String>,
    /// One bit per member of the layout the record did not have (`TableLayout::absent_bit`);
    /// `None` when it had them all.
    pub absent: Option<i64>,
}

/// An embedded array of the record and whether its children's rows hold every element (then
/// it is rebuilt from them); otherwise its text, to keep in `rest`.
pub(crate) struct EmbeddedArray<'a> {
    pub name: &'a str,
    pub kept_text: Option<String>,
}

/// Splits `object` by `layout`: `identity` then `cells` hold the value of each of
/// `layout.fields`, in order (the record's key, version and soft delete, then its declared
/// columns); `left_out` names members that are not the record's (children fetched from
/// elsewhere).
pub(crate) fn split(
    object: &RawObject,
    layout: &TableLayout,
    (identity, cells): (&[Cell], &[Cell]),
    arrays: Vec<EmbeddedArray>,
    left_out: &[&str],
) -> Stored {
    debug_assert_eq!(
        identity.len() + cells.len(),
        layout.fields.len(),
        "{}",
        layout.table
    );
    let mut absent = 0_i64;
    let mut given_back: Vec<&str> = left_out.to_vec();
    let values = identity.iter().chain(cells);
    // A field's bit is its place among the layout's members, fields first.
    for (index, (field, value)) in layout.fields.iter().zip(values).enumerate() {
        match object.get(field.name) {
            None => absent |= 1 << index,
            Some(member) if gives_back(field.kind, member, value) => given_back.push(field.name),
            Some(_) => {}
        }
    }
    let mut written = Vec::new();
    for array in arrays {
        if object.get(array.name).is_none() {
            absent |= layout.absent_bit(array.name);
        }
        match array.kept_text {
            Some(text) => written.push((array.name, text)),
            None => given_back.push(array.name),
        }
    }
    let rest = jsonb_order::object_text(object, &given_back, &written);
    Stored {
        rest: (rest != "{}").then_some(rest),
        absent: (absent != 0).then_some(absent),
    }
}

/// Whether the column of `kind` holding `value` writes back exactly `member`.
fn gives_back(kind: Kind, member: &RawValue, value: &Cell) -> bool {
    let scalar = Scalar::of(member);
    if scalar.is_null() {
        return value.is_null();
    }
    match (kind, scalar, value) {
        (Kind::Text, Scalar::String(sent), Cell::Text(Some(kept))) => sent == kept.as_str(),
        (Kind::Numeric, Scalar::Number(sent), Cell::Numeric(Some(kept))) => sent == kept,
        (Kind::Int, Scalar::Number(sent), Cell::Int(Some(kept))) => sent == kept.to_string(),
        (Kind::Bool, Scalar::Bool(sent), Cell::Bool(Some(kept))) => sent == *kept,
        (Kind::Timestamp, Scalar::String(sent), Cell::Timestamp(Some(kept))) => {
            sent == timestamp_text(kept) && is_whole_second(kept)
        }
        (Kind::Date, Scalar::String(sent), Cell::Date(Some(kept))) => sent == date_text(kept),
        (Kind::Json, _, Cell::Json(Some(_))) => true,
        _ => false,
    }
}

fn is_whole_second(at: &DateTime<Utc>) -> bool {
    at.timestamp_subsec_nanos() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lightspeed::decode::parse_timestamp;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    #[test]
    fn only_a_value_written_back_identically_is_given_back() {
        let text = |v: &str| Cell::Text(Some(v.into()));
        assert!(gives_back(Kind::Text, &raw("\"a\""), &text("a")));
        assert!(!gives_back(Kind::Text, &raw("5"), &text("5")));
        let number = |v: &str| Cell::Numeric(Some(v.into()));
        assert!(gives_back(Kind::Numeric, &raw("1.500"), &number("1.500")));
        assert!(!gives_back(Kind::Numeric, &raw("\"1.5\""), &number("1.5")));
        assert!(gives_back(Kind::Int, &raw("7"), &Cell::Int(Some(7))));
        assert!(!gives_back(Kind::Int, &raw("7.0"), &Cell::Int(Some(7))));
        assert!(!gives_back(Kind::Bool, &raw("1"), &Cell::Bool(Some(true))));
        assert!(gives_back(
            Kind::Bool,
            &raw("false"),
            &Cell::Bool(Some(false))
        ));
        assert!(gives_back(
            Kind::Json,
            &raw("[1, 2]"),
            &Cell::Json(Some("[1, 2]".into()))
        ));
        assert!(gives_back(Kind::Text, &raw("null"), &Cell::Text(None)));
        assert!(!gives_back(
            Kind::Numeric,
            &raw("\"N/A\""),
            &Cell::Numeric(None)
        ));
    }

    #[test]
    fn timestamps_are_given_back_only_in_the_apis_form() {
        let at = |text: &str| Cell::Timestamp(parse_timestamp(text).unwrap());
        let api = "\"2024-01-31T09:00:00+00:00\"";
        assert!(gives_back(
            Kind::Timestamp,
            &raw(api),
            &at("2024-01-31T09:00:00+00:00")
        ));
        for other in [
            "2024-01-31T09:00:00Z",
            "2024-01-31 09:00:00",
            "2024-01-31T09:00:00.5+00:00",
        ] {
            let sent = raw(&format!("\"{other}\""));
            assert!(!gives_back(Kind::Timestamp, &sent, &at(other)), "{other}");
        }
    }
}
