//! `lightsync reconcile`: runs a reconcile and prints, per entity, what was checked and what
//! differs; exit 0 when nothing differs (after the repair, if asked), 1 otherwise.

use crate::cli::ReconcileArgs;
use crate::config::Config;
use crate::entity::Entity;
use crate::exit;
use crate::reconcile::{self, EntityReconcile, ReconcileRequest};

pub fn reconcile(config: &Config, args: ReconcileArgs) -> anyhow::Result<i32> {
    config.api()?;
    config.database_url()?;
    let request = ReconcileRequest {
        entities: args.entities,
        sample: args.sample,
        repair: args.repair,
    };
    let report = super::runtime()?.block_on(reconcile::reconcile(config, request))?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if let Some(before) = &report.before_repair {
            crate::outln!("before the repair:");
            print_table(before)?;
            crate::outln!("after the repair:");
        }
        print_table(&report.entities)?;
        let differences: u64 = report.entities.iter().map(|e| e.differences.total()).sum();
        let checked: u64 = report.entities.iter().map(|e| e.differences.checked).sum();
        match report.mode {
            "sampled" => {
                let windows: u32 = report
                    .entities
                    .iter()
                    .filter_map(|e| e.coverage)
                    .map(|c| c.windows)
                    .sum();
                let rows: u64 = report
                    .entities
                    .iter()
                    .map(|e| e.coverage.map_or(e.differences.checked, |c| c.rows))
                    .sum();
                crate::outln!(
                    "{differences} difference(s) in {windows} window(s) covering {checked} of {rows} records ({:.1} s)",
                    report.seconds
                );
            }
            _ => crate::outln!(
                "{differences} difference(s) in {checked} records checked ({:.1} s)",
                report.seconds
            ),
        }
    }
    Ok(if report.differs() {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}

fn print_table(entities: &[EntityReconcile]) -> std::io::Result<()> {
    let w = Entity::NAME_WIDTH;
    crate::outln!(
        "{:<w$} {:>10} {:>8} {:>8} {:>8} {:>9}  examples",
        "entity",
        "checked",
        "missing",
        "stale",
        "extra",
        "requests"
    );
    for e in entities {
        let d = &e.differences;
        let examples: Vec<String> = [
            ("missing", &d.examples.missing),
            ("stale", &d.examples.stale),
            ("extra", &d.examples.extra),
        ]
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(kind, ids)| format!("{kind}: {}", ids.join(" ")))
        .collect();
        crate::outln!(
            "{:<w$} {:>10} {:>8} {:>8} {:>8} {:>9}  {}",
            e.entity.name(),
            d.checked,
            d.missing,
            d.stale,
            d.extra,
            e.requests,
            match (&e.error, e.note) {
                (Some(err), _) => format!("cannot reconcile: {err}"),
                (None, Some(note)) => note.to_string(),
                (None, None) => examples.join("; "),
            }
        );
    }
    Ok(())
}
