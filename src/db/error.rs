//! `DbError`: database failures, classified so the engine can wait out an outage and the CLI
//! can say what to fix. Messages never contain the database password.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to PostgreSQL at {host_port} (check DATABASE_URL): {reason}")]
    Connect { host_port: String, reason: String },
    #[error("running migrations failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] DieselError),
    #[error("connection pool: {0}")]
    Pool(String),
    #[error("cannot encode rows for the database: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the {entity} batch after version {after} does not continue the version PostgreSQL has applied: the database lost committed work or was restored from a backup; nothing was written, and the next run fetches again from PostgreSQL's version")]
    Continuity { entity: String, after: i64 },
    #[error("stopped before committing: an earlier batch of the same entity failed")]
    Stopped,
    #[error("{host_port} is a transaction-mode pooler ({how}): a run needs one server session per connection for its lock and prepared statements. Use the direct connection string, or the session-mode pooler's (PgBouncer pool_mode = session; Supabase: the pooler host on port 5432)")]
    TransactionPooler { host_port: String, how: String },
    #[error("waited too long for the batch before it to commit (they may touch the same row); rolled back to wait outside the transaction")]
    TurnTimedOut,
}

impl DbError {
    /// Whether a row the batch inserted as new exists already (a unique violation): the batch
    /// wrote nothing and is to be written again as an upsert.
    pub fn is_key_taken(&self) -> bool {
        matches!(
            self,
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// Whether the failure looks like the server or the network going away (worth waiting
    /// out), as opposed to a bug or a schema problem.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Connect { .. } | DbError::Pool(_) => true,
            DbError::Query(err) => is_transient_diesel(err),
            DbError::Migration(_)
            | DbError::Encode(_)
            | DbError::Continuity { .. }
            | DbError::Stopped
            | DbError::TransactionPooler { .. }
            | DbError::TurnTimedOut => false,
        }
    }
}

fn is_transient_diesel(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::BrokenTransactionManager => true,
        DieselError::DatabaseError(_, info) => looks_like_outage(info.message()),
        other => looks_like_outage(&other.to_string()),
    }
}

/// Whether a failure is one that writing the batch again gets past: the server or the network
/// going away, or a deadlock (PostgreSQL aborted this transaction to free another one waiting
/// on it, e.g. a batch and the report totals a Discount product that just landed recomputes).
fn looks_like_outage(message: &str) -> bool {
    const OUTAGE_MARKERS: [&str; 12] = [
        "deadlock detected",
        "server closed the connection",
        "terminating connection",
        "connection refused",
        "could not connect",
        "no connection to the server",
        "connection to server",
        "the database system is shutting down",
        "the database system is starting up",
        "SSL connection has been closed",
        // OpenSSL's words for a TLS connection cut mid-read or mid-write.
        "SSL error: unexpected eof",
        "SSL SYSCALL error",
    ];
    OUTAGE_MARKERS.iter().any(|marker| message.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_transient_and_schema_errors_are_not() {
        assert!(DbError::Connect {
            host_port: "h:1".into(),
            reason: "refused".into()
        }
        .is_transient());
        assert!(DbError::Query(DieselError::BrokenTransactionManager).is_transient());
        assert!(looks_like_outage("deadlock detected"));
        assert!(looks_like_outage("SSL error: unexpected eof while reading"));
        assert!(!DbError::Query(DieselError::NotFound).is_transient());
        assert!(!DbError::Migration("x".into()).is_transient());
    }
}
