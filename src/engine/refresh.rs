//! One run of an entity paged by id rather than by version (`/product_categories`): every page
//! is fetched (`after` = the last id seen), the records are decoded with the refresh's
//! generation as their version, and one transaction (`db::apply_refresh`) writes what changed
//! and marks what is no longer listed deleted. Such an entity is small (a store's categories),
//! so it is held whole; a refresh cut short by a crash writes nothing and the next run starts
//! it again.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{anyhow, Context};

use super::mapping::rows_for_records;
use super::pipeline::StreamContext;
use super::write_strategy::ApplierTarget;
use crate::db::{self, BatchBookkeeping};
use crate::failpoint::crash_point;
use crate::lightspeed::{decode_or_quarantine, Record, Sorted};

/// The most records an entity copied whole may have: far above any store's categories, low
/// enough that holding them is cheap. A store beyond it fails the entity with this number.
pub const MOST_REFRESHED_RECORDS: usize = 100_000;

/// Fetches every page of `ctx.entity` and applies them as one refresh.
pub async fn run_refresh(ctx: Arc<StreamContext>, target: ApplierTarget) -> anyhow::Result<()> {
    let entity = ctx.entity;
    let mut texts = Vec::new();
    let mut after: Option<String> = None;
    loop {
        if ctx.failures.cancelled().load(Ordering::SeqCst) {
            return Ok(());
        }
        let page = ctx
            .client
            .fetch_id_page(entity, after.as_deref(), ctx.page_size, &ctx.counters)
            .await?;
        ctx.progress.pages_fetched.fetch_add(1, Ordering::Relaxed);
        ctx.progress
            .records_fetched
            .fetch_add(page.records.len() as u64, Ordering::Relaxed);
        texts.extend(page.records);
        if texts.len() > MOST_REFRESHED_RECORDS {
            return Err(anyhow!(
                "/{entity} lists more than {MOST_REFRESHED_RECORDS} records; lightsync copies it whole every run and stops there"
            ));
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    crash_point("after-fetch");
    ctx.progress.caught_up.store(true, Ordering::SeqCst);
    let stream = ctx.clone();
    tokio::task::spawn_blocking(move || apply(&stream, &target, &texts))
        .await
        .map_err(|err| anyhow!("the {entity} refresh task failed: {err}"))?
}

/// Decodes the fetched records with the refresh's generation and applies the refresh.
fn apply(ctx: &StreamContext, target: &ApplierTarget, texts: &[String]) -> anyhow::Result<()> {
    let entity = ctx.entity;
    let spec = entity.spec();
    let mut conn = db::checkout(&target.pool, &target.url)?;
    // Above every version this entity holds, and growing run after run even if the clock
    // goes back.
    let generation = db::load_last_version(&mut conn, entity)?
        .saturating_add(1)
        .max(chrono::Utc::now().timestamp_millis());
    let Sorted {
        records,
        quarantined,
    } = decode_or_quarantine(entity, texts.iter().map(String::as_str), Some(generation));
    let quarantined = ctx.progress.note_quarantined(entity, quarantined);
    let listed: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
    let stored = db::load_live_raw(&mut conn, spec.table)?;
    // Only what is new, changed or listed again is written: a refresh of an unchanged store
    // writes no row.
    let mut seen = HashSet::new();
    let changed: Vec<Record> = records
        .into_iter()
        .filter(|record| seen.insert(record.id.clone()))
        .filter(|record| {
            let now: Option<serde_json::Value> = serde_json::from_str(&record.raw).ok();
            now.is_none() || stored.get(&record.id) != now.as_ref()
        })
        .collect();
    let records_untyped = ctx.progress.untyped.note(entity, &changed);
    let totals = ctx.counters.totals();
    let bookkeeping = BatchBookkeeping {
        run_id: &ctx.run_id,
        entity,
        after: None,
        max_version: generation,
        records_fetched: texts.len() as u64,
        records_untyped,
        quarantined: &quarantined,
        requests: totals.requests,
        retries: totals.retries,
        rate_limited: totals.rate_limited,
    };
    let outcome = db::apply_refresh(
        &mut conn,
        spec.table,
        rows_for_records(entity, changed),
        &listed,
        &bookkeeping,
        || crash_point("in-apply"),
    )
    .with_context(|| format!("applying the {entity} refresh"))?;
    crash_point("after-apply");
    // The local cursor follows, so `checkpoint verify` finds the store and PostgreSQL agreeing.
    ctx.store.set_cursor(entity, generation)?;
    ctx.progress.applied(texts.len() as u64, &outcome);
    Ok(())
}
