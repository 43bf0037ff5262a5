//! `POST /hooks/lightspeed/<secret>`: Lightspeed's webhooks, received by `serve` when
//! `LIGHTSYNC_WEBHOOK_SECRET` is set. The secret in the path is compared in constant time (a
//! wrong one, or none configured, is a plain 404); the webhook's `type` names the entities to
//! run (`schedule::entities_for`) and the answer comes at once, since Lightspeed retries slow
//! receivers. The payload is never read as data.

use rocket::form::Form;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::schedule::{entities_for, WebhookTrigger};

/// What `serve` needs to receive webhooks.
pub struct WebhookReceiver {
    pub secret: Secret,
    pub trigger: WebhookTrigger,
}

/// The receiver, if `serve` has one. Read from the application rather than as a `State` guard:
/// a receiver is managed only when a secret is configured, and a guard on unmanaged state would
/// stop the dashboard from starting.
pub struct Receiver<'r>(Option<&'r WebhookReceiver>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Receiver<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Receiver(request.rocket().state::<WebhookReceiver>()))
    }
}

/// The fields of a webhook lightsync reads (Lightspeed also sends `payload`, `domain_prefix`,
/// `environment`, ...; they are ignored).
#[derive(rocket::FromForm)]
pub struct Hook {
    #[field(name = "type")]
    kind: Option<String>,
}

#[rocket::post("/hooks/lightspeed/<secret>", data = "<hook>")]
pub fn lightspeed(
    secret: &str,
    hook: Form<Hook>,
    receiver: Receiver<'_>,
) -> (Status, &'static str) {
    let Some(receiver) = receiver.0.filter(|receiver| {
        bool::from(secret.as_bytes().ct_eq(receiver.secret.expose().as_bytes()))
    }) else {
        return (Status::NotFound, "not found");
    };
    let kind = hook.kind.as_deref().unwrap_or_default();
    match entities_for(kind) {
        Some(entities) => {
            log::debug!("webhooks: {kind}");
            receiver.trigger.request(entities);
            (Status::Ok, "ok")
        }
        None => {
            log::info!("webhooks: ignored a webhook of type {kind:?}, which names no entity lightsync copies");
            (Status::Ok, "ignored")
        }
    }
}
