//! The rows one batch writes, column by column, in the shape the entity's declaration gives
//! them: one typed array per column, expanded by `unnest` on the server (binary-encoded binds,
//! one statement per table, no per-row SQL). `TableRows::column_names` lists every column a
//! batch sets (all but `synced_at`); a database test checks it against the real tables.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text, Timestamptz};
use diesel::QueryResult;

use crate::entity::{Cell, ChildSpec, Column, EntitySpec, Kind};
use crate::lightspeed::records::Stored;

/// The values of one typed column, one per row.
#[derive(Debug, Clone, PartialEq)]
enum ColumnValues {
    Text(Vec<Option<String>>),
    /// Validated decimal text, cast to NUMERIC on the server.
    Numeric(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Timestamp(Vec<Option<DateTime<Utc>>>),
    Date(Vec<Option<NaiveDate>>),
    Json(Vec<Option<String>>),
}

impl ColumnValues {
    fn new(kind: Kind, capacity: usize) -> ColumnValues {
        match kind {
            Kind::Text => ColumnValues::Text(Vec::with_capacity(capacity)),
            Kind::Numeric => ColumnValues::Numeric(Vec::with_capacity(capacity)),
            Kind::Int => ColumnValues::Int(Vec::with_capacity(capacity)),
            Kind::Bool => ColumnValues::Bool(Vec::with_capacity(capacity)),
            Kind::Timestamp => ColumnValues::Timestamp(Vec::with_capacity(capacity)),
            Kind::Date => ColumnValues::Date(Vec::with_capacity(capacity)),
            Kind::Json => ColumnValues::Json(Vec::with_capacity(capacity)),
        }
    }

    fn push(&mut self, cell: Cell) {
        match (self, cell) {
            (ColumnValues::Text(values), Cell::Text(value)) => values.push(value),
            (ColumnValues::Numeric(values), Cell::Numeric(value)) => values.push(value),
            (ColumnValues::Int(values), Cell::Int(value)) => values.push(value),
            (ColumnValues::Bool(values), Cell::Bool(value)) => values.push(value),
            (ColumnValues::Timestamp(values), Cell::Timestamp(value)) => values.push(value),
            (ColumnValues::Date(values), Cell::Date(value)) => values.push(value),
            (ColumnValues::Json(values), Cell::Json(value)) => values.push(value),
            (values, cell) => panic!(
                "a {cell:?} cell in a column of {values:?}: decoding and the declaration disagree"
            ),
        }
    }

    fn retain(&mut self, keep: &[bool]) {
        match self {
            ColumnValues::Text(v) | ColumnValues::Json(v) | ColumnValues::Numeric(v) => {
                retain(v, keep)
            }
            ColumnValues::Int(v) => retain(v, keep),
            ColumnValues::Bool(v) => retain(v, keep),
            ColumnValues::Timestamp(v) => retain(v, keep),
            ColumnValues::Date(v) => retain(v, keep),
        }
    }

    fn push_bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match self {
            ColumnValues::Text(v) | ColumnValues::Json(v) | ColumnValues::Numeric(v) => {
                out.push_bind_param::<Array<Nullable<Text>>, _>(v)
            }
            ColumnValues::Int(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v),
            ColumnValues::Bool(v) => out.push_bind_param::<Array<Nullable<Bool>>, _>(v),
            ColumnValues::Timestamp(v) => out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(v),
            ColumnValues::Date(v) => out.push_bind_param::<Array<Nullable<Date>>, _>(v),
        }
    }
}

fn retain<T>(values: &mut Vec<T>, keep: &[bool]) {
    let mut index = 0;
    values.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

/// The rows for one table (an entity's or its children's), column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: &'static str,
    /// The conflict target.
    pub key: &'static [&'static str],
    /// Whether the table has its own `id` column (false for a composite key).
    has_id: bool,
    /// The parent key column of a child table (`sale_id`).
    pub parent_column: Option<&'static str>,
    columns: &'static [Column],
    /// Each row's key (composite keys joined), for deduplication and the `id` column.
    pub ids: Vec<String>,
    pub parents: Vec<String>,
    pub versions: Vec<i64>,
    deleted_at: Vec<Option<DateTime<Utc>>>,
    rest: Vec<Option<String>>,
    absent: Vec<Option<i64>>,
    /// Each row's place in its parent's array (children rebuilt into their parent's `raw`).
    positions: Vec<Option<i64>>,
    positioned: bool,
    values: Vec<ColumnValues>,
}

/// Where a row belongs: its key, its parent's key and its place among the parent's children
/// (child tables only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    pub id: String,
    pub parent: Option<String>,
    pub position: Option<i64>,
}

impl RowKey {
    /// The key of a row without a parent.
    pub fn of(id: impl Into<String>) -> RowKey {
        RowKey {
            id: id.into(),
            parent: None,
            position: None,
        }
    }
}

impl TableRows {
    /// Empty rows for `spec`'s table.
    pub fn for_entity(spec: &'static EntitySpec, capacity: usize) -> TableRows {
        TableRows::new(
            spec.table,
            spec.key,
            spec.has_id(),
            None,
            spec.columns,
            capacity,
        )
    }

    /// Empty rows for a child table.
    pub fn for_child(child: &'static ChildSpec, capacity: usize) -> TableRows {
        let parent = Some(child.parent_column);
        TableRows::new(child.table, &["id"], true, parent, child.columns, capacity)
            .positioned(child.fetched_from.is_none())
    }

    fn positioned(self, positioned: bool) -> TableRows {
        TableRows { positioned, ..self }
    }

    fn new(
        table: &'static str,
        key: &'static [&'static str],
        has_id: bool,
        parent_column: Option<&'static str>,
        columns: &'static [Column],
        capacity: usize,
    ) -> TableRows {
        TableRows {
            table,
            key,
            has_id,
            parent_column,
            columns,
            ids: Vec::with_capacity(capacity),
            parents: Vec::new(),
            versions: Vec::with_capacity(capacity),
            deleted_at: Vec::with_capacity(capacity),
            rest: Vec::with_capacity(capacity),
            absent: Vec::with_capacity(capacity),
            positions: Vec::new(),
            positioned: false,
            values: columns
                .iter()
                .map(|column| ColumnValues::new(column.kind, capacity))
                .collect(),
        }
    }

    /// Adds a row: where it belongs, its version, soft delete, what it stores beside its
    /// columns, and one cell per declared column in declaration order.
    pub fn push(
        &mut self,
        key: RowKey,
        version: i64,
        deleted_at: Option<DateTime<Utc>>,
        stored: Stored,
        cells: Vec<Cell>,
    ) {
        assert_eq!(
            cells.len(),
            self.values.len(),
            "{}: one cell per column",
            self.table
        );
        self.ids.push(key.id);
        if let Some(parent) = key.parent {
            self.parents.push(parent);
        }
        if self.positioned {
            self.positions.push(key.position);
        }
        self.versions.push(version);
        self.deleted_at.push(deleted_at);
        self.rest.push(stored.rest);
        self.absent.push(stored.absent);
        for (values, cell) in self.values.iter_mut().zip(cells) {
            values.push(cell);
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The latest value of the timestamp column `name` (the store's `updated_at`), if the
    /// table has one and any row carries it.
    pub fn latest(&self, name: &str) -> Option<DateTime<Utc>> {
        let index = self.columns.iter().position(|column| column.name == name)?;
        match &self.values[index] {
            ColumnValues::Timestamp(values) => values.iter().flatten().max().copied(),
            _ => None,
        }
    }

    /// Keeps only the rows where `keep` is true.
    pub fn retain_rows(&mut self, keep: &[bool]) {
        retain(&mut self.ids, keep);
        if !self.parents.is_empty() {
            retain(&mut self.parents, keep);
        }
        retain(&mut self.versions, keep);
        if self.positioned {
            retain(&mut self.positions, keep);
        }
        retain(&mut self.deleted_at, keep);
        retain(&mut self.rest, keep);
        retain(&mut self.absent, keep);
        for values in &mut self.values {
            values.retain(keep);
        }
    }

    /// Keeps one row per key, the one with the highest version; on a tie the later row (a page
    /// is in version order, so the later one is the newer). PostgreSQL rejects a key twice in
    /// one `ON CONFLICT` statement.
    pub fn dedup_by_key(&mut self) {
        let mut best: HashMap<&str, usize> = HashMap::with_capacity(self.ids.len());
        let mut keep = vec![false; self.ids.len()];
        for (index, id) in self.ids.iter().enumerate() {
            match best.get(id.as_str()) {
                Some(&other) if self.versions[other] > self.versions[index] => {}
                Some(&other) => {
                    keep[other] = false;
                    keep[index] = true;
                    best.insert(id, index);
                }
                None => {
                    keep[index] = true;
                    best.insert(id, index);
                }
            }
        }
        if keep.iter().any(|kept| !kept) {
            self.retain_rows(&keep);
        }
    }

    /// Every column a batch sets, in bind order, with its PostgreSQL array type and whether
    /// it is JSONB (sent as text and cast on the server; NUMERIC is too, see `wire_type`).
    pub fn column_names(&self) -> Vec<(&'static str, &'static str, bool)> {
        let mut names = Vec::with_capacity(self.columns.len() + 5);
        if self.has_id {
            names.push(("id", "text[]", false));
        }
        if let Some(parent) = self.parent_column {
            names.push((parent, "text[]", false));
        }
        if self.positioned {
            names.push(("position", "bigint[]", false));
        }
        names.push(("version", "bigint[]", false));
        names.push(("deleted_at", "timestamptz[]", false));
        names.push(("rest", "text[]", true));
        names.push(("absent", "bigint[]", false));
        for column in self.columns {
            names.push((
                column.name,
                column.kind.array_type(),
                column.kind == Kind::Json,
            ));
        }
        names
    }

    /// Binds column `index` (in `column_names` order) as one array.
    pub fn push_bind<'b>(&'b self, index: usize, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut index = index;
        if self.has_id {
            if index == 0 {
                return out.push_bind_param::<Array<Text>, _>(&self.ids);
            }
            index -= 1;
        }
        if self.parent_column.is_some() {
            if index == 0 {
                return out.push_bind_param::<Array<Text>, _>(&self.parents);
            }
            index -= 1;
        }
        if self.positioned {
            if index == 0 {
                return out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.positions);
            }
            index -= 1;
        }
        match index {
            0 => out.push_bind_param::<Array<BigInt>, _>(&self.versions),
            1 => out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(&self.deleted_at),
            2 => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.rest),
            3 => out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.absent),
            column => self.values[column - 4].push_bind(out),
        }
    }
}

/// The rows one batch writes: the entity's, and its children's (written only for the parents
/// whose row the batch actually changed).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRows {
    pub rows: TableRows,
    pub children: Vec<TableRows>,
}

impl BatchRows {
    /// Empty rows for a batch of `spec`.
    pub fn for_entity(spec: &'static EntitySpec, capacity: usize) -> BatchRows {
        BatchRows {
            rows: TableRows::for_entity(spec, capacity),
            children: spec
                .children
                .iter()
                .map(|child| TableRows::for_child(child, capacity))
                .collect(),
        }
    }
}

/// Every table the declarations write, with the columns a batch sets (tests check these
/// against the migrated database).
#[cfg(feature = "failpoints")]
pub fn declared_tables() -> Vec<TableRows> {
    crate::entity::Entity::ALL
        .into_iter()
        .flat_map(|entity| {
            let batch = BatchRows::for_entity(entity.spec(), 0);
            std::iter::once(batch.rows).chain(batch.children)
        })
        .collect()
}
