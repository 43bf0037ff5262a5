//! The per-store run lock in PostgreSQL: a session advisory lock held on a dedicated connection
//! for the whole run, so two machines never sync the same store into one database.

use diesel::sql_types::{BigInt, Bool};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;

/// The advisory lock key of a store: a stable 64-bit hash of its identity (the API base URL).
pub fn store_lock_key(store_identity: &str) -> i64 {
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"lightsync:".iter().chain(store_identity.as_bytes()) {
        hash ^= *byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Another run holds the store's lock, or the checkpoint store's (exit code 3). The message
/// names who holds it and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockHeld(pub String);

#[derive(QueryableByName)]
struct Acquired {
    #[diesel(sql_type = Bool)]
    acquired: bool,
}

/// Tries to take the store's lock on this connection; `false` when another session holds it.
/// The lock lasts until the connection closes.
pub fn try_lock_store(conn: &mut PgConnection, key: i64) -> Result<bool, DbError> {
    let row: Acquired = sql_query("SELECT pg_try_advisory_lock($1) AS acquired")
        .bind::<BigInt, _>(key)
        .get_result(conn)?;
    Ok(row.acquired)
}

/// Whether this session visibly holds the store's advisory lock, checked by a separate
/// statement. Through a transaction-mode pooler consecutive statements may run on different
/// server sessions, so the lock is not where it was taken: such a connection cannot protect a
/// run and lightsync refuses it.
pub fn session_holds_lock(conn: &mut PgConnection, key: i64) -> Result<bool, DbError> {
    let row: Acquired = sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND pid = pg_backend_pid() AND objsubid = 1 \
         AND ((classid::bigint << 32) | objid::bigint) = $1) AS acquired",
    )
    .bind::<BigInt, _>(key)
    .get_result(conn)?;
    Ok(row.acquired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(store_lock_key("a"), store_lock_key("a"));
        assert_ne!(store_lock_key("a"), store_lock_key("b"));
    }
}
