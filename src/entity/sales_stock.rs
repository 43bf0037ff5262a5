//! Declarations of the first five entities (outlets, products, customers, inventory, sales with
//! their line items and payments). One `EntitySpec` each; nothing else to write per entity.

use super::spec::{ChildKey, ChildSpec, Column, EntitySpec, Group, Kind, VersionSource};
use crate::columns;

/// An address spelled `{kind}_address_1` (2.0) or `{kind}_address1` (0.9), and its parts.
macro_rules! address {
    ($kind:literal) => {
        [
            Column::new(concat!($kind, "_address_1"), Kind::Text)
                .or(&[concat!($kind, "_address1")]),
            Column::new(concat!($kind, "_address_2"), Kind::Text)
                .or(&[concat!($kind, "_address2")]),
            Column::new(concat!($kind, "_suburb"), Kind::Text),
            Column::new(concat!($kind, "_city"), Kind::Text),
            Column::new(concat!($kind, "_postcode"), Kind::Text),
            Column::new(concat!($kind, "_state"), Kind::Text),
            Column::new(concat!($kind, "_country_id"), Kind::Text),
        ]
    };
}

const PHYSICAL: [Column; 7] = address!("physical");
const POSTAL: [Column; 7] = address!("postal");

/// Concatenates column lists at compile time.
const fn join<const N: usize>(parts: &[&[Column]]) -> [Column; N] {
    let mut out = [Column::new("", Kind::Text); N];
    let mut at = 0;
    let mut part = 0;
    while part < parts.len() {
        let mut index = 0;
        while index < parts[part].len() {
            out[at] = parts[part][index];
            at += 1;
            index += 1;
        }
        part += 1;
    }
    assert!(at == N, "join: the length does not add up");
    out
}

const OUTLET_COLUMNS: [Column; 12] = join(&[
    columns![text: name, currency, time_zone, default_tax_id; json: attributes],
    &PHYSICAL,
]);

pub const OUTLETS: EntitySpec = EntitySpec {
    name: "outlets",
    table: "lightspeed_outlets",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: &OUTLET_COLUMNS,
    children: &[],
};

pub const PRODUCTS: EntitySpec = EntitySpec {
    name: "products",
    table: "lightspeed_products",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: columns![
        text: name, variant_name, handle, sku, source, variant_parent_id, supplier_id,
            supplier_code, brand_id, product_type_id, description, family_id;
        bool: active, is_active, has_inventory, is_composite, has_variants;
        numeric: supply_price, price_including_tax, price_excluding_tax;
        int: variant_count;
        timestamp: created_at, updated_at;
        json: variant_options, product_codes, product_category;
    ],
    children: &[],
};

const CUSTOMER_COLUMNS: [Column; 33] = join(&[
    columns![
        text: customer_code, first_name, last_name, email, phone, mobile, company_name,
            customer_group_id, gender;
        bool: do_not_email, enable_loyalty;
        numeric: balance, loyalty_balance, year_to_date, on_account_limit;
        date: date_of_birth;
        timestamp: created_at, updated_at;
        json: customer_group_ids;
    ],
    &PHYSICAL,
    &POSTAL,
]);

pub const CUSTOMERS: EntitySpec = EntitySpec {
    name: "customers",
    table: "lightspeed_customers",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: &CUSTOMER_COLUMNS,
    children: &[],
};

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
