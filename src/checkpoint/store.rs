//! The sled-backed checkpoint store: per entity a fetch cursor and the index of spooled batches
//! not yet applied, plus run metadata, all behind a format version. A batch's records live in its
//! batch file (see `batch_files`), written durably first; recording the batch in the index and
//! advancing the cursor is then one sled transaction, flushed before `spool_batch` returns.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::batch_files::{
    list_batch_files, read_batch_file, remove_batch_file, write_batch_file, BATCH_DIR,
};
use super::error::CheckpointError;
use super::format::{
    batch_key, batch_prefix, cursor_key, decode, encode, parse_batch_key, Cursor, RunMeta,
    SpooledBatch, CURSORS_TREE, FORMAT_KEY, FORMAT_VERSION, IDENTITY_KEY, RUN_KEY,
};
use super::layout;
use crate::entity::Entity;
use crate::private_files;

/// sled's page cache: small, because lightsync streams through batches once.
const CACHE_CAPACITY_BYTES: u64 = 4 * 1024 * 1024;
const INDEX_TREE: &str = "batch_index";

/// A batch's metadata, stored beside it so listing the spool never decodes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub seq: u64,
    pub after: i64,
    pub max_version: i64,
    pub records: u64,
    pub bytes: u64,
    pub fetched_at_ms: i64,
}

/// An open checkpoint store. Only one process at a time can hold it (its lock file).
pub struct CheckpointStore {
    path: PathBuf,
    db: sled::Db,
    cursors: sled::Tree,
    index: sled::Tree,
    holds_holder_file: bool,
    /// The exclusive lock on the directory, released when the store is dropped.
    _lock: fs::File,
}

impl std::fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStore")
            .field("path", &self.path)
            .finish()
    }
}

fn io_error(err: sled::Error) -> CheckpointError {
    match err {
        sled::Error::Corruption { .. } => CheckpointError::Corrupt(err.to_string()),
        other => CheckpointError::Storage(other),
    }
}

impl CheckpointStore {
    /// Opens (creating if needed) the store at `path` for `command`. With `identity`, the store
    /// must belong to that API store (a new store records it).
    pub fn open(
        path: &Path,
        identity: Option<&str>,
        command: &str,
    ) -> Result<CheckpointStore, CheckpointError> {
        let mut store = CheckpointStore::open_raw(path)?;
        if let Some(identity) = identity {
            store.check_identity(identity)?;
        }
        // Spooled pages hold customers' data: a store others could read (made by an older
        // version, or copied with a wide umask) is made private before anything is spooled.
        match private_files::make_private(path) {
            Ok(0) => {}
            Ok(narrowed) => log::warn!(
                "the checkpoint store {} was readable by other local users ({narrowed} entries); made it private (directories 0700, files 0600)",
                path.display()
            ),
            Err(source) => {
                return Err(CheckpointError::Io {
                    doing: format!("making the checkpoint store {} private", path.display()),
                    source,
                })
            }
        }
        store.holds_holder_file = layout::write_holder(path, command);
        store.remove_orphan_files()?;
        Ok(store)
    }

    /// Opens an existing store to look at it (operator commands): no identity check, no holder
    /// file, nothing removed. Fails if the directory does not exist.
    pub fn inspect(path: &Path) -> Result<CheckpointStore, CheckpointError> {
        if !path.is_dir() {
            return Err(CheckpointError::Missing {
                path: path.to_path_buf(),
            });
        }
        CheckpointStore::open_raw(path)
    }

    fn open_raw(path: &Path) -> Result<CheckpointStore, CheckpointError> {
        if !path.is_dir() {
            private_files::create_private_dir_all(path).map_err(|source| {
                CheckpointError::Open {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        let lock = layout::acquire_lock(path)?;
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_CAPACITY_BYTES)
            .flush_every_ms(Some(1000));
        let db = match layout::open_sled(&config) {
            Ok(Ok(db)) => db,
            Ok(Err(err @ (sled::Error::Corruption { .. } | sled::Error::Unsupported(_)))) => {
                return Err(CheckpointError::Corrupt(format!(
                    "{} ({err})",
                    path.display()
                )))
            }
            Ok(Err(source)) => {
                return Err(CheckpointError::OpenStorage {
                    path: path.to_path_buf(),
                    source,
                })
            }
            Err(_) => {
                return Err(CheckpointError::Corrupt(format!(
                    "{} cannot be read as a checkpoint store",
                    path.display()
                )))
            }
        };
        let store = CheckpointStore {
            path: path.to_path_buf(),
            cursors: db.open_tree(CURSORS_TREE).map_err(io_error)?,
            index: db.open_tree(INDEX_TREE).map_err(io_error)?,
            db,
            holds_holder_file: false,
            _lock: lock,
        };
        store.check_format()?;
        Ok(store)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_format(&self) -> Result<(), CheckpointError> {
        match self.db.get(FORMAT_KEY).map_err(io_error)? {
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| {
                        CheckpointError::Corrupt(format!(
                            "the format version of {} is unreadable",
                            self.path.display()
                        ))
                    })?;
                if found != FORMAT_VERSION {
                    return Err(CheckpointError::UnsupportedFormat {
                        path: self.path.clone(),
                        found: found.to_string(),
                        expected: FORMAT_VERSION,
                    });
                }
                Ok(())
            }
            None => {
                let has_data = !self.cursors.is_empty()
                    || !self.index.is_empty()
                    || self.db.get(IDENTITY_KEY).map_err(io_error)?.is_some();
                if has_data {
                    return Err(CheckpointError::UnsupportedFormat {
                        path: self.path.clone(),
                        found: "none".into(),
                        expected: FORMAT_VERSION,
                    });
                }
                self.db
                    .insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
                    .map_err(io_error)?;
                self.flush()
            }
        }
    }

    fn check_identity(&self, identity: &str) -> Result<(), CheckpointError> {
        match self.db.get(IDENTITY_KEY).map_err(io_error)? {
            Some(found) if found.as_ref() != identity.as_bytes() => {
                Err(CheckpointError::ForeignStore {
                    path: self.path.clone(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: identity.to_string(),
                })
            }
            Some(_) => Ok(()),
            None => {
                self.db
                    .insert(IDENTITY_KEY, identity.as_bytes())
                    .map_err(io_error)?;
                self.flush()
            }
        }
    }

    /// The store identity recorded by the first run, if any.
    pub fn identity(&self) -> Result<Option<String>, CheckpointError> {
        Ok(self
            .db
            .get(IDENTITY_KEY)
            .map_err(io_error)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), CheckpointError> {
        self.db.flush().map_err(io_error)?;
        Ok(())
    }

    /// The fetch cursor of `entity`, if one was ever stored.
    pub fn cursor(&self, entity: Entity) -> Result<Option<Cursor>, CheckpointError> {
        self.cursors
            .get(cursor_key(entity))
            .map_err(io_error)?
            .map(|bytes| decode(&bytes, &format!("the {entity} cursor")))
            .transpose()
    }

    /// Moves the fetch cursor of `entity` (recovery and operator commands), durably.
    pub fn set_cursor(&self, entity: Entity, fetch_cursor: i64) -> Result<(), CheckpointError> {
        let next_seq = self.cursor(entity)?.map_or(0, |cursor| cursor.next_seq);
        let cursor = Cursor {
            fetch_cursor,
            next_seq,
        };
        self.cursors
            .insert(cursor_key(entity), encode(&cursor)?)
            .map_err(io_error)?;
        self.flush()
    }

    /// Spools a fetched page and advances the cursor to its max version: the records go to a
    /// durable batch file, then the index entry and the cursor are written in one transaction,
    /// flushed before returning. Returns the batch's sequence number and encoded size.
    pub fn spool_batch<R: Serialize>(
        &self,
        entity: Entity,
        batch: &SpooledBatch<R>,
    ) -> Result<(u64, u64), CheckpointError> {
        let current = self.cursor(entity)?.unwrap_or(Cursor {
            fetch_cursor: 0,
            next_seq: 0,
        });
        if current.fetch_cursor != batch.after {
            return Err(CheckpointError::CursorConflict {
                entity: entity.to_string(),
                expected: batch.after,
                found: current.fetch_cursor,
            });
        }
        let seq = current.next_seq;
        let encoded = encode(batch)?;
        let bytes = encoded.len() as u64;
        write_batch_file(&self.path, entity, seq, &encoded)?;
        drop(encoded);
        let summary = encode(&BatchSummary {
            seq,
            after: batch.after,
            max_version: batch.max_version,
            records: batch.records.len() as u64,
            bytes,
            fetched_at_ms: batch.fetched_at_ms,
        })?;
        let next = encode(&Cursor {
            fetch_cursor: batch.max_version,
            next_seq: seq + 1,
        })?;
        (&self.cursors, &self.index)
            .transaction(|(cursors, index)| {
                let unchanged = match cursors.get(cursor_key(entity))? {
                    Some(bytes) => {
                        decode::<Cursor>(&bytes, "cursor")
                            .map_err(ConflictableTransactionError::Abort)?
                            == current
                    }
                    None => current.next_seq == 0 && current.fetch_cursor == 0,
                };
                if !unchanged {
                    return Err(ConflictableTransactionError::Abort(
                        CheckpointError::CursorConflict {
                            entity: entity.to_string(),
                            expected: batch.after,
                            found: current.fetch_cursor,
                        },
                    ));
                }
                index.insert(&batch_key(entity, seq), summary.as_slice())?;
                cursors.insert(&cursor_key(entity), next.as_slice())?;
                Ok(())
            })
            .map_err(|err| match err {
                TransactionError::Abort(err) => err,
                TransactionError::Storage(err) => io_error(err),
            })?;
        self.flush()?;
        Ok((seq, bytes))
    }

    /// Reads a spooled batch.
    pub fn load_batch(&self, entity: Entity, seq: u64) -> Result<SpooledBatch, CheckpointError> {
        if !self
            .index
            .contains_key(batch_key(entity, seq))
            .map_err(io_error)?
        {
            return Err(CheckpointError::Corrupt(format!(
                "{entity} batch {seq} is not in the spool"
            )));
        }
        let bytes = read_batch_file(&self.path, entity, seq)?;
        decode(&bytes, &format!("{entity} batch {seq}"))
    }

    /// Whether a spooled batch's file is present and intact.
    pub fn batch_intact(&self, entity: Entity, seq: u64) -> bool {
        read_batch_file(&self.path, entity, seq).is_ok()
    }

    /// The spooled batches of `entity`, in sequence order.
    pub fn batch_summaries(&self, entity: Entity) -> Result<Vec<BatchSummary>, CheckpointError> {
        self.index
            .scan_prefix(batch_prefix(entity))
            .map(|item| {
                let (key, value) = item.map_err(io_error)?;
                let (_, seq) = parse_batch_key(&key)?;
                decode::<BatchSummary>(&value, &format!("{entity} batch {seq} summary"))
            })
            .collect()
    }

    /// Batch files that no index entry names (for `verify`; the next run removes them).
    pub fn unindexed_files(&self) -> Result<Vec<PathBuf>, CheckpointError> {
        let mut unindexed = Vec::new();
        for file in list_batch_files(&self.path)? {
            let indexed = match file.batch {
                Some((entity, seq)) => self
                    .index
                    .contains_key(batch_key(entity, seq))
                    .map_err(io_error)?,
                None => false,
            };
            if !indexed {
                unindexed.push(file.path);
            }
        }
        Ok(unindexed)
    }

    /// Removes batch files no index entry names (left by a crash between writing the file and
    /// recording it, or between releasing it and deleting the file).
    fn remove_orphan_files(&self) -> Result<(), CheckpointError> {
        for path in self.unindexed_files()? {
            log::debug!("removing orphan spool file {}", path.display());
            let _ = std::fs::remove_file(&path);
        }
        Ok(())
    }

    /// Removes an applied batch. Not flushed: if the removal is lost in a crash, recovery drops
    /// the batch anyway because PostgreSQL already has its version.
    pub fn release_batch(&self, entity: Entity, seq: u64) -> Result<(), CheckpointError> {
        self.index
            .remove(batch_key(entity, seq))
            .map_err(io_error)?;
        remove_batch_file(&self.path, entity, seq)
    }

    /// Forgets everything about `entity`: cursor and spooled batches. Durable.
    pub fn reset_entity(&self, entity: Entity) -> Result<(), CheckpointError> {
        let keys: Vec<sled::IVec> = self
            .index
            .scan_prefix(batch_prefix(entity))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        for key in keys {
            self.index.remove(key).map_err(io_error)?;
        }
        self.cursors.remove(cursor_key(entity)).map_err(io_error)?;
        self.flush()?;
        for file in list_batch_files(&self.path)? {
            if file.batch.is_some_and(|(owner, _)| owner == entity) {
                let _ = std::fs::remove_file(&file.path);
            }
        }
        Ok(())
    }

    /// Records the run that holds the store.
    pub fn set_run(&self, run: &RunMeta) -> Result<(), CheckpointError> {
        self.db.insert(RUN_KEY, encode(run)?).map_err(io_error)?;
        self.flush()
    }

    /// The last run recorded, if any.
    pub fn run(&self) -> Result<Option<RunMeta>, CheckpointError> {
        self.db
            .get(RUN_KEY)
            .map_err(io_error)?
            .map(|bytes| decode(&bytes, "the run metadata"))
            .transpose()
    }

    /// Bytes the store occupies on disk (sled files and batch files).
    pub fn size_on_disk(&self) -> u64 {
        let files: u64 = list_batch_files(&self.path)
            .map(|files| files.iter().map(|file| file.bytes).sum())
            .unwrap_or(0);
        self.db.size_on_disk().unwrap_or(0) + files
    }

    /// The directory holding batch files.
    pub fn batch_dir(&self) -> std::path::PathBuf {
        self.path.join(BATCH_DIR)
    }
}

impl Drop for CheckpointStore {
    fn drop(&mut self) {
        let _ = self.db.flush();
        if self.holds_holder_file {
            layout::remove_holder(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(after: i64, max_version: i64) -> SpooledBatch {
        SpooledBatch {
            after,
            max_version,
            fetched_at_ms: 0,
            records: vec![format!(r#"{{"id":"x","version":{max_version}}}"#)],
        }
    }

    #[test]
    fn spooling_advances_the_cursor_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = CheckpointStore::open(dir.path(), Some("shop"), "test").unwrap();
            assert_eq!(store.cursor(Entity::Sales).unwrap(), None);
            let (seq, _) = store.spool_batch(Entity::Sales, &batch(0, 10)).unwrap();
            assert_eq!(seq, 0);
            let (seq, _) = store.spool_batch(Entity::Sales, &batch(10, 20)).unwrap();
            assert_eq!(seq, 1);
        }
        let store = CheckpointStore::open(dir.path(), Some("shop"), "test").unwrap();
        assert_eq!(
            store.cursor(Entity::Sales).unwrap(),
            Some(Cursor {
                fetch_cursor: 20,
                next_seq: 2
            })
        );
        let summaries = store.batch_summaries(Entity::Sales).unwrap();
        assert_eq!(summaries.len(), 2);
        assert_eq!(store.load_batch(Entity::Sales, 1).unwrap(), batch(10, 20));
        store.release_batch(Entity::Sales, 0).unwrap();
        assert_eq!(store.batch_summaries(Entity::Sales).unwrap()[0].seq, 1);
        assert!(store.batch_summaries(Entity::Products).unwrap().is_empty());
    }

    #[test]
    fn a_page_that_does_not_continue_the_cursor_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        store.spool_batch(Entity::Outlets, &batch(0, 10)).unwrap();
        assert!(matches!(
            store.spool_batch(Entity::Outlets, &batch(5, 30)),
            Err(CheckpointError::CursorConflict { .. })
        ));
    }

    #[test]
    fn a_store_of_another_shop_or_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(CheckpointStore::open(dir.path(), Some("shop-a"), "test").unwrap());
        let err = CheckpointStore::open(dir.path(), Some("shop-b"), "test").unwrap_err();
        assert!(matches!(err, CheckpointError::ForeignStore { .. }), "{err}");
        {
            let db = sled::open(dir.path()).unwrap();
            db.insert(FORMAT_KEY, &99u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let err = CheckpointStore::open(dir.path(), Some("shop-a"), "test").unwrap_err();
        assert!(err.to_string().contains("checkpoint reset"), "{err}");
        assert!(matches!(err, CheckpointError::UnsupportedFormat { .. }));
    }

    #[test]
    fn reset_forgets_one_entity_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), None, "test").unwrap();
        store.spool_batch(Entity::Sales, &batch(0, 10)).unwrap();
        store.spool_batch(Entity::Products, &batch(0, 11)).unwrap();
        store.reset_entity(Entity::Sales).unwrap();
        assert_eq!(store.cursor(Entity::Sales).unwrap(), None);
        assert!(store.batch_summaries(Entity::Sales).unwrap().is_empty());
        assert_eq!(store.batch_summaries(Entity::Products).unwrap().len(), 1);
    }
}
