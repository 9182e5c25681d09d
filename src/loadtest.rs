//! The loadtest (issue 4, in progress): both paths tick on a virtual clock over their own copy
//! of one fleet, each tick = the reconciler → the downstream writer (spec §7), then the
//! simulated world moves: devices acknowledge commands and a seeded churn stream, identical for
//! both paths, changes the fleet. Every phase is timed into HdrHistograms per path × phase.
//!
//! What a phase covers: legacy `desired`/`install`/`remove` and batched `cursor_read` …
//! `cursor_write` are the reconciler; `write` the downstream writer; `tick` = reconciler +
//! writer, what Fleet's cron does every interval. `devices` and `churn` are the simulated world,
//! timed to show the harness's own cost, never part of `tick`.
//!
//! Not built yet (issue 4): convergence latency, state equivalence at pass boundaries, the HTML
//! report, the concurrency mode, `report compare`, `sweep`.

use crate::batched::{self, BatchedConfig, Outcome};
use crate::clock::Clock;
use crate::cursor::SqliteCursor;
use crate::device::{self, DeviceModel};
use crate::eligibility::ELIGIBLE_HOST;
use crate::histogram::Latency;
use crate::legacy::{self, LegacySql};
use crate::model::Delta;
use crate::scenario::Scenario;
use crate::{timefmt, writer};
use md5::{Digest, Md5};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{Connection, OpenFlags, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Which reconciler path a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum PathKind {
    Legacy,
    Batched,
}

impl PathKind {
    pub fn name(self) -> &'static str {
        match self {
            PathKind::Legacy => "legacy",
            PathKind::Batched => "batched",
        }
    }
}

/// A checked loadtest configuration.
#[derive(Debug, Clone)]
pub struct LoadtestConfig {
    pub scenario: Scenario,
    pub paths: Vec<PathKind>,
    pub ticks: u32,
    pub legacy_sql: LegacySql,
    pub batched: BatchedConfig,
}

/// One row of `ticks.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TickRow {
    pub path: &'static str,
    pub tick: u32,
    pub virtual_time_s: u64,
    pub cursor_before: String,
    pub cursor_after: String,
    pub hosts: u64,
    pub installs: u64,
    pub removes: u64,
    pub duration_us: u64,
    pub outcome: &'static str,
    pub error: String,
}

/// The result of one path's run.
#[derive(Debug, Default)]
pub struct PathRun {
    pub ticks: Vec<TickRow>,
    /// Histograms per phase (`tick`, `write`, `devices`, `churn` and the reconciler's).
    pub hist: BTreeMap<String, Latency>,
}

/// One churn event; the same list is applied to every path.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Flip { host: i64, label: i64 },
    Report { host: i64 },
    Edit { profile: String },
    Transfer { host: i64, team: Option<i64> },
}

/// What churn can pick from: read once from the base fleet.
#[derive(Debug, Clone)]
pub struct Universe {
    pub host_ids: Vec<i64>,
    pub label_ids: Vec<i64>,
    pub profiles: Vec<String>,
    pub teams: Vec<i64>,
    pub eligible: u64,
}

impl Universe {
    pub fn load(conn: &Connection) -> rusqlite::Result<Universe> {
        let ids = |sql: &str| -> rusqlite::Result<Vec<i64>> {
            conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
        };
        Ok(Universe {
            host_ids: ids("SELECT id FROM hosts ORDER BY id")?,
            label_ids: ids("SELECT id FROM labels ORDER BY id")?,
            profiles: conn
                .prepare("SELECT profile_uuid FROM mdm_apple_configuration_profiles ORDER BY 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            teams: ids("SELECT id FROM teams ORDER BY id")?,
            eligible: conn.query_row(
                &format!("SELECT count(*) FROM hosts h WHERE {ELIGIBLE_HOST}"),
                [],
                |r| r.get::<_, i64>(0),
            )? as u64,
        })
    }
}

/// How many events of a rate fall in one interval: the whole part, plus one more with the
/// probability of the fraction (so the long-run mean is exact).
fn count(rng: &mut ChaCha8Rng, per_min: f64, interval_s: u32) -> usize {
    let x = per_min * interval_s as f64 / 60.0;
    x.floor() as usize + usize::from(rng.random_bool(x.fract()))
}

/// The churn events after tick `tick`, from the seed alone.
pub fn events(s: &Scenario, u: &Universe, tick: u32) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(s.run.seed);
    rng.set_stream(1000 + tick as u64);
    let lt = &s.loadtest;
    let mut out = Vec::new();
    let pick = |rng: &mut ChaCha8Rng, v: &[i64]| v[rng.random_range(0..v.len())];
    if u.host_ids.is_empty() {
        return out;
    }
    if !u.label_ids.is_empty() {
        for _ in 0..count(&mut rng, lt.membership_flips_per_min, lt.interval_s) {
            out.push(Event::Flip {
                host: pick(&mut rng, &u.host_ids),
                label: pick(&mut rng, &u.label_ids),
            });
        }
    }
    for _ in 0..count(&mut rng, lt.label_reports_per_min, lt.interval_s) {
        out.push(Event::Report {
            host: pick(&mut rng, &u.host_ids),
        });
    }
    if !u.profiles.is_empty() {
        for _ in 0..count(&mut rng, lt.profile_edits_per_min, lt.interval_s) {
            out.push(Event::Edit {
                profile: u.profiles[rng.random_range(0..u.profiles.len())].clone(),
            });
        }
    }
    for _ in 0..count(&mut rng, lt.team_transfers_per_min, lt.interval_s) {
        let host = pick(&mut rng, &u.host_ids);
        let team = if u.teams.is_empty() || rng.random_bool(0.2) {
            None
        } else {
            Some(pick(&mut rng, &u.teams))
        };
        out.push(Event::Transfer { host, team });
    }
    out
}

/// Applies churn events in one transaction. `now` is the virtual time (TIMESTAMP text).
pub fn apply_events(
    conn: &mut Connection,
    events: &[Event],
    now: &str,
    tick: u32,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for e in events {
        match e {
            Event::Flip { host, label } => {
                let gone = tx.execute(
                    "DELETE FROM label_membership WHERE host_id = ?1 AND label_id = ?2",
                    params![host, label],
                )?;
                if gone == 0 {
                    tx.execute(
                        "INSERT INTO label_membership (host_id, label_id) VALUES (?1, ?2)",
                        params![host, label],
                    )?;
                }
            }
            Event::Report { host } => {
                tx.execute(
                    "UPDATE hosts SET label_updated_at = ?2 WHERE id = ?1",
                    params![host, now],
                )?;
            }
            Event::Edit { profile } => {
                let sum: [u8; 16] = Md5::digest(format!("{profile}:{tick}").as_bytes()).into();
                tx.execute(
                    "UPDATE mdm_apple_configuration_profiles SET checksum = ?2 WHERE profile_uuid = ?1",
                    params![profile, &sum[..]],
                )?;
            }
            Event::Transfer { host, team } => {
                tx.execute(
                    "UPDATE hosts SET team_id = ?2 WHERE id = ?1",
                    params![host, team],
                )?;
            }
        }
    }
    tx.commit()
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
}

/// Runs one path for `cfg.ticks` ticks on `conn`.
pub fn run_path(
    conn: &mut Connection,
    path: PathKind,
    cfg: &LoadtestConfig,
    universe: &Universe,
    clock: &dyn Clock,
    mut on_tick: impl FnMut(&TickRow),
) -> anyhow::Result<PathRun> {
    let s = &cfg.scenario;
    let lt = &s.loadtest;
    let start = timefmt::parse_timestamp(&s.run.now).unwrap_or(0);
    let model = DeviceModel {
        seed: s.run.seed ^ (path as u64 + 1),
        ack_per_tick: lt.ack_per_tick,
        verify_per_tick: lt.verify_per_tick,
        failure_rate: lt.failure_rate,
    };
    let mut cmd_rng = ChaCha8Rng::seed_from_u64(s.run.seed);
    cmd_rng.set_stream(500 + path as u64);
    let mut run = PathRun::default();
    for tick in 0..cfg.ticks {
        let vt = tick as u64 * lt.interval_s as u64;
        let t0 = clock.now();
        let mut row = TickRow {
            path: path.name(),
            tick,
            virtual_time_s: vt,
            cursor_before: String::new(),
            cursor_after: String::new(),
            hosts: 0,
            installs: 0,
            removes: 0,
            duration_us: 0,
            outcome: "ok",
            error: String::new(),
        };
        let deltas: Vec<Delta> = match path {
            PathKind::Legacy => {
                conn.execute_batch("BEGIN")?;
                let r = legacy::run_with_clock(conn, cfg.legacy_sql, clock);
                conn.execute_batch("COMMIT")?;
                match r {
                    Ok(r) => {
                        for (phase, d) in &r.timings {
                            record(&mut run, phase, *d);
                        }
                        row.hosts = universe.eligible;
                        let mut d = r.installs;
                        d.sort();
                        d.dedup();
                        d.extend(r.removes);
                        d
                    }
                    Err(e) => {
                        row.outcome = "error";
                        row.error = e.to_string();
                        Vec::new()
                    }
                }
            }
            PathKind::Batched => {
                let mut cursor = SqliteCursor::new(conn)?;
                let r = batched::tick_with_clock(conn, &mut cursor, &cfg.batched, clock);
                for (phase, d) in &r.timings {
                    record(&mut run, phase, *d);
                }
                row.cursor_before = r.cursor_before.clone();
                row.cursor_after = r.cursor_after.clone();
                row.hosts = r.visited.len() as u64;
                match &r.outcome {
                    Outcome::Ok => {}
                    Outcome::Empty => row.outcome = "empty",
                    Outcome::Error(e) => {
                        row.outcome = "error";
                        row.error = e.clone();
                    }
                }
                r.deltas
            }
        };
        row.installs = deltas
            .iter()
            .filter(|d| d.op == crate::model::Op::Install)
            .count() as u64;
        row.removes = deltas.len() as u64 - row.installs;
        let tw = clock.now();
        writer::apply(conn, &deltas, || {
            let bytes: [u8; 16] = cmd_rng.random();
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .hyphenated()
                .to_string()
        })?;
        record(&mut run, "write", clock.since(tw));
        let tick_time = clock.since(t0);
        record(&mut run, "tick", tick_time);
        row.duration_us = tick_time.as_micros() as u64;

        let td = clock.now();
        device::acknowledge(conn, &model, tick as u64)?;
        record(&mut run, "devices", clock.since(td));
        let tc = clock.now();
        let now = timefmt::timestamp(start + vt as i64 + lt.interval_s as i64);
        apply_events(conn, &events(s, universe, tick), &now, tick)?;
        record(&mut run, "churn", clock.since(tc));
        on_tick(&row);
        run.ticks.push(row);
    }
    Ok(run)
}

/// `ticks.csv` bytes.
pub fn ticks_csv(runs: &[(PathKind, PathRun)]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "tick",
        "virtual_time_s",
        "cursor_before",
        "cursor_after",
        "hosts",
        "installs",
        "removes",
        "duration_us",
        "outcome",
        "error",
    ])?;
    for (_, run) in runs {
        for t in &run.ticks {
            w.write_record([
                t.path.to_string(),
                t.tick.to_string(),
                t.virtual_time_s.to_string(),
                t.cursor_before.clone(),
                t.cursor_after.clone(),
                t.hosts.to_string(),
                t.installs.to_string(),
                t.removes.to_string(),
                t.duration_us.to_string(),
                t.outcome.to_string(),
                t.error.clone(),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `summary.csv` bytes: path,phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us.
pub fn summary_csv(runs: &[(PathKind, PathRun)]) -> csv::Result<Vec<u8>> {
    crate::histogram::summary_csv(
        "path",
        runs.iter().flat_map(|(path, run)| {
            run.hist
                .iter()
                .map(move |(phase, h)| (path.name(), phase.as_str(), h))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Scenario {
        Scenario::parse(include_str!("../scenarios/quick.toml"), "quick.toml").unwrap()
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
        crate::schema::migrate_to(&mut conn, crate::schema::LATEST_VERSION).unwrap();
        let flip = [Event::Flip { host: 1, label: 2 }];
        apply_events(&mut conn, &flip, timefmt::SENTINEL, 0).unwrap();
        let n = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM label_membership", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(n(&conn), 1);
        apply_events(&mut conn, &flip, timefmt::SENTINEL, 1).unwrap();
        assert_eq!(n(&conn), 0);
    }
}
