//! The simulated store's reference data and stock movements: how many records each of the
//! sixteen further entities has, their keys, and which entity an id column points at, so that
//! sales point at real users, registers and payment types, products at brands, suppliers and
//! types, and consignments at outlets and suppliers. Pure code.

use super::store::{hash, record_id, RecordSnapshot, StoreShape};
use crate::entity::{Entity, KEY_SEPARATOR};

/// Users the sales are rung up by (sales pick one of the first four).
pub(crate) const USERS: u32 = 4;

/// How many records `entity` starts with in a store of `shape` (the first five are sized by
/// the shape itself and are not answered here). Sized like a real store's: reference data grows
/// slowly with the catalogue, stock movements and shifts with trade.
pub(crate) fn reference_count(entity: Entity, shape: &StoreShape) -> u32 {
    let products = shape.products;
    let customers = shape.customers;
    let sales = shape.sales;
    match entity {
        Entity::Users => USERS + sales / 5_000,
        Entity::Registers => shape.registers.max(1),
        Entity::Taxes => 3,
        Entity::OutletTaxes => shape.outlets.max(1) * (products / 100).max(products.min(10)),
        Entity::PaymentTypes => 6,
        Entity::Brands => 6 + products / 100,
        Entity::Suppliers => 4 + products / 200,
        Entity::ProductTypes => 3 + products / 400,
        Entity::ProductCategories => 6 + products / 200,
        Entity::Tags => 8 + products / 100,
        Entity::CustomerGroups => 3 + customers / 10_000,
        Entity::PriceBooks => 2 + customers / 10_000,
        Entity::PriceBookProducts => (products / 10).max(products.min(40)),
        Entity::Consignments => sales / 100 + 2,
        Entity::Serialnumbers => sales / 100 + 1,
        Entity::Shifts => sales / 20 + 1,
        Entity::Outlets
        | Entity::Products
        | Entity::Customers
        | Entity::Inventory
        | Entity::Sales => 0,
    }
}

/// How many records an id column of `entity` may point at.
pub(crate) fn target_count(entity: Entity, shape: &StoreShape) -> u32 {
    match entity {
        Entity::Outlets => shape.outlets.max(1),
        Entity::Products => shape.products,
        Entity::Customers => shape.customers,
        Entity::Sales => shape.sales,
        Entity::Inventory => 0,
        other => reference_count(other, shape),
    }
}

/// The entity an id column points at, by the API's naming.
pub(crate) fn referenced(column: &str) -> Option<Entity> {
    Some(match column {
        "outlet_id" | "source_outlet_id" | "restricted_outlet_id" => Entity::Outlets,
        "product_id" => Entity::Products,
        "sale_id" => Entity::Sales,
        "tax_id" => Entity::Taxes,
        "user_id" | "updated_by" => Entity::Users,
        "supplier_id" => Entity::Suppliers,
        "customer_group_id" => Entity::CustomerGroups,
        "price_book_id" => Entity::PriceBooks,
        "register_id" => Entity::Registers,
        "brand_id" => Entity::Brands,
        "product_type_id" => Entity::ProductTypes,
        "root_category_id" | "parent_category_id" => Entity::ProductCategories,
        "cash_managed_payment_type_id" => Entity::PaymentTypes,
        _ => return None,
    })
}

/// The id parts of an outlet tax's key columns: its outlet and product follow from its index
/// (so keys are unique), its tax is one of the store's taxes.
pub(crate) fn outlet_tax_key(seed: u64, index: u32, shape: &StoreShape) -> [(Entity, u32); 3] {
    let outlets = shape.outlets.max(1);
    let taxes = reference_count(Entity::Taxes, shape);
    [
        (Entity::Outlets, index % outlets),
        (Entity::Products, index / outlets),
        (Entity::Taxes, (seed as u32 ^ index) % taxes),
    ]
}

/// A record's key as lightsync stores it: its id, or its key columns joined.
pub(crate) fn record_key(seed: u64, entity: Entity, index: u32, shape: &StoreShape) -> String {
    if entity != Entity::OutletTaxes {
        return record_id(seed, entity, index);
    }
    outlet_tax_key(seed, index, shape)
        .iter()
        .map(|(target, target_index)| record_id(seed, *target, *target_index))
        .collect::<Vec<_>>()
        .join(&KEY_SEPARATOR.to_string())
}

/// The id a column names: one of `target`'s records.
pub(crate) fn reference_id(seed: u64, target: Entity, index: u32) -> String {
    record_id(seed, target, index)
}

/// How many lines (products) a consignment has at its current revision: a new revision is a
/// new list, as when a purchase order is edited or received.
pub(crate) fn consignment_line_count(seed: u64, snapshot: &RecordSnapshot) -> u32 {
    1 + (hash(&[seed, 70, snapshot.index as u64, snapshot.revision as u64]) % 30) as u32
}

/// A consignment line's key as lightsync stores it: the consignment's id and the line's
/// 1-based position.
pub(crate) fn consignment_line_ids(seed: u64, snapshot: &RecordSnapshot) -> Vec<String> {
    let id = record_id(seed, Entity::Consignments, snapshot.index);
    (1..=consignment_line_count(seed, snapshot))
        .map(|position| format!("{id}:{position}"))
        .collect()
}
