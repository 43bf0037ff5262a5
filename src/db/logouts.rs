//! `lightsync_dashboard_logouts`: dashboard sessions ended by a logout (a digest of the session
//! id and when the session would have expired), so a logout survives a restart.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Text, Timestamptz};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::DbError;

#[derive(QueryableByName)]
struct Logout {
    #[diesel(sql_type = Text)]
    session_digest: String,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

/// Records a logout, and forgets logouts of sessions that have expired since.
pub fn record_logout(
    conn: &mut PgConnection,
    session_digest: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    sql_query("DELETE FROM lightsync_dashboard_logouts WHERE expires_at < now()").execute(conn)?;
    sql_query(
        "INSERT INTO lightsync_dashboard_logouts (session_digest, expires_at) VALUES ($1, $2) \
         ON CONFLICT (session_digest) DO NOTHING",
    )
    .bind::<Text, _>(session_digest)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)?;
    Ok(())
}

/// The logouts of sessions that have not expired yet: `(digest, expires_at)`.
pub fn load_logouts(conn: &mut PgConnection) -> Result<Vec<(String, DateTime<Utc>)>, DbError> {
    let rows: Vec<Logout> = sql_query(
        "SELECT session_digest, expires_at FROM lightsync_dashboard_logouts \
         WHERE expires_at >= now()",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.session_digest, row.expires_at))
        .collect())
}
