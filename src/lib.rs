//! reconsim: rebuilds Fleet's Apple MDM profile reconciler (the legacy SQL diff and the
//! batched cursor path) on SQLite, from a seeded synthetic fleet, so that engineers can compare
//! the two, measure them and reproduce their bugs. The semantics are those of
//! `shared/spec/reconciler.md`, cited as "spec §N" throughout.

pub mod backend;
pub mod batched;
pub mod checkpoint;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod convergence;
pub mod crashpoint;
pub mod cursor;
pub mod device;
pub mod eligibility;
pub mod equivalence;
pub mod faults;
pub mod files;
pub mod generator;
pub mod handlers;
pub mod histogram;
pub mod html;
pub mod identity;
pub mod legacy;
pub mod liveness;
pub mod loadtest;
pub mod measure;
pub mod meta;
pub mod mirror;
pub mod model;
pub mod mutants;
pub mod mysqldb;
pub mod procstat;
pub mod rediscursor;
pub mod regression;
pub mod report;
pub mod repro;
pub mod rules;
pub mod scenario;
pub mod schema;
pub mod shrink;
pub mod sidebyside;
pub mod snapshot;
pub mod summary;
pub mod sweep;
pub mod threshold;
pub mod timefmt;
pub mod txn;
pub mod variant;
pub mod verdict;
pub mod writer;
