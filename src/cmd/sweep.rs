//! `reconsim sweep`: generate the scenario at each size, time each path's full pass several
//! times, write sweep.csv, sweep.svg and sweep.txt.

use crate::backends::snapshot::Snapshot;
use crate::cli::{EXIT_OK, SweepArgs};
use crate::domain::clock::RealClock;
use crate::fleet::generator::{self, GenerateOptions};
use crate::fleet::scenario::Scenario;
use crate::harness::loadtest::PathKind;
use crate::harness::measure::{self, What};
use crate::harness::sweep::{self, SweepRow, median};
use crate::paths::batched::BatchedConfig;
use crate::report::csv::write_atomic;
use anyhow::Context;
use indicatif::ProgressBar;
use std::io::Write;

pub fn run(args: SweepArgs) -> anyhow::Result<i32> {
    let base = Scenario::load(&args.scenario)?;
    let mut rules = base
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    let knobs = base
        .drain
        .knobs()
        .map_err(|e| anyhow::anyhow!("scenario key `drain.budget`: {e}"))?;
    base.run.variant.preset(&mut rules);
    let name = super::scenario_name(&args.scenario);
    let out = super::results_dir(args.out.as_deref(), &format!("sweep-{name}"))?;
    let mut sizes = args.hosts.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let paths = args.run.paths();
    let work = tempfile::tempdir().context("creating a working directory")?;
    let bar = super::bar(
        args.quiet,
        sizes.len() as u64 * (1 + args.runs as u64 * paths.len() as u64),
    );
    let clock = RealClock::default();
    let mut rows: Vec<SweepRow> = Vec::new();
    let mut seed = base.run.seed;
    for &n in &sizes {
        let scenario = generator::effective_scenario(
            &base,
            &GenerateOptions {
                seed: args.run.seed,
                hosts: Some(n),
                force: true,
            },
        );
        seed = scenario.run.seed;
        bar.set_message(format!("{n} hosts: generating"));
        let db = work.path().join(format!("fleet-{n}.db"));
        generator::generate_file(&db, &scenario, true, &ProgressBar::hidden())?;
        bar.inc(1);
        let snap = Snapshot::open(&db, 4096, 256)?;
        let count = |sql: &str| -> anyhow::Result<u64> {
            Ok(snap.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let host_rows = count("SELECT count(*) FROM hosts")?;
        let eligible = count(&format!(
            "SELECT count(*) FROM hosts h WHERE {}",
            crate::domain::eligibility::ELIGIBLE_HOST
        ))?;
        let cfg = BatchedConfig {
            batch_size: scenario.run.batch_size as usize,
            rules,
            variant: base.run.variant,
        };
        let mut times: Vec<(PathKind, f64)> = Vec::new();
        let mut ratios = Vec::new();
        let mut ticks = 0u64;
        for i in 1..=args.runs {
            let mut this_run = Vec::new();
            for &p in &paths {
                bar.set_message(format!(
                    "{n} hosts: {} run {i} of {}{}",
                    p.name(),
                    args.runs,
                    if p == PathKind::Legacy {
                        " (one whole-fleet diff; ~28 s at 100k hosts)"
                    } else {
                        ""
                    }
                ));
                let what = match p {
                    PathKind::Legacy => What::Legacy,
                    PathKind::Batched | PathKind::Drain => What::Batched,
                };
                // The drain path: drain passes with the scenario's [drain] knobs.
                let cfg = match p {
                    PathKind::Drain => BatchedConfig {
                        variant: crate::domain::variant::Variant::Drain,
                        ..cfg
                    },
                    _ => cfg,
                };
                let mut hist = measure::Histograms::new();
                let run = measure::run_once(
                    snap.store(),
                    "",
                    &measure::Measured {
                        form: args.run.legacy_sql,
                        cfg: &cfg,
                        knobs: &knobs,
                        only: Some(what),
                    },
                    &mut hist,
                    &clock,
                )?;
                let total = run
                    .iter()
                    .find(|(_, phase, _)| phase == "total")
                    .map(|x| x.2.as_secs_f64())
                    .unwrap_or(0.0);
                if p.paged() {
                    ticks = hist
                        .get(&("batched".to_string(), "tick".to_string()))
                        .map_or(0, |h| h.count());
                }
                times.push((p, total));
                this_run.push((p, total));
                bar.inc(1);
            }
            let get = |k: PathKind| this_run.iter().find(|x| x.0 == k).map(|x| x.1);
            if let (Some(l), Some(b)) = (get(PathKind::Legacy), get(PathKind::Batched))
                && b > 0.0
            {
                ratios.push(l / b);
            }
        }
        for &p in &paths {
            let v: Vec<f64> = times.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
            rows.push(SweepRow {
                hosts: n,
                host_rows,
                eligible,
                path: p,
                runs: v.len(),
                median_s: median(&v),
                min_s: v.iter().copied().fold(f64::INFINITY, f64::min),
                max_s: v.iter().copied().fold(0.0, f64::max),
                ticks: if p == PathKind::Legacy { 1 } else { ticks },
                legacy_over_batched: (p == PathKind::Batched && !ratios.is_empty())
                    .then(|| median(&ratios)),
            });
        }
    }
    bar.finish_and_clear();
    write_atomic(&out.join("sweep.csv"), &sweep::sweep_csv(&rows, seed)?)?;
    write_atomic(
        &out.join("sweep.svg"),
        crate::report::sweep_chart::sweep_svg(&rows).as_bytes(),
    )?;
    let mut text = format!(
        "sweep of {} (seed {seed}, batch size {}, legacy SQL {}, {} run(s) per size and path; medians)\n",
        args.scenario.display(),
        base.run.batch_size,
        args.run.legacy_sql,
        args.runs
    );
    for r in &rows {
        text.push_str(&format!(
            "  {:>8} hosts ({:>8} eligible)  {:<8} {:>9.3} s{}\n",
            r.hosts,
            r.eligible,
            r.path.name(),
            r.median_s,
            r.legacy_over_batched
                .map(|x| format!("  legacy/batched {x:.1}x"))
                .unwrap_or_default()
        ));
    }
    text.push_str(&sweep::crossover_text(&rows));
    text.push('\n');
    write_atomic(&out.join("sweep.txt"), text.as_bytes())?;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    writeln!(o, "-> {}", out.display())?;
    Ok(EXIT_OK)
}
