//! Supabase readiness against real servers: TLS (`sslmode=require` and `verify-full` with a
//! self-signed certificate made here), PgBouncer in session mode (works) and transaction mode
//! on any port (refused at start, nothing written), row-level security hiding rows from other roles, and a non-public schema.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::{sql_query, RunQueryDsl};
use lightsync::config::DatabaseUrl;
use lightsync::local_postgres::LocalPostgres;
use predicates::prelude::*;

use crate::support::{
    assert_matches_simulator, count, count_on, eventually, lightsync, TestDatabase, TestSimulator,
};

fn self_signed_certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certificate = dir.join("server.crt");
    let key = dir.join("server.key");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("this test needs the openssl command to make a certificate");
    assert!(status.success());
    (certificate, key)
}

fn create_database(server: &LocalPostgres, name: &str) -> DatabaseUrl {
    let mut admin = lightsync::db::connect(&server.url("postgres")).unwrap();
    sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    server.url(name)
}

fn with_params(url: &DatabaseUrl, params: &str) -> DatabaseUrl {
    let text = url.expose().replace("127.0.0.1", "localhost");
    DatabaseUrl::parse(&format!("{text}&{params}"), "DATABASE_URL").unwrap()
}

#[test]
fn tls_require_and_verify_full_work_and_require_without_tls_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (certificate, key) = self_signed_certificate(dir.path());
    let tls_server =
        LocalPostgres::start_with_tls(&certificate, &key).expect("a PostgreSQL with TLS");
    let url = create_database(&tls_server, "tls");
    let sim = TestSimulator::with_store(2, 20, 20, 60);
    let database =
        crate::support::database::TestDatabase::adopt(with_params(&url, "sslmode=require"));
    lightsync(&database, &sim, &dir.path().join("cp"))
        .arg("import")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
    assert_eq!(
        count(
            &database.url,
            "SELECT count(*)::BIGINT AS n FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl"
        ),
        1,
        "the connection is encrypted"
    );
    let verified = crate::support::database::TestDatabase::adopt(with_params(
        &url,
        &format!("sslmode=verify-full&sslrootcert={}", certificate.display()),
    ));
    sim.handle.mutate(20);
    lightsync(&verified, &sim, &dir.path().join("cp"))
        .arg("sync")
        .assert()
        .success();
    assert_matches_simulator(&verified, &sim);
    lightsync(&verified, &sim, &dir.path().join("cp"))
        .arg("status")
        .assert()
        .success();
    let client = crate::web::dashboard_with(crate::web::test_state(&verified));
    assert_eq!(
        client.get("/healthz").dispatch().status(),
        rocket::http::Status::Ok
    );

    let plain_server = LocalPostgres::start().unwrap();
    let plain = with_params(&create_database(&plain_server, "plain"), "sslmode=require");
    assert_cmd::Command::from_std(crate::support::bare_lightsync())
        .env("DATABASE_URL", plain.expose())
        .arg("migrate")
        .assert()
        .failure()
        .stderr(predicate::str::contains("sslmode"));
}

struct PgBouncer {
    child: Child,
    port: u16,
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pgbouncer(dir: &Path, upstream: &DatabaseUrl, mode: &str, port: u16) -> PgBouncer {
    let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("this test needs PgBouncer (Debian: `apt-get install pgbouncer`)");
    let (host, upstream_port) = upstream
        .host_port()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let work = dir.join(format!("pgbouncer-{mode}"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("userlist.txt"), "\"postgres\" \"\"\n").unwrap();
    std::fs::write(
        work.join("pgbouncer.ini"),
        format!(
            "[databases]\n* = host={host} port={upstream_port}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = trust\nauth_file = {0}/userlist.txt\npool_mode = {mode}\nunix_socket_dir =\nlogfile = {0}/pgbouncer.log\npidfile = {0}/pgbouncer.pid\nmax_client_conn = 200\ndefault_pool_size = 20\nignore_startup_parameters = extra_float_digits,options\n",
            work.display()
        ),
    )
    .unwrap();
    let mut command = Command::new(program);
    command
        .arg(work.join("pgbouncer.ini"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // PgBouncer refuses to run as root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let owner = lightsync::local_postgres::unprivileged_user().expect("the postgres user");
        for path in [
            dir.to_path_buf(),
            work.clone(),
            work.join("userlist.txt"),
            work.join("pgbouncer.ini"),
        ] {
            std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).unwrap();
        }
        use std::os::unix::process::CommandExt;
        command.uid(owner.0).gid(owner.1);
    }
    let child = command.spawn().unwrap();
    eventually(
        Duration::from_secs(20),
        format_args!(
            "pgbouncer did not start (its log is {})",
            work.join("pgbouncer.log").display()
        ),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    PgBouncer { child, port }
}

fn through(bouncer: &PgBouncer, database: &TestDatabase) -> DatabaseUrl {
    let name = database.url.database_name().unwrap().to_string();
    DatabaseUrl::parse(
        &format!("postgres://postgres@127.0.0.1:{}/{name}", bouncer.port),
        "DATABASE_URL",
    )
    .unwrap()
}

#[test]
fn a_session_pooler_works_like_a_direct_connection_and_a_transaction_pooler_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let database = TestDatabase::migrated();
    let sim = TestSimulator::with_store(2, 25, 25, 80);
    let free = crate::support::free_port();
    let session = pgbouncer(dir.path(), &database.url, "session", free);
    let pooled = crate::support::database::TestDatabase::adopt(through(&session, &database));
    let checkpoint = dir.path().join("cp");
    lightsync(&pooled, &sim, &checkpoint)
        .arg("import")
        .assert()
        .success();
    sim.handle.mutate(40);
    lightsync(&pooled, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    lightsync(&pooled, &sim, &checkpoint)
        .arg("status")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);

    // A transaction-mode pooler on a port that says nothing about it: refused at start, before
    // the checkpoint store or the database is touched.
    let any_port = crate::support::free_port();
    let transaction = pgbouncer(dir.path(), &database.url, "transaction", any_port);
    let pooled = crate::support::database::TestDatabase::adopt(through(&transaction, &database));
    let runs_before = count(&database.url, "SELECT count(*) AS n FROM sync_log");
    let untouched = dir.path().join("cp-transaction");
    for command in [
        vec!["sync"],
        vec!["import"],
        vec!["migrate"],
        vec!["status"],
    ] {
        lightsync(&pooled, &sim, &untouched)
            .args(&command)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("transaction-mode pooler"))
            .stderr(predicate::str::contains("session-mode pooler"));
    }
    assert_eq!(
        count(&database.url, "SELECT count(*) AS n FROM sync_log"),
        runs_before,
        "nothing ran"
    );
    assert!(!untouched.exists(), "no checkpoint store was made");
}

#[test]
fn row_level_security_hides_every_row_from_other_roles() {
    let database = TestDatabase::migrated();
    let sim = TestSimulator::with_store(2, 10, 30, 10);
    let dir = tempfile::tempdir().unwrap();
    lightsync(&database, &sim, &dir.path().join("cp"))
        .arg("import")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
    let role = format!("reporting_{}", rand::random::<u32>());
    let mut conn = database.connect();
    sql_query(format!(
        "CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS"
    ))
    .execute(&mut conn)
    .unwrap();
    sql_query(format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
    ))
    .execute(&mut conn)
    .unwrap();
    sql_query(format!("SET ROLE {role}"))
        .execute(&mut conn)
        .unwrap();
    let seen = count_on(&mut conn, "SELECT count(*) AS n FROM lightspeed_customers");
    // The report views read with the querying role's rights (PostgreSQL 15+: security_invoker),
    // so they hide every row too.
    let reported = count_on(
        &mut conn,
        "SELECT count(*) AS n FROM lightspeed_report_customers",
    ) + count_on(
        &mut conn,
        "SELECT count(*) AS n FROM lightspeed_report_sales",
    );
    sql_query("RESET ROLE").execute(&mut conn).unwrap();
    let owned = count_on(&mut conn, "SELECT count(*) AS n FROM lightspeed_customers");
    sql_query(format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"
    ))
    .execute(&mut conn)
    .unwrap();
    sql_query(format!("DROP ROLE {role}"))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        seen, 0,
        "a role without ownership or BYPASSRLS sees nothing"
    );
    assert_eq!(owned, 30, "the import is complete");
    assert_eq!(reported, 0, "the report views respect row-level security");
}

#[test]
fn tables_can_live_in_a_schema_other_than_public() {
    let database = TestDatabase::empty();
    let sim = TestSimulator::with_store(2, 10, 10, 30);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .env("LIGHTSYNC_DB_SCHEMA", "lightsync_data")
        .arg("import")
        .assert()
        .success();
    assert_eq!(
        count(&database.url, "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'lightsync_data' AND table_name LIKE 'lightspeed_%' AND table_type = 'BASE TABLE'") as usize,
        lightsync::db::rows::declared_tables().len() + 1,
        "the declared tables and lightspeed_quarantine"
    );
    assert_eq!(
        count(
            &database.url,
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        ),
        0,
        "nothing lands in public"
    );
    let in_schema = crate::support::database::TestDatabase::adopt(
        database.url.with_search_path("lightsync_data"),
    );
    assert_matches_simulator(&in_schema, &sim);
    lightsync(&database, &sim, &checkpoint)
        .env("LIGHTSYNC_DB_SCHEMA", "lightsync_data")
        .args(["status", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"all_green\": true"));
    let client = crate::web::dashboard_with(crate::web::test_state(&in_schema));
    crate::web::sign_in(&client);
    let status: serde_json::Value = client.get("/api/status").dispatch().into_json().unwrap();
    assert_eq!(status["entities"][4]["rows"], 30);
}
