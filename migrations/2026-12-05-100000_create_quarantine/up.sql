-- Records without a usable identity (an empty or non-scalar id, a missing or fractional
-- version) are kept here exactly as received instead of failing their page on every run. A
-- replayed batch quarantines nothing twice.
CREATE TABLE lightspeed_quarantine (
    id BIGSERIAL PRIMARY KEY,
    entity TEXT COLLATE "C" NOT NULL,
    -- The version bounds of the batch that carried the record (`after` exclusive).
    after_version BIGINT NOT NULL,
    max_version BIGINT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    run_id TEXT NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX lightspeed_quarantine_once
    ON lightspeed_quarantine (entity, after_version, max_version, md5(raw));
ALTER TABLE lightspeed_quarantine ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync_log ADD COLUMN records_quarantined BIGINT NOT NULL DEFAULT 0;
