//! `lightsync alert test`: posts a test message to every configured webhook and prints each
//! one's answer (by host: webhook URLs are secrets).

use crate::cli::AlertCommand;
use crate::config::{vars, Config, ConfigError};
use crate::exit;

pub fn alert(config: &Config, command: AlertCommand) -> anyhow::Result<i32> {
    match command {
        AlertCommand::Test => test(config),
    }
}

fn test(config: &Config) -> anyhow::Result<i32> {
    if config.monitoring.webhooks.is_empty() {
        return Err(ConfigError::Missing {
            variable: vars::ALERT_WEBHOOK_URL,
            hint: "set it to the webhook URL(s) alerts go to, separated by commas (a Slack or Mattermost incoming webhook works as is)",
        }
        .into());
    }
    let results = super::runtime()?.block_on(crate::alert::send_test(config))?;
    let mut failed = 0;
    for (host, result) in results {
        match result {
            Ok(()) => crate::outln!("{host}: delivered"),
            Err(error) => {
                failed += 1;
                crate::outln!("NOT delivered: {error}");
            }
        }
    }
    Ok(if failed == 0 {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
