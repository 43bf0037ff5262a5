-- A consignment's lines (its products: what a purchase order orders, a transfer moves, a
-- stocktake counts). The API lists them at GET /consignments/{id}/products, without an id of
-- their own: a line is keyed by its consignment and its 1-based position in that list (version
-- order), `<consignment_id>:<n>`. They are fetched for every consignment that changed, spooled
-- with it, and replaced as a whole whenever the consignment's row is written; `version` is the
-- consignment's version that carried them (the line's own stays in `raw`).
CREATE TABLE lightspeed_consignment_products (
    id TEXT PRIMARY KEY,
    consignment_id TEXT NOT NULL,
    product_id TEXT,
    product_sku TEXT,
    status TEXT,
    count NUMERIC,
    received NUMERIC,
    cost NUMERIC,
    is_included BOOLEAN,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ NULL,
    raw JSONB NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE lightspeed_consignment_products ENABLE ROW LEVEL SECURITY;
-- lz4 for raw where the server has it (see 2026-11-25-000004).
DO $$
BEGIN
    IF current_setting('server_version_num')::INT >= 140000 THEN
        BEGIN
            ALTER TABLE lightspeed_consignment_products ALTER COLUMN raw SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            NULL;
        END;
    END IF;
END $$;
CREATE INDEX lightspeed_consignment_products_consignment_id_idx
    ON lightspeed_consignment_products (consignment_id);
CREATE INDEX lightspeed_consignment_products_product_id_idx
    ON lightspeed_consignment_products (product_id);

