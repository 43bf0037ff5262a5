//! Database row types, one per table, shaped exactly like the table's columns so a batch can be
//! sent as one JSON array and expanded by `jsonb_populate_recordset`. `COLUMNS` lists every
//! column a row sets (all but `synced_at`); a database test checks it against the real table.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// A row of one of the lightsync entity tables.
pub trait TableRow: Serialize {
    /// The table the row belongs to.
    const TABLE: &'static str;
    /// Every column the row sets, `id` first.
    const COLUMNS: &'static [&'static str];
    fn id(&self) -> &str;
    fn version(&self) -> i64;
}

macro_rules! table_row {
    ($row:ident, $table:literal, [$($column:ident),* $(,)?]) => {
        impl TableRow for $row {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($column)),*];
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i64 {
                self.version
            }
        }
    };
}

#[derive(Debug, Clone, Serialize)]
pub struct OutletRow {
    pub id: String,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    pub physical_address1: Option<String>,
    pub physical_address2: Option<String>,
    pub physical_suburb: Option<String>,
    pub physical_city: Option<String>,
    pub physical_postcode: Option<String>,
    pub physical_state: Option<String>,
    pub physical_country_id: Option<String>,
    pub attributes: Option<Value>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    OutletRow,
    "lightspeed_outlets",
    [
        id,
        name,
        currency,
        time_zone,
        physical_address1,
        physical_address2,
        physical_suburb,
        physical_city,
        physical_postcode,
        physical_state,
        physical_country_id,
        attributes,
        version,
        deleted_at,
        raw
    ]
);

#[derive(Debug, Clone, Serialize)]
pub struct ProductRow {
    pub id: String,
    pub name: Option<String>,
    pub variant_name: Option<String>,
    pub handle: Option<String>,
    pub sku: Option<String>,
    pub active: Option<bool>,
    pub is_active: Option<bool>,
    pub variant_parent_id: Option<String>,
    pub supplier_id: Option<String>,
    pub brand_id: Option<String>,
    pub product_type_id: Option<String>,
    pub supply_price: Option<BigDecimal>,
    pub price_including_tax: Option<BigDecimal>,
    pub price_excluding_tax: Option<BigDecimal>,
    pub description: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    ProductRow,
    "lightspeed_products",
    [
        id,
        name,
        variant_name,
        handle,
        sku,
        active,
        is_active,
        variant_parent_id,
        supplier_id,
        brand_id,
        product_type_id,
        supply_price,
        price_including_tax,
        price_excluding_tax,
        description,
        created_at,
        updated_at,
        version,
        deleted_at,
        raw
    ]
);

#[derive(Debug, Clone, Serialize)]
pub struct CustomerRow {
    pub id: String,
    pub customer_code: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub customer_group_id: Option<String>,
    pub balance: Option<BigDecimal>,
    pub loyalty_balance: Option<BigDecimal>,
    pub year_to_date: Option<BigDecimal>,
    pub date_of_birth: Option<NaiveDate>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    CustomerRow,
    "lightspeed_customers",
    [
        id,
        customer_code,
        first_name,
        last_name,
        email,
        phone,
        mobile,
        company_name,
        customer_group_id,
        balance,
        loyalty_balance,
        year_to_date,
        date_of_birth,
        created_at,
        updated_at,
        version,
        deleted_at,
        raw
    ]
);

#[derive(Debug, Clone, Serialize)]
pub struct InventoryRow {
    pub id: String,
    pub product_id: Option<String>,
    pub outlet_id: Option<String>,
    pub inventory_level: Option<BigDecimal>,
    pub current_amount: Option<BigDecimal>,
    pub average_cost: Option<BigDecimal>,
    pub reorder_point: Option<BigDecimal>,
    pub reorder_amount: Option<BigDecimal>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    InventoryRow,
    "lightspeed_inventory",
    [
        id,
        product_id,
        outlet_id,
        inventory_level,
        current_amount,
        average_cost,
        reorder_point,
        reorder_amount,
        version,
        deleted_at,
        raw
    ]
);

#[derive(Debug, Clone, Serialize)]
pub struct SaleRow {
    pub id: String,
    pub outlet_id: Option<String>,
    pub register_id: Option<String>,
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub invoice_number: Option<String>,
    pub receipt_number: Option<String>,
    pub status: Option<String>,
    pub total_price: Option<BigDecimal>,
    pub total_tax: Option<BigDecimal>,
    pub total_loyalty: Option<BigDecimal>,
    pub note: Option<String>,
    pub sale_date: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    SaleRow,
    "lightspeed_sales",
    [
        id,
        outlet_id,
        register_id,
        user_id,
        customer_id,
        invoice_number,
        receipt_number,
        status,
        total_price,
        total_tax,
        total_loyalty,
        note,
        sale_date,
        created_at,
        updated_at,
        version,
        deleted_at,
        raw
    ]
);

/// A line item; `version` is the version of the sale that carried it.
#[derive(Debug, Clone, Serialize)]
pub struct LineItemRow {
    pub id: String,
    pub sale_id: String,
    pub product_id: Option<String>,
    pub tax_id: Option<String>,
    pub quantity: Option<BigDecimal>,
    pub price: Option<BigDecimal>,
    pub price_total: Option<BigDecimal>,
    pub cost: Option<BigDecimal>,
    pub cost_total: Option<BigDecimal>,
    pub tax: Option<BigDecimal>,
    pub tax_total: Option<BigDecimal>,
    pub discount: Option<BigDecimal>,
    pub discount_total: Option<BigDecimal>,
    pub loyalty_value: Option<BigDecimal>,
    pub status: Option<String>,
    pub sequence: Option<i64>,
    pub is_return: Option<bool>,
    pub note: Option<String>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    LineItemRow,
    "lightspeed_sale_line_items",
    [
        id,
        sale_id,
        product_id,
        tax_id,
        quantity,
        price,
        price_total,
        cost,
        cost_total,
        tax,
        tax_total,
        discount,
        discount_total,
        loyalty_value,
        status,
        sequence,
        is_return,
        note,
        version,
        deleted_at,
        raw
    ]
);

/// A payment; `version` is the version of the sale that carried it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentRow {
    pub id: String,
    pub sale_id: String,
    pub retailer_payment_type_id: Option<String>,
    pub payment_type_id: Option<String>,
    pub name: Option<String>,
    pub amount: Option<BigDecimal>,
    pub payment_date: Option<DateTime<Utc>>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: Box<RawValue>,
}
table_row!(
    PaymentRow,
    "lightspeed_sale_payments",
    [
        id,
        sale_id,
        retailer_payment_type_id,
        payment_type_id,
        name,
        amount,
        payment_date,
        version,
        deleted_at,
        raw
    ]
);

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
