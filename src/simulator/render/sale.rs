//! A sale as real stores send it: tax-exclusive line prices with up to ten decimals, the
//! sale's `total_price` rounded to cents beside the unrounded, tax-inclusive
//! `total_price_incl`, the WALKIN customer when none was chosen, the system Discount product as
//! a line, optional line fields missing on some records, and payments of voided sales marked
//! deleted.

use std::fmt::Write;

use chrono::Duration;

use super::writer::write_decimal;
use super::{changed_at, epoch, RenderContext, DISCOUNT_PRODUCT_INDEX, WALKIN_CUSTOMER_INDEX};
use crate::entity::Entity;
use crate::simulator::ids::space;
use crate::simulator::quirks::odd_value_for;
use crate::simulator::store::{
    hash, line_item_count, line_item_ids, opaque_id, payment_id, record_id, sale_status,
    RecordSnapshot,
};

/// Line amounts are kept in units of 10^-10: real stores send up to ten decimals.
const LINE_DECIMALS: u32 = 10;
/// One cent in line units.
const CENT: i64 = 100_000_000;

/// A line's amounts, in line units (tax-exclusive prices; quantity in thousandths).
struct LineAmounts {
    quantity_thousandths: i64,
    unit_price: i64,
    unit_tax: i64,
    total_price: i64,
    total_tax: i64,
}

fn line_amounts(h: u64, is_return: bool) -> LineAmounts {
    // Quantities: whole, fractional (weighed goods) or negative (returns).
    let quantity_thousandths: i64 = match h % 4 {
        0 => 1_500,
        1 => 250,
        _ => 1_000 * (1 + (h >> 8) as i64 % 3),
    } * if is_return { -1 } else { 1 };
    // Shelf prices are tax-inclusive whole cents; the API sends them tax-exclusive.
    let price_incl = (50 + ((h >> 16) % 90_000) as i64) * CENT;
    let unit_price = price_incl * 100 / 115;
    let unit_tax = price_incl - unit_price;
    LineAmounts {
        quantity_thousandths,
        unit_price,
        unit_tax,
        total_price: unit_price * quantity_thousandths / 1_000,
        total_tax: unit_tax * quantity_thousandths / 1_000,
    }
}

/// `units` (line units) rounded half away from zero to whole cents.
fn round_to_cents(units: i64) -> i64 {
    let cents = (units.abs() + CENT / 2) / CENT;
    if units < 0 {
        -cents
    } else {
        cents
    }
}

fn write_line_money(out: &mut String, units: i64) {
    write_decimal(out, units, LINE_DECIMALS);
}

pub(super) fn sale(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let seed = c.seed;
    let base = hash(&[seed, 5, s.index as u64]);
    let sale_date = epoch() + Duration::minutes(s.index as i64);
    let status = sale_status(seed, s);
    let voided = status == "VOIDED";
    let ids = line_item_ids(seed, s);
    debug_assert_eq!(ids.len() as u32, line_item_count(seed, s));
    let sale_id = record_id(seed, Entity::Sales, s.index);
    let odd = odd_value_for(seed, c.quirks.odd_values, s);
    let line_odd = odd.and_then(|odd| {
        odd.field
            .strip_prefix("line_items[].")
            .map(|f| (f, odd.value))
    });
    let has_discount_line = ids.len() >= 2
        && hash(&[seed, 53, s.index as u64, s.line_revision as u64]).is_multiple_of(4);

    // Line items first (into a side buffer): the sale's totals come from them.
    let mut items = String::with_capacity(ids.len() * 900);
    let (mut total_price, mut total_tax) = (0i64, 0i64);
    let mut any_return = false;
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
        let is_discount = has_discount_line && position == ids.len() - 1;
        let is_return = !is_discount && h.is_multiple_of(17);
        any_return |= is_return;
        let amounts = if is_discount {
            // A tenth off everything before it, as a line of the system Discount product.
            let unit_price = -total_price / 10;
            let unit_tax = -total_tax / 10;
            LineAmounts {
                quantity_thousandths: 1_000,
                unit_price,
                unit_tax,
                total_price: unit_price,
                total_tax: unit_tax,
            }
        } else {
            line_amounts(h, is_return)
        };
        total_price += amounts.total_price;
        total_tax += amounts.total_tax;
        let product = if is_discount || c.products == 0 {
            DISCOUNT_PRODUCT_INDEX
        } else {
            (h % c.products as u64) as u32
        };
        let mut item = c
            .open(&mut items)
            .with_odd_value(line_odd.filter(|_| position == 0));
        item.str("id", id);
        item.record_id("product_id", seed, Entity::Products, product as u64);
        item.record_id("salesperson_id", seed, Entity::Users, (base >> 4) % 4);
        item.record_id("tax_id", seed, Entity::Taxes, 0);
        item.decimal("quantity", amounts.quantity_thousandths, 3);
        item.decimal("price", amounts.unit_price, LINE_DECIMALS);
        item.decimal("unit_price", amounts.unit_price, LINE_DECIMALS);
        item.decimal("price_total", amounts.total_price, LINE_DECIMALS);
        item.decimal("total_price", amounts.total_price, LINE_DECIMALS);
        // Some stores leave cost and loyalty out of their line items entirely.
        if !h.is_multiple_of(4) {
            item.decimal("cost", amounts.unit_price / 2, LINE_DECIMALS);
            item.decimal("cost_total", amounts.total_price / 2, LINE_DECIMALS);
            item.decimal("loyalty_value", 0, 0);
        }
        item.decimal("tax", amounts.unit_tax, LINE_DECIMALS);
        item.decimal("unit_tax", amounts.unit_tax, LINE_DECIMALS);
        item.decimal("tax_total", amounts.total_tax, LINE_DECIMALS);
        item.decimal("total_tax", amounts.total_tax, LINE_DECIMALS);
        item.decimal("discount", 0, 0);
        item.decimal("discount_total", 0, 0);
        item.str("status", if voided { "VOIDED" } else { "CONFIRMED" });
        item.int("sequence", position as i64);
        item.bool("is_return", is_return);
        item.bool("price_set", is_discount);
        item.opt_str(
            "note",
            (position == 0 && h.is_multiple_of(11)).then_some("Gift — wrap it \"nicely\""),
        );
        let components = item.key("tax_components");
        components.push_str("[{\"rate_id\":\"");
        crate::simulator::store::write_opaque_id(components, &[seed, space::TAX_RATE]);
        components.push_str("\",\"total_tax\":");
        write_line_money(components, amounts.total_tax);
        components.push_str("}]");
        item.key("promotions").push_str("[]");
        item.close();
    }
    items.push(']');
    let total_price_incl = total_price + total_tax;

    let mut obj = c.open(out).with_odd_value(
        odd.filter(|_| line_odd.is_none())
            .map(|o| (o.field, o.value)),
    );
    obj.str("id", &sale_id);
    obj.record_id(
        "outlet_id",
        seed,
        Entity::Outlets,
        (s.index % c.outlets) as u64,
    );
    obj.record_id(
        "register_id",
        seed,
        Entity::Registers,
        (s.index % c.registers) as u64,
    );
    obj.record_id("user_id", seed, Entity::Users, base % 4);
    let customer = match c.customers {
        0 => None,
        // Sales rung up without choosing a customer carry the WALKIN customer; a few old
        // ones carry none at all.
        _ if base.is_multiple_of(50) => None,
        _ if base.is_multiple_of(3) || c.customers == 1 => Some(WALKIN_CUSTOMER_INDEX),
        customers => Some(1 + (base % (customers as u64 - 1)) as u32),
    };
    match customer {
        Some(index) => obj.record_id("customer_id", seed, Entity::Customers, index as u64),
        None => obj.null("customer_id"),
    }
    obj.str("invoice_number", &format!("INV-{}", s.index + 1));
    obj.str("receipt_number", &(s.index + 1).to_string());
    obj.str("source", "USER");
    obj.null("source_id");
    obj.str("status", status);
    obj.str(
        "state",
        match status {
            "VOIDED" => "voided",
            "SAVED" => "saved",
            _ => "closed",
        },
    );
    let short_code: String = (0..6)
        .map(|i| (b'a' + (hash(&[seed, 55, s.index as u64, i]) % 26) as u8) as char)
        .collect();
    obj.str("short_code", &short_code);
    if any_return && s.index > 0 {
        obj.str("return_for", &record_id(seed, Entity::Sales, s.index - 1));
    } else {
        obj.null("return_for");
    }
    obj.decimal("total_price", round_to_cents(total_price), 2);
    obj.decimal("total_price_incl", total_price_incl, LINE_DECIMALS);
    obj.decimal("total_tax", round_to_cents(total_tax), 2);
    obj.decimal("total_loyalty", 0, 0);
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
        let mut payment = c.open(payments);
        payment.str("id", &payment_id(seed, s));
        payment.record_id(
            "register_id",
            seed,
            Entity::Registers,
            (s.index % c.registers) as u64,
        );
        payment.record_id(
            "outlet_id",
            seed,
            Entity::Outlets,
            (s.index % c.outlets) as u64,
        );
        payment.record_id("retailer_payment_type_id", seed, Entity::PaymentTypes, 0);
        payment.str("payment_type_id", "1");
        payment.str("name", "Cash");
        payment.decimal("amount", round_to_cents(total_price_incl), 2);
        payment.timestamp("payment_date", sale_date);
        payment.id(
            "register_open_sequence_id",
            &[
                seed,
                space::REGISTER_SEQUENCE,
                (s.index % c.registers) as u64,
            ],
        );
        // Voiding a sale deletes its payments.
        if voided {
            payment.timestamp("deleted_at", changed_at(s).max(sale_date));
        } else {
            payment.null("deleted_at");
        }
        payment.close();
        payments.push(']');
    }
    obj.key("adjustments").push_str("[]");
    obj.key("return_ids").push_str("[]");
    {
        let taxes = obj.key("taxes");
        taxes.push_str("[{\"id\":\"");
        taxes.push_str(&opaque_id(&[seed, space::TAX_RATE]));
        taxes.push_str("\",\"amount\":");
        write_line_money(taxes, total_tax);
        let _ = write!(taxes, "}}]");
    }
    obj.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tax_exclusive_and_the_sale_total_is_rounded() {
        // h = 2: one unit of a tax-inclusive whole-cent price; a return is the same, negated.
        let amounts = line_amounts(2, false);
        assert_eq!(amounts.quantity_thousandths, 1_000);
        assert_eq!((amounts.unit_price + amounts.unit_tax) % CENT, 0);
        assert_eq!(amounts.total_price, amounts.unit_price);
        let returned = line_amounts(2, true);
        assert_eq!(returned.quantity_thousandths, -1_000);
        assert_eq!(returned.total_tax, -amounts.total_tax);
        assert_eq!(round_to_cents(2_066_115_702), 21);
        assert_eq!(round_to_cents(-2_066_115_702), -21);
        assert_eq!(round_to_cents(2_049_999_999), 20);
    }
}
