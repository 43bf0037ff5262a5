//! `POST /hooks/lightspeed/<secret>`: Lightspeed's webhooks, received by `serve` when
//! `LIGHTSYNC_WEBHOOK_SECRET` is set. The secret in the path is compared in constant time (a
//! wrong one, or none configured, is a plain 404); the webhook's `type` names the entities to
//! run (`schedule::entities_for`) and the answer comes at once, since Lightspeed retries slow
//! receivers. The payload is never read as data.

use rocket::data::Data;
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

/// The most of a webhook's body read: enough for any record's payload (a sale with hundreds of
/// lines), far below what would let a sender tie up memory. The dashboard's form limit (16 KiB)
/// is for logins, and a larger webhook refused with 413 would be retried by Lightspeed forever.
const MOST_BODY: rocket::data::ByteUnit = rocket::data::ByteUnit::Mebibyte(1);

#[rocket::post("/hooks/lightspeed/<secret>", data = "<body>")]
pub async fn lightspeed(
    secret: &str,
    body: Data<'_>,
    receiver: Receiver<'_>,
) -> (Status, &'static str) {
    let Some(receiver) = receiver.0.filter(|receiver| {
        bool::from(secret.as_bytes().ct_eq(receiver.secret.expose().as_bytes()))
    }) else {
        return (Status::NotFound, "not found");
    };
    let Ok(body) = body.open(MOST_BODY).into_bytes().await else {
        return (Status::BadRequest, "unreadable body");
    };
    // Only `type` is read (Lightspeed also sends `payload`, `domain_prefix`, ...).
    let kind = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "type")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    match entities_for(&kind) {
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
