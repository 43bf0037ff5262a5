ALTER TABLE lightspeed_sale_payments DROP COLUMN register_open_sequence_id;
ALTER TABLE lightspeed_sale_line_items DROP COLUMN tax_components, DROP COLUMN promotions;
ALTER TABLE lightspeed_sales DROP COLUMN return_ids, DROP COLUMN taxes;
ALTER TABLE lightspeed_customers DROP COLUMN customer_group_ids;
ALTER TABLE lightspeed_products
    DROP COLUMN product_category_id,
    DROP COLUMN family_id,
    DROP COLUMN has_variants,
    DROP COLUMN variant_count,
    DROP COLUMN variant_options,
    DROP COLUMN product_codes,
    DROP COLUMN product_category;
