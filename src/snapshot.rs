//! One read snapshot of a contract database, on which both paths run (spec §3, §5): the file is
//! opened read-only, checked against the spec §1 contract and timestamp formats, and every
//! query of a `diff` or `compare` runs inside one read transaction.

use crate::batched::{self, BatchedConfig, PassResult};
use crate::legacy::{self, LegacyResult, LegacySql};
use crate::schema;
use anyhow::Context;
use indicatif::ProgressBar;
use rusqlite::Connection;
use std::path::Path;

/// A read transaction over a contract database.
pub struct Snapshot {
    pub conn: Connection,
}

impl Snapshot {
    /// Opens `path` read-only, checks the contract, begins the read transaction and checks
    /// every timestamp column (spec §1).
    /// `mmap_mib` sizes SQLite's memory-mapped reads (0 = plain reads through the page cache),
    /// `cache_mib` its page cache.
    pub fn open(path: &Path, mmap_mib: u64, cache_mib: u64) -> anyhow::Result<Snapshot> {
        let conn = schema::open_contract_db(path)?;
        // Temp tables of the tuned legacy SQL live in memory, never in a file beside the db.
        // A large page cache (256 MiB by default) and memory-mapped reads spare the read(2)
        // calls that otherwise took 40 % of the legacy time at 10k hosts; both paths get the
        // same connection.
        conn.execute_batch(&format!(
            "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{};
             PRAGMA mmap_size = {}; BEGIN",
            cache_mib * 1024,
            mmap_mib * 1024 * 1024
        ))
        .with_context(|| format!("database {}: beginning a read transaction", path.display()))?;
        // The first read takes the snapshot; everything after sees the same data.
        schema::check_timestamps(&conn)?;
        Ok(Snapshot { conn })
    }

    /// The legacy diff; `progress` shows that it runs (one long query, no finer steps).
    pub fn legacy(&self, form: LegacySql, progress: &ProgressBar) -> anyhow::Result<LegacyResult> {
        progress.set_message(format!(
            "legacy diff ({form} SQL; one query over the whole fleet, ~40 s at 100k hosts)"
        ));
        Ok(legacy::run(&self.conn, form)?)
    }

    /// A full batched pass; `progress` counts ticks and hosts.
    pub fn batched(
        &self,
        cfg: &BatchedConfig,
        progress: &ProgressBar,
    ) -> anyhow::Result<PassResult> {
        let mut pass = PassResult::default();
        let mut hosts = 0usize;
        progress.set_message("batched pass");
        batched::full_pass_each(&self.conn, cfg, |mut report| {
            hosts += report.visited.len();
            progress.set_message(format!(
                "batched pass: tick {}, {hosts} host rows so far",
                pass.ticks.len() + 1
            ));
            pass.visited.extend(report.visited.iter().copied());
            pass.deltas.append(&mut report.deltas);
            pass.ticks.push(report);
        })?;
        Ok(pass)
    }

    /// The seed recorded by the generator, or `unknown`.
    pub fn seed_text(&self) -> String {
        crate::meta::seed_text(&self.conn)
    }
}
