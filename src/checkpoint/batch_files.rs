//! Spooled page bodies as files beside the sled database (`batches/<entity>-<seq>.batch`). sled
//! keeps large values in memory and on disk long after they are removed (hundreds of MB for a
//! 100k-sale import), so the records live in plain files while sled holds the cursors and the
//! batch index. A file is written, fsynced and renamed into place before the sled transaction
//! that makes it part of the spool; a file no index entry names is an orphan of a crash and is
//! removed. Each file carries a magic number, its layout version and a CRC-32 of its body.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::error::CheckpointError;
use crate::entity::Entity;
use crate::private_files;

/// Directory of batch files inside the checkpoint directory.
pub const BATCH_DIR: &str = "batches";
const MAGIC: &[u8; 8] = b"LSBATCH1";
const SUFFIX: &str = ".batch";

/// The file holding batch `seq` of `entity`.
pub fn batch_path(root: &Path, entity: Entity, seq: u64) -> PathBuf {
    root.join(BATCH_DIR)
        .join(format!("{}-{seq:020}{SUFFIX}", entity.name()))
}

/// Writes a batch body durably: temporary file, fsync, rename, fsync of the directory.
pub fn write_batch_file(
    root: &Path,
    entity: Entity,
    seq: u64,
    body: &[u8],
) -> Result<(), CheckpointError> {
    let dir = root.join(BATCH_DIR);
    let doing = format!("writing a spooled batch in {}", dir.display());
    let io = |source: std::io::Error| CheckpointError::Io {
        doing: doing.clone(),
        source,
    };
    private_files::create_private_dir_all(&dir).map_err(io)?;
    let path = batch_path(root, entity, seq);
    let temporary = path.with_extension("tmp");
    {
        let mut file = private_files::create_private_file(&temporary).map_err(io)?;
        file.write_all(MAGIC).map_err(io)?;
        file.write_all(&crc32fast::hash(body).to_le_bytes())
            .map_err(io)?;
        file.write_all(&(body.len() as u64).to_le_bytes())
            .map_err(io)?;
        file.write_all(body).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    fs::rename(&temporary, &path).map_err(io)?;
    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io)?;
    Ok(())
}

/// Reads and checks a batch body.
pub fn read_batch_file(root: &Path, entity: Entity, seq: u64) -> Result<Vec<u8>, CheckpointError> {
    let path = batch_path(root, entity, seq);
    let corrupt = |what: &str| {
        CheckpointError::Corrupt(format!("{entity} batch {seq} ({}): {what}", path.display()))
    };
    let mut file = File::open(&path).map_err(|err| corrupt(&format!("cannot be opened: {err}")))?;
    let mut header = [0u8; 20];
    file.read_exact(&mut header)
        .map_err(|_| corrupt("the file is truncated"))?;
    if &header[..8] != MAGIC {
        return Err(corrupt("not a lightsync batch file"));
    }
    let crc = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    let length = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    let mut body = Vec::with_capacity(length.min(1 << 30) as usize);
    file.read_to_end(&mut body)
        .map_err(|err| corrupt(&format!("cannot be read: {err}")))?;
    if body.len() as u64 != length {
        return Err(corrupt("the file is truncated"));
    }
    if crc32fast::hash(&body) != crc {
        return Err(corrupt("its checksum does not match (the file is damaged)"));
    }
    Ok(body)
}

/// Removes a batch file (missing is fine: it was already removed).
pub fn remove_batch_file(root: &Path, entity: Entity, seq: u64) -> Result<(), CheckpointError> {
    match fs::remove_file(batch_path(root, entity, seq)) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CheckpointError::Io {
            doing: "removing a released batch".into(),
            source,
        }),
    }
}

/// Every batch file present: (entity, seq, size in bytes). Temporary files count as orphans.
pub fn list_batch_files(root: &Path) -> Result<Vec<BatchFile>, CheckpointError> {
    let dir = root.join(BATCH_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CheckpointError::Io {
                doing: format!("listing {}", dir.display()),
                source,
            })
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(CheckpointError::io(format!("listing {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.push(BatchFile {
            batch: parse_name(&name),
            path: entry.path(),
            bytes,
        });
    }
    Ok(files)
}

/// A file in the batch directory; `batch` is `None` for names that are not batch files.
#[derive(Debug, Clone)]
pub struct BatchFile {
    pub batch: Option<(Entity, u64)>,
    pub path: PathBuf,
    pub bytes: u64,
}

fn parse_name(name: &str) -> Option<(Entity, u64)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (entity, seq) = stem.rsplit_once('-')?;
    Some((entity.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        write_batch_file(dir.path(), Entity::Sales, 7, b"hello").unwrap();
        assert_eq!(
            read_batch_file(dir.path(), Entity::Sales, 7).unwrap(),
            b"hello"
        );
        let files = list_batch_files(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].batch, Some((Entity::Sales, 7)));

        let path = batch_path(dir.path(), Entity::Sales, 7);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let err = read_batch_file(dir.path(), Entity::Sales, 7).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        fs::write(&path, &bytes[..10]).unwrap();
        assert!(read_batch_file(dir.path(), Entity::Sales, 7).is_err());
        remove_batch_file(dir.path(), Entity::Sales, 7).unwrap();
        remove_batch_file(dir.path(), Entity::Sales, 7).unwrap();
        assert!(list_batch_files(dir.path()).unwrap().is_empty());
    }
}
