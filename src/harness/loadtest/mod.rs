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
//! writer, what Fleet's cron does every interval. `devices`, `churn` and `convergence_check` are
//! the simulated world, timed to show the harness's own cost, never part of `tick`.

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
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod churn;
mod output;
pub mod record;
mod states;

pub use churn::*;
pub use output::*;
pub use states::*;

crate::support::named::named_enum!(
    "lowercase",
    /// Which reconciler path a run drives.
    pub enum PathKind {
        Legacy,
        Batched,
    }
);

/// A checked loadtest configuration.
#[derive(Debug, Clone)]
pub struct LoadtestConfig {
    pub scenario: Scenario,
    pub paths: Vec<PathKind>,
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
}

/// One row of `ticks.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TickRow {
    pub path: PathKind,
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
    pub runs: Vec<(PathKind, PathRun)>,
    pub equivalence: Vec<EqRow>,
    /// Wall time spent comparing states (harness cost).
    pub equivalence_time: Duration,
    /// Churn events applied, per kind.
    pub events: BTreeMap<EventKind, u64>,
    /// Wall time of the warm-up ticks (not part of the run's figures).
    pub warmup_time: Duration,
    /// Wall time spent writing checkpoints (harness cost).
    pub checkpoint_time: Duration,
}

/// Copies `base` into `dst` with the SQLite backup API (a byte-identical start for each path)
/// and opens it for the run.
pub fn copy_fleet(base: &Path, dst: &Path) -> rusqlite::Result<Connection> {
    let src = Connection::open_with_flags(base, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.backup(
        rusqlite::MAIN_DB,
        dst,
        None::<fn(rusqlite::backup::Progress)>,
    )?;
    open_path_db(dst)
}

/// Opens a path's database for the run (also when resuming one).
pub fn open_path_db(dst: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(dst)?;
    // A simulation's scratch copy: no fsyncs; the same cache and mapping for both paths.
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -262144; PRAGMA mmap_size = 4294967296;",
    )?;
    Ok(conn)
}

fn record(run: &mut PathRun, phase: &str, d: Duration) {
    run.hist.entry(phase.to_string()).or_default().record(d);
    *run.totals.entry(phase.to_string()).or_default() += d;
}

/// Device answers of warm-up tick w use tick number `WARMUP_TICK_BASE + w`, apart from the
/// measured ticks'.
const WARMUP_TICK_BASE: u64 = 1 << 32;

/// One path's moving parts during a run.
struct PathState {
    kind: PathKind,
    conn: Connection,
    db: PathBuf,
    run: PathRun,
    tracker: Tracker,
    model: DeviceModel,
    /// Batched: tick of each host uuid's last visit, and the host ids of the current pass.
    last_visit: FxHashMap<String, u32>,
    pass_visited: HashSet<i64>,
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
}

/// Counts the busy handler's retries and the time it slept on one connection: the lock waits
/// of the concurrency mode. The handler sleeps 1 ms a retry and gives up after 30 s.
#[derive(Debug, Clone, Default)]
pub struct BusyCounter {
    retries: Arc<AtomicU64>,
    waited_us: Arc<AtomicU64>,
}

impl BusyCounter {
    pub fn install(conn: &mut Connection) -> rusqlite::Result<BusyCounter> {
        let c = BusyCounter::default();
        let (retries, waited) = (c.retries.clone(), c.waited_us.clone());
        conn.busy_handler(Some(move |count: i32| {
            let t = std::time::Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            retries.fetch_add(1, Ordering::Relaxed);
            waited.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
            count < 30_000
        }))?;
        Ok(c)
    }

    /// (retries, µs waited) so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.retries.load(Ordering::Relaxed),
            self.waited_us.load(Ordering::Relaxed),
        )
    }
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

/// One round of churn on `conn`: the events' scope, its desired state before and after.
fn churn_step(
    conn: &mut Connection,
    evs: &[Event],
    sem: &Semantics,
    at_s: i64,
    tick: u32,
) -> Result<(Scope, convergence::Desired, convergence::Desired)> {
    let scope = scope_of(conn, evs)?;
    let before = convergence::evaluate(conn, &scope, sem)?;
    apply_events(conn, evs, at_s, tick)?;
    let after = convergence::evaluate(conn, &scope, sem)?;
    Ok((scope, before, after))
}

/// Marks the scope's hosts and profiles as touched at `tick`.
fn touch(
    scope: &Scope,
    tick: u32,
    hosts: &mut FxHashMap<String, u32>,
    profiles: &mut FxHashMap<String, u32>,
) {
    for h in &scope.hosts {
        hosts.insert(h.clone(), tick);
    }
    for p in &scope.profiles {
        profiles.insert(p.clone(), tick);
    }
}

/// The paths' databases: (path, open connection, file).
pub type PathDbs = Vec<(PathKind, Connection, PathBuf)>;

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
    kind: PathKind,
    conn: Connection,
    db: PathBuf,
    cfg: &LoadtestConfig,
    mirror: Option<Box<dyn Replica>>,
) -> Result<(PathState, record::Shared)> {
    let s = &cfg.scenario;
    let file = db.display().to_string();
    let (_, rec) = record::load(&conn, &file)?;
    if rec.path != kind {
        return Err(HarnessError::Refused(format!(
            "{file}: holds the record of the {} path",
            rec.path.name()
        )));
    }
    let sem = match kind {
        PathKind::Legacy => Semantics::legacy(cfg.batched.rules),
        PathKind::Batched => Semantics::batched(cfg.batched.rules),
    };
    let mut monitor = (kind == PathKind::Batched).then(|| {
        Monitor::new(
            cfg.batched.batch_size,
            cfg.batched.rules,
            cfg.batched.variant,
            3,
        )
    });
    if let (Some(m), Some(saved)) = (monitor.as_mut(), rec.monitor.clone()) {
        m.restore(saved);
    }
    let st = PathState {
        kind,
        run: rec
            .run()
            .map_err(|e| HarnessError::Refused(format!("{file}: run record: {e}")))?,
        tracker: Tracker::restore(sem, rec.open.clone(), rec.closed.clone()),
        conn,
        db,
        // Devices are the same for both paths (see `device`).
        model: DeviceModel {
            seed: s.run.seed,
            ack_per_tick: s.loadtest.ack_per_tick,
            verify_per_tick: s.loadtest.verify_per_tick,
            failure_rate: s.loadtest.failure_rate,
        },
        last_visit: rec.last_visit.iter().cloned().collect(),
        pass_visited: rec.pass_visited.iter().copied().collect(),
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
    for (kind, conn, db) in dbs {
        let (st, sh) = path_state(kind, conn, db, cfg, mirrors.next().flatten())?;
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
        for st in states.iter_mut().filter(|st| st.kind == PathKind::Batched) {
            let mut c = CursorSpec::Redis(url.clone()).open_external(&cfg.cursor_key)?;
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
    // Warm-up: ticks with devices but no churn and nothing recorded, so that the measured
    // ticks start from a converged state instead of the generated one. No monitor and no
    // faults during the warm-up: they start with the measured ticks.
    let tw = clock.now();
    for w in 0..cfg.warmup_ticks {
        for st in states.iter_mut().filter(|st| st.pos < steps.warmup(w)) {
            let monitor = st.monitor.take();
            let faults = std::mem::take(&mut st.faults);
            let (_, report, _) = reconcile_tick(st, cfg, clock, 0, atomic)?;
            st.monitor = monitor;
            st.faults = faults;
            if let Some(r) = report {
                st.pass_visited.extend(r.visited.iter().copied());
                visit_uuids(&st.conn, &r.visited, 0, &mut st.last_visit)?;
                if r.pass_complete {
                    st.pass_visited.clear();
                }
            }
            if atomic {
                record::ensure_txn(&st.conn)?;
            }
            device::acknowledge(&mut st.conn, &st.model, WARMUP_TICK_BASE + w as u64)?;
            commit(st, steps.warmup(w), &shared, &mut result, clock)?;
            on_event(RunEvent::Warmup(st.kind, w))?;
        }
    }
    result.warmup_time = clock.since(tw);
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
            on_event(RunEvent::TickStart(st.kind, tick))?;
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
            commit(st, steps.part_b(tick), &shared, &mut result, clock)?;
        }
        let now_s = (tick as u64 + 1) * interval;
        // The state comparison at a batched pass boundary, unless a path already committed
        // part C of this tick (its record holds the comparison's rows).
        let boundary = states.iter().find_map(|st| st.boundary.clone());
        if let Some((pass_start, visited)) = boundary
            && states.len() == 2
            && shared.pos < steps.part_c(tick)
        {
            let (l, b) = (&states[0], &states[1]);
            let visited: HashSet<i64> = visited.into_iter().collect();
            let tq = clock.now();
            let rows = compare_states(
                &b.conn,
                &l.db,
                cfg,
                &visited,
                &History {
                    tick,
                    pass_start,
                    last_visit: &b.last_visit,
                    touched_hosts: &shared.touched_hosts,
                    touched_profiles: &shared.touched_profiles,
                },
            )
            .context("comparing the two paths' states at a pass boundary")?;
            result.equivalence.extend(rows.into_iter().map(|mut r| {
                r.pass_start_tick = pass_start;
                r.tick = tick;
                r.virtual_time_s = now_s;
                r
            }));
            result.equivalence_time += clock.since(tq);
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
                let (scope, before, after) =
                    churn_step(&mut st.conn, &evs, &sem, start + now_s as i64, tick)?;
                st.tracker
                    .record_changes(&st.conn, &before, &after, tick, now_s)?;
                record(&mut st.run, "churn", clock.since(tc));
                touch(
                    &scope,
                    tick,
                    &mut shared.touched_hosts,
                    &mut shared.touched_profiles,
                );
            }
            commit(st, steps.part_c(tick), &shared, &mut result, clock)?;
        }
    }
    for st in states {
        let mut run = st.run;
        run.samples = st.tracker.samples();
        run.findings = st.monitor.map(|m| m.findings).unwrap_or_default();
        result.runs.push((st.kind, run));
    }
    Ok(result)
}

/// Part A of a measured tick for one path (see `record`): reconciler and writer, with the
/// concurrency mode's churn task running meanwhile.
fn part_a(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    churn_now: Option<&(Vec<Event>, u32, u64)>,
    shared: &mut SharedState,
    atomic: bool,
) -> Result<Timed> {
    let start = start_s(&cfg.scenario);
    let can_reset_rss = procstat::reset_peak_rss();
    // Concurrency mode: the churn task writes the previous interval's events while this tick
    // runs (spec-free choice: Fleet's own writers never pause for its cron).
    let task = match (churn_now, st.churn.take()) {
        (Some((evs, etick, enow)), Some(mut conn)) => {
            let (evs, sem, etick, enow) = (evs.clone(), st.tracker.sem, *etick, *enow);
            let at = start + enow as i64;
            Some(runtime()?.spawn_blocking(move || {
                let t = std::time::Instant::now();
                let r = churn_step(&mut conn, &evs, &sem, at, etick);
                (conn, r, t.elapsed(), etick, enow)
            }))
        }
        (_, conn) => {
            st.churn = conn;
            None
        }
    };
    let busy0 = st.busy.as_ref().map(BusyCounter::read);
    let cpu0 = procstat::thread_cpu();
    let (mut row, report, timed) = reconcile_tick(st, cfg, clock, tick, atomic)?;
    crate::support::crashpoint::here("reconciler and writer done, step open");
    if let (Some(c), Some((r0, w0))) = (&st.busy, busy0) {
        let (r1, w1) = c.read();
        row.busy_retries = r1 - r0;
        if w1 > w0 {
            // Ticks that waited for the lock, and how long.
            record(&mut st.run, "busy_wait", Duration::from_micros(w1 - w0));
        }
    }
    if let Some(task) = task {
        let (conn, r, took, etick, enow) = runtime()?
            .block_on(task)
            .map_err(|e| HarnessError::Refused(format!("the churn task failed: {e}")))?;
        st.churn = Some(conn);
        let (scope, before, after) = r.context("concurrent churn")?;
        record(&mut st.run, "churn", took);
        st.tracker
            .record_changes(&st.conn, &before, &after, etick, enow)?;
        // Written while tick `tick` ran: that tick may or may not have seen it.
        touch(
            &scope,
            tick,
            &mut shared.touched_hosts,
            &mut shared.touched_profiles,
        );
    }
    if let (Some(a), Some(b)) = (cpu0, procstat::thread_cpu()) {
        st.run.cpu += b.saturating_sub(a);
    }
    if can_reset_rss {
        st.run.peak_rss_kib = st.run.peak_rss_kib.max(procstat::peak_rss_kib());
    }
    if let Some(r) = report {
        for &id in &r.visited {
            st.pass_visited.insert(id);
        }
        if r.outcome == Outcome::Ok || r.outcome == Outcome::Empty {
            visit_uuids(&st.conn, &r.visited, tick, &mut st.last_visit)?;
        }
        if r.pass_complete {
            let mut visited: Vec<i64> = std::mem::take(&mut st.pass_visited).into_iter().collect();
            visited.sort_unstable();
            st.boundary = Some((st.pass_start, visited));
            st.pass_start = tick + 1;
        }
    }
    st.run.ticks.push(row);
    Ok(timed)
}

/// Part B of a measured tick for one path: devices answer, then the convergence check.
fn part_b(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    atomic: bool,
) -> Result<()> {
    let now_s = (tick as u64 + 1) * cfg.scenario.loadtest.interval_s as u64;
    if atomic {
        record::ensure_txn(&st.conn)?;
    }
    let td = clock.now();
    device::acknowledge(&mut st.conn, &st.model, tick as u64)?;
    record(&mut st.run, "devices", clock.since(td));
    let tc = clock.now();
    for l in st.tracker.check(&st.conn, now_s)? {
        record(&mut st.run, "convergence", Duration::from_secs(l));
    }
    record(&mut st.run, "convergence_check", clock.since(tc));
    Ok(())
}

/// Stores the path's record at step `pos` and commits the step (see `record`).
fn commit(
    st: &mut PathState,
    pos: u64,
    shared: &SharedState,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
) -> Result<()> {
    let rec = path_record(st, pos, &st.run, shared, result);
    commit_record(st, rec, result, clock).map(|_| ())
}

/// Commits part A (reconciler and writer) with the record. The step's COMMIT carries the
/// writer's rows, so its time belongs to the tick, as the writer's own commit always did: the
/// record holds the tick as measured up to the commit (what a resume after a kill right after
/// it keeps: timings only), the run in memory the tick with its commit.
fn commit_tick(
    st: &mut PathState,
    pos: u64,
    timed: Timed,
    shared: &SharedState,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
    atomic: bool,
) -> Result<()> {
    let mut provisional = st.run.clone();
    record(&mut provisional, Phase::Write.name(), timed.write);
    record(&mut provisional, Phase::Tick.name(), timed.tick);
    let rec = path_record(st, pos, &provisional, shared, result);
    let commit = commit_record(st, rec, result, clock)?;
    // Without steps (the concurrency mode) the writer committed its own transaction.
    let extra = if atomic { commit } else { Duration::ZERO };
    record(&mut st.run, Phase::Write.name(), timed.write + extra);
    record(&mut st.run, Phase::Tick.name(), timed.tick + extra);
    if let Some(row) = st.run.ticks.last_mut() {
        row.duration_us = (timed.tick + extra).as_micros() as u64;
    }
    Ok(())
}

/// The path's record at step `pos`, with the measurements of `run`.
fn path_record(
    st: &PathState,
    pos: u64,
    run: &PathRun,
    shared: &SharedState,
    result: &LoadtestResult,
) -> record::PathRecord {
    let sorted = |m: &FxHashMap<String, u32>| -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
    };
    let (open, closed) = st.tracker.parts();
    let mut pass_visited: Vec<i64> = st.pass_visited.iter().copied().collect();
    pass_visited.sort_unstable();
    let mut rec = record::PathRecord::fresh(st.kind);
    rec.pos = pos;
    rec.set_run(run);
    rec.open = open;
    rec.closed = closed;
    rec.last_visit = sorted(&st.last_visit);
    rec.pass_visited = pass_visited;
    rec.pass_start = st.pass_start;
    rec.boundary = st.boundary.clone();
    rec.cursor = st.cursor.value.clone();
    rec.monitor = st.monitor.clone();
    rec.shared = record::Shared {
        pos: shared.pos,
        equivalence: result.equivalence.clone(),
        events: result.events.clone(),
        touched_hosts: sorted(&shared.touched_hosts),
        touched_profiles: sorted(&shared.touched_profiles),
        equivalence_time_us: result.equivalence_time.as_micros() as u64,
        checkpoint_time_us: result.checkpoint_time.as_micros() as u64,
    };
    rec
}

/// Stores `rec` in the step's transaction and commits it; returns how long the COMMIT took
/// (the step's writes reaching the file). Storing the record is harness time (`checkpoint`).
fn commit_record(
    st: &mut PathState,
    rec: record::PathRecord,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
) -> Result<Duration> {
    let tk = clock.now();
    let pos = rec.pos;
    record::ensure_txn(&st.conn)?;
    crate::support::crashpoint::here("step written, not yet committed");
    record::store(&st.conn, &rec)?;
    if st.kind == PathKind::Batched && st.redis.is_none() {
        // The SQLite store's table shows the cursor the record holds.
        crate::paths::cursor::CursorStore::write(
            &mut SqliteCursor::new(&st.conn)?,
            &st.cursor.value,
        )?;
    }
    result.checkpoint_time += clock.since(tk);
    let tc = clock.now();
    st.conn
        .execute_batch("COMMIT")
        .with_context(|| format!("{}: committing step {pos}", st.db.display()))?;
    let commit = clock.since(tc);
    st.pos = pos;
    crate::support::crashpoint::here("step committed");
    Ok(commit)
}

/// A cursor store that remembers what the inner store holds after each successful read or
/// write (for the record of a Redis cursor).
struct Remember<'a> {
    inner: &'a mut dyn crate::paths::cursor::CursorStore,
    held: &'a mut String,
}

impl crate::paths::cursor::CursorStore for Remember<'_> {
    fn read(&mut self) -> Result<String, crate::paths::cursor::CursorError> {
        let v = self.inner.read()?;
        self.held.clone_from(&v);
        Ok(v)
    }
    fn write(&mut self, value: &str) -> Result<(), crate::paths::cursor::CursorError> {
        self.inner.write(value)?;
        *self.held = value.to_string();
        Ok(())
    }
}

/// A tick's writer and whole time, measured up to the step's commit.
#[derive(Debug, Clone, Copy)]
struct Timed {
    write: Duration,
    tick: Duration,
}

/// What `run` reports as it goes.
pub enum RunEvent<'a> {
    /// A tick (path, index) begins.
    TickStart(PathKind, u32),
    /// A tick of one path ended.
    Tick(&'a TickRow),
    /// A warm-up tick (path, index) ended.
    Warmup(PathKind, u32),
}

/// Records the tick at which each visited host uuid was last looked at.
fn visit_uuids(
    conn: &Connection,
    ids: &[i64],
    tick: u32,
    last: &mut FxHashMap<String, u32>,
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn
        .prepare_cached("SELECT uuid FROM hosts WHERE id IN (SELECT value FROM json_each(?1))")?;
    for u in stmt.query_map([json], |r| r.get::<_, String>(0))? {
        last.insert(u?, tick);
    }
    Ok(())
}

/// One path's reconciler and writer for one tick (what Fleet's cron does each interval).
/// Writes nothing to the path database before the writer; with `atomic`, the step's
/// transaction begins right before the writer (`record`). The `write` and `tick` phases are
/// recorded by the caller once the step has committed (`commit_tick`).
fn reconcile_tick(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    atomic: bool,
) -> Result<(TickRow, Option<batched::TickReport>, Timed)> {
    let interval = cfg.scenario.loadtest.interval_s as u64;
    let mut row = TickRow {
        path: st.kind,
        tick,
        virtual_time_s: tick as u64 * interval,
        cursor_before: String::new(),
        cursor_after: String::new(),
        hosts: 0,
        installs: 0,
        removes: 0,
        duration_us: 0,
        outcome: TickOutcome::Ok,
        error: String::new(),
        rows_read: 0,
        busy_retries: 0,
    };
    let conn = &mut st.conn;
    let run = &mut st.run;
    let mut report = None;
    // On a MySQL backend: the changes since the last tick go to the server first (harness).
    if let Some(m) = st.mirror.as_mut() {
        let tr = clock.now();
        m.sync(conn)?;
        record(run, "replicate", clock.since(tr));
    }
    // Where the reconciler reads: the server copy, else the path's own database.
    let reads: &dyn Store = match &st.mirror {
        Some(m) => m.store(),
        None => &*conn,
    };
    let t0 = clock.now();
    let deltas: Vec<Delta> = match st.kind {
        PathKind::Legacy => {
            reads.begin()?;
            let r = reads.legacy(cfg.legacy_sql, clock);
            reads.commit()?;
            match r {
                Ok(r) => {
                    for (phase, d) in &r.timings {
                        record(run, phase, *d);
                    }
                    row.rows_read = (r.installs.len() + r.removes.len()) as u64;
                    let mut d = r.installs;
                    d.sort();
                    d.dedup();
                    d.extend(r.removes);
                    d
                }
                Err(e) => {
                    row.outcome = TickOutcome::Error;
                    row.error = e.to_string();
                    Vec::new()
                }
            }
        }
        PathKind::Batched => {
            // A Redis cursor: what the store holds after each successful read or write goes
            // into the record (`held`), so a resume can set the key back to it.
            let mut held = st.cursor.value.clone();
            let mut remembered;
            let store: &mut dyn crate::paths::cursor::CursorStore = match st.redis.as_mut() {
                Some(r) => {
                    remembered = Remember {
                        inner: r.as_mut(),
                        held: &mut held,
                    };
                    &mut remembered
                }
                None => &mut st.cursor,
            };
            let plan = &st.faults;
            let mut cursor = FaultyCursor {
                inner: store,
                plan,
                tick,
            };
            let r = batched::tick_with_faults(
                reads.source(),
                &mut cursor,
                &cfg.batched,
                clock,
                &|phase| plan.phase_error(phase, tick),
            );
            for (phase, d) in &r.timings {
                record(run, phase, *d);
            }
            row.cursor_before = r.cursor_before.clone();
            row.cursor_after = r.cursor_after.clone();
            row.hosts = r.visited.len() as u64;
            row.rows_read = r.rows_read;
            match &r.outcome {
                Outcome::Ok => row.error = r.logged.clone().unwrap_or_default(),
                Outcome::Empty => row.outcome = TickOutcome::Empty,
                Outcome::Error(e) => {
                    row.outcome = TickOutcome::Error;
                    row.error = e.clone();
                }
            }
            if st.redis.is_some() {
                st.cursor.value = held;
            }
            if let Some(m) = st.monitor.as_mut() {
                m.observe(conn, tick, &r)?;
            }
            let d = r.deltas.clone();
            report = Some(r);
            d
        }
    };
    row.installs = deltas.iter().filter(|d| d.op == Op::Install).count() as u64;
    row.removes = deltas.len() as u64 - row.installs;
    let tw = clock.now();
    // Command uuids from (seed, path, tick): reproducible, and the same after a resume.
    let mut cmd_rng = ChaCha8Rng::seed_from_u64(cfg.scenario.run.seed);
    cmd_rng.set_stream(500 + st.kind as u64 * 1_000_000_000 + tick as u64);
    if let Some(e) = st.faults.phase_error(Phase::Write.name(), tick) {
        // An injected writer failure: the tick's deltas are lost (the next tick recomputes).
        row.outcome = TickOutcome::Error;
        row.error = format!("write: {e}");
    } else {
        // Injected SQLITE_BUSY: another connection holds the write lock meanwhile.
        let blocker = match st.faults.busy_write(tick) {
            Some(hold) => Some(FaultPlan::hold_write_lock(&st.db, hold)?),
            None => None,
        };
        let begun = if atomic {
            record::ensure_txn(conn)
        } else {
            Ok(())
        };
        let written = begun.and_then(|_| {
            writer::apply(conn, &deltas, || {
                let bytes: [u8; 16] = cmd_rng.random();
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .hyphenated()
                    .to_string()
            })
        });
        if let Some(b) = blocker {
            let _ = b.join();
        }
        match written {
            Ok(_) => {}
            // The lock never came: a failed tick, as Fleet's cron would log one.
            Err(rusqlite::Error::SqliteFailure(e, m))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                row.outcome = TickOutcome::Error;
                row.error = format!("write: {}", m.unwrap_or_else(|| e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let write_time = clock.since(tw);
    let tick_time = clock.since(t0);
    row.duration_us = tick_time.as_micros() as u64;
    if st.kind == PathKind::Legacy {
        // Outside the timed tick: how many host rows the diff covered.
        row.hosts = eligible_hosts(conn)?;
    }
    Ok((
        row,
        report,
        Timed {
            write: write_time,
            tick: tick_time,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Scenario {
        Scenario::parse(include_str!("../../../scenarios/quick.toml"), "quick.toml").unwrap()
    }

    #[test]
    fn churn_is_a_function_of_seed_and_tick() {
        let s = quick();
        let u = Universe {
            host_ids: (1..=100).collect(),
            label_ids: (1..=10).collect(),
            profiles: vec!["a1".into(), "a2".into()],
            teams: vec![1, 2],
            eligible: 90,
        };
        assert_eq!(events(&s, &u, 3), events(&s, &u, 3));
        assert_ne!(events(&s, &u, 3), events(&s, &u, 4));
        // Rates per virtual minute over a 30 s interval: 10 flips and 20 reports per tick.
        let e = events(&s, &u, 0);
        let flips = e.iter().filter(|x| matches!(x, Event::Flip { .. })).count();
        let reports = e
            .iter()
            .filter(|x| matches!(x, Event::Report { .. }))
            .count();
        assert_eq!((flips, reports), (10, 20));
    }

    #[test]
    fn fractional_rates_keep_their_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n: usize = (0..10_000).map(|_| count(&mut rng, 0.5, 30)).sum();
        assert!((n as f64 / 10_000.0 - 0.25).abs() < 0.02, "{n}");
    }

    #[test]
    fn a_membership_flip_toggles() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
        let flip = [Event::Flip { host: 1, label: 2 }];
        conn.execute("INSERT INTO labels (id, name) VALUES (2, 'l2')", [])
            .unwrap();
        apply_events(&mut conn, &flip, 0, 0).unwrap();
        let n = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM label_membership", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(n(&conn), 1);
        apply_events(&mut conn, &flip, 0, 1).unwrap();
        assert_eq!(n(&conn), 0);
    }

    fn config(s: &Scenario, ticks: u32) -> LoadtestConfig {
        LoadtestConfig {
            cursor_url: None,
            cursor_key: String::new(),
            scenario: s.clone(),
            paths: vec![PathKind::Batched],
            ticks,
            legacy_sql: LegacySql::Tuned,
            batched: BatchedConfig {
                batch_size: s.run.batch_size as usize,
                rules: Rules::default(),
                variant: Default::default(),
            },
            concurrent_churn: false,
            warmup_ticks: 0,
        }
    }

    #[test]
    fn a_fake_clock_gives_exact_phase_and_tick_figures() {
        let s = quick();
        let conn = crate::paths::batched::tests::quick_fleet();
        let u = Universe::load(&conn).unwrap();
        let clock = crate::domain::clock::FakeClock::stepping(Duration::from_micros(100));
        let cfg = config(&s, 3);
        let setup = record::Setup {
            format: record::FORMAT,
            universe: u.clone(),
            ticks: 3,
        };
        record::init(&conn, ":memory:", &setup, PathKind::Batched).unwrap();
        let dbs = vec![(PathKind::Batched, conn, PathBuf::from(":memory:"))];
        let r = run(dbs, &cfg, &u, &clock, |_| Ok(())).unwrap();
        let run = &r.runs[0].1;
        // Every phase reads the clock twice: one 100 µs step.
        for phase in [
            "cursor_read",
            "window",
            "catalog",
            "memberships",
            "current_rows",
        ] {
            let row = run.hist[phase].row();
            assert_eq!(
                (row.count, row.p50_us, row.max_us),
                (3, 100, 100),
                "{phase}"
            );
        }
        // A full-window tick: cursor read, five phases, cursor write and the writer, each two
        // clock reads, plus the tick's own end: 17 steps; then the step's COMMIT, which
        // carries the writer's rows (one step), is added to the tick and to the writer.
        let ticks: Vec<u64> = run.ticks.iter().map(|t| t.duration_us).collect();
        assert_eq!(ticks, vec![1800, 1800, 1800]);
        let row = run.hist["tick"].row();
        assert_eq!((row.p50_us, row.p99_us, row.max_us), (1800, 1800, 1800));
        assert!((row.mean_us - 1800.0).abs() < 1e-9);
        let write = run.hist["write"].row();
        assert_eq!((write.count, write.p50_us), (3, 200));
    }

    fn tiny() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
        conn.execute_batch(
            "INSERT INTO teams (id, name) VALUES (1, 't1');
             INSERT INTO hosts (id, uuid, platform, team_id) VALUES (1, 'H1', 'darwin', NULL);
             INSERT INTO nano_devices (id, authenticate_at) VALUES ('H1', '2026-01-01 00:00:00');
             INSERT INTO nano_enrollments (id, device_id, type) VALUES ('H1', 'H1', 'Device');
             INSERT INTO labels (id, name, created_at) VALUES (7, 'l7', '2026-01-01 00:00:00');
             INSERT INTO label_membership (label_id, host_id) VALUES (7, 1);
             INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier, name, checksum)
               VALUES ('a1', 0, 'i1', 'n1', x'01');
             INSERT INTO mdm_configuration_profile_labels (apple_profile_uuid, label_name, label_id)
               VALUES ('a1', 'l7', 7);",
        )
        .unwrap();
        conn
    }

    fn one(conn: &Connection, sql: &str) -> String {
        conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .unwrap()
    }

    #[test]
    fn every_event_kind_changes_what_it_names() {
        let mut c = tiny();
        let now = 1_780_000_000; // 2026-05-28 20:26:40
        let at = |c: &mut Connection, e: Event| apply_events(c, &[e], now, 5).unwrap();
        at(&mut c, Event::Report { host: 1 });
        assert_eq!(
            one(&c, "SELECT label_updated_at FROM hosts WHERE id = 1"),
            "Text(\"2026-05-28 20:26:40\")"
        );
        at(
            &mut c,
            Event::Transfer {
                host: 1,
                team: Some(1),
            },
        );
        assert_eq!(
            one(&c, "SELECT team_id FROM hosts WHERE id = 1"),
            "Integer(1)"
        );
        at(
            &mut c,
            Event::Secrets {
                profile: "a1".into(),
            },
        );
        assert_eq!(
            one(
                &c,
                "SELECT secrets_updated_at FROM mdm_apple_configuration_profiles"
            ),
            "Text(\"2026-05-28 20:26:40.000000\")"
        );
        let before = one(
            &c,
            "SELECT hex(checksum) FROM mdm_apple_configuration_profiles",
        );
        at(
            &mut c,
            Event::Edit {
                profile: "a1".into(),
            },
        );
        assert_ne!(
            one(
                &c,
                "SELECT hex(checksum) FROM mdm_apple_configuration_profiles"
            ),
            before
        );
        at(
            &mut c,
            Event::NewLabel {
                name: "fresh".into(),
                profile: "a1".into(),
                members: vec![1],
            },
        );
        assert_eq!(
            one(
                &c,
                "SELECT created_at || '/' || label_membership_type FROM labels WHERE name = 'fresh'"
            ),
            "Text(\"2026-05-28 20:26:40/0\")"
        );
        assert_eq!(
            one(
                &c,
                "SELECT exclude FROM mdm_configuration_profile_labels WHERE label_name = 'fresh'"
            ),
            "Integer(1)"
        );
        at(&mut c, Event::DeleteLabel { label: 7 });
        assert_eq!(
            one(
                &c,
                "SELECT label_id FROM mdm_configuration_profile_labels WHERE label_name = 'l7'"
            ),
            "Null",
            "the profile row goes broken"
        );
        assert_eq!(
            one(
                &c,
                "SELECT count(*) FROM label_membership WHERE label_id = 7"
            ),
            "Integer(0)"
        );
        at(
            &mut c,
            Event::AddProfile {
                uuid: "a2".into(),
                team: 1,
            },
        );
        assert_eq!(
            one(
                &c,
                "SELECT team_id FROM mdm_apple_configuration_profiles WHERE profile_uuid = 'a2'"
            ),
            "Integer(1)"
        );
        at(
            &mut c,
            Event::DeleteProfile {
                profile: "a1".into(),
            },
        );
        assert_eq!(
            one(&c, "SELECT count(*) FROM mdm_configuration_profile_labels"),
            "Integer(0)"
        );
        assert_eq!(
            one(&c, "SELECT count(*) FROM mdm_apple_configuration_profiles"),
            "Integer(1)"
        );
        at(&mut c, Event::ToggleEnrollment { host: 1 });
        assert_eq!(
            one(&c, "SELECT enabled FROM nano_enrollments"),
            "Integer(0)"
        );
        at(&mut c, Event::Duplicate { host: 1 });
        assert_eq!(
            one(&c, "SELECT count(*) FROM hosts WHERE uuid = 'H1'"),
            "Integer(2)"
        );
        // Events naming rows that are gone do nothing.
        at(&mut c, Event::Flip { host: 1, label: 7 });
        at(
            &mut c,
            Event::NewLabel {
                name: "late".into(),
                profile: "a1".into(),
                members: vec![1],
            },
        );
        assert_eq!(
            one(&c, "SELECT count(*) FROM labels WHERE name = 'late'"),
            "Integer(0)"
        );
    }

    #[test]
    fn the_scope_names_the_hosts_and_profiles_events_touch() {
        let c = tiny();
        let scope = scope_of(
            &c,
            &[
                Event::Report { host: 1 },
                Event::Edit {
                    profile: "a9".into(),
                },
                Event::DeleteLabel { label: 7 },
                Event::Report { host: 99 },
            ],
        )
        .unwrap();
        assert_eq!(scope.hosts.into_iter().collect::<Vec<_>>(), vec!["H1"]);
        assert_eq!(
            scope.profiles.into_iter().collect::<Vec<_>>(),
            vec!["a1", "a9"]
        );
    }

    #[test]
    fn churn_stops_after_churn_ticks() {
        let mut s = quick();
        s.loadtest.churn_ticks = Some(2);
        let u = Universe {
            host_ids: (1..=100).collect(),
            label_ids: (1..=10).collect(),
            profiles: vec!["a1".into()],
            teams: vec![1],
            eligible: 90,
        };
        assert!(!events(&s, &u, 1).is_empty());
        assert!(events(&s, &u, 2).is_empty());
    }

    #[test]
    fn the_busy_counter_counts_lock_waits() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let mut a = Connection::open(&db).unwrap();
        a.pragma_update(None, "journal_mode", "WAL").unwrap();
        a.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let mut b = Connection::open(&db).unwrap();
        let counter = BusyCounter::install(&mut b).unwrap();
        assert_eq!(counter.read(), (0, 0));
        // `a` holds the write lock for 60 ms while `b` writes.
        let tx = a
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let writer = std::thread::spawn(move || {
            b.execute("INSERT INTO t VALUES (2)", []).unwrap();
            b
        });
        std::thread::sleep(Duration::from_millis(60));
        tx.commit().unwrap();
        let b = writer.join().unwrap();
        let (retries, waited_us) = counter.read();
        assert!(retries >= 10, "{retries}");
        assert!(waited_us >= 10_000, "{waited_us}");
        let n: i64 = b
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
