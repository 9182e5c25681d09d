//! One read snapshot of a contract database, on which both paths run (semantics §3, §5): the
//! fleet opened through the storage seam (`store::open`), checked against the contract and
//! its value formats, every query of a `diff` or `compare` inside one read transaction.

use crate::backends::backend::Backend;
use crate::backends::error::Result;
use crate::backends::open;
use crate::backends::store::OpenOptions;
use crate::domain::model::Delta;
use crate::paths::batched::{self, BatchedConfig, PassResult};
use crate::paths::drain::{self, DrainKnobs};
use crate::paths::legacy::{LegacyResult, LegacySql};
use crate::support::progress::Progress;
use std::path::Path;

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
        let opts = OpenOptions {
            mmap_mib,
            cache_mib,
            copy,
            ..OpenOptions::default()
        };
        open::open(backend, opts, progress)
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
