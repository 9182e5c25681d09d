//! `reconsim compare`: both paths on one snapshot, the divergences classified and explained.

use crate::analysis::equivalence::{self, Classifier, Divergence};
use crate::analysis::liveness::Finding;
use crate::analysis::pairs::{PairLists, Side};
use crate::backends::snapshot::{self, Snapshot};
use crate::cli::{CompareArgs, EXIT_FINDING, EXIT_OK};
use crate::domain::model::{Delta, Op};
use crate::paths::batched::{BatchedConfig, PassResult, load_profiles};
use crate::paths::drain::DrainKnobs;
use crate::report::csv::DivergenceWriter;
use crate::support::progress::Progress;
use anyhow::Context;
use rusqlite::Connection;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub fn run(args: CompareArgs) -> anyhow::Result<i32> {
    let progress = super::spinner(args.common.quiet);
    let c = &args.common;
    let backend = c.one_backend("compare")?;
    // Opened without the value check: a second connection on the same snapshot takes it,
    // beside the legacy diff, when the backend allows one (else it runs here, first).
    let cache_mib = c.cache_mib_or(COMPARE_CACHE_MIB);
    let snap = Snapshot::open_with(&backend, c.mmap_mib, cache_mib, true, false, &progress)?;
    let helper_cache_mib = cache_mib.min(HELPER_CACHE_MIB);
    let cfg = super::batched_config(c, &snap.conn)?;
    let knobs = c.drain_knobs();
    let helper = match args.sequential {
        true => None,
        // A smaller page cache for the second connection: it scans (the check, the windows'
        // range reads) and looks up in key order, so pages are seldom met twice, and its cache
        // is still held while the legacy diff's memory peaks.
        false => snap.second_reader(c.mmap_mib, helper_cache_mib)?,
    };
    let side_by_side = helper.is_some();
    if !side_by_side {
        progress.set_message(crate::backends::open::CHECKING);
        snapshot::check_values(&snap.conn)?;
        // Inputs checked: only now the output folder.
        create_out_dir(&args)?;
    }
    // Both paths' deltas packed as they arrive (`analysis::pairs`), never collected whole; on
    // a server they are also kept for the cross-check against the SQLite copy.
    let keep = snap.is_copy();
    // With the first overflow, if any (stated once the paths are done, never truncated).
    let lists = Mutex::new((PairLists::default(), None));
    // Both threads push: one lock a legacy delta, one a batched tick.
    let push = |side: Side, deltas: &mut dyn Iterator<Item = (&str, &str, Op)>| {
        let mut guard = lists.lock().expect("no push panics");
        let (l, overflow) = &mut *guard;
        for (h, p, op) in deltas {
            if let Err(e) = l.push(side, h, p, op) {
                overflow.get_or_insert(e);
            }
        }
    };
    let mut legacy_all = Vec::new();
    let mut batched_all = Vec::new();
    let mut on_batched = |deltas: Vec<Delta>| {
        let mut each = deltas
            .iter()
            .map(|d| (&*d.host_uuid, &*d.profile_uuid, d.op));
        push(Side::Batched, &mut each);
        if keep {
            batched_all.extend(deltas);
        }
    };
    let mut legacy = |progress: &dyn Progress| {
        snap.legacy_each(c.legacy_sql, progress, &mut |h, p, op| {
            if keep {
                legacy_all.push(Delta::new(h, p, op));
            }
            push(Side::Legacy, &mut std::iter::once((h, p, op)));
        })
    };
    let (legacy_timings, pass, findings, helper) = match helper {
        None => {
            let timings = legacy(&progress)?;
            let pass = snap.batched_each(&cfg, &knobs, &progress, &mut on_batched)?;
            let findings = replay(&snap.conn, &cfg, &pass, &progress)?;
            (timings, pass, findings, None)
        }
        Some(conn) => {
            // The legacy diff here; the value check, the output folder, the batched pass and
            // its liveness replay on the second connection, on the other core.
            let shown = format!("legacy diff ({})", c.legacy_sql);
            let failed = AtomicBool::new(false);
            let stop_legacy = snap.conn.get_interrupt_handle();
            let stop_helper = conn.get_interrupt_handle();
            let beside = Beside {
                bar: &progress,
                prefix: &shown,
            };
            std::thread::scope(|scope| -> anyhow::Result<_> {
                let helper = scope.spawn(|| {
                    let r = beside_legacy(&args, &conn, &cfg, &knobs, &beside, &mut on_batched);
                    if r.is_err() {
                        // Best effort: an interrupt between two of the legacy diff's
                        // statements is lost and it runs to its end.
                        failed.store(true, Ordering::SeqCst);
                        stop_legacy.interrupt();
                    }
                    r.map(|(pass, findings)| (pass, findings, conn))
                });
                let timings = legacy(&crate::support::progress::Silent);
                if timings.is_err() && !failed.load(Ordering::SeqCst) {
                    stop_helper.interrupt();
                }
                let helped = helper
                    .join()
                    .expect("the second connection's thread panicked");
                // The first failure is the one to report: the helper's when it stopped the
                // legacy diff.
                let helped = match (helped, failed.load(Ordering::SeqCst)) {
                    (Err(e), true) => return Err(e),
                    (helped, _) => helped,
                };
                let timings = timings?;
                let (pass, findings, conn) = helped?;
                Ok((timings, pass, findings, Some(conn)))
            })?
        }
    };
    let (lists, overflow) = lists.into_inner().expect("no push panics");
    if let Some(e) = overflow {
        return Err(e.into());
    }
    progress.set_message("classifying divergences");
    let t = Instant::now();
    let pairs = lists.sorted();
    let profiles = load_profiles(&snap.conn)?;
    let mut classifier = Classifier::new(&snap.conn, cfg.rules, profiles, &pass.visited);
    let div_path = args.out_dir.join("divergences.csv");
    let mut writer = DivergenceWriter::create(&div_path)
        .with_context(|| format!("writing {}", div_path.display()))?;
    let mut seen = 0u64;
    let each = |d: Divergence| -> anyhow::Result<()> {
        seen += 1;
        if seen.is_multiple_of(10_000) {
            progress.set_message(format!("classifying divergences: {seen} so far"));
        }
        writer
            .write(&d)
            .with_context(|| format!("writing {}", div_path.display()))?;
        Ok(())
    };
    let tally = match helper {
        Some(conn) => equivalence::compare_sorted_two(&mut classifier, conn, &pairs, each),
        None => equivalence::compare_sorted(&mut classifier, &pairs, each),
    }
    .context("classifying divergences")?;
    let classify_time = t.elapsed();
    // On a MySQL backend, both paths again on the snapshot's SQLite copy: the same fleet must
    // give the same deltas on both engines (issue 6).
    let t = Instant::now();
    let cross = match keep {
        true => {
            progress.set_message("cross-check: both paths on the snapshot's SQLite copy");
            let l = crate::paths::legacy::run(&snap.conn, c.legacy_sql)?;
            let mut lite_legacy = l.installs;
            lite_legacy.extend(l.removes);
            let silent = crate::support::progress::Silent;
            let lite_batched = snapshot::pass_on(&snap.conn, &cfg, &knobs, &silent)?.deltas;
            Some((
                multiset_diff(&legacy_all, &lite_legacy),
                multiset_diff(&batched_all, &lite_batched),
            ))
        }
        false => None,
    };
    let cross_time = t.elapsed();
    snap.finish()?;
    progress.finish_and_clear();

    use crate::domain::model::Op::{Install, Remove};
    let mut s = String::new();
    let mut cross_diff = 0;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    writeln!(s, "database: {}", args.common.one_backend("compare")?)?;
    writeln!(s, "engine: {}", snap.engine())?;
    writeln!(s, "seed: {}", snap.seed_text())?;
    writeln!(
        s,
        "rules: {}  variant: {}  batch size: {}  legacy sql: {}",
        cfg.rules.describe(),
        cfg.variant,
        cfg.batch_size,
        args.common.legacy_sql
    )?;
    if cfg.variant.drains() {
        let k = args.common.drain_knobs();
        writeln!(
            s,
            "drain: window {}, cap {}, budget {}",
            k.window,
            k.cap.map_or("none".to_string(), |c| c.to_string()),
            k.budget
        )?;
    }
    writeln!(
        s,
        "legacy:  {} installs, {} removes ({} duplicate install rows, not divergences)",
        pairs.distinct(Side::Legacy, Install),
        pairs.distinct(Side::Legacy, Remove),
        pairs.repeated_installs(Side::Legacy)
    )?;
    writeln!(
        s,
        "batched: {} installs, {} removes ({} ticks)",
        pairs.distinct(Side::Batched, Install),
        pairs.distinct(Side::Batched, Remove),
        pass.ticks.len()
    )?;
    // The loadtest's words (`verdict::Equivalence`): identical, diverges only in known
    // classes, unexplained.
    let classes = tally
        .classes
        .iter()
        .map(|(c, n)| (c.clone(), *n as u64))
        .collect();
    let equivalence = crate::report::verdict::Equivalence::of_classes(1, classes);
    if tally.pairs == 0 {
        writeln!(s, "equivalence: {}", equivalence.word())?;
    } else {
        writeln!(
            s,
            "equivalence: {}: {} divergent pairs ({} triples)",
            equivalence.word(),
            tally.pairs,
            tally.triples
        )?;
        for (class, n) in &tally.classes {
            writeln!(s, "  {class:<12} {n}")?;
        }
    }
    if cfg.variant.drains() {
        writeln!(
            s,
            "liveness: not judged (the monitor knows one window a tick; drain ticks read many)"
        )?;
    } else {
        writeln!(
            s,
            "liveness: {}",
            crate::harness::loadtest::liveness_text(&findings)
        )?;
    }
    if let Some((l, b)) = cross {
        let word = |n: usize| {
            if n == 0 {
                "identical".to_string()
            } else {
                format!("{n} deltas differ")
            }
        };
        writeln!(
            s,
            "backends: on {} and on its SQLite copy ({}), legacy {}, batched {}",
            snap.engine(),
            rusqlite::version(),
            word(l),
            word(b)
        )?;
        cross_diff = l + b;
    }
    if let Some(m) = cfg.rules.mutant {
        writeln!(s, "mutant: {} (a deliberately injected bug)", m.name())?;
    }
    match side_by_side {
        true => writeln!(
            s,
            "timings (ms, side by side on two connections: the batched pass ran beside the \
             legacy diff, the classification on both; `--sequential` times each alone):"
        )?,
        false => writeln!(s, "timings (ms):")?,
    }
    // The read settings the times were taken with (the page cache also bounds the legacy
    // diff's in-memory sorts, `COMPARE_CACHE_MIB`).
    writeln!(
        s,
        "  reads: page cache {cache_mib} MiB{}, memory map {} MiB",
        match side_by_side {
            true => format!(" (second connection {helper_cache_mib} MiB)"),
            false => String::new(),
        },
        c.mmap_mib
    )?;
    for (phase, d) in &legacy_timings {
        writeln!(s, "  legacy  {phase:<14} {:>10.1}", ms(*d))?;
    }
    for (phase, d) in pass.phase_totals() {
        writeln!(s, "  batched {phase:<14} {:>10.1}", ms(d))?;
    }
    writeln!(s, "  classify {:<13} {:>10.1}", "", ms(classify_time))?;
    if let Some(copy) = snap.copy_time {
        writeln!(s, "  server  {:<14} {:>10.1}", "copy", ms(copy))?;
        writeln!(
            s,
            "  sqlite  {:<14} {:>10.1}",
            "cross-check",
            ms(cross_time)
        )?;
    }

    writer
        .finish()
        .with_context(|| format!("writing {}", div_path.display()))?;
    let sum_path = args.out_dir.join("summary.txt");
    crate::report::csv::write_atomic(&sum_path, s.as_bytes())
        .with_context(|| format!("writing {}", sum_path.display()))?;
    std::io::stdout().lock().write_all(s.as_bytes())?;
    Ok(
        if tally.pairs == 0 && findings.is_empty() && cross_diff == 0 {
            EXIT_OK
        } else {
            EXIT_FINDING
        },
    )
}

/// `compare`'s page cache, MiB, unless `--cache-mib` says otherwise. SQLite sizes its
/// in-memory sort runs from the page cache (a sort spills to its temp file once a run is
/// that large), and the legacy diff's desired-state statement held several times the cache: at
/// a million hosts 256 MiB put compare's peak at 2.0 GiB and 64 MiB at 1.0 GiB, in about the
/// same time (docs/methodology.md, "compare's memory").
pub const COMPARE_CACHE_MIB: u64 = 64;

/// The second connection's page cache, MiB (at most `compare`'s).
const HELPER_CACHE_MIB: u64 = 64;

/// The output folder, created once the inputs are checked.
fn create_out_dir(args: &CompareArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("--out-dir {}", args.out_dir.display()))
}

/// The pass replayed through the cursor liveness monitor (the snapshot does not change). The
/// monitor knows one window a tick; drain ticks read many (not judged yet).
fn replay(
    conn: &Connection,
    cfg: &BatchedConfig,
    pass: &PassResult,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<Finding>> {
    if cfg.variant.drains() {
        return Ok(Vec::new());
    }
    progress.set_message("liveness: the pass replayed through the cursor monitor".into());
    Ok(crate::analysis::liveness::replay(conn, cfg, &pass.ticks)?)
}

/// What the second connection does while the legacy diff runs on the first: the value check
/// (nothing is created before it passes), the output folder, the batched pass and its
/// liveness replay.
fn beside_legacy(
    args: &CompareArgs,
    conn: &Connection,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    progress: &Beside<'_>,
    on_deltas: &mut dyn FnMut(Vec<Delta>),
) -> anyhow::Result<(PassResult, Vec<Finding>)> {
    progress.set_message(crate::backends::open::CHECKING.to_string());
    snapshot::check_values(conn)?;
    create_out_dir(args)?;
    let pass = snapshot::pass_on_each(conn, cfg, knobs, progress, on_deltas)?;
    let findings = replay(conn, cfg, &pass, progress)?;
    // The legacy diff still runs: its peak should not meet this connection's cached pages.
    conn.execute_batch("PRAGMA shrink_memory")?;
    progress.set_message(format!(
        "the batched pass ended ({} ticks)",
        pass.ticks.len()
    ));
    Ok((pass, findings))
}

/// The progress line while the legacy diff runs: its own words, then what the second
/// connection is doing.
struct Beside<'a> {
    bar: &'a indicatif::ProgressBar,
    prefix: &'a str,
}

impl Progress for Beside<'_> {
    fn set_message(&self, message: String) {
        self.bar.set_message(format!("{} + {message}", self.prefix));
    }
}

/// Entries in one list and not the other, counting repeats (legacy's duplicate installs).
fn multiset_diff(a: &[crate::domain::model::Delta], b: &[crate::domain::model::Delta]) -> usize {
    let (mut a, mut b): (Vec<_>, Vec<_>) = (a.iter().collect(), b.iter().collect());
    a.sort();
    b.sort();
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(b[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                n += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                n += 1;
                j += 1;
            }
        }
    }
    n + (a.len() - i) + (b.len() - j)
}
