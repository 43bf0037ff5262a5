//! What the entity declarations share: the `entity!` shorthand for the usual declaration, the
//! address columns and a compile-time join of column lists.

use super::spec::{Column, Kind};

/// A declaration with the usual key (`id`) and the record's own `version`.
macro_rules! entity {
    ($name:literal, deleted: $deleted:literal, $group:ident, $version:ident, [$($columns:tt)*]) => {
        $crate::entity::spec::EntitySpec {
            name: $name,
            table: concat!("lightspeed_", $name),
            key: &["id"],
            version: $crate::entity::spec::VersionSource::$version,
            takes_deleted: $deleted,
            group: $crate::entity::spec::Group::$group,
            columns: $crate::columns![$($columns)*],
            children: &[],
        }
    };
}
pub(super) use entity;

/// An address spelled `{kind}_address_1` (2.0) or `{kind}_address1` (0.9), and its parts.
macro_rules! address {
    ($kind:literal) => {
        [
            Column::new(concat!($kind, "_address_1"), Kind::Text)
                .or(&[concat!($kind, "_address1")]),
            Column::new(concat!($kind, "_address_2"), Kind::Text)
                .or(&[concat!($kind, "_address2")]),
            Column::new(concat!($kind, "_suburb"), Kind::Text),
            Column::new(concat!($kind, "_city"), Kind::Text),
            Column::new(concat!($kind, "_postcode"), Kind::Text),
            Column::new(concat!($kind, "_state"), Kind::Text),
            Column::new(concat!($kind, "_country_id"), Kind::Text),
        ]
    };
}

pub(super) const PHYSICAL: [Column; 7] = address!("physical");
pub(super) const POSTAL: [Column; 7] = address!("postal");

/// Concatenates column lists at compile time.
pub(super) const fn join<const N: usize>(parts: &[&[Column]]) -> [Column; N] {
    let mut out = [Column::new("", Kind::Text); N];
    let mut at = 0;
    let mut part = 0;
    while part < parts.len() {
        let mut index = 0;
        while index < parts[part].len() {
            out[at] = parts[part][index];
            at += 1;
            index += 1;
        }
        part += 1;
    }
    assert!(at == N, "join: the length does not add up");
    out
}
