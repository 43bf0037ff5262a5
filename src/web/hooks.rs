//! `POST /hooks/lightspeed/<secret>`: Lightspeed's webhooks, received by `serve` when
//! `LIGHTSYNC_WEBHOOK_SECRET` is set. The secret in the path is compared in constant time (a
//! wrong one, or none configured, is a plain 404, and counts in the login throttle); with an
//! OAuth app's client secret the `X-Signature` must match the body. The webhook's `type` names
//! the entities to run (`schedule::entities_for`) and the answer comes at once, since
//! Lightspeed retries slow receivers. The payload is never read as data.

use hmac::{Hmac, Mac};
use rocket::data::Data;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::State;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::auth::throttled_check;
use super::client_addr::ClientAddr;
use super::throttle::Throttle;
use super::WebState;
use crate::config::Secret;
use crate::schedule::{entities_for, RunTrigger};

/// What `serve` needs to receive webhooks.
pub struct WebhookReceiver {
    pub secret: Secret,
    /// The OAuth app's client secret, with which Lightspeed signs its webhooks; when set, an
    /// unsigned or wrongly signed webhook is refused.
    pub signing_secret: Option<Secret>,
    pub trigger: RunTrigger,
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
    signature: Signature<'_>,
    client: ClientAddr,
    state: &State<WebState>,
) -> (Status, &'static str) {
    let Some(receiver) = receiver.0 else {
        return (Status::NotFound, "not found");
    };
    match admit_secret(&state.throttle, client, secret, &receiver.secret).await {
        Admission::Right => {}
        Admission::Wrong => return (Status::NotFound, "not found"),
        Admission::Busy => return (Status::TooManyRequests, "too many attempts"),
    }
    let Ok(body) = body.open(MOST_BODY).into_bytes().await else {
        return (Status::BadRequest, "unreadable body");
    };
    if let Some(signing_secret) = &receiver.signing_secret {
        if !signature_matches(signature.0, &body, signing_secret.expose()) {
            log::warn!("webhooks: refused a webhook from {client} whose X-Signature does not match the body (signed with another client secret, or altered)");
            return (Status::Unauthorized, "bad signature");
        }
    }
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

enum Admission {
    Right,
    Wrong,
    Busy,
}

/// Compares the secret in the path in constant time. Wrong guesses count in the login throttle:
/// a client that guessed wrong before waits its delay and has one guess in flight at a time,
/// while Lightspeed, which never guesses wrong, is never held back.
async fn admit_secret(
    throttle: &Throttle,
    client: ClientAddr,
    given: &str,
    secret: &Secret,
) -> Admission {
    let right = bool::from(given.as_bytes().ct_eq(secret.expose().as_bytes()));
    let counted = if throttle.failures(client.key()) == 0 {
        if right {
            return Admission::Right;
        }
        throttle.begin(client.key())
    } else {
        match throttled_check(throttle, client, async { right }).await {
            Ok((true, _)) => return Admission::Right,
            Ok((false, attempt)) => attempt,
            Err(_) => return Admission::Busy,
        }
    };
    log::warn!(
        "webhooks: a POST to /hooks/lightspeed/ with a wrong secret from {client} ({} failure(s) counted with the logins')",
        counted.failures_before + 1
    );
    Admission::Wrong
}

/// The `X-Signature` header, if any.
pub struct Signature<'r>(Option<&'r str>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Signature<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Signature(request.headers().get_one("X-Signature")))
    }
}

/// Whether `header` (`signature=<hex>, algorithm=HMAC-SHA256`) is the HMAC-SHA256 of `body`
/// with `client_secret`, compared in constant time.
fn signature_matches(header: Option<&str>, body: &[u8], client_secret: &str) -> bool {
    let Some(header) = header else { return false };
    let mut hex = None;
    for part in header.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("signature", value)) => hex = Some(value.trim()),
            Some(("algorithm", value)) if !value.trim().eq_ignore_ascii_case("HMAC-SHA256") => {
                return false
            }
            _ => {}
        }
    }
    let Some(expected) = hex.and_then(decode_hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_only_its_body_and_secret() {
        let body = b"type=sale.update&payload=%7B%7D";
        let header = crate::simulator::signature(body, "client-secret");
        assert!(signature_matches(Some(&header), body, "client-secret"));
        assert!(!signature_matches(
            Some(&header),
            b"type=sale.update",
            "client-secret"
        ));
        assert!(!signature_matches(Some(&header), body, "another-secret"));
        assert!(!signature_matches(None, body, "client-secret"));
        assert!(!signature_matches(
            Some("signature=zz"),
            body,
            "client-secret"
        ));
        let md5 = header.replace("HMAC-SHA256", "MD5");
        assert!(!signature_matches(Some(&md5), body, "client-secret"));
    }
}
