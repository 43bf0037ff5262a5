-- The sixteen further versioned list endpoints (issue 13), one table each, shaped by their
-- declarations in src/entity/reference.rs: the key, typed columns for what an analyst joins and
-- filters on, the record's version (the upsert guard; for records without their own version,
-- the version.max of the page that carried them), a soft-delete marker, the record exactly as
-- received, and when it was written. Row-level security on, no policies, like the first tables.

CREATE TABLE lightspeed_users (
    id TEXT PRIMARY KEY,
    username TEXT,
    display_name TEXT,
    email TEXT,
    account_type TEXT,
    restricted_outlet_id TEXT,
    enabled BOOLEAN,
    is_primary_user BOOLEAN,
    enabled_mfa BOOLEAN,
    require_password_change BOOLEAN,
    target_daily NUMERIC,
    target_weekly NUMERIC,
    target_monthly NUMERIC,
    email_verified_at TIMESTAMPTZ,
    seen_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    restricted_outlet_ids JSONB,
    roles JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_users ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_users_restricted_outlet_id_idx ON lightspeed_users (restricted_outlet_id);

CREATE TABLE lightspeed_registers (
    id TEXT PRIMARY KEY,
    name TEXT,
    outlet_id TEXT,
    invoice_prefix TEXT,
    invoice_suffix TEXT,
    receipt_template_id TEXT,
    button_layout_id TEXT,
    register_open_sequence_id TEXT,
    cash_managed_payment_type_id TEXT,
    invoice_sequence NUMERIC,
    ask_for_note_on_save NUMERIC,
    is_open BOOLEAN,
    print_receipt BOOLEAN,
    email_receipt BOOLEAN,
    print_note_on_receipt BOOLEAN,
    ask_for_user_on_sale BOOLEAN,
    show_discounts_on_receipts BOOLEAN,
    register_open_time TIMESTAMPTZ,
    register_close_time TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_registers ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_registers_outlet_id_idx ON lightspeed_registers (outlet_id);
CREATE INDEX lightspeed_registers_cash_managed_payment_type_id_idx ON lightspeed_registers (cash_managed_payment_type_id);

CREATE TABLE lightspeed_taxes (
    id TEXT PRIMARY KEY,
    name TEXT,
    display_name TEXT,
    is_default BOOLEAN,
    rates JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_taxes ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_outlet_taxes (
    outlet_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    tax_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (outlet_id, product_id, tax_id)
);
ALTER TABLE lightspeed_outlet_taxes ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_payment_types (
    id TEXT PRIMARY KEY,
    name TEXT,
    type_id BIGINT,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_payment_types ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_payment_types_type_id_idx ON lightspeed_payment_types (type_id);

CREATE TABLE lightspeed_brands (
    id TEXT PRIMARY KEY,
    name TEXT,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_brands ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_suppliers (
    id TEXT PRIMARY KEY,
    name TEXT,
    description TEXT,
    default_markup NUMERIC,
    contact JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_suppliers ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_product_types (
    id TEXT PRIMARY KEY,
    name TEXT,
    leaf_category BOOLEAN,
    category_path JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_product_types ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_product_categories (
    id TEXT PRIMARY KEY,
    name TEXT,
    root_category_id TEXT,
    parent_category_id TEXT,
    leaf_category BOOLEAN,
    category_path JSONB,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_product_categories ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_product_categories_root_category_id_idx ON lightspeed_product_categories (root_category_id);
CREATE INDEX lightspeed_product_categories_parent_category_id_idx ON lightspeed_product_categories (parent_category_id);

CREATE TABLE lightspeed_tags (
    id TEXT PRIMARY KEY,
    name TEXT,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_tags ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_customer_groups (
    id TEXT PRIMARY KEY,
    name TEXT,
    group_id TEXT,
    retailer_id TEXT,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_customer_groups ENABLE ROW LEVEL SECURITY;

CREATE TABLE lightspeed_price_books (
    id TEXT PRIMARY KEY,
    name TEXT,
    customer_group_id TEXT,
    outlet_id TEXT,
    restrict_to_platform_key TEXT,
    restrict_to_platform_label TEXT,
    valid_from TIMESTAMPTZ,
    valid_to TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_price_books ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_price_books_customer_group_id_idx ON lightspeed_price_books (customer_group_id);
CREATE INDEX lightspeed_price_books_outlet_id_idx ON lightspeed_price_books (outlet_id);

CREATE TABLE lightspeed_price_book_products (
    id TEXT PRIMARY KEY,
    product_id TEXT,
    price_book_id TEXT,
    tax_id TEXT,
    rounding TEXT,
    adjustment_type TEXT,
    default_display_price NUMERIC,
    price NUMERIC,
    retail_tax NUMERIC,
    loyalty_value NUMERIC,
    adjustment NUMERIC,
    discount NUMERIC,
    min_units NUMERIC,
    max_units NUMERIC,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_price_book_products ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_price_book_products_product_id_idx ON lightspeed_price_book_products (product_id);
CREATE INDEX lightspeed_price_book_products_price_book_id_idx ON lightspeed_price_book_products (price_book_id);
CREATE INDEX lightspeed_price_book_products_tax_id_idx ON lightspeed_price_book_products (tax_id);

CREATE TABLE lightspeed_consignments (
    id TEXT PRIMARY KEY,
    outlet_id TEXT,
    name TEXT,
    type TEXT,
    status TEXT,
    supplier_id TEXT,
    source_outlet_id TEXT,
    supplier_invoice TEXT,
    reference TEXT,
    total_count_gain NUMERIC,
    total_cost_gain NUMERIC,
    total_count_loss NUMERIC,
    total_cost_loss NUMERIC,
    consignment_date TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    received_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_consignments ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_consignments_outlet_id_idx ON lightspeed_consignments (outlet_id);
CREATE INDEX lightspeed_consignments_supplier_id_idx ON lightspeed_consignments (supplier_id);
CREATE INDEX lightspeed_consignments_source_outlet_id_idx ON lightspeed_consignments (source_outlet_id);

CREATE TABLE lightspeed_serialnumbers (
    id TEXT PRIMARY KEY,
    code TEXT,
    product_id TEXT,
    outlet_id TEXT,
    sale_id TEXT,
    line_item_id TEXT,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_serialnumbers ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_serialnumbers_product_id_idx ON lightspeed_serialnumbers (product_id);
CREATE INDEX lightspeed_serialnumbers_outlet_id_idx ON lightspeed_serialnumbers (outlet_id);
CREATE INDEX lightspeed_serialnumbers_sale_id_idx ON lightspeed_serialnumbers (sale_id);

CREATE TABLE lightspeed_shifts (
    id TEXT PRIMARY KEY,
    retailer_id TEXT,
    user_id TEXT,
    updated_by TEXT,
    time_in TIMESTAMPTZ,
    time_out TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_shifts ENABLE ROW LEVEL SECURITY;
CREATE INDEX lightspeed_shifts_user_id_idx ON lightspeed_shifts (user_id);

-- lz4 for raw where the server has it (see 2026-11-25-000004).
DO $$
DECLARE
    target TEXT;
BEGIN
    IF current_setting('server_version_num')::INT < 140000 THEN
        RETURN;
    END IF;
    FOREACH target IN ARRAY ARRAY['lightspeed_users', 'lightspeed_registers', 'lightspeed_taxes', 'lightspeed_outlet_taxes', 'lightspeed_payment_types', 'lightspeed_brands', 'lightspeed_suppliers', 'lightspeed_product_types', 'lightspeed_product_categories', 'lightspeed_tags', 'lightspeed_customer_groups', 'lightspeed_price_books', 'lightspeed_price_book_products', 'lightspeed_consignments', 'lightspeed_serialnumbers', 'lightspeed_shifts']
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN raw SET COMPRESSION lz4', target);
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            RETURN;
        END;
    END LOOP;
END
$$;

INSERT INTO sync_state (entity)
VALUES ('users'), ('registers'), ('taxes'), ('outlet_taxes'), ('payment_types'), ('brands'), ('suppliers'), ('product_types'), ('product_categories'), ('tags'), ('customer_groups'), ('price_books'), ('price_book_products'), ('consignments'), ('serialnumbers'), ('shifts')
ON CONFLICT DO NOTHING;
