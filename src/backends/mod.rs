//! Backends: where a fleet lives, behind one seam — the `Store` trait every engine implements
//! (`store`: batched reads, the legacy diff, a read snapshot, the cursor table, the floor scan;
//! also `Replica` for the loadtest's server copies and `CursorSpec` for where the cursor lives),
//! the one place a `--backend` value becomes a store (`open`), parsing it (`backend`), the
//! errors (`error`), a MySQL-compatible server (`mysqldb`: load, legacy SQL, the batched
//! reads), the loadtest's replica of a path's SQLite database on the server (`mirror`), the
//! cursor in Redis (`rediscursor`), and the read snapshot of `diff` and `compare`
//! (`snapshot`).
//!
//! May import: `support`, `domain`, `store`, `paths`.

pub mod backend;
pub mod error;
pub mod mirror;
pub mod mysqldb;
pub mod open;
pub mod rediscursor;
pub mod snapshot;
pub mod store;
