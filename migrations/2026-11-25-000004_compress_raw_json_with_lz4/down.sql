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
        EXECUTE format('ALTER TABLE %I ALTER COLUMN raw SET COMPRESSION pglz', target);
    END LOOP;
END
$$;
