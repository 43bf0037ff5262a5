//! A throwaway PostgreSQL server for tests and `lightsync demo`: `initdb` into a temporary
//! directory, started on a free loopback port with trust auth, removed when dropped. As root
//! (which `initdb` refuses) it runs the server as the unprivileged `postgres` user.

use std::ffi::CString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};

use crate::config::DatabaseUrl;

/// The unprivileged account a root process runs the server as.
const SERVER_USER: &str = "postgres";

/// What to install when no PostgreSQL server binaries are found.
pub const INSTALL_HINT: &str = "install PostgreSQL's server binaries (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`) or set DATABASE_URL to a server you can use";

/// A running throwaway server.
pub struct LocalPostgres {
    root: tempfile::TempDir,
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    extra_settings: String,
    stopped: bool,
}

impl LocalPostgres {
    /// Finds `initdb` and `pg_ctl`: on PATH, else the newest under `/usr/lib/postgresql/*/bin`.
    pub fn find_binaries() -> anyhow::Result<PathBuf> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|entry| entry.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        versioned.sort_by_key(|path| {
            path.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        });
        candidates.extend(versioned.into_iter().rev());
        candidates
            .into_iter()
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
            .ok_or_else(|| anyhow!("no PostgreSQL server binaries (initdb, pg_ctl) found on PATH or under /usr/lib/postgresql/*/bin: {INSTALL_HINT}"))
    }

    /// Creates and starts a server; waits until it accepts connections.
    pub fn start() -> anyhow::Result<LocalPostgres> {
        LocalPostgres::start_with(&[], &[])
    }

    /// Starts a server with TLS on, using this certificate and key (PEM files).
    #[cfg(feature = "failpoints")]
    pub fn start_with_tls(certificate: &Path, key: &Path) -> anyhow::Result<LocalPostgres> {
        let certificate = std::fs::read(certificate)?;
        let key = std::fs::read(key)?;
        LocalPostgres::start_with(
            &[
                "ssl=on",
                "ssl_cert_file=server.crt",
                "ssl_key_file=server.key",
            ],
            &[("server.crt", certificate), ("server.key", key)],
        )
    }

    /// Starts a server with extra `-c` settings and extra files in its data directory (owned by
    /// the server's user, private).
    pub fn start_with(
        settings: &[&str],
        files: &[(&str, Vec<u8>)],
    ) -> anyhow::Result<LocalPostgres> {
        let bin_dir = LocalPostgres::find_binaries()?;
        let run_as = if is_root() {
            Some(lookup_user(SERVER_USER).with_context(|| {
                format!("running as root, the throwaway PostgreSQL must run as the unprivileged `{SERVER_USER}` user, which does not exist; create it (`useradd {SERVER_USER}`) or set DATABASE_URL")
            })?)
        } else {
            None
        };
        let root = tempfile::Builder::new()
            .prefix("lightsync-pg-")
            .tempdir()
            .context("creating a directory for the throwaway PostgreSQL")?;
        let data_dir = root.path().join("data");
        std::fs::create_dir(&data_dir)?;
        if let Some((uid, gid)) = run_as {
            for path in [root.path(), data_dir.as_path()] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .with_context(|| format!("handing {} to {SERVER_USER}", path.display()))?;
            }
        }
        let mut server = LocalPostgres {
            root,
            data_dir,
            bin_dir,
            port: 0,
            run_as,
            extra_settings: String::new(),
            stopped: true,
        };
        server.run_tool(
            "initdb",
            &[
                "-D",
                path_str(&server.data_dir)?,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )?;
        for (name, bytes) in files {
            let path = server.data_dir.join(name);
            std::fs::write(&path, bytes)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            if let Some((uid, gid)) = server.run_as {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
            }
        }
        server.extra_settings = settings.iter().map(|s| format!(" -c {s}")).collect();
        // A free port can be taken between choosing and binding it: try a few.
        let mut last_error = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.pg_ctl_start() {
                Ok(()) => {
                    server.stopped = false;
                    return Ok(server);
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("pg_ctl start failed")))
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account the server runs as (uid, gid) when started by root.
    pub fn run_as(&self) -> Option<(u32, u32)> {
        self.run_as
    }

    /// The data directory (tests stop and start the server to simulate outages).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A URL for database `name` on this server.
    pub fn url(&self, name: &str) -> DatabaseUrl {
        DatabaseUrl::parse(
            &format!("postgres://postgres@127.0.0.1:{}/{name}", self.port),
            "DATABASE_URL",
        )
        .expect("a well-formed local URL")
    }

    /// Stops the server fast (pending transactions are lost, as in a crash).
    fn stop(&mut self) -> anyhow::Result<()> {
        if !self.stopped {
            self.run_tool(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&self.data_dir)?,
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            )?;
            self.stopped = true;
        }
        Ok(())
    }

    /// `pg_ctl start` on this server's port, socket directory and settings; waits until ready.
    fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200{}",
            self.port,
            path_str(self.root.path())?,
            self.extra_settings
        );
        let log_file = self.root.path().join("server.log");
        self.run_tool(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir)?,
                "-o",
                &options,
                "-l",
                path_str(&log_file)?,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    fn run_tool(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin_dir.join(tool);
        let mut command = Command::new(&program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("LC_ALL", "C")
            .current_dir(self.root.path());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        let output = command
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{tool} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim()
            );
        }
        Ok(())
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            log::warn!("could not stop the throwaway PostgreSQL: {err:#}");
        }
    }
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .ok_or_else(|| anyhow!("{} is not valid UTF-8", path.display()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The (uid, gid) of the unprivileged account root hands servers to (`postgres`).
#[cfg(feature = "failpoints")]
pub fn unprivileged_user() -> anyhow::Result<(u32, u32)> {
    lookup_user(SERVER_USER)
}

fn lookup_user(name: &str) -> anyhow::Result<(u32, u32)> {
    let c_name = CString::new(name)?;
    // SAFETY: getpwnam reads a NUL-terminated string and returns a pointer into static storage
    // (or null), which we copy out of at once on this thread.
    let entry = unsafe { libc::getpwnam(c_name.as_ptr()) };
    if entry.is_null() {
        bail!("user `{name}` not found");
    }
    // SAFETY: `entry` is non-null and points to a valid passwd record.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok((uid, gid))
}
