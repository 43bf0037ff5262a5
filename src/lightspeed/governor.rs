//! The rate governor shared by every concurrent request to one store: spends a share of the
//! quota evenly through the window (a token bucket refilled at `budget / window`, slower when
//! the server says less is left than that pace assumes), stops when the server's
//! `X-RateLimit-Remaining` says the share is spent, and holds everyone back until a
//! 429's `Retry-After` has passed, and for at least a growing floor after consecutive 429s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests allowed before the first response tells the governor the quota: enough for every
/// entity's first page at once, few enough to never matter against any documented quota.
const REQUESTS_BEFORE_FIRST_REPORT: u32 = 5;
/// Shortest hold after a 429, whatever its `Retry-After` says: a date already past on our clock
/// (the server's clock is ahead) or a missing header must not turn into a request storm.
const RATE_LIMITED_FLOOR: Duration = Duration::from_secs(1);
/// The slowest pace when little of the window is left: one request a minute still goes.
const MIN_RATE_PER_SEC: f64 = 1.0 / 60.0;
/// The floor doubles with each consecutive 429, up to this.
const RATE_LIMITED_FLOOR_CAP: Duration = Duration::from_secs(30);

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
    /// 429s since the last response that was not one.
    rate_limited_streak: u32,
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
                    rate_limited_streak: 0,
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

    /// How long until `requests` requests could go at once (none while the quota is unknown).
    /// A follower waits this long before a run, so the run's requests leave together.
    pub fn time_until(&self, requests: u32) -> Duration {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        let now = Instant::now();
        if let Some(until) = state.blocked_until.filter(|until| *until > now) {
            return until - now;
        }
        let Some(limit) = state.limit else {
            return Duration::ZERO;
        };
        let budget = budget_of(limit, self.inner.share);
        let capacity = (limit - budget).clamp(1, budget.max(1)) as f64;
        let rate_per_sec = self.refill(&mut state, limit, now);
        let wanted = (requests as f64).min(capacity);
        if state.tokens >= wanted {
            Duration::ZERO
        } else {
            let wait = (wanted - state.tokens) / rate_per_sec;
            Duration::from_secs_f64(wait.min(self.inner.window.as_secs_f64()))
        }
    }

    /// Records a 429 whose `Retry-After` asked for `retry_after` (zero when it was missing or
    /// already past) and holds every request back for that long, but at least a floor of 1 s
    /// that doubles with each consecutive 429 (capped). Returns the hold. Never an attempt spent.
    pub fn rate_limited(&self, retry_after: Duration) -> Duration {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        state.rate_limited_streak = state.rate_limited_streak.saturating_add(1);
        let wait = retry_after.max(rate_limited_floor(state.rate_limited_streak));
        Self::block_locked(&mut state, Instant::now() + wait);
        wait
    }

    /// Holds every request back until `until` (after a 429).
    pub fn block_until(&self, until: Instant) {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        Self::block_locked(&mut state, until);
    }

    fn block_locked(state: &mut State, until: Instant) {
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
        let rate_per_sec = self.refill(state, limit, now);

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
            // A rate near zero (the share almost spent) looks again in a while.
            let wait = ((1.0 - state.tokens) / rate_per_sec).min(self.inner.window.as_secs_f64());
            return Some(now + Duration::from_secs_f64(wait));
        }
        None
    }

    /// Adds the tokens earned since the last refill and returns the rate they are earned at:
    /// the share spread through the window, slower when the server says less is left of the
    /// window than that pace assumes (another process, or this one's import, spent part of it),
    /// so what is left lasts to the window's end instead of running out before it.
    fn refill(&self, state: &mut State, limit: u32, now: Instant) -> f64 {
        let budget = budget_of(limit, self.inner.share);
        let reserve = limit - budget;
        let window = self.inner.window.as_secs_f64();
        let mut rate_per_sec = budget as f64 / window;
        if let (Some(remaining), Some(start)) = (state.remaining, state.window_start) {
            let left = (start + self.inner.window)
                .saturating_duration_since(now)
                .as_secs_f64();
            if left > 0.0 {
                let spendable = remaining.saturating_sub(reserve + state.in_flight) as f64;
                rate_per_sec = rate_per_sec.min(spendable / left).max(MIN_RATE_PER_SEC);
            }
        }
        let capacity = reserve.clamp(1, budget.max(1)) as f64;
        let elapsed = now
            .saturating_duration_since(state.refilled_at)
            .as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate_per_sec).min(capacity);
        state.refilled_at = now;
        rate_per_sec
    }

    fn report(&self, limit: Option<u32>, remaining: Option<u32>, rate_limited: bool) {
        let mut state = self.inner.state.lock().expect("governor lock poisoned");
        let now = Instant::now();
        if !rate_limited {
            state.rate_limited_streak = 0;
        }
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

/// The shortest hold after the `streak`-th consecutive 429.
fn rate_limited_floor(streak: u32) -> Duration {
    let doublings = streak.saturating_sub(1).min(16);
    RATE_LIMITED_FLOOR
        .saturating_mul(1 << doublings)
        .min(RATE_LIMITED_FLOOR_CAP)
}

/// The part of the quota lightsync may spend.
fn budget_of(limit: u32, share: f64) -> u32 {
    ((limit as f64 * share).floor() as u32).clamp(1, limit)
}

impl RatePermit {
    /// Records the rate headers of this request's response.
    pub fn report(self, limit: Option<u32>, remaining: Option<u32>) {
        self.report_response(limit, remaining, false);
    }

    /// Records the rate headers of this request's response, and whether it was a 429 (any
    /// other response ends a streak of 429s).
    pub fn report_response(
        mut self,
        limit: Option<u32>,
        remaining: Option<u32>,
        rate_limited: bool,
    ) {
        self.governor.report(limit, remaining, rate_limited);
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
    async fn time_until_says_when_a_run_of_requests_can_leave_together() {
        // 350 a window of 300 s at 0.95: 332 spread at 1.107/s, a burst of 18.
        let governor = RateGovernor::new(0.95, Duration::from_secs(300));
        assert_eq!(
            governor.time_until(4),
            Duration::ZERO,
            "the quota is unknown"
        );
        governor.acquire().await.report(Some(350), Some(349));
        assert_eq!(governor.time_until(4), Duration::ZERO, "a burst of 18");
        for _ in 0..17 {
            governor.acquire().await.report(Some(350), Some(349));
        }
        let wait = governor.time_until(4);
        assert!(
            wait > Duration::from_millis(2600) && wait < Duration::from_millis(2800),
            "one token left, three more at 1.107/s: {wait:?}"
        );
        tokio::time::advance(wait).await;
        assert_eq!(governor.time_until(4), Duration::ZERO);
        assert!(
            governor.time_until(100) <= Duration::from_secs(17),
            "capped at the burst"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_partly_spent_elsewhere_is_spread_to_its_end() {
        let governor = RateGovernor::new(0.95, Duration::from_secs(300));
        let start = Instant::now();
        // Another process spent most of this window: 118 left, 18 of them the reserve.
        governor.acquire().await.report(Some(350), Some(118));
        let mut sent = 1;
        let mut halfway = None;
        while start.elapsed() < Duration::from_secs(290) {
            let left = 117 - sent.min(117);
            governor.acquire().await.report(Some(350), Some(left));
            sent += 1;
            if sent == 50 {
                halfway = Some(start.elapsed());
            }
        }
        // At the full pace (1.107/s) the 100 would be half gone within a minute and the rest of
        // the window would stall; spread to its end, they last it and never touch the reserve.
        let halfway = halfway.expect("50 requests went");
        assert!(
            halfway > Duration::from_secs(90),
            "the 50th left at {halfway:?}"
        );
        assert!((80..=100).contains(&sent), "{sent} requests in 290 s");
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

    #[test]
    fn the_floor_after_429s_starts_at_a_second_doubles_and_caps() {
        assert_eq!(rate_limited_floor(1), Duration::from_secs(1));
        assert_eq!(rate_limited_floor(2), Duration::from_secs(2));
        assert_eq!(rate_limited_floor(4), Duration::from_secs(8));
        assert_eq!(rate_limited_floor(6), RATE_LIMITED_FLOOR_CAP);
        assert_eq!(rate_limited_floor(u32::MAX), RATE_LIMITED_FLOOR_CAP);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_a_usable_date_holds_a_growing_floor_until_a_success() {
        let governor = RateGovernor::new(0.95, Duration::from_secs(300));
        let start = Instant::now();
        // Retry-After already past on our clock: zero wait asked.
        assert_eq!(
            governor.rate_limited(Duration::ZERO),
            Duration::from_secs(1)
        );
        governor
            .acquire()
            .await
            .report_response(Some(350), Some(0), true);
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(
            governor.rate_limited(Duration::ZERO),
            Duration::from_secs(2)
        );
        // A usable, longer Retry-After wins over the floor.
        assert_eq!(
            governor.rate_limited(Duration::from_secs(20)),
            Duration::from_secs(20)
        );
        governor
            .acquire()
            .await
            .report_response(Some(350), Some(300), false);
        assert!(start.elapsed() >= Duration::from_secs(21));
        assert_eq!(
            governor.rate_limited(Duration::ZERO),
            Duration::from_secs(1)
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
