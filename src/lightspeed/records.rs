//! The API's records and their decoding from one record's JSON text, driven by the entity's
//! declaration (`Entity::spec`). A record keeps its raw JSON beside the typed cells, and the
//! fields it could not type. Only its identity (key, `version`) can make a record invalid. Pure
//! code: no I/O.

use serde_json::Value;

use super::decode::{FieldError, FieldProblem, Fields};
use super::given_back::{self, EmbeddedArray};
use super::jsonb_order;
use super::raw_object::{NotAnObject, RawObject};
use crate::entity::layout::TableLayout;
use crate::entity::{
    Cell, ChildKey, ChildSpec, Column, Entity, Kind, Quarantined, VersionSource, KEY_SEPARATOR,
};

mod types;

pub use super::given_back::Stored;
pub use types::{ChildRecord, Record, Sorted};

/// Why one record cannot be stored at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("a record is not a JSON object")]
    NotAnObject,
    #[error("a record is not valid JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Identity(#[from] FieldError),
}

/// Decodes records' texts as records of `entity`, setting aside those without a usable
/// identity (`page_version` as for `decode_record`).
pub fn decode_or_quarantine<'a>(
    entity: Entity,
    texts: impl IntoIterator<Item = &'a str>,
    page_version: Option<i64>,
) -> Sorted {
    let mut sorted = Sorted::default();
    for text in texts {
        match decode_record(entity, text, page_version) {
            Ok(record) => sorted.records.push(record),
            Err(err) => sorted.quarantined.push(Quarantined {
                reason: err.to_string(),
                raw: text.to_string(),
            }),
        }
    }
    sorted
}

/// Decodes one record's JSON text as a record of `entity`. `page_version` is the page's
/// `version.max`, the version of records of an entity declared `OwnOrPageMax` that carry none.
/// Fails only when the record has no usable key or version; every other field that cannot be
/// typed is read as null and listed in `problems`.
pub fn decode_record(
    entity: Entity,
    raw: &str,
    page_version: Option<i64>,
) -> Result<Record, RecordError> {
    let spec = entity.spec();
    // PostgreSQL's text and jsonb cannot hold U+0000: replace it rather than fail the batch.
    let without_nul = if raw.contains("\\u0000") {
        replace_nul_in_text(raw)?
    } else {
        None
    };
    let text = without_nul.as_deref().unwrap_or(raw);
    let object = RawObject::parse(text).map_err(|err| match err {
        NotAnObject::OtherKind => RecordError::NotAnObject,
        NotAnObject::Invalid(err) => RecordError::Json(err.to_string()),
    })?;
    let object = &object;
    let fields = Fields::new(object, "");
    let id = match spec.key {
        [single] => fields.id(single)?,
        parts => {
            let parts = parts
                .iter()
                .map(|part| fields.id(part))
                .collect::<Result<Vec<_>, _>>()?;
            parts.join(&KEY_SEPARATOR.to_string())
        }
    };
    let version = match (spec.version, page_version) {
        (VersionSource::OwnOrPageMax, Some(page)) if !fields.has("version") => page,
        (VersionSource::Refresh, Some(generation)) => generation,
        _ => fields.version("version")?,
    };
    let deleted_at = fields.timestamp("deleted_at");
    let mut children = Vec::new();
    // Each embedded child array's text, already in jsonb key order, for the record's `raw`.
    let mut child_arrays = Vec::new();
    // The same arrays for `rest`: left out where the children's rows hold every element.
    let mut embedded = Vec::new();
    for (index, child) in spec.children.iter().enumerate() {
        let (records, array) = decode_children(&fields, &id, index, child);
        children.extend(records);
        if child.fetched_from.is_some() {
            continue;
        }
        let kept_text = match &array {
            Some(array) if array.complete => None,
            Some(array) => Some(array.text.clone()),
            // Absent (or not an array): nothing to rebuild, nothing written.
            None => object.get(child.array).map(|value| value.get().to_string()),
        };
        embedded.push(EmbeddedArray {
            name: child.array,
            kept_text,
        });
        if let Some(array) = array {
            child_arrays.push((child.array, array.text));
        }
    }
    let cells = decode_cells(&fields, spec.columns);
    let mut problems = fields.into_problems();
    if without_nul.is_some() {
        problems.push(FieldProblem {
            field: "(any text)".into(),
            example: "\"\\u0000\"".into(),
            reason: "PostgreSQL cannot store U+0000; replaced by U+FFFD in raw and columns".into(),
        });
    }
    // Children fetched from their own endpoint were spooled inside the record; the record's
    // `raw` is what the API sent for it.
    let left_out: Vec<&str> = spec.fetched_children().map(|child| child.array).collect();
    let raw = jsonb_order::object_text(object, &left_out, &child_arrays);
    let layout = TableLayout::of_table(spec.table);
    let mut identity = Vec::with_capacity(3);
    if spec.has_id() {
        identity.push(Cell::Text(Some(id.clone())));
    }
    if !spec.is_refreshed() {
        identity.push(Cell::Int(Some(version)));
    }
    identity.push(Cell::Timestamp(deleted_at));
    let stored = given_back::split(object, layout, (&identity, &cells), embedded, &left_out);
    Ok(Record {
        id,
        version,
        deleted_at,
        raw,
        stored,
        cells,
        children,
        problems,
    })
}

/// The typed value of every column, in declaration order.
fn decode_cells(f: &Fields, columns: &[Column]) -> Vec<Cell> {
    columns
        .iter()
        .map(|column| decode_cell(f, column))
        .collect()
}

fn decode_cell(f: &Fields, column: &Column) -> Cell {
    let name = if column.also.is_empty() || f.has(column.name) {
        column.name
    } else {
        column
            .also
            .iter()
            .copied()
            .find(|name| f.has(name))
            .unwrap_or(column.name)
    };
    match column.kind {
        Kind::Text => Cell::Text(f.text(name)),
        Kind::Numeric => Cell::Numeric(f.decimal(name)),
        Kind::Int => Cell::Int(f.integer(name)),
        Kind::Bool => Cell::Bool(f.boolean(name)),
        Kind::Timestamp => Cell::Timestamp(f.timestamp(name)),
        Kind::Date => Cell::Date(f.date(name)),
        Kind::Json => Cell::Json(f.json(name).map(|value| value.get().to_string())),
    }
}

/// The record's text with U+0000 replaced in every string and key, or `None` when it has none
/// (the escape was itself escaped, `\\u0000`).
fn replace_nul_in_text(raw: &str) -> Result<Option<String>, RecordError> {
    let mut value: Value =
        serde_json::from_str(raw).map_err(|err| RecordError::Json(err.to_string()))?;
    Ok(replace_nul(&mut value)
        .then(|| serde_json::to_string(&value).expect("a JSON value always serialises")))
}

/// Replaces U+0000 in every string (and key) of `value`; returns whether there was any.
fn replace_nul(value: &mut Value) -> bool {
    let mut any = false;
    match value {
        Value::String(text) if text.contains('\0') => {
            *text = text.replace('\0', "\u{FFFD}");
            any = true;
        }
        Value::Array(items) => {
            for item in items {
                any |= replace_nul(item);
            }
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for key in keys {
                if let Some(inner) = map.remove(&key) {
                    map.insert(key.replace('\0', "\u{FFFD}"), inner);
                    any = true;
                }
            }
            for inner in map.values_mut() {
                any |= replace_nul(inner);
            }
        }
        _ => {}
    }
    any
}

/// A parent's array of children as decoded.
struct ChildArray {
    /// Its text in jsonb key order, for the parent's `raw`.
    text: String,
    /// Whether every element became a row of the child table, each under its own key, so
    /// that the rows give the array back.
    complete: bool,
}

/// Decodes the records of a parent's array `child.array`, adding their problems to the
/// parent's, and writes the array's text in jsonb key order for the parent's `raw` (`None` when
/// the parent has no such array). One keyed by its `id` but without one is left out of its
/// table (it stays in the parent's `raw`) and is a problem.
fn decode_children(
    parent: &Fields,
    parent_id: &str,
    index: usize,
    child: &'static ChildSpec,
) -> (Vec<ChildRecord>, Option<ChildArray>) {
    let Some(elements) = parent.elements(child.array) else {
        return (Vec::new(), None);
    };
    let layout = TableLayout::of_table(child.table);
    let element_count = elements.len();
    let prefix = format!("{}[]", child.array);
    let mut records = Vec::with_capacity(elements.len());
    let mut array_text =
        String::with_capacity(2 + elements.iter().map(|e| e.get().len() + 1).sum::<usize>());
    array_text.push('[');
    let mut position = 0;
    for (n, element) in elements.into_iter().enumerate() {
        if n > 0 {
            array_text.push(',');
        }
        let Some(object) = parent.object_element(child.array, element) else {
            jsonb_order::write_value(element, &mut array_text);
            continue;
        };
        position += 1;
        let raw = jsonb_order::object_text(&object, &[], &[]);
        array_text.push_str(&raw);
        let fields = Fields::new(&object, &prefix);
        let id = match child.key {
            ChildKey::Id => fields.id("id"),
            ChildKey::Position => Ok(format!("{parent_id}:{position}")),
        };
        match id {
            Ok(id) => {
                let deleted_at = fields.timestamp("deleted_at");
                let cells = decode_cells(&fields, child.columns);
                let mut identity = Vec::with_capacity(2);
                if child.key == ChildKey::Id {
                    identity.push(Cell::Text(Some(id.clone())));
                }
                identity.push(Cell::Timestamp(deleted_at));
                let values = (identity.as_slice(), cells.as_slice());
                let stored = given_back::split(&object, layout, values, Vec::new(), &[]);
                records.push(ChildRecord {
                    child: index,
                    id,
                    position: n as i64 + 1,
                    deleted_at,
                    raw,
                    stored,
                    cells,
                })
            }
            Err(err) => parent.add_problems(vec![FieldProblem {
                field: err.field,
                example: fields
                    .raw("id")
                    .map_or_else(|| "null".to_string(), super::decode::example_of),
                reason: format!(
                    "{}; the row is left out, the parent's raw keeps it",
                    err.reason
                ),
            }]),
        }
        parent.add_problems(fields.into_problems());
    }
    array_text.push(']');
    let mut ids: Vec<&str> = records.iter().map(|record| record.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let complete = records.len() == element_count && ids.len() == element_count;
    let array = ChildArray {
        text: array_text,
        complete,
    };
    (records, Some(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_same_json(stored: &str, sent: &str) {
        let stored: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(stored, serde_json::from_str::<Value>(sent).unwrap());
    }

    /// The text form of the cell of `entity`'s column `name`.
    fn cell(record: &Record, entity: Entity, name: &str) -> Option<String> {
        match record
            .cell(entity.spec().columns, name)
            .expect("a declared column")
        {
            Cell::Text(v) | Cell::Json(v) => v.clone(),
            Cell::Numeric(v) => v.as_ref().map(|d| d.to_string()),
            Cell::Int(v) => v.map(|n| n.to_string()),
            Cell::Bool(v) => v.map(|b| b.to_string()),
            Cell::Timestamp(v) => v.map(|t| t.to_rfc3339()),
            Cell::Date(v) => v.map(|d| d.to_string()),
        }
    }

    fn child_cell(record: &Record, child: usize, row: usize, name: &str) -> Option<String> {
        let spec = &Entity::Sales.spec().children[child];
        let rows: Vec<&ChildRecord> = record
            .children
            .iter()
            .filter(|c| c.child == child)
            .collect();
        let index = spec
            .columns
            .iter()
            .position(|c| c.name == name)
            .expect("declared");
        match &rows[row].cells[index] {
            Cell::Text(v) => v.clone(),
            Cell::Numeric(v) => v.as_ref().map(|d| d.to_string()),
            Cell::Int(v) => v.map(|n| n.to_string()),
            Cell::Bool(v) => v.map(|b| b.to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sale_decodes_with_its_line_items_and_payments() {
        let raw = r#"{"id":"0af7b240-ab24-11e7-eddc-5a4d9c2e0b1c","version":"43000000123",
            "status":"CLOSED","state":"closed","total_price":"20.66","total_price_incl":25.0,
            "sale_date":"2024-01-02T03:04:05Z",
            "line_items":[{"id":"li-1","quantity":-1.5,"price":2.0000000001,"is_return":true,
              "total_price":20.66116,"salesperson_id":"u-1"}],
            "payments":[{"id":"p-1","payment_type_id":"1","amount":10,
              "deleted_at":"2024-01-03T00:00:00+00:00"}],
            "deleted_at":null}"#;
        let record = decode_record(Entity::Sales, raw, None).unwrap();
        assert_eq!(record.version, 43_000_000_123);
        assert_same_json(&record.raw, raw);
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let sale = Entity::Sales;
        assert_eq!(cell(&record, sale, "total_price").unwrap(), "20.66");
        assert_eq!(cell(&record, sale, "total_price_incl").unwrap(), "25.0");
        assert_eq!(cell(&record, sale, "state").as_deref(), Some("closed"));
        assert_eq!(child_cell(&record, 0, 0, "quantity").unwrap(), "-1.5");
        assert_eq!(child_cell(&record, 0, 0, "price").unwrap(), "2.0000000001");
        assert_eq!(
            child_cell(&record, 0, 0, "total_price").unwrap(),
            "20.66116"
        );
        assert_eq!(child_cell(&record, 0, 0, "salesperson_id").unwrap(), "u-1");
        assert_eq!(child_cell(&record, 0, 0, "is_return").unwrap(), "true");
        assert_eq!(child_cell(&record, 1, 0, "payment_type_id").unwrap(), "1");
        assert!(record.children[1].deleted_at.is_some());
    }

    #[test]
    fn only_identity_makes_a_record_invalid() {
        assert!(decode_record(Entity::Customers, r#"{"version":5}"#, None).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":"a"}"#, None).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":"a","version":1.5}"#, None).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":{},"version":1}"#, None).is_err());
        assert!(decode_record(Entity::Customers, r#"[1]"#, None).is_err());
        // A line item without an id is left out; the sale itself lands.
        let record = decode_record(
            Entity::Sales,
            r#"{"id":"s","version":1,"line_items":[{"quantity":1},{"id":"l2"}]}"#,
            None,
        )
        .unwrap();
        assert_eq!(record.children.iter().filter(|c| c.child == 0).count(), 1);
        assert_eq!(record.problems[0].field, "line_items[].id");
    }

    #[test]
    fn odd_field_values_become_null_and_are_named() {
        let raw = r#"{"id":"s","version":9,"sale_date":"18/09/2014 01:37:56",
            "total_price":"N/A","total_tax":"1.5","line_items":[{"id":"l","sequence":1.5,
            "quantity":"2","price":"N/A"}],"payments":7}"#;
        let record = decode_record(Entity::Sales, raw, None).unwrap();
        assert_same_json(&record.raw, raw);
        let fields: Vec<&str> = record.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "line_items[].price",
                "line_items[].sequence",
                "payments",
                "total_price",
                "sale_date"
            ]
        );
        assert_eq!(cell(&record, Entity::Sales, "sale_date"), None);
        assert_eq!(cell(&record, Entity::Sales, "total_price"), None);
        assert_eq!(cell(&record, Entity::Sales, "total_tax").unwrap(), "1.5");
        assert_eq!(child_cell(&record, 0, 0, "sequence"), None);
        assert_eq!(child_cell(&record, 0, 0, "quantity").unwrap(), "2");
    }

    #[test]
    fn placeholder_birthdays_are_null_without_a_problem() {
        let record = decode_record(
            Entity::Customers,
            r#"{"id":"c","version":3,"date_of_birth":"0000-12-30",
                "created_at":"-0001-11-30 00:00:00","physical_address_1":"1 Queen St",
                "postal_address2":"PO Box 9"}"#,
            None,
        )
        .unwrap();
        assert!(record.problems.is_empty());
        let customer = Entity::Customers;
        assert_eq!(cell(&record, customer, "date_of_birth"), None);
        assert_eq!(cell(&record, customer, "created_at"), None);
        assert_eq!(
            cell(&record, customer, "physical_address_1").as_deref(),
            Some("1 Queen St")
        );
        assert_eq!(
            cell(&record, customer, "postal_address_2").as_deref(),
            Some("PO Box 9")
        );
    }

    #[test]
    fn nul_characters_are_replaced_and_reported() {
        let record = decode_record(
            Entity::Outlets,
            r#"{"id":"o","version":3,"name":"a\u0000b"}"#,
            None,
        )
        .unwrap();
        assert!(!record.raw.contains("\\u0000"));
        assert_eq!(record.problems.len(), 1);
        assert_eq!(
            cell(&record, Entity::Outlets, "name").as_deref(),
            Some("a\u{FFFD}b")
        );
    }

    #[test]
    fn records_without_a_version_take_the_pages_max() {
        // Outlets have their own version: the page's max does not stand in for it.
        assert!(decode_record(Entity::Outlets, r#"{"id":"b"}"#, Some(77)).is_err());
        let brand = decode_record(Entity::Brands, r#"{"id":"b","name":"Acme"}"#, Some(77));
        assert_eq!(brand.unwrap().version, 77);
        // A record that has its own version keeps it (real /suppliers responses do).
        let supplier = decode_record(Entity::Suppliers, r#"{"id":"s","version":5}"#, Some(77));
        assert_eq!(supplier.unwrap().version, 5);
        assert!(decode_record(Entity::Brands, r#"{"id":"b"}"#, None).is_err());
    }

    #[test]
    fn outlet_taxes_are_keyed_by_outlet_product_and_tax() {
        let raw = r#"{"outlet_id":"o","product_id":"p","tax_id":"t","version":3}"#;
        let record = decode_record(Entity::OutletTaxes, raw, None).unwrap();
        assert_eq!(record.id, "o\u{1f}p\u{1f}t");
        let missing = decode_record(
            Entity::OutletTaxes,
            r#"{"outlet_id":"o","version":3}"#,
            None,
        );
        assert!(missing.unwrap_err().to_string().contains("product_id"));
    }

    #[test]
    fn every_field_may_be_missing() {
        for entity in Entity::ALL {
            let raw = r#"{"id":"1","outlet_id":"1","product_id":"1","tax_id":"1","version":7}"#;
            let record = decode_record(entity, raw, None).unwrap();
            assert!(record.id.starts_with('1'), "{entity}");
            assert_eq!(record.deleted_at, None);
            assert!(record.problems.is_empty());
        }
    }
}
