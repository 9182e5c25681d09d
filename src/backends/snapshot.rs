//! One read snapshot of a contract database, on which both paths run (spec §3, §5): the file is
//! opened read-only, checked against the spec §1 contract and timestamp formats, and every
//! query of a `diff` or `compare` runs inside one read transaction.

use crate::backends::backend::Backend;
use crate::paths::batched::{self, BatchedConfig, PassResult};
use crate::paths::legacy::{self, LegacyResult, LegacySql};
use crate::store::schema;
use crate::support::progress::Progress;
use anyhow::Context;
use rusqlite::Connection;
use std::path::Path;

/// A read transaction over a contract database.
pub struct Snapshot {
    /// The SQLite database; on a MySQL backend, the snapshot's in-memory copy (facts for the
    /// classifier and the liveness monitor, and the cross-check of issue 6).
    pub conn: Connection,
    /// The MySQL backend, inside its consistent-snapshot transaction, when that is where the
    /// fleet lives: both paths then run there.
    pub my: Option<crate::backends::mysqldb::MyDb>,
    /// How long the copy from the server took (a MySQL backend only).
    pub copy_time: Option<std::time::Duration>,
}

impl Snapshot {
    /// Opens `path` read-only, checks the contract, begins the read transaction and checks
    /// every timestamp column (spec §1).
    /// `mmap_mib` sizes SQLite's memory-mapped reads (0 = plain reads through the page cache),
    /// `cache_mib` its page cache.
    /// On a MySQL backend: connects, checks the contract, starts a consistent-snapshot read
    /// transaction and copies the contract tables into memory inside it.
    /// `copy` = false copies `reconsim_meta` only (enough for timing runs).
    pub fn open_backend(
        backend: &Backend,
        mmap_mib: u64,
        cache_mib: u64,
        copy: bool,
        progress: &dyn Progress,
    ) -> anyhow::Result<Snapshot> {
        match backend {
            Backend::Sqlite(path) => Snapshot::open(path, mmap_mib, cache_mib),
            Backend::Mysql(url) => {
                let my = crate::backends::mysqldb::MyDb::connect(url)?;
                my.check_contract()?;
                my.begin_snapshot()?;
                progress.set_message(format!("copying the snapshot from {}", my.shown));
                let t = std::time::Instant::now();
                let conn = crate::backends::mysqldb::copy_to_sqlite(&my, copy)?;
                let copy_time = Some(t.elapsed());
                schema::check_values(&conn)?;
                Ok(Snapshot {
                    conn,
                    my: Some(my),
                    copy_time,
                })
            }
        }
    }

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
        schema::check_values(&conn)?;
        Ok(Snapshot {
            conn,
            my: None,
            copy_time: None,
        })
    }

    /// The legacy diff; `progress` shows that it runs (one long query, no finer steps).
    pub fn legacy(&self, form: LegacySql, progress: &dyn Progress) -> anyhow::Result<LegacyResult> {
        progress.set_message(format!(
            "legacy diff ({form} SQL; one query over the whole fleet, ~40 s at 100k hosts)"
        ));
        self.legacy_with_clock(form, &crate::domain::clock::RealClock::default())
    }

    /// A full batched pass; `progress` counts ticks and hosts.
    pub fn batched(
        &self,
        cfg: &BatchedConfig,
        progress: &dyn Progress,
    ) -> anyhow::Result<PassResult> {
        let mut pass = PassResult::default();
        let mut hosts = 0usize;
        progress.set_message("batched pass".into());
        batched::full_pass_each(self.source(), cfg, |mut report| {
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

    /// The legacy diff timed by `clock`, on the backend.
    pub fn legacy_with_clock(
        &self,
        form: LegacySql,
        clock: &dyn crate::domain::clock::Clock,
    ) -> anyhow::Result<LegacyResult> {
        match &self.my {
            Some(my) => Ok(my.legacy(form, clock)?),
            None => Ok(legacy::run_with_clock(&self.conn, form, clock)?),
        }
    }

    /// Ends the server's read transaction (SQLite's ends with the connection).
    pub fn finish(&self) -> anyhow::Result<()> {
        match &self.my {
            Some(my) => my.commit(),
            None => Ok(()),
        }
    }

    /// Where the paths read: the MySQL backend when there is one, else SQLite.
    pub fn source(&self) -> &dyn batched::Source {
        match &self.my {
            Some(my) => my,
            None => &self.conn,
        }
    }

    /// The backend's name and version for reports: `sqlite 3.50.1` or
    /// `mysql 10.11.19-MariaDB…`.
    pub fn engine(&self) -> String {
        match &self.my {
            Some(my) => format!("mysql {}", my.version),
            None => format!("sqlite {}", rusqlite::version()),
        }
    }

    /// The seed recorded by the generator, or `unknown`.
    pub fn seed_text(&self) -> String {
        crate::store::meta::seed_text(&self.conn)
    }
}
