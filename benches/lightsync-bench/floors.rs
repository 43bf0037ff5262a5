//! The floors lightsync is measured against: the client alone paging everything (fetch
//! floor) and a plain COPY of the same rows (write floor).

use super::*;

/// One fetched record: id, version, raw JSON.
pub(crate) type RawRow = (String, i64, String);

/// Every record of every entity, as fetched (raw JSON), plus each sale's line items.
pub(crate) struct Fetched {
    pub(crate) records: Vec<(Entity, Vec<RawRow>)>,
    pub(crate) line_items: Vec<(String, String, i64, String)>,
    pub(crate) sale_pages: Vec<Vec<String>>,
}

pub(crate) fn api(base_url: &str) -> ApiConfig {
    ApiConfig {
        base_url: base_url.parse().expect("simulator URL"),
        token: Some(Secret::new("simulator")),
        oauth: None,
        page_size: 1000,
        rate_share: 1.0,
        rate_window: Duration::from_secs(300),
        max_attempts: 8,
        timeout: Duration::from_secs(60),
    }
}

/// The fetch floor: the client alone pages every entity concurrently, keeping nothing.
pub(crate) fn fetch_floor(
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
) -> anyhow::Result<(f64, u64)> {
    let client = Client::new(&api(base_url), &std::env::temp_dir())?;
    let started = Instant::now();
    let records = runtime.block_on(async {
        let mut tasks = Vec::new();
        for entity in Entity::ALL {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let counters = RequestCounters::default();
                let mut after = 0;
                let mut count = 0u64;
                loop {
                    let page = client.fetch_page(entity, after, 1000, &counters).await?;
                    match page.max_version {
                        Some(max) => {
                            count += page.records.len() as u64;
                            after = max;
                        }
                        None => return Ok::<u64, anyhow::Error>(count),
                    }
                }
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await??;
        }
        Ok::<u64, anyhow::Error>(total)
    })?;
    Ok((started.elapsed().as_secs_f64(), records))
}

pub(crate) fn fetch_everything(
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
) -> anyhow::Result<Fetched> {
    let client = Client::new(&api(base_url), &std::env::temp_dir())?;
    runtime.block_on(async {
        let mut fetched = Fetched {
            records: Vec::new(),
            line_items: Vec::new(),
            sale_pages: Vec::new(),
        };
        for entity in Entity::ALL {
            let counters = RequestCounters::default();
            let mut after = 0;
            let mut rows = Vec::new();
            loop {
                let page = client.fetch_page(entity, after, 1000, &counters).await?;
                let Some(max) = page.max_version else { break };
                after = max;
                if entity == Entity::Sales {
                    fetched
                        .sale_pages
                        .push(page.records.iter().map(|r| r.raw.clone()).collect());
                }
                for record in page.records {
                    for item in record.children.iter().filter(|child| child.child == 0) {
                        fetched.line_items.push((
                            item.id.clone(),
                            record.id.clone(),
                            record.version,
                            item.raw.clone(),
                        ));
                    }
                    rows.push((record.id, record.version, record.raw));
                }
            }
            fetched.records.push((entity, rows));
        }
        Ok(fetched)
    })
}

pub(crate) fn copy_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The bare write floor: plain COPY of (id, version, raw) and the line items into fresh tables
/// with only a primary key, one psql per table, all at once, from memory. Less than lightsync
/// writes (no typed columns, payments or secondary indexes); kept to compare with older figures.
pub(crate) fn bare_write_floor(fetched: &Fetched) -> anyhow::Result<f64> {
    let database = TestDatabase::empty();
    let mut conn = lightsync::db::connect(&database.url)?;
    for entity in Entity::ALL {
        sql_query(format!("CREATE TABLE floor_{} (id TEXT PRIMARY KEY, version BIGINT NOT NULL, raw JSONB NOT NULL)", entity.name())).execute(&mut conn)?;
    }
    sql_query("CREATE TABLE floor_line_items (id TEXT PRIMARY KEY, sale_id TEXT NOT NULL, version BIGINT NOT NULL, raw JSONB NOT NULL)").execute(&mut conn)?;
    let mut payloads: Vec<(String, Vec<u8>)> = fetched
        .records
        .iter()
        .map(|(entity, rows)| {
            let mut text = String::new();
            for (id, version, raw) in rows {
                text.push_str(&format!(
                    "{}\t{version}\t{}\n",
                    copy_escape(id),
                    copy_escape(raw)
                ));
            }
            (
                format!("floor_{} (id, version, raw)", entity.name()),
                text.into_bytes(),
            )
        })
        .collect();
    let mut items = String::new();
    for (id, sale_id, version, raw) in &fetched.line_items {
        items.push_str(&format!(
            "{}\t{}\t{version}\t{}\n",
            copy_escape(id),
            copy_escape(sale_id),
            copy_escape(raw)
        ));
    }
    payloads.push((
        "floor_line_items (id, sale_id, version, raw)".into(),
        items.into_bytes(),
    ));
    copy_in_parallel(&database, payloads)
}

/// Every table lightsync wrote in `database`, in COPY text format.
pub(crate) fn dump_tables(database: &TestDatabase) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tablename: String,
    }
    let tables: Vec<Table> = sql_query(
        "SELECT tablename::text AS tablename FROM pg_tables \
         WHERE schemaname = current_schema() AND tablename LIKE 'lightspeed\\_%' ORDER BY 1",
    )
    .load(&mut database.connect())?;
    tables
        .into_iter()
        .map(|table| {
            let output = Command::new("psql")
                .arg(database.url.expose())
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("COPY {} TO STDOUT", table.tablename))
                .stderr(Stdio::inherit())
                .output()
                .context("running psql (install postgresql-client)")?;
            if !output.status.success() {
                bail!("dumping {} failed", table.tablename);
            }
            Ok((table.tablename, output.stdout))
        })
        .collect()
}

/// The write floor: the rows lightsync wrote (`dump_tables`), every column of every table,
/// COPied into a freshly migrated database (the same tables, indexes and compression), one psql
/// per table, all at once, from memory. No tool can land the same rows for less.
pub(crate) fn same_rows_floor(tables: &[(String, Vec<u8>)]) -> anyhow::Result<f64> {
    let database = TestDatabase::empty();
    lightsync::db::run_pending_migrations(&mut database.connect())?;
    copy_in_parallel(&database, tables.to_vec())
}

/// Runs `COPY target FROM STDIN` for every payload at once, one psql each, and times them.
fn copy_in_parallel(
    database: &TestDatabase,
    payloads: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut children = Vec::new();
    for (target, text) in payloads {
        let mut child = Command::new("psql")
            .arg(database.url.expose())
            .args([
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("COPY {target} FROM STDIN"),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("running psql (install postgresql-client)")?;
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(&text));
        children.push((child, writer));
    }
    for (mut child, writer) in children {
        writer.join().expect("writer thread")?;
        if !child.wait()?.success() {
            bail!("COPY failed");
        }
    }
    Ok(started.elapsed().as_secs_f64())
}
