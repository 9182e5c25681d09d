//! Support: what any layer may use and that knows nothing of fleets or reconcilers — atomic
//! file writes, locks and temp-file clean-up (`files`), crash points for the kill-and-resume
//! tests (`crashpoint`), process statistics (`procstat`), Fleet's timestamp text (`timefmt`),
//! latency histograms (`histogram`), named enums (`named`), numbers for people (`units`), progress reporting
//! (`progress`: a trait the CLI shows as a progress bar) and process-wide SQLite settings
//! and limits (`sqlite`: memory statistics off, the most it memory-maps, and the timed script
//! runner of the benchmarks' SQLite floor).
//!
//! May import: nothing of this crate.

pub mod crashpoint;
pub mod files;
pub mod histogram;
pub mod named;
pub mod procstat;
pub mod progress;
pub mod sqlite;
pub mod timefmt;
pub mod units;
