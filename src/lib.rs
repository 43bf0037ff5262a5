//! lightsync copies a Lightspeed Retail X-Series store into PostgreSQL and keeps it current.
//!
//! Data flows one way: the `lightspeed` client fetches pages, the `engine` spools each page in
//! the `checkpoint` store and then applies it to PostgreSQL through `db` in one transaction
//! with its cursor. `simulator` is a faithful fake of the API for tests, benchmarks and demos.

pub mod alert;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cron;
pub mod db;
pub mod engine;
pub mod entity;
pub mod exit;
pub mod health;
pub mod lightspeed;
pub mod local_postgres;
pub mod schedule;
pub mod simulator;
pub mod web;
