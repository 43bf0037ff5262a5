//! Local run settings: the checkpoint store's place, the spool bound, how long a PostgreSQL
//! outage is waited out, and the health thresholds.

use std::path::PathBuf;
use std::time::Duration;

use super::flags::Inputs;
use super::parse::number_or;
use super::{vars, ConfigError};
use crate::health::{HealthThresholds, DEFAULT_RED_HOURS, DEFAULT_YELLOW_HOURS};

/// The memory budget of all batches in flight (fetched, not yet applied), charged at 12 bytes
/// per byte of their raw JSON; fetching pauses when it is spent.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// How long the writer waits out a PostgreSQL outage before the run fails.
pub const DEFAULT_DB_PATIENCE_SECS: u64 = 600;
/// Where the checkpoint store lives unless configured.
pub const DEFAULT_CHECKPOINT_DIR: &str = ".lightsync";

/// Everything about how a run is carried out locally.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub checkpoint_dir: PathBuf,
    pub spool_max_bytes: u64,
    pub db_patience: Duration,
}

pub(super) fn load_engine(inputs: &Inputs) -> Result<EngineConfig, ConfigError> {
    let spool_max_bytes = number_or(
        inputs.variable(vars::SPOOL_MAX_BYTES),
        DEFAULT_SPOOL_MAX_BYTES,
        1024 * 1024..=u64::MAX,
    )?;
    let db_patience_secs = number_or(
        inputs.variable(vars::DB_PATIENCE_SECS),
        DEFAULT_DB_PATIENCE_SECS,
        1..=86_400,
    )?;
    let checkpoint_dir = inputs
        .flagged(
            inputs
                .flags
                .checkpoint_dir
                .as_ref()
                .and_then(|dir| dir.to_str()),
            "--checkpoint-dir",
            vars::CHECKPOINT_DIR,
        )
        .map_or_else(
            || PathBuf::from(DEFAULT_CHECKPOINT_DIR),
            |setting| PathBuf::from(setting.value),
        );
    Ok(EngineConfig {
        checkpoint_dir,
        spool_max_bytes,
        db_patience: Duration::from_secs(db_patience_secs),
    })
}

pub(super) fn load_health(inputs: &Inputs) -> Result<HealthThresholds, ConfigError> {
    let yellow_hours = inputs
        .variable(vars::HEALTH_YELLOW_HOURS)
        .map_or(Ok(DEFAULT_YELLOW_HOURS), |s| s.hours())?;
    let red = inputs.variable(vars::HEALTH_RED_HOURS);
    let red_hours = red.as_ref().map_or(Ok(DEFAULT_RED_HOURS), |s| s.hours())?;
    if red_hours < yellow_hours {
        return Err(ConfigError::Invalid {
            variable: vars::HEALTH_RED_HOURS,
            reason: format!(
                "{red_hours} is below {} ({yellow_hours})",
                vars::HEALTH_YELLOW_HOURS
            ),
        });
    }
    Ok(HealthThresholds {
        yellow_after: Duration::from_secs_f64(yellow_hours * 3600.0),
        red_after: Duration::from_secs_f64(red_hours * 3600.0),
    })
}
