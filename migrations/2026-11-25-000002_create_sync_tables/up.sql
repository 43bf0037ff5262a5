-- sync_state: one row per entity, written in the same transaction as every applied batch, so
-- the cursor can never disagree with the data. sync_log: one row per entity per run.

CREATE TABLE sync_state (
    entity TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'idle'
        CHECK (status IN ('idle', 'running', 'ok', 'failed')),
    last_version BIGINT NOT NULL DEFAULT 0,
    last_success_at TIMESTAMPTZ NULL,
    last_error TEXT NULL,
    run_id TEXT NULL,
    run_mode TEXT NULL,
    run_started_at TIMESTAMPTZ NULL,
    run_pages BIGINT NOT NULL DEFAULT 0,
    run_records BIGINT NOT NULL DEFAULT 0,
    rows_in_table BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO sync_state (entity)
VALUES ('outlets'), ('products'), ('customers'), ('inventory'), ('sales');

CREATE TABLE sync_log (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('import', 'incremental', 'operator')),
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ NULL,
    duration_ms BIGINT NULL,
    pages BIGINT NOT NULL DEFAULT 0,
    records_fetched BIGINT NOT NULL DEFAULT 0,
    records_inserted BIGINT NOT NULL DEFAULT 0,
    records_updated BIGINT NOT NULL DEFAULT 0,
    records_deleted BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    retries BIGINT NOT NULL DEFAULT 0,
    rate_limited BIGINT NOT NULL DEFAULT 0,
    error TEXT NULL,
    UNIQUE (run_id, entity)
);
CREATE INDEX sync_log_entity_started_at_idx ON sync_log (entity, started_at DESC);
CREATE INDEX sync_log_started_at_idx ON sync_log (started_at DESC);
