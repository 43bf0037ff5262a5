//! The engine: runs the checkpoint protocol of DESIGN.md. Per entity, pages are fetched, spooled
//! with their cursor in the checkpoint store, applied to PostgreSQL in one transaction with the
//! entity's applied version, then released; every run starts by recovering what a previous one
//! left. It is the only module that uses the API client, the checkpoint store and the database
//! together.

mod applier;
pub(crate) mod child_fetch;
mod failure;
mod lanes;
pub mod mapping;
mod panics;
mod pipeline;
mod progress;
mod recovery;
mod refresh;
mod report;
mod run;
mod run_open;
mod skip;
mod stream;
pub mod untyped;
mod write_strategy;

pub use pipeline::EntityProgress;
pub use recovery::{recover_entity, Recovered};
pub use report::{EntityReport, RunReport};
pub use run::{new_run_id, open_client, run, run_with_client, RunMode, RunRequest};
