//! lightsync's integration tests, in one binary: real PostgreSQL, the real `lightsync` binary,
//! and the simulator over real HTTP.

mod alerts;
mod browser;
mod categories;
mod client;
mod config_cli;
mod consignment_lines;
mod contract;
mod dashboard_charts;
mod docs;
mod engine;
mod fidelity;
mod follow;
mod install;
mod metrics;
mod migrations;
mod oauth;
mod operations;
mod quarantine;
mod reconcile;
mod reports;
mod schedule;
mod skipped;
mod slow_link;
mod supabase;
mod support;
mod web;
mod web_security;
mod webhooks;

mod crash;
