-- Typed columns for the fields reports group by: a product's family, variants, barcodes and
-- category; a customer's groups; a sale's returns and taxes; a line's tax components and
-- promotions; a payment's register opening. Filled from `raw` for rows already stored, with the
-- same tolerance as the client: a value that cannot be typed leaves the column NULL.

CREATE OR REPLACE FUNCTION pg_temp.ls_text(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'string' THEN value #>> '{}'
        WHEN 'number' THEN value #>> '{}'
        WHEN 'boolean' THEN value #>> '{}'
    END
$$;

CREATE OR REPLACE FUNCTION pg_temp.ls_bool(value jsonb) RETURNS boolean
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

-- An integer, or an integral decimal such as 2.0; anything else is NULL.
CREATE OR REPLACE FUNCTION pg_temp.ls_int(value jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text;
BEGIN
    IF value IS NULL OR jsonb_typeof(value) NOT IN ('number', 'string') THEN
        RETURN NULL;
    END IF;
    t := btrim(value #>> '{}');
    IF t !~ '^[-+]?[0-9]+(\.0*)?$' THEN
        RETURN NULL;
    END IF;
    RETURN t::numeric::bigint;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- JSON as sent; a JSON null is no value.
CREATE OR REPLACE FUNCTION pg_temp.ls_json(value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'null' THEN NULL ELSE value END
$$;

ALTER TABLE lightspeed_products
    ADD COLUMN family_id TEXT COLLATE "C",
    ADD COLUMN has_variants BOOLEAN,
    ADD COLUMN variant_count BIGINT,
    ADD COLUMN variant_options JSONB,
    ADD COLUMN product_codes JSONB,
    ADD COLUMN product_category JSONB,
    ADD COLUMN product_category_id TEXT COLLATE "C"
        GENERATED ALWAYS AS (product_category ->> 'id') STORED;
UPDATE lightspeed_products SET
    family_id = pg_temp.ls_text(raw -> 'family_id'),
    has_variants = pg_temp.ls_bool(raw -> 'has_variants'),
    variant_count = pg_temp.ls_int(raw -> 'variant_count'),
    variant_options = pg_temp.ls_json(raw -> 'variant_options'),
    product_codes = pg_temp.ls_json(raw -> 'product_codes'),
    product_category = pg_temp.ls_json(raw -> 'product_category')
WHERE raw ?| ARRAY['family_id', 'has_variants', 'variant_count', 'variant_options',
                   'product_codes', 'product_category'];
CREATE INDEX lightspeed_products_family_id_idx ON lightspeed_products (family_id);
CREATE INDEX lightspeed_products_product_category_id_idx
    ON lightspeed_products (product_category_id);

ALTER TABLE lightspeed_customers ADD COLUMN customer_group_ids JSONB;
UPDATE lightspeed_customers SET customer_group_ids = pg_temp.ls_json(raw -> 'customer_group_ids')
WHERE raw ? 'customer_group_ids';

ALTER TABLE lightspeed_sales ADD COLUMN return_ids JSONB, ADD COLUMN taxes JSONB;
UPDATE lightspeed_sales SET
    return_ids = pg_temp.ls_json(raw -> 'return_ids'),
    taxes = pg_temp.ls_json(raw -> 'taxes')
WHERE raw ?| ARRAY['return_ids', 'taxes'];

ALTER TABLE lightspeed_sale_line_items ADD COLUMN tax_components JSONB, ADD COLUMN promotions JSONB;
UPDATE lightspeed_sale_line_items SET
    tax_components = pg_temp.ls_json(raw -> 'tax_components'),
    promotions = pg_temp.ls_json(raw -> 'promotions')
WHERE raw ?| ARRAY['tax_components', 'promotions'];

ALTER TABLE lightspeed_sale_payments ADD COLUMN register_open_sequence_id TEXT;
UPDATE lightspeed_sale_payments SET
    register_open_sequence_id = pg_temp.ls_text(raw -> 'register_open_sequence_id')
WHERE raw ? 'register_open_sequence_id';

DROP FUNCTION pg_temp.ls_json(jsonb);
DROP FUNCTION pg_temp.ls_int(jsonb);
DROP FUNCTION pg_temp.ls_bool(jsonb);
DROP FUNCTION pg_temp.ls_text(jsonb);
