//! `lightsync import` and `lightsync sync`: one engine run, its summary table, its exit code.

use crate::cli::{ImportArgs, SyncArgs};
use crate::config::Config;
use crate::engine::{self, RunMode, RunRequest};
use crate::exit::{self, UsageError};

pub fn import(config: &Config, args: ImportArgs) -> anyhow::Result<i32> {
    if args.restart && !args.yes {
        return Err(UsageError(
            "--restart fetches every record again from version 0; add --yes to confirm".into(),
        )
        .into());
    }
    execute(
        config,
        RunRequest {
            mode: RunMode::Import,
            restart: args.restart,
            entities: args.entities,
        },
    )
}

pub fn sync(config: &Config, args: SyncArgs) -> anyhow::Result<i32> {
    execute(
        config,
        RunRequest {
            mode: RunMode::Incremental,
            restart: false,
            entities: args.entities,
        },
    )
}

fn execute(config: &Config, request: RunRequest) -> anyhow::Result<i32> {
    // Check the configuration before starting anything.
    config.api()?;
    config.database_url()?;
    let report = super::runtime()?.block_on(async {
        let report = engine::run(config, request).await?;
        crate::alert::notify_after_run(config, &report).await;
        anyhow::Ok(report)
    })?;
    crate::out!("{}", report.summary_table());
    let records: u64 = report.entities.iter().map(|e| e.records).sum();
    let requests: u64 = report.entities.iter().map(|e| e.requests.requests).sum();
    if report.succeeded() {
        log::info!(
            "run {} ({}) finished in {:.1} s: {records} records, {requests} requests",
            report.run_id,
            report.mode.name(),
            report.elapsed.as_secs_f64()
        );
        Ok(exit::SUCCESS)
    } else {
        let failed = report.failed_entities();
        log::error!(
            "run {} failed for {}; what was fetched is kept and the next run continues from there",
            report.run_id,
            failed.join(", ")
        );
        Ok(exit::FAILURE)
    }
}
