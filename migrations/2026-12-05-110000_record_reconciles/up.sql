-- What a reconcile found, on its sync_log rows (mode `reconcile`): records of the store missing
-- from PostgreSQL, rows older than the store's version, and live rows the store does not list.
ALTER TABLE sync_log
    ADD COLUMN reconcile_missing BIGINT,
    ADD COLUMN reconcile_stale BIGINT,
    ADD COLUMN reconcile_extra BIGINT;

ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled', 'reconcile'));
ALTER TABLE sync_log DROP CONSTRAINT sync_log_status_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'skipped', 'differs'));

-- A reconcile that finds differences sends an alert of its own.
ALTER TABLE alert_log DROP CONSTRAINT alert_log_state_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_state_check
    CHECK (state IN ('failed', 'red', 'recovered', 'resumed', 'differs'));
