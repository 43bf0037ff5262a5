//! Shared helpers for the integration tests: databases, the simulator, the binary, and the
//! exact comparison of a database with the simulator's ground truth.

pub mod database;
pub mod process;
pub mod proxy;
pub mod simulator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::entity::Entity;

pub use database::{count, count_on, TestDatabase};
pub use process::{bare_lightsync, RunningChild};
pub use simulator::TestSimulator;

/// A store imported into a fresh database by the real binary: the simulator, the database and
/// the checkpoint directory the import used (`cp` in a temporary directory).
pub struct ImportedStore {
    pub sim: TestSimulator,
    pub database: TestDatabase,
    pub checkpoint: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl ImportedStore {
    /// A small store (3 outlets, 60 products, 70 customers, 400 sales) imported in pages of 50.
    pub fn new() -> ImportedStore {
        ImportedStore::import(
            TestSimulator::with_store(3, 60, 70, 400),
            &["--page-size", "50"],
        )
    }

    /// `sim`'s store imported with `lightsync [flags] import`.
    pub fn import(sim: TestSimulator, flags: &[&str]) -> ImportedStore {
        let database = TestDatabase::migrated();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let checkpoint = dir.path().join("cp");
        lightsync(&database, &sim, &checkpoint)
            .args(flags)
            .arg("import")
            .assert()
            .success()
            .stdout(predicates::str::contains("sales"));
        ImportedStore {
            sim,
            database,
            checkpoint,
            dir,
        }
    }

    /// The simulator, the database and the temporary directory holding `cp`.
    pub fn into_parts(self) -> (TestSimulator, TestDatabase, tempfile::TempDir) {
        (self.sim, self.database, self.dir)
    }

    /// The binary configured for this store, database and checkpoint directory.
    pub fn lightsync(&self) -> assert_cmd::Command {
        lightsync(&self.database, &self.sim, &self.checkpoint)
    }
}

/// The real binary, configured for `database`, `simulator` and a checkpoint directory, with
/// nothing inherited from the caller's environment that could change its behaviour.
pub fn lightsync(
    database: &TestDatabase,
    simulator: &TestSimulator,
    checkpoint_dir: &Path,
) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::from_std(bare_lightsync());
    command
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database.url.expose())
        .env("LIGHTSPEED_BASE_URL", simulator.base_url())
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint_dir)
        .current_dir(checkpoint_dir.parent().unwrap_or(checkpoint_dir));
    command
}

/// `lightsync serve --port PORT` for `database_url`, `simulator` and a checkpoint directory,
/// logging at info, with a dashboard password; the caller adds flags and variables.
pub fn serve_command(
    database_url: &str,
    simulator: &TestSimulator,
    checkpoint_dir: &Path,
    port: u16,
) -> std::process::Command {
    let mut command = bare_lightsync();
    command
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database_url)
        .env("LIGHTSPEED_BASE_URL", simulator.base_url())
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint_dir)
        .env("LIGHTSYNC_DASHBOARD_PASSWORD", "pw for a serve test")
        .args(["serve", "--port", &port.to_string()]);
    command
}

/// `lightsync import` as a child process (for tests that kill it or run a second one beside it),
/// with stdout discarded and stderr piped when `capture_stderr`.
pub fn spawn_import(
    database_url: &lightsync::config::DatabaseUrl,
    simulator: &TestSimulator,
    checkpoint_dir: &Path,
    capture_stderr: bool,
) -> std::process::Child {
    bare_lightsync()
        .env("DATABASE_URL", database_url.expose())
        .env("LIGHTSPEED_BASE_URL", simulator.base_url())
        .env("LIGHTSPEED_TOKEN", "simulator")
        .env("LIGHTSYNC_CHECKPOINT_DIR", checkpoint_dir)
        .env("RUST_LOG", "warn")
        .arg("import")
        .stdout(std::process::Stdio::null())
        .stderr(if capture_stderr {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .expect("the lightsync binary starts")
}

/// A local port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free local port")
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `condition` every 50 ms until it holds; fails the test naming `what` after `timeout`.
pub fn eventually(
    timeout: Duration,
    what: impl std::fmt::Display,
    mut condition: impl FnMut() -> bool,
) {
    eventually_some(timeout, what, || condition().then_some(()))
}

/// Polls `probe` every 50 ms until it returns something, and returns that; fails the test
/// naming `what` after `timeout`.
pub fn eventually_some<T>(
    timeout: Duration,
    what: impl std::fmt::Display,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} (waited {timeout:?})");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `eventually` for a test running on an async runtime: polls every millisecond without blocking
/// the runtime's other tasks.
pub async fn eventually_async(
    timeout: Duration,
    what: impl std::fmt::Display,
    mut condition: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "{what} (waited {timeout:?})");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `lightsync import` as a child process that has opened its run (some entity of `database`
/// shows `running`), for tests that kill it or start a second run beside it.
pub fn running_import(
    database: &TestDatabase,
    simulator: &TestSimulator,
    checkpoint_dir: &Path,
) -> std::process::Child {
    let child = spawn_import(&database.url, simulator, checkpoint_dir, false);
    eventually(Duration::from_secs(30), "the import never started", || {
        database.count("SELECT count(*) AS n FROM sync_state WHERE status = 'running'") > 0
    });
    child
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct IdVersion {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

#[derive(QueryableByName)]
struct Child {
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    id: String,
}

/// The SQL for an entity's key as one text (`id`, or composite key columns joined by U+001F).
pub fn key_sql(entity: Entity) -> String {
    let spec = entity.spec();
    if spec.has_id() {
        "id".to_string()
    } else {
        format!("concat_ws(chr(31), {})", spec.key.join(", "))
    }
}

/// Asserts the database holds exactly the simulator's records: every id, version and deleted
/// flag of every entity, and each sale's line item and payment ids. Returns the record count.
pub fn assert_matches_simulator(database: &TestDatabase, simulator: &TestSimulator) -> usize {
    assert_matches_simulator_except(database, simulator, &[])
}

/// `assert_matches_simulator` for every entity but `skipped` (whose tables must be empty).
pub fn assert_matches_simulator_except(
    database: &TestDatabase,
    simulator: &TestSimulator,
    skipped: &[Entity],
) -> usize {
    let expected = simulator.handle.expected();
    let mut conn = database.connect();
    let mut total = 0;
    for entity in skipped {
        let n = database.count(&format!("SELECT count(*) AS n FROM {}", entity.table()));
        assert_eq!(n, 0, "{entity} was skipped but has rows");
    }
    for entity in Entity::ALL.into_iter().filter(|e| !skipped.contains(e)) {
        let records = expected["entities"][entity.name()]
            .as_array()
            .expect("expected lists every entity");
        let key = key_sql(entity);
        let have: Vec<IdVersion> = sql_query(format!(
            "SELECT {key} AS id, version, deleted_at IS NOT NULL AS deleted FROM {}",
            entity.table()
        ))
        .load(&mut conn)
        .unwrap();
        // Records without their own version are stored with the version.max of the page
        // that carried their latest change: at least the simulator's version of the record.
        let by_page_max: BTreeMap<&str, i64> = have
            .iter()
            .map(|row| (row.id.as_str(), row.version))
            .collect();
        let want: BTreeSet<IdVersion> = records
            .iter()
            .filter(|record| {
                // An endpoint copied whole never lists a record deleted before it was first
                // copied.
                let never_listed = record["absent_when_deleted"].as_bool() == Some(true)
                    && record["deleted"].as_bool() == Some(true)
                    && !by_page_max.contains_key(record["id"].as_str().unwrap());
                !never_listed
            })
            .map(|record| {
                let id = record["id"].as_str().unwrap().to_string();
                let mut version = record["version"].as_i64().unwrap();
                if record["version_is_page_max"].as_bool() == Some(true) {
                    if let Some(stored) = by_page_max.get(id.as_str()) {
                        assert!(
                            *stored >= version,
                            "{entity} {id}: stored version {stored} is older than {version}"
                        );
                        version = *stored;
                    }
                }
                IdVersion {
                    id,
                    version,
                    deleted: record["deleted"].as_bool().unwrap(),
                }
            })
            .collect();
        let have_set: BTreeSet<IdVersion> = have.iter().cloned().collect();
        assert_eq!(have.len(), have_set.len(), "{entity}: duplicate rows");
        let missing: Vec<_> = want.difference(&have_set).take(5).collect();
        let extra: Vec<_> = have_set.difference(&want).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{entity}: database differs from the simulator: missing {missing:?}, unexpected {extra:?} ({} wanted, {} present)",
            want.len(),
            have_set.len()
        );
        total += want.len();
    }
    for (parent, table, parent_column, key) in [
        (
            Entity::Sales,
            "lightspeed_sale_line_items",
            "sale_id",
            "line_item_ids",
        ),
        (
            Entity::Sales,
            "lightspeed_sale_payments",
            "sale_id",
            "payment_ids",
        ),
        (
            Entity::Consignments,
            "lightspeed_consignment_products",
            "consignment_id",
            "line_ids",
        ),
    ] {
        if skipped.contains(&parent) {
            continue;
        }
        let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for record in expected["entities"][parent.name()].as_array().unwrap() {
            let ids: BTreeSet<String> = record[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap().to_string())
                .collect();
            want.insert(record["id"].as_str().unwrap().to_string(), ids);
        }
        let mut have: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let rows: Vec<Child> =
            sql_query(format!("SELECT {parent_column} AS parent, id FROM {table}"))
                .load(&mut conn)
                .unwrap();
        for row in rows {
            have.entry(row.parent).or_default().insert(row.id);
        }
        let differing: Vec<&String> = want
            .iter()
            .filter(|(record, ids)| have.get(*record) != Some(ids))
            .map(|(record, _)| record)
            .take(5)
            .collect();
        assert!(
            differing.is_empty(),
            "{table}: {parent} whose children differ: {differing:?}"
        );
        assert_eq!(
            have.len(),
            want.len(),
            "{table}: children of unknown {parent}"
        );
        total += want.values().map(BTreeSet::len).sum::<usize>();
    }
    total
}
