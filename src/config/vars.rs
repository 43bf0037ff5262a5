//! The name of every configuration variable, written once. The command line (`env = ...`), the
//! loaders and their error messages all use these constants.

pub const DATABASE_URL: &str = "DATABASE_URL";
pub const DB_SCHEMA: &str = "LIGHTSYNC_DB_SCHEMA";

pub const BASE_URL: &str = "LIGHTSPEED_BASE_URL";
pub const DOMAIN_PREFIX: &str = "LIGHTSPEED_DOMAIN_PREFIX";
pub const TOKEN: &str = "LIGHTSPEED_TOKEN";
pub const CLIENT_ID: &str = "LIGHTSPEED_CLIENT_ID";
pub const CLIENT_SECRET: &str = "LIGHTSPEED_CLIENT_SECRET";
pub const REFRESH_TOKEN: &str = "LIGHTSPEED_REFRESH_TOKEN";
pub const PAGE_SIZE: &str = "LIGHTSYNC_PAGE_SIZE";
pub const RATE_SHARE: &str = "LIGHTSYNC_RATE_SHARE";
pub const RATE_WINDOW_SECS: &str = "LIGHTSYNC_RATE_WINDOW_SECS";
pub const MAX_ATTEMPTS: &str = "LIGHTSYNC_MAX_ATTEMPTS";
pub const HTTP_TIMEOUT_SECS: &str = "LIGHTSYNC_HTTP_TIMEOUT_SECS";

pub const CHECKPOINT_DIR: &str = "LIGHTSYNC_CHECKPOINT_DIR";
pub const SPOOL_MAX_BYTES: &str = "LIGHTSYNC_SPOOL_MAX_BYTES";
pub const DB_PATIENCE_SECS: &str = "LIGHTSYNC_DB_PATIENCE_SECS";
pub const HEALTH_YELLOW_HOURS: &str = "LIGHTSYNC_HEALTH_YELLOW_HOURS";
pub const HEALTH_RED_HOURS: &str = "LIGHTSYNC_HEALTH_RED_HOURS";

pub const DASHBOARD_PASSWORD: &str = "LIGHTSYNC_DASHBOARD_PASSWORD";
pub const DASHBOARD_PASSWORD_HASH: &str = "LIGHTSYNC_DASHBOARD_PASSWORD_HASH";
pub const API_TOKEN: &str = "LIGHTSYNC_API_TOKEN";
pub const SECURE_COOKIES: &str = "LIGHTSYNC_SECURE_COOKIES";
pub const TRUSTED_PROXY: &str = "LIGHTSYNC_TRUSTED_PROXY";
pub const TRUSTED_PROXY_HEADER: &str = "LIGHTSYNC_TRUSTED_PROXY_HEADER";

pub const ALERT_WEBHOOK_URL: &str = "LIGHTSYNC_ALERT_WEBHOOK_URL";
pub const ALERT_TIMEOUT_SECS: &str = "LIGHTSYNC_ALERT_TIMEOUT_SECS";
pub const ALERT_CHECK_SECS: &str = "LIGHTSYNC_ALERT_CHECK_SECS";
pub const DASHBOARD_URL: &str = "LIGHTSYNC_DASHBOARD_URL";
pub const METRICS_PUBLIC: &str = "LIGHTSYNC_METRICS_PUBLIC";
pub const SCHEDULE: &str = "LIGHTSYNC_SCHEDULE";
pub const RECONCILE_SCHEDULE: &str = "LIGHTSYNC_RECONCILE_SCHEDULE";
pub const ENTITIES: &str = "LIGHTSYNC_ENTITIES";
pub const WEBHOOK_SECRET: &str = "LIGHTSYNC_WEBHOOK_SECRET";
pub const FOLLOW: &str = "LIGHTSYNC_FOLLOW";
pub const LAG_ALERT_SECS: &str = "LIGHTSYNC_LAG_ALERT_SECS";
/// The `crontab` program `cron install` runs (tests point it at a stand-in).
pub const CRONTAB: &str = "LIGHTSYNC_CRONTAB";

/// What a sync or import reads besides `DATABASE_URL`: the dashboard's "Sync now" passes
/// exactly these on to the sync it starts. Alerts are left to the dashboard's own watch, and
/// the dashboard's secrets never reach the child.
pub const READ_BY_SYNC: [&str; 15] = [
    DB_SCHEMA,
    BASE_URL,
    DOMAIN_PREFIX,
    TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    PAGE_SIZE,
    RATE_SHARE,
    RATE_WINDOW_SECS,
    MAX_ATTEMPTS,
    HTTP_TIMEOUT_SECS,
    CHECKPOINT_DIR,
    SPOOL_MAX_BYTES,
    DB_PATIENCE_SECS,
];
