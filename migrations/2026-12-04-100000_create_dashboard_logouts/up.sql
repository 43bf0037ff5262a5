-- Dashboard sessions ended by a logout, kept until they would have expired anyway, so a saved
-- cookie stays refused after the dashboard restarts. Only a digest of the session id is kept.
CREATE TABLE lightsync_dashboard_logouts (
    session_digest TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE lightsync_dashboard_logouts ENABLE ROW LEVEL SECURITY;
