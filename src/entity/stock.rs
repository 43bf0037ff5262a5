//! Stock: inventory levels per product and outlet, consignments (purchase orders, transfers,
//! stocktakes, returns) with their lines, and serial numbers.

use super::declare::entity;
use super::spec::{ChildKey, ChildSpec, EntitySpec, Group, VersionSource};
use crate::columns;

pub const INVENTORY: EntitySpec = EntitySpec {
    name: "inventory",
    table: "lightspeed_inventory",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: false,
    group: Group::SalesAndStock,
    columns: columns![
        text: product_id, outlet_id;
        numeric: inventory_level, current_amount, average_cost, reorder_point, reorder_amount;
    ],
    children: &[],
};

/// Purchase orders, transfers, stocktakes and returns (`type`), with their lines: the API does
/// not embed them, so they are fetched from `/consignments/{id}/products` for every consignment
/// on a fetched page (that is, every consignment that changed) and replaced as a whole.
pub const CONSIGNMENTS: EntitySpec = EntitySpec {
    children: &[ChildSpec {
        array: "products",
        fetched_from: Some("products"),
        key: ChildKey::Position,
        table: "lightspeed_consignment_products",
        parent_column: "consignment_id",
        columns: columns![
            text: product_id, product_sku, status;
            numeric: count, received, cost;
            bool: is_included;
            timestamp: created_at, updated_at;
        ],
    }],
    ..entity!("consignments", deleted: true, SalesAndStock, Own, [
        text: outlet_id, name, type, status, supplier_id, source_outlet_id, supplier_invoice,
            reference;
        numeric: total_count_gain, total_cost_gain, total_count_loss, total_cost_loss;
        timestamp: consignment_date, due_at, received_at, created_at, updated_at;
    ])
};

pub const SERIALNUMBERS: EntitySpec = entity!("serialnumbers", deleted: false, SalesAndStock, Own, [
    text: code, product_id, outlet_id, sale_id, line_item_id;
]);
