DROP TABLE sync_log;
DROP TABLE sync_state;
