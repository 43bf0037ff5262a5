//! Progress of a running import or sync: a live line per entity on a terminal (records, pages,
//! rate, requests), plain log lines every few seconds elsewhere, and the final summary table.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::pipeline::EntityProgress;
use crate::entity::Entity;
use crate::lightspeed::RequestCounters;

/// How often the non-terminal display logs a line per entity.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often the terminal display redraws.
const DRAW_EVERY: Duration = Duration::from_millis(250);

/// One entity's live counters.
#[derive(Clone)]
pub struct Watched {
    pub entity: Entity,
    pub progress: Arc<EntityProgress>,
    pub counters: Arc<RequestCounters>,
}

/// A running progress display; `finish` stops it.
pub struct ProgressDisplay {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ProgressDisplay {
    /// Starts the display that suits stderr (bars on a terminal, log lines otherwise).
    pub fn start(watched: Vec<Watched>) -> ProgressDisplay {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let on_terminal = std::io::stderr().is_terminal();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let bars = on_terminal.then(|| {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{spinner} {prefix:>10} {msg}")
                    .expect("a valid template");
                let bars: Vec<ProgressBar> = watched
                    .iter()
                    .map(|w| {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(style.clone());
                        bar.set_prefix(w.entity.name());
                        bar
                    })
                    .collect();
                (multi, bars)
            });
            let mut last_log = Instant::now();
            loop {
                let done = tokio::select! {
                    _ = tokio::time::sleep(DRAW_EVERY) => false,
                    _ = stopped.changed() => true,
                };
                let elapsed = started.elapsed().as_secs_f64().max(0.001);
                if let Some((_, bars)) = &bars {
                    for (bar, w) in bars.iter().zip(&watched) {
                        bar.set_message(describe(w, elapsed));
                        bar.tick();
                        if w.progress.finished.load(Ordering::Relaxed) && !bar.is_finished() {
                            bar.finish();
                        }
                    }
                } else if last_log.elapsed() >= LOG_EVERY && !done {
                    last_log = Instant::now();
                    for w in &watched {
                        if !w.progress.finished.load(Ordering::Relaxed) {
                            log::info!("{}: {}", w.entity, describe(w, elapsed));
                        }
                    }
                }
                if done {
                    if let Some((multi, bars)) = bars {
                        for bar in &bars {
                            bar.finish();
                        }
                        let _ = multi.clear();
                    }
                    return;
                }
            }
        });
        ProgressDisplay { stop, task }
    }

    /// Stops the display and waits for it to clear.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn describe(w: &Watched, elapsed_secs: f64) -> String {
    let p = &w.progress;
    let applied = p.records_applied.load(Ordering::Relaxed);
    let fetched = p.records_fetched.load(Ordering::Relaxed);
    let requests = w.counters.requests.load(Ordering::Relaxed);
    let state = if p.finished.load(Ordering::Relaxed) {
        "done"
    } else if p.caught_up.load(Ordering::Relaxed) {
        "applying the last pages"
    } else {
        "fetching"
    };
    format!(
        "{applied} records applied ({fetched} fetched), {} pages, {:.0} records/s, {requests} requests; {state}",
        p.pages_applied.load(Ordering::Relaxed),
        applied as f64 / elapsed_secs
    )
}
