//! Lenient decoding of single JSON fields as the API sends them: exact decimals from numbers or
//! numeric strings, timestamps with or without an offset, placeholder dates as null, ids as
//! opaque strings. Pure functions. Only a record's identity (`id`, `version`) can fail it; any
//! other value of the wrong kind becomes a `FieldProblem` and the field is read as null.

use std::cell::RefCell;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde_json::value::RawValue;

use super::raw_object::{array_elements, RawObject, Scalar};

/// An identity field (`id`, `version`) that is missing or of the wrong kind: the record cannot
/// be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// A field whose value could not be typed: its column stays NULL and the record keeps the value
/// in `raw`. `example` is the offending JSON value, clipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's path in the record, e.g. `sale_date` or `line_items[].sequence`.
    pub field: String,
    pub example: String,
    pub reason: String,
}

/// Longest example value kept in a problem (they are logged).
const EXAMPLE_MAX_CHARS: usize = 40;
/// Largest number of integer digits and of decimals kept in a NUMERIC column. PostgreSQL allows
/// more, but anything beyond this is not money or a quantity, and a value PostgreSQL refuses
/// would fail the whole batch.
const DECIMAL_MAX_DIGITS: i64 = 1000;
/// Latest year a timestamp or date may carry (PostgreSQL's and chrono's ranges differ beyond it).
const MAX_YEAR: i32 = 9999;

fn field_error(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// A JSON value as a short example for a log line.
pub(crate) fn example_of(value: &RawValue) -> String {
    clip(value.get())
}

fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(EXAMPLE_MAX_CHARS).collect();
    if text.chars().nth(EXAMPLE_MAX_CHARS).is_some() {
        clipped.push('…');
    }
    clipped
}

/// A JSON object's fields, read leniently; missing and null are the same. Values that cannot be
/// typed are collected as problems and read as null.
pub(crate) struct Fields<'a> {
    object: &'a RawObject<'a>,
    prefix: &'a str,
    problems: RefCell<Vec<FieldProblem>>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a RawObject<'a>, prefix: &'a str) -> Self {
        Fields {
            object,
            prefix,
            problems: RefCell::new(Vec::new()),
        }
    }

    /// The problems found so far.
    pub(crate) fn into_problems(self) -> Vec<FieldProblem> {
        self.problems.into_inner()
    }

    /// Records a problem found outside this object's own fields (e.g. in a nested one).
    pub(crate) fn add_problems(&self, problems: Vec<FieldProblem>) {
        self.problems.borrow_mut().extend(problems);
    }

    /// Whether `name` is present and not null.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn get(&self, name: &str) -> Option<(&'a RawValue, Scalar<'a>)> {
        let value = self.object.get(name)?;
        let scalar = Scalar::of(value);
        (!scalar.is_null()).then_some((value, scalar))
    }

    fn name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn problem<T>(&self, name: &str, value: &RawValue, reason: impl Into<String>) -> Option<T> {
        self.problems.borrow_mut().push(FieldProblem {
            field: self.name(name),
            example: example_of(value),
            reason: reason.into(),
        });
        None
    }

    /// Reads `name` with `parse`; a parse error is a problem and the field is null.
    fn read<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&Scalar) -> Result<Option<T>, String>,
    ) -> Option<T> {
        let (value, scalar) = self.get(name)?;
        match parse(&scalar) {
            Ok(typed) => typed,
            Err(reason) => self.problem(name, value, reason),
        }
    }

    /// A string; numbers and booleans become their text (ids are sometimes sent as numbers).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.read(name, parse_text)
    }

    /// A required opaque id.
    pub(crate) fn id(&self, name: &str) -> Result<String, FieldError> {
        match self.get(name).map(|(_, scalar)| parse_text(&scalar)) {
            Some(Ok(Some(id))) if !id.is_empty() => Ok(id),
            Some(Err(reason)) => Err(field_error(&self.name(name), reason)),
            _ => Err(field_error(
                &self.name(name),
                "missing; every record needs one",
            )),
        }
    }

    /// A required version counter.
    pub(crate) fn version(&self, name: &str) -> Result<i64, FieldError> {
        match self.get(name) {
            None => Err(field_error(
                &self.name(name),
                "missing; every record needs one",
            )),
            Some((value, scalar)) => parse_integer(&scalar).ok_or_else(|| {
                field_error(
                    &self.name(name),
                    format!("{} is not an integer", example_of(value)),
                )
            }),
        }
    }

    /// An int64; an integral number such as `2.0` is accepted, a fraction is a problem.
    pub(crate) fn integer(&self, name: &str) -> Option<i64> {
        self.read(name, |value| match value {
            Scalar::String(text) if text.trim().is_empty() => Ok(None),
            value => parse_integer(value)
                .map(Some)
                .ok_or_else(|| "expected an integer".to_string()),
        })
    }

    pub(crate) fn decimal(&self, name: &str) -> Option<String> {
        self.read(name, parse_decimal)
    }

    pub(crate) fn timestamp(&self, name: &str) -> Option<DateTime<Utc>> {
        self.read(name, |value| match value {
            Scalar::String(text) => parse_timestamp(text),
            _ => Err("expected a timestamp string".into()),
        })
    }

    pub(crate) fn date(&self, name: &str) -> Option<NaiveDate> {
        self.read(name, |value| match value {
            Scalar::String(text) => parse_date(text),
            _ => Err("expected a date string".into()),
        })
    }

    pub(crate) fn boolean(&self, name: &str) -> Option<bool> {
        self.read(name, parse_boolean)
    }

    /// The elements of the array `name`, as sent (missing or null is none). A value that is not
    /// an array is a problem.
    pub(crate) fn elements(&self, name: &str) -> Option<Vec<&'a RawValue>> {
        match self.get(name)? {
            (_, Scalar::Array(items)) => Some(array_elements(items)),
            (other, _) => self.problem(name, other, "expected an array"),
        }
    }

    /// An element of the array `name` as an object; one that is not is a problem.
    pub(crate) fn object_element(
        &self,
        name: &str,
        element: &'a RawValue,
    ) -> Option<RawObject<'a>> {
        match Scalar::of(element) {
            Scalar::Object => RawObject::parse(element.get()).ok(),
            _ => self.problem(name, element, "expected an array of objects"),
        }
    }

    /// Any JSON value, as sent.
    pub(crate) fn json(&self, name: &str) -> Option<&'a RawValue> {
        self.get(name).map(|(value, _)| value)
    }

    /// The value of `name` as sent, null included (for a problem's example).
    pub(crate) fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.object.get(name)
    }
}

fn parse_text(value: &Scalar) -> Result<Option<String>, String> {
    match value {
        Scalar::String(text) => Ok(Some(text.to_string())),
        Scalar::Number(number) => Ok(Some(number.to_string())),
        Scalar::Bool(flag) => Ok(Some(flag.to_string())),
        _ => Err("expected a string".into()),
    }
}

fn parse_boolean(value: &Scalar) -> Result<Option<bool>, String> {
    match value {
        Scalar::Bool(flag) => Ok(Some(*flag)),
        Scalar::Number(number) => match *number {
            "0" => Ok(Some(false)),
            "1" => Ok(Some(true)),
            _ => Err("expected a boolean".into()),
        },
        Scalar::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err("expected a boolean".into()),
        },
        _ => Err("expected a boolean".into()),
    }
}

/// An int64 from a JSON number or a numeric string; an integral decimal (`2.0`, `"3e2"`) is
/// accepted, a fraction is not.
pub(crate) fn parse_integer(value: &Scalar) -> Option<i64> {
    let text = match value {
        Scalar::Number(number) => *number,
        Scalar::String(text) => text.trim(),
        _ => return None,
    };
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer);
    }
    let decimal = BigDecimal::from_str(&parse_decimal(&Scalar::String(text.into())).ok()??).ok()?;
    if !decimal.is_integer() {
        return None;
    }
    decimal.with_scale(0).to_string().parse::<i64>().ok()
}

/// An exact decimal from a JSON number or numeric string; an empty string is null.
pub(crate) fn parse_decimal(value: &Scalar) -> Result<Option<String>, String> {
    let text = match value {
        Scalar::Number(number) => *number,
        Scalar::String(text) if text.trim().is_empty() => return Ok(None),
        Scalar::String(text) => text.trim(),
        _ => return Err("expected a number or numeric string".into()),
    };
    if let Some((integer_digits, decimals)) = plain_decimal_digits(text) {
        if integer_digits > DECIMAL_MAX_DIGITS || decimals > DECIMAL_MAX_DIGITS {
            return Err("a number out of range".into());
        }
        return Ok(Some(text.to_string()));
    }
    let is_plain_number = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !is_plain_number {
        return Err("not a number".into());
    }
    // Exponent notation: exact arithmetic tells how many digits it stands for.
    let decimal = BigDecimal::from_str(text).map_err(|_| "not a number".to_string())?;
    let (digits, scale) = decimal.as_bigint_and_exponent();
    let integer_digits = digits.to_string().trim_start_matches('-').len() as i64 - scale;
    if scale > DECIMAL_MAX_DIGITS || integer_digits > DECIMAL_MAX_DIGITS {
        return Err("a number out of range".into());
    }
    Ok(Some(decimal.to_string()))
}

/// For a decimal without exponent (`-12.50`, `+3`, `.5`, `7.`), its significant integer digits
/// and its decimals; `None` for anything else. PostgreSQL's `numeric` input reads exactly these.
fn plain_decimal_digits(text: &str) -> Option<(i64, i64)> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if integer.len() + fraction.len() == 0 || !all_digits(integer) || !all_digits(fraction) {
        return None;
    }
    let significant = integer.trim_start_matches('0').len();
    Some((significant as i64, fraction.len() as i64))
}

/// Whether a date or timestamp text is one of the placeholders stores send for "no date":
/// year 0 or 1 (`0000-00-00`, `0000-12-30`, `0001-01-01`) or a negative year
/// (`-0001-11-30 00:00:00`).
fn is_placeholder_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    (bytes.first() == Some(&b'-') && bytes.get(1).is_some_and(u8::is_ascii_digit))
        || text.starts_with("0000")
        || text.starts_with("0001-")
}

fn check_year(year: i32) -> Result<(), String> {
    if year > MAX_YEAR {
        Err("a date out of range".into())
    } else {
        Ok(())
    }
}

/// A UTC instant from RFC 3339 (`+00:00`, `Z`) or a timestamp without an offset (taken as UTC).
/// An empty string and placeholder dates are null.
pub fn parse_timestamp(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() || is_placeholder_date(text) {
        return Ok(None);
    }
    let instant = parse_instant(text).ok_or_else(|| "not a timestamp".to_string())?;
    if instant.year() <= 1 {
        return Ok(None);
    }
    check_year(instant.year())?;
    Ok(Some(instant))
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    if let Ok(instant) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(instant.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// A calendar date (`1980-02-29`); a timestamp keeps its date part. Empty and placeholder dates
/// (`0000-12-30`, Lightspeed's mark for a cleared birthday) are null.
pub fn parse_date(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() || is_placeholder_date(text) {
        return Ok(None);
    }
    let date = match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => date,
        Err(_) => parse_instant(text)
            .map(|instant| instant.date_naive())
            .ok_or_else(|| "not a date".to_string())?,
    };
    if date.year() <= 1 {
        return Ok(None);
    }
    check_year(date.year())?;
    Ok(Some(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn as_raw(value: &Value) -> Box<RawValue> {
        RawValue::from_string(value.to_string()).unwrap()
    }

    fn decimal(value: &Value) -> Result<Option<String>, String> {
        parse_decimal(&Scalar::of(&as_raw(value)))
    }

    fn integer(value: &Value) -> Option<i64> {
        parse_integer(&Scalar::of(&as_raw(value)))
    }

    #[test]
    fn plain_decimals_pass_as_their_text_for_the_server_to_read() {
        for text in ["+3", ".5", "7.", "-0.00", "007.50"] {
            assert_eq!(decimal(&json!(text)), Ok(Some(text.to_string())));
        }
        let leading_zeros = format!("{}1", "0".repeat(2000));
        assert!(decimal(&json!(leading_zeros)).is_ok());
        assert!(decimal(&json!("1".repeat(1001))).is_err());
        assert!(decimal(&json!(format!("0.{}", "1".repeat(1001)))).is_err());
        for not_plain in ["-", ".", "+-1", "1.2.3", "1-2"] {
            assert!(decimal(&json!(not_plain)).is_err(), "{not_plain}");
        }
        let exponent = decimal(&json!("1.5e3")).unwrap().unwrap();
        assert_eq!(
            BigDecimal::from_str(&exponent).unwrap(),
            BigDecimal::from(1500)
        );
    }

    #[test]
    fn decimals_are_exact_from_numbers_and_strings() {
        let value: Value = serde_json::from_str("12345678901234.1234567891").unwrap();
        assert_eq!(
            decimal(&value).unwrap().unwrap().to_string(),
            "12345678901234.1234567891"
        );
        assert_eq!(
            decimal(&json!("-0.00001")).unwrap().unwrap().to_string(),
            "-0.00001"
        );
        assert_eq!(
            decimal(&json!(" 3.5 ")).unwrap().unwrap().to_string(),
            "3.5"
        );
        assert_eq!(decimal(&json!("")).unwrap(), None);
        assert!(decimal(&json!("12abc")).is_err());
        assert!(decimal(&json!("N/A")).is_err());
        assert!(decimal(&json!("1,234.50")).is_err());
        assert!(decimal(&json!("NaN")).is_err());
        assert!(decimal(&json!(true)).is_err());
        assert!(decimal(&json!([1])).is_err());
        let huge: Value = serde_json::from_str("1e5000").unwrap();
        assert!(decimal(&huge).is_err(), "PostgreSQL would refuse it");
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
        assert!(parse_timestamp("11/09/2014 21:09:59").is_err());
        assert!(parse_timestamp("2014-13-45T00:00:00Z").is_err());
        assert!(parse_timestamp("20140-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn placeholder_dates_are_null_not_year_one_bc() {
        for text in [
            "0000-00-00 00:00:00",
            "0000-00-00",
            "0000-12-30",
            "0000-12-30T00:00:00+00:00",
            "-0001-11-30 00:00:00",
            "-0001-11-30T00:00:00+00:00",
            "0001-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_timestamp(text), Ok(None), "{text}");
            assert_eq!(parse_date(text), Ok(None), "{text}");
        }
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
    fn integers_accept_numeric_strings_large_values_and_integral_decimals() {
        assert_eq!(integer(&json!(45_000_000_000_i64)), Some(45_000_000_000));
        assert_eq!(integer(&json!("45000000000")), Some(45_000_000_000));
        assert_eq!(integer(&json!(2.0)), Some(2));
        assert_eq!(integer(&json!("3.000")), Some(3));
        assert_eq!(integer(&json!(1.5)), None);
        assert_eq!(integer(&json!("1e400")), None);
        assert_eq!(integer(&json!(null)), None);
    }

    #[test]
    fn fields_read_bad_values_as_null_and_name_them() {
        let object = json!({"a": null, "n": 7, "s": "x", "o": {"k": 1}, "b": "1",
            "seq": 1.5, "price": "N/A", "qty": "2.5", "lines": 7,
            "items": [{"id": "x"}, 3]});
        let text = object.to_string();
        let object = RawObject::parse(&text).unwrap();
        let fields = Fields::new(&object, "line_items[]");
        assert_eq!(fields.text("a"), None);
        assert_eq!(fields.text("missing"), None);
        assert_eq!(fields.text("n").as_deref(), Some("7"));
        assert_eq!(fields.boolean("b"), Some(true));
        assert_eq!(fields.text("o"), None);
        assert_eq!(fields.integer("seq"), None);
        assert_eq!(fields.decimal("price"), None);
        assert_eq!(fields.decimal("qty").unwrap().to_string(), "2.5");
        assert!(fields.elements("lines").is_none());
        let items = fields.elements("items").unwrap();
        assert!(fields.object_element("items", items[0]).is_some());
        assert!(fields.object_element("items", items[1]).is_none());
        assert!(fields.id("a").is_err());
        assert!(fields.version("s").is_err());
        let problems = fields.into_problems();
        let named: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.example.as_str()))
            .collect();
        assert_eq!(
            named,
            vec![
                ("line_items[].o", r#"{"k":1}"#),
                ("line_items[].seq", "1.5"),
                ("line_items[].price", r#""N/A""#),
                ("line_items[].lines", "7"),
                ("line_items[].items", "3"),
            ]
        );
    }

    #[test]
    fn examples_are_clipped() {
        let long = json!("x".repeat(100));
        let example = example_of(&as_raw(&long));
        assert_eq!(example.chars().count(), EXAMPLE_MAX_CHARS + 1);
        assert!(example.ends_with('…'));
    }
}
