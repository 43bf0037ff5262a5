//! lightsync copies a Lightspeed Retail X-Series store into PostgreSQL and keeps it current.
//!
//! Data flows one way: the `lightspeed` client fetches pages, the `engine` spools each page in
//! the `checkpoint` store and then applies it to PostgreSQL through `db` in one transaction
//! with its cursor. `docs/ARCHITECTURE.md` explains the data flow, the checkpoint protocol and
//! its invariants, where each rule lives and how to add an entity.
//!
//! Modules, one line each:
//! - `alert`: webhook alerts on state changes that matter, sent once (recorded in PostgreSQL).
//! - `backoff`: the capped exponential backoff curve every retry loop uses.
//! - `checkpoint`: the local sled store of cursors and spooled pages; `judge_spool` is the rule.
//! - `cli`: the command line (clap derive); help text comes from `///` comments.
//! - `commands`: one function per command, from configuration to exit code.
//! - `config`: configuration from flags, the environment and `.env`, one file per area.
//! - `cron`: the one crontab entry lightsync manages (pure text handling).
//! - `db`: PostgreSQL schema, migrations, row types, the batch writer and run bookkeeping.
//! - `engine`: a run: locks, recovery, the fetch -> spool -> apply stream per entity.
//! - `entity`: the entities lightsync copies and their names everywhere.
//! - `exit`: the documented exit codes and which errors map to them.
//! - `health`: an entity's health colour from its status and age (pure).
//! - `lightspeed`: the API client: paging, decoding, rate governor, retries.
//! - `local_postgres`: a throwaway PostgreSQL for tests and the demo.
//! - `private_files`: directories 0700 and files 0600 for everything holding customers' data.
//! - `schedule`: `serve --schedule`: cron-style syncs inside the dashboard process.
//! - `simulator`: a faithful fake of the API for tests, benchmarks and the demo.
//! - `web`: the Rocket dashboard, its JSON API and `/healthz`.

pub mod alert;
pub mod backoff;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cron;
pub mod db;
pub mod engine;
pub mod entity;
pub mod exit;
pub mod failpoint;
pub mod health;
pub mod lightspeed;
pub mod local_postgres;
pub mod output;
pub mod private_files;
pub mod reconcile;
pub mod schedule;
pub mod simulator;
pub mod web;

/// The integration tests need the test build (`required-features` in Cargo.toml), so a plain
/// `cargo test` would skip them without a word: this test says what to run instead.
#[cfg(all(test, not(feature = "failpoints")))]
#[test]
fn the_whole_suite_needs_the_failpoints_feature() {
    panic!("plain `cargo test` runs only the unit tests: run `scripts/test` (or `cargo test --features failpoints`) for the whole suite");
}
