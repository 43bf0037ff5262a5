//! The store's own set-up: outlets, their registers, staff (users), taxes, the taxes a product
//! takes at an outlet, and payment types.

use super::declare::entity;
use super::declare::{join, PHYSICAL};
use super::spec::{Column, EntitySpec, Group, VersionSource};
use crate::columns;

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

pub const REGISTERS: EntitySpec = entity!("registers", deleted: true, Reference, Own, [
    text: name, outlet_id, invoice_prefix, invoice_suffix, receipt_template_id,
        button_layout_id, register_open_sequence_id, cash_managed_payment_type_id;
    numeric: invoice_sequence, ask_for_note_on_save;
    bool: is_open, print_receipt, email_receipt, print_note_on_receipt, ask_for_user_on_sale,
        show_discounts_on_receipts;
    timestamp: register_open_time, register_close_time;
]);

pub const USERS: EntitySpec = entity!("users", deleted: true, Reference, Own, [
    text: username, display_name, email, account_type, restricted_outlet_id;
    bool: enabled, is_primary_user, enabled_mfa, require_password_change;
    numeric: target_daily, target_weekly, target_monthly;
    timestamp: email_verified_at, seen_at, created_at, updated_at;
    json: restricted_outlet_ids, roles;
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
