//! How a record is stored: each value once. A table holds the typed columns, `rest` (the
//! record's members that no column gives back exactly: untyped fields, values in another
//! spelling, fields without a column) and `absent` (the columns' fields the record did not
//! have, one bit each). The record as received is `jsonb_build_object(<record fields>) -
//! <absent names> || rest`, which the `raw` column of the public view of each table computes;
//! a sale's embedded line items and payments come back from their own tables in their array
//! order (`position`).
//! Which columns are a record's own fields, per table, is declared here. Pure code.

use super::spec::{ChildKey, ChildSpec, EntitySpec, Kind, VersionSource};

/// The table that holds the rows of `table`, for statements that write (the view `table`
/// computes `raw` and cannot be written) or measure it. Both live in lightsync's schema
/// (`LIGHTSYNC_DB_SCHEMA`, found through `search_path`).
pub fn stored_table(table: &str) -> String {
    format!("{table}_rows")
}

/// A column that gives back a member of the record: the member of the same name, when the
/// column's value written back as JSON is exactly what was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordField {
    pub name: &'static str,
    pub kind: Kind,
}

/// One table's storage: its name, its columns that give back a member of the record, and the
/// embedded children whose arrays are rebuilt from their own tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    pub table: &'static str,
    /// The columns that give back a member (other columns, such as a child's parent key and
    /// version or a position-made id, are shown by the view but never written into `raw`).
    pub fields: Vec<RecordField>,
    /// Embedded children (`array` and their table's layout), for a parent.
    pub embedded: Vec<(&'static str, &'static str, TableLayout)>,
    /// Whether rows carry their place in the parent's array (`position`).
    pub positioned: bool,
}

impl TableLayout {
    /// The layout of `spec`'s own table.
    pub fn of_entity(spec: &'static EntitySpec) -> TableLayout {
        let mut fields: Vec<RecordField> = Vec::new();
        if spec.has_id() {
            fields.push(text("id"));
        }
        // A refreshed entity's version is the refresh's generation, not the record's.
        if spec.version != VersionSource::Refresh {
            fields.push(RecordField {
                name: "version",
                kind: Kind::Int,
            });
        }
        fields.push(timestamp("deleted_at"));
        fields.extend(spec.columns.iter().map(|column| RecordField {
            name: column.name,
            kind: column.kind,
        }));
        let embedded = spec
            .children
            .iter()
            .filter(|child| child.fetched_from.is_none())
            .map(|child| {
                (
                    child.array,
                    child.parent_column,
                    TableLayout::of_child(child),
                )
            })
            .collect();
        TableLayout {
            table: spec.table,
            fields,
            embedded,
            positioned: false,
        }
    }

    /// The layout of a child table.
    pub fn of_child(child: &'static ChildSpec) -> TableLayout {
        let mut fields = Vec::new();
        if child.key == ChildKey::Id {
            fields.push(text("id"));
        }
        fields.push(timestamp("deleted_at"));
        fields.extend(child.columns.iter().map(|column| RecordField {
            name: column.name,
            kind: column.kind,
        }));
        TableLayout {
            table: child.table,
            fields,
            embedded: Vec::new(),
            positioned: child.fetched_from.is_none(),
        }
    }

    /// The members a row gives back, in the order of the bits of `absent`: the fields, then
    /// the embedded arrays. Stored rows depend on this order: a new column goes after the
    /// others (the migration test fails when an existing member moves), and a migration that
    /// adds one sets its bit in `absent` for the rows stored before it.
    pub fn members(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .map(|field| field.name)
            .chain(self.embedded.iter().map(|(array, _, _)| *array))
    }

    /// The bit of `absent` that says the record had no member `name`.
    pub fn absent_bit(&self, name: &str) -> i64 {
        let index = self
            .members()
            .position(|member| member == name)
            .unwrap_or_else(|| panic!("{}: `{name}` is not a member", self.table));
        1_i64 << index
    }

    /// The layout of `table` (built once).
    pub fn of_table(table: &str) -> &'static TableLayout {
        static ALL: std::sync::OnceLock<Vec<TableLayout>> = std::sync::OnceLock::new();
        ALL.get_or_init(TableLayout::all)
            .iter()
            .find(|layout| layout.table == table)
            .unwrap_or_else(|| panic!("`{table}` is not a declared table"))
    }

    /// Every table's layout: each entity's, then its children's.
    pub fn all() -> Vec<TableLayout> {
        super::Entity::ALL
            .into_iter()
            .flat_map(|entity| {
                let spec = entity.spec();
                std::iter::once(TableLayout::of_entity(spec))
                    .chain(spec.children.iter().map(TableLayout::of_child))
            })
            .collect()
    }
}

const fn text(name: &'static str) -> RecordField {
    RecordField {
        name,
        kind: Kind::Text,
    }
}

const fn timestamp(name: &'static str) -> RecordField {
    RecordField {
        name,
        kind: Kind::Timestamp,
    }
}

/// The text a timestamp column gives back: `2024-01-31T09:00:00+00:00`, the API's own form (a
/// value received in any other form stays in `rest`). `layout_sql::field_sql` writes the same.
pub fn timestamp_text(value: &chrono::DateTime<chrono::Utc>) -> String {
    value.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// The text a date column gives back: `2024-01-31`.
pub fn date_text(value: &chrono::NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;

    #[test]
    fn a_sale_gives_back_its_own_fields_and_rebuilds_its_line_items_and_payments() {
        let sales = TableLayout::of_entity(Entity::Sales.spec());
        let names: Vec<&str> = sales.fields.iter().map(|f| f.name).collect();
        assert_eq!(&names[..4], ["id", "version", "deleted_at", "outlet_id"]);
        let arrays: Vec<&str> = sales.embedded.iter().map(|(array, _, _)| *array).collect();
        assert_eq!(arrays, ["line_items", "payments"]);
        let (_, parent, line_items) = &sales.embedded[0];
        assert_eq!(*parent, "sale_id");
        assert!(line_items.positioned);
        let not_the_records = |layout: &TableLayout, name: &str| {
            !layout.fields.iter().any(|field| field.name == name)
        };
        assert!(not_the_records(line_items, "sale_id") && not_the_records(line_items, "version"));
        assert!(line_items.fields.iter().any(|f| f.name == "id"));
    }

    #[test]
    fn fetched_children_are_not_rebuilt_and_made_ids_are_not_the_records() {
        let consignments = TableLayout::of_entity(Entity::Consignments.spec());
        assert!(consignments.embedded.is_empty());
        let lines = TableLayout::of_child(&Entity::Consignments.spec().children[0]);
        assert!(!lines.positioned);
        assert!(!lines.fields.iter().any(|f| f.name == "id"));
        let categories = TableLayout::of_entity(Entity::ProductCategories.spec());
        assert!(!categories.fields.iter().any(|f| f.name == "version"));
    }

    #[test]
    fn every_table_has_room_for_its_members_in_one_bigint() {
        for layout in TableLayout::all() {
            assert!(layout.members().count() <= 63, "{}", layout.table);
        }
    }

    #[test]
    fn timestamps_and_dates_are_given_back_in_the_apis_form() {
        let at = chrono::DateTime::parse_from_rfc3339("2024-01-31T09:05:00+02:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(timestamp_text(&at), "2024-01-31T07:05:00+00:00");
        let day = chrono::NaiveDate::from_ymd_opt(812, 3, 4).unwrap();
        assert_eq!(date_text(&day), "0812-03-04");
    }
}
