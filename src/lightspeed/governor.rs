//! The rate governor shared by every concurrent request to one store: spends a share of the
//! quota evenly through the window (a token bucket refilled at `budget / window`), stops when
//! the server's `X-RateLimit-Remaining` says the share is spent, and holds everyone back until a
//! 429's `Retry-After` has passed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests allowed before the first response tells the governor the quota: enough for every
/// entity's first page at once, few enough to never matter against any documented quota.
const REQUESTS_BEFORE_FIRST_REPORT: u32 = 5;

/// Paces requests against one store's quota. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct RateGovernor {
    inner: Arc<Inner>,
}

struct Inner {
    share: f64,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: Option<u32>,
    remaining: Option<u32>,
    window_start: Option<Instant>,
    tokens: f64,
    refilled_at: Instant,
    blocked_until: Option<Instant>,
    in_flight: u32,
}

/// Held while one request is on the wire; report its rate headers through it.
pub struct RatePermit {
    governor: RateGovernor,
    reported: bool,
}

impl RateGovernor {
    /// A governor spending `share` (0 < share <= 1) of the quota per `window`.
    pub fn new(share: f64, window: Duration) -> Self {
        RateGovernor {
            inner: Arc::new(Inner {
                share,
                window,
                state: Mutex::new(State {
                    limit: None,
                    remaining: None,
                    window_start: None,
                    tokens: 0.0,
                    refilled_at: Instant::now(),
                    blocked_until: None,
                    in_flight: 0,
                }),
            }),
        }
    }

    /// Waits until a request may be sent, then reserves it.
    pub async fn acquire(&self) -> RatePermit {
        loop {
            let wait_until = {
                let mut state = self.inner.state.lock().expect("governor lock poisoned");
                let now = Instant::now();
                match self.next_allowed(&mut state, now) {
                    None => {
                        state.in_flight += 1;
                        if state.window_start.is_none() {
                            state.window_start = Some(now);
                        }
                        if state.limit.is_some() {
                            state.tokens -= 1.0;
                        }
                        return RatePermit {
                            governor: self.clone(),
                            reported: false,
                        };
                    }
                    Some(at) => at,
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Holds every request back until `until` (after a 429).
    pub fn block_until(&self, until: Instant) {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        state.blocked_until = Some(state.blocked_until.map_or(until, |at| at.max(until)));
        // The server's window has just been exhausted: a fresh one starts when it lifts.
        state.window_start = Some(until);
        state.remaining = None;
        state.tokens = state.tokens.min(1.0);
    }

    /// `None` when a request may go now; otherwise the instant to look again.
    fn next_allowed(&self, state: &mut State, now: Instant) -> Option<Instant> {
        if let Some(until) = state.blocked_until {
            if until > now {
                return Some(until);
            }
            state.blocked_until = None;
        }
        let Some(limit) = state.limit else {
            return (state.in_flight >= REQUESTS_BEFORE_FIRST_REPORT)
                .then(|| now + Duration::from_millis(20));
        };
        let budget = budget_of(limit, self.inner.share);
        let reserve = limit - budget;
        let rate_per_sec = budget as f64 / self.inner.window.as_secs_f64();
        let capacity = reserve.clamp(1, budget.max(1)) as f64;

        let elapsed = now
            .saturating_duration_since(state.refilled_at)
            .as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate_per_sec).min(capacity);
        state.refilled_at = now;

        if let Some(remaining) = state.remaining {
            if remaining.saturating_sub(state.in_flight) <= reserve {
                let window_end = state
                    .window_start
                    .map(|start| start + self.inner.window)
                    .unwrap_or(now);
                if window_end > now {
                    return Some(window_end);
                }
                if state.in_flight > 0 {
                    return Some(now + Duration::from_millis(20));
                }
                // The estimated window is over: one request probes for the fresh quota.
                state.window_start = Some(now);
                state.remaining = None;
            }
        }
        if state.tokens < 1.0 {
            let wait = (1.0 - state.tokens) / rate_per_sec;
            return Some(now + Duration::from_secs_f64(wait));
        }
        None
    }

    fn report(&self, limit: Option<u32>, remaining: Option<u32>) {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        let now = Instant::now();
        if let Some(limit) = limit.filter(|limit| *limit > 0) {
            if state.limit.is_none() {
                // Start with a small burst: no more than the reserve, so even a burst on top of
                // an evenly paced window never exceeds the quota.
                let budget = budget_of(limit, self.inner.share);
                state.tokens = (limit - budget).clamp(1, budget) as f64;
                state.refilled_at = now;
            }
            state.limit = Some(limit);
        }
        if let Some(remaining) = remaining {
            if state
                .remaining
                .is_some_and(|previous| remaining > previous + state.in_flight)
            {
                // The quota went up: the server started a new window.
                state.window_start = Some(now);
            }
            state.remaining = Some(remaining);
        }
    }
}

/// The part of the quota lightsync may spend.
fn budget_of(limit: u32, share: f64) -> u32 {
    ((limit as f64 * share).floor() as u32).clamp(1, limit)
}

impl RatePermit {
    /// Records the rate headers of this request's response.
    pub fn report(mut self, limit: Option<u32>, remaining: Option<u32>) {
        self.governor.report(limit, remaining);
        self.release();
    }

    fn release(&mut self) {
        if !self.reported {
            self.reported = true;
            let mut state = self
                .governor
                .inner
                .state
                .lock()
                .expect("governor lock poisoned");
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }
}

impl Drop for RatePermit {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_the_reserve_for_other_apps() {
        assert_eq!(budget_of(350, 0.95), 332);
        assert_eq!(budget_of(30, 0.95), 28);
        assert_eq!(budget_of(1, 0.5), 1);
        assert_eq!(budget_of(100, 1.0), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spread_through_the_window() {
        let governor = RateGovernor::new(1.0, Duration::from_secs(10));
        let start = Instant::now();
        governor.acquire().await.report(Some(10), Some(9));
        for used in 2..=10u32 {
            governor.acquire().await.report(Some(10), Some(10 - used));
        }
        // 10 requests at 1 per second after the first report: about 9 seconds, never a burst.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(8), "{elapsed:?}");
        assert!(elapsed <= Duration::from_secs(11), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_share_waits_for_the_next_window() {
        let governor = RateGovernor::new(0.5, Duration::from_secs(60));
        let start = Instant::now();
        // Other apps already spent most of the quota: 5 left of 100, and half is reserved.
        governor.acquire().await.report(Some(100), Some(5));
        governor.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(59),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_holds_every_request_until_it_lifts() {
        let governor = RateGovernor::new(0.95, Duration::from_secs(300));
        let start = Instant::now();
        governor.block_until(start + Duration::from_secs(7));
        governor.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(7));
    }
}
