//! Harness: runs that exercise the paths — the lockstep loadtest with crash-exact resume
//! (`loadtest`), the bug catalog (`repro`), divergence shrinking (`shrink`), timed passes
//! (`measure`), size sweeps (`sweep`), injected faults (`faults`) and their one error type
//! (`error`).
//!
//! May import: every layer below (`support` … `fleet`).

pub mod error;
pub mod faults;
pub mod knobs;
pub mod loadtest;
pub mod measure;
pub mod repro;
pub mod shrink;
pub mod sweep;
