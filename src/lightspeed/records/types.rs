//! The decoded shape of a record of any entity. Plain data.

use chrono::{DateTime, Utc};

use crate::entity::{Cell, Quarantined};
use crate::lightspeed::decode::FieldProblem;
use crate::lightspeed::given_back::Stored;

/// One record of any entity: its identity, typed cells and raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The key; a composite key's parts joined by `KEY_SEPARATOR`.
    pub id: String,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The record as received (NUL characters, which PostgreSQL cannot store, replaced), written
    /// compactly with its keys in `jsonb`'s order (`lightspeed::jsonb_order`).
    pub raw: String,
    /// What the row keeps beside its columns (`entity::layout`).
    pub stored: Stored,
    /// One cell per declared column, in declaration order.
    pub cells: Vec<Cell>,
    /// Records of the declared child arrays (a sale's line items and payments).
    pub children: Vec<ChildRecord>,
    /// The fields (of the record or its children) that could not be typed.
    pub problems: Vec<FieldProblem>,
}

impl Record {
    /// The cell of the declared column `name` (tests and tools; rows go by position).
    pub fn cell(&self, columns: &[crate::entity::Column], name: &str) -> Option<&Cell> {
        let index = columns.iter().position(|column| column.name == name)?;
        self.cells.get(index)
    }
}

/// A record embedded in its parent's array, e.g. a sale's line item.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRecord {
    /// Which of the entity's declared children.
    pub child: usize,
    pub id: String,
    /// Its 1-based place in the parent's array.
    pub position: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: String,
    pub stored: Stored,
    pub cells: Vec<Cell>,
}

/// A run of records decoded: those that can be stored, and those that cannot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sorted {
    pub records: Vec<Record>,
    pub quarantined: Vec<Quarantined>,
}
