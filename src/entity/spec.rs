//! The shape of an entity declaration: what a list endpoint is called, where its records land,
//! how they are keyed and versioned, and which typed columns are filled from which JSON fields.
//! Plain data and the typed values (`Cell`) a declared column holds; no I/O.

use chrono::{DateTime, NaiveDate, Utc};

/// Separates the parts of a composite key where one string stands for it (`Record::id`).
pub const KEY_SEPARATOR: char = '\u{1f}';

/// SQL that reads a row's key (columns `key` of the table aliased `t`) as one string: the
/// column itself, or the parts joined by `KEY_SEPARATOR` as `Record::id` joins them.
pub fn key_text_sql(key: &[&str]) -> String {
    match key {
        [single] => format!("t.{single}"),
        parts => format!(
            "concat_ws(chr(31), {})",
            parts
                .iter()
                .map(|part| format!("t.{part}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The kind of a typed column: how its JSON field is read and its PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TEXT; numbers and booleans are kept as their text (ids are sometimes numbers).
    Text,
    /// NUMERIC, exact: money and quantities.
    Numeric,
    /// BIGINT; an integral decimal (`2.0`) is accepted.
    Int,
    /// BOOLEAN; `0`/`1` and `"true"`/`"false"` are accepted.
    Bool,
    /// TIMESTAMPTZ, parsed leniently; year-zero placeholders are NULL.
    Timestamp,
    /// DATE; the "0000-12-30" placeholder is NULL.
    Date,
    /// JSONB, the value as sent. Used for text arrays too: `unnest` flattens a bound `text[][]`,
    /// so arrays of arrays cannot be sent column-wise.
    Json,
}

impl Kind {
    /// The PostgreSQL array type a column of this kind is bound as.
    pub fn array_type(self) -> &'static str {
        match self {
            Kind::Text | Kind::Json => "text[]",
            Kind::Numeric => "numeric[]",
            Kind::Int => "bigint[]",
            Kind::Bool => "boolean[]",
            Kind::Timestamp => "timestamptz[]",
            Kind::Date => "date[]",
        }
    }

    /// The column's SQL type in the table.
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Text => "TEXT",
            Kind::Numeric => "NUMERIC",
            Kind::Int => "BIGINT",
            Kind::Bool => "BOOLEAN",
            Kind::Timestamp => "TIMESTAMPTZ",
            Kind::Date => "DATE",
            Kind::Json => "JSONB",
        }
    }
}

/// A typed column and the JSON field that fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// Other spellings of the field, tried after `name` (e.g. the 0.9 API's `physical_address1`).
    pub also: &'static [&'static str],
    pub kind: Kind,
}

impl Column {
    pub const fn new(name: &'static str, kind: Kind) -> Column {
        Column {
            name,
            also: &[],
            kind,
        }
    }

    /// The same column, also read from the field spelled `also` when `name` is absent.
    pub const fn or(self, also: &'static [&'static str]) -> Column {
        Column { also, ..self }
    }
}

/// Declares a list of typed columns: `columns![text: name, code; numeric: price]`.
#[macro_export]
macro_rules! columns {
    ($($kind:ident : $($name:tt),+);* $(;)?) => {
        &[$($($crate::entity::spec::Column::new(
            stringify!($name),
            $crate::columns!(@kind $kind),
        ),)+)*]
    };
    (@kind text) => { $crate::entity::spec::Kind::Text };
    (@kind numeric) => { $crate::entity::spec::Kind::Numeric };
    (@kind int) => { $crate::entity::spec::Kind::Int };
    (@kind bool) => { $crate::entity::spec::Kind::Bool };
    (@kind timestamp) => { $crate::entity::spec::Kind::Timestamp };
    (@kind date) => { $crate::entity::spec::Kind::Date };
    (@kind json) => { $crate::entity::spec::Kind::Json };
}

/// Where a record's version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The record's own `version`; a record without one is invalid.
    Own,
    /// The record's own `version` when it has one, otherwise the page's `version.max`. A replay
    /// of the same page writes the same version (a no-op under the `<` guard); a later page has
    /// a larger max and wins.
    OwnOrPageMax,
    /// The endpoint is paged by id, not by version (`/product_categories`): the entity is copied
    /// whole every run, and the records that changed or reappeared are written with the
    /// refresh's generation, a number above every version stored before. Records no longer
    /// listed are marked deleted (deletes by absence).
    Refresh,
}

/// Where an entity is shown first on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Sales and stock movements.
    SalesAndStock,
    /// Reference data the sales and stock point at.
    Reference,
}

/// How a child row is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKey {
    /// The child's own `id` field; a child without one is left out (the parent's raw keeps it).
    Id,
    /// Its parent's key and its 1-based position in the list (`<parent>:<n>`), for children
    /// without an id of their own (a consignment's products). Positions are stable because a
    /// parent's children are always replaced as a whole.
    Position,
}

/// Records that belong to a parent (a sale's `line_items`, a consignment's products), kept in
/// their own table and replaced whenever the parent's row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildSpec {
    /// The parent's array field holding the children.
    pub array: &'static str,
    /// `Some(sub)` when the API does not embed the children: they are the records of
    /// `GET /<entity>/<parent id>/<sub>`, fetched for every parent on a fetched page and
    /// spooled inside the parent's record under `array` (dropped from the parent's `raw`).
    pub fetched_from: Option<&'static str>,
    pub key: ChildKey,
    pub table: &'static str,
    /// The column holding the parent's key (indexed).
    pub parent_column: &'static str,
    pub columns: &'static [Column],
}

/// One entity, declared once: everything else (decoding, rows, upserts, status) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntitySpec {
    /// The API path, `sync_state.entity` and the CLI name.
    pub name: &'static str,
    pub table: &'static str,
    /// The key columns: `["id"]`, or typed columns that together identify a record.
    pub key: &'static [&'static str],
    pub version: VersionSource,
    /// Whether the endpoint takes `deleted=true` (then deleted rows arrive with `deleted_at`).
    pub takes_deleted: bool,
    pub group: Group,
    /// Typed columns besides the implicit `id`, `version`, `deleted_at`, `raw`, `synced_at`.
    pub columns: &'static [Column],
    pub children: &'static [ChildSpec],
}

impl EntitySpec {
    /// Whether the entity is copied whole every run (paged by id) rather than paged by version.
    pub fn is_refreshed(&self) -> bool {
        self.version == VersionSource::Refresh
    }

    /// The children fetched from their own endpoint, if the entity has any.
    pub fn fetched_children(&self) -> impl Iterator<Item = &'static ChildSpec> {
        self.children
            .iter()
            .filter(|child| child.fetched_from.is_some())
    }

    /// Whether the table has an `id` column of its own (every table but composite-keyed ones).
    pub fn has_id(&self) -> bool {
        self.key == ["id"]
    }
}

/// The typed value of one declared column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    /// A decimal as validated text (`lightspeed::decode::parse_decimal`), cast on the server.
    Numeric(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Timestamp(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    /// JSON text, cast to JSONB on the server.
    Json(Option<String>),
}

impl Cell {
    pub fn is_null(&self) -> bool {
        match self {
            Cell::Text(v) | Cell::Json(v) => v.is_none(),
            Cell::Numeric(v) => v.is_none(),
            Cell::Int(v) => v.is_none(),
            Cell::Bool(v) => v.is_none(),
            Cell::Timestamp(v) => v.is_none(),
            Cell::Date(v) => v.is_none(),
        }
    }

    /// The text of a `Text` cell.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// A record that cannot be stored for want of a usable identity (an empty or non-scalar key, a
/// missing or fractional version), kept exactly as received with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub reason: String,
    pub raw: String,
}
