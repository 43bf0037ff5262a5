//! Where an OAuth app's tokens live between runs: `oauth-token.json` beside the checkpoint
//! store, readable only by its owner, never in a log, `sync_log`, the dashboard or `checkpoint
//! export`. Lightspeed revokes a refresh token as soon as it issues the next one, so a renewal's
//! answer is made durable before anything else: written to a journal file and synced, then
//! renamed over the token file. A crash after the journal is synced loses nothing (the next
//! load finds the journal and completes the rename); a crash while it is being written leaves
//! the previous file whole. Renewals of one store are serialised across processes by a lock
//! file, so two runs never spend the same refresh token.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::private_files::{create_private_dir_all, create_private_file};

/// The token file's name inside the checkpoint directory.
pub const TOKEN_FILE: &str = "oauth-token.json";
const JOURNAL_FILE: &str = "oauth-token.json.new";
const LOCK_FILE: &str = "oauth-token.lock";

/// An OAuth app's tokens as last issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    pub access_token: String,
    /// Unix time the access token expires at.
    pub expires_at: i64,
    pub refresh_token: String,
    /// A digest of the configured `LIGHTSPEED_REFRESH_TOKEN` these tokens descend from: a new
    /// one configured (the store authorized lightsync again) starts a new chain.
    pub seeded_from: String,
    /// Unix time of the renewal that issued them.
    pub renewed_at: i64,
}

/// A digest that names a configured refresh token without revealing it.
pub fn seed_of(refresh_token: &str) -> String {
    let digest = Sha256::digest(refresh_token.as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The token file of a checkpoint directory.
#[derive(Debug, Clone)]
pub struct TokenFile {
    dir: PathBuf,
}

/// Held while a renewal runs; released when dropped.
pub struct RenewalLock(File);

impl Drop for RenewalLock {
    fn drop(&mut self) {
        // SAFETY: flock on a descriptor this value owns.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl TokenFile {
    pub fn in_dir(dir: &Path) -> TokenFile {
        TokenFile {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(TOKEN_FILE)
    }

    /// The stored tokens, if any; a synced journal left by a crash is completed first.
    pub fn load(&self) -> io::Result<Option<StoredTokens>> {
        let journal = self.dir.join(JOURNAL_FILE);
        if let Ok(text) = fs::read(&journal) {
            if serde_json::from_slice::<StoredTokens>(&text).is_ok() {
                fs::rename(&journal, self.path())?;
                sync_dir(&self.dir)?;
            } else {
                // Cut short while being written: the token file before it is whole.
                fs::remove_file(&journal)?;
            }
        }
        match fs::read(self.path()) {
            Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a token file: {err}", self.path().display()),
                )
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Makes `tokens` durable: the journal is written and synced (the point after which a crash
    /// loses nothing), then renamed over the token file.
    pub fn save(&self, tokens: &StoredTokens) -> io::Result<()> {
        create_private_dir_all(&self.dir)?;
        let journal = self.dir.join(JOURNAL_FILE);
        let mut file = create_private_file(&journal)?;
        file.write_all(&serde_json::to_vec_pretty(tokens).map_err(io::Error::other)?)?;
        file.sync_all()?;
        drop(file);
        crate::failpoint::crash_point("token-journaled");
        fs::rename(&journal, self.path())?;
        sync_dir(&self.dir)
    }

    /// Waits for and takes the store's renewal lock.
    pub fn lock(&self) -> io::Result<RenewalLock> {
        create_private_dir_all(&self.dir)?;
        let file = create_private_file(&self.dir.join(LOCK_FILE))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RenewalLock(file))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(refresh: &str) -> StoredTokens {
        StoredTokens {
            access_token: "a".into(),
            expires_at: 1,
            refresh_token: refresh.into(),
            seeded_from: seed_of("seed"),
            renewed_at: 0,
        }
    }

    #[test]
    fn a_synced_journal_wins_and_a_torn_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap(), None);
        file.save(&tokens("r1")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A crash after the journal was synced: the next load completes the rename.
        fs::write(
            dir.path().join(JOURNAL_FILE),
            serde_json::to_vec(&tokens("r2")).unwrap(),
        )
        .unwrap();
        assert_eq!(file.load().unwrap().unwrap().refresh_token, "r2");
        // A crash while writing it: the file before it stays.
        fs::write(dir.path().join(JOURNAL_FILE), b"{\"access_tok").unwrap();
        assert_eq!(file.load().unwrap().unwrap().refresh_token, "r2");
        assert!(!dir.path().join(JOURNAL_FILE).exists());
        assert_ne!(seed_of("a"), seed_of("b"));
        assert!(!seed_of("secret-refresh").contains("secret"));
    }
}
