//! Database row types, one per table, and how a batch of them is sent: one typed array per
//! column, expanded by `unnest` on the server (binary-encoded binds, one statement per table, no
//! per-row SQL and no giant JSON document to parse). `COLUMNS` lists every column a row sets (all
//! but `synced_at`); a database test checks it against the real table.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Numeric, Text, Timestamptz};

/// A query being built with one array bind per column.
pub type ColumnQuery<'a> = BoxedSqlQuery<'a, Pg, SqlQuery>;

/// A row of one of the lightsync entity tables.
pub trait TableRow: Sized {
    /// The table the row belongs to.
    const TABLE: &'static str;
    /// Every column the row sets, `id` first.
    const COLUMNS: &'static [&'static str];
    /// The PostgreSQL type of each column's array parameter, in `COLUMNS` order.
    const ARRAY_TYPES: &'static [&'static str];
    /// Whether each column is JSONB (sent as text and cast on the server).
    const JSONB: &'static [bool];
    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// Binds one array per column, in `COLUMNS` order.
    fn bind_columns(rows: Vec<Self>, query: ColumnQuery<'_>) -> ColumnQuery<'_>;
}

macro_rules! sql_kind {
    (text) => { Array<Text> };
    (opt_text) => { Array<Nullable<Text>> };
    (numeric) => { Array<Nullable<Numeric>> };
    (timestamp) => { Array<Nullable<Timestamptz>> };
    (date) => { Array<Nullable<Date>> };
    (flag) => { Array<Nullable<Bool>> };
    (int) => { Array<BigInt> };
    (opt_int) => { Array<Nullable<BigInt>> };
    (jsonb) => { Array<Text> };
    (opt_jsonb) => { Array<Nullable<Text>> };
}

macro_rules! pg_array_type {
    (text) => {
        "text[]"
    };
    (opt_text) => {
        "text[]"
    };
    (numeric) => {
        "numeric[]"
    };
    (timestamp) => {
        "timestamptz[]"
    };
    (date) => {
        "date[]"
    };
    (flag) => {
        "boolean[]"
    };
    (int) => {
        "bigint[]"
    };
    (opt_int) => {
        "bigint[]"
    };
    (jsonb) => {
        "text[]"
    };
    (opt_jsonb) => {
        "text[]"
    };
}

macro_rules! is_jsonb {
    (jsonb) => {
        true
    };
    (opt_jsonb) => {
        true
    };
    ($other:ident) => {
        false
    };
}

macro_rules! rust_type {
    (text) => { String };
    (opt_text) => { Option<String> };
    (numeric) => { Option<BigDecimal> };
    (timestamp) => { Option<DateTime<Utc>> };
    (date) => { Option<NaiveDate> };
    (flag) => { Option<bool> };
    (int) => { i64 };
    (opt_int) => { Option<i64> };
    (jsonb) => { String };
    (opt_jsonb) => { Option<String> };
}

macro_rules! table_rows {
    ($(#[$meta:meta])* $row:ident, $table:literal, { $($column:ident : $kind:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $row {
            $(pub $column: rust_type!($kind),)*
        }

        impl TableRow for $row {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($column)),*];
            const ARRAY_TYPES: &'static [&'static str] = &[$(pg_array_type!($kind)),*];
            const JSONB: &'static [bool] = &[$(is_jsonb!($kind)),*];

            fn id(&self) -> &str {
                &self.id
            }

            fn version(&self) -> i64 {
                self.version
            }

            fn bind_columns(rows: Vec<Self>, query: ColumnQuery<'_>) -> ColumnQuery<'_> {
                $(let mut $column: Vec<rust_type!($kind)> = Vec::with_capacity(rows.len());)*
                for row in rows {
                    $($column.push(row.$column);)*
                }
                $(let query = query.bind::<sql_kind!($kind), _>($column);)*
                query
            }
        }
    };
}

table_rows!(OutletRow, "lightspeed_outlets", {
    id: text, name: opt_text, currency: opt_text, time_zone: opt_text,
    physical_address_1: opt_text, physical_address_2: opt_text, physical_suburb: opt_text,
    physical_city: opt_text, physical_postcode: opt_text, physical_state: opt_text,
    physical_country_id: opt_text, attributes: opt_jsonb, version: int,
    deleted_at: timestamp, raw: jsonb, default_tax_id: opt_text,
});

table_rows!(ProductRow, "lightspeed_products", {
    id: text, name: opt_text, variant_name: opt_text, handle: opt_text, sku: opt_text,
    active: flag, is_active: flag, variant_parent_id: opt_text, supplier_id: opt_text,
    brand_id: opt_text, product_type_id: opt_text, supply_price: numeric,
    price_including_tax: numeric, price_excluding_tax: numeric, description: opt_text,
    created_at: timestamp, updated_at: timestamp, version: int, deleted_at: timestamp,
    raw: jsonb, source: opt_text, has_inventory: flag, is_composite: flag,
    supplier_code: opt_text,
});

table_rows!(CustomerRow, "lightspeed_customers", {
    id: text, customer_code: opt_text, first_name: opt_text, last_name: opt_text,
    email: opt_text, phone: opt_text, mobile: opt_text, company_name: opt_text,
    customer_group_id: opt_text, balance: numeric, loyalty_balance: numeric,
    year_to_date: numeric, date_of_birth: date, created_at: timestamp, updated_at: timestamp,
    version: int, deleted_at: timestamp, raw: jsonb, gender: opt_text, do_not_email: flag,
    enable_loyalty: flag, on_account_limit: numeric, physical_address_1: opt_text,
    physical_address_2: opt_text, physical_suburb: opt_text, physical_city: opt_text,
    physical_postcode: opt_text, physical_state: opt_text, physical_country_id: opt_text,
    postal_address_1: opt_text, postal_address_2: opt_text, postal_suburb: opt_text,
    postal_city: opt_text, postal_postcode: opt_text, postal_state: opt_text,
    postal_country_id: opt_text,
});

table_rows!(InventoryRow, "lightspeed_inventory", {
    id: text, product_id: opt_text, outlet_id: opt_text, inventory_level: numeric,
    current_amount: numeric, average_cost: numeric, reorder_point: numeric,
    reorder_amount: numeric, version: int, deleted_at: timestamp, raw: jsonb,
});

table_rows!(SaleRow, "lightspeed_sales", {
    id: text, outlet_id: opt_text, register_id: opt_text, user_id: opt_text,
    customer_id: opt_text, invoice_number: opt_text, receipt_number: opt_text,
    status: opt_text, total_price: numeric, total_tax: numeric, total_loyalty: numeric,
    note: opt_text, sale_date: timestamp, created_at: timestamp, updated_at: timestamp,
    version: int, deleted_at: timestamp, raw: jsonb, total_price_incl: numeric,
    state: opt_text, source: opt_text, source_id: opt_text, short_code: opt_text,
    return_for: opt_text,
});

table_rows!(
    /// A line item; `version` is the version of the sale that carried it.
    LineItemRow, "lightspeed_sale_line_items", {
    id: text, sale_id: text, product_id: opt_text, tax_id: opt_text, quantity: numeric,
    price: numeric, price_total: numeric, cost: numeric, cost_total: numeric, tax: numeric,
    tax_total: numeric, discount: numeric, discount_total: numeric, loyalty_value: numeric,
    status: opt_text, sequence: opt_int, is_return: flag, note: opt_text, version: int,
    deleted_at: timestamp, raw: jsonb, salesperson_id: opt_text, unit_price: numeric,
    total_price: numeric, unit_tax: numeric, total_tax: numeric, unit_cost: numeric,
    total_cost: numeric, unit_discount: numeric, total_discount: numeric,
});

table_rows!(
    /// A payment; `version` is the version of the sale that carried it.
    PaymentRow, "lightspeed_sale_payments", {
    id: text, sale_id: text, retailer_payment_type_id: opt_text, payment_type_id: opt_text,
    name: opt_text, amount: numeric, payment_date: timestamp, version: int,
    deleted_at: timestamp, raw: jsonb, register_id: opt_text, outlet_id: opt_text,
});

/// The rows one batch writes, by table. Sales carry their line items and payments, which are
/// written only for the sales whose row the batch actually changed.
#[derive(Debug, Default)]
pub struct BatchRows {
    pub outlets: Vec<OutletRow>,
    pub products: Vec<ProductRow>,
    pub customers: Vec<CustomerRow>,
    pub inventory: Vec<InventoryRow>,
    pub sales: Vec<SaleRow>,
    pub line_items: Vec<LineItemRow>,
    pub payments: Vec<PaymentRow>,
}
