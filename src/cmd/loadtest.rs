//! `reconsim loadtest`: generate (or reuse) a fleet, run each path's ticks on its own copy in
//! the run folder's `state/` (with a checkpoint after every tick, so `--resume DIR` can continue
//! after a crash), write the results, remove `state/`.

use crate::backend::Backend;
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
use std::path::{Path, PathBuf};

/// Everything a run needs, saved as `state/run.json` so that `--resume` can continue it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RunSpec {
    scenario_file: String,
    scenario_text: String,
    seed: u64,
    paths: Vec<String>,
    ticks: u32,
    legacy_sql: String,
    variant: crate::variant::Variant,
    warmup_ticks: u32,
    concurrent_churn: bool,
    database: Option<String>,
    /// The MySQL URL the reconcilers read from (with its password: this file lives in
    /// `state/`, removed when the run ends; the manifest shows the URL without it).
    #[serde(default)]
    backend: Option<String>,
    /// The batched cursor's Redis URL, if not the database.
    #[serde(default)]
    cursor: Option<String>,
    universe: Universe,
    started_utc: String,
    command_line: Vec<String>,
}

/// The folder inside a run with its databases and checkpoint while it runs.
fn state_dir(out: &Path) -> PathBuf {
    out.join("state")
}

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
    let out = super::results_dir(args.out.as_deref(), &format!("{name}-{seed}-backends"))?;
    let lite = start(args, db, None, Some(out.join("sqlite")))?;
    let my = start(args, db, Some(url), Some(out.join("mysql")))?;
    let page = crate::sidebyside::write(&out, &format!("{name}, seed {seed}"))?;
    if !args.quiet {
        println!("{page}");
        println!("side by side -> {}", out.join("report.html").display());
    }
    Ok(lite.max(my))
}

/// A new run (generate or reuse the fleet, copy it per path, run, write the folder); with
/// `mysql`, the reconcilers read from that server's mirrors of the paths' databases.
fn start(
    args: &LoadtestArgs,
    db: Option<&Path>,
    mysql: Option<&str>,
    out_dir: Option<PathBuf>,
) -> anyhow::Result<i32> {
    let Some(scenario_path) = &args.scenario else {
        anyhow::bail!("loadtest: --scenario FILE or --resume DIR is required");
    };
    if let Some(url) = &args.cursor {
        // Fail before any generation work.
        crate::rediscursor::RedisCursor::connect(url)?;
    }
    let started = chrono::Utc::now();
    let text = std::fs::read_to_string(scenario_path).map_err(|source| {
        crate::scenario::ScenarioError::Read {
            file: scenario_path.display().to_string(),
            source,
        }
    })?;
    let scenario = Scenario::parse(&text, &scenario_path.display().to_string())?;
    let scenario = generator::effective_scenario(
        &scenario,
        &GenerateOptions {
            seed: args.run.seed,
            ..GenerateOptions::default()
        },
    );
    let name = super::scenario_name(scenario_path);
    let out = super::results_dir(
        out_dir.as_deref().or(args.out.as_deref()),
        &format!("{name}-{}", scenario.run.seed),
    )?;
    let state = state_dir(&out);
    std::fs::create_dir_all(&state).with_context(|| format!("--out {}", state.display()))?;
    // A fresh run in a folder a crashed run left: its checkpoint must not be resumed later.
    let _ = std::fs::remove_file(state.join("checkpoint.json"));
    let progress = super::spinner(args.quiet);

    let base = match db {
        Some(db) => {
            crate::schema::open_contract_db(db)?;
            db.to_path_buf()
        }
        None => {
            progress.set_message(format!("generating {name}"));
            let db = state.join("fleet.db");
            generator::generate_file(&db, &scenario, true, &ProgressBar::hidden())?;
            db
        }
    };
    let universe = {
        let conn = crate::schema::open_contract_db(&base)?;
        Universe::load(&conn).context("reading the fleet")?
    };
    let batch_size = scenario.run.batch_size as usize;
    let paths = args.run.paths();
    let spec = RunSpec {
        scenario_file: scenario_path.display().to_string(),
        scenario_text: text,
        seed: scenario.run.seed,
        paths: paths.iter().map(|p| p.name().to_string()).collect(),
        ticks: args
            .ticks
            .unwrap_or_else(|| (universe.eligible as usize / batch_size.max(1) + 3) as u32),
        legacy_sql: args.run.legacy_sql.to_string(),
        variant: args.variant.unwrap_or(scenario.run.variant),
        warmup_ticks: args.warmup_ticks,
        concurrent_churn: args.concurrent_churn,
        database: db.map(|d| d.display().to_string()),
        backend: mysql.map(str::to_string),
        cursor: args.cursor.clone(),
        universe,
        started_utc: started.to_rfc3339(),
        command_line: crate::mysqldb::command_line(),
    };
    write_atomic(
        &state.join("run.json"),
        serde_json::to_string(&spec)?.as_bytes(),
    )?;
    let mut dbs = Vec::new();
    for &path in &paths {
        let file = state.join(format!("{}.db", path.name()));
        let conn = loadtest::copy_fleet(&base, &file)
            .with_context(|| format!("copying the fleet for the {} path", path.name()))?;
        dbs.push((path, conn, file));
    }
    if db.is_none() {
        let _ = std::fs::remove_file(state.join("fleet.db"));
    }
    progress.finish_and_clear();
    execute(&spec, &out, dbs, None, args.quiet)
}

/// `loadtest --resume DIR`: continues a run from its last checkpoint.
fn resume(dir: &Path, quiet: bool) -> anyhow::Result<i32> {
    let state = state_dir(dir);
    let spec_file = state.join("run.json");
    let text = std::fs::read_to_string(&spec_file).map_err(|_| {
        anyhow::anyhow!(
            "--resume {}: not a resumable loadtest run (no state/run.json: finished, or not a run)",
            dir.display()
        )
    })?;
    let spec: RunSpec = serde_json::from_str(&text).with_context(|| {
        format!(
            "--resume {}: reading {}",
            dir.display(),
            spec_file.display()
        )
    })?;
    let checkpoint = match std::fs::read_to_string(state.join("checkpoint.json")) {
        Ok(t) => serde_json::from_str(&t).with_context(|| {
            format!("--resume {}: reading state/checkpoint.json", dir.display())
        })?,
        // Crashed before the first tick ended: start over on the same databases.
        Err(_) => crate::checkpoint::Checkpoint::default(),
    };
    let mut dbs = Vec::new();
    for name in &spec.paths {
        let path = crate::checkpoint::path_kind(name).map_err(anyhow::Error::msg)?;
        let file = state.join(format!("{name}.db"));
        if !file.is_file() {
            anyhow::bail!("--resume {}: {} is missing", dir.display(), file.display());
        }
        let conn = loadtest::open_path_db(&file)
            .with_context(|| format!("--resume {}: opening {}", dir.display(), file.display()))?;
        dbs.push((path, conn, file));
    }
    execute(&spec, dir, dbs, Some(checkpoint), quiet)
}

/// Runs (or resumes) the ticks and writes the results folder.
fn execute(
    spec: &RunSpec,
    out: &Path,
    dbs: loadtest::PathDbs,
    resume: Option<crate::checkpoint::Checkpoint>,
    quiet: bool,
) -> anyhow::Result<i32> {
    let text = &spec.scenario_text;
    let scenario = Scenario::parse(text, &spec.scenario_file)?;
    let scenario = generator::effective_scenario(
        &scenario,
        &GenerateOptions {
            seed: Some(spec.seed),
            ..GenerateOptions::default()
        },
    );
    let name = super::scenario_name(Path::new(&spec.scenario_file));
    let universe = &spec.universe;
    let mut rules = scenario
        .rules
        .rules()
        .map_err(|(k, m)| anyhow::anyhow!("scenario key `{k}`: {m}"))?;
    let variant = spec.variant;
    variant.preset(&mut rules);
    let batch_size = scenario.run.batch_size as usize;
    let ticks = spec.ticks;
    let legacy_sql: crate::legacy::LegacySql =
        clap::ValueEnum::from_str(&spec.legacy_sql, true).map_err(anyhow::Error::msg)?;
    let paths: Vec<PathKind> = dbs.iter().map(|d| d.0).collect();
    let cfg = LoadtestConfig {
        cursor_url: spec.cursor.clone(),
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
    };
    // On a MySQL backend: each path's database loaded into DB_<path> on the server (again on
    // a resume: from the checkpointed SQLite state), its changes replicated from then on.
    let mut mirrors = Vec::new();
    let mut server_version = None;
    if let Some(url) = &spec.backend {
        let progress = super::spinner(quiet);
        for (kind, conn, _) in &dbs {
            let m = crate::mirror::Mirror::setup(url, kind.name(), conn, &progress)?;
            server_version = Some(m.db.version.clone());
            mirrors.push(Some(m));
        }
        progress.finish_and_clear();
    }
    let clock = RealClock::default();
    let resumed_at = resume.as_ref().map(|c| c.next_tick);
    let done = resumed_at.unwrap_or(0) as u64 * cfg.paths.len() as u64;
    let bar = super::bar(quiet, ticks as u64 * cfg.paths.len() as u64);
    bar.set_position(done);
    let note = if cfg.paths.contains(&PathKind::Legacy) {
        " — each legacy tick is a whole-fleet diff (~28 s at 100k hosts, spec §9); --ticks bounds it"
    } else {
        ""
    };
    let wall = std::time::Instant::now();
    let warmup = spec.warmup_ticks;
    let state = state_dir(out);
    let result = loadtest::run_on(dbs, mirrors, &cfg, universe, &clock, resume, |event| {
        match event {
            loadtest::RunEvent::Tick(row) => {
                bar.inc(1);
                bar.set_message(format!(
                    "{} tick {}/{ticks}: {} ms, {} installs, {} removes{note}",
                    row.path,
                    row.tick + 1,
                    row.duration_us / 1000,
                    row.installs,
                    row.removes
                ))
            }
            loadtest::RunEvent::Warmup(path, w) => {
                bar.set_message(format!("warm-up: {} tick {}/{warmup}", path.name(), w + 1))
            }
            loadtest::RunEvent::Checkpoint(c) => write_atomic(
                &state.join("checkpoint.json"),
                serde_json::to_string(c)?.as_bytes(),
            )?,
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
    let (args_db, args_seed) = (spec.database.clone(), spec.seed);
    let mut harness = loadtest::harness_breakdown(&result, wall, cfg.concurrent_churn);
    if resumed_at.is_some() {
        // The wall clock covers only the resumed part: no share to report.
        harness.1 = f64::NAN;
    }
    let manifest = serde_json::json!({
        "reconsim_version": env!("CARGO_PKG_VERSION"),
        "git_commit": option_env!("RECONSIM_GIT_COMMIT").unwrap_or("unknown"),
        "rustc_version": option_env!("RECONSIM_RUSTC_VERSION").unwrap_or("unknown"),
        "command_line": spec.command_line,
        "resume_command_line": resumed_at.map(|_| crate::mysqldb::command_line()),
        "resumed_at_tick": resumed_at,
        "scenario_file": spec.scenario_file,
        "scenario_sha256": hex::encode(Sha256::digest(text.as_bytes())),
        "scenario_text": text,
        "seed": args_seed,
        "database": args_db,
        "backend": spec.backend.as_deref().map_or("sqlite".to_string(), crate::mysqldb::shown_url),
        "server_version": server_version,
        "cursor": spec.cursor.as_deref().map_or("database".to_string(), crate::mysqldb::shown_url),
        "paths": cfg.paths.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "ticks": ticks,
        "interval_s": scenario.loadtest.interval_s,
        "churn_ticks": scenario.loadtest.churn_ticks,
        "batch_size": batch_size,
        "rules": rules.describe(),
        "variant": variant.to_string(),
        "legacy_sql": spec.legacy_sql,
        "concurrent_churn": spec.concurrent_churn,
        "warmup_ticks": spec.warmup_ticks,
        "sqlite_version": rusqlite::version(),
        "pragmas": ["synchronous=OFF", "temp_store=MEMORY", "cache_size=-262144", "mmap_size=4294967296"],
        "cpu_count": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "started_utc": spec.started_utc,
        "ended_utc": chrono::Utc::now().to_rfc3339(),
        "wall_s": wall.as_secs_f64(),
        "outside_ticks_share": (!harness.1.is_nan()).then_some(harness.1),
        // Wall time timed by no phase (bookkeeping between phases), over the run's wall time.
        "untimed_share": (!harness.1.is_nan()).then(|| {
            harness.0.iter().find(|p| p.0 == "other").map_or(0.0, |p| p.1)
                / wall.saturating_sub(result.warmup_time).as_secs_f64().max(1e-9)
        }),
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

    // Finished: the working state goes (the results are in the folder).
    std::fs::remove_dir_all(&state).with_context(|| format!("removing {}", state.display()))?;
    if !quiet {
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
