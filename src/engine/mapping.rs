//! The one place API records become database rows. Pure code: no I/O. Which column a cell
//! lands in follows from the entity's declaration; children (a sale's line items and payments)
//! carry their parent's key and version.

use crate::db::rows::{BatchRows, RowKey};
use crate::entity::Entity;
use crate::lightspeed::Record;

/// Maps a batch of `entity`'s records to the rows they write.
pub fn rows_for_records(entity: Entity, records: Vec<Record>) -> BatchRows {
    let mut rows = BatchRows::for_entity(entity.spec(), records.len());
    for record in records {
        let Record {
            id,
            version,
            deleted_at,
            stored,
            cells,
            children,
            ..
        } = record;
        for child in children {
            rows.children[child.child].push(
                RowKey {
                    id: child.id,
                    parent: Some(id.clone()),
                    position: Some(child.position),
                },
                version,
                child.deleted_at,
                child.stored,
                child.cells,
            );
        }
        rows.rows
            .push(RowKey::of(id), version, deleted_at, stored, cells);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lightspeed::decode_record;

    #[test]
    fn a_sale_maps_to_its_row_and_children_with_the_sale_version() {
        let record = decode_record(
            Entity::Sales,
            r#"{"id":"s1","version":42,"status":"VOIDED","total_price":"1.50000",
               "line_items":[{"id":"l1","quantity":2},{"id":"l2"}],
               "payments":[{"id":"p1","amount":1.5}]}"#,
            None,
        )
        .unwrap();
        let rows = rows_for_records(Entity::Sales, vec![record]);
        assert_eq!(rows.rows.ids, vec!["s1".to_string()]);
        let (line_items, payments) = (&rows.children[0], &rows.children[1]);
        assert_eq!(line_items.len(), 2);
        assert!(line_items.parents.iter().all(|parent| parent == "s1"));
        assert!(line_items.versions.iter().all(|version| *version == 42));
        assert_eq!(payments.parents, vec!["s1".to_string()]);
        assert_eq!(line_items.table, "lightspeed_sale_line_items");
    }

    #[test]
    fn outlet_taxes_are_keyed_by_outlet_product_and_tax() {
        let raw = r#"{"outlet_id":"o","product_id":"p","tax_id":"t","version":3}"#;
        let record = decode_record(Entity::OutletTaxes, raw, None).unwrap();
        let rows = rows_for_records(Entity::OutletTaxes, vec![record]);
        assert_eq!(rows.rows.key, ["outlet_id", "product_id", "tax_id"]);
        assert!(rows.children.is_empty());
        let columns: Vec<&str> = rows.rows.column_names().iter().map(|c| c.0).collect();
        assert!(!columns.contains(&"id"), "{columns:?}");
        let sql = crate::db::upsert_sql(&rows.rows, crate::db::WriteMode::Upsert, false, true);
        assert!(
            sql.contains("ON CONFLICT (outlet_id, product_id, tax_id)"),
            "{sql}"
        );
        assert!(
            sql.contains("concat_ws(chr(31), t.outlet_id, t.product_id, t.tax_id)"),
            "{sql}"
        );
    }
}
