//! The API's record types and their decoding from one record's JSON text. A record keeps its
//! raw JSON beside the typed fields, and the fields it could not type. Only its identity (`id`,
//! `version`) can make a record invalid. Pure code: no I/O.

use serde_json::{Map, Value};

use super::decode::{FieldError, FieldProblem, Fields};
use crate::entity::Entity;

mod types;

pub use types::{
    Address, Customer, Inventory, LineItem, Outlet, Payment, Product, Record, RecordBody, Sale,
};

/// Why one record cannot be stored at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("a record is not a JSON object")]
    NotAnObject,
    #[error("a record is not valid JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Identity(#[from] FieldError),
}

/// Decodes one record's JSON text as a record of `entity`. Fails only when the record has no
/// usable `id` or `version`; every other field that cannot be typed is read as null and listed
/// in `problems`.
pub fn decode_record(entity: Entity, raw: &str) -> Result<Record, RecordError> {
    let mut value: Value =
        serde_json::from_str(raw).map_err(|err| RecordError::Json(err.to_string()))?;
    // PostgreSQL's text and jsonb cannot hold U+0000: replace it rather than fail the batch.
    let had_nul = raw.contains("\\u0000") && replace_nul(&mut value);
    let object = value.as_object().ok_or(RecordError::NotAnObject)?;
    let fields = Fields::new(object, "");
    let id = fields.id("id")?;
    let version = fields.version("version")?;
    let deleted_at = fields.timestamp("deleted_at");
    let body = match entity {
        Entity::Outlets => RecordBody::Outlet(decode_outlet(&fields)),
        Entity::Products => RecordBody::Product(decode_product(&fields)),
        Entity::Customers => RecordBody::Customer(decode_customer(&fields)),
        Entity::Inventory => RecordBody::Inventory(decode_inventory(&fields)),
        Entity::Sales => RecordBody::Sale(decode_sale(&fields)),
    };
    let mut problems = fields.into_problems();
    let raw = if had_nul {
        problems.push(FieldProblem {
            field: "(any text)".into(),
            example: "\"\\u0000\"".into(),
            reason: "PostgreSQL cannot store U+0000; replaced by U+FFFD in raw and columns".into(),
        });
        raw_text(object)
    } else {
        raw.to_string()
    };
    Ok(Record {
        id,
        version,
        deleted_at,
        raw,
        body,
        problems,
    })
}

/// Replaces U+0000 in every string (and key) of `value`; returns whether there was any.
fn replace_nul(value: &mut Value) -> bool {
    let mut any = false;
    match value {
        Value::String(text) if text.contains('\0') => {
            *text = text.replace('\0', "\u{FFFD}");
            any = true;
        }
        Value::Array(items) => {
            for item in items {
                any |= replace_nul(item);
            }
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for key in keys {
                if let Some(inner) = map.remove(&key) {
                    map.insert(key.replace('\0', "\u{FFFD}"), inner);
                    any = true;
                }
            }
            for inner in map.values_mut() {
                any |= replace_nul(inner);
            }
        }
        _ => {}
    }
    any
}

fn decode_outlet(f: &Fields) -> Outlet {
    Outlet {
        name: f.text("name"),
        currency: f.text("currency"),
        time_zone: f.text("time_zone"),
        default_tax_id: f.text("default_tax_id"),
        physical_address_1: f.text_either(&["physical_address_1", "physical_address1"]),
        physical_address_2: f.text_either(&["physical_address_2", "physical_address2"]),
        physical_suburb: f.text("physical_suburb"),
        physical_city: f.text("physical_city"),
        physical_postcode: f.text("physical_postcode"),
        physical_state: f.text("physical_state"),
        physical_country_id: f.text("physical_country_id"),
        attributes: f.json("attributes"),
    }
}

fn decode_product(f: &Fields) -> Product {
    Product {
        name: f.text("name"),
        variant_name: f.text("variant_name"),
        handle: f.text("handle"),
        sku: f.text("sku"),
        source: f.text("source"),
        active: f.boolean("active"),
        is_active: f.boolean("is_active"),
        has_inventory: f.boolean("has_inventory"),
        is_composite: f.boolean("is_composite"),
        variant_parent_id: f.text("variant_parent_id"),
        supplier_id: f.text("supplier_id"),
        supplier_code: f.text("supplier_code"),
        brand_id: f.text("brand_id"),
        product_type_id: f.text("product_type_id"),
        supply_price: f.decimal("supply_price"),
        price_including_tax: f.decimal("price_including_tax"),
        price_excluding_tax: f.decimal("price_excluding_tax"),
        description: f.text("description"),
        created_at: f.timestamp("created_at"),
        updated_at: f.timestamp("updated_at"),
    }
}

/// An address whose fields are `{kind}_address_1` ... `{kind}_country_id` (2.0 spelling; the
/// 0.9 spelling `{kind}_address1` is read too).
fn decode_address(f: &Fields, kind: &str) -> Address {
    let field = |suffix: &str| format!("{kind}_{suffix}");
    Address {
        address_1: f.text_either(&[&field("address_1"), &field("address1")]),
        address_2: f.text_either(&[&field("address_2"), &field("address2")]),
        suburb: f.text(&field("suburb")),
        city: f.text(&field("city")),
        postcode: f.text(&field("postcode")),
        state: f.text(&field("state")),
        country_id: f.text(&field("country_id")),
    }
}

fn decode_customer(f: &Fields) -> Customer {
    Customer {
        customer_code: f.text("customer_code"),
        first_name: f.text("first_name"),
        last_name: f.text("last_name"),
        email: f.text("email"),
        phone: f.text("phone"),
        mobile: f.text("mobile"),
        company_name: f.text("company_name"),
        customer_group_id: f.text("customer_group_id"),
        gender: f.text("gender"),
        do_not_email: f.boolean("do_not_email"),
        enable_loyalty: f.boolean("enable_loyalty"),
        balance: f.decimal("balance"),
        loyalty_balance: f.decimal("loyalty_balance"),
        year_to_date: f.decimal("year_to_date"),
        on_account_limit: f.decimal("on_account_limit"),
        date_of_birth: f.date("date_of_birth"),
        physical: decode_address(f, "physical"),
        postal: decode_address(f, "postal"),
        created_at: f.timestamp("created_at"),
        updated_at: f.timestamp("updated_at"),
    }
}

fn decode_inventory(f: &Fields) -> Inventory {
    Inventory {
        product_id: f.text("product_id"),
        outlet_id: f.text("outlet_id"),
        inventory_level: f.decimal("inventory_level"),
        current_amount: f.decimal("current_amount"),
        average_cost: f.decimal("average_cost"),
        reorder_point: f.decimal("reorder_point"),
        reorder_amount: f.decimal("reorder_amount"),
    }
}

fn decode_sale(f: &Fields) -> Sale {
    let line_items = f
        .objects("line_items")
        .into_iter()
        .filter_map(|object| decode_child(f, object, "line_items[]", decode_line_item))
        .collect();
    let payments = f
        .objects("payments")
        .into_iter()
        .filter_map(|object| decode_child(f, object, "payments[]", decode_payment))
        .collect();
    Sale {
        outlet_id: f.text("outlet_id"),
        register_id: f.text("register_id"),
        user_id: f.text("user_id"),
        customer_id: f.text("customer_id"),
        invoice_number: f.text("invoice_number"),
        receipt_number: f.text("receipt_number"),
        short_code: f.text("short_code"),
        source: f.text("source"),
        source_id: f.text("source_id"),
        status: f.text("status"),
        state: f.text("state"),
        return_for: f.text("return_for"),
        total_price: f.decimal("total_price"),
        total_price_incl: f.decimal("total_price_incl"),
        total_tax: f.decimal("total_tax"),
        total_loyalty: f.decimal("total_loyalty"),
        note: f.text("note"),
        sale_date: f.timestamp("sale_date"),
        created_at: f.timestamp("created_at"),
        updated_at: f.timestamp("updated_at"),
        line_items,
        payments,
    }
}

/// Decodes a line item or payment, adding its problems to the sale's. One without an `id`
/// cannot be keyed: it is left out of its table (it stays in the sale's `raw`) and is a problem.
fn decode_child<T>(
    sale: &Fields,
    object: &Map<String, Value>,
    prefix: &str,
    decode: impl FnOnce(&Fields, String, String) -> T,
) -> Option<T> {
    let fields = Fields::new(object, prefix);
    let child = match fields.id("id") {
        Ok(id) => Some(decode(&fields, id, raw_text(object))),
        Err(err) => {
            sale.add_problems(vec![FieldProblem {
                field: err.field,
                example: super::decode::example_of(object.get("id").unwrap_or(&Value::Null)),
                reason: format!(
                    "{}; the row is left out, the sale's raw keeps it",
                    err.reason
                ),
            }]);
            None
        }
    };
    sale.add_problems(fields.into_problems());
    child
}

fn raw_text(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).expect("a JSON object always serialises")
}

fn decode_line_item(f: &Fields, id: String, raw: String) -> LineItem {
    LineItem {
        id,
        product_id: f.text("product_id"),
        salesperson_id: f.text("salesperson_id"),
        tax_id: f.text("tax_id"),
        quantity: f.decimal("quantity"),
        price: f.decimal("price"),
        price_total: f.decimal("price_total"),
        unit_price: f.decimal("unit_price"),
        total_price: f.decimal("total_price"),
        cost: f.decimal("cost"),
        cost_total: f.decimal("cost_total"),
        unit_cost: f.decimal("unit_cost"),
        total_cost: f.decimal("total_cost"),
        tax: f.decimal("tax"),
        tax_total: f.decimal("tax_total"),
        unit_tax: f.decimal("unit_tax"),
        total_tax: f.decimal("total_tax"),
        discount: f.decimal("discount"),
        discount_total: f.decimal("discount_total"),
        unit_discount: f.decimal("unit_discount"),
        total_discount: f.decimal("total_discount"),
        loyalty_value: f.decimal("loyalty_value"),
        status: f.text("status"),
        sequence: f.integer("sequence"),
        is_return: f.boolean("is_return"),
        note: f.text("note"),
        deleted_at: f.timestamp("deleted_at"),
        raw,
    }
}

fn decode_payment(f: &Fields, id: String, raw: String) -> Payment {
    Payment {
        id,
        register_id: f.text("register_id"),
        outlet_id: f.text("outlet_id"),
        retailer_payment_type_id: f.text("retailer_payment_type_id"),
        payment_type_id: f.text("payment_type_id"),
        name: f.text("name"),
        amount: f.decimal("amount"),
        payment_date: f.timestamp("payment_date"),
        deleted_at: f.timestamp("deleted_at"),
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_decodes_with_its_line_items_and_payments() {
        let raw = r#"{"id":"0af7b240-ab24-11e7-eddc-5a4d9c2e0b1c","version":"43000000123",
            "status":"CLOSED","state":"closed","total_price":"20.66","total_price_incl":25.0,
            "sale_date":"2024-01-02T03:04:05Z",
            "line_items":[{"id":"li-1","quantity":-1.5,"price":2.0000000001,"is_return":true,
              "total_price":20.66116,"salesperson_id":"u-1"}],
            "payments":[{"id":"p-1","payment_type_id":"1","amount":10,
              "deleted_at":"2024-01-03T00:00:00+00:00"}],
            "deleted_at":null}"#;
        let record = decode_record(Entity::Sales, raw).unwrap();
        assert_eq!(record.version, 43_000_000_123);
        assert_eq!(record.raw, raw);
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let RecordBody::Sale(sale) = record.body else {
            panic!("not a sale")
        };
        assert_eq!(sale.total_price.unwrap().to_string(), "20.66");
        assert_eq!(sale.total_price_incl.unwrap().to_string(), "25.0");
        assert_eq!(sale.state.as_deref(), Some("closed"));
        let line = &sale.line_items[0];
        assert_eq!(line.quantity.as_ref().unwrap().to_string(), "-1.5");
        assert_eq!(line.price.as_ref().unwrap().to_string(), "2.0000000001");
        assert_eq!(line.total_price.as_ref().unwrap().to_string(), "20.66116");
        assert_eq!(line.salesperson_id.as_deref(), Some("u-1"));
        assert_eq!(line.is_return, Some(true));
        assert_eq!(sale.payments[0].payment_type_id.as_deref(), Some("1"));
        assert!(sale.payments[0].deleted_at.is_some());
    }

    #[test]
    fn only_identity_makes_a_record_invalid() {
        assert!(decode_record(Entity::Customers, r#"{"version":5}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":"a"}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":"a","version":1.5}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"{"id":{},"version":1}"#).is_err());
        assert!(decode_record(Entity::Customers, r#"[1]"#).is_err());
        // A line item without an id is left out; the sale itself lands.
        let record = decode_record(
            Entity::Sales,
            r#"{"id":"s","version":1,"line_items":[{"quantity":1},{"id":"l2"}]}"#,
        )
        .unwrap();
        let RecordBody::Sale(sale) = &record.body else {
            panic!("not a sale")
        };
        assert_eq!(sale.line_items.len(), 1);
        assert_eq!(record.problems[0].field, "line_items[].id");
    }

    #[test]
    fn odd_field_values_become_null_and_are_named() {
        let raw = r#"{"id":"s","version":9,"sale_date":"18/09/2014 01:37:56",
            "total_price":"N/A","total_tax":"1.5","line_items":[{"id":"l","sequence":1.5,
            "quantity":"2","price":"N/A"}],"payments":7}"#;
        let record = decode_record(Entity::Sales, raw).unwrap();
        assert_eq!(record.raw, raw);
        let fields: Vec<&str> = record.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "line_items[].price",
                "line_items[].sequence",
                "payments",
                "total_price",
                "sale_date"
            ]
        );
        let RecordBody::Sale(sale) = record.body else {
            panic!("not a sale")
        };
        assert_eq!(sale.sale_date, None);
        assert_eq!(sale.total_price, None);
        assert_eq!(sale.total_tax.unwrap().to_string(), "1.5");
        assert_eq!(sale.line_items[0].sequence, None);
        assert_eq!(
            sale.line_items[0].quantity.as_ref().unwrap().to_string(),
            "2"
        );
    }

    #[test]
    fn placeholder_birthdays_are_null_without_a_problem() {
        let record = decode_record(
            Entity::Customers,
            r#"{"id":"c","version":3,"date_of_birth":"0000-12-30",
                "created_at":"-0001-11-30 00:00:00","physical_address_1":"1 Queen St",
                "postal_address2":"PO Box 9"}"#,
        )
        .unwrap();
        assert!(record.problems.is_empty());
        let RecordBody::Customer(customer) = record.body else {
            panic!("not a customer")
        };
        assert_eq!(customer.date_of_birth, None);
        assert_eq!(customer.created_at, None);
        assert_eq!(customer.physical.address_1.as_deref(), Some("1 Queen St"));
        assert_eq!(customer.postal.address_2.as_deref(), Some("PO Box 9"));
    }

    #[test]
    fn nul_characters_are_replaced_and_reported() {
        let record = decode_record(
            Entity::Outlets,
            r#"{"id":"o","version":3,"name":"a\u0000b"}"#,
        )
        .unwrap();
        assert!(!record.raw.contains("\\u0000"));
        assert_eq!(record.problems.len(), 1);
        let RecordBody::Outlet(outlet) = record.body else {
            panic!("not an outlet")
        };
        assert_eq!(outlet.name.as_deref(), Some("a\u{FFFD}b"));
    }

    #[test]
    fn every_field_may_be_missing() {
        for entity in Entity::ALL {
            let record = decode_record(entity, r#"{"id":"1","version":7}"#).unwrap();
            assert_eq!(record.id, "1");
            assert_eq!(record.deleted_at, None);
            assert!(record.problems.is_empty());
        }
    }
}
