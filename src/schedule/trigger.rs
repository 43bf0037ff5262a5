//! Runs started by Lightspeed's webhooks. A webhook only says "look now": each names entities,
//! those named within a moment of each other become one incremental run (mode `webhook`), and
//! what arrives while a run goes on waits for the next. The payload is never data: the run
//! fetches from the API, so a forged or replayed webhook can cost requests, never change a row.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::engine::{self, RunMode, RunRequest};
use crate::entity::Entity;
use crate::exit;

/// How long after a webhook the run starts, gathering the webhooks of a burst into it.
const GATHER: Duration = Duration::from_secs(1);
/// How long to wait before trying again when another run holds the store.
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// The entities a webhook type names; `None` for a type lightsync does not know.
pub fn entities_for(kind: &str) -> Option<&'static [Entity]> {
    Some(match kind {
        "sale.update" => &[Entity::Sales],
        "product.update" => &[Entity::Products],
        "customer.update" => &[Entity::Customers],
        "inventory.update" => &[Entity::Inventory],
        "consignment.send" | "consignment.receive" => &[Entity::Consignments, Entity::Inventory],
        "register_closure.create" => &[Entity::Registers, Entity::Sales],
        _ => return None,
    })
}

/// Hands the entities webhooks name to the task that runs them.
#[derive(Debug, Clone)]
pub struct WebhookTrigger {
    sender: mpsc::UnboundedSender<&'static [Entity]>,
}

impl WebhookTrigger {
    /// Starts the task on the current tokio runtime; it lives as long as the runtime.
    pub fn spawn(config: Config) -> WebhookTrigger {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run_requests(config, receiver));
        WebhookTrigger { sender }
    }

    /// Asks for a run of `entities` soon. Never waits.
    pub fn request(&self, entities: &'static [Entity]) {
        let _ = self.sender.send(entities);
    }
}

async fn run_requests(config: Config, mut requests: mpsc::UnboundedReceiver<&'static [Entity]>) {
    while let Some(first) = requests.recv().await {
        let mut pending: BTreeSet<Entity> = first.iter().copied().collect();
        gather(&mut requests, &mut pending).await;
        loop {
            while let Ok(more) = requests.try_recv() {
                pending.extend(more.iter().copied());
            }
            let entities: Vec<Entity> = std::mem::take(&mut pending).into_iter().collect();
            let request = RunRequest {
                mode: RunMode::Webhook,
                restart: false,
                entities: entities.clone(),
            };
            match engine::run(&config, request).await {
                Ok(report) => {
                    crate::alert::notify_after_run(&config, &report).await;
                    log::info!(
                        "webhooks: run {} of {} finished in {:.1} s",
                        report.run_id,
                        names(&entities),
                        report.elapsed.as_secs_f64()
                    );
                    break;
                }
                Err(err) if exit::code_for(&err) == exit::LOCKED => {
                    log::info!(
                        "webhooks: another run holds the store; {} again in {} s",
                        names(&entities),
                        BUSY_RETRY.as_secs()
                    );
                    pending.extend(entities);
                    tokio::time::sleep(BUSY_RETRY).await;
                }
                Err(err) => {
                    log::error!(
                        "webhooks: the run of {} could not start: {err:#}",
                        names(&entities)
                    );
                    break;
                }
            }
        }
    }
}

/// Adds what arrives within `GATHER` of the first webhook.
async fn gather(
    requests: &mut mpsc::UnboundedReceiver<&'static [Entity]>,
    pending: &mut BTreeSet<Entity>,
) {
    let deadline = tokio::time::sleep(GATHER);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            more = requests.recv() => match more {
                Some(more) => pending.extend(more.iter().copied()),
                None => return,
            },
        }
    }
}

fn names(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|entity| entity.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_type_names_its_entities() {
        for kind in [
            "sale.update",
            "product.update",
            "customer.update",
            "inventory.update",
            "consignment.send",
            "consignment.receive",
            "register_closure.create",
        ] {
            assert!(entities_for(kind).is_some_and(|e| !e.is_empty()), "{kind}");
        }
        assert_eq!(entities_for("sale.update"), Some(&[Entity::Sales][..]));
        assert_eq!(entities_for("sale.delete"), None);
    }
}
