//! A borrowed view of one JSON object: each member's value as the text the API sent, read into
//! a typed value only when a column asks for it. Decoding a record through this view builds no
//! `serde_json::Value` tree (one allocation per key, string and number, which made malloc most
//! of a decoding thread's time). Pure code.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON object's members in the order PostgreSQL's `jsonb` keeps keys (shorter names first,
/// then bytewise: `jsonb_order` writes them out in that order without sorting again); of a name
/// given twice the last one counts, as in `serde_json::Map` and `jsonb`.
#[derive(Debug)]
pub(crate) struct RawObject<'a> {
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// The length of the object's text as sent.
    text_len: usize,
}

/// Why a text is not a JSON object.
#[derive(Debug)]
pub(crate) enum NotAnObject {
    /// Valid JSON of another kind.
    OtherKind,
    /// Not valid JSON.
    Invalid(serde_json::Error),
}

impl<'a> RawObject<'a> {
    /// The members of the object `text`.
    pub(crate) fn parse(text: &'a str) -> Result<RawObject<'a>, NotAnObject> {
        let mut object: RawObject = serde_json::from_str(text).map_err(|err| {
            match serde_json::from_str::<&RawValue>(text) {
                Ok(_) => NotAnObject::OtherKind,
                Err(_) => NotAnObject::Invalid(err),
            }
        })?;
        object.text_len = text.len();
        Ok(object)
    }

    /// The length of the object's text as sent (room enough to write it again).
    pub(crate) fn text_len(&self) -> usize {
        self.text_len
    }

    /// The value of member `name`, as sent (`null` included).
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.members
            .binary_search_by(|(key, _)| jsonb_key_order(key, name))
            .ok()
            .map(|index| self.members[index].1)
    }

    /// The members, in `jsonb`'s key order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.members
            .iter()
            .map(|(name, value)| (name.as_ref(), *value))
    }
}

/// The order of keys in a `jsonb` object: by length in bytes, then bytewise.
fn jsonb_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// One JSON value by kind, strings unescaped (borrowed when they hold no escape), numbers as
/// their exact text.
#[derive(Debug, Clone)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Array(&'a RawValue),
    Object,
}

impl<'a> Scalar<'a> {
    /// Reads the kind of an already validated JSON value.
    pub(crate) fn of(value: &'a RawValue) -> Scalar<'a> {
        let text = value.get().trim_start();
        match text.as_bytes().first() {
            Some(b'n') => Scalar::Null,
            Some(b't') => Scalar::Bool(true),
            Some(b'f') => Scalar::Bool(false),
            Some(b'[') => Scalar::Array(value),
            Some(b'{') => Scalar::Object,
            Some(b'"') => Scalar::String(unescape(text.trim_end())),
            _ => Scalar::Number(text.trim_end()),
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }
}

/// The content of a JSON string literal.
fn unescape(literal: &str) -> Cow<'_, str> {
    match literal.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
        _ => Cow::Owned(
            serde_json::from_str::<String>(literal).expect("a validated JSON string literal"),
        ),
    }
}

/// The elements of a JSON array, as sent.
pub(crate) fn array_elements(array: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str(array.get()).expect("a validated JSON array")
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

/// Room for members before the first reallocation: most nested objects are small (a line
/// item's tax component has two), and a record's grow in a few doublings.
const MEMBERS_AT_FIRST: usize = 8;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = RawObject<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(MEMBERS_AT_FIRST));
        while let Some((MemberName(name), value)) = map.next_entry::<MemberName, &RawValue>()? {
            members.push((name, value));
        }
        // The last of equal names must survive: reverse, sort stably, keep each name's first.
        members.reverse();
        members.sort_by(|a, b| jsonb_key_order(&a.0, &b.0));
        members.dedup_by(|later, earlier| later.0 == earlier.0);
        Ok(RawObject {
            members,
            text_len: 0,
        })
    }
}

/// A member name, borrowed from the text unless it holds an escape.
struct MemberName<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = MemberName<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a member name")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Borrowed(name)))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Owned(name.to_string())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_name_and_the_last_of_a_repeated_name_counts() {
        let object =
            RawObject::parse(r#"{"b": 1, "a\u0041": "x", "a": [1, 2], "b": {"c": null}}"#).unwrap();
        assert_eq!(object.get("a").unwrap().get(), "[1, 2]");
        assert_eq!(object.get("aA").unwrap().get(), r#""x""#);
        assert_eq!(object.get("b").unwrap().get(), r#"{"c": null}"#);
        assert!(object.get("c").is_none());
        let names: Vec<&str> = object.members().map(|(name, _)| name).collect();
        assert_eq!(names, vec!["a", "b", "aA"]);
    }

    #[test]
    fn other_json_and_invalid_text_are_told_apart() {
        assert!(matches!(
            RawObject::parse("[1]"),
            Err(NotAnObject::OtherKind)
        ));
        assert!(matches!(
            RawObject::parse("{\"a\":"),
            Err(NotAnObject::Invalid(_))
        ));
    }

    #[test]
    fn scalars_keep_numbers_exact_and_unescape_strings() {
        let object = RawObject::parse(
            r#"{"n": 12345678901234.1234567891, "s": "plain", "e": "a\"b\u00e9",
                "t": true, "f": false, "z": null, "l": [], "o": {}}"#,
        )
        .unwrap();
        let scalar = |name| Scalar::of(object.get(name).unwrap());
        assert!(matches!(
            scalar("n"),
            Scalar::Number("12345678901234.1234567891")
        ));
        assert!(matches!(
            scalar("s"),
            Scalar::String(Cow::Borrowed("plain"))
        ));
        assert!(matches!(scalar("e"), Scalar::String(Cow::Owned(text)) if text == "a\"bé"));
        assert!(matches!(scalar("t"), Scalar::Bool(true)));
        assert!(matches!(scalar("f"), Scalar::Bool(false)));
        assert!(scalar("z").is_null());
        assert!(matches!(scalar("l"), Scalar::Array(_)));
        assert!(matches!(scalar("o"), Scalar::Object));
        let elements = array_elements(
            RawObject::parse(r#"{"a":[{"x":1}, 2 ,"y"]}"#)
                .unwrap()
                .get("a")
                .unwrap(),
        );
        let texts: Vec<&str> = elements.iter().map(|e| e.get()).collect();
        assert_eq!(texts, vec![r#"{"x":1}"#, "2", r#""y""#]);
    }
}
