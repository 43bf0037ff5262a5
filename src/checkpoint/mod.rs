//! The local checkpoint store (sled): per-entity fetch cursors, spooled in-flight batches and
//! run metadata, versioned and crash-safe. Only this module knows sled; it knows nothing of the
//! API client or the database.

mod batch_files;
mod chain;
mod error;
mod format;
mod layout;
mod store;

pub use chain::{judge_spool, ChainProblem, SpoolVerdict};
pub use error::CheckpointError;
pub use format::{Cursor, RunMeta, SpooledBatch, FORMAT_VERSION};
pub use layout::{destroy, read_holder, Holder};
pub use store::{BatchSummary, CheckpointStore};

#[cfg(test)]
pub(crate) use chain::cases as chain_cases;
