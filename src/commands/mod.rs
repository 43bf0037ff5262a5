//! One function per command: builds the configuration it needs, runs it, prints the result and
//! returns the exit code. `main` only parses and maps errors.

mod alert;
mod checkpoint;
mod cron;
mod demo;
mod migrate;
mod reconcile;
mod run;
mod serve;
mod simulate;
mod status;
mod token;
mod webhooks;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the parsed command; `Ok` carries the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let config = Config::from_env(&cli.global.config)?;
    match cli.command {
        Command::Migrate => migrate::migrate(&config),
        Command::Import(args) => run::import(&config, args),
        Command::Sync(args) => run::sync(&config, args),
        Command::Reconcile(args) => reconcile::reconcile(&config, args),
        Command::Simulate(args) => simulate::simulate(args),
        Command::Serve(args) => serve::serve(&config, args),
        Command::HashPassword => serve::hash_password(),
        Command::Status { json } => status::status(&config, json),
        Command::Checkpoint(args) => checkpoint::checkpoint(&config, args),
        Command::Cron { command } => cron::cron(command, cli.global.env_file.clone()),
        Command::Demo(args) => demo::demo(config, args),
        Command::Alert { command } => alert::alert(&config, command),
        Command::Token { command } => token::token(&config, command),
        Command::Webhooks { command } => webhooks::webhooks(&config, command),
    }
}

/// A multi-threaded runtime for the commands that do async work.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
