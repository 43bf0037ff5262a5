//! Opening PostgreSQL connections and pools from a `DatabaseUrl`, with errors that name the host
//! and port but never the password.

use std::time::Duration;

use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{Connection, PgConnection};

use super::error::DbError;
use super::pooler::refuse_transaction_pooler;
use crate::config::DatabaseUrl;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PooledPg = PooledConnection<ConnectionManager<PgConnection>>;

/// Opens one connection. The first connection of a process to a server is refused when it
/// goes through a transaction-mode pooler (`pooler`).
pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, DbError> {
    let establish = || {
        PgConnection::establish(url.expose()).map_err(|err| DbError::Connect {
            host_port: url.host_port(),
            reason: explain(url, &err.to_string()),
        })
    };
    refuse_transaction_pooler(url, establish)?;
    establish()
}

/// A driver message without the password, with a hint when TLS is the problem.
fn explain(url: &DatabaseUrl, message: &str) -> String {
    let scrubbed = url.scrub(message.trim());
    if scrubbed.contains("SSL") || scrubbed.contains("ssl") {
        format!(
            "{scrubbed} (check sslmode, sslrootcert and the server's TLS setup in DATABASE_URL)"
        )
    } else {
        scrubbed
    }
}

/// Logs pool connection failures once, as warnings, without the password.
#[derive(Debug)]
struct ScrubbingErrorHandler {
    url: DatabaseUrl,
}

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for ScrubbingErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::warn!(
            "PostgreSQL connection to {} failed: {}",
            self.url.host_port(),
            self.url.scrub(error.to_string().trim())
        );
    }
}

/// How long taking a connection from the pool may wait before the caller sees the failure (and
/// its own retry policy takes over).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a pool of up to `max_size` connections; checks one connection first so a bad URL fails
/// with a clear message rather than a pool timeout.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<PgPool, DbError> {
    drop(connect(url)?);
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .test_on_check_out(true)
        .error_handler(Box::new(ScrubbingErrorHandler { url: url.clone() }))
        .build(ConnectionManager::new(url.expose()))
        .map_err(|err| DbError::Pool(explain(url, &err.to_string())))
}

/// Takes a connection from the pool.
pub fn checkout(pool: &PgPool, url: &DatabaseUrl) -> Result<PooledPg, DbError> {
    pool.get().map_err(|err| DbError::Connect {
        host_port: url.host_port(),
        reason: url.scrub(&err.to_string()),
    })
}
