//! `lightsync migrate`: applies pending migrations and says what it did.

use crate::config::Config;
use crate::{db, exit};

pub fn migrate(config: &Config) -> anyhow::Result<i32> {
    let url = config.database_url()?;
    let mut conn = db::connect(url)?;
    let applied = db::run_pending_migrations(&mut conn)?;
    if applied.is_empty() {
        crate::outln!(
            "database {} is up to date; no migrations to apply",
            url.host_port()
        );
    } else {
        for version in &applied {
            crate::outln!("applied migration {version}");
        }
        crate::outln!(
            "applied {} migration(s) to {}",
            applied.len(),
            url.host_port()
        );
    }
    Ok(exit::SUCCESS)
}
