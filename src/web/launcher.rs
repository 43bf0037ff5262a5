//! Starts `lightsync sync --entity E` in the background for the dashboard's "Sync now" button,
//! with the same binary and configuration as the dashboard.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::config::DatabaseUrl;
use crate::entity::Entity;

/// How to start a background sync.
#[derive(Debug, Clone)]
pub struct SyncLauncher {
    executable: PathBuf,
    database_url: DatabaseUrl,
    log_file: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
}

impl SyncLauncher {
    /// Uses the running executable; the child inherits the environment (API settings, checkpoint
    /// directory) and gets the dashboard's database URL. Output goes to `log_file` if given.
    pub fn new(
        database_url: DatabaseUrl,
        log_file: Option<PathBuf>,
    ) -> anyhow::Result<SyncLauncher> {
        Ok(SyncLauncher::with_executable(
            std::env::current_exe()?,
            database_url,
            log_file,
            Vec::new(),
        ))
    }

    /// A launcher of another `lightsync` binary with extra environment variables (tests, demo).
    pub fn with_executable(
        executable: PathBuf,
        database_url: DatabaseUrl,
        log_file: Option<PathBuf>,
        extra_env: Vec<(String, String)>,
    ) -> SyncLauncher {
        SyncLauncher {
            executable,
            database_url,
            log_file,
            extra_env,
        }
    }

    /// Starts the sync and returns its process id.
    pub fn start_sync(&self, entity: Entity) -> anyhow::Result<u32> {
        let output = match &self.log_file {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => Stdio::null(),
        };
        let errors = match &self.log_file {
            Some(path) => Stdio::from(std::fs::OpenOptions::new().append(true).open(path)?),
            None => Stdio::null(),
        };
        let child = Command::new(&self.executable)
            .args(["sync", "--entity", entity.name()])
            .env("DATABASE_URL", self.database_url.expose())
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()?;
        let pid = child.id();
        // Reap it when it ends so it never lingers as a zombie.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(pid)
    }
}
