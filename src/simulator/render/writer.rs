//! Writing JSON text straight into a page buffer: one object at a time, with exact decimals and
//! the API's timestamp format, and an odd value swapped in for one field when a quirk says so.

use crate::entity::Entity;
use std::fmt::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Appends `text` as a JSON string.
pub(crate) fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `units / 10^decimals` as an exact decimal.
pub(crate) fn write_decimal(out: &mut String, units: i64, decimals: u32) {
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let scale = 10u64.pow(decimals);
    if decimals == 0 {
        let _ = write!(out, "{sign}{magnitude}");
    } else {
        let _ = write!(
            out,
            "{sign}{}.{:0width$}",
            magnitude / scale,
            magnitude % scale,
            width = decimals as usize
        );
    }
}

/// One JSON object being written.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
    money_as_strings: bool,
    /// A field whose value is replaced by this JSON text (an odd-but-real value).
    odd: Option<(&'static str, &'static str)>,
}

impl<'a> Obj<'a> {
    pub(crate) fn open(out: &'a mut String, money_as_strings: bool) -> Self {
        out.push('{');
        Obj {
            out,
            first: true,
            money_as_strings,
            odd: None,
        }
    }

    /// Replaces the value of `field` with the JSON text `value` when it is written.
    pub(crate) fn with_odd_value(mut self, odd: Option<(&'static str, &'static str)>) -> Self {
        self.odd = odd;
        self
    }

    pub(crate) fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    /// Writes the odd value if `key` is the quirked field; returns whether it did.
    fn odd(&mut self, key: &str) -> bool {
        match self.odd {
            Some((field, value)) if field == key => {
                self.key(key).push_str(value);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) {
        if !self.odd(key) {
            let out = self.key(key);
            write_json_string(out, value);
        }
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    pub(crate) fn null(&mut self, key: &str) {
        if !self.odd(key) {
            self.key(key).push_str("null");
        }
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) {
        if !self.odd(key) {
            let out = self.key(key);
            let _ = write!(out, "{value}");
        }
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        if !self.odd(key) {
            self.key(key).push_str(if value { "true" } else { "false" });
        }
    }

    /// The id of `entity`'s record number `index` (see `ids::record_parts`).
    pub(crate) fn record_id(&mut self, key: &str, seed: u64, entity: Entity, index: u64) {
        self.id(key, &super::super::ids::record_parts(seed, entity, index));
    }

    pub(crate) fn id(&mut self, key: &str, parts: &[u64]) {
        if !self.odd(key) {
            let out = self.key(key);
            out.push('"');
            super::super::store::write_opaque_id(out, parts);
            out.push('"');
        }
    }

    /// A money amount with five decimals, exact (a number, or a string with the quirk).
    pub(crate) fn money(&mut self, key: &str, units_100000: i64) {
        self.decimal(key, units_100000, 5);
    }

    /// `units / 10^decimals`, exact (a number, or a string with the quirk).
    pub(crate) fn decimal(&mut self, key: &str, units: i64, decimals: u32) {
        if self.odd(key) {
            return;
        }
        let quoted = self.money_as_strings;
        let out = self.key(key);
        if quoted {
            out.push('"');
        }
        write_decimal(out, units, decimals);
        if quoted {
            out.push('"');
        }
    }

    pub(crate) fn timestamp(&mut self, key: &str, at: DateTime<Utc>) {
        if self.odd(key) {
            return;
        }
        let out = self.key(key);
        let _ = write!(
            out,
            "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00\"",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
    }

    pub(crate) fn close(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_its_decimals_as_numbers_or_strings() {
        let mut out = String::new();
        let mut obj = Obj::open(&mut out, false);
        obj.money("a", 1_234_567);
        obj.money("b", -5);
        obj.decimal("c", 206_611_570_248, 10);
        obj.decimal("d", 2_500, 2);
        obj.close();
        assert_eq!(
            out,
            r#"{"a":12.34567,"b":-0.00005,"c":20.6611570248,"d":25.00}"#
        );
        let mut out = String::new();
        let mut obj = Obj::open(&mut out, true);
        obj.money("a", 100_000);
        obj.close();
        assert_eq!(out, r#"{"a":"1.00000"}"#);
    }

    #[test]
    fn an_odd_value_replaces_one_field() {
        let mut out = String::new();
        let mut obj = Obj::open(&mut out, false).with_odd_value(Some(("b", "\"N/A\"")));
        obj.money("a", 1);
        obj.money("b", 1);
        obj.close();
        assert_eq!(out, r#"{"a":0.00001,"b":"N/A"}"#);
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }
}
