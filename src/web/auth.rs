//! Dashboard authentication: the password check (argon2 on a blocking thread, a few at a time),
//! constant-time comparisons, the login form's CSRF cookie, and the request guards that protect
//! pages (`User`) and the JSON API (`ApiUser`). Every password or token attempt goes through the
//! throttle first (`throttle`); sessions live in `session`; the client's address in `client_addr`.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::sync::Semaphore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::client_addr::ClientAddr;
use super::session::Session;
use super::throttle::{Attempt, Busy, Throttle};
use super::WebState;
use crate::config::{vars, ConfigError, DashboardPassword, Secret};

pub use super::session::SESSION_COOKIE;

/// Name of the private cookie holding the login form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "lightsync_login_csrf";
/// argon2 verifications running at once. Each takes ~20 ms of one core and 19 MiB in a release
/// build; two keep a login flood from taking every core (and memory) from the dashboard.
pub const VERIFY_CONCURRENCY: usize = 2;
/// Salt for hashing a plain-text password at startup. The hash never leaves memory; a fixed
/// salt makes it, and so the session epoch, the same across restarts.
const PLAIN_PASSWORD_SALT: &[u8] = b"lightsync-dashboard-password";

/// Checks passwords against the configured one. Both configurations end up as an argon2 hash,
/// so every check costs the same; checks run on blocking threads, `VERIFY_CONCURRENCY` at a time.
#[derive(Clone)]
pub struct PasswordCheck {
    phc: Arc<str>,
    permits: Arc<Semaphore>,
}

impl PasswordCheck {
    pub fn new(password: &DashboardPassword) -> anyhow::Result<PasswordCheck> {
        let phc = match password {
            DashboardPassword::Hash(hash) => {
                let invalid = |reason: String| ConfigError::Invalid {
                    variable: vars::DASHBOARD_PASSWORD_HASH,
                    reason,
                };
                let parsed = PasswordHash::new(hash)
                    .map_err(|err| invalid(format!("not a valid argon2 hash: {err}")))?;
                if parsed.salt.is_none() || parsed.hash.is_none() {
                    return Err(invalid(
                        "not a complete argon2 hash (no salt or hash); `lightsync hash-password` prints one".into(),
                    )
                    .into());
                }
                hash.clone()
            }
            DashboardPassword::Plain(secret) => {
                let salt = SaltString::encode_b64(PLAIN_PASSWORD_SALT)
                    .map_err(|err| anyhow::anyhow!("the fixed salt is invalid: {err}"))?;
                hash_with_salt(secret.expose(), &salt)?
            }
        };
        Ok(PasswordCheck {
            phc: phc.into(),
            permits: Arc::new(Semaphore::new(VERIFY_CONCURRENCY)),
        })
    }

    /// Whether `attempt` is the password (blocking: argon2 takes a while).
    pub fn verify_now(&self, attempt: &str) -> bool {
        let Ok(hash) = PasswordHash::new(&self.phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(attempt.as_bytes(), &hash)
            .is_ok()
    }

    /// Whether `attempt` is the password, checked on a blocking thread once a permit is free.
    pub async fn verify(&self, attempt: String) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let check = self.clone();
        rocket::tokio::task::spawn_blocking(move || check.verify_now(&attempt))
            .await
            .unwrap_or(false)
    }

    /// Verifications running right now.
    #[cfg(feature = "failpoints")]
    pub fn verifications_in_flight(&self) -> usize {
        VERIFY_CONCURRENCY - self.permits.available_permits()
    }

    /// A digest of the password hash: it changes when the password (or its hash) changes, and
    /// every session carries the one it was issued under.
    pub fn epoch(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"lightsync session epoch\0")
            .chain_update(self.phc.as_bytes())
            .finalize();
        hex(&digest[..16])
    }
}

/// An argon2id PHC hash of `password` with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_with_salt(password, &SaltString::generate(&mut OsRng))
}

fn hash_with_salt(password: &str, salt: &SaltString) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing the password failed: {err}"))
}

/// Constant-time equality of two byte strings (only the lengths may show in the timing).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Whether a bearer token is the configured one. Both sides are hashed first, so not even the
/// token's length shows in the timing.
fn bearer_matches(token: &Secret, given: &str) -> bool {
    let expected = Sha256::digest(token.expose().as_bytes());
    let given = Sha256::digest(given.trim().as_bytes());
    constant_time_eq(&expected, &given)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random token for sessions and CSRF.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Admits an attempt by `client` with `throttle` (refused at once, uncounted, while the client
/// has another in flight), waits its delay, then runs `check`; a success is forgiven. Returns
/// the verdict and the counted attempt.
pub async fn throttled_check<F>(
    throttle: &Throttle,
    client: ClientAddr,
    check: F,
) -> Result<(bool, Attempt), Busy>
where
    F: std::future::Future<Output = bool>,
{
    let admitted = throttle.admit(client.key())?;
    let attempt = admitted.attempt;
    if attempt.delay > Duration::ZERO {
        rocket::tokio::time::sleep(attempt.delay).await;
    }
    let ok = check.await;
    if ok {
        throttle.succeeded(&attempt);
    }
    Ok((ok, attempt))
}

/// The `Retry-After` of a refused attempt, kept for the 429 catcher (request guards cannot set
/// headers themselves).
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryAfter(pub Option<Duration>);

/// The CSRF token of the login form: reused while its cookie lives, created otherwise.
pub fn login_csrf_token(cookies: &CookieJar<'_>, secure: bool) -> String {
    if let Some(cookie) = cookies.get_private(LOGIN_CSRF_COOKIE) {
        return cookie.value().to_string();
    }
    let token = random_token();
    cookies.add_private(
        Cookie::build((LOGIN_CSRF_COOKIE, token.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .path("/"),
    );
    token
}

/// A signed-in person (pages).
pub struct User {
    pub session: Session,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(state) = request.rocket().state::<WebState>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        match state.sessions.current(request.cookies()) {
            Some(session) => Outcome::Success(User { session }),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

impl User {
    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        constant_time_eq(self.session.csrf.as_bytes(), submitted.as_bytes())
    }
}

/// A caller of the JSON API: a session or `Authorization: Bearer <LIGHTSYNC_API_TOKEN>`. A
/// bearer token is throttled like a password, by a throttle of its own (a monitor's good token
/// never forgives an address's failed logins), and a wrong one is logged (never the token).
pub struct ApiUser;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(state) = request.rocket().state::<WebState>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        if state.sessions.current(request.cookies()).is_some() {
            return Outcome::Success(ApiUser);
        }
        let Some(bearer) = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return Outcome::Error((Status::Unauthorized, ()));
        };
        let client = request
            .guard::<ClientAddr>()
            .await
            .succeeded()
            .unwrap_or(ClientAddr(None));
        let token = state.api_token.as_ref();
        let checked = throttled_check(&state.bearer_throttle, client, async {
            token.is_some_and(|token| bearer_matches(token, bearer))
        })
        .await;
        let (ok, attempt) = match checked {
            Ok(checked) => checked,
            Err(busy) => {
                request.local_cache(|| RetryAfter(Some(busy.retry_after)));
                return Outcome::Error((Status::TooManyRequests, ()));
            }
        };
        if ok {
            return Outcome::Success(ApiUser);
        }
        log::warn!(
            "API request to {} with a wrong bearer token from {client} ({} failure(s) counted; the next waits {} ms)",
            request.uri().path(),
            attempt.failures_before + 1,
            state
                .bearer_throttle
                .delay_after(attempt.failures_before + 1)
                .as_millis()
        );
        Outcome::Error((Status::Unauthorized, ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_in_either_configuration() {
        let plain =
            PasswordCheck::new(&DashboardPassword::Plain(Secret::new("correct horse"))).unwrap();
        assert!(plain.verify_now("correct horse"));
        assert!(!plain.verify_now("correct horsE"));
        assert!(!plain.verify_now(""));
        let hashed =
            PasswordCheck::new(&DashboardPassword::Hash(hash_password("s3cret").unwrap())).unwrap();
        assert!(hashed.verify_now("s3cret"));
        assert!(!hashed.verify_now("s3cret "));
        let Err(err) = PasswordCheck::new(&DashboardPassword::Hash("$argon2id$nonsense".into()))
        else {
            panic!("a broken hash was accepted");
        };
        assert!(err
            .to_string()
            .starts_with("LIGHTSYNC_DASHBOARD_PASSWORD_HASH is invalid"));
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
    }

    #[test]
    fn the_epoch_follows_the_password_and_survives_a_restart() {
        let plain = |pw: &str| {
            PasswordCheck::new(&DashboardPassword::Plain(Secret::new(pw)))
                .unwrap()
                .epoch()
        };
        assert_eq!(plain("correct horse"), plain("correct horse"));
        assert_ne!(plain("correct horse"), plain("correct horse 2"));
        assert!(!plain("correct horse").contains("correct"));
        let hash = hash_password("s3cret").unwrap();
        let hashed = |h: &str| {
            PasswordCheck::new(&DashboardPassword::Hash(h.to_string()))
                .unwrap()
                .epoch()
        };
        assert_eq!(hashed(&hash), hashed(&hash));
        assert_ne!(hashed(&hash), hashed(&hash_password("s3cret").unwrap()));
    }

    #[test]
    fn constant_time_comparisons_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
        let token = Secret::new("0123456789abcdef0123456789abcdef");
        assert!(bearer_matches(&token, "0123456789abcdef0123456789abcdef"));
        assert!(bearer_matches(&token, " 0123456789abcdef0123456789abcdef "));
        assert!(!bearer_matches(&token, "0123456789abcdef0123456789abcdeF"));
        assert!(!bearer_matches(&token, ""));
    }
}
