//! Injected faults: the ways a real API response goes wrong (5xx, "try again later", bodies cut
//! off mid-stream, bodies that are not JSON), chosen at random or queued by a test.

use std::collections::VecDeque;
use std::str::FromStr;

use super::store::mix;

/// One kind of broken response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FaultKind {
    /// HTTP 500.
    InternalError,
    /// HTTP 502 with an HTML body, as a proxy sends it.
    BadGateway,
    /// HTTP 503.
    Unavailable,
    /// HTTP 400 whose body says "Please try again later."
    TryLater,
    /// HTTP 200 whose body stops halfway and the connection drops.
    CutBody,
    /// HTTP 200 whose body is HTML, not JSON.
    NotJson,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::InternalError,
        FaultKind::BadGateway,
        FaultKind::Unavailable,
        FaultKind::TryLater,
        FaultKind::CutBody,
        FaultKind::NotJson,
    ];
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "500" => Ok(FaultKind::InternalError),
            "502" => Ok(FaultKind::BadGateway),
            "503" => Ok(FaultKind::Unavailable),
            "400" | "try-later" => Ok(FaultKind::TryLater),
            "cut" => Ok(FaultKind::CutBody),
            "html" | "not-json" => Ok(FaultKind::NotJson),
            other => Err(format!(
                "unknown fault `{other}` (expected 500, 502, 503, 400, cut or html)"
            )),
        }
    }
}

/// Decides which requests fail and how.
#[derive(Debug)]
pub struct FaultPlan {
    rate: f64,
    kinds: Vec<FaultKind>,
    queued: VecDeque<FaultKind>,
    rng_state: u64,
}

impl FaultPlan {
    pub fn new(rate: f64, kinds: Vec<FaultKind>, seed: u64) -> Self {
        FaultPlan {
            rate: rate.clamp(0.0, 1.0),
            kinds: if kinds.is_empty() {
                FaultKind::ALL.to_vec()
            } else {
                kinds
            },
            queued: VecDeque::new(),
            rng_state: mix(seed ^ 0xfa17),
        }
    }

    /// Makes the next `count` requests fail with `kind`.
    pub fn queue(&mut self, kind: FaultKind, count: u32) {
        self.queued
            .extend(std::iter::repeat_n(kind, count as usize));
    }

    /// The fault for the next request, if any.
    pub fn next_fault(&mut self) -> Option<FaultKind> {
        if let Some(kind) = self.queued.pop_front() {
            return Some(kind);
        }
        if self.rate <= 0.0 {
            return None;
        }
        self.rng_state = mix(self.rng_state.wrapping_add(0x9E37_79B9_7F4A_7C15));
        let roll = (self.rng_state >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.rate {
            return None;
        }
        let pick = (self.rng_state % self.kinds.len() as u64) as usize;
        Some(self.kinds[pick])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_then_the_rate_applies() {
        let mut plan = FaultPlan::new(0.0, vec![], 1);
        plan.queue(FaultKind::CutBody, 2);
        assert_eq!(plan.next_fault(), Some(FaultKind::CutBody));
        assert_eq!(plan.next_fault(), Some(FaultKind::CutBody));
        assert_eq!(plan.next_fault(), None);

        let mut plan = FaultPlan::new(0.3, vec![FaultKind::NotJson], 9);
        let faults = (0..10_000).filter_map(|_| plan.next_fault()).count();
        assert!((2_500..3_500).contains(&faults), "{faults}");
    }

    #[test]
    fn fault_names_parse() {
        assert_eq!("cut".parse::<FaultKind>(), Ok(FaultKind::CutBody));
        assert!("boom".parse::<FaultKind>().is_err());
    }
}
