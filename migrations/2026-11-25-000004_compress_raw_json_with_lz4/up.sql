-- Large `raw` documents (sales with their line items) are TOASTed; lz4 compresses them several
-- times faster than the default pglz, which makes bulk imports markedly faster. PostgreSQL 13
-- and servers built without lz4 keep the default: this migration then changes nothing.
DO $$
DECLARE
    target TEXT;
BEGIN
    IF current_setting('server_version_num')::INT < 140000 THEN
        RETURN;
    END IF;
    FOREACH target IN ARRAY ARRAY['lightspeed_outlets', 'lightspeed_products',
        'lightspeed_customers', 'lightspeed_inventory', 'lightspeed_sales',
        'lightspeed_sale_line_items', 'lightspeed_sale_payments']
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN raw SET COMPRESSION lz4', target);
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            RETURN;
        END;
    END LOOP;
END
$$;
