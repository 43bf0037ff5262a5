UPDATE sync_state SET status = 'failed' WHERE status = 'skipped';
UPDATE sync_log SET status = 'failed' WHERE status = 'skipped';
ALTER TABLE sync_state DROP CONSTRAINT sync_state_status_check;
ALTER TABLE sync_state ADD CONSTRAINT sync_state_status_check
    CHECK (status IN ('idle', 'running', 'ok', 'failed'));
ALTER TABLE sync_log DROP CONSTRAINT sync_log_status_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted'));
