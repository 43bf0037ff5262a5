DELETE FROM alert_log WHERE state = 'lagging';
ALTER TABLE alert_log DROP CONSTRAINT alert_log_state_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_state_check
    CHECK (state IN ('failed', 'red', 'recovered', 'resumed', 'differs'));
ALTER TABLE sync_state
    DROP COLUMN caught_up_at,
    DROP COLUMN newest_change_at,
    DROP COLUMN landed_at;
DELETE FROM sync_log WHERE mode = 'follow';
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled', 'reconcile', 'webhook'));
