//! The name of every configuration variable, written once. The command line (`env = ...`), the
//! loaders and their error messages all use these constants.

pub const DATABASE_URL: &str = "DATABASE_URL";
pub const DB_SCHEMA: &str = "LIGHTSYNC_DB_SCHEMA";

pub const BASE_URL: &str = "LIGHTSPEED_BASE_URL";
pub const DOMAIN_PREFIX: &str = "LIGHTSPEED_DOMAIN_PREFIX";
pub const TOKEN: &str = "LIGHTSPEED_TOKEN";
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
