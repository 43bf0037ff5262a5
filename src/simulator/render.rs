//! Renders a simulated record as the API's JSON, deterministically from its snapshot: realistic
//! values (unicode and quotes in names, HTML descriptions, null emails, five-decimal money,
//! fractional and negative quantities). Writes JSON text straight into the page buffer (building
//! `serde_json::Value` trees spent most of the simulator's time in malloc). Pure code.

use std::fmt::Write;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

use super::store::{
    hash, line_item_count, line_item_ids, opaque_id, payment_id, record_id, sale_status,
    write_opaque_id, RecordSnapshot,
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

/// Appends `text` as a JSON string.
fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One JSON object being written.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
    quirks: RenderQuirks,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String, quirks: RenderQuirks) -> Self {
        out.push('{');
        Obj {
            out,
            first: true,
            quirks,
        }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        write_json_string(out, value);
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    fn null(&mut self, key: &str) {
        self.key(key).push_str("null");
    }

    fn int(&mut self, key: &str, value: i64) {
        let out = self.key(key);
        let _ = write!(out, "{value}");
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    fn id(&mut self, key: &str, parts: &[u64]) {
        let out = self.key(key);
        out.push('"');
        write_opaque_id(out, parts);
        out.push('"');
    }

    /// A money amount with five decimals, exact (a number, or a string with the quirk).
    fn money(&mut self, key: &str, units_100000: i64) {
        let quoted = self.quirks.money_as_strings;
        let out = self.key(key);
        if quoted {
            out.push('"');
        }
        let sign = if units_100000 < 0 { "-" } else { "" };
        let magnitude = units_100000.unsigned_abs();
        let _ = write!(
            out,
            "{sign}{}.{:05}",
            magnitude / 100_000,
            magnitude % 100_000
        );
        if quoted {
            out.push('"');
        }
    }

    fn timestamp(&mut self, key: &str, at: DateTime<Utc>) {
        let out = self.key(key);
        let _ = write!(
            out,
            "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00\"",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// The store-wide facts a record's rendering needs.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext {
    pub seed: u64,
    pub outlets: u32,
    pub products: u32,
    pub customers: u32,
    pub registers: u32,
    pub quirks: RenderQuirks,
}

/// Appends the JSON text of one record to `out`.
pub fn render_record_into(out: &mut String, snapshot: &RecordSnapshot, context: &RenderContext) {
    let context = RenderContext {
        outlets: context.outlets.max(1),
        registers: context.registers.max(1),
        ..*context
    };
    match snapshot.entity {
        Entity::Outlets => outlet(out, snapshot, &context),
        Entity::Products => product(out, snapshot, &context),
        Entity::Customers => customer(out, snapshot, &context),
        Entity::Inventory => inventory(out, snapshot, &context),
        Entity::Sales => sale(out, snapshot, &context),
    }
}

/// The JSON text of one record.
#[cfg(test)]
fn render_record(snapshot: &RecordSnapshot, context: &RenderContext) -> String {
    let mut out = String::with_capacity(1024);
    render_record_into(&mut out, snapshot, context);
    out
}

fn changed_at(snapshot: &RecordSnapshot) -> DateTime<Utc> {
    epoch() + Duration::seconds(((snapshot.version - 3_000_000_000) / 2).max(0))
}

fn deleted_at(obj: &mut Obj, snapshot: &RecordSnapshot) {
    if snapshot.deleted {
        obj.timestamp("deleted_at", changed_at(snapshot));
    } else {
        obj.null("deleted_at");
    }
}

fn outlet(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let h = hash(&[c.seed, 1, s.index as u64, s.revision as u64]);
    let mut obj = Obj::open(out, c.quirks);
    obj.id(
        "id",
        &[c.seed, Entity::Outlets.tag() as u64, s.index as u64],
    );
    obj.str(
        "name",
        &format!(
            "Outlet {} \"{}\"",
            s.index + 1,
            ["Main St", "Café Quay", "Ōtautahi"][s.index as usize % 3]
        ),
    );
    obj.str("currency", "NZD");
    obj.str("currency_symbol", "$");
    obj.str("time_zone", "Pacific/Auckland");
    obj.str(
        "physical_address1",
        &format!("{} Queen Street", 1 + h % 300),
    );
    obj.null("physical_address2");
    obj.str("physical_suburb", "CBD");
    obj.str("physical_city", "Auckland");
    obj.str("physical_postcode", "1010");
    obj.null("physical_state");
    obj.str("physical_country_id", "NZ");
    let attributes = obj.key("attributes");
    let _ = write!(
        attributes,
        "[{{\"key\":\"revision\",\"value\":\"{}\"}}]",
        s.revision
    );
    deleted_at(&mut obj, s);
    obj.int("version", s.version);
    obj.close();
}

fn product(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let h = hash(&[c.seed, 2, s.index as u64, s.revision as u64]);
    let base = hash(&[c.seed, 2, s.index as u64]);
    let is_variant = !s.index.is_multiple_of(5);
    let price = 100_000 + (h % 50_000_000) as i64;
    let created = epoch() + Duration::minutes(s.index as i64);
    let word = PRODUCT_WORDS[(base % 8) as usize];
    let mut obj = Obj::open(out, c.quirks);
    obj.id(
        "id",
        &[c.seed, Entity::Products.tag() as u64, s.index as u64],
    );
    obj.str("name", word);
    obj.opt_str(
        "variant_name",
        is_variant
            .then(|| format!("Size {}", s.index % 5))
            .as_deref(),
    );
    obj.str("handle", &format!("product-{}", s.index - s.index % 5));
    obj.opt_str(
        "sku",
        (s.index % 7 != 3)
            .then(|| format!("SKU-{:06}", s.index))
            .as_deref(),
    );
    obj.bool("active", !s.deleted);
    obj.bool("is_active", !s.deleted);
    if is_variant {
        obj.id(
            "variant_parent_id",
            &[
                c.seed,
                Entity::Products.tag() as u64,
                (s.index - s.index % 5) as u64,
            ],
        );
    } else {
        obj.null("variant_parent_id");
    }
    obj.id("supplier_id", &[c.seed, 20, base % 4]);
    obj.id("brand_id", &[c.seed, 21, base % 6]);
    obj.id("product_type_id", &[c.seed, 22, base % 3]);
    obj.money("supply_price", price / 2);
    obj.money("price_including_tax", price + price * 15 / 100);
    obj.money("price_excluding_tax", price);
    obj.str(
        "description",
        &format!("<p>Our <strong>{word}</strong> &amp; more.</p>"),
    );
    obj.timestamp("created_at", created);
    obj.timestamp("updated_at", changed_at(s).max(created));
    deleted_at(&mut obj, s);
    obj.int("version", s.version);
    obj.close();
}

fn customer(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let base = hash(&[c.seed, 3, s.index as u64]);
    let h = hash(&[c.seed, 3, s.index as u64, s.revision as u64]);
    let created = epoch() + Duration::minutes(s.index as i64 * 3);
    let mut obj = Obj::open(out, c.quirks);
    obj.id(
        "id",
        &[c.seed, Entity::Customers.tag() as u64, s.index as u64],
    );
    obj.str("customer_code", &format!("C{:07}", s.index));
    obj.str("first_name", FIRST_NAMES[(base % 8) as usize]);
    obj.str("last_name", LAST_NAMES[((base >> 8) % 8) as usize]);
    obj.opt_str(
        "email",
        (s.index % 4 != 1)
            .then(|| format!("customer{}@example.com", s.index))
            .as_deref(),
    );
    obj.str(
        "phone",
        &format!("+64 9 {:03} {:04}", base % 1000, (base >> 16) % 10000),
    );
    obj.null("mobile");
    obj.opt_str(
        "company_name",
        s.index.is_multiple_of(10).then_some("Smith & \"Sons\" Ltd"),
    );
    obj.id("customer_group_id", &[c.seed, 30, base % 3]);
    obj.money("balance", -((h % 1_000_000) as i64));
    obj.money("loyalty_balance", (h % 500_000) as i64);
    obj.money("year_to_date", (h % 90_000_000) as i64);
    obj.opt_str(
        "date_of_birth",
        (!s.index.is_multiple_of(3))
            .then(|| {
                format!(
                    "19{:02}-{:02}-{:02}",
                    50 + base % 50,
                    1 + base % 12,
                    1 + base % 28
                )
            })
            .as_deref(),
    );
    obj.timestamp("created_at", created);
    obj.timestamp("updated_at", changed_at(s).max(created));
    deleted_at(&mut obj, s);
    obj.int("version", s.version);
    obj.close();
}

fn inventory(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let h = hash(&[c.seed, 4, s.index as u64, s.revision as u64]);
    let mut obj = Obj::open(out, c.quirks);
    obj.id(
        "id",
        &[c.seed, Entity::Inventory.tag() as u64, s.index as u64],
    );
    obj.id(
        "product_id",
        &[
            c.seed,
            Entity::Products.tag() as u64,
            (s.index / c.outlets) as u64,
        ],
    );
    obj.id(
        "outlet_id",
        &[
            c.seed,
            Entity::Outlets.tag() as u64,
            (s.index % c.outlets) as u64,
        ],
    );
    obj.int("inventory_level", (h % 200) as i64 - 5);
    obj.money("current_amount", (h % 2_000) as i64 * 100_000 - 500_000);
    obj.money("average_cost", (h % 5_000_000) as i64);
    obj.int("reorder_point", 5);
    obj.int("reorder_amount", 20);
    deleted_at(&mut obj, s);
    obj.int("version", s.version);
    obj.close();
}

fn sale(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let seed = c.seed;
    let base = hash(&[seed, 5, s.index as u64]);
    let sale_date = epoch() + Duration::minutes(s.index as i64);
    let status = sale_status(seed, s);
    let voided = status == "VOIDED";
    let ids = line_item_ids(seed, s);
    debug_assert_eq!(ids.len() as u32, line_item_count(seed, s));
    let sale_id = record_id(seed, Entity::Sales, s.index);

    // Line items first (into a side buffer): the sale's totals come from them.
    let mut items = String::with_capacity(ids.len() * 700);
    let mut total = 0i64;
    let mut tax_total = 0i64;
    items.push('[');
    for (position, id) in ids.iter().enumerate() {
        if position > 0 {
            items.push(',');
        }
        let h = hash(&[
            seed,
            51,
            s.index as u64,
            s.line_revision as u64,
            position as u64,
        ]);
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
        let product = if c.products == 0 {
            0
        } else {
            (h % c.products as u64) as u32
        };
        let mut item = Obj::open(&mut items, c.quirks);
        item.str("id", id);
        item.id(
            "product_id",
            &[seed, Entity::Products.tag() as u64, product as u64],
        );
        item.id("tax_id", &[seed, 52]);
        item.money("quantity", quantity_thousandths * 100);
        item.money("price", price);
        item.money("price_total", price_total);
        item.money("cost", price / 2);
        item.money("cost_total", price_total / 2);
        item.money("tax", tax);
        item.money("tax_total", tax_line);
        item.money("discount", 0);
        item.money("discount_total", 0);
        item.money("loyalty_value", 0);
        item.str("status", if voided { "VOIDED" } else { "CONFIRMED" });
        item.int("sequence", position as i64);
        item.bool("is_return", is_return);
        item.opt_str(
            "note",
            (position == 0 && h.is_multiple_of(11)).then_some("Gift — wrap it \"nicely\""),
        );
        item.close();
    }
    items.push(']');

    let mut obj = Obj::open(out, c.quirks);
    obj.str("id", &sale_id);
    obj.id(
        "outlet_id",
        &[
            seed,
            Entity::Outlets.tag() as u64,
            (s.index % c.outlets) as u64,
        ],
    );
    obj.id("register_id", &[seed, 40, (s.index % c.registers) as u64]);
    obj.id("user_id", &[seed, 41, base % 4]);
    if c.customers == 0 || base.is_multiple_of(3) {
        obj.null("customer_id");
    } else {
        obj.id(
            "customer_id",
            &[
                seed,
                Entity::Customers.tag() as u64,
                base % c.customers as u64,
            ],
        );
    }
    obj.str("invoice_number", &format!("INV-{}", s.index + 1));
    obj.str("receipt_number", &(s.index + 1).to_string());
    obj.str("status", status);
    obj.money("total_price", total);
    obj.money("total_tax", tax_total);
    obj.money("total_loyalty", 0);
    obj.str(
        "note",
        if base.is_multiple_of(13) {
            "<b>rush</b> & \"fragile\""
        } else {
            ""
        },
    );
    obj.timestamp("sale_date", sale_date);
    obj.timestamp("created_at", sale_date);
    obj.timestamp("updated_at", changed_at(s).max(sale_date));
    obj.null("deleted_at");
    obj.int("version", s.version);
    obj.key("line_items").push_str(&items);
    {
        let payments = obj.key("payments");
        payments.push('[');
        let mut payment = Obj::open(payments, c.quirks);
        payment.str("id", &payment_id(seed, s));
        payment.id("retailer_payment_type_id", &[seed, 61]);
        payment.str("payment_type_id", "1");
        payment.str("name", "Cash");
        payment.money("amount", total + tax_total);
        payment.timestamp("payment_date", sale_date);
        payment.close();
        payments.push(']');
    }
    obj.key("adjustments").push_str("[]");
    {
        let taxes = obj.key("taxes");
        taxes.push('[');
        let mut entry = Obj::open(taxes, c.quirks);
        entry.str("id", &opaque_id(&[seed, 52]));
        entry.money("amount", tax_total);
        entry.close();
        taxes.push(']');
    }
    obj.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::store::{Store, StoreShape};

    #[test]
    fn every_entity_renders_valid_json_with_its_id_and_version() {
        let store = Store::generate(StoreShape {
            seed: 3,
            outlets: 2,
            products: 12,
            customers: 12,
            sales: 12,
            registers: 1,
        });
        for quirks in [
            RenderQuirks::default(),
            RenderQuirks {
                money_as_strings: true,
            },
        ] {
            let context = RenderContext {
                seed: 3,
                outlets: 2,
                products: 12,
                customers: 12,
                registers: 1,
                quirks,
            };
            for entity in Entity::ALL {
                for snapshot in store.page(entity, 0, None, usize::MAX, true) {
                    let text = render_record(&snapshot, &context);
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .unwrap_or_else(|err| panic!("{entity}: {err}: {text}"));
                    assert_eq!(value["id"], record_id(3, entity, snapshot.index));
                    assert_eq!(value["version"], snapshot.version);
                    let record = crate::lightspeed::decode_record(entity, &text).unwrap();
                    assert_eq!(record.version, snapshot.version);
                }
            }
        }
    }

    #[test]
    fn money_keeps_five_decimals_as_numbers_or_strings() {
        let mut out = String::new();
        let mut obj = Obj::open(&mut out, RenderQuirks::default());
        obj.money("a", 1_234_567);
        obj.money("b", -5);
        obj.close();
        assert_eq!(out, r#"{"a":12.34567,"b":-0.00005}"#);
        let mut out = String::new();
        let mut obj = Obj::open(
            &mut out,
            RenderQuirks {
                money_as_strings: true,
            },
        );
        obj.money("a", 100_000);
        obj.close();
        assert_eq!(out, r#"{"a":"1.00000"}"#);
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }
}
