//! Backends: the same paths on other engines — parsing `--backend` (`backend`), a
//! MySQL-compatible server (`mysqldb`: load, legacy SQL, the batched reads), the loadtest's
//! replica of each path's SQLite copy on the server (`mirror`), the cursor in Redis
//! (`rediscursor`), and one consistent snapshot of whichever backend holds the fleet
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
