//! Starts `lightsync sync --entity E` in the background for the dashboard's "Sync now" button,
//! with the same binary and configuration as the dashboard, but only the environment a sync
//! needs: never the dashboard password, the API token or Rocket's secret key. At most one such
//! sync runs at a time.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{vars, DatabaseUrl};
use crate::entity::Entity;

/// The process's own variables a sync needs besides its configuration (`vars::READ_BY_SYNC`).
/// DATABASE_URL is set explicitly from the dashboard's own configuration.
const PROCESS_VARIABLES: [&str; 5] = ["RUST_LOG", "RUST_BACKTRACE", "PATH", "HOME", "TZ"];
/// Prefixes passed on as well: libpq's own settings (PGPASSWORD, PGSSLROOTCERT, ...).
const PASSED_PREFIXES: [&str; 1] = ["PG"];

/// The part of `parent` a sync may see.
pub fn sync_environment(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    parent
        .into_iter()
        .filter(|(name, _)| {
            name.to_str().is_some_and(|name| {
                vars::READ_BY_SYNC.contains(&name)
                    || PROCESS_VARIABLES.contains(&name)
                    || PASSED_PREFIXES
                        .iter()
                        .any(|prefix| name.starts_with(prefix))
            })
        })
        .collect()
}

/// How to start a background sync.
#[derive(Debug, Clone)]
pub struct SyncLauncher {
    executable: PathBuf,
    database_url: DatabaseUrl,
    log_file: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
    /// The environment to pick from; the process's own when `None`.
    parent_env: Option<Vec<(OsString, OsString)>>,
    /// Whether a sync this launcher started is still running.
    running: Arc<Mutex<Option<Running>>>,
}

#[derive(Debug)]
struct Running {
    pid: u32,
    done: Arc<AtomicBool>,
}

/// Why no sync was started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("a sync started from the dashboard is still running (process {0})")]
    Busy(u32),
    #[error("{0}")]
    Failed(#[from] std::io::Error),
}

impl SyncLauncher {
    /// Uses the running executable; the child gets the sync settings of this environment and
    /// the dashboard's database URL. Output goes to `log_file` if given.
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
            parent_env: None,
            running: Arc::new(Mutex::new(None)),
        }
    }

    /// Picks the child's environment from `parent` instead of this process's (tests).
    #[cfg(feature = "failpoints")]
    pub fn with_parent_env(mut self, parent: Vec<(OsString, OsString)>) -> SyncLauncher {
        self.parent_env = Some(parent);
        self
    }

    /// Starts the sync and returns its process id, unless one it started still runs.
    pub fn start_sync(&self, entity: Entity) -> Result<u32, LaunchError> {
        let mut running = self.running.lock().expect("launcher lock");
        if let Some(run) = running.as_ref() {
            if !run.done.load(Ordering::SeqCst) {
                return Err(LaunchError::Busy(run.pid));
            }
        }
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
        let parent = match &self.parent_env {
            Some(parent) => parent.clone(),
            None => std::env::vars_os().collect(),
        };
        // `--env-file /dev/null`: the child must not read `.env` again, which may hold the
        // dashboard's secrets; the settings it needs are in its environment already.
        let child = Command::new(&self.executable)
            .args(["--env-file", "/dev/null", "sync", "--entity", entity.name()])
            .env_clear()
            .envs(sync_environment(parent))
            .env(vars::DATABASE_URL, self.database_url.expose())
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()?;
        let pid = child.id();
        let done = Arc::new(AtomicBool::new(false));
        *running = Some(Running {
            pid,
            done: done.clone(),
        });
        // Reap it when it ends so it never lingers as a zombie.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
            done.store(true, Ordering::SeqCst);
        });
        Ok(pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_environment_holds_what_a_sync_reads_and_no_dashboard_secret() {
        let parent = [
            ("LIGHTSYNC_DASHBOARD_PASSWORD", "hunter2hunter2"),
            ("LIGHTSYNC_DASHBOARD_PASSWORD_HASH", "$argon2id$x"),
            ("LIGHTSYNC_API_TOKEN", "0123456789abcdef0123456789abcdef"),
            ("ROCKET_SECRET_KEY", "key"),
            ("AWS_SECRET_ACCESS_KEY", "other"),
            ("LIGHTSPEED_TOKEN", "api-token"),
            ("LIGHTSYNC_CHECKPOINT_DIR", "/var/lib/lightsync"),
            ("PGSSLROOTCERT", "/etc/ssl/root.crt"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let mut names: Vec<String> = sync_environment(parent)
            .into_iter()
            .map(|(k, _)| k.into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "LIGHTSPEED_TOKEN",
                "LIGHTSYNC_CHECKPOINT_DIR",
                "PATH",
                "PGSSLROOTCERT"
            ]
        );
    }
}
