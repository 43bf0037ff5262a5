-- An entity whose endpoint the token may not read (HTTP 403) is `skipped` with the reason,
-- not a failed run.
ALTER TABLE sync_state DROP CONSTRAINT sync_state_status_check;
ALTER TABLE sync_state ADD CONSTRAINT sync_state_status_check
    CHECK (status IN ('idle', 'running', 'ok', 'failed', 'skipped'));
ALTER TABLE sync_log DROP CONSTRAINT sync_log_status_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'skipped'));
