//! One read snapshot of a contract database, on which both paths run (semantics §3, §5): the
//! fleet opened through the storage seam (`store::open`), checked against the contract and
//! its value formats, every query of a `diff` or `compare` inside one read transaction.

use crate::backends::backend::Backend;
use crate::backends::error::{BackendError, Result};
use crate::backends::open;
use crate::backends::store::OpenOptions;
use crate::domain::model::Delta;
use crate::paths::batched::{self, BatchedConfig, PassResult};
use crate::paths::drain::{self, DrainKnobs};
use crate::paths::legacy::{LegacyResult, LegacySql};
use crate::support::progress::Progress;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The values the paths read checked on `conn` (spec §1 formats; what `open_backend` checks
/// unless told not to).
pub fn check_values(conn: &Connection) -> Result<()> {
    Ok(crate::store::schema::check_values(conn)?)
}

/// A read transaction over a contract database (`store::Fleet` opened with a snapshot).
pub use crate::backends::store::Fleet as Snapshot;

impl Snapshot {
    /// Opens `backend` inside one read transaction. `mmap_mib` sizes SQLite's memory-mapped
    /// reads (0 = plain reads through the page cache), `cache_mib` its page cache. On a server:
    /// a consistent-snapshot transaction, and the contract tables copied into memory inside it
    /// (`copy` = false copies `reconsim_meta` only, enough for timing runs).
    pub fn open_backend(
        backend: &Backend,
        mmap_mib: u64,
        cache_mib: u64,
        copy: bool,
        progress: &dyn Progress,
    ) -> Result<Snapshot> {
        Snapshot::open_with(backend, mmap_mib, cache_mib, copy, true, progress)
    }

    /// `open_backend`, the values checked only with `check` (else the caller checks them with
    /// `check_values`, on this snapshot or a `second_reader` of it, before trusting a result).
    pub fn open_with(
        backend: &Backend,
        mmap_mib: u64,
        cache_mib: u64,
        copy: bool,
        check: bool,
        progress: &dyn Progress,
    ) -> Result<Snapshot> {
        let opts = OpenOptions {
            mmap_mib,
            cache_mib,
            copy,
            check_values: check,
            ..OpenOptions::default()
        };
        open::open(backend, opts, progress)
    }

    /// A second read-only connection that sees exactly this snapshot, for work run beside this
    /// one's on the machine's other core (`compare`). Only a local SQLite file in
    /// rollback-journal mode qualifies: this snapshot's read transaction holds SQLite's shared
    /// lock, under which no writer can commit, so a transaction begun now reads the same data.
    /// None for a server (its snapshot is one connection's), a WAL file (a writer may commit
    /// between the two reads), an in-memory database, no open transaction, or a writer already
    /// waiting for the lock.
    pub fn second_reader(&self, mmap_mib: u64, cache_mib: u64) -> Result<Option<Connection>> {
        let conn = &self.conn;
        let path = match conn.path() {
            Some(p) if !p.is_empty() && !self.is_copy() && !conn.is_autocommit() => {
                std::path::PathBuf::from(p)
            }
            _ => return Ok(None),
        };
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(None);
        }
        let second = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        open::set_reads(&second, mmap_mib, cache_mib)?;
        second.execute_batch("BEGIN")?;
        match open::take_snapshot(&second) {
            Ok(()) => Ok(Some(second)),
            Err(BackendError::Sqlite(e))
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `open_backend` on an SQLite file.
    pub fn open(path: &Path, mmap_mib: u64, cache_mib: u64) -> Result<Snapshot> {
        let backend = Backend::Sqlite(path.to_path_buf());
        let silent = crate::support::progress::Silent;
        Snapshot::open_backend(&backend, mmap_mib, cache_mib, true, &silent)
    }

    /// The legacy diff; `progress` shows that it runs (one long query, no finer steps).
    pub fn legacy(&self, form: LegacySql, progress: &dyn Progress) -> Result<LegacyResult> {
        progress.set_message(format!(
            "legacy diff ({form} SQL; one query over the whole fleet, ~20 s at 100k hosts)"
        ));
        self.legacy_with_clock(form, &crate::domain::clock::RealClock::default())
    }

    /// A full batched pass on the backend (`pass_on`).
    pub fn batched(
        &self,
        cfg: &BatchedConfig,
        knobs: &DrainKnobs,
        progress: &dyn Progress,
    ) -> Result<PassResult> {
        pass_on(self.source(), cfg, knobs, progress)
    }

    /// `batched` with each tick's deltas handed to `on_deltas` instead of kept
    /// (`pass_on_each`).
    pub fn batched_each(
        &self,
        cfg: &BatchedConfig,
        knobs: &DrainKnobs,
        progress: &dyn Progress,
        on_deltas: &mut dyn FnMut(Vec<Delta>),
    ) -> Result<PassResult> {
        pass_on_each(self.source(), cfg, knobs, progress, on_deltas)
    }

    /// `legacy` with each delta handed to `sink` instead of collected; returns the phases'
    /// times.
    pub fn legacy_each(
        &self,
        form: LegacySql,
        progress: &dyn Progress,
        sink: &mut crate::paths::legacy::Sink<'_>,
    ) -> Result<Vec<(&'static str, std::time::Duration)>> {
        progress.set_message(format!(
            "legacy diff ({form} SQL; one query over the whole fleet, ~20 s at 100k hosts)"
        ));
        let clock = crate::domain::clock::RealClock::default();
        Ok(self.store().legacy_each(form, &clock, sink)?)
    }

    /// The legacy diff timed by `clock`, on the backend.
    pub fn legacy_with_clock(
        &self,
        form: LegacySql,
        clock: &dyn crate::domain::clock::Clock,
    ) -> Result<LegacyResult> {
        Ok(self.store().legacy(form, clock)?)
    }

    /// Ends the server's read transaction (a local SQLite one ends with the connection, and
    /// the classifier still reads inside it).
    pub fn finish(&self) -> Result<()> {
        if self.is_copy() {
            self.store().commit()?;
        }
        Ok(())
    }

    /// Where the paths read.
    pub fn source(&self) -> &dyn batched::Source {
        self.store().source()
    }

    /// The backend's engine and version for reports.
    pub fn engine(&self) -> String {
        self.store().engine()
    }
}

/// A full batched pass over `src`; `progress` counts ticks and hosts. Under `drain`, a pass of
/// drain ticks with `knobs` (no writer: `drain::full_pass`).
pub fn pass_on(
    src: &dyn batched::Source,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    progress: &dyn Progress,
) -> Result<PassResult> {
    let mut deltas = Vec::new();
    let mut pass = pass_on_each(src, cfg, knobs, progress, &mut |mut d| {
        deltas.append(&mut d)
    })?;
    pass.deltas = deltas;
    Ok(pass)
}

/// `pass_on` with each tick's deltas handed to `on_deltas` as the tick ends, not kept: the
/// result's `deltas` stays empty (`compare` packs them instead).
pub fn pass_on_each(
    src: &dyn batched::Source,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    progress: &dyn Progress,
    on_deltas: &mut dyn FnMut(Vec<Delta>),
) -> Result<PassResult> {
    if cfg.variant.drains() {
        progress.set_message("drain pass".into());
        let clock = crate::domain::clock::RealClock::default();
        let mut ticks = 0;
        return Ok(drain::full_pass(src, cfg, knobs, &clock, |r| {
            ticks += 1;
            progress.set_message(format!(
                "drain pass: tick {ticks}, {} windows, {} hosts with work",
                r.windows, r.delivered
            ));
            on_deltas(std::mem::take(&mut r.tick.deltas));
        })?);
    }
    let mut pass = PassResult::default();
    let mut hosts = 0usize;
    progress.set_message("batched pass".into());
    batched::full_pass_each(src, cfg, |mut report| {
        hosts += report.visited.len();
        progress.set_message(format!(
            "batched pass: tick {}, {hosts} host rows so far",
            pass.ticks.len() + 1
        ));
        pass.visited.extend(report.visited.iter().copied());
        on_deltas(std::mem::take(&mut report.deltas));
        pass.ticks.push(report);
    })?;
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_unchecked(path: &Path) -> Snapshot {
        let backend = Backend::Sqlite(path.to_path_buf());
        let silent = crate::support::progress::Silent;
        Snapshot::open_with(&backend, 0, 8, true, false, &silent).unwrap()
    }

    #[test]
    fn a_second_reader_sees_the_snapshot_while_writers_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::paths::batched::tests::quick_fleet_file(dir.path());
        let snap = open_unchecked(&path);
        let second = snap.second_reader(0, 8).unwrap().expect("a second reader");
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM hosts", [], |r| r.get(0))
                .unwrap()
        };
        let before = count(&second);
        // A writer cannot commit while the snapshot holds its shared lock.
        let writer = Connection::open(&path).unwrap();
        let e = writer
            .execute(
                "DELETE FROM hosts WHERE id = (SELECT min(id) FROM hosts)",
                [],
            )
            .unwrap_err();
        assert_eq!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy),
            "{e}"
        );
        assert_eq!(count(&second), before);
        assert_eq!(count(&snap.conn), before);
        // The value check runs on either connection.
        check_values(&second).unwrap();
    }

    #[test]
    fn no_second_reader_where_it_could_see_other_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::paths::batched::tests::quick_fleet_file(dir.path());
        // WAL: a writer may commit between the two connections' first reads.
        Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        assert!(open_unchecked(&path).second_reader(0, 8).unwrap().is_none());
        // No snapshot transaction: nothing holds the data still.
        let backend = Backend::Sqlite(path.clone());
        let opts = OpenOptions {
            snapshot: false,
            ..OpenOptions::default()
        };
        let f = open::open(&backend, opts, &crate::support::progress::Silent).unwrap();
        assert!(f.second_reader(0, 8).unwrap().is_none());
        // An in-memory database has no file to open twice.
        let mem = Snapshot::local(Connection::open_in_memory().unwrap());
        assert!(mem.second_reader(0, 8).unwrap().is_none());
    }
}
