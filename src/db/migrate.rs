//! The embedded migrations: applying pending ones and (for tests) reverting them all.

use diesel::{PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Creates the first schema on the search path if it does not exist yet (a schema chosen with
/// `LIGHTSYNC_DB_SCHEMA` or `options=-c search_path=...`), so migrations create the tables there.
fn ensure_schema(conn: &mut PgConnection) -> Result<(), DbError> {
    diesel::sql_query(
        "DO $$ BEGIN \
           IF current_schema() IS NULL THEN \
             EXECUTE format('CREATE SCHEMA %I', trim(both ' \"' from split_part(current_setting('search_path'), ',', 1))); \
           END IF; \
         END $$",
    )
    .execute(conn)?;
    Ok(())
}

/// Applies every pending migration; returns the names of those applied (empty when up to date).
pub fn run_pending_migrations(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    ensure_schema(conn)?;
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
