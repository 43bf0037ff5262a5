-- API 2.0 field names and more typed columns (issue 12). Outlet addresses were read with the 0.9
-- spelling (`physical_address1`) and so were always NULL: rename the columns to the 2.0 spelling
-- and fill them from `raw`. Every column added here is filled from `raw` too, so nobody has to
-- import again. Filling is tolerant: a value that cannot be typed leaves the column NULL, as the
-- client does, and never fails the migration. Placeholder dates (year 0 or 1, negative years)
-- stored by earlier releases become NULL.

-- Session-local helpers (pg_temp): they vanish with the migration's connection.
CREATE FUNCTION pg_temp.ls_text(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'string' THEN value #>> '{}'
        WHEN 'number' THEN value #>> '{}'
        WHEN 'boolean' THEN value #>> '{}'
    END
$$;

CREATE FUNCTION pg_temp.ls_numeric(value jsonb) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text;
BEGIN
    IF value IS NULL OR jsonb_typeof(value) NOT IN ('number', 'string') THEN
        RETURN NULL;
    END IF;
    t := btrim(value #>> '{}');
    IF t !~ '^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$' THEN
        RETURN NULL;
    END IF;
    RETURN t::numeric;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION pg_temp.ls_bool(value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'boolean' THEN (value #>> '{}')::boolean
        WHEN 'number' THEN CASE value #>> '{}' WHEN '1' THEN true WHEN '0' THEN false END
        WHEN 'string' THEN CASE lower(btrim(value #>> '{}'))
            WHEN 'true' THEN true WHEN '1' THEN true
            WHEN 'false' THEN false WHEN '0' THEN false
        END
    END
$$;

-- A stored date or time before year 2 is a placeholder an earlier release typed.
CREATE FUNCTION pg_temp.ls_real(value timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value < '0002-01-01T00:00:00Z'::timestamptz THEN NULL ELSE value END
$$;

-- Outlets ---------------------------------------------------------------------------------------
ALTER TABLE lightspeed_outlets RENAME COLUMN physical_address1 TO physical_address_1;
ALTER TABLE lightspeed_outlets RENAME COLUMN physical_address2 TO physical_address_2;
ALTER TABLE lightspeed_outlets ADD COLUMN default_tax_id TEXT;
UPDATE lightspeed_outlets SET
    physical_address_1 = COALESCE(pg_temp.ls_text(raw -> 'physical_address_1'),
                                  pg_temp.ls_text(raw -> 'physical_address1')),
    physical_address_2 = COALESCE(pg_temp.ls_text(raw -> 'physical_address_2'),
                                  pg_temp.ls_text(raw -> 'physical_address2')),
    default_tax_id = pg_temp.ls_text(raw -> 'default_tax_id'),
    deleted_at = pg_temp.ls_real(deleted_at);

-- Products --------------------------------------------------------------------------------------
ALTER TABLE lightspeed_products
    ADD COLUMN source TEXT,
    ADD COLUMN has_inventory BOOLEAN,
    ADD COLUMN is_composite BOOLEAN,
    ADD COLUMN supplier_code TEXT;
UPDATE lightspeed_products SET
    source = pg_temp.ls_text(raw -> 'source'),
    has_inventory = pg_temp.ls_bool(raw -> 'has_inventory'),
    is_composite = pg_temp.ls_bool(raw -> 'is_composite'),
    supplier_code = pg_temp.ls_text(raw -> 'supplier_code'),
    created_at = pg_temp.ls_real(created_at),
    updated_at = pg_temp.ls_real(updated_at),
    deleted_at = pg_temp.ls_real(deleted_at);
CREATE INDEX lightspeed_products_source_idx ON lightspeed_products (source);

-- Customers -------------------------------------------------------------------------------------
ALTER TABLE lightspeed_customers
    ADD COLUMN gender TEXT,
    ADD COLUMN do_not_email BOOLEAN,
    ADD COLUMN enable_loyalty BOOLEAN,
    ADD COLUMN on_account_limit NUMERIC,
    ADD COLUMN physical_address_1 TEXT,
    ADD COLUMN physical_address_2 TEXT,
    ADD COLUMN physical_suburb TEXT,
    ADD COLUMN physical_city TEXT,
    ADD COLUMN physical_postcode TEXT,
    ADD COLUMN physical_state TEXT,
    ADD COLUMN physical_country_id TEXT,
    ADD COLUMN postal_address_1 TEXT,
    ADD COLUMN postal_address_2 TEXT,
    ADD COLUMN postal_suburb TEXT,
    ADD COLUMN postal_city TEXT,
    ADD COLUMN postal_postcode TEXT,
    ADD COLUMN postal_state TEXT,
    ADD COLUMN postal_country_id TEXT;
UPDATE lightspeed_customers SET
    gender = pg_temp.ls_text(raw -> 'gender'),
    do_not_email = pg_temp.ls_bool(raw -> 'do_not_email'),
    enable_loyalty = pg_temp.ls_bool(raw -> 'enable_loyalty'),
    on_account_limit = pg_temp.ls_numeric(raw -> 'on_account_limit'),
    physical_address_1 = COALESCE(pg_temp.ls_text(raw -> 'physical_address_1'),
                                  pg_temp.ls_text(raw -> 'physical_address1')),
    physical_address_2 = COALESCE(pg_temp.ls_text(raw -> 'physical_address_2'),
                                  pg_temp.ls_text(raw -> 'physical_address2')),
    physical_suburb = pg_temp.ls_text(raw -> 'physical_suburb'),
    physical_city = pg_temp.ls_text(raw -> 'physical_city'),
    physical_postcode = pg_temp.ls_text(raw -> 'physical_postcode'),
    physical_state = pg_temp.ls_text(raw -> 'physical_state'),
    physical_country_id = pg_temp.ls_text(raw -> 'physical_country_id'),
    postal_address_1 = COALESCE(pg_temp.ls_text(raw -> 'postal_address_1'),
                                pg_temp.ls_text(raw -> 'postal_address1')),
    postal_address_2 = COALESCE(pg_temp.ls_text(raw -> 'postal_address_2'),
                                pg_temp.ls_text(raw -> 'postal_address2')),
    postal_suburb = pg_temp.ls_text(raw -> 'postal_suburb'),
    postal_city = pg_temp.ls_text(raw -> 'postal_city'),
    postal_postcode = pg_temp.ls_text(raw -> 'postal_postcode'),
    postal_state = pg_temp.ls_text(raw -> 'postal_state'),
    postal_country_id = pg_temp.ls_text(raw -> 'postal_country_id'),
    date_of_birth = CASE WHEN date_of_birth < '0002-01-01'::date THEN NULL ELSE date_of_birth END,
    created_at = pg_temp.ls_real(created_at),
    updated_at = pg_temp.ls_real(updated_at),
    deleted_at = pg_temp.ls_real(deleted_at);
CREATE INDEX lightspeed_customers_customer_code_idx ON lightspeed_customers (customer_code);

-- Sales -----------------------------------------------------------------------------------------
ALTER TABLE lightspeed_sales
    ADD COLUMN total_price_incl NUMERIC,
    ADD COLUMN state TEXT,
    ADD COLUMN source TEXT,
    ADD COLUMN source_id TEXT,
    ADD COLUMN short_code TEXT,
    ADD COLUMN return_for TEXT;
UPDATE lightspeed_sales SET
    total_price_incl = pg_temp.ls_numeric(raw -> 'total_price_incl'),
    state = pg_temp.ls_text(raw -> 'state'),
    source = pg_temp.ls_text(raw -> 'source'),
    source_id = pg_temp.ls_text(raw -> 'source_id'),
    short_code = pg_temp.ls_text(raw -> 'short_code'),
    return_for = pg_temp.ls_text(raw -> 'return_for'),
    sale_date = pg_temp.ls_real(sale_date),
    created_at = pg_temp.ls_real(created_at),
    updated_at = pg_temp.ls_real(updated_at),
    deleted_at = pg_temp.ls_real(deleted_at);
CREATE INDEX lightspeed_sales_customer_id_idx ON lightspeed_sales (customer_id);

-- Line items (their own `raw` is the line item object) ------------------------------------------
ALTER TABLE lightspeed_sale_line_items
    ADD COLUMN salesperson_id TEXT,
    ADD COLUMN unit_price NUMERIC,
    ADD COLUMN total_price NUMERIC,
    ADD COLUMN unit_tax NUMERIC,
    ADD COLUMN total_tax NUMERIC,
    ADD COLUMN unit_cost NUMERIC,
    ADD COLUMN total_cost NUMERIC,
    ADD COLUMN unit_discount NUMERIC,
    ADD COLUMN total_discount NUMERIC;
UPDATE lightspeed_sale_line_items SET
    salesperson_id = pg_temp.ls_text(raw -> 'salesperson_id'),
    unit_price = pg_temp.ls_numeric(raw -> 'unit_price'),
    total_price = pg_temp.ls_numeric(raw -> 'total_price'),
    unit_tax = pg_temp.ls_numeric(raw -> 'unit_tax'),
    total_tax = pg_temp.ls_numeric(raw -> 'total_tax'),
    unit_cost = pg_temp.ls_numeric(raw -> 'unit_cost'),
    total_cost = pg_temp.ls_numeric(raw -> 'total_cost'),
    unit_discount = pg_temp.ls_numeric(raw -> 'unit_discount'),
    total_discount = pg_temp.ls_numeric(raw -> 'total_discount'),
    deleted_at = pg_temp.ls_real(deleted_at);
CREATE INDEX lightspeed_sale_line_items_product_id_idx ON lightspeed_sale_line_items (product_id);

-- Payments --------------------------------------------------------------------------------------
ALTER TABLE lightspeed_sale_payments
    ADD COLUMN register_id TEXT,
    ADD COLUMN outlet_id TEXT;
UPDATE lightspeed_sale_payments SET
    register_id = pg_temp.ls_text(raw -> 'register_id'),
    outlet_id = pg_temp.ls_text(raw -> 'outlet_id'),
    payment_date = pg_temp.ls_real(payment_date),
    deleted_at = pg_temp.ls_real(deleted_at);

DROP FUNCTION pg_temp.ls_real(timestamptz);
DROP FUNCTION pg_temp.ls_bool(jsonb);
DROP FUNCTION pg_temp.ls_numeric(jsonb);
DROP FUNCTION pg_temp.ls_text(jsonb);
