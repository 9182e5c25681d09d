//! Store: the SQLite database as the paths see it — the one definition of the schema (`tables`:
//! tables, columns, keys, indexes; both SQL dialects are rendered from it), the migrations, the
//! contract and value checks (`schema`, also the columns the paths read: the floor scans), write
//! scopes that are their own transaction or a savepoint inside one (`txn`), and reconsim's own
//! bookkeeping table (`meta`).
//!
//! May import: `support`, `domain`.

pub mod meta;
pub mod schema;
pub mod tables;
pub mod txn;
