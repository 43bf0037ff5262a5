//! Odd-but-real field values (`--quirks SHARE`): a seeded, deterministic choice of records that
//! carry one value a real store has been seen to send (a fractional `sequence`, "N/A" for a
//! price, a number as text, a placeholder date, a timestamp in another format), and the report
//! of what was injected, so a test can compare it with what the client counted. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::store::{hash, RecordSnapshot, Store};
use crate::entity::Entity;

/// One odd value for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OddValue {
    pub entity: Entity,
    /// The field as the client names it (`line_items[].x` is the sale's first line item's `x`).
    pub field: &'static str,
    /// The JSON text sent instead of the real value.
    pub value: &'static str,
    /// Whether a correct client cannot type it (its column stays NULL and the record is
    /// counted); the others type (a number as text) or are placeholders that mean null.
    pub untypable: bool,
}

const fn odd(
    entity: Entity,
    field: &'static str,
    value: &'static str,
    untypable: bool,
) -> OddValue {
    OddValue {
        entity,
        field,
        value,
        untypable,
    }
}

/// Every odd value the simulator injects.
pub const ODD_VALUES: [OddValue; 28] = [
    odd(Entity::Outlets, "physical_postcode", "1023", false),
    odd(Entity::Products, "supply_price", "\"N/A\"", true),
    odd(
        Entity::Products,
        "price_including_tax",
        "\"12.50000\"",
        false,
    ),
    odd(Entity::Products, "updated_at", "\"2015-08-18 23:28\"", true),
    odd(Entity::Customers, "date_of_birth", "\"0000-12-30\"", false),
    odd(
        Entity::Customers,
        "created_at",
        "\"-0001-11-30 00:00:00\"",
        false,
    ),
    odd(Entity::Customers, "loyalty_balance", "\"N/A\"", true),
    odd(Entity::Inventory, "inventory_level", "\"1,234.5\"", true),
    odd(Entity::Inventory, "reorder_point", "\"\"", false),
    odd(Entity::Sales, "line_items[].sequence", "1.5", true),
    odd(Entity::Sales, "line_items[].quantity", "\"2\"", false),
    odd(Entity::Sales, "line_items[].price", "\"N/A\"", true),
    odd(Entity::Sales, "sale_date", "\"18/09/2014 01:37:56\"", true),
    // The sixteen further entities (outlet taxes have only their key columns: none).
    odd(Entity::Users, "target_daily", "\"N/A\"", true),
    odd(Entity::Registers, "invoice_sequence", "\"1,024\"", true),
    odd(Entity::Taxes, "is_default", "1", false),
    odd(Entity::PaymentTypes, "type_id", "\"2.0\"", false),
    odd(Entity::Brands, "name", "42", false),
    odd(Entity::Suppliers, "default_markup", "\"N/A\"", true),
    odd(Entity::ProductTypes, "leaf_category", "\"yes\"", true),
    odd(Entity::ProductCategories, "leaf_category", "0", false),
    odd(Entity::Tags, "name", "7", false),
    odd(
        Entity::CustomerGroups,
        "created_at",
        "\"-0001-11-30 00:00:00\"",
        false,
    ),
    odd(
        Entity::PriceBooks,
        "valid_to",
        "\"0000-00-00 00:00:00\"",
        false,
    ),
    odd(Entity::PriceBookProducts, "price", "\"N/A\"", true),
    odd(Entity::Consignments, "due_at", "\"2015-08-18 23:28\"", true),
    odd(Entity::Serialnumbers, "code", "12345", false),
    odd(Entity::Shifts, "time_out", "\"18/09/2014 01:37:56\"", true),
];

/// The odd value `snapshot` carries at `share` (0 to 1), if any. Depends only on the seed and
/// the record's identity and revision, so every request sees the same.
pub fn odd_value_for(seed: u64, share: f64, snapshot: &RecordSnapshot) -> Option<OddValue> {
    if share <= 0.0 {
        return None;
    }
    let tag = snapshot.entity.tag() as u64;
    let parts = [
        seed,
        90,
        tag,
        snapshot.index as u64,
        snapshot.revision as u64,
    ];
    let roll = (hash(&parts) >> 11) as f64 / (1u64 << 53) as f64;
    if roll >= share {
        return None;
    }
    let choices: Vec<&OddValue> = ODD_VALUES
        .iter()
        .filter(|odd| odd.entity == snapshot.entity)
        .collect();
    if choices.is_empty() {
        return None;
    }
    let pick = hash(&[seed, 91, tag, snapshot.index as u64]) % choices.len() as u64;
    Some(*choices[pick as usize])
}

/// What the store's records carry now (`GET /__simulator/quirks`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OddValueReport {
    pub share: f64,
    /// Records carrying an odd value.
    pub records: u64,
    /// Of those, records a correct client cannot fully type.
    pub untypable_records: u64,
    /// Untypable records per entity.
    pub untypable_by_entity: BTreeMap<String, u64>,
    /// Fields with an untypable value, per entity.
    pub untypable_fields: BTreeMap<String, BTreeSet<String>>,
    /// Fields with an odd value a correct client types (or reads as a placeholder null).
    pub typable_fields: BTreeMap<String, BTreeSet<String>>,
}

/// Scans every record of `store` at `share`.
pub fn odd_value_report(store: &Store, share: f64) -> OddValueReport {
    let seed = store.shape().seed;
    let mut report = OddValueReport {
        share,
        ..OddValueReport::default()
    };
    for entity in Entity::ALL {
        for snapshot in store.page(entity, 0, None, usize::MAX, true) {
            let Some(odd) = odd_value_for(seed, share, &snapshot) else {
                continue;
            };
            report.records += 1;
            let name = entity.name().to_string();
            if odd.untypable {
                report.untypable_records += 1;
                *report.untypable_by_entity.entry(name.clone()).or_default() += 1;
                report
                    .untypable_fields
                    .entry(name)
                    .or_default()
                    .insert(odd.field.to_string());
            } else {
                report
                    .typable_fields
                    .entry(name)
                    .or_default()
                    .insert(odd.field.to_string());
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::store::StoreShape;

    #[test]
    fn the_share_is_respected_and_deterministic() {
        let store = Store::generate(StoreShape {
            seed: 5,
            outlets: 2,
            products: 400,
            customers: 400,
            sales: 2000,
            registers: 1,
        });
        let report = odd_value_report(&store, 0.05);
        let total: u64 = store.counts().iter().map(|(_, n)| *n as u64).sum();
        let expected = total as f64 * 0.05;
        assert!(
            (report.records as f64) > expected * 0.7 && (report.records as f64) < expected * 1.3,
            "{} of {total}",
            report.records
        );
        assert!(report.untypable_records > 0 && report.untypable_records < report.records);
        assert_eq!(report, odd_value_report(&store, 0.05));
        assert_eq!(odd_value_report(&store, 0.0).records, 0);
    }

    #[test]
    fn every_entity_with_typed_columns_besides_its_key_has_odd_values() {
        for entity in Entity::ALL
            .iter()
            .filter(|entity| **entity != Entity::OutletTaxes)
        {
            assert!(
                ODD_VALUES.iter().any(|odd| odd.entity == *entity),
                "{entity}"
            );
        }
    }
}
