//! Paths: the reconcilers and what acts on their output — the legacy SQL diff (`legacy`), the
//! batched cursor-paged reconciler with its `Source` seam for the reads (`batched`), Fleet's
//! current drain loop over the same reads (`drain`), their timed phases (`phase`), the cursor
//! stores (`cursor`: database, file, memory; Redis is a backend), the downstream writer
//! (`writer`) and the simulated devices (`device`).
//!
//! May import: `support`, `domain`, `store`.

pub mod batched;
pub mod cursor;
pub mod device;
pub mod drain;
pub mod legacy;
pub mod phase;
pub mod writer;
