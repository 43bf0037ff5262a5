-- alert_log: every alert lightsync sent (or tried to send), so that a `sync` run and `serve`
-- never send the same change twice. Per entity the state changes (failed, red, recovered) form a
-- chain: each names the alert it follows (`follows`, 0 for the first), and only one alert may
-- follow another, so two processes seeing the same change race on the insert and one wins.
-- One-off events (a run interrupted and resumed) are deduplicated by `event_key` instead.
CREATE TABLE alert_log (
    id BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('failed', 'red', 'recovered', 'resumed')),
    follows BIGINT NULL,
    event_key TEXT NULL UNIQUE,
    run_id TEXT NULL,
    message JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ NULL,
    delivery_error TEXT NULL,
    UNIQUE (entity, follows)
);
CREATE INDEX alert_log_entity_id_idx ON alert_log (entity, id DESC);
ALTER TABLE alert_log ENABLE ROW LEVEL SECURITY;

-- Runs started by `serve --schedule` are logged with their own mode.
ALTER TABLE sync_log DROP CONSTRAINT sync_log_mode_check;
ALTER TABLE sync_log ADD CONSTRAINT sync_log_mode_check
    CHECK (mode IN ('import', 'incremental', 'operator', 'scheduled'));
