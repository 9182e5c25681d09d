//! Domain: the reconciler's model with no I/O — hosts, profiles, label references and deltas
//! (`model`), the rules that differ between Fleet's two paths (`rules`) and the named
//! variants built from them (`variant`), host eligibility (`eligibility`), the batched path's
//! pure per-label-mode handlers whose reasons explain each decision (`handlers`), mutations
//! the conformance suite must catch (`mutants`), and the clock (`clock`: real or fake).
//!
//! May import: `support`.

pub mod clock;
pub mod eligibility;
pub mod handlers;
pub mod model;
pub mod mutants;
pub mod rules;
pub mod variant;
