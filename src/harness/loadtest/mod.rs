//! The loadtest (issue 4): both paths tick in lockstep on a virtual clock, each on its own copy
//! of one fleet; each tick = the reconciler → the downstream writer (spec §7), then the
//! simulated world moves: devices acknowledge commands and a seeded churn stream, identical for
//! both paths, changes the fleet. Every phase is timed into HdrHistograms per path × phase;
//! convergence samples (`convergence`), the state comparison at each batched pass boundary, the
//! cursor liveness monitor, injected faults, the concurrency mode and checkpoints for `--resume`
//! hang off the same loop.
//!
//! What a phase covers: legacy `desired`/`install`/`remove` and batched `cursor_read` …
//! `cursor_write` are the reconciler; `write` the downstream writer; `tick` = reconciler +
//! writer, what Fleet's cron does every interval. `devices`, `churn`, `convergence_check` and
//! `liveness` (the cursor liveness monitor) are the simulated world and its watchers, timed to
//! show the harness's own cost, never part of `tick`.

use crate::analysis::convergence::{self, Sample, SampleOutcome, Scope, Semantics, Tracker};
use crate::analysis::equivalence::{Classifier, OpSet};
use crate::analysis::liveness::{Finding, Monitor};
use crate::backends::store::{CursorSpec, Replica, Store};
use crate::domain::clock::Clock;
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::handlers;
use crate::domain::model::{CurrentRow, Delta, Op, Profile};
use crate::domain::rules::Rules;
use crate::fleet::scenario::Scenario;
use crate::harness::error::{Context, HarnessError, Result};
use crate::harness::faults::{FaultPlan, FaultyCursor};
use crate::paths::batched::{self, BatchedConfig, Outcome};
use crate::paths::cursor::SqliteCursor;
use crate::paths::device::{self, DeviceModel};
use crate::paths::legacy::LegacySql;
use crate::paths::phase::Phase;
use crate::support::histogram::Latency;
use crate::{paths::writer, support::procstat, support::timefmt};
use md5::{Digest, Md5};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub mod approach;
mod churn;
mod output;
mod pathdb;
pub mod record;
mod states;

pub use churn::*;
pub use output::*;
pub use pathdb::*;
pub use states::*;

mod step;
use step::*;

crate::support::named::named_enum!(
    "lowercase",
    /// Which reconciler path a run drives: the legacy SQL diff, the batched path (one window
    /// a tick) or the drain loop (spec §10: many windows a tick under a cap and a budget).
    pub enum PathKind {
        Legacy,
        Batched,
        Drain,
    }
);

/// A checked loadtest configuration.
#[derive(Debug, Clone)]
pub struct LoadtestConfig {
    pub scenario: Scenario,
    /// The run's paths, in order (the first is the baseline of the state comparison).
    pub paths: Vec<approach::RunPath>,
    pub ticks: u32,
    pub legacy_sql: LegacySql,
    pub batched: BatchedConfig,
    /// Churn written by a concurrent task on WAL databases while ticks run.
    pub concurrent_churn: bool,
    /// Unrecorded ticks (reconciler, writer, devices; no churn) before the measured ones.
    pub warmup_ticks: u32,
    /// The batched cursor in Redis at this URL instead of the path's database (issue 6), at
    /// this key.
    pub cursor_url: Option<String>,
    pub cursor_key: String,
    /// The harness's reference form: devices ask every pending and verifying row each round
    /// (`device::acknowledge`) and the convergence check reads every open sample, instead of
    /// the command inbox and the check of changed pairs. Same results, slower; the tests
    /// hold the two forms to the same run.
    pub reference_harness: bool,
}

impl LoadtestConfig {
    /// A path's reads and handlers: the batched path's are the run's variant; a drain path's
    /// `latest`'s (the drain variant's presets over the scenario's rules) in windows of its
    /// own size.
    pub fn read_config(&self, path: &approach::RunPath) -> BatchedConfig {
        match path.kind {
            PathKind::Drain => {
                let mut rules = self.batched.rules;
                crate::domain::variant::Variant::Drain.preset(&mut rules);
                BatchedConfig {
                    batch_size: path.drain.window,
                    rules,
                    variant: crate::domain::variant::Variant::Drain,
                }
            }
            _ => self.batched,
        }
    }

    /// A path with the knobs it runs with, as the manifest and the report show it.
    pub fn approach_text(&self, path: &approach::RunPath) -> String {
        match path.kind {
            PathKind::Legacy => format!("legacy (SQL {})", self.legacy_sql),
            PathKind::Batched => format!("{} (window {})", path.spelled, self.batched.batch_size),
            PathKind::Drain => {
                let kind = match path.drain.budget {
                    crate::paths::drain::Budget::WallClock(_) => "wall-clock",
                    crate::paths::drain::Budget::Windows(_) => "deterministic",
                };
                format!("{} ({kind})", path.spelled)
            }
        }
    }
}

impl PathKind {
    /// Paged by a cursor (batched and drain; legacy diffs the whole fleet).
    pub fn paged(self) -> bool {
        self != PathKind::Legacy
    }
}

/// One row of `ticks.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TickRow {
    /// The path's name (`legacy`, `batched`, `drain`, `drain-2`, …).
    pub path: String,
    pub tick: u32,
    pub virtual_time_s: u64,
    pub cursor_before: String,
    pub cursor_after: String,
    pub hosts: u64,
    pub installs: u64,
    pub removes: u64,
    pub duration_us: u64,
    pub outcome: TickOutcome,
    pub error: String,
    /// Rows the tick's queries returned to the application.
    pub rows_read: u64,
    /// Concurrency mode: busy-handler retries during the tick (lock waits).
    pub busy_retries: u64,
    /// Drain: window reads in the tick (batched: 1; legacy: 0).
    #[serde(default)]
    pub windows: u32,
    /// Drain: why the tick stopped scanning (`partial`, `wrapped`, `cap`, `budget`; empty
    /// for a failed tick and for the other paths).
    #[serde(default)]
    pub stop: String,
}

crate::support::named::named_enum!(
    "lowercase",
    /// How a loadtest tick ended (a row of `ticks.csv`).
    #[derive(Default)]
    pub enum TickOutcome {
        /// Deltas computed and written.
        #[default]
        Ok,
        /// The batched window was empty (a pass ended).
        Empty,
        /// The tick failed; `error` says why.
        Error,
    }
);

/// The result of one path's run.
#[derive(Debug, Default, Clone)]
pub struct PathRun {
    pub ticks: Vec<TickRow>,
    /// Histograms per phase (`tick`, `write`, `devices`, `churn` and the reconciler's), and
    /// `convergence` in virtual time.
    pub hist: BTreeMap<String, Latency>,
    /// Convergence samples.
    pub samples: Vec<Sample>,
    /// CPU time of the reconciler and writer over every tick.
    pub cpu: Duration,
    /// Peak resident set during this path's ticks, KiB (None where /proc cannot tell).
    pub peak_rss_kib: Option<u64>,
    /// Exact wall time per phase, summed over ticks.
    pub totals: BTreeMap<String, Duration>,
    /// Batched: the liveness monitor's findings.
    pub findings: Vec<Finding>,
}

/// Everything a loadtest measured.
#[derive(Debug, Default)]
pub struct LoadtestResult {
    pub runs: Vec<(approach::RunPath, PathRun)>,
    pub equivalence: Vec<EqRow>,
    /// Wall time spent comparing states (harness cost).
    pub equivalence_time: Duration,
    /// Churn events applied, per kind.
    pub events: BTreeMap<EventKind, u64>,
    /// Wall time of the warm-up ticks (not part of the run's figures).
    pub warmup_time: Duration,
    /// Wall time before the warm-up (harness cost): reading the path records back, filing
    /// the devices' command inbox, setting the Redis cursor.
    pub setup_time: Duration,
    /// Wall time spent storing steps (harness cost): building and storing the run records,
    /// and the COMMIT of every step but part A's (which carries the writer's rows: the tick's).
    pub checkpoint_time: Duration,
}

fn record(run: &mut PathRun, phase: &str, d: Duration) {
    run.hist.entry(phase.to_string()).or_default().record(d);
    *run.totals.entry(phase.to_string()).or_default() += d;
}

/// One path's moving parts during a run.
struct PathState {
    path: approach::RunPath,
    kind: PathKind,
    conn: Connection,
    db: PathBuf,
    run: PathRun,
    tracker: Tracker,
    model: DeviceModel,
    /// Batched: tick of each host uuid's last visit, and the host ids of the current pass.
    last_visit: FxHashMap<String, u32>,
    /// Entries of `last_visit` made since the last step that stored the scan state.
    visits_pending: Vec<(String, u32)>,
    pass_visited: HashSet<i64>,
    /// The version of the monitor's listed-host maps the path database holds.
    listed_stored: u64,
    pass_start: u32,
    /// Batched: a pass that ended in part A of this tick, to compare before part B.
    boundary: Option<(u32, Vec<i64>)>,
    /// Steps committed (`record`).
    pos: u64,
    /// Batched: the cursor (carried in the record; see `record`), unless it is in Redis.
    cursor: crate::paths::cursor::MemoryCursor,
    /// Concurrency mode: the churn task's connection (lent to the task during a tick).
    churn: Option<Connection>,
    /// Concurrency mode: busy-handler counters of `conn`.
    busy: Option<BusyCounter>,
    /// The scenario's injected faults.
    faults: FaultPlan,
    /// Batched: the cursor liveness monitor.
    monitor: Option<Monitor>,
    /// The reconciler reads from this server copy of `conn` (issue 6).
    mirror: Option<Box<dyn Replica>>,
    /// Batched: the cursor in Redis (issue 6).
    redis: Option<Box<dyn crate::paths::cursor::CursorStore>>,
    /// The devices' command inbox (None in the reference harness).
    inbox: Option<device::Inbox>,
    /// Churn's kept host rows of the teams it evaluated (None in the reference harness).
    facts: Option<convergence::HostFacts>,
    /// (host uuid, profile uuid) of the rows the writer and the devices changed since the
    /// last convergence check.
    dirty: Vec<(Arc<str>, Arc<str>)>,
    /// The next convergence check reads every open sample (the first after a start or a
    /// resume: the changes before it were not seen).
    check_all: bool,
}

/// The runtime of the concurrency mode's churn task (built once).
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(2)
        .build()
        .context("starting the churn task's runtime")?;
    Ok(RT.get_or_init(|| rt))
}

/// The paths' databases: (path, open connection, file).
pub type PathDbs = Vec<(approach::RunPath, Connection, PathBuf)>;

/// Virtual start time: the scenario's `run.now`.
fn start_s(s: &Scenario) -> i64 {
    timefmt::parse_timestamp(&s.run.now).unwrap_or(0)
}

/// Runs every path in lockstep, tick by tick (each path on its own database), so that their
/// states can be compared at the batched path's pass boundaries. Each path database carries its
/// record of the run (`record`): a new run starts from fresh records, a resumed one from the
/// records the killed run committed, and both end with identical results. `on_event` sees each
/// tick row and each warm-up tick (an error from it stops the run).
pub fn run(
    dbs: PathDbs,
    cfg: &LoadtestConfig,
    universe: &Universe,
    clock: &dyn Clock,
    on_event: impl FnMut(RunEvent<'_>) -> Result<()>,
) -> Result<LoadtestResult> {
    run_on(dbs, Vec::new(), cfg, universe, clock, on_event)
}

/// A path's moving parts from its database's record.
fn path_state(
    path: approach::RunPath,
    conn: Connection,
    db: PathBuf,
    cfg: &LoadtestConfig,
    mirror: Option<Box<dyn Replica>>,
) -> Result<(PathState, record::Shared)> {
    let s = &cfg.scenario;
    let file = db.display().to_string();
    let (_, rec) = record::load(&conn, &file)?;
    if rec.path != path.name {
        return Err(HarnessError::Refused(format!(
            "{file}: holds the record of the {} path",
            rec.path
        )));
    }
    let kind = path.kind;
    let sem = match kind {
        PathKind::Legacy => Semantics::legacy(cfg.batched.rules),
        PathKind::Batched => Semantics::batched(cfg.batched.rules),
        PathKind::Drain => Semantics::batched(cfg.read_config(&path).rules),
    };
    let monitor = match kind {
        PathKind::Legacy => None,
        PathKind::Batched => Some(Monitor::new(
            cfg.batched.batch_size,
            cfg.batched.rules,
            cfg.batched.variant,
            3,
        )),
        PathKind::Drain => {
            let d = cfg.read_config(&path);
            Some(Monitor::for_drain(&path.drain, d.rules, d.variant, 3))
        }
    };
    let mut monitor = monitor;
    let mut rec = rec;
    let scan = std::mem::take(&mut rec.scan);
    if let (Some(m), Some(saved)) = (monitor.as_mut(), scan.monitor) {
        m.restore(saved);
    }
    let st = PathState {
        path,
        kind,
        run: rec
            .run()
            .map_err(|e| HarnessError::Refused(format!("{file}: run record: {e}")))?,
        tracker: {
            let (open, closed) = record::load_samples(&conn, &file, rec.closed_count)?;
            Tracker::restore(sem, open, closed)
        },
        conn,
        db,
        // Devices are the same for both paths (see `device`).
        model: DeviceModel {
            seed: s.run.seed,
            ack_per_tick: s.loadtest.ack_per_tick,
            verify_per_tick: s.loadtest.verify_per_tick,
            failure_rate: s.loadtest.failure_rate,
        },
        last_visit: scan.last_visit,
        visits_pending: Vec::new(),
        pass_visited: scan.pass_visited.into_iter().collect(),
        listed_stored: monitor.as_ref().map_or(0, Monitor::listed_version),
        pass_start: rec.pass_start,
        boundary: rec.boundary.clone(),
        pos: rec.pos,
        cursor: crate::paths::cursor::MemoryCursor {
            value: rec.cursor.clone(),
            writes: 0,
        },
        churn: None,
        busy: None,
        faults: FaultPlan::new(s.run.seed, s.faults.clone()),
        monitor,
        mirror,
        redis: None,
        inbox: None,
        facts: (!cfg.reference_harness).then(|| convergence::HostFacts::new(sem)),
        dirty: Vec::new(),
        check_all: true,
    };
    Ok((st, rec.shared))
}

/// What the loop shares between paths, in memory.
#[derive(Default)]
struct SharedState {
    pos: u64,
    touched_hosts: FxHashMap<String, u32>,
    touched_profiles: FxHashMap<String, u32>,
}

/// `run` with each path's reconciler reading from a server copy of its database (issue 6;
/// see `crate::backends::store::Replica`), one entry per path in `dbs`' order (missing =
/// SQLite).
pub fn run_on(
    dbs: PathDbs,
    mirrors: Vec<Option<Box<dyn Replica>>>,
    cfg: &LoadtestConfig,
    universe: &Universe,
    clock: &dyn Clock,
    mut on_event: impl FnMut(RunEvent<'_>) -> Result<()>,
) -> Result<LoadtestResult> {
    let setup = clock.now();
    let s = &cfg.scenario;
    if cfg.concurrent_churn && mirrors.iter().any(Option::is_some) {
        return Err(HarnessError::Refused(
            "concurrent churn runs on SQLite only: the churn task's connection is not \
             replicated to the server"
                .to_string(),
        ));
    }
    let atomic = !cfg.concurrent_churn;
    let mut mirrors = mirrors.into_iter();
    let interval = s.loadtest.interval_s as u64;
    let start = start_s(s);
    let steps = record::Steps {
        warmup: cfg.warmup_ticks,
        ticks: cfg.ticks,
    };
    let mut states = Vec::new();
    let mut result = LoadtestResult::default();
    let mut shared = SharedState::default();
    for (path, conn, db) in dbs {
        let (st, sh) = path_state(path, conn, db, cfg, mirrors.next().flatten())?;
        // The most advanced record's shared part is the run's (see `record`).
        if states.is_empty() || sh.pos > shared.pos {
            shared.pos = sh.pos;
            shared.touched_hosts = sh.touched_hosts.into_iter().collect();
            shared.touched_profiles = sh.touched_profiles.into_iter().collect();
            result.equivalence = sh.equivalence;
            result.equivalence_time = Duration::from_micros(sh.equivalence_time_us);
            result.checkpoint_time = Duration::from_micros(sh.checkpoint_time_us);
            result.events = sh.events;
        }
        states.push(st);
    }
    let lead = states.iter().map(|st| st.pos).max().unwrap_or(0);
    if let Some(st) = states.iter().find(|st| st.pos + 1 < lead) {
        return Err(HarnessError::Refused(format!(
            "{}: its record is {} steps behind the other path's (a path database from another run?)",
            st.db.display(),
            lead - st.pos
        )));
    }
    if lead > 0 && !atomic {
        return Err(HarnessError::Refused(
            "a run with concurrent churn cannot be resumed".to_string(),
        ));
    }
    // The cursor in Redis: set to the value the path's record holds ("" for a new run), so a
    // resumed run continues the chain the killed run committed.
    if let Some(url) = &cfg.cursor_url {
        for st in states.iter_mut().filter(|st| st.kind.paged()) {
            // One key a path: the batched path's is the key itself, another's the key with
            // `:NAME` after it (`:drain`, `:drain-2`).
            let key = match st.path.name() {
                "batched" => cfg.cursor_key.clone(),
                name => format!("{}:{name}", cfg.cursor_key),
            };
            let mut c = CursorSpec::Redis(url.clone()).open_external(&key)?;
            c.write(&st.cursor.value)?;
            st.redis = Some(c);
        }
    }
    // Injected lock waits are counted like the concurrency mode's.
    if !cfg.concurrent_churn && s.faults.busy_write_ms > 0 {
        for st in states.iter_mut() {
            st.busy = Some(BusyCounter::install(&mut st.conn)?);
        }
    }
    // Concurrency mode: each path's database in WAL mode, a second connection for the churn
    // task, and busy-wait counters on both.
    if cfg.concurrent_churn {
        for st in states.iter_mut() {
            st.conn
                .pragma_update(None, "journal_mode", "WAL")
                .context("switching to WAL")?;
            st.busy = Some(BusyCounter::install(&mut st.conn)?);
            let mut churn = Connection::open(&st.db)
                .with_context(|| format!("opening {} for the churn task", st.db.display()))?;
            churn.execute_batch("PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;")?;
            BusyCounter::install(&mut churn)?;
            st.churn = Some(churn);
        }
    }
    // The devices' inbox: every row already pending or verifying, filed from the next round.
    if !cfg.reference_harness {
        let rounds = device::Rounds {
            warmup: cfg.warmup_ticks as u64,
            measured: cfg.ticks as u64,
        };
        for st in states.iter_mut() {
            let from = steps.next_round(st.pos);
            st.inbox = Some(
                device::Inbox::attach(&mut st.conn, st.model, rounds, from).with_context(|| {
                    format!("{}: filing the devices' commands", st.db.display())
                })?,
            );
        }
    }
    result.setup_time = clock.since(setup);
    // Warm-up: ticks with devices but no churn and nothing recorded, so that the measured
    // ticks start from a converged state instead of the generated one. No monitor and no
    // faults during the warm-up: they start with the measured ticks.
    let tw = clock.now();
    let checkpoint_before = result.checkpoint_time;
    for w in 0..cfg.warmup_ticks {
        for st in states.iter_mut().filter(|st| st.pos < steps.warmup(w)) {
            let monitor = st.monitor.take();
            let faults = std::mem::take(&mut st.faults);
            let (_, report, _) = reconcile_tick(st, cfg, clock, 0, atomic)?;
            st.monitor = monitor;
            st.faults = faults;
            if let Some(r) = report {
                st.pass_visited.extend(r.visited.iter().copied());
                visit_uuids(st, &r.visited, 0)?;
                if r.pass_complete {
                    st.pass_visited.clear();
                }
            }
            if atomic {
                record::ensure_txn(&st.conn)?;
            }
            answer(st, w as u64, device::WARMUP_TICK_BASE + w as u64)?;
            // No sample is open during the warm-up: nothing to check.
            st.dirty.clear();
            commit(st, steps.warmup(w), &shared, &mut result, clock, true)?;
            on_event(RunEvent::Warmup(&st.path.name, w))?;
        }
    }
    result.warmup_time = clock.since(tw);
    // The warm-up's checkpoints are the warm-up's.
    result.checkpoint_time = checkpoint_before;
    let mut pending: Option<(Vec<Event>, u32, u64)> = None;
    for tick in 0..cfg.ticks {
        if states.iter().all(|st| st.pos >= steps.part_c(tick)) {
            continue;
        }
        let churn_now = pending.take();
        if let Some((evs, _, _)) = &churn_now {
            for e in evs {
                *result.events.entry(event_kind(e)).or_default() += 1;
            }
        }
        // Part A: reconciler and writer, the tick Fleet's cron runs.
        for st in states.iter_mut().filter(|st| st.pos < steps.part_a(tick)) {
            if tick == 0 && cfg.warmup_ticks > 0 {
                // The warm-up's figures are not the run's.
                st.run = PathRun::default();
            }
            on_event(RunEvent::TickStart(&st.path.name, tick))?;
            let timed = part_a(
                st,
                cfg,
                clock,
                tick,
                churn_now.as_ref(),
                &mut shared,
                atomic,
            )?;
            commit_tick(
                st,
                steps.part_a(tick),
                timed,
                &shared,
                &mut result,
                clock,
                atomic,
            )?;
            on_event(RunEvent::Tick(
                st.run.ticks.last().expect("part A records its tick"),
            ))?;
        }
        // Part B: the devices answer; convergence is checked.
        for st in states.iter_mut().filter(|st| st.pos < steps.part_b(tick)) {
            part_b(st, cfg, clock, tick, atomic)?;
            commit(st, steps.part_b(tick), &shared, &mut result, clock, false)?;
        }
        let now_s = (tick as u64 + 1) * interval;
        // The state comparison: each paged path against the first path, legacy, at the paged
        // path's pass boundary (the classes explain differences from legacy's semantics; a
        // run whose first path is paged is not compared), unless a path already committed
        // part C of this tick (its record holds the comparison's rows).
        if shared.pos < steps.part_c(tick) && compares(&cfg.paths) {
            for i in 1..states.len() {
                let Some((pass_start, visited)) = states[i].boundary.clone() else {
                    continue;
                };
                let (f, b) = (&states[0], &states[i]);
                let visited: HashSet<i64> = visited.into_iter().collect();
                let tq = clock.now();
                let rows = compare_states(
                    &b.conn,
                    &f.db,
                    cfg,
                    &visited,
                    &History {
                        path: &b.path,
                        tick,
                        pass_start,
                        last_visit: &b.last_visit,
                        touched_hosts: &shared.touched_hosts,
                        touched_profiles: &shared.touched_profiles,
                    },
                )
                .with_context(|| {
                    format!(
                        "comparing the {} path's state with the {} path's at a pass boundary",
                        b.path, f.path
                    )
                })?;
                let path = b.path.name.clone();
                result.equivalence.extend(rows.into_iter().map(|mut r| {
                    r.path = path.clone();
                    r.pass_start_tick = pass_start;
                    r.tick = tick;
                    r.virtual_time_s = now_s;
                    r
                }));
                result.equivalence_time += clock.since(tq);
            }
            crate::support::crashpoint::here("states compared");
        }
        // Part C: churn (in the concurrency mode, applied by the churn task during the next
        // tick instead).
        let evs = events(s, universe, tick);
        if cfg.concurrent_churn {
            pending = (!evs.is_empty()).then_some((evs.clone(), tick, now_s));
        } else if shared.pos < steps.part_c(tick) {
            for e in &evs {
                *result.events.entry(event_kind(e)).or_default() += 1;
            }
        }
        shared.pos = shared.pos.max(steps.part_c(tick));
        for st in states.iter_mut().filter(|st| st.pos < steps.part_c(tick)) {
            st.boundary = None;
            if !cfg.concurrent_churn && !evs.is_empty() {
                record::ensure_txn(&st.conn)?;
                let tc = clock.now();
                let sem = st.tracker.sem;
                let (scope, before, after) = churn_step(
                    &mut st.conn,
                    &evs,
                    &sem,
                    start + now_s as i64,
                    tick,
                    cfg.reference_harness,
                    st.facts.as_mut(),
                )?;
                st.tracker
                    .record_changes(&st.conn, &before, &after, tick, now_s)?;
                record(&mut st.run, "churn", clock.since(tc));
                if st.path.enroll_path {
                    let enrolled = enrolled_by(&st.conn, &evs)?;
                    enroll(st, cfg, clock, tick, &enrolled)?;
                }
                touch(
                    &scope,
                    tick,
                    &mut shared.touched_hosts,
                    &mut shared.touched_profiles,
                );
            }
            commit(st, steps.part_c(tick), &shared, &mut result, clock, false)?;
        }
    }
    for st in states {
        let mut run = st.run;
        run.samples = st.tracker.samples();
        run.findings = st.monitor.map(|m| m.findings).unwrap_or_default();
        result.runs.push((st.path, run));
    }
    Ok(result)
}

/// Whether a run compares states: its first path is legacy and another follows (the classes
/// of the comparison explain differences from legacy's semantics).
pub fn compares(paths: &[approach::RunPath]) -> bool {
    paths.len() > 1 && paths[0].kind == PathKind::Legacy
}

/// What `run` reports as it goes.
pub enum RunEvent<'a> {
    /// A tick (path name, index) begins.
    TickStart(&'a str, u32),
    /// A tick of one path ended.
    Tick(&'a TickRow),
    /// A warm-up tick (path name, index) ended.
    Warmup(&'a str, u32),
}

#[cfg(test)]
mod tests;
