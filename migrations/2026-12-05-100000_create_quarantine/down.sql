ALTER TABLE sync_log DROP COLUMN records_quarantined;
DROP TABLE lightspeed_quarantine;
