//! `lightsync cron install|show|remove`: the managed entry in the current user's crontab. The
//! crontab program can be replaced through `LIGHTSYNC_CRONTAB` (tests use a fake).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::cli::CronCommand;
use crate::cron::{find_entry, install_entry, remove_entry, render_entry, validate_schedule};
use crate::exit::{self, UsageError};

fn crontab_program() -> String {
    std::env::var(crate::config::vars::CRONTAB).unwrap_or_else(|_| "crontab".to_string())
}

fn read_crontab() -> anyhow::Result<String> {
    let program = crontab_program();
    let output = Command::new(&program)
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{program} -l` (is cron installed? LIGHTSYNC_CRONTAB names another program)"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("no crontab") {
        return Ok(String::new());
    }
    bail!("`{program} -l` failed: {}", stderr.trim())
}

fn write_crontab(text: &str) -> anyhow::Result<()> {
    let program = crontab_program();
    let mut child = Command::new(&program)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{program} -`"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "`{program} -` refused the new crontab: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// `env_file` is the global `--env-file`: the configuration the cron entry runs with.
pub fn cron(command: CronCommand, env_file: Option<PathBuf>) -> anyhow::Result<i32> {
    match command {
        CronCommand::Install { schedule, log } => {
            validate_schedule(&schedule).map_err(|err| UsageError(format!("--schedule: {err}")))?;
            let env_file = absolute(&env_file.unwrap_or_else(|| PathBuf::from(".env")))?;
            if !env_file.is_file() {
                return Err(UsageError(format!(
                    "{} does not exist: cron runs without your shell's environment, so pass --env-file FILE with your configuration (see .env.sample)",
                    env_file.display()
                ))
                .into());
            }
            let working_dir = env_file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(std::env::current_dir()?);
            let log = absolute(&log.unwrap_or_else(|| working_dir.join("lightsync-sync.log")))?;
            let binary = std::env::current_exe()?.canonicalize()?;
            let entry = render_entry(
                &schedule,
                &binary.display().to_string(),
                &env_file.display().to_string(),
                &log.display().to_string(),
                &working_dir.display().to_string(),
            );
            let current = read_crontab()?;
            let replaced = find_entry(&current).is_some();
            write_crontab(&install_entry(&current, &entry))?;
            crate::outln!(
                "{} the lightsync entry:",
                if replaced { "replaced" } else { "installed" }
            );
            crate::outln!("{entry}");
            Ok(exit::SUCCESS)
        }
        CronCommand::Show => {
            match find_entry(&read_crontab()?) {
                Some(entry) => crate::outln!("{entry}"),
                None => crate::outln!(
                    "no lightsync entry in the crontab (`lightsync cron install` adds one)"
                ),
            }
            Ok(exit::SUCCESS)
        }
        CronCommand::Remove => {
            let current = read_crontab()?;
            if find_entry(&current).is_none() {
                crate::outln!("no lightsync entry in the crontab; nothing to remove");
                return Ok(exit::SUCCESS);
            }
            write_crontab(&remove_entry(&current))?;
            crate::outln!("removed the lightsync entry; other entries are untouched");
            Ok(exit::SUCCESS)
        }
    }
}
