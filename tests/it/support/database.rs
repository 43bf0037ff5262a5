//! A fresh, migrated PostgreSQL database per test, on the server named by `TEST_DATABASE_URL` or
//! `DATABASE_URL`, or else on a throwaway local server started once for the whole test binary.
//! Without either, the test fails with a message saying how to get one. Migrations run once per
//! test process, into a template database that every test's database is cloned from.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel::{sql_query, PgConnection, RunQueryDsl};
use lightsync::config::DatabaseUrl;
use lightsync::db;
use lightsync::local_postgres::LocalPostgres;

/// The server every test database lives on.
enum Server {
    Given(DatabaseUrl),
    Local(DatabaseUrl),
}

static LOCAL: Mutex<Option<LocalPostgres>> = Mutex::new(None);

extern "C" fn stop_local_server() {
    if let Ok(mut local) = LOCAL.lock() {
        local.take();
    }
}

fn server() -> &'static DatabaseUrl {
    static SERVER: OnceLock<Server> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        for variable in ["TEST_DATABASE_URL", "DATABASE_URL"] {
            if let Some(value) = std::env::var(variable).ok().filter(|v| !v.trim().is_empty()) {
                let url = DatabaseUrl::parse(&value, "TEST_DATABASE_URL")
                    .unwrap_or_else(|err| panic!("{variable} is not usable: {err}"));
                sweep_leftovers(&url);
                return Server::Given(url);
            }
        }
        let local = LocalPostgres::start().unwrap_or_else(|err| {
            panic!(
                "this test needs PostgreSQL: set TEST_DATABASE_URL to a server where it may create databases \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres), or install PostgreSQL's server binaries \
                 so a throwaway one can be started ({err:#})"
            )
        });
        let url = local.url("postgres");
        *LOCAL.lock().unwrap() = Some(local);
        // SAFETY: registering a plain extern "C" function with atexit has no preconditions.
        unsafe {
            libc::atexit(stop_local_server);
        }
        Server::Local(url)
    });
    match server {
        Server::Given(url) | Server::Local(url) => url,
    }
}

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

/// Drops the databases earlier test processes on this machine left behind (killed before they
/// could drop them): named by `unique_name`, their process gone. Only on a server of this
/// machine, where a process id says something.
fn sweep_leftovers(server: &DatabaseUrl) {
    let local = url::Url::parse(server.expose()).is_ok_and(|url| {
        matches!(
            url.host_str(),
            None | Some("127.0.0.1" | "localhost" | "::1" | "[::1]")
        )
    });
    if !local {
        return;
    }
    let Ok(mut admin) = db::connect(server) else {
        return; // the first test to need the server says why it cannot be reached
    };
    let Ok(names) = sql_query(
        "SELECT datname FROM pg_database WHERE datname ~ '^lightsync_(test|template)_[0-9]+_'",
    )
    .load::<Named>(&mut admin) else {
        return;
    };
    for Named { datname } in names {
        let pid = datname.split('_').nth(2).unwrap_or_default();
        let alive = std::path::Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

fn unique_name(kind: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "lightsync_{kind}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    )
}

fn admin(server: &DatabaseUrl) -> PgConnection {
    db::connect(server)
        .unwrap_or_else(|err| panic!("cannot reach the test PostgreSQL server {server}: {err}"))
}

static TEMPLATE: Mutex<Option<String>> = Mutex::new(None);

extern "C" fn drop_template() {
    let Some(name) = TEMPLATE.lock().ok().and_then(|mut name| name.take()) else {
        return;
    };
    if let Ok(mut admin) = db::connect(server()) {
        let _ =
            sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
    }
}

/// The migrated template of this test process, created on first use and dropped at exit.
fn template() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let server = server();
        let name = unique_name("template");
        sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin(server))
            .unwrap_or_else(|err| panic!("cannot create the template database on {server}: {err}"));
        {
            let mut conn =
                db::connect(&server.with_database(&name)).expect("connect to the template");
            db::run_pending_migrations(&mut conn).expect("migrations apply to a fresh database");
        }
        *TEMPLATE.lock().unwrap() = Some(name.clone());
        // SAFETY: registering a plain extern "C" function with atexit has no preconditions.
        unsafe {
            libc::atexit(drop_template);
        }
        name
    })
}

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    name: String,
}

impl TestDatabase {
    /// A fresh database with every migration applied (a clone of the migrated template).
    pub fn migrated() -> TestDatabase {
        TestDatabase::create(Some(template()))
    }

    /// A fresh database with nothing in it.
    pub fn empty() -> TestDatabase {
        TestDatabase::create(None)
    }

    fn create(template: Option<&str>) -> TestDatabase {
        let server = server();
        let name = unique_name("test");
        let mut admin = admin(server);
        let statement = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        // Cloning waits for nothing, but PostgreSQL refuses while any session is still attached
        // to the template; the only ones are the template's own, closed before it is used.
        sql_query(statement)
            .execute(&mut admin)
            .unwrap_or_else(|err| panic!("cannot create a test database on {server}: {err}"));
        TestDatabase {
            url: server.with_database(&name),
            name,
        }
    }

    /// Takes over a database created elsewhere (its server is not the shared test server, so it
    /// is not dropped here).
    pub fn adopt(url: DatabaseUrl) -> TestDatabase {
        TestDatabase {
            url,
            name: String::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn connect(&self) -> PgConnection {
        db::connect(&self.url).expect("connect to the test database")
    }

    /// The single number `sql` selects (as `n`).
    pub fn count(&self, sql: &str) -> i64 {
        count(&self.url, sql)
    }
}

/// The single number `sql` selects as `n`, from the database at `url`.
pub fn count(url: &DatabaseUrl, sql: &str) -> i64 {
    count_on(
        &mut db::connect(url).expect("connect to the test database"),
        sql,
    )
}

/// The single number `sql` selects as `n`, on an open connection.
pub fn count_on(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query(sql)
        .get_result::<Count>(conn)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .n
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        if let Ok(mut admin) = db::connect(server()) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
