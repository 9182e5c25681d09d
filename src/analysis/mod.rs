//! Analysis: what the outputs mean — the state-of-record names a run record restores
//! (`names`), the classifier that explains every divergence between the paths
//! (`equivalence`), convergence samples (`convergence`) and the cursor liveness monitor
//! (`liveness`).
//!
//! May import: `support`, `domain`, `store`, `paths`, `backends`.

pub mod class;
pub mod convergence;
pub mod equivalence;
pub mod liveness;
pub mod names;
