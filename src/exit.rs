//! The documented exit codes and which errors map to them.

use crate::checkpoint::CheckpointError;
use crate::config::ConfigError;
use crate::db::{DbError, LockHeld};

/// The run finished and everything succeeded.
pub const SUCCESS: i32 = 0;
/// The run failed (an entity failed, the database was unreachable, ...).
pub const FAILURE: i32 = 1;
/// Bad usage or configuration: the message names the flag or variable to fix.
pub const USAGE: i32 = 2;
/// Another run holds the checkpoint store or the database lock.
pub const LOCKED: i32 = 3;

/// A usage problem found after parsing (e.g. a missing `--yes`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error that ended a command.
pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.downcast_ref::<LockHeld>().is_some()
            || matches!(
                cause.downcast_ref::<CheckpointError>(),
                Some(CheckpointError::Locked { .. })
            )
        {
            return LOCKED;
        }
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
            || matches!(
                cause.downcast_ref::<DbError>(),
                Some(DbError::TransactionPooler { .. })
            )
        {
            return USAGE;
        }
    }
    FAILURE
}
