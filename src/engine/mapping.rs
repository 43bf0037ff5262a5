//! The one place API records become database rows. Pure code: no I/O.

use crate::db::rows::{
    BatchRows, CustomerRow, InventoryRow, LineItemRow, OutletRow, PaymentRow, ProductRow, SaleRow,
};
use crate::lightspeed::{Record, RecordBody};

/// Maps a batch's records to the rows they write.
pub fn rows_for_records(records: Vec<Record>) -> BatchRows {
    let mut rows = BatchRows::default();
    for record in records {
        let Record {
            id,
            version,
            deleted_at,
            raw: raw_text,
            body,
            problems: _,
        } = record;
        let raw = raw_text;
        match body {
            RecordBody::Outlet(o) => rows.outlets.push(OutletRow {
                id,
                name: o.name,
                currency: o.currency,
                time_zone: o.time_zone,
                default_tax_id: o.default_tax_id,
                physical_address_1: o.physical_address_1,
                physical_address_2: o.physical_address_2,
                physical_suburb: o.physical_suburb,
                physical_city: o.physical_city,
                physical_postcode: o.physical_postcode,
                physical_state: o.physical_state,
                physical_country_id: o.physical_country_id,
                attributes: o.attributes.map(|value| value.to_string()),
                version,
                deleted_at,
                raw,
            }),
            RecordBody::Product(p) => rows.products.push(ProductRow {
                id,
                name: p.name,
                variant_name: p.variant_name,
                handle: p.handle,
                sku: p.sku,
                source: p.source,
                active: p.active,
                is_active: p.is_active,
                has_inventory: p.has_inventory,
                is_composite: p.is_composite,
                variant_parent_id: p.variant_parent_id,
                supplier_id: p.supplier_id,
                supplier_code: p.supplier_code,
                brand_id: p.brand_id,
                product_type_id: p.product_type_id,
                supply_price: p.supply_price,
                price_including_tax: p.price_including_tax,
                price_excluding_tax: p.price_excluding_tax,
                description: p.description,
                created_at: p.created_at,
                updated_at: p.updated_at,
                version,
                deleted_at,
                raw,
            }),
            RecordBody::Customer(c) => rows.customers.push(CustomerRow {
                id,
                customer_code: c.customer_code,
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
                phone: c.phone,
                mobile: c.mobile,
                company_name: c.company_name,
                customer_group_id: c.customer_group_id,
                gender: c.gender,
                do_not_email: c.do_not_email,
                enable_loyalty: c.enable_loyalty,
                balance: c.balance,
                loyalty_balance: c.loyalty_balance,
                year_to_date: c.year_to_date,
                on_account_limit: c.on_account_limit,
                date_of_birth: c.date_of_birth,
                physical_address_1: c.physical.address_1,
                physical_address_2: c.physical.address_2,
                physical_suburb: c.physical.suburb,
                physical_city: c.physical.city,
                physical_postcode: c.physical.postcode,
                physical_state: c.physical.state,
                physical_country_id: c.physical.country_id,
                postal_address_1: c.postal.address_1,
                postal_address_2: c.postal.address_2,
                postal_suburb: c.postal.suburb,
                postal_city: c.postal.city,
                postal_postcode: c.postal.postcode,
                postal_state: c.postal.state,
                postal_country_id: c.postal.country_id,
                created_at: c.created_at,
                updated_at: c.updated_at,
                version,
                deleted_at,
                raw,
            }),
            RecordBody::Inventory(i) => rows.inventory.push(InventoryRow {
                id,
                product_id: i.product_id,
                outlet_id: i.outlet_id,
                inventory_level: i.inventory_level,
                current_amount: i.current_amount,
                average_cost: i.average_cost,
                reorder_point: i.reorder_point,
                reorder_amount: i.reorder_amount,
                version,
                deleted_at,
                raw,
            }),
            RecordBody::Sale(s) => {
                for item in s.line_items {
                    rows.line_items.push(LineItemRow {
                        id: item.id,
                        sale_id: id.clone(),
                        product_id: item.product_id,
                        salesperson_id: item.salesperson_id,
                        tax_id: item.tax_id,
                        quantity: item.quantity,
                        price: item.price,
                        price_total: item.price_total,
                        unit_price: item.unit_price,
                        total_price: item.total_price,
                        cost: item.cost,
                        cost_total: item.cost_total,
                        unit_cost: item.unit_cost,
                        total_cost: item.total_cost,
                        tax: item.tax,
                        tax_total: item.tax_total,
                        unit_tax: item.unit_tax,
                        total_tax: item.total_tax,
                        discount: item.discount,
                        discount_total: item.discount_total,
                        unit_discount: item.unit_discount,
                        total_discount: item.total_discount,
                        loyalty_value: item.loyalty_value,
                        status: item.status,
                        sequence: item.sequence,
                        is_return: item.is_return,
                        note: item.note,
                        version,
                        deleted_at: item.deleted_at,
                        raw: item.raw,
                    });
                }
                for payment in s.payments {
                    rows.payments.push(PaymentRow {
                        id: payment.id,
                        sale_id: id.clone(),
                        register_id: payment.register_id,
                        outlet_id: payment.outlet_id,
                        retailer_payment_type_id: payment.retailer_payment_type_id,
                        payment_type_id: payment.payment_type_id,
                        name: payment.name,
                        amount: payment.amount,
                        payment_date: payment.payment_date,
                        version,
                        deleted_at: payment.deleted_at,
                        raw: payment.raw,
                    });
                }
                rows.sales.push(SaleRow {
                    id,
                    outlet_id: s.outlet_id,
                    register_id: s.register_id,
                    user_id: s.user_id,
                    customer_id: s.customer_id,
                    invoice_number: s.invoice_number,
                    receipt_number: s.receipt_number,
                    short_code: s.short_code,
                    source: s.source,
                    source_id: s.source_id,
                    status: s.status,
                    state: s.state,
                    return_for: s.return_for,
                    total_price: s.total_price,
                    total_price_incl: s.total_price_incl,
                    total_tax: s.total_tax,
                    total_loyalty: s.total_loyalty,
                    note: s.note,
                    sale_date: s.sale_date,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    version,
                    deleted_at,
                    raw,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::lightspeed::decode_record;

    #[test]
    fn a_sale_maps_to_its_row_and_children_with_the_sale_version() {
        let record = decode_record(
            Entity::Sales,
            r#"{"id":"s1","version":42,"status":"VOIDED","total_price":"1.50000",
               "line_items":[{"id":"l1","quantity":2},{"id":"l2"}],
               "payments":[{"id":"p1","amount":1.5}]}"#,
        )
        .unwrap();
        let rows = rows_for_records(vec![record]);
        assert_eq!(rows.sales.len(), 1);
        assert_eq!(rows.sales[0].status.as_deref(), Some("VOIDED"));
        assert_eq!(rows.line_items.len(), 2);
        assert!(rows
            .line_items
            .iter()
            .all(|l| l.sale_id == "s1" && l.version == 42));
        assert_eq!(rows.payments[0].sale_id, "s1");
        assert!(rows.sales[0].raw.contains(r#""id":"s1""#));
        assert_eq!(
            rows.sales[0].total_price.as_ref().unwrap().to_string(),
            "1.50000"
        );
    }

    #[test]
    fn deletes_keep_their_timestamp() {
        let record = decode_record(
            Entity::Customers,
            r#"{"id":"c1","version":7,"deleted_at":"2024-05-01T00:00:00Z","email":null}"#,
        )
        .unwrap();
        let rows = rows_for_records(vec![record]);
        assert!(rows.customers[0].deleted_at.is_some());
        assert_eq!(rows.customers[0].email, None);
    }
}
