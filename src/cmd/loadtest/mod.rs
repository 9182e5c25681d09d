//! `reconsim loadtest`: generate (or reuse) a fleet, run each path's ticks on its own copy in
//! the run folder's `state/`, write the results, remove `state/`. Every step of a run is
//! committed with its record in the path databases (`loadtest::record`), so `--resume DIR`
//! continues a run killed at any instant and ends with the results the uninterrupted run would
//! have had. The run folder is locked while a run or a resume works in it.

use crate::backends::backend::Backend;
use crate::cli::{EXIT_OK, LoadtestArgs};
use crate::domain::clock::RealClock;
use crate::fleet::generator::{self, GenerateOptions};
use crate::fleet::scenario::Scenario;
use crate::harness::loadtest::{self, LoadtestConfig, PathKind, Universe, record};
use crate::paths::batched::BatchedConfig;
use crate::report::csv::write_atomic;
use crate::report::manifest::{Manifest, PathDetail};
use crate::support::files::Lock;
use anyhow::Context;
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

mod folder;
use folder::*;

pub fn run(args: LoadtestArgs) -> anyhow::Result<i32> {
    if let Some(dir) = &args.resume {
        return resume(dir, args.quiet);
    }
    // sqlite:PATH names the fleet (as --db does); a mysql:// URL, where the reconcilers read.
    let mut db = args.db.clone();
    for b in &args.backend {
        if let Backend::Sqlite(p) = b
            && !p.as_os_str().is_empty()
        {
            if db.as_ref().is_some_and(|d| d != p) {
                anyhow::bail!("--backend {b}: another fleet than --db; give one of them");
            }
            db = Some(p.clone());
        }
    }
    let mysql: Vec<&String> = args
        .backend
        .iter()
        .filter_map(|b| match b {
            Backend::Mysql(u) => Some(u),
            Backend::Sqlite(_) => None,
        })
        .collect();
    let sqlite = args.backend.is_empty() || args.backend.iter().any(|b| b.kind() == "sqlite");
    match (sqlite, mysql.as_slice()) {
        (_, []) => start(&args, db.as_deref(), None, None),
        (false, [url]) => start(&args, db.as_deref(), Some(url.as_str()), None),
        (true, [url]) => side_by_side(&args, db.as_deref(), url),
        _ => anyhow::bail!("--backend: at most one sqlite and one mysql:// backend"),
    }
}

/// One run per backend in `sqlite/` and `mysql/` of one folder, then the side-by-side page.
fn side_by_side(args: &LoadtestArgs, db: Option<&Path>, url: &str) -> anyhow::Result<i32> {
    let Some(scenario_path) = &args.scenario else {
        anyhow::bail!("loadtest: --scenario FILE or --resume DIR is required");
    };
    let seed = match args.run.seed {
        Some(s) => s,
        None => Scenario::load(scenario_path)?.run.seed,
    };
    let name = super::scenario_name(scenario_path);
    let out = out_dir(args.out.as_deref(), &format!("{name}-{seed}-backends"));
    check_out(&out, args.force)?;
    std::fs::create_dir_all(&out).with_context(|| format!("--out {}", out.display()))?;
    let _lock = Lock::folder(&out, "--out")?;
    let lite = start(args, db, None, Some(out.join("sqlite")))?;
    let my = start(args, db, Some(url), Some(out.join("mysql")))?;
    let page = crate::report::sidebyside::write(&out, &format!("{name}, seed {seed}"))?;
    if !args.quiet {
        println!("{page}");
        println!("side by side -> {}", out.join("report.html").display());
    }
    Ok(lite.max(my))
}

/// A new run: everything checked first (scenario, servers, the folder), then the folder
/// locked, `state/run.json` written, the path databases set up, and the run executed.
fn start(
    args: &LoadtestArgs,
    db: Option<&Path>,
    mysql: Option<&str>,
    sub_dir: Option<PathBuf>,
) -> anyhow::Result<i32> {
    let Some(scenario_path) = &args.scenario else {
        anyhow::bail!("loadtest: --scenario FILE or --resume DIR is required");
    };
    let started = chrono::Utc::now();
    let text = crate::fleet::scenario::read_file(scenario_path)?;
    let scenario = Scenario::parse(&text, &scenario_path.display().to_string())?;
    let scenario = generator::effective_scenario(
        &scenario,
        &GenerateOptions {
            seed: args.run.seed,
            ..GenerateOptions::default()
        },
    );
    scenario
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    for t in &args.thresholds {
        t.parse::<crate::fleet::threshold::Threshold>()
            .map_err(|e| anyhow::anyhow!("--threshold {e}"))?;
    }
    if let Some(db) = db {
        crate::store::schema::open_contract_db(db)?;
    }
    // The virtual clock must stay a 4-digit year (the timestamp format of spec §1).
    if let Some(t) = args.ticks {
        let now = crate::support::timefmt::parse_timestamp(&scenario.run.now).unwrap_or(0);
        let span = (t as i64 + args.warmup_ticks as i64 + 1) * scenario.loadtest.interval_s as i64;
        if now + span
            > crate::support::timefmt::parse_timestamp("9999-12-31 23:59:59").unwrap_or(i64::MAX)
        {
            anyhow::bail!(
                "--ticks {t}: {t} ticks of {} s from run.now {:?} run past 9999-12-31",
                scenario.loadtest.interval_s,
                scenario.run.now
            );
        }
    }
    // Before anything is created.
    if args.variant.unwrap_or(scenario.run.variant).drains() {
        anyhow::bail!(
            "variant drain: in a loadtest the drain loop is a path of its own; run it with \
             --approach drain[:window=W,cap=C,budget=T] (or --paths legacy,drain)"
        );
    }
    let mut listed = Vec::new();
    for (i, a) in scenario.approaches.iter().enumerate() {
        listed.push(a.spelled().parse().map_err(|e| {
            anyhow::anyhow!("{}: key `approaches[{i}]`: {e}", scenario_path.display())
        })?);
    }
    let approaches = args.run.approaches_or(listed);
    let run_paths = loadtest::approach::resolve(&approaches, &scenario.drain)
        .map_err(|e| anyhow::anyhow!("--approach: {e}"))?;
    let enrolling = run_paths.iter().any(|p| p.enroll_path);
    if enrolling && args.concurrent_churn {
        anyhow::bail!(
            "--approach …enroll-path=on: not with --concurrent-churn (the enrollment path runs \
             right after the churn that enrolled the host, in the same step)"
        );
    }
    if enrolling && mysql.is_some() {
        anyhow::bail!(
            "--approach …enroll-path=on: the per-host enrollment path runs on SQLite only \
             (it reads the host the churn just enrolled from the path's own database)"
        );
    }
    // Servers answer before any generation work.
    if let Some(url) = &args.cursor {
        crate::backends::rediscursor::RedisCursor::connect(url, &args.cursor_key)?;
    }
    if let Some(url) = mysql {
        crate::backends::mysqldb::MyDb::check_server(url)?;
    }
    let name = super::scenario_name(scenario_path);
    let out = match sub_dir {
        Some(d) => d,
        None => out_dir(
            args.out.as_deref(),
            &format!("{name}-{}", scenario.run.seed),
        ),
    };
    check_out(&out, args.force)?;
    let spec = RunSpec {
        scenario_file: scenario_path.display().to_string(),
        scenario_text: text,
        seed: scenario.run.seed,
        paths: run_paths.iter().map(|p| p.kind).collect(),
        approaches: run_paths.iter().map(|p| p.spelled.clone()).collect(),
        ticks: args.ticks,
        legacy_sql: args.run.legacy_sql.to_string(),
        variant: args.variant.unwrap_or(scenario.run.variant),
        warmup_ticks: args.warmup_ticks,
        concurrent_churn: args.concurrent_churn,
        reference_harness: args.reference_harness,
        database: db.map(|d| d.display().to_string()),
        backend: mysql.map(str::to_string),
        cursor: args.cursor.clone(),
        cursor_key: Some(args.cursor_key.clone()),
        started_utc: started.to_rfc3339(),
        command_line: crate::backends::mysqldb::command_line(),
        thresholds: args.thresholds.clone(),
        hgrm_unit: args.hgrm_unit,
    };
    let lock = create_run_folder(&out, &spec)?;
    let dbs = set_up(&spec, &scenario, &state_dir(&out), args.quiet)?;
    execute(&spec, &out, dbs, false, args.quiet, lock)
}

/// The path databases of a run: those `state/` has, plus any it lacks (a run killed during
/// its setup), made from the fleet (generated again: the same seed gives the same bytes) with
/// a fresh record. Each is built under a temp name and renamed when complete.
fn set_up(
    spec: &RunSpec,
    scenario: &Scenario,
    state: &Path,
    quiet: bool,
) -> anyhow::Result<loadtest::PathDbs> {
    let paths = spec.run_paths()?;
    let file_of = |p: &loadtest::approach::RunPath| state.join(format!("{}.db", p.name()));
    let missing: Vec<&loadtest::approach::RunPath> =
        paths.iter().filter(|p| !file_of(p).is_file()).collect();
    if !missing.is_empty() {
        let progress = super::spinner(quiet);
        let base = match &spec.database {
            Some(db) => PathBuf::from(db),
            None => {
                let db = state.join("fleet.db");
                if !db.is_file() {
                    progress.set_message(format!(
                        "generating {}",
                        super::scenario_name(Path::new(&spec.scenario_file))
                    ));
                    generator::generate_file(&db, scenario, true, &ProgressBar::hidden())?;
                    crate::support::crashpoint::here("fleet generated");
                }
                db
            }
        };
        let conn = crate::store::schema::open_contract_db(&base)?;
        let universe = Universe::load(&conn).context("reading the fleet")?;
        drop(conn);
        let batch = (scenario.run.batch_size as u64).max(1);
        let setup = record::Setup {
            format: record::FORMAT,
            ticks: spec.ticks.unwrap_or((universe.eligible / batch + 3) as u32),
            universe,
        };
        for &path in &missing {
            let name = path.name();
            progress.set_message(format!("copying the fleet for the {name} path"));
            let file = file_of(path);
            let tmp = crate::support::files::TempPath::beside(&file);
            let conn = loadtest::copy_fleet(&base, tmp.path())
                .with_context(|| format!("copying the fleet for the {name} path"))?;
            record::init(&conn, &file.display().to_string(), &setup, name)?;
            drop(conn);
            crate::support::crashpoint::here("path database copied, not yet placed");
            tmp.persist(&file)
                .with_context(|| format!("placing {}", file.display()))?;
            crate::support::crashpoint::here("path database placed");
        }
        if spec.database.is_none() {
            crate::support::files::remove_with_sidecars(&state.join("fleet.db"));
        }
        progress.finish_and_clear();
    }
    paths
        .into_iter()
        .map(|p| {
            let file = file_of(&p);
            let conn = loadtest::open_path_db(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            Ok((p, conn, file))
        })
        .collect()
}

/// `loadtest --resume DIR`: continues a stopped run from what its path databases committed.
fn resume(dir: &Path, quiet: bool) -> anyhow::Result<i32> {
    if !dir.is_dir() {
        anyhow::bail!("--resume {}: no such run folder", dir.display());
    }
    let lock = Lock::folder(dir, "--resume")?;
    crate::support::files::remove_stale_temps(dir);
    let state = state_dir(dir);
    if !state.is_dir() {
        if dir.join("manifest.json").is_file() {
            // Finished (perhaps killed while removing its working state): nothing to do.
            let _ = std::fs::remove_dir_all(done_dir(dir));
            let _ = std::fs::remove_file(lock.path());
            if !quiet {
                println!("{}: the run is finished; nothing to resume", dir.display());
            }
            return Ok(EXIT_OK);
        }
        if dir.join("sqlite").is_dir() || dir.join("mysql").is_dir() {
            anyhow::bail!(
                "--resume {}: a side-by-side folder; resume each backend's run: --resume {} and \
                 --resume {}",
                dir.display(),
                dir.join("sqlite").display(),
                dir.join("mysql").display()
            );
        }
        anyhow::bail!(
            "--resume {}: not a loadtest run folder (no state/ and no manifest.json)",
            dir.display()
        );
    }
    crate::support::files::remove_stale_temps(&state);
    let spec_file = state.join("run.json");
    let text = std::fs::read_to_string(&spec_file).map_err(|e| {
        anyhow::anyhow!(
            "--resume {}: {}: {e} (the run was killed before it began; start it again)",
            dir.display(),
            spec_file.display()
        )
    })?;
    let spec: RunSpec = serde_json::from_str(&text)
        .with_context(|| format!("--resume {}: {}", dir.display(), spec_file.display()))?;
    let scenario = spec_scenario(&spec)?;
    let dbs = set_up(&spec, &scenario, &state, quiet)?;
    execute(&spec, dir, dbs, true, quiet, lock)
}

/// The run's effective scenario, from the text saved with it.
fn spec_scenario(spec: &RunSpec) -> anyhow::Result<Scenario> {
    let scenario = Scenario::parse(&spec.scenario_text, &spec.scenario_file)?;
    Ok(generator::effective_scenario(
        &scenario,
        &GenerateOptions {
            seed: Some(spec.seed),
            ..GenerateOptions::default()
        },
    ))
}

/// Runs (or resumes) the ticks and writes the results folder.
fn execute(
    spec: &RunSpec,
    out: &Path,
    dbs: loadtest::PathDbs,
    resumed: bool,
    quiet: bool,
    lock: Lock,
) -> anyhow::Result<i32> {
    let text = &spec.scenario_text;
    let scenario = spec_scenario(spec)?;
    let name = super::scenario_name(Path::new(&spec.scenario_file));
    // What the setup fixed, and how far each path's record is.
    let mut setup = None;
    let mut ticks_done = Vec::new();
    for (_, conn, file) in &dbs {
        let (s, rec) = record::load(conn, &file.display().to_string())?;
        ticks_done.push(rec.ticks.len() as u64);
        setup = Some(s);
    }
    let setup = setup.ok_or_else(|| anyhow::anyhow!("loadtest: no path to run"))?;
    let universe = &setup.universe;
    let mut rules = scenario
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    let variant = spec.variant;
    variant.preset(&mut rules);
    let batch_size = scenario.run.batch_size as usize;
    let ticks = setup.ticks;
    let legacy_sql: crate::paths::legacy::LegacySql =
        clap::ValueEnum::from_str(&spec.legacy_sql, true).map_err(anyhow::Error::msg)?;
    let paths: Vec<loadtest::approach::RunPath> = dbs.iter().map(|d| d.0.clone()).collect();
    let cfg = LoadtestConfig {
        cursor_url: spec.cursor.clone(),
        cursor_key: spec
            .cursor_key
            .clone()
            .unwrap_or_else(|| crate::paths::cursor::DEFAULT_REDIS_KEY.to_string()),
        scenario: scenario.clone(),
        paths: paths.clone(),
        ticks,
        legacy_sql,
        batched: BatchedConfig {
            batch_size,
            rules,
            variant,
        },
        concurrent_churn: spec.concurrent_churn,
        warmup_ticks: spec.warmup_ticks,
        reference_harness: spec.reference_harness,
    };
    // On a MySQL backend: each path's database loaded into DB_<path> on the server (again on
    // a resume: from the checkpointed SQLite state), its changes replicated from then on.
    let mut mirrors = Vec::new();
    let mut server_version = None;
    if let Some(url) = &spec.backend {
        let progress = super::spinner(quiet);
        for (kind, conn, _) in &dbs {
            // DB_legacy, DB_batched, DB_drain, DB_drain_2: a plain identifier.
            let suffix = kind.name().replace('-', "_");
            let m = crate::backends::mirror::Mirror::setup(url, &suffix, conn, &progress)?;
            server_version = Some(m.db.version.clone());
            mirrors.push(Some(Box::new(m) as Box<dyn crate::backends::store::Replica>));
        }
        progress.finish_and_clear();
    }
    let clock = RealClock::default();
    let resumed_at = resumed.then(|| ticks_done.iter().copied().min().unwrap_or(0));
    let bar = super::bar(quiet, ticks as u64 * cfg.paths.len() as u64);
    bar.set_position(ticks_done.iter().sum());
    if !quiet && cfg.paths.iter().any(|p| p.kind == PathKind::Legacy) {
        eprintln!(
            "note: each legacy tick diffs the whole fleet (~30 s at 100k hosts); \
             --ticks bounds the run"
        );
    }
    let wall = std::time::Instant::now();
    let warmup = spec.warmup_ticks;
    let result = loadtest::run_on(dbs, mirrors, &cfg, universe, &clock, |event| {
        match event {
            // The bar counts finished ticks; the message names the one running.
            loadtest::RunEvent::TickStart(path, t) => {
                bar.set_message(format!("{path} tick {}/{ticks} running", t + 1))
            }
            loadtest::RunEvent::Tick(row) => {
                bar.inc(1);
                bar.set_message(format!(
                    "{} tick {}/{ticks}: {}",
                    row.path,
                    row.tick + 1,
                    crate::support::units::human_us(row.duration_us as f64),
                ))
            }
            loadtest::RunEvent::Warmup(path, w) => {
                bar.set_message(format!("warm-up: {path} tick {}/{warmup}", w + 1))
            }
        }
        Ok(())
    })?;
    let wall = wall.elapsed();
    bar.finish_and_clear();
    let runs = &result.runs;

    write_atomic(&out.join("ticks.csv"), &loadtest::ticks_csv(runs)?)?;
    write_atomic(&out.join("summary.csv"), &loadtest::summary_csv(runs)?)?;
    write_atomic(
        &out.join("convergence.csv"),
        &loadtest::convergence_csv(runs)?,
    )?;
    let findings: Vec<(&str, &crate::analysis::liveness::Finding)> = runs
        .iter()
        .flat_map(|(p, r)| r.findings.iter().map(move |f| (p.name(), f)))
        .collect();
    write_atomic(
        &out.join("findings.csv"),
        &crate::analysis::liveness::findings_csv(&findings)?,
    )?;
    write_atomic(
        &out.join("equivalence.csv"),
        &loadtest::equivalence_csv(&result.equivalence)?,
    )?;
    for (path, run) in runs {
        for (phase, h) in &run.hist {
            write_atomic(
                &out.join(format!("{}-{phase}.hgrm", path.name())),
                h.hgrm_in(spec.hgrm_unit).as_bytes(),
            )?;
        }
    }
    // The verdict: the scenario's checks and --threshold's, failed ticks and findings (unless
    // the scenario's [expect] says they are what it reproduces).
    let checks = scenario
        .thresholds
        .checks
        .iter()
        .chain(&spec.thresholds)
        .map(|t| {
            t.parse::<crate::fleet::threshold::Threshold>()
                .map_err(anyhow::Error::msg)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let decided = crate::report::verdict::verdict(
        &result,
        scenario.loadtest.interval_s,
        &checks,
        scenario.expect.is_some(),
    );
    let verdict = decided.equivalence.text();
    let (args_db, args_seed) = (spec.database.clone(), spec.seed);
    let mut harness = loadtest::harness_breakdown(&result, wall, cfg.concurrent_churn);
    if resumed_at.is_some() {
        // The wall clock covers only the resumed part: no share to report.
        harness.1 = f64::NAN;
    }
    let shown = |u: &Option<String>, none: &str| {
        u.as_deref()
            .map_or(none.to_string(), crate::backends::backend::shown_url)
    };
    let manifest = Manifest {
        reconsim_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: option_env!("RECONSIM_GIT_COMMIT")
            .unwrap_or("unknown")
            .into(),
        rustc_version: option_env!("RECONSIM_RUSTC_VERSION")
            .unwrap_or("unknown")
            .into(),
        command_line: spec.command_line.clone(),
        resume_command_line: resumed_at.map(|_| crate::backends::mysqldb::command_line()),
        resumed_at_tick: resumed_at,
        scenario_file: spec.scenario_file.clone(),
        scenario_sha256: hex::encode(Sha256::digest(text.as_bytes())),
        scenario_text: text.clone(),
        seed: args_seed,
        database: args_db,
        backend: shown(&spec.backend, "sqlite"),
        server_version,
        cursor: shown(&spec.cursor, "database"),
        paths: cfg.paths.iter().map(|p| p.name().to_string()).collect(),
        approaches: cfg.paths.iter().map(|p| cfg.approach_text(p)).collect(),
        ticks,
        interval_s: scenario.loadtest.interval_s,
        churn_ticks: scenario.loadtest.churn_ticks,
        batch_size,
        rules: rules.describe(),
        variant: variant.to_string(),
        legacy_sql: spec.legacy_sql.clone(),
        concurrent_churn: spec.concurrent_churn,
        warmup_ticks: spec.warmup_ticks,
        reference_harness: spec.reference_harness,
        sqlite_version: rusqlite::version().into(),
        pragmas: loadtest::path_db_pragmas(),
        cpu_count: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        started_utc: spec.started_utc.clone(),
        ended_utc: chrono::Utc::now().to_rfc3339(),
        wall_s: wall.as_secs_f64(),
        outside_ticks_share: (!harness.1.is_nan()).then_some(harness.1),
        // Wall time timed by no phase (bookkeeping between phases), over the run's wall time.
        untimed_share: (!harness.1.is_nan()).then(|| {
            harness
                .0
                .iter()
                .find(|p| p.0 == "other")
                .map_or(0.0, |p| p.1)
                / wall
                    .saturating_sub(result.warmup_time)
                    .as_secs_f64()
                    .max(1e-9)
        }),
        outside_ticks_s: harness.0.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        events: result.events.clone(),
        equivalence_verdict: verdict.clone(),
        paths_detail: runs
            .iter()
            .map(|(p, r)| PathDetail {
                path: p.name().into(),
                cpu_s: r.cpu.as_secs_f64(),
                peak_rss_kib: r.peak_rss_kib,
            })
            .collect(),
        process_peak_rss_kib: crate::support::procstat::process_peak_rss_kib(),
        hgrm_unit: spec.hgrm_unit.name().into(),
        verdict: decided.answer.clone(),
        exit_code: decided.exit_code,
    };
    write_atomic(&out.join("manifest.json"), manifest.to_json()?.as_bytes())?;
    let summary = crate::report::verdict::Summary {
        schema_version: crate::report::verdict::SCHEMA_VERSION,
        reconsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: spec.scenario_file.clone(),
        seed: spec.seed,
        ticks,
        verdict: decided.clone(),
        phases: crate::report::verdict::phases(&result),
    };
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let html = crate::report::html::loadtest_report(&crate::report::html::ReportInput {
        title: format!("reconsim loadtest — {name}, seed {}", scenario.run.seed),
        interval_s: scenario.loadtest.interval_s,
        result: &result,
        verdict: &verdict,
        decided: &decided,
        manifest: &manifest,
    });
    write_atomic(&out.join("report.html"), html.as_bytes())?;

    // Finished: the working state goes (the results are in the folder). Renamed first, so a
    // kill while removing it leaves a finished run, not a broken one.
    let state = state_dir(out);
    std::fs::rename(&state, done_dir(out))
        .with_context(|| format!("removing {}", state.display()))?;
    crate::support::crashpoint::here("working state renamed, not yet removed");
    std::fs::remove_dir_all(done_dir(out))
        .with_context(|| format!("removing {}", done_dir(out).display()))?;
    let _ = std::fs::remove_file(lock.path());
    drop(lock);
    if !quiet {
        let mut o = std::io::stdout().lock();
        o.write_all(crate::report::verdict::text(&decided).as_bytes())?;
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
                &harness,
            )
            .as_bytes(),
        )?;
    }
    Ok(decided.exit_code)
}
