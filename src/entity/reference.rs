//! Declarations of the sixteen further versioned list endpoints: staff, registers, taxes,
//! payment types, the product catalogue's reference data, price books, consignments (stock
//! movements), serial numbers and shifts. Fields as in `docs/API_FIELDS.md`; typed
//! columns for what an analyst joins and filters on, everything else stays in `raw`.

use super::spec::{ChildKey, ChildSpec, EntitySpec, Group, VersionSource};
use crate::columns;

/// A declaration with the usual key (`id`) and the record's own `version`.
macro_rules! entity {
    ($name:literal, deleted: $deleted:literal, $group:ident, $version:ident, [$($columns:tt)*]) => {
        EntitySpec {
            name: $name,
            table: concat!("lightspeed_", $name),
            key: &["id"],
            version: VersionSource::$version,
            takes_deleted: $deleted,
            group: Group::$group,
            columns: columns![$($columns)*],
            children: &[],
        }
    };
}

pub const USERS: EntitySpec = entity!("users", deleted: true, Reference, Own, [
    text: username, display_name, email, account_type, restricted_outlet_id;
    bool: enabled, is_primary_user, enabled_mfa, require_password_change;
    numeric: target_daily, target_weekly, target_monthly;
    timestamp: email_verified_at, seen_at, created_at, updated_at;
    json: restricted_outlet_ids, roles;
]);

pub const REGISTERS: EntitySpec = entity!("registers", deleted: true, Reference, Own, [
    text: name, outlet_id, invoice_prefix, invoice_suffix, receipt_template_id,
        button_layout_id, register_open_sequence_id, cash_managed_payment_type_id;
    numeric: invoice_sequence, ask_for_note_on_save;
    bool: is_open, print_receipt, email_receipt, print_note_on_receipt, ask_for_user_on_sale,
        show_discounts_on_receipts;
    timestamp: register_open_time, register_close_time;
]);

pub const TAXES: EntitySpec = entity!("taxes", deleted: true, Reference, Own, [
    text: name, display_name;
    bool: is_default;
    json: rates;
]);

/// Outlet taxes have no `id`: a record is the tax a product takes at an outlet.
pub const OUTLET_TAXES: EntitySpec = EntitySpec {
    name: "outlet_taxes",
    table: "lightspeed_outlet_taxes",
    key: &["outlet_id", "product_id", "tax_id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: columns![text: outlet_id, product_id, tax_id],
    children: &[],
};

pub const PAYMENT_TYPES: EntitySpec = entity!("payment_types", deleted: true, Reference, Own, [
    text: name;
    int: type_id;
]);

pub const BRANDS: EntitySpec = entity!("brands", deleted: true, Reference, OwnOrPageMax, [
    text: name;
]);

/// Real `/suppliers` responses carry `version` though the schema lists none: it is used when
/// present. The nested `contact` (spelled the 0.9 way) stays JSON.
pub const SUPPLIERS: EntitySpec = entity!("suppliers", deleted: true, Reference, OwnOrPageMax, [
    text: name, description;
    numeric: default_markup;
    json: contact;
]);

pub const PRODUCT_TYPES: EntitySpec = entity!("product_types", deleted: true, Reference, OwnOrPageMax, [
    text: name;
    bool: leaf_category;
    json: category_path;
]);

pub const PRODUCT_CATEGORIES: EntitySpec = entity!("product_categories", deleted: false, Reference, Refresh, [
    text: name, root_category_id, parent_category_id;
    bool: leaf_category;
    json: category_path;
]);

pub const TAGS: EntitySpec = entity!("tags", deleted: true, Reference, OwnOrPageMax, [
    text: name;
]);

pub const CUSTOMER_GROUPS: EntitySpec = entity!("customer_groups", deleted: true, Reference, Own, [
    text: name, group_id, retailer_id;
    timestamp: created_at, updated_at;
]);

pub const PRICE_BOOKS: EntitySpec = entity!("price_books", deleted: true, Reference, Own, [
    text: name, customer_group_id, outlet_id, restrict_to_platform_key,
        restrict_to_platform_label;
    timestamp: valid_from, valid_to, created_at, updated_at;
]);

pub const PRICE_BOOK_PRODUCTS: EntitySpec = entity!("price_book_products", deleted: true, Reference, Own, [
    text: product_id, price_book_id, tax_id, rounding, adjustment_type;
    numeric: default_display_price, price, retail_tax, loyalty_value, adjustment, discount,
        min_units, max_units;
    timestamp: created_at, updated_at;
]);

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

pub const SHIFTS: EntitySpec = entity!("shifts", deleted: false, SalesAndStock, Own, [
    text: retailer_id, user_id, updated_by;
    timestamp: time_in, time_out, created_at, updated_at;
]);
