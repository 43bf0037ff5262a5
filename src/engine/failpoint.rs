//! Named crash points of the checkpoint protocol. With the `failpoints` feature (tests only),
//! `LIGHTSYNC_CRASH_AT=<name>[:<n>]` kills the process with SIGKILL the n-th time (default 1st)
//! it reaches `<name>`: no destructors, no flush, exactly like `kill -9`. Without the feature
//! every crash point compiles to nothing.

/// Every crash point, in protocol order.
pub const CRASH_POINTS: [&str; 6] = [
    "after-fetch",
    "after-spool",
    "before-apply",
    "in-apply",
    "after-apply",
    "after-release",
];

#[cfg(feature = "failpoints")]
mod enabled {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    struct Plan {
        name: String,
        nth: u64,
        hits: AtomicU64,
    }

    fn plan() -> Option<&'static Plan> {
        static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
        PLAN.get_or_init(|| {
            let spec = std::env::var("LIGHTSYNC_CRASH_AT").ok()?;
            let (name, nth) = match spec.split_once(':') {
                Some((name, nth)) => (name.to_string(), nth.parse().ok()?),
                None => (spec, 1),
            };
            Some(Plan {
                name,
                nth,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
    }

    pub fn hit(name: &str) {
        let Some(plan) = plan() else { return };
        if plan.name == name && plan.hits.fetch_add(1, Ordering::SeqCst) + 1 == plan.nth {
            eprintln!("lightsync: crash point `{name}` reached; killing the process");
            // SAFETY: sending a signal to our own pid has no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            std::process::abort();
        }
    }
}

/// Marks a crash point.
#[inline]
pub fn crash_point(name: &'static str) {
    debug_assert!(CRASH_POINTS.contains(&name), "unknown crash point {name}");
    #[cfg(feature = "failpoints")]
    enabled::hit(name);
}
