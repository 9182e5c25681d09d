//! Support: what any layer may use and that knows nothing of fleets or reconcilers — atomic
//! file writes, locks and temp-file clean-up (`files`), crash points for the kill-and-resume
//! tests (`crashpoint`), process statistics (`procstat`), Fleet's timestamp text (`timefmt`),
//! latency histograms (`histogram`) and numbers for people (`units`).
//!
//! May import: nothing of this crate.

pub mod crashpoint;
pub mod files;
pub mod histogram;
pub mod procstat;
pub mod timefmt;
pub mod units;
