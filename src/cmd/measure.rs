//! `reconsim measure`: floor, legacy and batched timings over several runs, into a results
//! folder; with several `--backend`s, the same fleet on each, interleaved run by run so the
//! cross-backend ratios are measured inside each run (issue 6).

use crate::backends::backend::Backend;
use crate::backends::snapshot::Snapshot;
use crate::cli::{EXIT_OK, MeasureArgs};
use crate::harness::measure;
use crate::report::csv::write_atomic;
use anyhow::Context;
use std::io::Write;

pub fn run(args: MeasureArgs) -> anyhow::Result<i32> {
    let backends = args.common.backends()?;
    if args.only.contains(&measure::What::Reads)
        && let Some(b) = backends.iter().find(|b| !matches!(b, Backend::Sqlite(_)))
    {
        anyhow::bail!(
            "--only reads: the batched pass's reads are measured on SQLite only, not on --backend {b}"
        );
    }
    let progress = super::spinner(args.common.quiet);
    let mut snaps = Vec::new();
    for b in &backends {
        progress.set_message(format!("opening {b}"));
        snaps.push(Snapshot::open_backend(
            b,
            args.common.mmap_mib,
            args.common.cache_mib_or(crate::cli::CACHE_MIB),
            false,
            &progress,
        )?);
    }
    // Several backends must hold the same fleet: same seed and row counts.
    if let Some(first) = snaps.first() {
        for (b, s) in backends.iter().zip(&snaps).skip(1) {
            let (a, z) = (first.seed_text(), s.seed_text());
            let (ha, hz) = (first.source().host_rows()?, s.source().host_rows()?);
            if a != z || ha != hz {
                anyhow::bail!(
                    "--backend {b}: holds another fleet than {} (seed {z}, {hz} hosts rows vs \
                     seed {a}, {ha}); load the same scenario and seed into both",
                    backends[0]
                );
            }
        }
    }
    let first = snaps.first().context("no backend")?;
    let cfg = super::batched_config(&args.common, &first.conn)?;
    let out_dir = args.out_dir.clone().unwrap_or_else(|| {
        let stem = match &backends[0] {
            Backend::Sqlite(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "db".into()),
            Backend::Mysql(_) => "mysql".into(),
        };
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        std::path::PathBuf::from(format!("results/{now}-measure-{stem}"))
    });
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("--out-dir {}", out_dir.display()))?;
    let mut runs = Vec::new();
    let mut hist = measure::Histograms::new();
    let clock = crate::domain::clock::RealClock::default();
    let several = snaps.len() > 1;
    // What each run times, in the order `run_once` times it, for the progress line.
    let timed: Vec<&str> = [
        (measure::What::Floor, "floor scan"),
        (
            measure::What::Legacy,
            "legacy diff (~20 s at 100k hosts on SQLite)",
        ),
        (measure::What::Batched, "batched pass"),
        (measure::What::Reads, "the pass's queries alone"),
    ]
    .into_iter()
    .filter(|&(w, _)| measure::wanted(&args.only, w))
    .map(|(_, text)| text)
    .collect();
    for i in 1..=args.runs {
        let mut run = measure::Run::new();
        for (b, snap) in backends.iter().zip(&snaps) {
            progress.set_message(format!(
                "run {i} of {} on {}: {}",
                args.runs,
                b.kind(),
                timed.join(", ")
            ));
            let prefix = if several {
                format!("{}.", b.kind())
            } else {
                String::new()
            };
            run.extend(measure::run_once(
                snap.store(),
                &prefix,
                &measure::Measured {
                    form: args.common.legacy_sql,
                    cfg: &cfg,
                    knobs: &args.common.drain_knobs(),
                    only: &args.only,
                },
                &mut hist,
                &clock,
            )?);
        }
        runs.push(run);
    }
    for s in &snaps {
        s.finish()?;
    }
    let mut summary = String::new();
    for (b, s) in backends.iter().zip(&snaps) {
        summary.push_str(&format!("database: {b} ({})\n", s.engine()));
    }
    summary.push_str(&format!(
        "seed: {}\nrules: {}\nbatch size: {}\nlegacy sql: {}\nruns: {}\nreconsim: {}\n",
        first.seed_text(),
        cfg.rules.describe(),
        cfg.batch_size,
        args.common.legacy_sql,
        args.runs,
        env!("CARGO_PKG_VERSION"),
    ));
    summary.push_str(&measure::summary(&runs));
    write_atomic(&out_dir.join("runs.csv"), &measure::runs_csv(&runs)?)?;
    write_atomic(&out_dir.join("summary.txt"), summary.as_bytes())?;
    write_atomic(&out_dir.join("summary.csv"), &measure::summary_csv(&hist)?)?;
    for ((what, phase), h) in &hist {
        write_atomic(
            &out_dir.join(format!("{what}-{phase}.hgrm")),
            h.hgrm().as_bytes(),
        )?;
    }
    progress.finish_and_clear();
    std::io::stdout().lock().write_all(summary.as_bytes())?;
    if !args.common.quiet {
        eprintln!("wrote {}", out_dir.display());
    }
    Ok(EXIT_OK)
}
