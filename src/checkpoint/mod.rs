//! The local checkpoint store (sled): per-entity fetch cursors, spooled in-flight batches and
//! run metadata, versioned and crash-safe. Only this module knows sled; it knows nothing of the
//! API client or the database.

mod batch_files;
mod error;
mod format;
mod store;

pub use error::CheckpointError;
pub use format::{Cursor, RunMeta, SpooledBatch, FORMAT_VERSION};
pub use store::{read_holder, BatchSummary, CheckpointStore, Holder};
