//! reconsim: rebuilds Fleet's Apple MDM profile reconciler (the legacy SQL diff and the
//! batched cursor path) on SQLite or a MySQL-compatible server, from a seeded synthetic fleet,
//! so that engineers can compare the two, measure them and reproduce their bugs. The semantics
//! are described in `docs/semantics.md`, cited as "spec §N" throughout.
//!
//! The source is in layers, bottom to top; a module uses its own layer and those below, never
//! one above (`tests/suite/architecture.rs` checks it): `support`, `domain`, `store`, `paths`,
//! `backends`, `analysis`, `fleet`, `harness`, `report`, then the CLI (`cli`, `cmd`). Each
//! layer's module doc says what it owns and what it may import; `docs/architecture.md` maps
//! the tree.

pub mod analysis;
pub mod backends;
pub mod cli;
pub mod cmd;
pub mod domain;
pub mod fleet;
pub mod harness;
pub mod paths;
pub mod report;
pub mod store;
pub mod support;
