//! `reconsim loadtest` (issue 4, in progress): generate (or reuse) a fleet, run each path's
//! ticks on its own copy, write the results folder.

use crate::batched::BatchedConfig;
use crate::cli::{EXIT_OK, LoadtestArgs};
use crate::clock::RealClock;
use crate::generator::{self, GenerateOptions};
use crate::loadtest::{self, LoadtestConfig, PathKind, Universe};
use crate::report::write_atomic;
use crate::scenario::Scenario;
use anyhow::Context;
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::io::Write;

pub fn run(args: LoadtestArgs) -> anyhow::Result<i32> {
    let started = chrono::Utc::now();
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| {
        crate::scenario::ScenarioError::Read {
            file: args.scenario.display().to_string(),
            source,
        }
    })?;
    let scenario = Scenario::parse(&text, &args.scenario.display().to_string())?;
    let scenario = generator::effective_scenario(
        &scenario,
        &GenerateOptions {
            seed: args.seed,
            ..GenerateOptions::default()
        },
    );
    let name = super::scenario_name(&args.scenario);
    let out = super::results_dir(
        args.out.as_deref(),
        &format!("{name}-{}", scenario.run.seed),
    )?;
    let work = tempfile::tempdir().context("creating a working directory")?;
    let progress = super::spinner(args.quiet);

    let base = match &args.db {
        Some(db) => {
            crate::schema::open_contract_db(db)?;
            db.clone()
        }
        None => {
            progress.set_message(format!("generating {name}"));
            let db = work.path().join("fleet.db");
            generator::generate_file(&db, &scenario, true, &ProgressBar::hidden())?;
            db
        }
    };
    let universe = {
        let conn = crate::schema::open_contract_db(&base)?;
        Universe::load(&conn).context("reading the fleet")?
    };
    let mut rules = scenario
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    let variant = args.variant.unwrap_or(scenario.run.variant);
    variant.preset(&mut rules);
    let batch_size = scenario.run.batch_size as usize;
    let ticks = args
        .ticks
        .unwrap_or_else(|| (universe.eligible as usize / batch_size.max(1) + 3) as u32);
    let mut paths = args.paths.clone();
    paths.sort();
    paths.dedup();
    let cfg = LoadtestConfig {
        scenario: scenario.clone(),
        paths: paths.clone(),
        ticks,
        legacy_sql: args.legacy_sql,
        batched: BatchedConfig {
            batch_size,
            rules,
            variant,
        },
        concurrent_churn: args.concurrent_churn,
        warmup_ticks: args.warmup_ticks,
    };
    let clock = RealClock::default();
    let mut dbs = Vec::new();
    for &path in &cfg.paths {
        let file = work.path().join(format!("{}.db", path.name()));
        let conn = loadtest::copy_fleet(&base, &file)
            .with_context(|| format!("copying the fleet for the {} path", path.name()))?;
        dbs.push((path, conn, file));
    }
    progress.finish_and_clear();
    let bar = super::bar(args.quiet, ticks as u64 * cfg.paths.len() as u64);
    let note = if cfg.paths.contains(&PathKind::Legacy) {
        " — each legacy tick is a whole-fleet diff (~28 s at 100k hosts, spec §9); --ticks bounds it"
    } else {
        ""
    };
    let wall = std::time::Instant::now();
    let warmup = args.warmup_ticks;
    let result = loadtest::run(
        dbs,
        &cfg,
        &universe,
        &clock,
        |row| {
            bar.inc(1);
            bar.set_message(format!(
                "{} tick {}/{ticks}: {} ms, {} installs, {} removes{note}",
                row.path,
                row.tick + 1,
                row.duration_us / 1000,
                row.installs,
                row.removes
            ))
        },
        |path, w| bar.set_message(format!("warm-up: {} tick {}/{warmup}", path.name(), w + 1)),
    )?;
    let wall = wall.elapsed();
    bar.finish_and_clear();
    let runs = &result.runs;

    write_atomic(&out.join("ticks.csv"), &loadtest::ticks_csv(runs)?)?;
    write_atomic(&out.join("summary.csv"), &loadtest::summary_csv(runs)?)?;
    write_atomic(
        &out.join("convergence.csv"),
        &loadtest::convergence_csv(runs)?,
    )?;
    let findings: Vec<(&str, &crate::liveness::Finding)> = runs
        .iter()
        .flat_map(|(p, r)| r.findings.iter().map(move |f| (p.name(), f)))
        .collect();
    write_atomic(
        &out.join("findings.csv"),
        &crate::liveness::findings_csv(&findings)?,
    )?;
    write_atomic(
        &out.join("equivalence.csv"),
        &loadtest::equivalence_csv(&result.equivalence)?,
    )?;
    for (path, run) in runs {
        for (phase, h) in &run.hist {
            write_atomic(
                &out.join(format!("{}-{phase}.hgrm", path.name())),
                h.hgrm().as_bytes(),
            )?;
        }
    }
    let verdict = loadtest::equivalence_verdict(&result.equivalence, cfg.paths.len() == 2);
    let harness = loadtest::harness_breakdown(&result, wall, cfg.concurrent_churn);
    let manifest = serde_json::json!({
        "reconsim_version": env!("CARGO_PKG_VERSION"),
        "git_commit": option_env!("RECONSIM_GIT_COMMIT").unwrap_or("unknown"),
        "rustc_version": option_env!("RECONSIM_RUSTC_VERSION").unwrap_or("unknown"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "scenario_file": args.scenario.display().to_string(),
        "scenario_sha256": hex::encode(Sha256::digest(text.as_bytes())),
        "scenario_text": text,
        "seed": scenario.run.seed,
        "database": args.db.as_ref().map(|d| d.display().to_string()),
        "paths": cfg.paths.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "ticks": ticks,
        "interval_s": scenario.loadtest.interval_s,
        "churn_ticks": scenario.loadtest.churn_ticks,
        "batch_size": batch_size,
        "rules": rules.describe(),
        "variant": variant.to_string(),
        "legacy_sql": args.legacy_sql.to_string(),
        "concurrent_churn": args.concurrent_churn,
        "warmup_ticks": args.warmup_ticks,
        "sqlite_version": rusqlite::version(),
        "pragmas": ["synchronous=OFF", "temp_store=MEMORY", "cache_size=-262144", "mmap_size=4294967296"],
        "cpu_count": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "started_utc": started.to_rfc3339(),
        "ended_utc": chrono::Utc::now().to_rfc3339(),
        "wall_s": wall.as_secs_f64(),
        "outside_ticks_share": harness.1,
        "outside_ticks_s": harness.0.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "events": result.events,
        "equivalence_verdict": verdict,
        "paths_detail": runs.iter().map(|(p, r)| serde_json::json!({
            "path": p.name(),
            "cpu_s": r.cpu.as_secs_f64(),
            "peak_rss_kib": r.peak_rss_kib,
        })).collect::<Vec<_>>(),
    });
    write_atomic(
        &out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    let html = crate::html::loadtest_report(&crate::html::ReportInput {
        title: format!("reconsim loadtest — {name}, seed {}", scenario.run.seed),
        interval_s: scenario.loadtest.interval_s,
        result: &result,
        verdict: &verdict,
        manifest: &manifest,
    });
    write_atomic(&out.join("report.html"), html.as_bytes())?;

    if !args.quiet {
        let mut o = std::io::stdout().lock();
        o.write_all(
            loadtest::text_summary(
                &result,
                &format!(
                    "loadtest {name}, seed {}, {ticks} ticks of {} s per path -> {}",
                    scenario.run.seed,
                    scenario.loadtest.interval_s,
                    out.display()
                ),
                scenario.loadtest.interval_s,
                &verdict,
                &harness,
            )
            .as_bytes(),
        )?;
    }
    Ok(EXIT_OK)
}
