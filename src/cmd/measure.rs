//! `reconsim measure`: floor, legacy and batched timings over several runs, into a results folder.

use crate::cli::{EXIT_OK, MeasureArgs};
use crate::measure;
use crate::report::write_atomic;
use crate::snapshot::Snapshot;
use anyhow::Context;
use std::io::Write;

pub fn run(args: MeasureArgs) -> anyhow::Result<i32> {
    let snap = Snapshot::open(&args.common.db, args.common.mmap_mib, args.common.cache_mib)?;
    let cfg = super::batched_config(&args.common, &snap.conn)?;
    let out_dir = args.out_dir.clone().unwrap_or_else(|| {
        let stem = args
            .common
            .db
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "db".into());
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        std::path::PathBuf::from(format!("results/{now}-measure-{stem}"))
    });
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("--out-dir {}", out_dir.display()))?;
    let mut runs = Vec::new();
    let mut hist = measure::Histograms::new();
    let progress = super::spinner(args.common.quiet);
    for i in 1..=args.runs {
        progress.set_message(format!(
            "run {i} of {}: floor scan, legacy diff (~40 s at 100k hosts), batched pass",
            args.runs
        ));
        runs.push(measure::run_once(
            &snap.conn,
            args.common.legacy_sql,
            &cfg,
            args.only,
            &mut hist,
            &crate::clock::RealClock::default(),
        )?);
    }
    let mut summary = format!(
        "database: {}\nseed: {}\nrules: {}\nbatch size: {}\nlegacy sql: {}\nruns: {}\nreconsim: {}\nsqlite: {}\n",
        args.common.db.display(),
        snap.seed_text(),
        cfg.rules.describe(),
        cfg.batch_size,
        args.common.legacy_sql,
        args.runs,
        env!("CARGO_PKG_VERSION"),
        rusqlite::version(),
    );
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
