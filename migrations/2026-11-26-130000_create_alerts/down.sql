-- Scheduled runs are incremental runs; keep their history under that mode.
UPDATE sync_log SET mode = 'incremental' WHERE mode = 'scheduled';
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator'));
DROP TABLE alert_log;
