//! The processes a measurement drives: the simulator (`lightsync simulate`) and timed
//! `lightsync import` runs with their peak memory.

use super::*;

/// The `lightsync` binary cargo built beside this benchmark (same profile).
pub(crate) fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lightsync"))
}

pub(crate) struct Simulator {
    pub(crate) child: Child,
    pub(crate) base_url: String,
    pub(crate) control: String,
    /// The most records it returns per page.
    pub(crate) page_cap: u32,
}

impl Simulator {
    pub(crate) fn start(sales: u32, extra: &[&str]) -> anyhow::Result<Simulator> {
        let w1 = [
            "--outlets",
            "3",
            "--products",
            "20000",
            "--customers",
            "20000",
            "--page-cap",
            "1000",
        ];
        // Flags given in `extra` replace the W1 defaults.
        let mut defaults: Vec<&str> = Vec::new();
        for pair in w1.chunks(2) {
            if !extra.contains(&pair[0]) {
                defaults.extend(pair);
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(binary())
            .args(["simulate", "--control", "--seed", "1"])
            .args(["--port", &port.to_string(), "--sales", &sales.to_string()])
            .args(&defaults)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting `lightsync simulate` (build with `cargo build --release` first)")?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().context("the simulator said nothing")??;
        let base_url = line
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http"))
            .context("unexpected simulator banner")?
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        let page_cap = extra
            .iter()
            .position(|flag| *flag == "--page-cap")
            .and_then(|at| extra.get(at + 1))
            .map_or(Ok(1000), |cap| cap.parse())
            .context("--page-cap is not a number")?;
        Ok(Simulator {
            child,
            page_cap,
            control: base_url.replace("/api/2.0", "/__simulator"),
            base_url,
        })
    }

    pub(crate) fn stats(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(
            &reqwest::blocking::get(format!("{}/stats", self.control))?.text()?,
        )?)
    }

    pub(crate) fn total_requests(&self) -> anyhow::Result<u64> {
        Ok(self.stats()?["total_requests"].as_u64().unwrap_or(0))
    }

    pub(crate) fn mutate(&self, n: u32) -> anyhow::Result<()> {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/mutate?n={n}", self.control))
            .send()?;
        if !response.status().is_success() {
            bail!("mutate failed: {}", response.status());
        }
        Ok(())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct ImportRun {
    pub(crate) seconds: f64,
    pub(crate) max_rss_kb: u64,
    pub(crate) requests: u64,
}

pub(crate) fn lightsync_command(
    database: &DatabaseUrl,
    base_url: &str,
    checkpoint: &Path,
    args: &[&str],
) -> Command {
    lightsync_command_of(&binary(), database, base_url, checkpoint, args)
}

/// `lightsync_command` for another build of lightsync.
pub(crate) fn lightsync_command_of(
    binary: &Path,
    database: &DatabaseUrl,
    base_url: &str,
    checkpoint: &Path,
    args: &[&str],
) -> Command {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-v")
        .arg(binary)
        .args(args)
        .env("DATABASE_URL", database.expose())
        .env("LIGHTSPEED_BASE_URL", base_url)
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

pub(crate) fn run_measured(mut command: Command) -> anyhow::Result<(f64, u64, bool)> {
    let started = Instant::now();
    let output = command.output()?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = stderr
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((seconds, rss, output.status.success()))
}

pub(crate) fn import_once(
    simulator: &Simulator,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<(ImportRun, TestDatabase, tempfile::TempDir)> {
    import_with(&binary(), simulator, extra_env)
}

/// `import_once` with another build of lightsync.
pub(crate) fn import_with(
    binary: &Path,
    simulator: &Simulator,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<(ImportRun, TestDatabase, tempfile::TempDir)> {
    let database = TestDatabase::empty();
    let checkpoint = tempfile::tempdir()?;
    let before = simulator.total_requests()?;
    let mut command = lightsync_command_of(
        binary,
        &database.url,
        &simulator.base_url,
        &checkpoint.path().join("cp"),
        &["import"],
    );
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let (seconds, max_rss_kb, ok) = run_measured(command)?;
    if !ok {
        bail!("the import failed");
    }
    let requests = simulator.total_requests()? - before;
    Ok((
        ImportRun {
            seconds,
            max_rss_kb,
            requests,
        },
        database,
        checkpoint,
    ))
}
