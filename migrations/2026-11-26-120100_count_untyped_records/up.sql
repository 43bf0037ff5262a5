-- Records whose fields could not all be typed (their columns left NULL, `raw` intact), per run
-- and entity. Written in the same transaction as each batch, like the other counters.
ALTER TABLE sync_log ADD COLUMN records_untyped BIGINT NOT NULL DEFAULT 0;
