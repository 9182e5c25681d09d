//! Deterministic crash points for the kill-and-resume tests (issue 11). With
//! `RECONSIM_CRASH_AFTER=N` in the environment, the process aborts (SIGABRT: no destructor, no
//! clean-up, as a SIGKILL) when it reaches its N-th crash point; each point prints its label
//! to stderr first. Without the variable a crash point costs one atomic load. The points sit
//! where a kill is hardest to survive: between a step's writes and its commit, between commits
//! of two paths, between result files, while the working state is removed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
static PASSED: AtomicU64 = AtomicU64::new(0);

/// Passes a crash point named `label`.
pub fn here(label: &str) {
    let limit = LIMIT.get_or_init(|| {
        std::env::var("RECONSIM_CRASH_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(n) = limit {
        let passed = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
        if passed == *n {
            eprintln!("reconsim: crash point {passed} ({label}): aborting");
            std::process::abort();
        }
    }
}
