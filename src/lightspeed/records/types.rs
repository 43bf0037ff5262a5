//! The typed shape of each entity's records, as decoded from the API. Plain data.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::lightspeed::decode::FieldProblem;

/// One record of any entity: the fields every record shares, its typed body and its raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The record as received (NUL characters, which PostgreSQL cannot store, replaced).
    pub raw: String,
    pub body: RecordBody,
    /// The fields (of the record or its line items and payments) that could not be typed.
    pub problems: Vec<FieldProblem>,
}

/// The entity-specific fields of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    Outlet(Outlet),
    Product(Product),
    Customer(Customer),
    Inventory(Inventory),
    Sale(Sale),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outlet {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    pub default_tax_id: Option<String>,
    pub physical_address_1: Option<String>,
    pub physical_address_2: Option<String>,
    pub physical_suburb: Option<String>,
    pub physical_city: Option<String>,
    pub physical_postcode: Option<String>,
    pub physical_state: Option<String>,
    pub physical_country_id: Option<String>,
    pub attributes: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Product {
    pub name: Option<String>,
    pub variant_name: Option<String>,
    pub handle: Option<String>,
    pub sku: Option<String>,
    pub source: Option<String>,
    pub active: Option<bool>,
    pub is_active: Option<bool>,
    pub has_inventory: Option<bool>,
    pub is_composite: Option<bool>,
    pub variant_parent_id: Option<String>,
    pub supplier_id: Option<String>,
    pub supplier_code: Option<String>,
    pub brand_id: Option<String>,
    pub product_type_id: Option<String>,
    pub supply_price: Option<BigDecimal>,
    pub price_including_tax: Option<BigDecimal>,
    pub price_excluding_tax: Option<BigDecimal>,
    pub description: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A street or postal address of a customer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub suburb: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub state: Option<String>,
    pub country_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Customer {
    pub customer_code: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub customer_group_id: Option<String>,
    pub gender: Option<String>,
    pub do_not_email: Option<bool>,
    pub enable_loyalty: Option<bool>,
    pub balance: Option<BigDecimal>,
    pub loyalty_balance: Option<BigDecimal>,
    pub year_to_date: Option<BigDecimal>,
    pub on_account_limit: Option<BigDecimal>,
    pub date_of_birth: Option<NaiveDate>,
    pub physical: Address,
    pub postal: Address,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    pub product_id: Option<String>,
    pub outlet_id: Option<String>,
    pub inventory_level: Option<BigDecimal>,
    pub current_amount: Option<BigDecimal>,
    pub average_cost: Option<BigDecimal>,
    pub reorder_point: Option<BigDecimal>,
    pub reorder_amount: Option<BigDecimal>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sale {
    pub outlet_id: Option<String>,
    pub register_id: Option<String>,
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub invoice_number: Option<String>,
    pub receipt_number: Option<String>,
    pub short_code: Option<String>,
    pub source: Option<String>,
    pub source_id: Option<String>,
    pub status: Option<String>,
    pub state: Option<String>,
    pub return_for: Option<String>,
    /// Tax-exclusive, rounded to 2 decimals.
    pub total_price: Option<BigDecimal>,
    /// Tax-inclusive, unrounded.
    pub total_price_incl: Option<BigDecimal>,
    pub total_tax: Option<BigDecimal>,
    pub total_loyalty: Option<BigDecimal>,
    pub note: Option<String>,
    pub sale_date: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub line_items: Vec<LineItem>,
    pub payments: Vec<Payment>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineItem {
    pub id: String,
    pub product_id: Option<String>,
    pub salesperson_id: Option<String>,
    pub tax_id: Option<String>,
    pub quantity: Option<BigDecimal>,
    pub price: Option<BigDecimal>,
    pub price_total: Option<BigDecimal>,
    pub unit_price: Option<BigDecimal>,
    pub total_price: Option<BigDecimal>,
    pub cost: Option<BigDecimal>,
    pub cost_total: Option<BigDecimal>,
    pub unit_cost: Option<BigDecimal>,
    pub total_cost: Option<BigDecimal>,
    pub tax: Option<BigDecimal>,
    pub tax_total: Option<BigDecimal>,
    pub unit_tax: Option<BigDecimal>,
    pub total_tax: Option<BigDecimal>,
    pub discount: Option<BigDecimal>,
    pub discount_total: Option<BigDecimal>,
    pub unit_discount: Option<BigDecimal>,
    pub total_discount: Option<BigDecimal>,
    pub loyalty_value: Option<BigDecimal>,
    pub status: Option<String>,
    pub sequence: Option<i64>,
    pub is_return: Option<bool>,
    pub note: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payment {
    pub id: String,
    pub register_id: Option<String>,
    pub outlet_id: Option<String>,
    pub retailer_payment_type_id: Option<String>,
    pub payment_type_id: Option<String>,
    pub name: Option<String>,
    pub amount: Option<BigDecimal>,
    pub payment_date: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: String,
}
