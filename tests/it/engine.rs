//! The engine through the real binary: import, incremental sync, no-change cost, the run locks,
//! a PostgreSQL outage, and replay-safety of the batch writer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use lightsync::entity::Entity;
use predicates::prelude::*;

use crate::support::proxy::PgProxy;
use crate::support::{
    assert_matches_simulator, bare_lightsync, eventually, lightsync, running_import, ImportedStore,
    RunningChild, TestDatabase, TestSimulator,
};

#[test]
fn import_then_sync_copies_every_change_exactly() {
    let store = ImportedStore::new();
    let (sim, database) = (&store.sim, &store.database);
    assert_matches_simulator(database, sim);

    let counts = sim.handle.mutate(400);
    assert!(counts.sale_voids > 0 && counts.sale_line_changes > 0 && counts.product_deletes > 0);
    store.lightsync().arg("sync").assert().success();
    assert_matches_simulator(database, sim);
    assert!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales WHERE status = 'VOIDED'") > 0
    );
    assert!(
        database
            .count("SELECT count(*) AS n FROM lightspeed_customers WHERE deleted_at IS NOT NULL")
            > 0
    );

    let before: BTreeMap<Entity, u64> = Entity::ALL
        .into_iter()
        .map(|e| (e, sim.requests(e)))
        .collect();
    let started = Instant::now();
    store.lightsync().arg("sync").assert().success();
    let elapsed = started.elapsed();
    for entity in Entity::ALL {
        assert_eq!(
            sim.requests(entity) - before[&entity],
            1,
            "{entity}: a no-change sync costs one request"
        );
    }
    assert!(
        elapsed < Duration::from_secs(5),
        "no-change sync took {elapsed:?}"
    );
    let log_rows = database.count("SELECT count(*) AS n FROM sync_log WHERE status = 'ok'");
    assert_eq!(
        log_rows,
        3 * Entity::ALL.len() as i64,
        "one sync_log row per entity per run"
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_state WHERE status = 'ok' AND last_success_at IS NOT NULL"),
        Entity::ALL.len() as i64
    );
}

#[test]
fn a_missing_checkpoint_store_resumes_from_postgres() {
    let sim = TestSimulator::with_store(2, 20, 20, 100);
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    lightsync(&database, &sim, &dir.path().join("a"))
        .arg("import")
        .assert()
        .success();
    sim.handle.mutate(50);
    let before: u64 = Entity::ALL.into_iter().map(|e| sim.requests(e)).sum();
    // A different (empty) checkpoint directory: PostgreSQL's applied versions win.
    lightsync(&database, &sim, &dir.path().join("b"))
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "no local checkpoint; resuming from PostgreSQL",
        ));
    let after: u64 = Entity::ALL.into_iter().map(|e| sim.requests(e)).sum();
    assert!(
        after - before <= 2 * Entity::ALL.len() as u64,
        "fetched only the changes: {} requests",
        after - before
    );
    assert_matches_simulator(&database, &sim);
}

#[test]
fn a_second_run_exits_3_and_names_the_lock() {
    let sim = TestSimulator::slow(200, 10, Duration::from_millis(100));
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut first = running_import(&database, &sim, &checkpoint);
    // Same checkpoint directory: sled's lock.
    lightsync(&database, &sim, &checkpoint)
        .arg("import")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "in use by another lightsync process",
        ))
        .stderr(predicate::str::contains("pid"));
    // Another machine (another checkpoint directory), same store and database: the advisory lock.
    lightsync(&database, &sim, &dir.path().join("elsewhere"))
        .arg("sync")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("advisory lock"));
    assert!(first.wait().unwrap().success());
    assert_matches_simulator(&database, &sim);
}

#[test]
fn a_postgres_outage_during_an_import_pauses_the_writer_and_the_run_completes() {
    let database = TestDatabase::migrated();
    // The import reaches PostgreSQL through a proxy the test cuts while batches are written.
    let (proxy, through_proxy) = PgProxy::in_front_of(&database);
    let sim = TestSimulator::slow(1000, 20, Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let mut import = RunningChild::spawn({
        let mut command = bare_lightsync();
        command
            .env("DATABASE_URL", &through_proxy)
            .env("LIGHTSPEED_BASE_URL", sim.base_url())
            .env("LIGHTSPEED_TOKEN", "simulator")
            .env("LIGHTSYNC_CHECKPOINT_DIR", dir.path().join("checkpoint"))
            .env("RUST_LOG", "warn")
            .arg("import");
        command
    });
    // Sales are being written: the outage lands mid-import.
    eventually(
        Duration::from_secs(60),
        "sales batches were applied",
        || {
            database.count("SELECT COALESCE(sum(run_pages), 0)::BIGINT AS n FROM sync_state WHERE entity = 'sales'") >= 2
        },
    );
    proxy.cut();
    import.wait_for(
        Duration::from_secs(60),
        "a retry after the outage",
        |line| line.contains("retrying in").then_some(()),
    );
    eventually(Duration::from_secs(60), "a retry met the outage", || {
        proxy.refused() > 0
    });
    proxy.restore();
    let (exit, transcript) = import.finish(Duration::from_secs(120));
    assert!(
        exit.success(),
        "the import finished after the outage: {transcript}"
    );
    assert!(
        transcript.contains("PostgreSQL write failed"),
        "the outage was noticed: {transcript}"
    );
    assert_matches_simulator(&database, &sim);
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Stored {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    children: String,
}

mod replay {
    use super::*;
    use lightsync::db::{apply_batch, BatchBookkeeping, WriteMode};
    use lightsync::engine::mapping::rows_for_records;
    use lightsync::lightspeed::decode_record;
    use proptest::prelude::*;

    fn sale(id: u8, version: i64) -> String {
        let lines: Vec<String> = (0..(version % 3 + 1))
            .map(|n| format!(r#"{{"id":"l{id}-{version}-{n}","quantity":{n}}}"#))
            .collect();
        format!(
            r#"{{"id":"s{id}","version":{version},"status":"S{version}","line_items":[{}],"payments":[{{"id":"p{id}-{version}"}}]}}"#,
            lines.join(",")
        )
    }

    fn apply(conn: &mut diesel::PgConnection, batch: &[(u8, i64)]) {
        apply_as(conn, batch, WriteMode::Upsert).unwrap();
    }

    /// Writes `batch` as the applier does: as plain inserts first when `first` says so, and
    /// again as upserts when a row exists already.
    fn apply_trying(conn: &mut diesel::PgConnection, batch: &[(u8, i64)], first: WriteMode) {
        match apply_as(conn, batch, first) {
            Err(err) if first == WriteMode::InsertNew && err.is_key_taken() => apply(conn, batch),
            other => {
                other.unwrap();
            }
        }
    }

    fn apply_as(
        conn: &mut diesel::PgConnection,
        batch: &[(u8, i64)],
        mode: WriteMode,
    ) -> Result<lightsync::db::ApplyOutcome, lightsync::db::DbError> {
        let records = batch
            .iter()
            .map(|(id, version)| decode_record(Entity::Sales, &sale(*id, *version), None).unwrap())
            .collect();
        let bookkeeping = BatchBookkeeping {
            run_id: "prop",
            entity: lightsync::entity::Entity::Sales,
            after: None,
            max_version: batch.iter().map(|(_, v)| *v).max().unwrap_or(0),
            records_fetched: batch.len() as u64,
            records_untyped: 0,
            quarantined: &[],
            requests: 0,
            retries: 0,
            rate_limited: 0,
        };
        lightsync::db::apply_batch_in_turn(
            conn,
            rows_for_records(Entity::Sales, records),
            &bookkeeping,
            mode,
            || Ok(()),
            || {},
        )
    }

    fn table(conn: &mut diesel::PgConnection) -> Vec<Stored> {
        sql_query(
            "SELECT s.id, s.version, s.status, \
             coalesce((SELECT string_agg(l.id, ',' ORDER BY l.id) FROM lightspeed_sale_line_items l WHERE l.sale_id = s.id), '') || '|' || \
             coalesce((SELECT string_agg(p.id, ',' ORDER BY p.id) FROM lightspeed_sale_payments p WHERE p.sale_id = s.id), '') AS children \
             FROM lightspeed_sales s ORDER BY s.id",
        )
        .load(conn)
        .unwrap()
    }

    #[test]
    fn a_batch_that_does_not_continue_the_applied_version_is_refused_whole() {
        let database = TestDatabase::migrated();
        let mut conn = database.connect();
        let records = vec![decode_record(Entity::Sales, &sale(1, 20), None).unwrap()];
        let bookkeeping = BatchBookkeeping {
            run_id: "r",
            entity: lightsync::entity::Entity::Sales,
            after: Some(10),
            max_version: 20,
            records_fetched: 1,
            records_untyped: 0,
            quarantined: &[],
            requests: 0,
            retries: 0,
            rate_limited: 0,
        };
        let err = apply_batch(
            &mut conn,
            rows_for_records(Entity::Sales, records),
            &bookkeeping,
            || {},
        )
        .unwrap_err();
        assert!(
            matches!(err, lightsync::db::DbError::Continuity { .. }),
            "{err}"
        );
        assert!(table(&mut conn).is_empty(), "nothing was written");
        assert_eq!(
            lightsync::db::load_last_version(&mut conn, lightsync::entity::Entity::Sales).unwrap(),
            0
        );
    }

    fn bookkeeping(max_version: i64) -> BatchBookkeeping<'static> {
        BatchBookkeeping {
            run_id: "lanes",
            entity: lightsync::entity::Entity::Sales,
            after: None,
            max_version,
            records_fetched: 1,
            records_untyped: 0,
            quarantined: &[],
            requests: 0,
            retries: 0,
            rate_limited: 0,
        }
    }

    fn rows(raw: &str) -> lightsync::db::rows::BatchRows {
        rows_for_records(
            Entity::Sales,
            vec![decode_record(Entity::Sales, raw, None).unwrap()],
        )
    }

    /// Writes one sale as a batch of its own.
    fn write_sale(url: &lightsync::config::DatabaseUrl, raw: &str, version: i64) {
        let mut conn = lightsync::db::connect(url).unwrap();
        apply_batch(&mut conn, rows(raw), &bookkeeping(version), || {}).unwrap();
    }

    /// A row the key check between lanes cannot see: line item `l1` moves from sale `x`
    /// (replaced by the earlier batch, which deletes its old lines) to sale `y` (the later
    /// batch). The later batch writes first and then waits for its turn while holding `l1`;
    /// the earlier batch's delete waits for that lock. Giving up the wait rolls the later batch
    /// back, the earlier one commits, and the later one then writes again.
    #[test]
    fn a_later_batch_that_gives_up_waiting_unblocks_the_earlier_one() {
        const Y: &str = r#"{"id":"y","version":3,"status":"S","line_items":[{"id":"l1"}]}"#;
        let database = TestDatabase::migrated();
        write_sale(
            &database.url,
            r#"{"id":"x","version":1,"status":"S","line_items":[{"id":"l1"}]}"#,
            1,
        );
        let later = rows(Y);
        let (written, written_seen) = std::sync::mpsc::channel();
        // The batch before it never commits within the later batch's patience (2 s here).
        let (committed, committed_seen) = std::sync::mpsc::channel::<()>();
        let url = database.url.clone();
        let later_batch = std::thread::spawn(move || {
            let mut conn = lightsync::db::connect(&url).unwrap();
            lightsync::db::apply_batch_in_turn(
                &mut conn,
                later,
                &bookkeeping(3),
                lightsync::db::WriteMode::Upsert,
                || {
                    written.send(()).unwrap();
                    match committed_seen.recv_timeout(Duration::from_secs(2)) {
                        Ok(()) => Ok(()),
                        Err(_) => Err(lightsync::db::DbError::TurnTimedOut),
                    }
                },
                || {},
            )
            .map(|_| ())
        });
        written_seen.recv().unwrap();
        let started = Instant::now();
        let (done, done_seen) = std::sync::mpsc::channel();
        let url = database.url.clone();
        std::thread::spawn(move || {
            write_sale(
                &url,
                r#"{"id":"x","version":2,"status":"S","line_items":[{"id":"l2"}]}"#,
                2,
            );
            done.send(()).unwrap();
        });
        done_seen
            .recv_timeout(Duration::from_secs(20))
            .expect("the earlier batch is blocked for good");
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "the earlier batch waited for the later one's lock"
        );
        drop(committed);
        let result = later_batch.join().unwrap();
        assert!(matches!(result, Err(lightsync::db::DbError::TurnTimedOut)));
        // Its turn has come: the later batch writes again.
        write_sale(&database.url, Y, 3);
        let stored = table(&mut database.connect());
        let children: Vec<(&str, &str)> = stored
            .iter()
            .map(|sale| (sale.id.as_str(), sale.children.as_str()))
            .collect();
        assert_eq!(children, vec![("x", "l2|"), ("y", "l1|")]);
    }

    /// A batch written as plain inserts with a row that exists already writes nothing and says
    /// so; written again as upserts it lands whole.
    #[test]
    fn a_batch_of_new_rows_with_one_that_exists_writes_nothing_until_written_as_upserts() {
        let database = TestDatabase::migrated();
        let mut conn = database.connect();
        let outcome = apply_as(&mut conn, &[(1, 1), (2, 2)], WriteMode::InsertNew).unwrap();
        assert_eq!(outcome.inserted, 2);
        let before = table(&mut conn);
        let err = apply_as(&mut conn, &[(3, 3), (1, 4)], WriteMode::InsertNew).unwrap_err();
        assert!(err.is_key_taken(), "{err}");
        assert_eq!(
            table(&mut conn),
            before,
            "nothing of the failed batch landed"
        );
        assert_eq!(
            lightsync::db::load_last_version(&mut conn, lightsync::entity::Entity::Sales).unwrap(),
            2
        );
        let outcome = apply_as(&mut conn, &[(3, 3), (1, 4)], WriteMode::Upsert).unwrap();
        assert_eq!((outcome.inserted, outcome.updated), (1, 1));
        let versions: Vec<(String, i64)> = table(&mut conn)
            .into_iter()
            .map(|sale| (sale.id, sale.version))
            .collect();
        assert_eq!(
            versions,
            vec![("s1".into(), 4), ("s2".into(), 2), ("s3".into(), 3)]
        );
    }

    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        statements: i64,
    }

    #[test]
    fn each_table_upsert_is_prepared_once_per_connection() {
        let database = TestDatabase::migrated();
        let mut conn = database.connect();
        for batch in [[(1, 1), (2, 2)], [(3, 3), (1, 4)], [(4, 5), (5, 6)]] {
            apply(&mut conn, &batch);
        }
        let prepared = |conn: &mut diesel::PgConnection, table: &str| {
            sql_query(format!(
                "SELECT count(*) AS statements FROM pg_prepared_statements \
                 WHERE statement LIKE 'INSERT INTO {table}_rows AS t%'"
            ))
            .get_result::<Prepared>(conn)
            .unwrap()
            .statements
        };
        // Three batches, one statement per table, reused.
        assert_eq!(prepared(&mut conn, "lightspeed_sales"), 1);
        assert_eq!(prepared(&mut conn, "lightspeed_sale_line_items"), 1);
        assert_eq!(prepared(&mut conn, "lightspeed_sale_payments"), 1);
        assert_eq!(table(&mut conn).len(), 5);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        /// Any batches of sales, applied in any order with replays, leave exactly the newest
        /// version of each sale with that version's line items and payments.
        #[test]
        fn batches_in_any_order_with_replays_equal_the_newest_versions_once(
            versions in proptest::collection::vec((0u8..6, 1i64..40), 1..30),
            split in proptest::collection::vec(1usize..5, 1..12),
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 1..40),
            insert_first in proptest::collection::vec(any::<bool>(), 1..40),
        ) {
            // Versions are unique per retailer: make them so.
            let mut seen = std::collections::HashSet::new();
            let records: Vec<(u8, i64)> = versions.into_iter().filter(|(_, v)| seen.insert(*v)).collect();
            let mut batches: Vec<Vec<(u8, i64)>> = Vec::new();
            let mut rest = records.as_slice();
            for size in split.iter().cycle() {
                if rest.is_empty() { break; }
                let take = (*size).min(rest.len());
                batches.push(rest[..take].to_vec());
                rest = &rest[take..];
            }
            let database = TestDatabase::migrated();
            let mut conn = database.connect();
            for (n, index) in order.iter().enumerate() {
                let first = if insert_first[n % insert_first.len()] {
                    WriteMode::InsertNew
                } else {
                    WriteMode::Upsert
                };
                apply_trying(&mut conn, &batches[index.index(batches.len())], first);
            }
            for batch in &batches {
                apply(&mut conn, batch);
            }
            let replayed = table(&mut conn);

            let fresh = TestDatabase::migrated();
            let mut fresh_conn = fresh.connect();
            let mut newest: BTreeMap<u8, i64> = BTreeMap::new();
            for (id, version) in &records {
                let slot = newest.entry(*id).or_insert(*version);
                *slot = (*slot).max(*version);
            }
            let once: Vec<(u8, i64)> = newest.into_iter().collect();
            apply(&mut fresh_conn, &once);
            prop_assert_eq!(replayed, table(&mut fresh_conn));
        }
    }
}
