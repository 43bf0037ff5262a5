//! Dashboard authentication: the password check (argon2, constant time), the session and CSRF
//! tokens in a private cookie, per-client throttling of failed logins, and the request guards
//! that protect pages (`User`) and the JSON API (`ApiUser`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use serde::{Deserialize, Serialize};

use super::WebState;
use crate::config::{DashboardPassword, Secret};

/// Name of the private session cookie.
pub const SESSION_COOKIE: &str = "lightsync_session";
/// Name of the private cookie holding the login form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "lightsync_login_csrf";
/// How long a session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failures after which a client is locked out for `LOCKOUT`.
const FAILURES_BEFORE_LOCKOUT: u32 = 8;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without another.
const FAILURE_MEMORY: Duration = Duration::from_secs(30 * 60);
/// Delay before answering the n-th consecutive failure: 250 ms doubling, capped.
const FAILURE_DELAY_BASE: Duration = Duration::from_millis(250);
const FAILURE_DELAY_CAP: Duration = Duration::from_secs(4);

/// Checks passwords against the configured one. Both configurations end up as an argon2 hash,
/// so every check costs the same and compares in constant time.
pub struct PasswordCheck {
    phc: String,
}

impl PasswordCheck {
    pub fn new(password: &DashboardPassword) -> anyhow::Result<PasswordCheck> {
        let phc = match password {
            DashboardPassword::Hash(hash) => {
                let parsed = PasswordHash::new(hash).map_err(|err| {
                    anyhow::anyhow!(
                        "LIGHTSYNC_DASHBOARD_PASSWORD_HASH is not a valid argon2 hash: {err}"
                    )
                })?;
                if parsed.salt.is_none() || parsed.hash.is_none() {
                    anyhow::bail!(
                        "LIGHTSYNC_DASHBOARD_PASSWORD_HASH is not a complete argon2 hash (no salt or hash); `lightsync hash-password` prints one"
                    );
                }
                hash.clone()
            }
            DashboardPassword::Plain(secret) => hash_password(secret.expose())?,
        };
        Ok(PasswordCheck { phc })
    }

    pub fn verify(&self, attempt: &str) -> bool {
        let Ok(hash) = PasswordHash::new(&self.phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(attempt.as_bytes(), &hash)
            .is_ok()
    }
}

/// An argon2id PHC hash of `password` with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing the password failed: {err}"))
}

/// Constant-time equality of two byte strings (lengths may differ).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = (a.len() ^ b.len()) as u8 | ((a.len() ^ b.len()) >> 8) as u8;
    for index in 0..a.len().max(b.len()) {
        let x = a.get(index).copied().unwrap_or(0);
        let y = b.get(index).copied().unwrap_or(0);
        difference |= x ^ y;
    }
    difference == 0
}

/// A random token for sessions and CSRF.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the session cookie holds (encrypted and authenticated by Rocket's private cookies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub csrf: String,
    pub issued_at: i64,
}

/// Starts a session: sets the private, HttpOnly, SameSite=Strict cookie.
pub fn start_session(cookies: &CookieJar<'_>, secure: bool) {
    let session = Session {
        csrf: random_token(),
        issued_at: chrono::Utc::now().timestamp(),
    };
    let value = serde_json::to_string(&session).expect("a session serialises");
    cookies.add_private(
        Cookie::build((SESSION_COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(rocket::time::Duration::seconds(
                SESSION_LIFETIME.as_secs() as i64
            ))
            .path("/"),
    );
}

/// Ends the session.
pub fn end_session(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
}

/// The current session, if the cookie is present, authentic and not expired.
pub fn current_session(cookies: &CookieJar<'_>) -> Option<Session> {
    let cookie = cookies.get_private(SESSION_COOKIE)?;
    let session: Session = serde_json::from_str(cookie.value()).ok()?;
    let age = chrono::Utc::now().timestamp() - session.issued_at;
    (0..SESSION_LIFETIME.as_secs() as i64)
        .contains(&age)
        .then_some(session)
}

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
        match current_session(request.cookies()) {
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

/// A caller of the JSON API: a session or `Authorization: Bearer <LIGHTSYNC_API_TOKEN>`.
pub struct ApiUser;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        if current_session(request.cookies()).is_some() {
            return Outcome::Success(ApiUser);
        }
        let Some(state) = request.rocket().state::<WebState>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let bearer = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "));
        match (&state.api_token, bearer) {
            (Some(token), Some(given)) if bearer_matches(token, given) => Outcome::Success(ApiUser),
            _ => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

fn bearer_matches(token: &Secret, given: &str) -> bool {
    constant_time_eq(token.expose().as_bytes(), given.trim().as_bytes())
}

/// Failed-login bookkeeping per client address.
pub struct LoginThrottle {
    clients: Mutex<HashMap<Option<IpAddr>, Failures>>,
    delay_base: Duration,
    delay_cap: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::with_delays(FAILURE_DELAY_BASE, FAILURE_DELAY_CAP)
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// What the throttle says about a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    Allowed,
    /// Locked out for this long.
    LockedOut(Duration),
}

impl LoginThrottle {
    /// A throttle whose answer to the n-th failure waits `base * 2^(n-1)`, at most `cap`.
    pub fn with_delays(delay_base: Duration, delay_cap: Duration) -> Self {
        LoginThrottle {
            clients: Mutex::new(HashMap::new()),
            delay_base,
            delay_cap,
        }
    }

    /// Whether `client` may try now.
    pub fn check(&self, client: Option<IpAddr>) -> ThrottleVerdict {
        let mut clients = self.clients.lock().expect("throttle lock");
        let now = Instant::now();
        match clients.get(&client).copied() {
            Some(failures)
                if now.duration_since(failures.last) > FAILURE_MEMORY
                    && failures.locked_until.is_none_or(|until| until <= now) =>
            {
                clients.remove(&client);
                ThrottleVerdict::Allowed
            }
            Some(Failures {
                locked_until: Some(until),
                ..
            }) if until > now => ThrottleVerdict::LockedOut(until - now),
            _ => ThrottleVerdict::Allowed,
        }
    }

    /// Records a failure; returns how many in a row and how long to delay the answer.
    pub fn record_failure(&self, client: Option<IpAddr>) -> (u32, Duration) {
        let mut clients = self.clients.lock().expect("throttle lock");
        let now = Instant::now();
        let entry = clients.entry(client).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        entry.count += 1;
        entry.last = now;
        if entry.count >= FAILURES_BEFORE_LOCKOUT {
            entry.locked_until = Some(now + LOCKOUT);
        }
        let delay = self
            .delay_base
            .saturating_mul(1 << (entry.count - 1).min(8))
            .min(self.delay_cap);
        (entry.count, delay)
    }

    /// Forgets a client's failures after a successful login.
    pub fn record_success(&self, client: Option<IpAddr>) {
        self.clients.lock().expect("throttle lock").remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_in_either_configuration() {
        let plain =
            PasswordCheck::new(&DashboardPassword::Plain(Secret::new("correct horse"))).unwrap();
        assert!(plain.verify("correct horse"));
        assert!(!plain.verify("correct horsE"));
        assert!(!plain.verify(""));
        let hashed =
            PasswordCheck::new(&DashboardPassword::Hash(hash_password("s3cret").unwrap())).unwrap();
        assert!(hashed.verify("s3cret"));
        assert!(!hashed.verify("s3cret "));
        assert!(PasswordCheck::new(&DashboardPassword::Hash("$argon2id$nonsense".into())).is_err());
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn failures_slow_down_then_lock_out() {
        let throttle = LoginThrottle::default();
        let client = Some("10.0.0.1".parse().unwrap());
        let (_, first) = throttle.record_failure(client);
        let (_, second) = throttle.record_failure(client);
        assert!(second > first);
        for _ in 2..FAILURES_BEFORE_LOCKOUT {
            throttle.record_failure(client);
        }
        assert!(matches!(
            throttle.check(client),
            ThrottleVerdict::LockedOut(_)
        ));
        assert_eq!(
            throttle.check(Some("10.0.0.2".parse().unwrap())),
            ThrottleVerdict::Allowed
        );
        throttle.record_success(client);
        assert_eq!(throttle.check(client), ThrottleVerdict::Allowed);
    }
}
