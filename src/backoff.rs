//! Capped exponential backoff, the one curve every retry loop uses: the API client (with full
//! jitter), the PostgreSQL writer during an outage, and the dashboard's login throttle.

use std::time::Duration;

use rand::Rng;

/// A backoff curve: `base`, doubled each step, never above `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// The wait before step `step` (1-based): `min(cap, base * 2^(step-1))`; step 0 waits 0.
    pub fn ceiling(&self, step: u32) -> Duration {
        if step == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (step - 1).min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: uniform in `[0, ceiling(step)]`, so many clients retrying at once spread out.
    pub fn jittered(&self, step: u32) -> Duration {
        let millis = self.ceiling(step).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_and_jitter_stays_within_its_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(backoff.ceiling(0), Duration::ZERO);
        assert_eq!(backoff.ceiling(1), Duration::from_millis(100));
        assert_eq!(backoff.ceiling(3), Duration::from_millis(400));
        assert_eq!(backoff.ceiling(10), backoff.cap);
        assert_eq!(backoff.ceiling(u32::MAX), backoff.cap);
        for step in 1..12 {
            assert!(backoff.jittered(step) <= backoff.ceiling(step));
        }
    }
}
