//! Slowing down password and token guessing without ever locking the owner out.
//!
//! Every attempt (a login, a bearer token) is counted as a failure *before* it is checked, so
//! concurrent guesses all count, and is forgiven when it succeeds. An attempt waits before it is
//! checked: per client, a delay that doubles with the client's recent failures; across all
//! clients, once more than a budget of failures happened in the last ten minutes, every attempt
//! waits a delay that grows with the excess (and the log says so). Both are capped, so the right
//! password is always accepted after at most `delay_cap`: nobody is ever locked out.
//! Memory is bounded: forgotten clients are pruned and the table has a fixed capacity.
//!
//! Attempts in flight are bounded too (`admit`): one per client, so guesses sent in parallel
//! are checked no faster than guesses sent one after another (a client's second attempt while
//! its first still waits is refused at once, with the time to retry after); and at most
//! `max_in_flight` across all clients, a bound on memory far above any real use. The owner, on
//! an address of their own, always has their one attempt admitted while others flood.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;

use super::client_addr::ClientKey;

/// The first failure's delay; each further failure doubles it.
pub const DEFAULT_DELAY_BASE: Duration = Duration::from_millis(250);
/// No attempt waits longer than this: the documented worst case for the owner.
pub const DEFAULT_DELAY_CAP: Duration = Duration::from_secs(10);
/// Failures across all clients in `GLOBAL_WINDOW` before every attempt is slowed: far above
/// what one person mistyping produces, well below what a guessing campaign needs.
pub const DEFAULT_GLOBAL_BUDGET: u32 = 100;
/// A client's failures are forgotten this long after its last one.
pub const DEFAULT_MEMORY: Duration = Duration::from_secs(15 * 60);
/// Clients tracked at once (about 100 bytes each); beyond this, new clients share one entry.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// Attempts waiting or being checked at once across all clients (one per client): each is a
/// small waiting task, so this bounds memory against a flood from very many addresses.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4_096;
/// Added to a refused attempt's `Retry-After`: about one password check, so a client that
/// waits as told finds its previous attempt finished.
const CHECK_ALLOWANCE: Duration = Duration::from_secs(1);

/// The global budget counts failures in one-minute buckets over this many minutes.
const GLOBAL_WINDOW_MINUTES: usize = 10;
const MINUTE: Duration = Duration::from_secs(60);

/// The throttle's tunables (tests shorten the delays).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    pub delay_base: Duration,
    pub delay_cap: Duration,
    pub global_budget: u32,
    pub memory: Duration,
    pub max_clients: usize,
    pub max_in_flight: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            delay_base: DEFAULT_DELAY_BASE,
            delay_cap: DEFAULT_DELAY_CAP,
            global_budget: DEFAULT_GLOBAL_BUDGET,
            memory: DEFAULT_MEMORY,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// One counted attempt: how long to wait before checking it, and what to forgive on success.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub key: ClientKey,
    /// Failures of this client counted before this attempt.
    pub failures_before: u32,
    pub delay: Duration,
    minute: u64,
}

/// An attempt refused without being checked, because the client already has one in flight
/// (or every slot is taken): it may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after: Duration,
}

/// An admitted attempt: counted, and in flight until dropped (also when the request is
/// abandoned halfway, so a client is never left marked busy).
pub struct Admitted<'a> {
    throttle: &'a Throttle,
    pub attempt: Attempt,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut inner = self.throttle.inner.lock().expect("throttle lock");
        inner.in_flight.remove(&self.attempt.key);
    }
}

/// Failure bookkeeping per client and across all clients.
pub struct Throttle {
    settings: ThrottleSettings,
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    clients: HashMap<ClientKey, Failures>,
    /// `(minute, failures)` per bucket, minute counted from `started`.
    global: [(u64, u32); GLOBAL_WINDOW_MINUTES],
    last_prune: Option<Instant>,
    warned_minute: Option<u64>,
    /// Clients with an attempt in flight -> when its delay ends.
    in_flight: HashMap<ClientKey, Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(ThrottleSettings::default())
    }
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        Throttle {
            settings,
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn settings(&self) -> ThrottleSettings {
        self.settings
    }

    /// Admits an attempt by `key` if the client has none in flight (and a slot is free): counts
    /// it as a failure now and says how long it must wait. Otherwise it is refused uncounted.
    pub fn admit(&self, key: ClientKey) -> Result<Admitted<'_>, Busy> {
        let now = Instant::now();
        let settings = self.settings;
        let mut inner = self.inner.lock().expect("throttle lock");
        inner.prune(now, settings);
        // The key the attempt is counted under (the shared overflow entry when the table is
        // full), so a refusal is decided before anything is counted.
        let key = inner.tracked_key(key, settings);
        let busy_until = match inner.in_flight.get(&key) {
            Some(ready_at) => Some(*ready_at),
            None if inner.in_flight.len() >= settings.max_in_flight => {
                Some(now + settings.delay_cap)
            }
            None => None,
        };
        if let Some(ready_at) = busy_until {
            let wait = ready_at.saturating_duration_since(now) + CHECK_ALLOWANCE;
            return Err(Busy {
                retry_after: Duration::from_secs(wait.as_secs_f64().ceil() as u64),
            });
        }
        let attempt = self.count(&mut inner, key, now);
        inner.in_flight.insert(attempt.key, now + attempt.delay);
        Ok(Admitted {
            throttle: self,
            attempt,
        })
    }

    /// Attempts in flight right now.
    pub fn in_flight(&self) -> usize {
        self.inner.lock().expect("throttle lock").in_flight.len()
    }

    /// Counts an attempt by `key` as a failure now and says how long it must wait.
    pub fn begin(&self, key: ClientKey) -> Attempt {
        self.begin_at(key, Instant::now())
    }

    fn begin_at(&self, key: ClientKey, now: Instant) -> Attempt {
        let mut inner = self.inner.lock().expect("throttle lock");
        self.count(&mut inner, key, now)
    }

    fn count(&self, inner: &mut Inner, key: ClientKey, now: Instant) -> Attempt {
        let settings = self.settings;
        inner.prune(now, settings);
        let key = inner.tracked_key(key, settings);
        let entry = inner.clients.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) > settings.memory {
            entry.count = 0;
        }
        let failures_before = entry.count;
        entry.count = entry.count.saturating_add(1);
        entry.last = now;

        let minute = (now.duration_since(self.started).as_secs() / MINUTE.as_secs()) + 1;
        let recent = inner.recent_failures(minute);
        let slot = &mut inner.global[minute as usize % GLOBAL_WINDOW_MINUTES];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 = slot.1.saturating_add(1);
        let excess = recent.saturating_sub(settings.global_budget);
        if excess > 0 && inner.warned_minute.is_none_or(|m| m + 10 <= minute) {
            inner.warned_minute = Some(minute);
            log::warn!(
                "more than {} failed dashboard logins or API tokens in the last {GLOBAL_WINDOW_MINUTES} minutes ({recent}, from {} addresses): every attempt now waits up to {} s",
                settings.global_budget,
                inner.clients.len(),
                settings.delay_cap.as_secs_f64()
            );
        }
        let delay = curve(settings, failures_before).max(curve(settings, excess));
        Attempt {
            key,
            failures_before,
            delay,
            minute,
        }
    }

    /// Forgives a successful attempt: the client's failures and the attempt's global count.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut inner = self.inner.lock().expect("throttle lock");
        inner.clients.remove(&attempt.key);
        inner.uncount_globally(attempt);
    }

    /// The per-client delay after `failures` failures (the global delay may add to it).
    pub fn delay_after(&self, failures: u32) -> Duration {
        curve(self.settings, failures)
    }

    /// The failures counted for `key` (forgotten ones excluded).
    pub fn failures(&self, key: ClientKey) -> u32 {
        let inner = self.inner.lock().expect("throttle lock");
        inner
            .clients
            .get(&key)
            .filter(|f| f.last.elapsed() <= self.settings.memory)
            .map_or(0, |f| f.count)
    }

    /// How many clients are tracked.
    pub fn tracked_clients(&self) -> usize {
        self.inner.lock().expect("throttle lock").clients.len()
    }
}

impl Inner {
    /// The key `key` is counted under: its own while the table has room (one slot of the
    /// capacity is kept for the shared overflow entry), the overflow entry otherwise.
    fn tracked_key(&self, key: ClientKey, settings: ThrottleSettings) -> ClientKey {
        if self.clients.contains_key(&key) || self.clients.len() + 1 < settings.max_clients {
            key
        } else {
            ClientKey::Overflow
        }
    }

    fn uncount_globally(&mut self, attempt: &Attempt) {
        let slot = &mut self.global[attempt.minute as usize % GLOBAL_WINDOW_MINUTES];
        if slot.0 == attempt.minute {
            slot.1 = slot.1.saturating_sub(1);
        }
    }

    /// Drops forgotten clients, at most once a second (or at once when the table is full).
    fn prune(&mut self, now: Instant, settings: ThrottleSettings) {
        let due = self
            .last_prune
            .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(1));
        if due || self.clients.len() >= settings.max_clients {
            self.clients
                .retain(|_, f| now.duration_since(f.last) <= settings.memory);
            self.last_prune = Some(now);
        }
    }

    /// Failures in the window ending with `minute`.
    fn recent_failures(&self, minute: u64) -> u32 {
        self.global
            .iter()
            .filter(|(m, _)| *m + GLOBAL_WINDOW_MINUTES as u64 > minute && *m <= minute)
            .map(|(_, n)| *n)
            .sum()
    }
}

/// The delay after `failures` failures: none for the first attempt, then the shared backoff
/// curve (`base * 2^(n-1)`, at most `cap`).
fn curve(settings: ThrottleSettings, failures: u32) -> Duration {
    Backoff::new(settings.delay_base, settings.delay_cap).ceiling(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ClientKey {
        ClientKey::V4(n)
    }

    #[test]
    fn the_delay_doubles_and_never_exceeds_the_documented_cap() {
        let throttle = Throttle::default();
        let delays: Vec<Duration> = (0..50).map(|_| throttle.begin(key(1)).delay).collect();
        assert_eq!(delays[0], Duration::ZERO, "a first attempt never waits");
        assert_eq!(delays[1], Duration::from_millis(250));
        assert_eq!(delays[2], Duration::from_millis(500));
        assert_eq!(delays[49], Duration::from_secs(10));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert!(delays.iter().all(|d| *d <= DEFAULT_DELAY_CAP));
        assert_eq!(throttle.failures(key(1)), 50);
        assert_eq!(throttle.begin(key(2)).delay, Duration::ZERO, "per client");
    }

    #[test]
    fn success_forgives_the_client_and_its_attempt() {
        let throttle = Throttle::default();
        for _ in 0..5 {
            throttle.begin(key(1));
        }
        let attempt = throttle.begin(key(1));
        assert_eq!(attempt.failures_before, 5);
        throttle.succeeded(&attempt);
        assert_eq!(throttle.failures(key(1)), 0);
        assert_eq!(throttle.begin(key(1)).delay, Duration::ZERO);
    }

    #[test]
    fn past_the_global_budget_every_attempt_waits_and_stays_capped() {
        let throttle = Throttle::new(ThrottleSettings {
            global_budget: 20,
            ..ThrottleSettings::default()
        });
        let now = Instant::now();
        for n in 0..20 {
            assert_eq!(throttle.begin_at(key(n), now).delay, Duration::ZERO);
        }
        let newcomer = throttle.begin_at(key(1000), now);
        assert_eq!(newcomer.failures_before, 0);
        assert!(newcomer.delay.is_zero(), "exactly at the budget");
        let next = throttle.begin_at(key(1001), now);
        assert!(
            next.delay > Duration::ZERO,
            "over the budget everyone waits"
        );
        for n in 2000..2100 {
            assert!(throttle.begin_at(key(n), now).delay <= DEFAULT_DELAY_CAP);
        }
        // Ten minutes later the window has moved on.
        let later = now + Duration::from_secs(11 * 60);
        assert_eq!(throttle.begin_at(key(5000), later).delay, Duration::ZERO);
    }

    #[test]
    fn memory_is_bounded_by_pruning_and_a_capacity() {
        let throttle = Throttle::new(ThrottleSettings {
            max_clients: 100,
            global_budget: u32::MAX,
            ..ThrottleSettings::default()
        });
        let now = Instant::now();
        for n in 0..1000 {
            throttle.begin_at(key(n), now);
        }
        assert_eq!(
            throttle.tracked_clients(),
            100,
            "99 clients and the overflow"
        );
        let overflow = throttle.begin_at(key(5000), now);
        assert_eq!(overflow.key, ClientKey::Overflow);
        assert!(overflow.failures_before > 800, "newcomers share one count");
        let later = now + DEFAULT_MEMORY + Duration::from_secs(1);
        let fresh = throttle.begin_at(key(7), later);
        assert_eq!(fresh.key, key(7));
        assert_eq!(fresh.failures_before, 0, "forgotten after the memory");
        assert_eq!(throttle.tracked_clients(), 1, "the old entries were pruned");
    }
}
