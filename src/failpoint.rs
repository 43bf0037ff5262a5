//! Named crash points of the checkpoint protocol. With the `failpoints` feature (tests only),
//! `LIGHTSYNC_CRASH_AT=<name>[:<n>]` kills the process with SIGKILL the n-th time (default 1st)
//! it reaches `<name>`: no destructors, no flush, exactly like `kill -9`; and
//! `LIGHTSYNC_PANIC_AT=<name>[:<n>]` panics there instead, as a bug in that stage would; and
//! `LIGHTSYNC_INSERT_FIRST=1` has every batch tried as plain inserts first, so tests reach the
//! fallback to upserts at will. Without the feature every point compiles to nothing.

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

    fn read_plan(variable: &str) -> Option<Plan> {
        let spec = std::env::var(variable).ok()?;
        let (name, nth) = match spec.split_once(':') {
            Some((name, nth)) => (name.to_string(), nth.parse().ok()?),
            None => (spec, 1),
        };
        Some(Plan {
            name,
            nth,
            hits: AtomicU64::new(0),
        })
    }

    /// Whether this is the planned hit of `name`.
    fn due(plan: Option<&Plan>, name: &str) -> bool {
        plan.is_some_and(|plan| {
            plan.name == name && plan.hits.fetch_add(1, Ordering::SeqCst) + 1 == plan.nth
        })
    }

    pub fn hit_panic(name: &str) {
        static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
        let plan = PLAN
            .get_or_init(|| read_plan("LIGHTSYNC_PANIC_AT"))
            .as_ref();
        if due(plan, name) {
            panic!("failpoint `{name}` panicked on purpose");
        }
    }

    pub fn hit(name: &str) {
        static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
        let plan = PLAN
            .get_or_init(|| read_plan("LIGHTSYNC_CRASH_AT"))
            .as_ref();
        if due(plan, name) {
            eprintln!("lightsync: crash point `{name}` reached; killing the process");
            // SAFETY: sending a signal to our own pid has no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            std::process::abort();
        }
    }
}

/// Whether a test asked for every batch to be tried as plain inserts first
/// (`LIGHTSYNC_INSERT_FIRST`, with the `failpoints` feature only).
pub fn insert_first_forced() -> bool {
    #[cfg(feature = "failpoints")]
    {
        static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *FORCED.get_or_init(|| std::env::var_os("LIGHTSYNC_INSERT_FIRST").is_some())
    }
    #[cfg(not(feature = "failpoints"))]
    false
}

/// Crash points outside the batch protocol: an OAuth renewal's journal synced, not yet renamed
/// over the token file (`lightspeed::token_file`); a reconcile between two pages of the store;
/// a repair whose stale rows are removed and cursor rewound, before its run.
pub const OTHER_CRASH_POINTS: [&str; 3] = ["token-journaled", "reconcile-page", "repair-rewound"];

/// Marks a crash point.
#[inline]
pub fn crash_point(name: &'static str) {
    debug_assert!(
        CRASH_POINTS.contains(&name) || OTHER_CRASH_POINTS.contains(&name),
        "unknown crash point {name}"
    );
    #[cfg(feature = "failpoints")]
    enabled::hit(name);
}

/// Every panic point.
pub const PANIC_POINTS: [&str; 2] = ["prepare-batch", "apply-batch"];

/// Marks a panic point.
#[inline]
pub fn panic_point(name: &'static str) {
    debug_assert!(PANIC_POINTS.contains(&name), "unknown panic point {name}");
    #[cfg(feature = "failpoints")]
    enabled::hit_panic(name);
}
