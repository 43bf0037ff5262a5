//! The store's webhooks: the ones registered through `/api/2.0/webhooks` (or with
//! `--webhook-url`, every type at once), and their delivery after each change as Lightspeed
//! does it: a form-encoded POST with `type`, `domain_prefix` and `payload` (the changed record
//! as JSON; here its id and version), signed with the OAuth app's client secret when there is
//! one. Like the real service, it loses, repeats, delays and reorders a configurable share.

use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;

use super::store::Changed;
use crate::entity::Entity;

/// How deliveries go wrong, as shares of webhooks (0 to 1) and a longest delay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryFaults {
    /// Never sent.
    pub loss: f64,
    /// Sent twice.
    pub duplicate: f64,
    /// Each webhook waits a random time up to this before it is sent, so later changes may
    /// arrive first.
    pub max_delay: Duration,
}

/// One registered webhook, as `GET /api/2.0/webhooks` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Registered {
    pub id: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub active: bool,
}

/// What the store announces, and to whom.
pub struct Webhooks {
    registered: Mutex<Vec<Registered>>,
    next_id: Mutex<u64>,
    outbox: mpsc::UnboundedSender<Delivery>,
}

/// One POST to send.
#[derive(Debug)]
pub struct Delivery {
    url: String,
    body: String,
}

/// The webhook type Lightspeed sends when a record of `entity` changes, if it sends one.
pub fn kind_for(entity: Entity) -> Option<&'static str> {
    Some(match entity {
        Entity::Sales => "sale.update",
        Entity::Products => "product.update",
        Entity::Customers => "customer.update",
        Entity::Inventory => "inventory.update",
        Entity::Consignments => "consignment.send",
        _ => return None,
    })
}

impl Webhooks {
    /// The registry (with `url` registered for every type) and the receiving end of its outbox,
    /// for `deliver`.
    pub fn new(url: Option<&str>) -> (Webhooks, mpsc::UnboundedReceiver<Delivery>) {
        let (outbox, receiver) = mpsc::unbounded_channel();
        let webhooks = Webhooks {
            registered: Mutex::new(Vec::new()),
            next_id: Mutex::new(1),
            outbox,
        };
        if let Some(url) = url {
            for kind in crate::schedule::WEBHOOK_TYPES {
                webhooks.register(url, kind);
            }
        }
        (webhooks, receiver)
    }

    pub fn list(&self) -> Vec<Registered> {
        self.registered.lock().expect("webhooks lock").clone()
    }

    pub fn register(&self, url: &str, kind: &str) -> Registered {
        let mut next_id = self.next_id.lock().expect("webhooks lock");
        let webhook = Registered {
            id: format!("wh-{:04}", *next_id),
            url: url.to_string(),
            kind: kind.to_string(),
            active: true,
        };
        *next_id += 1;
        self.registered
            .lock()
            .expect("webhooks lock")
            .push(webhook.clone());
        webhook
    }

    /// Removes a webhook; whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        let mut registered = self.registered.lock().expect("webhooks lock");
        let before = registered.len();
        registered.retain(|webhook| webhook.id != id);
        registered.len() != before
    }

    /// Queues the webhooks `changed` calls for (sent by `deliver`). Never waits.
    pub fn announce(&self, changed: &[Changed], domain_prefix: &str) {
        let registered = self.list();
        if registered.is_empty() {
            return;
        }
        for change in changed {
            let Some(kind) = kind_for(change.entity) else {
                continue;
            };
            let payload = serde_json::json!({"id": change.id, "version": change.version});
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("type", kind)
                .append_pair("domain_prefix", domain_prefix)
                .append_pair("environment", "simulator")
                .append_pair("payload", &payload.to_string())
                .finish();
            for webhook in registered.iter().filter(|w| w.active && w.kind == kind) {
                let _ = self.outbox.send(Delivery {
                    url: webhook.url.clone(),
                    body: body.clone(),
                });
            }
        }
    }
}

/// The signature header Lightspeed puts on a webhook: HMAC-SHA256 of the body with the app's
/// client secret, in hex.
pub fn signature(body: &[u8], client_secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("signature={hex}, algorithm=HMAC-SHA256")
}

/// Sends what the outbox receives, each delivery on its own task so a slow receiver delays
/// nothing else; losses, repeats and delays as `faults` says. A receiver that fails or answers
/// other than 2xx gets the webhook again, up to three times, a second apart.
pub async fn deliver(
    mut outbox: mpsc::UnboundedReceiver<Delivery>,
    faults: DeliveryFaults,
    client_secret: Option<String>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client without TLS settings builds");
    while let Some(delivery) = outbox.recv().await {
        let (lost, copies, delay) = {
            let mut rng = rand::rng();
            let lost = rng.random::<f64>() < faults.loss;
            let copies = if rng.random::<f64>() < faults.duplicate {
                2
            } else {
                1
            };
            let delay = faults.max_delay.mul_f64(rng.random::<f64>());
            (lost, copies, delay)
        };
        if lost {
            log::debug!("simulator: a webhook to {} was lost", delivery.url);
            continue;
        }
        let signature = client_secret
            .as_deref()
            .map(|secret| signature(delivery.body.as_bytes(), secret));
        for _ in 0..copies {
            let (http, url, body, signature) = (
                http.clone(),
                delivery.url.clone(),
                delivery.body.clone(),
                signature.clone(),
            );
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                post(&http, &url, body, signature).await;
            });
        }
    }
}

async fn post(http: &reqwest::Client, url: &str, body: String, signature: Option<String>) {
    for attempt in 1..=4 {
        let mut request = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        if let Some(signature) = &signature {
            request = request.header("x-signature", signature);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => log::debug!(
                "simulator: webhook answered {} (attempt {attempt})",
                response.status()
            ),
            Err(err) => log::debug!("simulator: webhook not delivered (attempt {attempt}): {err}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_of_a_registered_type_is_queued_once_per_webhook() {
        let (webhooks, mut outbox) = Webhooks::new(None);
        let sales = webhooks.register("http://a.example/hook", "sale.update");
        webhooks.register("http://b.example/hook", "product.update");
        let changed = [
            Changed {
                entity: Entity::Sales,
                id: "s1".into(),
                version: 7,
            },
            Changed {
                entity: Entity::Brands,
                id: "b1".into(),
                version: 8,
            },
        ];
        webhooks.announce(&changed, "shop");
        let delivery = outbox.try_recv().expect("the sale's webhook");
        assert_eq!(delivery.url, "http://a.example/hook");
        assert!(delivery
            .body
            .starts_with("type=sale.update&domain_prefix=shop"));
        assert!(delivery.body.contains("payload=%7B%22id%22%3A%22s1%22"));
        assert!(outbox.try_recv().is_err(), "brands send no webhooks");
        assert!(webhooks.remove(&sales.id));
        assert!(!webhooks.remove(&sales.id));
        webhooks.announce(&changed, "shop");
        assert!(outbox.try_recv().is_err(), "removed");
    }

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"what do ya want for nothing?", "Jefe"),
            "signature=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843, algorithm=HMAC-SHA256"
        );
    }
}
