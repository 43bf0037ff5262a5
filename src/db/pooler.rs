//! Refusing a transaction-mode pooler (PgBouncer `pool_mode = transaction`, Supavisor's
//! transaction port, the managed pools of hosting providers) before anything is written. Such a
//! pooler hands each transaction to whichever server session is free, so the run's session
//! lock and diesel's named prepared statements do not survive from one statement to the next.
//! The probe makes that visible on any port: while a second client holds a transaction open, a
//! first client's next statement must run on another server session (or wait for one); on a
//! direct connection or a session-mode pooler it runs on its own session at once.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use crate::config::DatabaseUrl;

/// Supabase's transaction-mode pooler port, refused without a probe.
pub const SUPABASE_TRANSACTION_PORT: u16 = 6543;

/// How long the first client's statement may wait while the second holds its transaction: a
/// direct connection answers in milliseconds; a pool with no free server session never does.
const PATIENCE: Duration = Duration::from_secs(2);

#[derive(QueryableByName)]
struct Backend {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

fn backend_pid(conn: &mut PgConnection) -> Result<i32, DbError> {
    Ok(sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Backend>(conn)?
        .pid)
}

/// Refuses `url` when it leads through a transaction-mode pooler, once per process and URL
/// (`connect` calls it before handing out a connection).
pub fn refuse_transaction_pooler(
    url: &DatabaseUrl,
    establish: impl Fn() -> Result<PgConnection, DbError>,
) -> Result<(), DbError> {
    static PROBED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let key = url.host_port() + "/" + url.database_name().unwrap_or_default();
    let probed = PROBED.get_or_init(Default::default);
    if probed.lock().expect("probe set").contains(&key) {
        return Ok(());
    }
    let refuse = |how: &str| DbError::TransactionPooler {
        host_port: url.host_port(),
        how: how.to_string(),
    };
    if url.port() == SUPABASE_TRANSACTION_PORT {
        return Err(refuse("port 6543 is Supabase's transaction-mode pooler"));
    }
    let started = Instant::now();
    if let Some(how) = probe(&establish)? {
        return Err(refuse(&how));
    }
    log::debug!(
        "{}: not a transaction-mode pooler (probed in {} ms)",
        url.host_port(),
        started.elapsed().as_millis()
    );
    probed.lock().expect("probe set").insert(key);
    Ok(())
}

/// What gave a transaction-mode pooler away, if anything did.
fn probe(
    establish: &impl Fn() -> Result<PgConnection, DbError>,
) -> Result<Option<String>, DbError> {
    let mut first = establish()?;
    let before = backend_pid(&mut first)?;
    let mut second = establish()?;
    second.batch_execute("BEGIN").map_err(DbError::Query)?;
    backend_pid(&mut second)?;
    let (answer, answered) = mpsc::channel();
    let asking = std::thread::spawn(move || {
        let _ = answer.send(backend_pid(&mut first));
    });
    let after = answered.recv_timeout(PATIENCE);
    second.batch_execute("COMMIT").map_err(DbError::Query)?;
    let after = match after {
        Ok(after) => after?,
        Err(_) => {
            let _ = asking.join();
            return Ok(Some(
                "a statement waited while another client held a transaction open".into(),
            ));
        }
    };
    let _ = asking.join();
    Ok((after != before)
        .then(|| "two statements of one connection ran on different server sessions".to_string()))
}
