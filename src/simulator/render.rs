//! Renders a simulated record as the API's JSON, deterministically from its snapshot, in the
//! shapes real stores send: 2.0 field names, the WALKIN customer, the system Discount product,
//! unicode and quotes in names, HTML descriptions, null and missing optional fields, money with
//! up to ten decimals, fractional and negative quantities, and (at `--quirks SHARE`) odd values
//! in a share of records. Writes JSON text straight into the page buffer (building
//! `serde_json::Value` trees spent most of the simulator's time in malloc). Pure code.

mod consignment;
mod generic;
mod sale;
mod writer;

use std::fmt::Write;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::quirks::odd_value_for;
use super::store::{hash, RecordSnapshot, FIRST_VERSION};
use crate::entity::Entity;
use crate::simulator::ids::{record_parts, space};
use writer::Obj;

pub use consignment::products_page;

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

/// The customer every store has for sales rung up without choosing one.
pub const WALKIN_CUSTOMER_INDEX: u32 = 0;
/// The system product every store has for discounts given as a line.
pub const DISCOUNT_PRODUCT_INDEX: u32 = 0;

/// Rendering options that imitate documented oddities of the real API.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderQuirks {
    /// Send money and quantities as numeric strings instead of numbers.
    pub money_as_strings: bool,
    /// Share of records (0 to 1) that carry one odd-but-real field value.
    pub odd_values: f64,
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid date")
}

/// The store-wide facts a record's rendering needs.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext {
    pub seed: u64,
    pub outlets: u32,
    pub products: u32,
    pub customers: u32,
    pub registers: u32,
    pub sales: u32,
    /// Records declared without their own version carry one anyway (pages without the
    /// `version` member would otherwise leave them without any).
    pub always_version: bool,
    pub quirks: RenderQuirks,
}

impl RenderContext {
    fn open<'a>(&self, out: &'a mut String) -> Obj<'a> {
        Obj::open(out, self.quirks.money_as_strings)
    }

    /// The odd value of a record's own field (not a line item's), if it carries one.
    fn odd_field(&self, s: &RecordSnapshot) -> Option<(&'static str, &'static str)> {
        odd_value_for(self.seed, self.quirks.odd_values, s)
            .filter(|odd| !odd.field.contains("[]."))
            .map(|odd| (odd.field, odd.value))
    }
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
        Entity::Sales => sale::sale(out, snapshot, &context),
        _ => generic::record(out, snapshot, &context),
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
    epoch() + Duration::seconds(((snapshot.version - FIRST_VERSION) / 2).max(0))
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
    let mut obj = c.open(out).with_odd_value(c.odd_field(s));
    obj.record_id("id", c.seed, Entity::Outlets, s.index as u64);
    obj.str(
        "name",
        &format!(
            "Outlet {} \"{}\"",
            s.index + 1,
            ["Main St", "Café Quay", "Ōtautahi"][s.index as usize % 3]
        ),
    );
    obj.record_id("default_tax_id", c.seed, Entity::Taxes, 0);
    obj.str("currency", "NZD");
    obj.str("currency_symbol", "$");
    obj.str("display_prices", "inclusive");
    obj.str("time_zone", "Pacific/Auckland");
    obj.str(
        "physical_address_1",
        &format!("{} Queen Street", 1 + h % 300),
    );
    obj.str("physical_address_2", "");
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
    let is_discount = s.index == DISCOUNT_PRODUCT_INDEX;
    let is_variant = !s.index.is_multiple_of(5) && s.index >= 5;
    let price = 100_000 + (h % 50_000_000) as i64;
    let created = epoch() + Duration::minutes(s.index as i64);
    let word = if is_discount {
        "Discount"
    } else {
        PRODUCT_WORDS[(base % 8) as usize]
    };
    let handle = if is_discount {
        "vend-discount".to_string()
    } else {
        format!("product-{}", s.index - s.index % 5)
    };
    let mut obj = c.open(out).with_odd_value(c.odd_field(s));
    obj.record_id("id", c.seed, Entity::Products, s.index as u64);
    obj.str("name", word);
    obj.opt_str(
        "variant_name",
        is_variant
            .then(|| format!("Size {}", s.index % 5))
            .as_deref(),
    );
    obj.str("handle", &handle);
    obj.opt_str(
        "sku",
        (s.index % 7 != 3 && !is_discount)
            .then(|| format!("SKU-{:06}", s.index))
            .as_deref(),
    );
    obj.str("source", if is_discount { "SYSTEM" } else { "USER" });
    obj.bool("active", !s.deleted);
    obj.bool("is_active", !s.deleted);
    obj.bool("has_inventory", !is_discount);
    obj.bool("is_composite", false);
    let has_variants = !is_variant && !is_discount && s.index >= 5;
    obj.bool("has_variants", has_variants);
    obj.int("variant_count", if has_variants { 4 } else { 0 });
    // A family is the parent and its variants; a real variant carries `family_id` even where
    // `variant_parent_id` is null.
    obj.id(
        "family_id",
        &[c.seed, space::FAMILY, (s.index - s.index % 5) as u64],
    );
    {
        let options = obj.key("variant_options");
        if is_variant {
            options.push_str("[{\"id\":\"");
            super::store::write_opaque_id(
                options,
                &[c.seed, space::VARIANT_OPTION, (s.index % 5) as u64],
            );
            let _ = write!(
                options,
                "\",\"name\":\"Size\",\"value\":\"{}\"}}]",
                s.index % 5
            );
        } else {
            options.push_str("[]");
        }
    }
    {
        let category = obj.key("product_category");
        category.push_str("{\"id\":\"");
        super::store::write_opaque_id(
            category,
            &record_parts(c.seed, Entity::ProductCategories, base % 6),
        );
        let _ = write!(
            category,
            "\",\"name\":\"Category {}\",\"path\":[]}}",
            base % 6
        );
    }
    if is_variant {
        obj.record_id(
            "variant_parent_id",
            c.seed,
            Entity::Products,
            (s.index - s.index % 5) as u64,
        );
    } else {
        obj.null("variant_parent_id");
    }
    obj.record_id("supplier_id", c.seed, Entity::Suppliers, base % 4);
    obj.opt_str(
        "supplier_code",
        (!is_discount && !base.is_multiple_of(3))
            .then(|| format!("SUP-{}", base % 10_000))
            .as_deref(),
    );
    obj.record_id("brand_id", c.seed, Entity::Brands, base % 6);
    obj.record_id("product_type_id", c.seed, Entity::ProductTypes, base % 3);
    if is_discount {
        obj.money("supply_price", 0);
        obj.money("price_including_tax", 0);
        obj.money("price_excluding_tax", 0);
        obj.key("product_codes")
            .push_str(r#"[{"id":"","type":"CUSTOM","code":"vend-discount"}]"#);
    } else {
        obj.money("supply_price", price / 2);
        obj.money("price_including_tax", price + price * 15 / 100);
        obj.money("price_excluding_tax", price);
        let codes = obj.key("product_codes");
        codes.push_str("[{\"id\":\"");
        super::store::write_opaque_id(codes, &[c.seed, space::PRODUCT_CODE, s.index as u64]);
        let _ = write!(
            codes,
            "\",\"type\":\"CUSTOM\",\"code\":\"{}\"}}]",
            9_400_000 + s.index
        );
    }
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

/// One customer address, 2.0 spelling; the postal address is often left out entirely.
fn address(obj: &mut Obj, kind: &str, base: u64, present: bool) {
    if !present {
        for field in [
            "address_1",
            "address_2",
            "suburb",
            "city",
            "postcode",
            "state",
        ] {
            obj.null(&format!("{kind}_{field}"));
        }
        obj.null(&format!("{kind}_country_id"));
        return;
    }
    obj.str(
        &format!("{kind}_address_1"),
        &format!("{} Ponsonby Road", 1 + base % 400),
    );
    obj.opt_str(
        &format!("{kind}_address_2"),
        base.is_multiple_of(4).then_some("Flat 2"),
    );
    obj.str(&format!("{kind}_suburb"), "Ponsonby");
    obj.str(&format!("{kind}_city"), "Auckland");
    obj.str(&format!("{kind}_postcode"), "1011");
    obj.str(&format!("{kind}_state"), "Auckland");
    obj.str(&format!("{kind}_country_id"), "NZ");
}

fn customer(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let base = hash(&[c.seed, 3, s.index as u64]);
    let h = hash(&[c.seed, 3, s.index as u64, s.revision as u64]);
    let created = epoch() + Duration::minutes(s.index as i64 * 3);
    let walkin = s.index == WALKIN_CUSTOMER_INDEX;
    let mut obj = c.open(out).with_odd_value(c.odd_field(s));
    obj.record_id("id", c.seed, Entity::Customers, s.index as u64);
    if walkin {
        obj.str("customer_code", "WALKIN");
        obj.null("first_name");
        obj.null("last_name");
        obj.null("email");
    } else {
        obj.str("customer_code", &format!("C{:07}", s.index));
        obj.str("first_name", FIRST_NAMES[(base % 8) as usize]);
        obj.str("last_name", LAST_NAMES[((base >> 8) % 8) as usize]);
        obj.opt_str(
            "email",
            (s.index % 4 != 1)
                .then(|| format!("customer{}@example.com", s.index))
                .as_deref(),
        );
    }
    obj.str(
        "phone",
        &format!("+64 9 {:03} {:04}", base % 1000, (base >> 16) % 10000),
    );
    obj.null("mobile");
    obj.opt_str(
        "company_name",
        s.index.is_multiple_of(10).then_some("Smith & \"Sons\" Ltd"),
    );
    obj.record_id(
        "customer_group_id",
        c.seed,
        Entity::CustomerGroups,
        base % 3,
    );
    {
        let groups = obj.key("customer_group_ids");
        groups.push_str("[\"");
        super::store::write_opaque_id(
            groups,
            &record_parts(c.seed, Entity::CustomerGroups, base % 3),
        );
        groups.push_str("\"]");
    }
    obj.opt_str("gender", [Some("F"), Some("M"), None][(base % 3) as usize]);
    obj.bool("do_not_email", base.is_multiple_of(5));
    obj.bool("enable_loyalty", !walkin);
    obj.money("balance", -((h % 1_000_000) as i64));
    obj.money("loyalty_balance", (h % 500_000) as i64);
    obj.money("year_to_date", (h % 90_000_000) as i64);
    if base.is_multiple_of(6) {
        obj.money("on_account_limit", 100_000_000);
    } else {
        obj.null("on_account_limit");
    }
    obj.opt_str(
        "date_of_birth",
        (!s.index.is_multiple_of(3) && !walkin)
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
    address(&mut obj, "physical", base, !walkin);
    if !base.is_multiple_of(2) {
        address(&mut obj, "postal", base >> 3, !walkin);
    }
    obj.timestamp("created_at", created);
    obj.timestamp("updated_at", changed_at(s).max(created));
    deleted_at(&mut obj, s);
    obj.int("version", s.version);
    obj.close();
}

fn inventory(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let h = hash(&[c.seed, 4, s.index as u64, s.revision as u64]);
    let mut obj = c.open(out).with_odd_value(c.odd_field(s));
    obj.record_id("id", c.seed, Entity::Inventory, s.index as u64);
    obj.record_id(
        "product_id",
        c.seed,
        Entity::Products,
        (s.index / c.outlets) as u64,
    );
    obj.record_id(
        "outlet_id",
        c.seed,
        Entity::Outlets,
        (s.index % c.outlets) as u64,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{Cell, VersionSource};
    use crate::simulator::store::{record_id, Store, StoreShape};

    fn context(quirks: RenderQuirks) -> RenderContext {
        RenderContext {
            seed: 3,
            outlets: 2,
            products: 12,
            customers: 12,
            registers: 1,
            sales: 30,
            always_version: false,
            quirks,
        }
    }

    fn store() -> Store {
        Store::generate(StoreShape {
            seed: 3,
            outlets: 2,
            products: 12,
            customers: 12,
            sales: 40,
            registers: 1,
        })
    }

    #[test]
    fn every_entity_renders_valid_json_that_decodes_without_problems() {
        let store = store();
        for quirks in [
            RenderQuirks::default(),
            RenderQuirks {
                money_as_strings: true,
                odd_values: 0.0,
            },
        ] {
            for entity in Entity::ALL {
                for snapshot in store.page(entity, 0, None, usize::MAX, true) {
                    let text = render_record(&snapshot, &context(quirks));
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .unwrap_or_else(|err| panic!("{entity}: {err}: {text}"));
                    if entity.spec().has_id() {
                        assert_eq!(value["id"], record_id(3, entity, snapshot.index));
                    }
                    let own_version =
                        entity.spec().version == VersionSource::Own || entity == Entity::Suppliers;
                    assert_eq!(value["version"].is_null(), !own_version, "{entity}");
                    let record =
                        crate::lightspeed::decode_record(entity, &text, Some(snapshot.version))
                            .unwrap();
                    assert_eq!(record.version, snapshot.version);
                    assert!(
                        record.problems.is_empty(),
                        "{entity}: {:?}",
                        record.problems
                    );
                }
            }
        }
    }

    #[test]
    fn odd_values_are_exactly_the_untypable_problems() {
        let store = store();
        let quirks = RenderQuirks {
            money_as_strings: false,
            odd_values: 0.5,
        };
        let (mut odd, mut untypable) = (0, 0);
        for entity in Entity::ALL {
            for snapshot in store.page(entity, 0, None, usize::MAX, true) {
                let text = render_record(&snapshot, &context(quirks));
                let record =
                    crate::lightspeed::decode_record(entity, &text, Some(snapshot.version))
                        .unwrap();
                match odd_value_for(3, 0.5, &snapshot) {
                    Some(value) => {
                        odd += 1;
                        let fields: Vec<&str> =
                            record.problems.iter().map(|p| p.field.as_str()).collect();
                        if value.untypable {
                            untypable += 1;
                            assert_eq!(fields, vec![value.field], "{text}");
                        } else {
                            assert!(fields.is_empty(), "{text}");
                        }
                    }
                    None => assert!(record.problems.is_empty(), "{text}"),
                }
            }
        }
        assert!(odd > 20 && untypable > 5, "{odd} {untypable}");
    }

    #[test]
    fn the_walkin_customer_and_the_discount_product_look_as_in_real_stores() {
        let store = store();
        let walkin = store.page(Entity::Customers, 0, None, usize::MAX, true)[0];
        let text = render_record(&walkin, &context(RenderQuirks::default()));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["customer_code"], "WALKIN");
        assert!(value["first_name"].is_null() && value["last_name"].is_null());
        let discount = store.page(Entity::Products, 0, None, usize::MAX, true)[0];
        let record = crate::lightspeed::decode_record(
            Entity::Products,
            &render_record(&discount, &context(RenderQuirks::default())),
            None,
        )
        .unwrap();
        let columns = Entity::Products.spec().columns;
        let text = |name| record.cell(columns, name).and_then(Cell::as_text);
        assert_eq!(text("handle"), Some("vend-discount"));
        assert_eq!(text("source"), Some("SYSTEM"));
        assert_eq!(
            record.cell(columns, "has_inventory"),
            Some(&Cell::Bool(Some(false)))
        );
    }
}
