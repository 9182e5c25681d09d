//! Analysis: what the outputs mean — the classifier that explains every divergence between the
//! paths (`equivalence`) and its classes (`class`: D1–D9 or unexplained), convergence samples
//! (`convergence`), both paths' deltas packed for comparing at scale (`pairs`), the cursor liveness monitor (`liveness`) and its finding kinds (`names`).
//!
//! May import: `support`, `domain`, `store`, `paths`, `backends`.

pub mod class;
pub mod convergence;
pub mod equivalence;
pub mod liveness;
pub mod names;
pub mod pairs;
