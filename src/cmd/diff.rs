//! `reconsim diff`: one path over a database, deltas as CSV.

use crate::cli::{DiffArgs, EXIT_OK};
use crate::harness::loadtest::PathKind;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

pub fn run(args: DiffArgs) -> anyhow::Result<i32> {
    let progress = super::spinner(args.common.quiet);
    // The batched pass is replayed through the liveness monitor, which reads the copy.
    let copy = args.path.paged();
    let snap = super::open_snapshot(&args.common, "diff", copy, &progress)?;
    let mut cfg = super::batched_config(&args.common, &snap.conn)?;
    if args.path == PathKind::Drain {
        // `--path drain` is `--path batched --variant drain`.
        cfg.variant = crate::domain::variant::Variant::Drain;
        cfg.variant.preset(&mut cfg.rules);
    }
    let deltas = match args.path {
        PathKind::Legacy => {
            let r = snap.legacy(args.common.legacy_sql, &progress)?;
            let mut d = r.installs;
            d.extend(r.removes);
            d
        }
        PathKind::Batched | PathKind::Drain => {
            let pass = snap.batched(&cfg, &args.common.drain_knobs(), &progress)?;
            // Every batched run goes through the liveness monitor; diff reports on stderr.
            let findings = crate::analysis::liveness::replay(&snap.conn, &cfg, &pass.ticks)?;
            if !findings.is_empty() {
                progress.finish_and_clear();
                eprintln!(
                    "liveness: {}",
                    crate::harness::loadtest::liveness_text(&findings)
                );
            }
            pass.deltas
        }
    };
    progress.finish_and_clear();
    let bytes = crate::report::csv::diff_csv(&deltas).context("formatting CSV")?;
    if args.out == "-" {
        std::io::stdout().lock().write_all(&bytes)?;
    } else {
        crate::report::csv::write_atomic(Path::new(&args.out), &bytes)
            .with_context(|| format!("--out {}", args.out))?;
    }
    Ok(EXIT_OK)
}
