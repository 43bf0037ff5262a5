//! Sessions that end when they should. The session lives in a private (encrypted, authenticated)
//! cookie holding a random id, the CSRF token, when it was issued, and the password epoch (a
//! digest of the password hash): changing the password changes the epoch, which ends every
//! session at once. Logging out puts the id on a server-side revocation list until the session
//! would have expired anyway; the list is kept in PostgreSQL too (a digest of the id), so a
//! logout survives a restart. The list is bounded; if it ever fills, every session ends instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rocket::http::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use super::auth::{constant_time_eq, random_token};

/// Name of the private session cookie.
pub const SESSION_COOKIE: &str = "lightsync_session";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Revoked sessions remembered at once: a logout each minute for twelve hours is 720, so this
/// is only reached by something odd; then every session ends rather than a logout being lost.
const MAX_REVOKED: usize = 10_000;

/// What the session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    pub issued_at: i64,
    pub epoch: String,
}

/// Issues, checks and revokes sessions for one password epoch.
pub struct Sessions {
    epoch: String,
    revoked: Mutex<Revoked>,
}

/// A logout to remember beyond this process: the session id's digest and when the session
/// would have expired (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    pub session_digest: String,
    pub expires_at: i64,
}

#[derive(Default)]
struct Revoked {
    /// Digest of a session id -> when it expires (unix seconds).
    ids: HashMap<String, i64>,
    /// Sessions issued before this (unix seconds) are refused.
    not_before: i64,
}

impl Sessions {
    /// Sessions bound to `epoch` (see `PasswordCheck::epoch`).
    pub fn new(epoch: String) -> Sessions {
        Sessions {
            epoch,
            revoked: Mutex::new(Revoked::default()),
        }
    }

    /// Starts a session: sets the private, HttpOnly, SameSite=Strict cookie.
    pub fn start(&self, cookies: &CookieJar<'_>, secure: bool) {
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            issued_at: chrono::Utc::now().timestamp(),
            epoch: self.epoch.clone(),
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

    /// Ends `session` here and in the browser: a saved copy of the cookie no longer works.
    /// Returns the logout for the caller to keep in PostgreSQL.
    pub fn end(&self, cookies: &CookieJar<'_>, session: &Session) -> Logout {
        let logout = Logout {
            session_digest: session_digest(&session.id),
            expires_at: session.issued_at + SESSION_LIFETIME.as_secs() as i64,
        };
        self.remember([logout.clone()]);
        cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        logout
    }

    /// Puts logouts on the revocation list (at start, the ones kept in PostgreSQL).
    pub fn remember(&self, logouts: impl IntoIterator<Item = Logout>) {
        let now = chrono::Utc::now().timestamp();
        let mut revoked = self.revoked.lock().expect("revocation lock");
        revoked.ids.retain(|_, expires| *expires > now);
        for logout in logouts {
            if revoked.ids.len() >= MAX_REVOKED {
                log::warn!("{MAX_REVOKED} revoked dashboard sessions are still live: ending every session instead");
                revoked.ids.clear();
                revoked.not_before = now + 1;
                return;
            }
            revoked.ids.insert(logout.session_digest, logout.expires_at);
        }
    }

    /// The current session, if the cookie is present, authentic, unexpired, of this password
    /// epoch and not revoked.
    pub fn current(&self, cookies: &CookieJar<'_>) -> Option<Session> {
        let cookie = cookies.get_private(SESSION_COOKIE)?;
        let session: Session = serde_json::from_str(cookie.value()).ok()?;
        let now = chrono::Utc::now().timestamp();
        let age = now - session.issued_at;
        if !(0..SESSION_LIFETIME.as_secs() as i64).contains(&age)
            || !constant_time_eq(session.epoch.as_bytes(), self.epoch.as_bytes())
        {
            return None;
        }
        let revoked = self.revoked.lock().expect("revocation lock");
        if session.issued_at < revoked.not_before
            || revoked.ids.contains_key(&session_digest(&session.id))
        {
            return None;
        }
        Some(session)
    }

    /// Sessions on the revocation list.
    #[cfg(feature = "failpoints")]
    pub fn revoked_count(&self) -> usize {
        self.revoked.lock().expect("revocation lock").ids.len()
    }
}

/// What is kept of a session id once it is logged out: its SHA-256, so the table never holds a
/// session id that could be replayed.
fn session_digest(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
