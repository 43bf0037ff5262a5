//! Sales with their line items and payments, and staff shifts.

use super::declare::entity;
use super::spec::{ChildKey, ChildSpec, EntitySpec, Group, VersionSource};
use crate::columns;

pub const SALES: EntitySpec = EntitySpec {
    name: "sales",
    table: "lightspeed_sales",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: false,
    group: Group::SalesAndStock,
    columns: columns![
        text: outlet_id, register_id, user_id, customer_id, invoice_number, receipt_number,
            short_code, source, source_id, status, state, return_for, note;
        numeric: total_price, total_price_incl, total_tax, total_loyalty;
        timestamp: sale_date, created_at, updated_at;
        json: return_ids, taxes;
    ],
    children: &[
        ChildSpec {
            array: "line_items",
            fetched_from: None,
            key: ChildKey::Id,
            table: "lightspeed_sale_line_items",
            parent_column: "sale_id",
            columns: columns![
                text: product_id, salesperson_id, tax_id, status, note;
                numeric: quantity, price, price_total, unit_price, total_price, cost,
                    cost_total, unit_cost, total_cost, tax, tax_total, unit_tax, total_tax,
                    discount, discount_total, unit_discount, total_discount, loyalty_value;
                int: sequence;
                bool: is_return;
                json: tax_components, promotions;
            ],
        },
        ChildSpec {
            array: "payments",
            fetched_from: None,
            key: ChildKey::Id,
            table: "lightspeed_sale_payments",
            parent_column: "sale_id",
            columns: columns![
                text: register_id, outlet_id, retailer_payment_type_id, payment_type_id, name,
                    register_open_sequence_id;
                numeric: amount;
                timestamp: payment_date;
            ],
        },
    ],
};

pub const SHIFTS: EntitySpec = entity!("shifts", deleted: false, SalesAndStock, Own, [
    text: retailer_id, user_id, updated_by;
    timestamp: time_in, time_out, created_at, updated_at;
]);
