DELETE FROM alert_log WHERE state = 'differs';
ALTER TABLE alert_log DROP CONSTRAINT alert_log_state_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_state_check
    CHECK (state IN ('failed', 'red', 'recovered', 'resumed'));
DELETE FROM sync_log WHERE mode = 'reconcile';
ALTER TABLE sync_log DROP CONSTRAINT sync_log_status_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'skipped'));
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled'));
ALTER TABLE sync_log
    DROP COLUMN reconcile_missing,
    DROP COLUMN reconcile_stale,
    DROP COLUMN reconcile_extra;
