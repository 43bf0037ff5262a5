-- Row-level security on, no policies: only the owner (lightsync) and roles with BYPASSRLS
-- read these tables. Supabase's anon and authenticated roles see nothing until granted.
ALTER TABLE lightspeed_outlets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_products ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_inventory ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_sales ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_sale_line_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE lightspeed_sale_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_log ENABLE ROW LEVEL SECURITY;
