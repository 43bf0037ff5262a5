//! Renders a simulated record as the API's JSON, deterministically from its snapshot: realistic
//! values (unicode and quotes in names, HTML descriptions, null emails, five-decimal money,
//! fractional and negative quantities). Pure code.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::store::{
    hash, line_item_count, line_item_ids, money, opaque_id, payment_id, record_id, sale_status,
    RecordSnapshot,
};
use crate::entity::Entity;

const FIRST_NAMES: [&str; 8] = [
    "Zoë",
    "Seán",
    "María José",
    "Ngaio",
    "Wei",
    "Anaïs",
    "O'Neil",
    "Björn",
];
const LAST_NAMES: [&str; 8] = [
    "O'Brien",
    "Ñúñez",
    "Smith",
    "Tāmaki",
    "D\"Angelo",
    "Müller",
    "李",
    "Ng",
];
const PRODUCT_WORDS: [&str; 8] = [
    "Café \"Noir\"",
    "Crème brûlée",
    "Flat white ☕",
    "T-shirt <XL>",
    "Kūmara chips",
    "Gift card & wrap",
    "Naïve tea",
    "Socks 'wool'",
];

/// Rendering options that imitate documented oddities of the real API.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderQuirks {
    /// Send money and quantities as numeric strings instead of numbers.
    pub money_as_strings: bool,
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid date")
}

fn timestamp(at: DateTime<Utc>) -> Value {
    Value::String(at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

struct Render {
    seed: u64,
    outlets: u32,
    products: u32,
    customers: u32,
    registers: u32,
    quirks: RenderQuirks,
}

impl Render {
    fn money(&self, units_100000: i64) -> Value {
        let value = money(units_100000);
        if self.quirks.money_as_strings {
            Value::String(value.to_string())
        } else {
            value
        }
    }
}

/// The JSON text of one record.
pub fn render_record(
    snapshot: &RecordSnapshot,
    seed: u64,
    outlets: u32,
    products: u32,
    customers: u32,
    registers: u32,
    quirks: RenderQuirks,
) -> String {
    let render = Render {
        seed,
        outlets: outlets.max(1),
        products,
        customers,
        registers: registers.max(1),
        quirks,
    };
    let value = match snapshot.entity {
        Entity::Outlets => render.outlet(snapshot),
        Entity::Products => render.product(snapshot),
        Entity::Customers => render.customer(snapshot),
        Entity::Inventory => render.inventory(snapshot),
        Entity::Sales => render.sale(snapshot),
    };
    serde_json::to_string(&value).expect("a JSON value always serialises")
}

impl Render {
    fn changed_at(&self, snapshot: &RecordSnapshot) -> DateTime<Utc> {
        epoch() + Duration::seconds(((snapshot.version - 3_000_000_000) / 2).max(0))
    }

    fn deleted_at(&self, snapshot: &RecordSnapshot) -> Value {
        if snapshot.deleted {
            timestamp(self.changed_at(snapshot))
        } else {
            Value::Null
        }
    }

    fn outlet(&self, s: &RecordSnapshot) -> Value {
        let h = hash(&[self.seed, 1, s.index as u64, s.revision as u64]);
        json!({
            "id": record_id(self.seed, Entity::Outlets, s.index),
            "name": format!("Outlet {} \"{}\"", s.index + 1, ["Main St", "Café Quay", "Ōtautahi"][s.index as usize % 3]),
            "currency": "NZD",
            "currency_symbol": "$",
            "time_zone": "Pacific/Auckland",
            "physical_address1": format!("{} Queen Street", 1 + h % 300),
            "physical_address2": null,
            "physical_suburb": "CBD",
            "physical_city": "Auckland",
            "physical_postcode": "1010",
            "physical_state": null,
            "physical_country_id": "NZ",
            "attributes": [{"key": "revision", "value": s.revision.to_string()}],
            "deleted_at": self.deleted_at(s),
            "version": s.version,
        })
    }

    fn product(&self, s: &RecordSnapshot) -> Value {
        let h = hash(&[self.seed, 2, s.index as u64, s.revision as u64]);
        let base = hash(&[self.seed, 2, s.index as u64]);
        let is_variant = !s.index.is_multiple_of(5);
        let parent = if is_variant {
            Value::String(record_id(
                self.seed,
                Entity::Products,
                s.index - s.index % 5,
            ))
        } else {
            Value::Null
        };
        let price = 100_000 + (h % 50_000_000) as i64;
        let sku = if s.index % 7 == 3 {
            Value::Null
        } else {
            Value::String(format!("SKU-{:06}", s.index))
        };
        let created = epoch() + Duration::minutes(s.index as i64);
        json!({
            "id": record_id(self.seed, Entity::Products, s.index),
            "name": PRODUCT_WORDS[(base % 8) as usize],
            "variant_name": if is_variant { Value::String(format!("Size {}", s.index % 5)) } else { Value::Null },
            "handle": format!("product-{}", s.index - s.index % 5),
            "sku": sku,
            "active": !s.deleted,
            "is_active": !s.deleted,
            "variant_parent_id": parent,
            "supplier_id": opaque_id(&[self.seed, 20, base % 4]),
            "brand_id": opaque_id(&[self.seed, 21, base % 6]),
            "product_type_id": opaque_id(&[self.seed, 22, base % 3]),
            "supply_price": self.money(price / 2),
            "price_including_tax": self.money(price + price * 15 / 100),
            "price_excluding_tax": self.money(price),
            "description": format!("<p>Our <strong>{}</strong> &amp; more.</p>", PRODUCT_WORDS[(base % 8) as usize]),
            "created_at": timestamp(created),
            "updated_at": timestamp(self.changed_at(s).max(created)),
            "deleted_at": self.deleted_at(s),
            "version": s.version,
        })
    }

    fn customer(&self, s: &RecordSnapshot) -> Value {
        let base = hash(&[self.seed, 3, s.index as u64]);
        let h = hash(&[self.seed, 3, s.index as u64, s.revision as u64]);
        let first = FIRST_NAMES[(base % 8) as usize];
        let last = LAST_NAMES[((base >> 8) % 8) as usize];
        let email = if s.index % 4 == 1 {
            Value::Null
        } else {
            Value::String(format!("customer{}@example.com", s.index))
        };
        let created = epoch() + Duration::minutes(s.index as i64 * 3);
        json!({
            "id": record_id(self.seed, Entity::Customers, s.index),
            "customer_code": format!("C{:07}", s.index),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": format!("+64 9 {:03} {:04}", base % 1000, (base >> 16) % 10000),
            "mobile": null,
            "company_name": if s.index.is_multiple_of(10) { Value::String("Smith & \"Sons\" Ltd".into()) } else { Value::Null },
            "customer_group_id": opaque_id(&[self.seed, 30, base % 3]),
            "balance": self.money(-((h % 1_000_000) as i64)),
            "loyalty_balance": self.money((h % 500_000) as i64),
            "year_to_date": self.money((h % 90_000_000) as i64),
            "date_of_birth": if s.index.is_multiple_of(3) { Value::Null } else { Value::String(format!("19{:02}-{:02}-{:02}", 50 + base % 50, 1 + base % 12, 1 + base % 28)) },
            "created_at": timestamp(created),
            "updated_at": timestamp(self.changed_at(s).max(created)),
            "deleted_at": self.deleted_at(s),
            "version": s.version,
        })
    }

    fn inventory(&self, s: &RecordSnapshot) -> Value {
        let h = hash(&[self.seed, 4, s.index as u64, s.revision as u64]);
        let product = s.index / self.outlets;
        let outlet = s.index % self.outlets;
        json!({
            "id": record_id(self.seed, Entity::Inventory, s.index),
            "product_id": record_id(self.seed, Entity::Products, product),
            "outlet_id": record_id(self.seed, Entity::Outlets, outlet),
            "inventory_level": (h % 200) as i64 - 5,
            "current_amount": self.money((h % 2_000) as i64 * 100_000 - 500_000),
            "average_cost": self.money((h % 5_000_000) as i64),
            "reorder_point": 5,
            "reorder_amount": 20,
            "deleted_at": self.deleted_at(s),
            "version": s.version,
        })
    }

    fn sale(&self, s: &RecordSnapshot) -> Value {
        let seed = self.seed;
        let base = hash(&[seed, 5, s.index as u64]);
        let sale_date = epoch() + Duration::minutes(s.index as i64);
        let status = sale_status(seed, s);
        let voided = status == "VOIDED";
        let ids = line_item_ids(seed, s);
        let count = line_item_count(seed, s);
        let mut total = 0i64;
        let mut tax_total = 0i64;
        let line_items: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(position, id)| {
                let h = hash(&[seed, 51, s.index as u64, s.line_revision as u64, position as u64]);
                let is_return = h.is_multiple_of(17);
                // Quantities: whole, fractional (weighed goods) or negative (returns).
                let quantity_thousandths: i64 = match h % 4 {
                    0 => 1_500,
                    1 => 250,
                    _ => 1_000 * (1 + (h >> 8) as i64 % 3),
                } * if is_return { -1 } else { 1 };
                let price = 50_000 + ((h >> 16) % 9_000_000) as i64;
                let price_total = price * quantity_thousandths / 1_000;
                let tax = price * 15 / 100;
                let tax_line = tax * quantity_thousandths / 1_000;
                total += price_total;
                tax_total += tax_line;
                let product = if self.products == 0 { 0 } else { (h % self.products as u64) as u32 };
                json!({
                    "id": id,
                    "product_id": record_id(seed, Entity::Products, product),
                    "tax_id": opaque_id(&[seed, 52]),
                    "quantity": self.money(quantity_thousandths * 100),
                    "price": self.money(price),
                    "price_total": self.money(price_total),
                    "cost": self.money(price / 2),
                    "cost_total": self.money(price_total / 2),
                    "tax": self.money(tax),
                    "tax_total": self.money(tax_line),
                    "discount": self.money(0),
                    "discount_total": self.money(0),
                    "loyalty_value": self.money(0),
                    "status": if voided { "VOIDED" } else { "CONFIRMED" },
                    "sequence": position,
                    "is_return": is_return,
                    "note": if position == 0 && h.is_multiple_of(11) { Value::String("Gift — wrap it \"nicely\"".into()) } else { Value::Null },
                })
            })
            .collect();
        debug_assert_eq!(line_items.len() as u32, count);
        let customer = if self.customers == 0 || base.is_multiple_of(3) {
            Value::Null
        } else {
            Value::String(record_id(
                seed,
                Entity::Customers,
                (base % self.customers as u64) as u32,
            ))
        };
        json!({
            "id": record_id(seed, Entity::Sales, s.index),
            "outlet_id": record_id(seed, Entity::Outlets, s.index % self.outlets),
            "register_id": opaque_id(&[seed, 40, (s.index % self.registers) as u64]),
            "user_id": opaque_id(&[seed, 41, base % 4]),
            "customer_id": customer,
            "invoice_number": format!("INV-{}", s.index + 1),
            "receipt_number": (s.index + 1).to_string(),
            "status": status,
            "total_price": self.money(total),
            "total_tax": self.money(tax_total),
            "total_loyalty": self.money(0),
            "note": if base.is_multiple_of(13) { Value::String("<b>rush</b> & \"fragile\"".into()) } else { Value::String(String::new()) },
            "sale_date": timestamp(sale_date),
            "created_at": timestamp(sale_date),
            "updated_at": timestamp(self.changed_at(s).max(sale_date)),
            "deleted_at": null,
            "version": s.version,
            "line_items": line_items,
            "payments": [{
                "id": payment_id(seed, s),
                "retailer_payment_type_id": opaque_id(&[seed, 61]),
                "payment_type_id": "1",
                "name": "Cash",
                "amount": self.money(total + tax_total),
                "payment_date": timestamp(sale_date),
            }],
            "adjustments": [],
            "taxes": [{"id": opaque_id(&[seed, 52]), "amount": self.money(tax_total)}],
        })
    }
}
