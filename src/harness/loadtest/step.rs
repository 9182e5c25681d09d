//! One step of the run for one path: the measured tick (part A: reconciler and writer, with
//! the concurrency mode's churn running meanwhile; part B: devices), its commit with the run
//! record, and the reconciler tick itself on whichever store the path reads.

use super::*;

/// Part A of a measured tick for one path (see `record`): reconciler and writer, with the
/// concurrency mode's churn task running meanwhile.
pub(super) fn part_a(
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
            let reference = cfg.reference_harness;
            let at = start + enow as i64;
            Some(runtime()?.spawn_blocking(move || {
                let t = std::time::Instant::now();
                // The task's own connection reads its teams afresh each round.
                let r = churn_step(&mut conn, &evs, &sem, at, etick, reference, None);
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
            visit_uuids(st, &r.visited, tick)?;
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
pub(super) fn part_b(
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
    answer(st, cfg.warmup_ticks as u64 + tick as u64, tick as u64)?;
    record(&mut st.run, "devices", clock.since(td));
    let tc = clock.now();
    let latencies = if st.inbox.is_none() || std::mem::take(&mut st.check_all) {
        st.tracker.check(&st.conn, now_s)?
    } else {
        st.tracker.check_pairs(&st.conn, now_s, &st.dirty)?
    };
    st.dirty.clear();
    for l in latencies {
        record(&mut st.run, "convergence", Duration::from_secs(l));
    }
    record(&mut st.run, "convergence_check", clock.since(tc));
    Ok(())
}

/// The devices' round `round` (warm-up rounds first), drawing with tick number `tick`: through
/// the inbox, whose changed rows join the pairs the next convergence check reads, or in the
/// reference harness by asking every waiting row.
pub(super) fn answer(st: &mut PathState, round: u64, tick: u64) -> Result<device::AckStats> {
    Ok(match st.inbox.as_mut() {
        Some(inbox) => {
            let r = inbox.answer(&st.conn, round)?;
            st.dirty.extend(
                r.changed
                    .into_iter()
                    .map(|(h, p)| (Arc::from(h), Arc::from(p))),
            );
            r.stats
        }
        None => device::acknowledge(&mut st.conn, &st.model, tick)?,
    })
}

/// Notes the pairs of written deltas for the next convergence check (outside the timed tick).
fn wrote(dirty: &mut Vec<(Arc<str>, Arc<str>)>, deltas: &[Delta]) {
    dirty.extend(
        deltas
            .iter()
            .map(|d| (d.host_uuid.clone(), d.profile_uuid.clone())),
    );
}

/// Stores the path's record at step `pos` and commits the step (see `record`). All of it is
/// harness time (`checkpoint`): building and storing the record, and the COMMIT that carries
/// the step's writes (the devices' answers, churn) to the file.
/// `with_scan`: the step changed the scan state (a warm-up tick); parts B and C do not.
pub(super) fn commit(
    st: &mut PathState,
    pos: u64,
    shared: &SharedState,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
    with_scan: bool,
) -> Result<()> {
    let t = clock.now();
    let rec = path_record(st, pos, &st.run, shared, result);
    result.checkpoint_time += clock.since(t);
    let commit = commit_record(st, rec, result, clock, with_scan)?;
    result.checkpoint_time += commit;
    Ok(())
}

/// Commits part A (reconciler and writer) with the record. The step's COMMIT carries the
/// writer's rows, so its time belongs to the tick, as the writer's own commit always did: the
/// record holds the tick as measured up to the commit (what a resume after a kill right after
/// it keeps: timings only), the run in memory the tick with its commit.
pub(super) fn commit_tick(
    st: &mut PathState,
    pos: u64,
    timed: Timed,
    shared: &SharedState,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
    atomic: bool,
) -> Result<()> {
    let t = clock.now();
    let mut provisional = st.run.clone();
    record(&mut provisional, Phase::Write.name(), timed.write);
    record(&mut provisional, Phase::Tick.name(), timed.tick);
    let rec = path_record(st, pos, &provisional, shared, result);
    result.checkpoint_time += clock.since(t);
    let commit = commit_record(st, rec, result, clock, true)?;
    // Without steps (the concurrency mode) the writer committed its own transaction.
    let extra = if atomic { commit } else { Duration::ZERO };
    record(&mut st.run, Phase::Write.name(), timed.write + extra);
    record(&mut st.run, Phase::Tick.name(), timed.tick + extra);
    if let Some(row) = st.run.ticks.last_mut() {
        row.duration_us = (timed.tick + extra).as_micros() as u64;
    }
    Ok(())
}

/// The path's record at step `pos`, with the measurements of `run` (the scan state is stored
/// from the path's own, by `commit_record`).
pub(super) fn path_record(
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
    let mut rec = record::PathRecord::fresh(&st.path.name);
    rec.pos = pos;
    rec.set_run(run);
    rec.closed_count = st.tracker.closed.len() as u64;
    rec.pass_start = st.pass_start;
    rec.boundary = st.boundary.clone();
    rec.cursor = st.cursor.value.clone();
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
pub(super) fn commit_record(
    st: &mut PathState,
    rec: record::PathRecord,
    result: &mut LoadtestResult,
    clock: &dyn Clock,
    with_scan: bool,
) -> Result<Duration> {
    let tk = clock.now();
    let pos = rec.pos;
    record::ensure_txn(&st.conn)?;
    crate::support::crashpoint::here("step written, not yet committed");
    let scan = with_scan.then_some(record::ScanRef {
        pass_visited: &st.pass_visited,
        monitor: &st.monitor,
        listed_stored: st.listed_stored,
        visits: &st.visits_pending,
    });
    record::store(&st.conn, &rec, scan)?;
    if with_scan {
        st.visits_pending.clear();
        if let Some(m) = &st.monitor {
            st.listed_stored = m.listed_version();
        }
    }
    record::store_samples(&st.conn, &st.tracker.flush())?;
    if st.kind.paged() && st.redis.is_none() {
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
pub(super) struct Remember<'a> {
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

/// Runs `f` with the path's cursor store as a tick sees it: the tick's injected cursor faults,
/// and for a Redis cursor what the store holds after each successful read or write remembered
/// into `memory` (the record's copy), so a resume can set the key back to it.
pub(super) fn with_cursor<R>(
    memory: &mut crate::paths::cursor::MemoryCursor,
    redis: Option<&mut Box<dyn crate::paths::cursor::CursorStore>>,
    plan: &FaultPlan,
    tick: u32,
    f: impl FnOnce(&mut dyn crate::paths::cursor::CursorStore) -> R,
) -> R {
    match redis {
        Some(r) => {
            let mut held = memory.value.clone();
            let out = {
                let mut remembered = Remember {
                    inner: r.as_mut(),
                    held: &mut held,
                };
                f(&mut FaultyCursor {
                    inner: &mut remembered,
                    plan,
                    tick,
                })
            };
            memory.value = held;
            out
        }
        None => f(&mut FaultyCursor {
            inner: memory,
            plan,
            tick,
        }),
    }
}

/// A paged tick's report in its `ticks.csv` row: cursors, hosts, rows read, window reads and
/// the outcome (a logged, swallowed error in `error` of an ok tick).
fn fill_row(row: &mut TickRow, r: &batched::TickReport, windows: u32) {
    row.cursor_before = r.cursor_before.clone();
    row.cursor_after = r.cursor_after.clone();
    row.hosts = r.visited.len() as u64;
    row.rows_read = r.rows_read;
    row.windows = windows;
    match &r.outcome {
        Outcome::Ok => row.error = r.logged.clone().unwrap_or_default(),
        Outcome::Empty => row.outcome = TickOutcome::Empty,
        Outcome::Error(e) => {
            row.outcome = TickOutcome::Error;
            row.error = e.clone();
        }
    }
}

/// A tick's writer and whole time, measured up to the step's commit.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timed {
    write: Duration,
    tick: Duration,
}
/// Records the tick at which each visited host uuid was last looked at.
pub(super) fn visit_uuids(st: &mut PathState, ids: &[i64], tick: u32) -> rusqlite::Result<()> {
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut stmt = st
        .conn
        .prepare_cached("SELECT uuid FROM hosts WHERE id IN (SELECT value FROM json_each(?1))")?;
    for u in stmt.query_map([json], |r| r.get::<_, String>(0))? {
        let u = u?;
        st.last_visit.insert(u.clone(), tick);
        st.visits_pending.push((u, tick));
    }
    Ok(())
}

/// One path's reconciler and writer for one tick (what Fleet's cron does each interval).
/// Writes nothing to the path database before the writer; with `atomic`, the step's
/// transaction begins right before the writer (`record`). The `write` and `tick` phases are
/// recorded by the caller once the step has committed (`commit_tick`).
pub(super) fn reconcile_tick(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    atomic: bool,
) -> Result<(TickRow, Option<batched::TickReport>, Timed)> {
    let interval = cfg.scenario.loadtest.interval_s as u64;
    let mut row = TickRow {
        path: st.path.name.clone(),
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
        windows: 0,
        stop: String::new(),
    };
    if st.kind == PathKind::Drain {
        return drain_tick(st, cfg, clock, tick, atomic, row);
    }
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
            let plan = &st.faults;
            let r = with_cursor(&mut st.cursor, st.redis.as_mut(), plan, tick, |cursor| {
                batched::tick_with_faults(reads.source(), cursor, &cfg.batched, clock, &|phase| {
                    plan.phase_error(phase, tick)
                })
            });
            for (phase, d) in &r.timings {
                record(run, phase, *d);
            }
            fill_row(&mut row, &r, 1);
            let d = r.deltas.clone();
            report = Some(r);
            d
        }
        PathKind::Drain => unreachable!("drain ticks run in drain_tick"),
    };
    row.installs = deltas.iter().filter(|d| d.op == Op::Install).count() as u64;
    row.removes = deltas.len() as u64 - row.installs;
    let tw = clock.now();
    let mut cmd_rng = command_rng(cfg, st.kind, tick);
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
        let written =
            begun.and_then(|_| writer::apply(conn, &deltas, || command_uuid(&mut cmd_rng)));
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
    wrote(&mut st.dirty, &deltas);
    // The liveness monitor watches the tick from outside it (harness time).
    if let (Some(m), Some(r)) = (st.monitor.as_mut(), report.as_ref()) {
        let tl = clock.now();
        m.observe(&st.conn, tick, r)?;
        record(&mut st.run, "liveness", clock.since(tl));
    }
    if st.kind == PathKind::Legacy {
        // Outside the timed tick: how many host rows the diff covered.
        row.hosts = eligible_hosts(&st.conn)?;
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

/// Command uuids from (seed, path, tick): reproducible, and the same after a resume.
fn command_rng(cfg: &LoadtestConfig, kind: PathKind, tick: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.scenario.run.seed);
    rng.set_stream(500 + kind as u64 * 1_000_000_000 + tick as u64);
    rng
}

fn command_uuid(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A drain tick (spec §10) with the writer inside it: each window's kept deltas are written
/// in a scope of their own (a savepoint in the step's transaction, or a transaction of its
/// own in the concurrency mode), so a failed write keeps the windows written before it, and
/// the step commits them with the record as the other paths' writes.
fn drain_tick(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    atomic: bool,
    mut row: TickRow,
) -> Result<(TickRow, Option<batched::TickReport>, Timed)> {
    let conn = &mut st.conn;
    let run = &mut st.run;
    if let Some(m) = st.mirror.as_mut() {
        let tr = clock.now();
        m.sync(conn)?;
        record(run, "replicate", clock.since(tr));
    }
    if atomic {
        // The windows' writes nest in the step's transaction (`record`).
        record::ensure_txn(conn)?;
    }
    let conn: &Connection = conn;
    let reads: &dyn Store = match &st.mirror {
        Some(m) => m.store(),
        None => conn,
    };
    let t0 = clock.now();
    let plan = &st.faults;
    // Injected SQLITE_BUSY: another connection holds the write lock from the tick's start.
    let blocker = match plan.busy_write(tick) {
        Some(hold) => Some(FaultPlan::hold_write_lock(&st.db, hold)?),
        None => None,
    };
    let mut cmd_rng = command_rng(cfg, PathKind::Drain, tick);
    let mut failed = None;
    let mut deliver = |deltas: &[Delta]| -> Result<(), String> {
        if let Some(e) = plan.phase_error(Phase::Write.name(), tick) {
            return Err(e);
        }
        match writer::apply(conn, deltas, || command_uuid(&mut cmd_rng)) {
            Ok(_) => {
                crate::support::crashpoint::here("drain window written, step open");
                Ok(())
            }
            Err(rusqlite::Error::SqliteFailure(e, m))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Err(m.unwrap_or_else(|| e.to_string()))
            }
            Err(e) => {
                let text = e.to_string();
                failed = Some(e);
                Err(text)
            }
        }
    };
    let read_cfg = cfg.read_config(&st.path);
    let knobs = st.path.drain;
    let r = with_cursor(&mut st.cursor, st.redis.as_mut(), plan, tick, |cursor| {
        crate::paths::drain::tick_with_faults(
            reads.source(),
            cursor,
            &read_cfg,
            &knobs,
            clock,
            &|phase| plan.phase_error(phase, tick),
            &mut deliver,
        )
    });
    if let Some(b) = blocker {
        let _ = b.join();
    }
    if let Some(e) = failed {
        // Not a tick failure Fleet would log: the simulation's own database failed.
        return Err(e.into());
    }
    let write_time = r
        .tick
        .timings
        .iter()
        .filter(|(p, _)| *p == Phase::Write.name())
        .map(|(_, d)| *d)
        .sum();
    for (phase, d) in &r.tick.timings {
        if *phase != Phase::Write.name() {
            record(run, phase, *d);
        }
    }
    let tick_time = clock.since(t0);
    // The delivered deltas (a window whose write failed wrote nothing and is not among them).
    wrote(&mut st.dirty, &r.tick.deltas);
    fill_row(&mut row, &r.tick, r.windows);
    row.stop = r.stop.map(|s| s.to_string()).unwrap_or_default();
    row.installs = r.tick.deltas.iter().filter(|d| d.op == Op::Install).count() as u64;
    row.removes = r.tick.deltas.len() as u64 - row.installs;
    row.duration_us = tick_time.as_micros() as u64;
    if let Some(m) = st.monitor.as_mut() {
        let tl = clock.now();
        m.observe_windows(&st.conn, tick, &r.tick, r.windows)?;
        record(&mut st.run, "liveness", clock.since(tl));
    }
    Ok((
        row,
        Some(r.tick),
        Timed {
            write: write_time,
            tick: tick_time,
        },
    ))
}

/// Fleet's per-host enrollment path (spec §10): right after churn enrolled `uuids` (an
/// enrollment toggled on, a new host row), the path's handlers run for each of those hosts
/// alone and the writer queues its deltas at once, instead of waiting for the cron to reach
/// the host. Timed as the path's `enroll` phase (one sample a host); it writes in the step's
/// transaction, so a resume never runs it twice.
pub(super) fn enroll(
    st: &mut PathState,
    cfg: &LoadtestConfig,
    clock: &dyn Clock,
    tick: u32,
    uuids: &[String],
) -> Result<()> {
    let bcfg = cfg.read_config(&st.path);
    // Command uuids of their own stream: the cron's of this tick are untouched.
    let mut rng = command_rng(cfg, st.kind, tick);
    rng.set_word_pos(1 << 40);
    for u in uuids {
        let t = clock.now();
        let conn: &Connection = &st.conn;
        // The window that starts right before the host: after the greatest uuid below it,
        // as many rows as the host has (its duplicates), its own deltas kept.
        let before: String = conn.query_row(
            "SELECT coalesce(max(uuid), '') FROM hosts WHERE uuid < ?1",
            [u],
            |r| r.get(0),
        )?;
        let rows: i64 = conn.query_row("SELECT count(*) FROM hosts WHERE uuid = ?1", [u], |r| {
            r.get(0)
        })?;
        let one = BatchedConfig {
            batch_size: rows.max(1) as usize,
            ..bcfg
        };
        let store: &dyn Store = conn;
        let w = batched::window(store.source(), &before, &one, clock, &|_| None);
        if let Outcome::Error(e) = &w.outcome {
            return Err(HarnessError::Refused(format!(
                "the enrollment path of host {u}: {e}"
            )));
        }
        let deltas: Vec<Delta> = w
            .deltas
            .into_iter()
            .filter(|d| *d.host_uuid == **u)
            .collect();
        writer::apply(conn, &deltas, || command_uuid(&mut rng))?;
        record(&mut st.run, "enroll", clock.since(t));
        wrote(&mut st.dirty, &deltas);
    }
    Ok(())
}
