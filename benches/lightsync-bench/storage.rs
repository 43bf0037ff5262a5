//! Bytes on disk: W1's five entities imported by this build, by an earlier lightsync build
//! (`--before-binary`) and by dlt (when installed), side by side with each import's time and
//! peak memory. Sizes are each table's with its indexes and TOAST, after `VACUUM ANALYZE`.

use super::dlt::run_dlt_peer;
use super::*;

/// The five entities dlt's peer copies.
const FIVE: &str = "outlets,products,customers,inventory,sales";

/// Each entity's tables, by lightsync's names (a table `t` is `t_rows` in the current layout)
/// and by the prefix of dlt's (`sales`, `sales__line_items`, ...).
const GROUPS: [(&str, &[&str]); 5] = [
    ("outlets", &["lightspeed_outlets"]),
    ("products", &["lightspeed_products"]),
    ("customers", &["lightspeed_customers"]),
    ("inventory", &["lightspeed_inventory"]),
    (
        "sales",
        &[
            "lightspeed_sales",
            "lightspeed_sale_line_items",
            "lightspeed_sale_payments",
            "lightsync_report_sale_totals",
        ],
    ),
];

struct Measured {
    label: String,
    seconds: Vec<f64>,
    rss_mb: Vec<f64>,
    /// Bytes per group of `GROUPS`, then everything else the tool wrote.
    bytes: Vec<i64>,
    /// Of all those bytes, the indexes'.
    index_bytes: i64,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

fn bytes_of(database: &TestDatabase, sql: &str) -> anyhow::Result<i64> {
    let row: Bytes = sql_query(sql).get_result(&mut database.connect())?;
    Ok(row.bytes)
}

/// The bytes lightsync's tables take in `database`, per group and for the rest of its tables,
/// and their indexes'.
fn lightsync_bytes(database: &TestDatabase) -> anyhow::Result<(Vec<i64>, i64)> {
    sql_query("VACUUM ANALYZE").execute(&mut database.connect())?;
    let size = |table: &str| {
        format!(
            "COALESCE(pg_total_relation_size(COALESCE(to_regclass('{table}_rows'), \
             to_regclass('{table}'))), 0)"
        )
    };
    let mut bytes = Vec::new();
    for (_, tables) in GROUPS {
        let sum: Vec<String> = tables.iter().map(|table| size(table)).collect();
        bytes.push(bytes_of(
            database,
            &format!("SELECT ({})::BIGINT AS bytes", sum.join(" + ")),
        )?);
    }
    #[derive(QueryableByName)]
    struct AllBytes {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tables: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        indexes: i64,
    }
    let all: AllBytes = sql_query(
        "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::BIGINT AS tables, \
         COALESCE(sum(pg_indexes_size(c.oid)), 0)::BIGINT AS indexes FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .get_result(&mut database.connect())?;
    bytes.push(all.tables - bytes.iter().sum::<i64>());
    let indexes = all.indexes;
    Ok((bytes, indexes))
}

fn measure_lightsync(
    label: &str,
    binary: &Path,
    simulator: &Simulator,
    runs: usize,
) -> anyhow::Result<Measured> {
    let mut measured = Measured {
        label: label.to_string(),
        seconds: Vec::new(),
        rss_mb: Vec::new(),
        bytes: Vec::new(),
        index_bytes: 0,
    };
    for _ in 0..runs {
        let (run, database, _checkpoint) =
            import_with(binary, simulator, &[("LIGHTSYNC_ENTITIES", FIVE)])?;
        measured.seconds.push(run.seconds);
        measured.rss_mb.push(run.max_rss_kb as f64 / 1024.0);
        (measured.bytes, measured.index_bytes) = lightsync_bytes(&database)?;
    }
    Ok(measured)
}

/// dlt's run through `scripts/dlt_peer.sh`: its time, memory and final tables (its staging
/// copies, which it can drop, apart).
fn measure_dlt(simulator: &Simulator, sales: u32) -> anyhow::Result<Option<Measured>> {
    if !Path::new("target/dlt-venv/bin/python").exists() {
        return Ok(None);
    }
    let run = run_dlt_peer(simulator, sales)?;
    let mut bytes = vec![0_i64; GROUPS.len() + 1];
    for table in run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("dlt table: "))
    {
        let parts: Vec<&str> = table.split_whitespace().collect();
        let [schema, name, size] = parts[..] else {
            continue;
        };
        if schema != "dlt_peer" {
            continue;
        }
        let size: i64 = size.parse()?;
        let group = GROUPS
            .iter()
            .position(|(entity, _)| name == *entity || name.starts_with(&format!("{entity}__")))
            .unwrap_or(GROUPS.len());
        bytes[group] += size;
    }
    Ok(Some(Measured {
        label: "dlt 1.31, defaults, final tables (one run)".into(),
        seconds: vec![run.seconds],
        rss_mb: vec![run.max_rss_kb / 1024.0],
        bytes,
        index_bytes: run.value("dlt indexes:").unwrap_or(0.0) as i64,
    }))
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

pub(crate) fn storage_comparison(
    line: &mut impl FnMut(String),
    sales: u32,
    runs: usize,
    before: Option<&Path>,
) -> anyhow::Result<()> {
    let simulator = Simulator::start(sales, &["--no-rate-limit", "--page-cap", "10000"])?;
    let mut tools = Vec::new();
    if let Some(before) = before {
        tools.push(measure_lightsync(
            &format!("lightsync before ({})", before.display()),
            before,
            &simulator,
            runs,
        )?);
    }
    tools.push(measure_lightsync("lightsync", &binary(), &simulator, runs)?);
    let dlt = measure_dlt(&simulator, sales)?;
    line("## Bytes on disk: W1's five entities (pages of 10,000)".into());
    line(String::new());
    let mut header = "| tool | import | peak RSS |".to_string();
    for (entity, _) in GROUPS {
        header += &format!(" {entity} |");
    }
    line(header + " other tables | all tables | of which indexes |");
    line(format!(
        "|---|---|---|{}---|---|---|",
        "---|".repeat(GROUPS.len())
    ));
    for tool in tools.iter().chain(dlt.iter()) {
        let cells: Vec<String> = tool.bytes.iter().map(|b| mb(*b)).collect();
        line(format!(
            "| {} | {} | {} | {} | {} | {} |",
            tool.label,
            fmt_summary(&tool.seconds, "s"),
            fmt_summary(&tool.rss_mb, "MB"),
            cells.join(" | "),
            mb(tool.bytes.iter().sum()),
            mb(tool.index_bytes)
        ));
    }
    line(String::new());
    if let (Some(dlt), Some(current)) = (&dlt, tools.last()) {
        let ours: i64 = current.bytes.iter().sum();
        let theirs: i64 = dlt.bytes.iter().sum();
        line(format!(
            "lightsync's tables are {:.2}x dlt's final tables; lightsync imports {:.1}x faster.",
            ours as f64 / theirs as f64,
            dlt.seconds[0] / summary(&current.seconds).0
        ));
    } else {
        line("dlt is not installed (`scripts/dlt_peer.sh` installs it): not measured.".into());
    }
    line(String::new());
    Ok(())
}
