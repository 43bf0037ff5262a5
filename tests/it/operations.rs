//! The operator's commands through the real binary: checkpoint show/list/export/verify/reset/
//! rewind, status, cron against a fake crontab, demo, and damaged or foreign checkpoint stores.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use diesel::{sql_query, RunQueryDsl};
use lightsync::checkpoint::{CheckpointStore, SpooledBatch};
use lightsync::entity::Entity;
use predicates::prelude::*;

use crate::support::{
    assert_matches_simulator, bare_lightsync, lightsync, running_import, ImportedStore,
    RunningChild, TestDatabase, TestSimulator,
};

fn imported() -> (TestSimulator, TestDatabase, tempfile::TempDir) {
    let sim = TestSimulator::with_store(2, 30, 30, 120);
    ImportedStore::import(sim, &["--page-size", "40"]).into_parts()
}

#[test]
fn checkpoint_show_list_export_and_verify_on_a_consistent_store() {
    let (sim, database, dir) = imported();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("format version 1"))
        .stdout(predicate::str::contains("sales"));
    let shown = lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "show", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let sales = shown["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "sales")
        .unwrap();
    assert_eq!(
        sales["fetch_cursor"], sales["applied_version"],
        "cursor and PostgreSQL agree"
    );
    assert_eq!(sales["unfinished_import"], false);

    // Spool one more page by hand, as a run that stopped before applying it would leave it.
    {
        let store = CheckpointStore::open(&checkpoint, None, "test").unwrap();
        let cursor = store.cursor(Entity::Sales).unwrap().unwrap().fetch_cursor;
        store
            .spool_batch(
                Entity::Sales,
                &SpooledBatch {
                    after: cursor,
                    max_version: cursor + 10,
                    fetched_at_ms: 0,
                    records: vec![format!(r#"{{"id":"manual","version":{}}}"#, cursor + 10)],
                },
            )
            .unwrap();
    }
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "list", "--entity", "sales"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sales"));
    let export = dir.path().join("export.json");
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "export"])
        .arg(&export)
        .assert()
        .success();
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(
        exported["entities"]["sales"]["batches"][0]["records"][0]["id"],
        "manual"
    );
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("is consistent"));

    // Damage the batch file: verify names the problem and exits 1.
    let batch = std::fs::read_dir(checkpoint.join("batches"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&batch).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&batch, bytes).unwrap();
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("checksum"))
        .stdout(predicate::str::contains("checkpoint reset"));
}

#[test]
fn checkpoint_show_while_a_sync_holds_the_store_reports_the_holder_and_postgres() {
    let sim = TestSimulator::slow(200, 10, Duration::from_millis(100));
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    let mut running = running_import(&database, &sim, &checkpoint);
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("pid {}", running.id())))
        .stdout(predicate::str::contains("`lightsync import`"))
        .stdout(predicate::str::contains("applied version"));
    for args in [
        vec!["checkpoint", "reset", "--yes"],
        vec![
            "checkpoint",
            "rewind",
            "--entity",
            "sales",
            "--to-version",
            "0",
            "--yes",
        ],
    ] {
        lightsync(&database, &sim, &checkpoint)
            .args(&args)
            .assert()
            .code(3)
            .stderr(predicate::str::contains("in use"));
    }
    assert!(running.wait().unwrap().success());
}

#[test]
fn reset_and_rewind_need_yes_and_then_the_next_sync_fetches_from_the_right_version() {
    let (sim, database, dir) = imported();
    let checkpoint = dir.path().join("cp");
    let applied = |database: &TestDatabase| {
        lightsync::db::load_last_version(&mut database.connect(), lightsync::entity::Entity::Sales)
            .unwrap()
    };
    let before = applied(&database);
    for args in [
        vec!["checkpoint", "reset"],
        vec!["checkpoint", "reset", "--entity", "sales"],
        vec![
            "checkpoint",
            "rewind",
            "--entity",
            "sales",
            "--to-version",
            "0",
        ],
    ] {
        lightsync(&database, &sim, &checkpoint)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--yes"));
    }
    assert_eq!(applied(&database), before, "nothing changed without --yes");
    assert!(checkpoint.join("db").exists());

    // Rewind sales to the version of the 60th sale: the next sync fetches the 60 after it again.
    let expected = sim.handle.expected();
    let versions: Vec<i64> = expected["entities"]["sales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_i64().unwrap())
        .collect();
    let rewind_to = versions[59];
    lightsync(&database, &sim, &checkpoint)
        .args([
            "checkpoint",
            "rewind",
            "--entity",
            "sales",
            "--to-version",
            &rewind_to.to_string(),
            "--yes",
        ])
        .assert()
        .success();
    assert_eq!(applied(&database), rewind_to);
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    let refetched = database.count("SELECT records_fetched AS n FROM sync_log WHERE entity = 'sales' AND mode = 'incremental' ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(refetched, 60);
    assert_matches_simulator(&database, &sim);
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_log WHERE mode = 'operator'"),
        1
    );

    // A full reset: the next sync resumes from PostgreSQL and fetches only what changed.
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "reset", "--yes"])
        .assert()
        .success();
    assert!(!checkpoint.join("db").exists());
    sim.handle.mutate(30);
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_log WHERE mode = 'operator'"),
        Entity::ALL.len() as i64 + 1
    );
}

#[test]
fn status_exits_0_when_all_green_and_1_otherwise() {
    let (sim, database, dir) = imported();
    let checkpoint = dir.path().join("cp");
    lightsync(&database, &sim, &checkpoint)
        .arg("status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("green"));
    sql_query("UPDATE sync_state SET status = 'failed', last_error = 'HTTP 503' WHERE entity = 'inventory'")
        .execute(&mut database.connect())
        .unwrap();
    let output = lightsync(&database, &sim, &checkpoint)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["all_green"], false);
    let inventory = status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "inventory")
        .unwrap();
    assert_eq!(inventory["health"], "red");
    assert_eq!(inventory["last_error"], "HTTP 503");
}

fn fake_crontab(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("crontab");
    let table = dir.join("table");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = \"-l\" ]; then\n  if [ -f '{0}' ]; then cat '{0}'; else echo 'no crontab for tester' >&2; exit 1; fi\nelif [ \"$1\" = \"-\" ]; then\n  cat > '{0}'\nfi\n",
            table.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn cron_install_twice_show_and_remove_keep_other_entries() {
    let dir = tempfile::tempdir().unwrap();
    let crontab = fake_crontab(dir.path());
    let env_file = dir.path().join("lightsync.env");
    std::fs::write(&env_file, "LIGHTSPEED_DOMAIN_PREFIX=shop\n").unwrap();
    let others = "MAILTO=ops@example.com\n15 * * * * /usr/local/bin/backup --all\n";
    std::fs::write(dir.path().join("table"), others).unwrap();
    let cron = |args: &[&str]| {
        let mut command = assert_cmd::Command::from_std(bare_lightsync());
        command
            .env("LIGHTSYNC_CRONTAB", &crontab)
            .current_dir(dir.path())
            .args(args);
        command
    };
    let env_arg = env_file.display().to_string();
    cron(&["cron", "install", "--env-file", &env_arg])
        .assert()
        .success()
        .stdout(predicate::str::contains("installed"));
    cron(&[
        "cron",
        "install",
        "--env-file",
        &env_arg,
        "--schedule",
        "*/30 * * * *",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("replaced"));
    let table = std::fs::read_to_string(dir.path().join("table")).unwrap();
    assert_eq!(table.matches("lightsync-managed").count(), 1);
    assert!(table.starts_with(others));
    assert!(table.contains("*/30 * * * *"));
    assert!(table.contains(" sync >> "), "appends to a log");
    assert!(table.contains(&format!("--env-file '{env_arg}'")));
    let binary = assert_cmd::cargo::cargo_bin("lightsync")
        .canonicalize()
        .unwrap();
    assert!(
        table.contains(&binary.display().to_string()),
        "absolute path of the binary"
    );
    cron(&["cron", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("*/30 * * * *"));
    cron(&[
        "cron",
        "install",
        "--env-file",
        &env_arg,
        "--schedule",
        "61 * * * *",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("outside 0-59"));
    cron(&["--env-file", "/nonexistent.env", "cron", "install"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent.env"));
    std::fs::remove_file(&env_file).unwrap();
    cron(&["cron", "install"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--env-file"));
    std::fs::write(&env_file, "LIGHTSPEED_DOMAIN_PREFIX=shop\n").unwrap();
    cron(&["cron", "remove"]).assert().success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("table")).unwrap(),
        others
    );
    cron(&["cron", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no lightsync entry"));
}

#[test]
fn a_corrupt_or_newer_checkpoint_store_is_refused_and_postgres_is_untouched() {
    let sim = TestSimulator::with_store(2, 10, 10, 20);
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    let noise: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(garbage.join("db"), &noise).unwrap();
    std::fs::write(garbage.join("conf"), &noise[..512]).unwrap();
    lightsync(&database, &sim, &garbage)
        .arg("sync")
        .assert()
        .failure()
        .stderr(predicate::str::contains("lightsync checkpoint reset"));

    let newer = dir.path().join("newer");
    drop(CheckpointStore::open(&newer, None, "test").unwrap());
    {
        // sled lets go of its file lock from a background thread once the store is dropped.
        let db = crate::support::eventually_some(
            Duration::from_secs(10),
            "the dropped store's lock is released",
            || sled::open(&newer).ok(),
        );
        db.insert("format_version", &7u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    lightsync(&database, &sim, &newer)
        .arg("import")
        .assert()
        .failure()
        .stderr(predicate::str::contains("newer or unknown format"))
        .stderr(predicate::str::contains("lightsync checkpoint reset"));
    assert_eq!(
        database.count("SELECT count(*) AS n FROM sync_log"),
        0,
        "no run was recorded"
    );
    assert_eq!(
        database.count("SELECT count(*) AS n FROM lightspeed_sales"),
        0
    );

    lightsync(&database, &sim, &garbage)
        .args(["checkpoint", "reset", "--yes"])
        .assert()
        .success();
    lightsync(&database, &sim, &garbage)
        .arg("import")
        .assert()
        .success();
    assert_matches_simulator(&database, &sim);
}

fn cookie_from(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

#[test]
fn demo_imports_serves_the_dashboard_and_cleans_up_on_sigint() {
    let port = crate::support::free_port();
    let mut command = bare_lightsync();
    command.env("RUST_LOG", "warn").args([
        "demo",
        "--port",
        &port.to_string(),
        "--sales",
        "300",
        "--every-secs",
        "3",
    ]);
    let mut demo = RunningChild::spawn(command);
    let data_dir = demo.wait_for(Duration::from_secs(120), "a throwaway database", |line| {
        line.strip_prefix("throwaway PostgreSQL")
            .and_then(|line| line.split(" in ").nth(1))
            .map(|rest| rest.split(" (").next().unwrap().to_string())
    });
    let mut summary = String::new();
    let password = demo.wait_for(Duration::from_secs(120), "the dashboard password", |line| {
        summary.push_str(line);
        summary.push('\n');
        line.strip_prefix("password:")
            .map(|rest| rest.trim().to_string())
    });
    assert!(Path::new(&data_dir).exists());
    assert!(
        summary.contains("sales") && summary.contains("ok"),
        "the import's summary: {summary}"
    );

    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let login_page = http.get(format!("{base}/login")).send().unwrap();
    let csrf_cookie = cookie_from(&login_page, "lightsync_login_csrf").unwrap();
    let html = login_page.text().unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + 48];
    let signed_in = http
        .post(format!("{base}/login"))
        .header("cookie", &csrf_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("password={password}&csrf={csrf}"))
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = cookie_from(&signed_in, "lightsync_session").expect("a session cookie");
    let status: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/api/status"))
            .header("cookie", &session)
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    let entities = status["entities"].as_array().unwrap();
    assert_eq!(entities.len(), Entity::ALL.len());
    assert!(entities.iter().all(|e| e["health"] == "green"), "{status}");

    demo.stop(libc::SIGINT);
    assert!(
        !Path::new(&data_dir).exists(),
        "the throwaway database was removed"
    );
}

/// The modes of everything under `dir` (itself included) that others could read or enter.
fn open_to_others(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut open = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::metadata(&path).unwrap();
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            open.push(format!("{} {mode:o}", path.display()));
        }
        if metadata.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    open
}

/// The real binary started under umask 022, as most shells have it.
fn under_umask_022(command: &assert_cmd::Command) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg("umask 022; exec \"$0\" \"$@\"");
    shell.arg(assert_cmd::cargo::cargo_bin("lightsync"));
    shell.env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            shell.env(name, value);
        }
    }
    shell.current_dir(command.get_current_dir().unwrap());
    shell
}

/// Spooled pages and exports hold customers' names, emails and phone numbers: whatever the
/// umask, no other local user can read the checkpoint store, a page spooled in it or an export;
/// `checkpoint verify` warns about a store made readable, and the next run makes it private.
#[test]
fn the_checkpoint_store_and_exports_are_private_whatever_the_umask() {
    let sim = TestSimulator::with_store(2, 30, 30, 120);
    let database = TestDatabase::migrated();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    let base = lightsync(&database, &sim, &checkpoint);
    // Killed with a page spooled and not yet applied: the spool is on disk.
    let crashed = under_umask_022(&base)
        .env("LIGHTSYNC_CRASH_AT", "after-spool:3")
        .args(["--page-size", "40", "import"])
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    // Checked before this test process opens the store itself (its own umask is 022).
    assert!(
        open_to_others(&checkpoint).is_empty(),
        "{:?}",
        open_to_others(&checkpoint)
    );
    let spooled: usize = {
        let store = CheckpointStore::inspect(&checkpoint).unwrap();
        Entity::ALL
            .into_iter()
            .map(|entity| store.batch_summaries(entity).unwrap().len())
            .sum()
    };
    assert!(spooled > 0, "the crash left a page spooled");
    under_umask_022(&base).arg("import").status().unwrap();
    assert!(
        open_to_others(&checkpoint).is_empty(),
        "{:?}",
        open_to_others(&checkpoint)
    );
    let export = dir.path().join("export.json");
    let exported = under_umask_022(&base)
        .args(["checkpoint", "export"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    assert!(
        open_to_others(&export).is_empty(),
        "{:?}",
        open_to_others(&export)
    );
    eprintln!("{spooled} batches spooled, store and export private");

    // A store others can read (copied with a wide umask, or made by an older version).
    Command::new("chmod")
        .args(["-R", "go+rX"])
        .arg(&checkpoint)
        .status()
        .unwrap();
    assert!(!open_to_others(&checkpoint).is_empty());
    lightsync(&database, &sim, &checkpoint)
        .args(["checkpoint", "verify"])
        .assert()
        .stdout(predicate::str::contains(
            "warning: the checkpoint store is readable by other local users",
        ));
    lightsync(&database, &sim, &checkpoint)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains("made it private"));
    assert!(
        open_to_others(&checkpoint).is_empty(),
        "{:?}",
        open_to_others(&checkpoint)
    );
    assert_matches_simulator(&database, &sim);
}

/// `import --restart --yes` fetches everything again after an import, for every entity or one
/// (`--entity consignments`, the way to fetch the lines of consignments copied before lines
/// existed), records the rewind as an operator action and ends exact.
#[test]
fn import_restart_fetches_everything_again_and_ends_exact() {
    let (sim, database, dir) = imported();
    let checkpoint = dir.path().join("cp");
    let operator_rows = || {
        database.count(
            "SELECT count(*) AS n FROM sync_log WHERE mode = 'operator' \
             AND error LIKE 'import --restart%'",
        )
    };
    lightsync(&database, &sim, &checkpoint)
        .args(["--page-size", "40", "import", "--restart", "--yes"])
        .assert()
        .success();
    assert_eq!(operator_rows(), Entity::ALL.len() as i64);
    assert_matches_simulator(&database, &sim);
    lightsync(&database, &sim, &checkpoint)
        .args(["import", "--restart", "--yes", "--entity", "consignments"])
        .assert()
        .success();
    assert_eq!(operator_rows(), Entity::ALL.len() as i64 + 1);
    assert_eq!(
        database.count(
            "SELECT count(*) AS n FROM sync_log WHERE entity = 'consignments' AND mode = 'import' \
             AND status = 'ok'"
        ),
        3,
        "the first import and the two restarted ones"
    );
    assert_matches_simulator(&database, &sim);
}
