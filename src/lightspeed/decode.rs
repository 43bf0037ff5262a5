//! Lenient decoding of single JSON fields as the API sends them: exact decimals from numbers or
//! numeric strings, timestamps with or without an offset, ids as opaque strings. Pure functions;
//! a value of the wrong kind is a typed error naming the field.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// A field whose value is of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

fn field_error(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// A JSON object's fields, read leniently; missing and null are the same.
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Fields { object, prefix }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|value| !value.is_null())
    }

    fn name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// A string; numbers become their text (ids are sometimes sent as numbers).
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            Some(_) => Err(field_error(&self.name(name), "expected a string")),
        }
    }

    /// A required opaque id.
    pub(crate) fn id(&self, name: &str) -> Result<String, FieldError> {
        match self.text(name)? {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(field_error(
                &self.name(name),
                "missing; every record needs one",
            )),
        }
    }

    /// A required version counter.
    pub(crate) fn version(&self, name: &str) -> Result<i64, FieldError> {
        self.integer(name)?
            .ok_or_else(|| field_error(&self.name(name), "missing; every record needs one"))
    }

    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => parse_integer(value)
                .map(Some)
                .ok_or_else(|| field_error(&self.name(name), "expected an integer")),
        }
    }

    pub(crate) fn decimal(&self, name: &str) -> Result<Option<BigDecimal>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => {
                parse_decimal(value).map_err(|reason| field_error(&self.name(name), reason))
            }
        }
    }

    pub(crate) fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => {
                parse_timestamp(text).map_err(|reason| field_error(&self.name(name), reason))
            }
            Some(_) => Err(field_error(&self.name(name), "expected a timestamp string")),
        }
    }

    pub(crate) fn date(&self, name: &str) -> Result<Option<NaiveDate>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => {
                parse_date(text).map_err(|reason| field_error(&self.name(name), reason))
            }
            Some(_) => Err(field_error(&self.name(name), "expected a date string")),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::Number(number)) => match number.to_string().as_str() {
                "0" => Ok(Some(false)),
                "1" => Ok(Some(true)),
                _ => Err(field_error(&self.name(name), "expected a boolean")),
            },
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(field_error(&self.name(name), "expected a boolean")),
            },
            Some(_) => Err(field_error(&self.name(name), "expected a boolean")),
        }
    }

    /// An array of objects (missing or null is empty).
    pub(crate) fn objects(&self, name: &str) -> Result<Vec<&'a Map<String, Value>>, FieldError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_object().ok_or_else(|| {
                        field_error(&self.name(name), "expected an array of objects")
                    })
                })
                .collect(),
            Some(_) => Err(field_error(&self.name(name), "expected an array")),
        }
    }

    /// Any JSON value, kept as is.
    pub(crate) fn json(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

/// An int64 from a JSON number or a numeric string.
pub fn parse_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.to_string().parse::<i64>().ok()),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// An exact decimal from a JSON number or numeric string; an empty string is null.
pub fn parse_decimal(value: &Value) -> Result<Option<BigDecimal>, String> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) if text.trim().is_empty() => return Ok(None),
        Value::String(text) => text.trim().to_string(),
        _ => return Err("expected a number or numeric string".into()),
    };
    let is_plain_number = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !is_plain_number {
        return Err(format!("`{}` is not a number", truncate(&text)));
    }
    BigDecimal::from_str(&text)
        .map(Some)
        .map_err(|_| format!("`{}` is not a number", truncate(&text)))
}

/// A UTC instant from RFC 3339 (`+00:00`, `Z`) or a timestamp without an offset (taken as UTC).
/// An empty string is null.
pub fn parse_timestamp(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(instant.with_timezone(&Utc)));
    }
    if let Ok(instant) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Ok(Some(instant.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(naive.and_utc()));
        }
    }
    Err(format!("`{}` is not a timestamp", truncate(text)))
}

/// A calendar date (`1980-02-29`); a timestamp keeps its date part. Empty is null.
pub fn parse_date(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(date));
    }
    match parse_timestamp(text) {
        Ok(Some(instant)) => Ok(Some(instant.date_naive())),
        _ => Err(format!("`{}` is not a date", truncate(text))),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_are_exact_from_numbers_and_strings() {
        let value: Value = serde_json::from_str("12345678901234.12345").unwrap();
        assert_eq!(
            parse_decimal(&value).unwrap().unwrap().to_string(),
            "12345678901234.12345"
        );
        assert_eq!(
            parse_decimal(&json!("-0.00001"))
                .unwrap()
                .unwrap()
                .to_string(),
            "-0.00001"
        );
        assert_eq!(
            parse_decimal(&json!(" 3.5 ")).unwrap().unwrap().to_string(),
            "3.5"
        );
        assert_eq!(parse_decimal(&json!("")).unwrap(), None);
        assert!(parse_decimal(&json!("12abc")).is_err());
        assert!(parse_decimal(&json!("NaN")).is_err());
        assert!(parse_decimal(&json!(true)).is_err());
        assert!(parse_decimal(&json!([1])).is_err());
    }

    #[test]
    fn timestamps_accept_offsets_z_and_no_offset() {
        let expected = "2014-09-11T21:09:59Z";
        for text in [
            "2014-09-11T21:09:59+00:00",
            "2014-09-11T21:09:59Z",
            "2014-09-11T21:09:59",
            "2014-09-11 21:09:59",
            "2014-09-11T23:09:59+02:00",
        ] {
            let parsed = parse_timestamp(text).unwrap().unwrap();
            assert_eq!(
                parsed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{text}"
            );
        }
        assert_eq!(parse_timestamp("").unwrap(), None);
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("2014-13-45T00:00:00Z").is_err());
    }

    #[test]
    fn dates_accept_plain_dates_and_timestamps() {
        assert_eq!(
            parse_date("1980-02-29").unwrap(),
            NaiveDate::from_ymd_opt(1980, 2, 29)
        );
        assert_eq!(
            parse_date("1980-02-29T00:00:00+00:00").unwrap(),
            NaiveDate::from_ymd_opt(1980, 2, 29)
        );
        assert!(parse_date("29/02/1980").is_err());
    }

    #[test]
    fn integers_accept_numeric_strings_and_large_values() {
        assert_eq!(
            parse_integer(&json!(5_000_000_000_i64)),
            Some(5_000_000_000)
        );
        assert_eq!(parse_integer(&json!("5000000000")), Some(5_000_000_000));
        assert_eq!(parse_integer(&json!(1.5)), None);
        assert_eq!(parse_integer(&json!(null)), None);
    }

    #[test]
    fn fields_treat_missing_and_null_alike_and_name_bad_fields() {
        let object = json!({"a": null, "n": 7, "s": "x", "o": {"k": 1}, "b": "1"});
        let fields = Fields::new(object.as_object().unwrap(), "sale");
        assert_eq!(fields.text("a").unwrap(), None);
        assert_eq!(fields.text("missing").unwrap(), None);
        assert_eq!(fields.text("n").unwrap().as_deref(), Some("7"));
        assert_eq!(fields.boolean("b").unwrap(), Some(true));
        let err = fields.text("o").unwrap_err();
        assert_eq!(err.field, "sale.o");
        assert!(fields.id("a").is_err());
        assert!(fields.version("s").is_err());
    }
}
