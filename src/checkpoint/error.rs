//! `CheckpointError`: what can go wrong with the local checkpoint store. Every message says what
//! to do, usually `lightsync checkpoint reset`; the underlying I/O or storage error stays in the
//! source chain.

use std::path::PathBuf;

/// A checkpoint store failure.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint store {} is in use by another lightsync process{holder} (wait for it to finish, or stop it)", path.display())]
    Locked { path: PathBuf, holder: String },
    #[error("the checkpoint store {} was written by a newer or unknown format (version {found}; this build reads {expected}); upgrade lightsync, or run `lightsync checkpoint reset --yes` to start it afresh from PostgreSQL", path.display())]
    UnsupportedFormat {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error("the checkpoint store {} belongs to another store ({found}, not {expected}); point LIGHTSYNC_CHECKPOINT_DIR elsewhere, or run `lightsync checkpoint reset --yes`", path.display())]
    ForeignStore {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the checkpoint store is damaged: {0}; run `lightsync checkpoint reset --yes` (the next run resumes from PostgreSQL)")]
    Corrupt(String),
    #[error("there is no checkpoint store in {} (the first import creates it)", path.display())]
    Missing { path: PathBuf },
    #[error("cannot open the checkpoint store {}; if it is damaged, run `lightsync checkpoint reset --yes`", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the checkpoint store {}; if it is damaged, run `lightsync checkpoint reset --yes`", path.display())]
    OpenStorage {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("checkpoint store I/O failed while {doing}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the checkpoint store's database failed")]
    Storage(#[from] sled::Error),
    #[error("cannot encode a checkpoint value")]
    Encode(#[from] bincode::error::EncodeError),
    #[error(
        "the {entity} cursor moved from {expected} to {found} under this run (another writer?)"
    )]
    CursorConflict {
        entity: String,
        expected: i64,
        found: i64,
    },
}

impl CheckpointError {
    /// An I/O failure while `doing` something (said in the message).
    pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> CheckpointError {
        let doing = doing.into();
        move |source| CheckpointError::Io { doing, source }
    }
}
