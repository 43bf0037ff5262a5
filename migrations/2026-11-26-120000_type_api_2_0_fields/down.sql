-- Back to the previous release's columns. The values of the dropped columns stay in `raw`;
-- placeholder dates that were nulled stay NULL (their text is in `raw`).
DROP INDEX IF EXISTS lightspeed_sale_line_items_product_id_idx;
DROP INDEX IF EXISTS lightspeed_sales_customer_id_idx;
DROP INDEX IF EXISTS lightspeed_customers_customer_code_idx;
DROP INDEX IF EXISTS lightspeed_products_source_idx;

ALTER TABLE lightspeed_sale_payments
    DROP COLUMN register_id,
    DROP COLUMN outlet_id;

ALTER TABLE lightspeed_sale_line_items
    DROP COLUMN salesperson_id,
    DROP COLUMN unit_price,
    DROP COLUMN total_price,
    DROP COLUMN unit_tax,
    DROP COLUMN total_tax,
    DROP COLUMN unit_cost,
    DROP COLUMN total_cost,
    DROP COLUMN unit_discount,
    DROP COLUMN total_discount;

ALTER TABLE lightspeed_sales
    DROP COLUMN total_price_incl,
    DROP COLUMN state,
    DROP COLUMN source,
    DROP COLUMN source_id,
    DROP COLUMN short_code,
    DROP COLUMN return_for;

ALTER TABLE lightspeed_customers
    DROP COLUMN gender,
    DROP COLUMN do_not_email,
    DROP COLUMN enable_loyalty,
    DROP COLUMN on_account_limit,
    DROP COLUMN physical_address_1,
    DROP COLUMN physical_address_2,
    DROP COLUMN physical_suburb,
    DROP COLUMN physical_city,
    DROP COLUMN physical_postcode,
    DROP COLUMN physical_state,
    DROP COLUMN physical_country_id,
    DROP COLUMN postal_address_1,
    DROP COLUMN postal_address_2,
    DROP COLUMN postal_suburb,
    DROP COLUMN postal_city,
    DROP COLUMN postal_postcode,
    DROP COLUMN postal_state,
    DROP COLUMN postal_country_id;

ALTER TABLE lightspeed_products
    DROP COLUMN source,
    DROP COLUMN has_inventory,
    DROP COLUMN is_composite,
    DROP COLUMN supplier_code;

ALTER TABLE lightspeed_outlets DROP COLUMN default_tax_id;
ALTER TABLE lightspeed_outlets RENAME COLUMN physical_address_1 TO physical_address1;
ALTER TABLE lightspeed_outlets RENAME COLUMN physical_address_2 TO physical_address2;
