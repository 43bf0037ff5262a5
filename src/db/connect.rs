//! Opening PostgreSQL connections and pools from a `DatabaseUrl`, with errors that name the host
//! and port but never the password.

use std::time::Duration;

use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{Connection, PgConnection};

use super::error::DbError;
use crate::config::DatabaseUrl;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PooledPg = PooledConnection<ConnectionManager<PgConnection>>;

/// Opens one connection.
pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, DbError> {
    PgConnection::establish(url.expose()).map_err(|err| DbError::Connect {
        host_port: url.host_port(),
        reason: url.scrub(err.to_string().trim()),
    })
}

/// Builds a pool of up to `max_size` connections; checks one connection first so a bad URL fails
/// with a clear message rather than a pool timeout.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<PgPool, DbError> {
    drop(connect(url)?);
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(15))
        .test_on_check_out(true)
        .build(ConnectionManager::new(url.expose()))
        .map_err(|err| DbError::Pool(url.scrub(&err.to_string())))
}

/// Takes a connection from the pool.
pub fn checkout(pool: &PgPool, url: &DatabaseUrl) -> Result<PooledPg, DbError> {
    pool.get().map_err(|err| DbError::Connect {
        host_port: url.host_port(),
        reason: url.scrub(&err.to_string()),
    })
}
