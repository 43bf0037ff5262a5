//! The files of a checkpoint directory and nothing else: sled's own files (and opening them),
//! the batch folder, the lock file that keeps a second process out, and the holder note that
//! names the process holding it. `destroy` removes exactly these.

use std::fs::{self, File};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::batch_files::BATCH_DIR;
use super::error::CheckpointError;

/// File beside the sled files naming the process that holds the store.
const HOLDER_FILE: &str = "holder.json";
/// File whose exclusive lock (held while the store is open) keeps a second process out.
const LOCK_FILE: &str = "lightsync.lock";
/// The files sled 0.34 keeps in its directory (`snap.*` snapshots besides).
const SLED_FILES: [&str; 3] = ["conf", "db", "blobs"];

/// Who holds the store (written to `holder.json` while a process has it open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    pub since: String,
}

/// Takes the store's exclusive lock; another process holding it is `Locked`, naming it.
pub(super) fn acquire_lock(path: &Path) -> Result<File, CheckpointError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(|source| CheckpointError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let deadline = std::time::Instant::now() + LOCK_RELEASE_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {
                let holder = read_holder(path);
                if holder.is_none() && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                return Err(CheckpointError::Locked {
                    path: path.to_path_buf(),
                    holder: describe_holder(holder.as_ref()),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(CheckpointError::Open {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// How long a lock with no holder note is waited for. A holder writes its note once it has
/// opened the store and removes it when it closes the store, so a lock without a note is on its
/// way out (or still being opened): most often this process's own store, just closed, whose
/// lock file a child process that another thread is starting still shares until it runs its
/// program (descriptors are copied when the child is created and closed only when it execs).
const LOCK_RELEASE_PATIENCE: Duration = Duration::from_secs(3);

/// How long a reopen waits for sled to let go of a store this process just closed.
const SLED_RELEASE_PATIENCE: Duration = Duration::from_secs(3);

/// Opens sled; `Err(_)` outside is a panic (sled panics on some kinds of damaged files, which
/// is damage, not a crash). Only called while holding the store's lock file, which no other
/// process can then hold: an I/O error (sled's own file lock) can only be this process's
/// previous store, whose handles sled releases on a background thread shortly after it is
/// dropped. So I/O errors are retried briefly before they count.
pub(super) fn open_sled(config: &sled::Config) -> std::thread::Result<sled::Result<sled::Db>> {
    let deadline = std::time::Instant::now() + SLED_RELEASE_PATIENCE;
    loop {
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        match opened {
            Ok(Err(sled::Error::Io(_))) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Records this process as the holder; returns whether the note was written.
pub(super) fn write_holder(path: &Path, command: &str) -> bool {
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_string(),
        since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    serde_json::to_string(&holder)
        .ok()
        .is_some_and(|text| fs::write(path.join(HOLDER_FILE), text).is_ok())
}

/// Removes the holder note (when the store closes).
pub(super) fn remove_holder(path: &Path) {
    let _ = fs::remove_file(path.join(HOLDER_FILE));
}

/// The holder recorded in `path`, if a process wrote one.
pub fn read_holder(path: &Path) -> Option<Holder> {
    let text = fs::read_to_string(path.join(HOLDER_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn describe_holder(holder: Option<&Holder>) -> String {
    match holder {
        Some(holder) => format!(
            " (pid {}, `lightsync {}`, since {})",
            holder.pid, holder.command, holder.since
        ),
        None => String::new(),
    }
}

/// Whether `name` is one of the store's own entries in its directory.
fn is_store_file(name: &str) -> bool {
    SLED_FILES.contains(&name)
        || [BATCH_DIR, HOLDER_FILE, LOCK_FILE].contains(&name)
        || name.starts_with("snap.")
}

/// Removes the whole store at `path` (damaged or foreign ones included), leaving any other file
/// in the directory alone, and the directory itself when it is then empty. Refuses while
/// another process holds the store.
pub fn destroy(path: &Path) -> Result<(), CheckpointError> {
    if !path.is_dir() {
        return Ok(());
    }
    let lock = acquire_lock(path)?;
    let listing = CheckpointError::io(format!("listing {}", path.display()));
    for entry in fs::read_dir(path).map_err(listing)? {
        let entry = entry.map_err(CheckpointError::io(format!("listing {}", path.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_store_file(&name) || name == LOCK_FILE {
            continue;
        }
        let entry_path = entry.path();
        let removed = if entry_path.is_dir() {
            fs::remove_dir_all(&entry_path)
        } else {
            fs::remove_file(&entry_path)
        };
        removed.map_err(CheckpointError::io(format!(
            "removing {}",
            entry_path.display()
        )))?;
    }
    drop(lock);
    let _ = fs::remove_file(path.join(LOCK_FILE));
    let _ = fs::remove_dir(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroy_removes_the_store_and_only_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cp");
        drop(super::super::CheckpointStore::open(&root, None, "test").unwrap());
        fs::write(root.join("notes.txt"), "mine").unwrap();
        destroy(&root).unwrap();
        let left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["notes.txt".to_string()]);
    }

    #[test]
    fn a_lock_without_a_holder_note_is_waited_for_until_it_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        // The lock as a child process being started holds it: a copy of a descriptor of a
        // store that is closed already (no holder note).
        let copy = acquire_lock(dir.path()).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(copy);
        });
        let started = std::time::Instant::now();
        acquire_lock(dir.path()).expect("the lock once the copy lets go");
        assert!(started.elapsed() >= Duration::from_millis(150));
        releaser.join().unwrap();
    }

    #[test]
    fn a_second_holder_is_told_who_holds_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let _first = super::super::CheckpointStore::open(dir.path(), None, "sync").unwrap();
        let started = std::time::Instant::now();
        let err = acquire_lock(dir.path()).unwrap_err();
        assert!(
            started.elapsed() < LOCK_RELEASE_PATIENCE,
            "a holder that named itself is reported at once"
        );
        assert!(matches!(err, CheckpointError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("`lightsync sync`"), "{err}");
        assert!(matches!(
            destroy(dir.path()),
            Err(CheckpointError::Locked { .. })
        ));
    }
}
