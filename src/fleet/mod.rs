//! Fleet: the synthetic fleet — scenario files (`scenario`) with their thresholds
//! (`threshold`), the seeded generator (`generator`) and a database's summary (`summary`).
//!
//! May import: `support`, `domain`, `store`, `paths`, `backends`, `analysis`.

pub mod generator;
pub mod scenario;
pub mod summary;
pub mod threshold;
