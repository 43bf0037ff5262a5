//! The command line: every command and flag (help text comes from the `///` comments).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ConfigFlags;
use crate::entity::Entity;

/// `lightsync --version`: the package version and the git commit it was built from (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LIGHTSYNC_GIT_COMMIT"),
    ")"
);

/// Copies a Lightspeed Retail X-Series store into PostgreSQL and keeps it current.
///
/// Configuration comes from environment variables (also read from ./.env); the flags below
/// override them. Exit codes: 0 done, 1 failed, 2 bad usage or configuration, 3 another run
/// holds the lock.
#[derive(Debug, Parser)]
#[command(
    name = "lightsync",
    version = VERSION,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    #[command(flatten)]
    pub config: ConfigFlags,
    /// Environment file to read instead of ./.env
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations (import, sync and serve also do this)
    Migrate,
    /// Historical import of every entity from version 0; resumes an unfinished one
    Import(ImportArgs),
    /// Incremental run for cron: fetch what changed since the last applied version
    Sync(SyncArgs),
    /// Compare the store's records with PostgreSQL's rows; --repair fixes what differs
    Reconcile(ReconcileArgs),
    /// Serve a simulated Lightspeed X-Series API for tests, benchmarks and demos
    Simulate(SimulateArgs),
    /// Serve the password-protected dashboard (needs LIGHTSYNC_DASHBOARD_PASSWORD)
    Serve(ServeArgs),
    /// Print an argon2 hash of a password read from stdin, for LIGHTSYNC_DASHBOARD_PASSWORD_HASH
    HashPassword,
    /// Each entity's health from PostgreSQL; exit 0 when all green, 1 otherwise
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Inspect and repair the local checkpoint store
    Checkpoint(CheckpointArgs),
    /// Manage the crontab entry that runs `lightsync sync`
    Cron {
        #[command(subcommand)]
        command: CronCommand,
    },
    /// The whole system in one command: simulator, database, import and dashboard
    Demo(DemoArgs),
    /// Alerts posted to LIGHTSYNC_ALERT_WEBHOOK_URL when an entity fails, turns red or recovers
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// The Lightspeed token in use
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The store's webhooks that tell `serve` what changed (OAuth apps with the webhooks scope)
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Register a webhook of every type lightsync acts on, posting to `serve`
    Install {
        /// The dashboard's public address (the path /hooks/lightspeed/<LIGHTSYNC_WEBHOOK_SECRET> is added), or the whole webhook URL
        #[arg(long)]
        url: String,
    },
    /// The store's webhooks (the secret in a URL is masked)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove webhooks: every one posting to --url, or the one --id names
    Remove {
        /// Remove every webhook posting to this address (as given to install)
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        url: Option<String>,
        /// Remove the webhook with this id (see `webhooks list`)
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Which kind of token is in use and, for an OAuth app, when it expires
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Post a test message to every configured webhook and report each one's answer
    Test,
}

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    #[command(subcommand)]
    pub command: CheckpointCommand,
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// The store's path, format and size; per entity the cursor, applied version and spool
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Every spooled batch
    List {
        /// Only this entity's batches
        #[arg(long)]
        entity: Option<Entity>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write the whole store, records included, as JSON
    Export {
        /// Where to write it
        file: PathBuf,
    },
    /// Check the store against itself and PostgreSQL; exit 1 if anything is wrong
    Verify,
    /// Discard local state (one entity, or all); the next run resumes from PostgreSQL
    Reset {
        /// Only this entity
        #[arg(long)]
        entity: Option<Entity>,
        /// Confirm
        #[arg(long)]
        yes: bool,
    },
    /// Make the next run fetch an entity again from a version
    Rewind {
        #[arg(long)]
        entity: Entity,
        /// The version to fetch after
        #[arg(long, value_name = "V")]
        to_version: i64,
        /// Allow a version above the one PostgreSQL has applied: the versions in between are
        /// never fetched
        #[arg(long)]
        forward: bool,
        /// Confirm
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Add (or replace) the entry that runs `lightsync sync`
    Install {
        /// When to run, in cron syntax
        #[arg(long, default_value = crate::cron::DEFAULT_SCHEDULE)]
        schedule: String,
        /// Append-only log of each run [default: lightsync-sync.log beside the env file]
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        // The configuration cron runs with is the global --env-file [default: ./.env].
    },
    /// Print the entry
    Show,
    /// Remove the entry, leaving every other line alone
    Remove,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Dashboard port
    #[arg(long, default_value_t = 5001)]
    pub port: u16,
    /// Sales in the simulated store
    #[arg(long, default_value_t = 20_000)]
    pub sales: u32,
    /// Seconds between simulated changes and incremental syncs
    #[arg(long, default_value_t = 30)]
    pub every_secs: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: Rocket.toml, else 127.0.0.1]
    #[arg(long)]
    pub address: Option<std::net::IpAddr>,
    /// Port to listen on [default: Rocket.toml, else 5001]
    #[arg(long)]
    pub port: Option<u16>,
    /// Also run `sync` on this cron schedule, e.g. "0 2 * * *" (local time) [env: LIGHTSYNC_SCHEDULE]
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// Also run a sampled `reconcile` on this cron schedule, e.g. "0 3 * * 0" [env: LIGHTSYNC_RECONCILE_SCHEDULE]
    #[arg(long, value_name = "CRON")]
    pub reconcile_schedule: Option<String>,
    /// Keep every entity current: poll each on its own interval, by default sales 30s,
    /// inventory 1m, products, customers and consignments 5m, the rest 1h; override with
    /// e.g. --follow=sales:10s,*:2h [env: LIGHTSYNC_FOLLOW]
    #[arg(long, value_name = "PLAN", num_args = 0..=1, require_equals = true, default_missing_value = "default")]
    pub follow: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Import only this entity (repeatable; default all)
    #[arg(long = "entity", value_name = "ENTITY", env = crate::config::vars::ENTITIES, value_delimiter = ',')]
    pub entities: Vec<Entity>,
    /// Start over from version 0 (existing rows stay; needs --yes)
    #[arg(long)]
    pub restart: bool,
    /// Confirm --restart
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only this entity (repeatable; default all)
    #[arg(long = "entity", value_name = "ENTITY", env = crate::config::vars::ENTITIES, value_delimiter = ',')]
    pub entities: Vec<Entity>,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Reconcile only this entity (repeatable; default all)
    #[arg(long = "entity", value_name = "ENTITY", value_delimiter = ',')]
    pub entities: Vec<Entity>,
    /// Check N windows of one page each at random versions instead of every record
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub sample: Option<u32>,
    /// Fetch again what is missing or stale, mark extra rows deleted, then check again
    #[arg(long)]
    pub repair: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 9100)]
    pub port: u16,
    /// Seed of the generated store
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 3)]
    pub outlets: u32,
    #[arg(long, default_value_t = 200)]
    pub products: u32,
    #[arg(long, default_value_t = 200)]
    pub customers: u32,
    #[arg(long, default_value_t = 1000)]
    pub sales: u32,
    /// Registers: the quota is 300 x registers + 50 requests per window
    #[arg(long, default_value_t = 1)]
    pub registers: u32,
    /// The only accepted token
    #[arg(long, default_value = "simulator")]
    pub token: String,
    /// Largest page served (page_size is clamped to it)
    #[arg(long, default_value_t = 1000)]
    pub page_cap: u32,
    /// Largest page served by /sales (default: --page-cap)
    #[arg(long)]
    pub sales_page_cap: Option<u32>,
    /// Rate-limit window length in seconds
    #[arg(long, default_value_t = 300)]
    pub window_secs: u64,
    /// Requests allowed per window instead of 300 x registers + 50
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Answer uncompressed even when a client asks for gzip (to measure what gzip saves)
    #[arg(long)]
    pub no_gzip: bool,
    /// Do not enforce a quota
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Share of requests that fail with an injected fault (0 to 1)
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Faults to inject: any of 500,502,503,400,cut,html (default: all)
    #[arg(long, value_delimiter = ',')]
    pub fail_kinds: Vec<String>,
    /// Latency added to every request, in milliseconds
    #[arg(long, default_value_t = 0)]
    pub slow_ms: u64,
    /// Oddities to imitate: a share such as 0.01 (that share of records carries one odd-but-real field value), no-version (pages without the version member), money-strings, ignore-after (a broken server), categories-nested (categories at data.data.categories), lines-ignore-after (consignment lines served whatever `after` says), unidentified-sales (two sales without a usable id or version)
    #[arg(long, value_delimiter = ',')]
    pub quirks: Vec<String>,
    /// Random changes per minute (updates, deletes, voids, new sales)
    #[arg(long, default_value_t = 0)]
    pub changes_per_minute: u32,
    /// Serve the /__simulator control endpoints (mutate, expected, stats, fail)
    #[arg(long)]
    pub control: bool,
    /// Send the store's webhooks of every type to this URL (as registered on its setup page)
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Share of webhooks never sent (0 to 1)
    #[arg(long, default_value_t = 0.0)]
    pub webhook_loss: f64,
    /// Share of webhooks sent twice (0 to 1)
    #[arg(long, default_value_t = 0.0)]
    pub webhook_duplicate: f64,
    /// Longest random delay before a webhook is sent, in milliseconds (later changes may arrive first)
    #[arg(long, default_value_t = 0)]
    pub webhook_delay_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn entities_parse_and_unknown_ones_are_rejected() {
        let cli = Cli::try_parse_from([
            "lightsync",
            "sync",
            "--entity",
            "sales",
            "--entity",
            "products",
        ])
        .unwrap();
        let Command::Sync(args) = cli.command else {
            panic!("not sync")
        };
        assert_eq!(args.entities, vec![Entity::Sales, Entity::Products]);
        assert!(Cli::try_parse_from(["lightsync", "sync", "--entity", "line_items"]).is_err());
    }
}
