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
use crate::support::procstat;
use anyhow::Context;
use indicatif::ProgressBar;
use std::io::Write;

pub fn run(args: SweepArgs) -> anyhow::Result<i32> {
    if !args.vary.is_empty() {
        return run_knobs(args);
    }
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
    let out = super::results_dir(args.out.as_deref(), &format!("sweep-{name}"), args.force)?;
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
        bar.set_message(format!("{n} hosts: generating"));
        let (scenario, db) = sized_fleet(&base, args.run.seed, n, work.path())?;
        seed = scenario.run.seed;
        bar.inc(1);
        let snap = Snapshot::open(&db, args.mmap_mib, args.cache_mib)?;
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
        let mut peaks: Vec<(PathKind, Option<f64>)> = Vec::new();
        let mut ratios = Vec::new();
        // Ticks of one pass, per paged path (batched and drain page differently).
        let mut ticks: Vec<(PathKind, u64)> = Vec::new();
        for i in 1..=args.runs {
            let mut this_run = Vec::new();
            for &p in &paths {
                bar.set_message(format!(
                    "{n} hosts: {} run {i} of {}{}",
                    p.name(),
                    args.runs,
                    if p == PathKind::Legacy {
                        " (one whole-fleet diff: ~20 s at 100k hosts, minutes at 1M)"
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
                // Each run's own peak: the freed heap of earlier runs goes back to the system,
                // then the reset brings VmHWM down to what is resident now.
                procstat::release_freed_heap();
                let reset = procstat::reset_peak_rss();
                let run = measure::run_once(
                    snap.store(),
                    "",
                    &measure::Measured {
                        form: args.run.legacy_sql,
                        cfg: &cfg,
                        knobs: &knobs,
                        only: &[what],
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
                    let n = hist
                        .get(&("batched".to_string(), "tick".to_string()))
                        .map_or(0, |h| h.count());
                    ticks.retain(|x| x.0 != p);
                    ticks.push((p, n));
                }
                let peak = procstat::peak_rss_kib()
                    .filter(|_| reset)
                    .map(|k| k as f64 / 1024.0);
                peaks.push((p, peak));
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
            let peak = peaks
                .iter()
                .filter(|x| x.0 == p)
                .map(|x| x.1)
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.into_iter().fold(0.0, f64::max));
            rows.push(SweepRow {
                hosts: n,
                host_rows,
                eligible,
                path: p,
                runs: v.len(),
                median_s: median(&v),
                min_s: v.iter().copied().fold(f64::INFINITY, f64::min),
                max_s: v.iter().copied().fold(0.0, f64::max),
                ticks: ticks.iter().find(|x| x.0 == p).map_or(1, |x| x.1),
                legacy_over_batched: (p == PathKind::Batched && !ratios.is_empty())
                    .then(|| median(&ratios)),
                peak_rss_mib: peak,
            });
        }
        // A size's fleet is not needed once measured (15 GB at a million hosts).
        drop(snap);
        std::fs::remove_file(&db).with_context(|| format!("removing {}", db.display()))?;
    }
    bar.finish_and_clear();
    write_atomic(&out.join("sweep.csv"), &sweep::sweep_csv(&rows, seed)?)?;
    write_atomic(
        &out.join("sweep.svg"),
        crate::report::sweep_chart::sweep_svg(&rows).as_bytes(),
    )?;
    let mut text = format!(
        "sweep of {} (seed {seed}, batch size {}, legacy SQL {}, {} run(s) per size and path; \
         medians; peak RSS: the largest over the runs, mmap {} MiB, page cache {} MiB)\n",
        args.scenario.display(),
        base.run.batch_size,
        args.run.legacy_sql,
        args.runs,
        args.mmap_mib,
        args.cache_mib
    );
    for r in &rows {
        text.push_str(&format!(
            "  {:>8} hosts ({:>8} eligible)  {:<8} {:>9.3} s  {:>6} MiB{}\n",
            r.hosts,
            r.eligible,
            r.path.name(),
            r.median_s,
            r.peak_rss_mib
                .map_or("n/a".to_string(), |m| format!("{m:.0}")),
            r.legacy_over_batched
                .map(|x| format!("  legacy/batched {x:.1}x"))
                .unwrap_or_default()
        ));
    }
    text.push_str(&sweep::crossover_text(&rows));
    text.push('\n');
    if let Some(k) = procstat::process_peak_rss_kib() {
        // Generation included; the per-run resets above do not erase it.
        text.push_str(&format!(
            "process peak RSS over the whole sweep: {:.0} MiB\n",
            k as f64 / 1024.0
        ));
    }
    write_atomic(&out.join("sweep.txt"), text.as_bytes())?;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    writeln!(o, "-> {}", out.display())?;
    Ok(EXIT_OK)
}

/// The scenario at `n` hosts (and the seed, when given) and its fleet generated into `dir`.
fn sized_fleet(
    base: &Scenario,
    seed: Option<u64>,
    n: u64,
    dir: &std::path::Path,
) -> anyhow::Result<(Scenario, std::path::PathBuf)> {
    let scenario = generator::effective_scenario(
        base,
        &GenerateOptions {
            seed,
            hosts: Some(n),
            force: true,
        },
    );
    let db = dir.join(format!("fleet-{n}.db"));
    generator::generate_file(&db, &scenario, true, &ProgressBar::hidden())?;
    Ok((scenario, db))
}

/// The `--vary` values: windows, caps, budgets, sizes.
type Varied = (
    Vec<usize>,
    Vec<usize>,
    Vec<crate::paths::drain::Budget>,
    Vec<u64>,
);

fn parse_vary(vary: &[String]) -> anyhow::Result<Varied> {
    let mut v: Varied = Default::default();
    for arg in vary {
        let (knob, values) = arg
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--vary {arg}: not KNOB=V1,V2,…"))?;
        for value in values.split(',').map(str::trim) {
            let bad = |why: &str| anyhow::anyhow!("--vary {arg}: {value:?} {why}");
            let number = || -> anyhow::Result<u64> {
                match value.parse::<u64>() {
                    Ok(n) => Ok(n),
                    Err(_) => Err(bad("is not a whole number")),
                }
            };
            match knob.trim() {
                "window" => match number()? {
                    0 => return Err(bad("is not a window (at least one host row)")),
                    n => v.0.push(n as usize),
                },
                "cap" => v.1.push(number()? as usize),
                "budget" => v.2.push(value.parse().map_err(|e: String| bad(&e))?),
                "hosts" => match number()? {
                    0 => return Err(bad("is not a fleet size")),
                    n => v.3.push(n),
                },
                other => anyhow::bail!(
                    "--vary {arg}: unknown knob {other:?} (known: window, cap, budget, hosts)"
                ),
            }
        }
    }
    Ok(v)
}

/// `sweep --vary …`: the drain approach's knobs (issue 14), one loadtest per combination and
/// fleet size on a fleet generated once per size.
fn run_knobs(args: SweepArgs) -> anyhow::Result<i32> {
    let base = Scenario::load(&args.scenario)?;
    let (windows, caps, budgets, mut sizes) = parse_vary(&args.vary)?;
    let mut drain = base.drain.clone();
    if !args.run.approaches.is_empty() {
        match args.run.approaches.as_slice() {
            [a] if a.kind == PathKind::Drain => a.apply(&mut drain).map_err(anyhow::Error::msg)?,
            _ => anyhow::bail!(
                "--vary: a knob sweep runs one approach, drain (--approach drain[:window=…])"
            ),
        }
    }
    let start = drain
        .knobs()
        .map_err(|e| anyhow::anyhow!("scenario key `drain.budget`: {e}"))?;
    let combos = crate::harness::knobs::combinations(&windows, &caps, &budgets, &start);
    sizes.extend(&args.hosts);
    if sizes.is_empty() {
        sizes.push(base.hosts.count);
    }
    sizes.sort_unstable();
    sizes.dedup();
    let mut rules = base
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    base.run.variant.preset(&mut rules);
    let name = super::scenario_name(&args.scenario);
    let out = super::results_dir(
        args.out.as_deref(),
        &format!("sweep-knobs-{name}"),
        args.force,
    )?;
    let work = tempfile::tempdir().context("creating a working directory")?;
    let runs = sizes.len() as u64 * combos.len() as u64;
    let bar = super::bar(args.quiet, sizes.len() as u64 + runs);
    let clock = RealClock::default();
    let interval = base.loadtest.interval_s;
    let mut rows = Vec::new();
    let mut seed = base.run.seed;
    for &n in &sizes {
        bar.set_message(format!("{n} hosts: generating"));
        let (scenario, fleet) = sized_fleet(&base, args.run.seed, n, work.path())?;
        seed = scenario.run.seed;
        let universe = {
            let conn = crate::store::schema::open_contract_db(&fleet)?;
            crate::harness::loadtest::Universe::load(&conn).context("reading the fleet")?
        };
        bar.inc(1);
        for (i, k) in combos.iter().enumerate() {
            bar.set_message(format!(
                "{n} hosts: window {} cap {} budget {} ({} of {})",
                k.window,
                k.cap.unwrap_or(0),
                k.budget,
                i + 1,
                combos.len()
            ));
            let db = work.path().join(format!("run-{n}-{i}.db"));
            let path = crate::harness::loadtest::approach::RunPath {
                drain: *k,
                ..crate::harness::loadtest::approach::RunPath::plain(PathKind::Drain)
            };
            let conn = crate::harness::loadtest::copy_fleet(&fleet, &db)
                .with_context(|| format!("copying the fleet to {}", db.display()))?;
            let setup = crate::harness::loadtest::record::Setup {
                format: crate::harness::loadtest::record::FORMAT,
                universe: universe.clone(),
                ticks: args.ticks,
            };
            crate::harness::loadtest::record::init(
                &conn,
                &db.display().to_string(),
                &setup,
                "drain",
            )?;
            let cfg = crate::harness::loadtest::LoadtestConfig {
                scenario: scenario.clone(),
                paths: vec![path.clone()],
                ticks: args.ticks,
                legacy_sql: args.run.legacy_sql,
                batched: BatchedConfig {
                    batch_size: scenario.run.batch_size as usize,
                    rules,
                    variant: base.run.variant,
                },
                concurrent_churn: false,
                warmup_ticks: args.warmup_ticks,
                cursor_url: None,
                cursor_key: crate::paths::cursor::DEFAULT_REDIS_KEY.to_string(),
                reference_harness: false,
            };
            let result = crate::harness::loadtest::run(
                vec![(path, conn, db.clone())],
                &cfg,
                &universe,
                &clock,
                |_| Ok(()),
            )?;
            let run = &result.runs[0].1;
            rows.push(crate::harness::knobs::row(n, k, run, interval));
            crate::support::files::remove_with_sidecars(&db);
            bar.inc(1);
        }
        crate::support::files::remove_with_sidecars(&fleet);
    }
    bar.finish_and_clear();
    crate::harness::knobs::mark_pareto(&mut rows);
    write_atomic(
        &out.join("sweep.csv"),
        &crate::harness::knobs::knob_csv(&rows)?,
    )?;
    write_atomic(
        &out.join("sweep.svg"),
        crate::report::sweep_chart::knob_svg(&rows, interval).as_bytes(),
    )?;
    let mut text = format!(
        "knob sweep of the drain approach on {} (seed {seed}, {} measured ticks after {} warm-up, \
         interval {interval} s)\n",
        args.scenario.display(),
        args.ticks,
        args.warmup_ticks
    );
    for r in &rows {
        text.push_str(&format!(
            "  {:>8} hosts  window {:>6} cap {:>6} budget {:<10} tick p50 {:>8.3} s p99 {:>8.3} s  \
             overruns {:>3}  convergence p95 {:>6} s  open {:>5.1}%  writer rows/tick {:>9.1}{}\n",
            r.hosts,
            r.window,
            r.cap,
            r.budget,
            r.tick_p50_s,
            r.tick_p99_s,
            r.overruns,
            r.convergence_p95_s
                .map_or("-".into(), |c| format!("{c:.0}")),
            r.open_share * 100.0,
            r.writer_rows_per_tick,
            if r.pareto { "  *front" } else { "" }
        ));
    }
    text.push_str(&crate::harness::knobs::front_text(&rows, interval));
    write_atomic(&out.join("sweep.txt"), text.as_bytes())?;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    writeln!(o, "-> {}", out.display())?;
    Ok(EXIT_OK)
}
