//! `reconsim compare`: both paths on one snapshot, the divergences classified and explained.

use crate::analysis::equivalence::{self, Classifier};
use crate::analysis::pairs::{PairLists, Side};
use crate::cli::{CompareArgs, EXIT_FINDING, EXIT_OK};
use crate::domain::model::Delta;
use crate::paths::batched::load_profiles;
use crate::report::csv::DivergenceWriter;
use anyhow::Context;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

pub fn run(args: CompareArgs) -> anyhow::Result<i32> {
    let progress = super::spinner(args.common.quiet);
    let snap = super::open_snapshot(&args.common, "compare", true, &progress)?;
    let cfg = super::batched_config(&args.common, &snap.conn)?;
    // Inputs checked: only now the output folder.
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("--out-dir {}", args.out_dir.display()))?;
    // Both paths' deltas packed as they arrive (`analysis::pairs`), never collected whole; on
    // a server they are also kept for the cross-check against the SQLite copy.
    let keep = snap.is_copy();
    let mut lists = PairLists::default();
    let mut overflow = None;
    let (mut legacy_all, mut batched_all) = (Vec::new(), Vec::new());
    let legacy_timings = snap.legacy_each(args.common.legacy_sql, &progress, &mut |h, p, op| {
        if keep {
            legacy_all.push(Delta::new(h, p, op));
        }
        if let Err(e) = lists.push(Side::Legacy, h, p, op) {
            overflow.get_or_insert(e);
        }
    })?;
    let pass = snap.batched_each(&cfg, &args.common.drain_knobs(), &progress, &mut |deltas| {
        for d in &deltas {
            if let Err(e) = lists.push(Side::Batched, &d.host_uuid, &d.profile_uuid, d.op) {
                overflow.get_or_insert(e);
            }
        }
        if keep {
            batched_all.extend(deltas);
        }
    })?;
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
    let tally = equivalence::compare_sorted::<anyhow::Error>(&mut classifier, &pairs, |d| {
        seen += 1;
        if seen.is_multiple_of(10_000) {
            progress.set_message(format!("classifying divergences: {seen} so far"));
        }
        writer
            .write(&d)
            .with_context(|| format!("writing {}", div_path.display()))?;
        Ok(())
    })
    .context("classifying divergences")?;
    let classify_time = t.elapsed();
    // On a MySQL backend, both paths again on the snapshot's SQLite copy: the same fleet must
    // give the same deltas on both engines (issue 6).
    let t = Instant::now();
    let cross = match keep {
        true => {
            progress.set_message("cross-check: both paths on the snapshot's SQLite copy");
            let l = crate::paths::legacy::run(&snap.conn, args.common.legacy_sql)?;
            let mut lite_legacy = l.installs;
            lite_legacy.extend(l.removes);
            let knobs = args.common.drain_knobs();
            let silent = crate::support::progress::Silent;
            let lite_batched =
                crate::backends::snapshot::pass_on(&snap.conn, &cfg, &knobs, &silent)?.deltas;
            Some((
                multiset_diff(&legacy_all, &lite_legacy),
                multiset_diff(&batched_all, &lite_batched),
            ))
        }
        false => None,
    };
    let cross_time = t.elapsed();
    snap.finish()?;
    // The pass replayed through the cursor liveness monitor (the snapshot does not change).
    // The monitor knows one window a tick; drain ticks read many (not judged yet).
    let findings = if cfg.variant.drains() {
        Vec::new()
    } else {
        crate::analysis::liveness::replay(&snap.conn, &cfg, &pass.ticks)?
    };
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
    writeln!(s, "timings (ms):")?;
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
