//! Files that hold customers' data or secrets stay readable by their owner alone: the checkpoint
//! store (spooled pages hold names, emails and phone numbers), `checkpoint export` files and
//! token files. Directories are made 0700 and files 0600 whatever the umask; the binary also
//! sets its umask to 077 at start, so files that libraries create (sled's own) are private too.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a private file.
pub const FILE_MODE: u32 = 0o600;
/// The permission bits that let anyone but the owner in.
const OTHERS: u32 = 0o077;

/// Sets the process umask to 077: everything created from here on is private, including files
/// that libraries create. Called first thing by the binary.
pub fn restrict_umask() {
    // SAFETY: umask only changes the process's file creation mask; it cannot fail.
    unsafe {
        libc::umask(OTHERS as libc::mode_t);
    }
}

/// Creates `path` (and its parents) if missing and makes it private (0700).
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    fs::create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))
}

/// Creates (or truncates) `path` as a private file (0600), also when it existed with a wider
/// mode.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Writes `bytes` to a private file at `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_private_file(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The entries under `dir` (itself included) that others than the owner may read or enter, with
/// their modes: what `checkpoint verify` warns about.
pub fn open_to_others(dir: &Path) -> io::Result<Vec<(std::path::PathBuf, u32)>> {
    let mut open = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = fs::symlink_metadata(&path)?;
        if metadata.file_type().is_symlink() {
            continue;
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & OTHERS != 0 {
            open.push((path.clone(), mode));
        }
        if metadata.is_dir() {
            for entry in fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    open.sort();
    Ok(open)
}

/// Makes `dir` and everything in it private (0700 directories, 0600 files); returns how many
/// entries were open to others before.
pub fn make_private(dir: &Path) -> io::Result<usize> {
    let open = open_to_others(dir)?;
    for (path, mode) in &open {
        let private = if fs::symlink_metadata(path)?.is_dir() {
            DIR_MODE
        } else {
            FILE_MODE
        };
        fs::set_permissions(path, fs::Permissions::from_mode(mode & private))?;
    }
    Ok(open.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_entries_are_private_and_wide_ones_are_found_and_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("store");
        create_private_dir_all(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("export.json");
        fs::write(&file, b"old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&file, b"new").unwrap();
        assert_eq!(mode(&file), 0o600, "an existing wide file is narrowed");
        assert!(open_to_others(&dir).unwrap().is_empty());

        let wide = dir.join("db");
        fs::write(&wide, b"x").unwrap();
        fs::set_permissions(&wide, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            open_to_others(&dir).unwrap(),
            vec![(dir.clone(), 0o755), (wide.clone(), 0o644)]
        );
        assert_eq!(make_private(&dir).unwrap(), 2);
        assert_eq!((mode(&dir), mode(&wide)), (0o700, 0o600));
        assert!(open_to_others(&dir).unwrap().is_empty());
    }
}
