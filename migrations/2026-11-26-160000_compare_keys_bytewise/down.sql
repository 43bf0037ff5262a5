ALTER TABLE lightspeed_brands
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_consignment_products
    ALTER COLUMN consignment_id TYPE TEXT COLLATE "default",
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_consignments
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default",
    ALTER COLUMN source_outlet_id TYPE TEXT COLLATE "default",
    ALTER COLUMN supplier_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_customer_groups
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_customers
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_inventory
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_outlet_taxes
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default",
    ALTER COLUMN tax_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_outlets
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_payment_types
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_price_book_products
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN price_book_id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default",
    ALTER COLUMN tax_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_price_books
    ALTER COLUMN customer_group_id TYPE TEXT COLLATE "default",
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_product_categories
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN parent_category_id TYPE TEXT COLLATE "default",
    ALTER COLUMN root_category_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_product_types
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_products
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN variant_parent_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_registers
    ALTER COLUMN cash_managed_payment_type_id TYPE TEXT COLLATE "default",
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_sale_line_items
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default",
    ALTER COLUMN sale_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_sale_payments
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN sale_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_sales
    ALTER COLUMN customer_id TYPE TEXT COLLATE "default",
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_serialnumbers
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN outlet_id TYPE TEXT COLLATE "default",
    ALTER COLUMN product_id TYPE TEXT COLLATE "default",
    ALTER COLUMN sale_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_shifts
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN user_id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_suppliers
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_tags
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_taxes
    ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE lightspeed_users
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN restricted_outlet_id TYPE TEXT COLLATE "default";
