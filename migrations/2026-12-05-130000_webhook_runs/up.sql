-- Runs started by a Lightspeed webhook (`serve` with LIGHTSYNC_WEBHOOK_SECRET) are logged with
-- mode `webhook`.
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled', 'reconcile', 'webhook'));
