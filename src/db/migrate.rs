//! The embedded migrations: applying pending ones and (for tests) reverting them all.

use diesel::PgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies every pending migration; returns the names of those applied (empty when up to date).
pub fn run_pending_migrations(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|err| DbError::Migration(err.to_string()))?;
    Ok(applied.iter().map(|version| version.to_string()).collect())
}

/// Reverts every applied migration (tests and `down` checks).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    let reverted = conn
        .revert_all_migrations(MIGRATIONS)
        .map_err(|err| DbError::Migration(err.to_string()))?;
    Ok(reverted.iter().map(|version| version.to_string()).collect())
}
