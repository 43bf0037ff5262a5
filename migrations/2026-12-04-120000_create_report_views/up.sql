-- Report views: the answers analysts ask of a store (sales per day, per product, stock value,
-- customers, cash-up), with the retail semantics stated once in the README and held by every
-- view. Money is exact NUMERIC summed from line items, never a sale's rounded header.

-- The time zone reports read an outlet's local day in: the outlet's own when PostgreSQL knows
-- its name, UTC otherwise (an unknown name must not make every report query fail).
CREATE FUNCTION lightsync_report_time_zone(zone TEXT) RETURNS TEXT
    LANGUAGE sql STABLE
    AS $$
        SELECT CASE
            WHEN EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = zone) THEN zone
            ELSE 'UTC'
        END
    $$;

ALTER TABLE lightspeed_outlets ADD COLUMN report_time_zone TEXT;
UPDATE lightspeed_outlets SET report_time_zone = lightsync_report_time_zone(time_zone);

-- A sale's date in its outlet's time zone, kept beside it so a report over a range of days
-- reads only those days (an index), not every sale. NULL until the outlet is known.
ALTER TABLE lightspeed_sales ADD COLUMN local_date DATE;
UPDATE lightspeed_sales s
    SET local_date = (s.sale_date AT TIME ZONE o.report_time_zone)::date
    FROM lightspeed_outlets o
    WHERE o.id = s.outlet_id;
CREATE INDEX lightspeed_sales_local_date_idx ON lightspeed_sales (local_date);

CREATE FUNCTION lightsync_outlet_time_zone() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    BEGIN
        NEW.report_time_zone := lightsync_report_time_zone(NEW.time_zone);
        RETURN NEW;
    END
    $$;
CREATE TRIGGER lightsync_outlet_time_zone
    BEFORE INSERT OR UPDATE OF time_zone ON lightspeed_outlets
    FOR EACH ROW EXECUTE FUNCTION lightsync_outlet_time_zone();

-- An outlet that arrives after its sales (entities are copied concurrently), or whose time
-- zone changes, dates its sales again.
CREATE FUNCTION lightsync_outlet_dates_sales() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    BEGIN
        UPDATE lightspeed_sales
            SET local_date = (sale_date AT TIME ZONE NEW.report_time_zone)::date
            WHERE outlet_id = NEW.id
              AND local_date IS DISTINCT FROM (sale_date AT TIME ZONE NEW.report_time_zone)::date;
        RETURN NULL;
    END
    $$;
CREATE TRIGGER lightsync_outlet_dates_sales_on_insert
    AFTER INSERT ON lightspeed_outlets
    FOR EACH ROW EXECUTE FUNCTION lightsync_outlet_dates_sales();
CREATE TRIGGER lightsync_outlet_dates_sales_on_update
    AFTER UPDATE ON lightspeed_outlets
    FOR EACH ROW
    WHEN (OLD.report_time_zone IS DISTINCT FROM NEW.report_time_zone)
    EXECUTE FUNCTION lightsync_outlet_dates_sales();

CREATE FUNCTION lightsync_sale_local_date() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    BEGIN
        NEW.local_date := (
            SELECT (NEW.sale_date AT TIME ZONE o.report_time_zone)::date
            FROM lightspeed_outlets o
            WHERE o.id = NEW.outlet_id
        );
        RETURN NEW;
    END
    $$;
CREATE TRIGGER lightsync_sale_local_date
    BEFORE INSERT OR UPDATE OF sale_date, outlet_id ON lightspeed_sales
    FOR EACH ROW EXECUTE FUNCTION lightsync_sale_local_date();

-- Each sale's figures summed from its lines, kept current as lines are written: in the batch's
-- own transaction, for the sales the batch changed only, so a report over many sales reads one
-- row per sale instead of summing its lines again. The Discount product's lines count in
-- revenue and in `discount`, not in units.
CREATE TABLE lightsync_report_sale_totals (
    sale_id TEXT COLLATE "C" PRIMARY KEY,
    lines BIGINT NOT NULL,
    units NUMERIC,
    revenue_excl_tax NUMERIC,
    tax NUMERIC,
    discount NUMERIC,
    all_returns BOOLEAN
);
ALTER TABLE lightsync_report_sale_totals ENABLE ROW LEVEL SECURITY;

-- Recomputes the totals of the sales in `sale_ids` from their lines as they are now.
CREATE FUNCTION lightsync_total_sales(sale_ids TEXT[]) RETURNS void
    LANGUAGE sql
    SET search_path FROM CURRENT
    AS $$
        DELETE FROM lightsync_report_sale_totals t
            WHERE t.sale_id = ANY (sale_ids)
              AND NOT EXISTS (
                  SELECT 1 FROM lightspeed_sale_line_items li
                  WHERE li.sale_id = t.sale_id AND li.deleted_at IS NULL
              );
        INSERT INTO lightsync_report_sale_totals
            (sale_id, lines, units, revenue_excl_tax, tax, discount, all_returns)
        SELECT
            li.sale_id,
            count(*),
            sum(li.quantity) FILTER (WHERE p.handle IS DISTINCT FROM 'vend-discount'),
            sum(COALESCE(li.total_price, li.price_total)),
            sum(COALESCE(li.total_tax, li.tax_total)),
            sum(CASE
                    WHEN p.handle = 'vend-discount' THEN -COALESCE(li.total_price, li.price_total)
                    ELSE COALESCE(li.total_discount, li.discount_total, 0)
                END),
            bool_and(COALESCE(li.is_return, false))
                FILTER (WHERE p.handle IS DISTINCT FROM 'vend-discount')
        FROM lightspeed_sale_line_items li
        LEFT JOIN lightspeed_products p ON p.id = li.product_id
        WHERE li.sale_id = ANY (sale_ids) AND li.deleted_at IS NULL
        GROUP BY li.sale_id
        -- Rows are written in key order, so two transactions totalling overlapping sales take
        -- their locks in the same order.
        ORDER BY li.sale_id
        ON CONFLICT (sale_id) DO UPDATE SET
            lines = EXCLUDED.lines,
            units = EXCLUDED.units,
            revenue_excl_tax = EXCLUDED.revenue_excl_tax,
            tax = EXCLUDED.tax,
            discount = EXCLUDED.discount,
            all_returns = EXCLUDED.all_returns;
    $$;

-- Totals again the sales whose lines a statement wrote (each trigger names only the transition
-- tables its event has; PL/pgSQL reads a table only in the branch that runs).
CREATE FUNCTION lightsync_lines_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM lightsync_total_sales(ARRAY(SELECT DISTINCT sale_id FROM new_lines));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM lightsync_total_sales(ARRAY(SELECT DISTINCT sale_id FROM old_lines));
        ELSE
            PERFORM lightsync_total_sales(ARRAY(
                SELECT sale_id FROM new_lines UNION SELECT sale_id FROM old_lines
            ));
        END IF;
        RETURN NULL;
    END
    $$;
CREATE TRIGGER lightsync_lines_inserted
    AFTER INSERT ON lightspeed_sale_line_items
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION lightsync_lines_changed();
CREATE TRIGGER lightsync_lines_deleted
    AFTER DELETE ON lightspeed_sale_line_items
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION lightsync_lines_changed();
CREATE TRIGGER lightsync_lines_updated
    AFTER UPDATE ON lightspeed_sale_line_items
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION lightsync_lines_changed();

-- A product that becomes (or stops being) the Discount product after its lines landed
-- (entities are copied concurrently) totals those sales again.
CREATE FUNCTION lightsync_discount_product_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM lightsync_total_sales(ARRAY(
                SELECT DISTINCT li.sale_id FROM lightspeed_sale_line_items li
                JOIN new_products p ON p.id = li.product_id
                WHERE p.handle = 'vend-discount'
            ));
        ELSE
            PERFORM lightsync_total_sales(ARRAY(
                SELECT DISTINCT li.sale_id FROM lightspeed_sale_line_items li
                JOIN new_products n ON n.id = li.product_id
                JOIN old_products o ON o.id = n.id
                WHERE (n.handle = 'vend-discount') IS DISTINCT FROM (o.handle = 'vend-discount')
            ));
        END IF;
        RETURN NULL;
    END
    $$;
CREATE TRIGGER lightsync_discount_product_inserted
    AFTER INSERT ON lightspeed_products
    REFERENCING NEW TABLE AS new_products
    FOR EACH STATEMENT EXECUTE FUNCTION lightsync_discount_product_changed();
CREATE TRIGGER lightsync_discount_product_updated
    AFTER UPDATE ON lightspeed_products
    REFERENCING OLD TABLE AS old_products NEW TABLE AS new_products
    FOR EACH STATEMENT EXECUTE FUNCTION lightsync_discount_product_changed();

SELECT lightsync_total_sales(ARRAY(SELECT DISTINCT sale_id FROM lightspeed_sale_line_items));

-- One row per sale that is not voided (or deleted), with its figures summed from its lines.
CREATE VIEW lightspeed_report_sales AS
SELECT
    s.id AS sale_id,
    s.outlet_id,
    s.register_id,
    s.user_id,
    CASE WHEN c.customer_code = 'WALKIN' THEN NULL ELSE s.customer_id END AS customer_id,
    s.sale_date AS sale_at,
    s.local_date,
    s.status,
    s.status IN ('CLOSED', 'ONACCOUNT_CLOSED', 'LAYBY_CLOSED', 'DISPATCHED_CLOSED',
                 'PICKED_UP_CLOSED', 'SERVICE_CLOSED') AS is_completed,
    (s.return_for IS NOT NULL OR COALESCE(t.all_returns, false)) AS is_return,
    COALESCE(t.units, 0) AS units,
    COALESCE(t.lines, 0) AS lines,
    COALESCE(t.revenue_excl_tax, 0) AS revenue_excl_tax,
    COALESCE(t.tax, 0) AS tax,
    COALESCE(t.revenue_excl_tax, 0) + COALESCE(t.tax, 0) AS revenue_incl_tax,
    COALESCE(t.discount, 0) AS discount
FROM lightspeed_sales s
LEFT JOIN lightspeed_customers c ON c.id = s.customer_id
LEFT JOIN lightsync_report_sale_totals t ON t.sale_id = s.id
WHERE s.status IS DISTINCT FROM 'VOIDED' AND s.deleted_at IS NULL;

-- One row per outlet and local date, over completed sales.
CREATE VIEW lightspeed_report_daily_sales AS
SELECT
    r.outlet_id,
    o.name AS outlet_name,
    r.local_date,
    count(*) AS sales,
    count(*) FILTER (WHERE r.is_return) AS returns,
    sum(r.units) AS units,
    sum(r.revenue_excl_tax) AS revenue_excl_tax,
    sum(r.tax) AS tax,
    sum(r.revenue_incl_tax) AS revenue_incl_tax,
    sum(r.discount) AS discount,
    round(sum(r.revenue_incl_tax) / count(*), 2) AS average_sale_incl_tax
FROM lightspeed_report_sales r
LEFT JOIN lightspeed_outlets o ON o.id = r.outlet_id
WHERE r.is_completed
GROUP BY r.outlet_id, o.name, r.local_date;

-- One row per product, outlet and local date, over completed sales.
CREATE VIEW lightspeed_report_product_sales AS
SELECT
    li.product_id,
    s.outlet_id,
    s.local_date,
    sum(li.quantity) AS units,
    sum(COALESCE(li.total_price, li.price_total)) AS revenue_excl_tax,
    sum(COALESCE(li.total_price, li.price_total) + COALESCE(li.total_tax, li.tax_total))
        AS revenue_incl_tax,
    CASE
        WHEN count(COALESCE(li.total_cost, li.cost_total)) = count(*)
        THEN sum(COALESCE(li.total_cost, li.cost_total))
    END AS cost
FROM lightspeed_sale_line_items li
JOIN lightspeed_sales s ON s.id = li.sale_id
WHERE li.deleted_at IS NULL
  AND s.deleted_at IS NULL
  AND s.status IN ('CLOSED', 'ONACCOUNT_CLOSED', 'LAYBY_CLOSED', 'DISPATCHED_CLOSED',
                   'PICKED_UP_CLOSED', 'SERVICE_CLOSED')
GROUP BY li.product_id, s.outlet_id, s.local_date;

-- One row per product and outlet that exist now.
CREATE VIEW lightspeed_report_inventory AS
SELECT
    i.product_id,
    i.outlet_id,
    p.sku,
    p.name,
    COALESCE(i.inventory_level, i.current_amount) AS on_hand,
    i.reorder_point,
    COALESCE(COALESCE(i.inventory_level, i.current_amount) <= i.reorder_point, false)
        AS below_reorder,
    i.average_cost,
    COALESCE(i.inventory_level, i.current_amount) * i.average_cost AS stock_value
FROM lightspeed_inventory i
JOIN lightspeed_products p ON p.id = i.product_id
WHERE i.deleted_at IS NULL AND p.deleted_at IS NULL;

-- One row per customer other than WALKIN, over completed sales.
CREATE VIEW lightspeed_report_customers AS
SELECT
    c.id AS customer_id,
    NULLIF(concat_ws(' ', NULLIF(c.first_name, ''), NULLIF(c.last_name, '')), '') AS name,
    c.email,
    min(r.sale_at) AS first_sale_at,
    max(r.sale_at) AS last_sale_at,
    count(r.sale_id) AS sales,
    COALESCE(sum(r.revenue_incl_tax), 0) AS revenue_incl_tax
FROM lightspeed_customers c
LEFT JOIN lightspeed_report_sales r ON r.customer_id = c.id AND r.is_completed
WHERE c.deleted_at IS NULL AND c.customer_code IS DISTINCT FROM 'WALKIN'
GROUP BY c.id, c.first_name, c.last_name, c.email;

-- One row per outlet, local date of the payment and payment type: what a cash-up compares
-- against. Deleted payments (those of voided sales among them) are left out.
CREATE VIEW lightspeed_report_payments_daily AS
SELECT
    COALESCE(p.outlet_id, s.outlet_id) AS outlet_id,
    (COALESCE(p.payment_date, s.sale_date) AT TIME ZONE COALESCE(o.report_time_zone, 'UTC'))::date
        AS local_date,
    p.retailer_payment_type_id AS payment_type_id,
    COALESCE(pt.name, p.name) AS payment_type_name,
    count(*) AS payments,
    sum(p.amount) AS amount
FROM lightspeed_sale_payments p
JOIN lightspeed_sales s ON s.id = p.sale_id
LEFT JOIN lightspeed_outlets o ON o.id = COALESCE(p.outlet_id, s.outlet_id)
LEFT JOIN lightspeed_payment_types pt ON pt.id = p.retailer_payment_type_id
WHERE p.deleted_at IS NULL AND s.deleted_at IS NULL AND s.status IS DISTINCT FROM 'VOIDED'
GROUP BY 1, 2, 3, 4;

-- Row-level security applies to whoever queries a view, not to its owner (PostgreSQL 15+).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
        ALTER VIEW lightspeed_report_sales SET (security_invoker = true);
        ALTER VIEW lightspeed_report_daily_sales SET (security_invoker = true);
        ALTER VIEW lightspeed_report_product_sales SET (security_invoker = true);
        ALTER VIEW lightspeed_report_inventory SET (security_invoker = true);
        ALTER VIEW lightspeed_report_customers SET (security_invoker = true);
        ALTER VIEW lightspeed_report_payments_daily SET (security_invoker = true);
    END IF;
END
$$;
