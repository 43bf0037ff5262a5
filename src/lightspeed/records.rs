//! The API's record types and their decoding from one record's JSON text. A record keeps its
//! exact raw JSON beside the typed fields. Pure code: no I/O.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::decode::{FieldError, Fields};
use crate::entity::Entity;

/// One record of any entity: the fields every record shares, its typed body and its raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The record exactly as received.
    pub raw: String,
    pub body: RecordBody,
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
    pub physical_address1: Option<String>,
    pub physical_address2: Option<String>,
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
    pub balance: Option<BigDecimal>,
    pub loyalty_balance: Option<BigDecimal>,
    pub year_to_date: Option<BigDecimal>,
    pub date_of_birth: Option<NaiveDate>,
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
    pub status: Option<String>,
    pub total_price: Option<BigDecimal>,
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
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payment {
    pub id: String,
    pub retailer_payment_type_id: Option<String>,
    pub payment_type_id: Option<String>,
    pub name: Option<String>,
    pub amount: Option<BigDecimal>,
    pub payment_date: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub raw: String,
}

/// Why one record could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("a record is not a JSON object")]
    NotAnObject,
    #[error("a record is not valid JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// Decodes one record's JSON text as a record of `entity`.
pub fn decode_record(entity: Entity, raw: &str) -> Result<Record, RecordError> {
    let value: Value =
        serde_json::from_str(raw).map_err(|err| RecordError::Json(err.to_string()))?;
    let object = value.as_object().ok_or(RecordError::NotAnObject)?;
    let fields = Fields::new(object, "");
    let id = fields.id("id")?;
    let version = fields.version("version")?;
    let deleted_at = fields.timestamp("deleted_at")?;
    let body = match entity {
        Entity::Outlets => RecordBody::Outlet(decode_outlet(&fields)?),
        Entity::Products => RecordBody::Product(decode_product(&fields)?),
        Entity::Customers => RecordBody::Customer(decode_customer(&fields)?),
        Entity::Inventory => RecordBody::Inventory(decode_inventory(&fields)?),
        Entity::Sales => RecordBody::Sale(decode_sale(&fields)?),
    };
    Ok(Record {
        id,
        version,
        deleted_at,
        raw: raw.to_string(),
        body,
    })
}

fn decode_outlet(f: &Fields) -> Result<Outlet, FieldError> {
    Ok(Outlet {
        name: f.text("name")?,
        currency: f.text("currency")?,
        time_zone: f.text("time_zone")?,
        physical_address1: f.text("physical_address1")?,
        physical_address2: f.text("physical_address2")?,
        physical_suburb: f.text("physical_suburb")?,
        physical_city: f.text("physical_city")?,
        physical_postcode: f.text("physical_postcode")?,
        physical_state: f.text("physical_state")?,
        physical_country_id: f.text("physical_country_id")?,
        attributes: f.json("attributes"),
    })
}

fn decode_product(f: &Fields) -> Result<Product, FieldError> {
    Ok(Product {
        name: f.text("name")?,
        variant_name: f.text("variant_name")?,
        handle: f.text("handle")?,
        sku: f.text("sku")?,
        active: f.boolean("active")?,
        is_active: f.boolean("is_active")?,
        variant_parent_id: f.text("variant_parent_id")?,
        supplier_id: f.text("supplier_id")?,
        brand_id: f.text("brand_id")?,
        product_type_id: f.text("product_type_id")?,
        supply_price: f.decimal("supply_price")?,
        price_including_tax: f.decimal("price_including_tax")?,
        price_excluding_tax: f.decimal("price_excluding_tax")?,
        description: f.text("description")?,
        created_at: f.timestamp("created_at")?,
        updated_at: f.timestamp("updated_at")?,
    })
}

fn decode_customer(f: &Fields) -> Result<Customer, FieldError> {
    Ok(Customer {
        customer_code: f.text("customer_code")?,
        first_name: f.text("first_name")?,
        last_name: f.text("last_name")?,
        email: f.text("email")?,
        phone: f.text("phone")?,
        mobile: f.text("mobile")?,
        company_name: f.text("company_name")?,
        customer_group_id: f.text("customer_group_id")?,
        balance: f.decimal("balance")?,
        loyalty_balance: f.decimal("loyalty_balance")?,
        year_to_date: f.decimal("year_to_date")?,
        date_of_birth: f.date("date_of_birth")?,
        created_at: f.timestamp("created_at")?,
        updated_at: f.timestamp("updated_at")?,
    })
}

fn decode_inventory(f: &Fields) -> Result<Inventory, FieldError> {
    Ok(Inventory {
        product_id: f.text("product_id")?,
        outlet_id: f.text("outlet_id")?,
        inventory_level: f.decimal("inventory_level")?,
        current_amount: f.decimal("current_amount")?,
        average_cost: f.decimal("average_cost")?,
        reorder_point: f.decimal("reorder_point")?,
        reorder_amount: f.decimal("reorder_amount")?,
    })
}

fn decode_sale(f: &Fields) -> Result<Sale, FieldError> {
    let line_items = f
        .objects("line_items")?
        .into_iter()
        .map(decode_line_item)
        .collect::<Result<_, _>>()?;
    let payments = f
        .objects("payments")?
        .into_iter()
        .map(decode_payment)
        .collect::<Result<_, _>>()?;
    Ok(Sale {
        outlet_id: f.text("outlet_id")?,
        register_id: f.text("register_id")?,
        user_id: f.text("user_id")?,
        customer_id: f.text("customer_id")?,
        invoice_number: f.text("invoice_number")?,
        receipt_number: f.text("receipt_number")?,
        status: f.text("status")?,
        total_price: f.decimal("total_price")?,
        total_tax: f.decimal("total_tax")?,
        total_loyalty: f.decimal("total_loyalty")?,
        note: f.text("note")?,
        sale_date: f.timestamp("sale_date")?,
        created_at: f.timestamp("created_at")?,
        updated_at: f.timestamp("updated_at")?,
        line_items,
        payments,
    })
}

fn raw_text(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).expect("a JSON object always serialises")
}

fn decode_line_item(object: &Map<String, Value>) -> Result<LineItem, FieldError> {
    let f = Fields::new(object, "line_items[]");
    Ok(LineItem {
        id: f.id("id")?,
        product_id: f.text("product_id")?,
        tax_id: f.text("tax_id")?,
        quantity: f.decimal("quantity")?,
        price: f.decimal("price")?,
        price_total: f.decimal("price_total")?,
        cost: f.decimal("cost")?,
        cost_total: f.decimal("cost_total")?,
        tax: f.decimal("tax")?,
        tax_total: f.decimal("tax_total")?,
        discount: f.decimal("discount")?,
        discount_total: f.decimal("discount_total")?,
        loyalty_value: f.decimal("loyalty_value")?,
        status: f.text("status")?,
        sequence: f.integer("sequence")?,
        is_return: f.boolean("is_return")?,
        note: f.text("note")?,
        deleted_at: f.timestamp("deleted_at")?,
        raw: raw_text(object),
    })
}

fn decode_payment(object: &Map<String, Value>) -> Result<Payment, FieldError> {
    let f = Fields::new(object, "payments[]");
    Ok(Payment {
        id: f.id("id")?,
        retailer_payment_type_id: f.text("retailer_payment_type_id")?,
        payment_type_id: f.text("payment_type_id")?,
        name: f.text("name")?,
        amount: f.decimal("amount")?,
        payment_date: f.timestamp("payment_date")?,
        deleted_at: f.timestamp("deleted_at")?,
        raw: raw_text(object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_decodes_with_its_line_items_and_payments() {
        let raw = r#"{"id":"0af7b240-ab24-11e7-eddc-5a4d9c2e0b1c","version":"3000000123",
            "status":"CLOSED","total_price":"10.12345","sale_date":"2024-01-02T03:04:05Z",
            "line_items":[{"id":"li-1","quantity":-1.5,"price":2.00001,"is_return":true}],
            "payments":[{"id":"p-1","payment_type_id":"1","amount":10}],
            "deleted_at":null}"#;
        let record = decode_record(Entity::Sales, raw).unwrap();
        assert_eq!(record.version, 3_000_000_123);
        assert_eq!(record.raw, raw);
        let RecordBody::Sale(sale) = record.body else {
            panic!("not a sale")
        };
        assert_eq!(sale.total_price.unwrap().to_string(), "10.12345");
        assert_eq!(
            sale.line_items[0].quantity.as_ref().unwrap().to_string(),
            "-1.5"
        );
        assert_eq!(sale.line_items[0].is_return, Some(true));
        assert_eq!(sale.payments[0].payment_type_id.as_deref(), Some("1"));
    }

    #[test]
    fn records_without_id_or_version_are_invalid() {
        assert!(decode_record(Entity::Customers, r#"{"version":5}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":"a"}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"[1]"#).is_err());
        assert!(decode_record(
            Entity::Sales,
            r#"{"id":"s","version":1,"line_items":[{"quantity":1}]}"#
        )
        .is_err());
    }

    #[test]
    fn every_field_may_be_missing() {
        for entity in Entity::ALL {
            let record = decode_record(entity, r#"{"id":"1","version":7}"#).unwrap();
            assert_eq!(record.id, "1");
            assert_eq!(record.deleted_at, None);
        }
    }
}
