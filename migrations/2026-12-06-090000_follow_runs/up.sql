-- `serve --follow` logs its polls with mode `follow`. Each entity's state records how fresh
-- the mirror is: `caught_up_at` is the start of the entity's last successful run (the mirror
-- holds everything the store had then), `newest_change_at` the store's `updated_at` of the
-- newest record written, and `landed_at` when the last batch that wrote rows committed.
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled', 'reconcile', 'webhook', 'follow'));

ALTER TABLE sync_state
    ADD COLUMN caught_up_at TIMESTAMPTZ,
    ADD COLUMN newest_change_at TIMESTAMPTZ,
    ADD COLUMN landed_at TIMESTAMPTZ;

UPDATE sync_state s SET caught_up_at = (
    SELECT max(l.started_at) FROM sync_log l
    WHERE l.entity = s.entity AND l.status = 'ok' AND l.mode <> 'operator'
);

-- A followed entity whose mirror falls behind its lag threshold alerts once, as `lagging`.
ALTER TABLE alert_log DROP CONSTRAINT alert_log_state_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_state_check
    CHECK (state IN ('failed', 'red', 'recovered', 'resumed', 'differs', 'lagging'));
