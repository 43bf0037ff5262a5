-- The Lightspeed entity tables. Every table keeps typed columns for the fields worth querying,
-- the record exactly as received (raw), the record's version (the guard for upserts) and a soft
-- delete marker. No foreign keys between entity tables: the API gives no ordering across them.

CREATE TABLE lightspeed_outlets (
    id TEXT PRIMARY KEY,
    name TEXT,
    currency TEXT,
    time_zone TEXT,
    physical_address1 TEXT,
    physical_address2 TEXT,
    physical_suburb TEXT,
    physical_city TEXT,
    physical_postcode TEXT,
    physical_state TEXT,
    physical_country_id TEXT,
    attributes JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE lightspeed_products (
    id TEXT PRIMARY KEY,
    name TEXT,
    variant_name TEXT,
    handle TEXT,
    sku TEXT,
    active BOOLEAN,
    is_active BOOLEAN,
    variant_parent_id TEXT,
    supplier_id TEXT,
    brand_id TEXT,
    product_type_id TEXT,
    supply_price NUMERIC,
    price_including_tax NUMERIC,
    price_excluding_tax NUMERIC,
    description TEXT,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lightspeed_products_variant_parent_id_idx ON lightspeed_products (variant_parent_id);

CREATE TABLE lightspeed_customers (
    id TEXT PRIMARY KEY,
    customer_code TEXT,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    mobile TEXT,
    company_name TEXT,
    customer_group_id TEXT,
    balance NUMERIC,
    loyalty_balance NUMERIC,
    year_to_date NUMERIC,
    date_of_birth DATE,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE lightspeed_inventory (
    id TEXT PRIMARY KEY,
    product_id TEXT,
    outlet_id TEXT,
    inventory_level NUMERIC,
    current_amount NUMERIC,
    average_cost NUMERIC,
    reorder_point NUMERIC,
    reorder_amount NUMERIC,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lightspeed_inventory_product_outlet_idx ON lightspeed_inventory (product_id, outlet_id);

CREATE TABLE lightspeed_sales (
    id TEXT PRIMARY KEY,
    outlet_id TEXT,
    register_id TEXT,
    user_id TEXT,
    customer_id TEXT,
    invoice_number TEXT,
    receipt_number TEXT,
    status TEXT,
    total_price NUMERIC,
    total_tax NUMERIC,
    total_loyalty NUMERIC,
    note TEXT,
    sale_date TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lightspeed_sales_sale_date_idx ON lightspeed_sales (sale_date);

-- Line items and payments arrive embedded in their sale; `version` is the sale's version that
-- carried them, and a sale's rows are replaced whenever the sale itself is written.
CREATE TABLE lightspeed_sale_line_items (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL,
    product_id TEXT,
    tax_id TEXT,
    quantity NUMERIC,
    price NUMERIC,
    price_total NUMERIC,
    cost NUMERIC,
    cost_total NUMERIC,
    tax NUMERIC,
    tax_total NUMERIC,
    discount NUMERIC,
    discount_total NUMERIC,
    loyalty_value NUMERIC,
    status TEXT,
    sequence BIGINT,
    is_return BOOLEAN,
    note TEXT,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lightspeed_sale_line_items_sale_id_idx ON lightspeed_sale_line_items (sale_id);

CREATE TABLE lightspeed_sale_payments (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL,
    retailer_payment_type_id TEXT,
    payment_type_id TEXT,
    name TEXT,
    amount NUMERIC,
    payment_date TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lightspeed_sale_payments_sale_id_idx ON lightspeed_sale_payments (sale_id);
