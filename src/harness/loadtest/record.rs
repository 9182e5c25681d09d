//! Crash-exact run state (issue 11). A loadtest is a sequence of **steps**, and each step of
//! each path is one SQLite transaction on that path's own database that holds both the step's
//! effects and the path's record of the run so far. A kill at any instant therefore leaves
//! every path database at a step boundary, with a record that describes exactly its rows.
//!
//! The steps, in order (W warm-up ticks, T measured ticks; `pos` counts the steps a path has
//! committed):
//! - warm-up tick `w` (pos `w + 1`): reconciler, writer, devices;
//! - tick `t`, part A (pos `W + 3t + 1`): reconciler and writer — the tick Fleet's cron runs;
//! - tick `t`, part B (pos `W + 3t + 2`): devices, convergence check;
//! - then, at a batched pass boundary, the state comparison of the two paths (read-only: it
//!   reads both databases as part B committed them);
//! - tick `t`, part C (pos `W + 3t + 3`): churn.
//!
//! The reconciler itself writes nothing to the path database: the SQLite cursor is carried in
//! the record (and mirrored into `reconsim_cursor` at commit), so the transaction begins just
//! before the writer (`BEGIN IMMEDIATE`, which waits for a lock another connection holds, as
//! the writer always did). Part A's COMMIT carries the writer's rows, so it is timed into the
//! `write` and `tick` phases, as the writer's own commit was; its record holds the tick as
//! measured up to the commit (a resume right after it keeps that: timings only). A Redis cursor is written when the tick writes it and set back to
//! the recorded value when a run resumes (the loadtest owns its key).
//!
//! Paths commit one after the other, so after a kill one path may be one step ahead of
//! another. A resume brings every path to the step of the most advanced one, then continues:
//! the lagging path re-runs its step (deterministic: churn, devices, command uuids and faults
//! are functions of seed and tick), and what is shared between paths (state-comparison rows,
//! event counts, the hosts and profiles churn touched) comes from the most advanced record,
//! so a comparison is never made twice or from a half-advanced pair.
//!
//! Not atomic: the concurrency mode (`--concurrent-churn`), whose churn task writes while the
//! tick runs; such a run cannot be resumed.

use super::{EqRow, PathRun, TickRow, Universe};
use crate::analysis::convergence::{Flushed, Sample};
use crate::analysis::liveness::Monitor;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// The table each path database keeps its record in (`setup` and `record` rows).
const TABLE: &str = "reconsim_run";
/// The convergence samples still open, one row a (host, profile) pair: a step writes only the
/// pairs it opened or closed, so a checkpoint costs what the step changed, not the run so far.
const OPEN: &str = "reconsim_samples_open";
/// The closed convergence samples, appended in the order they closed.
const CLOSED: &str = "reconsim_samples_closed";
/// The tick of each host uuid's last visit (batched and drain), one row a uuid: a step writes
/// only the uuids its tick visited (a window's worth, adjacent in key order).
const LAST_VISIT: &str = "reconsim_last_visit";

/// The version of the records' layout and step numbering; a run folder written with another
/// is refused on `--resume` instead of being misread.
pub const FORMAT: u32 = 6;

/// What a run's setup fixed, stored once in every path database when it is created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    /// `FORMAT` of the reconsim that created the run (absent: the first, unversioned one).
    #[serde(default)]
    pub format: u32,
    pub universe: Universe,
    /// Measured ticks.
    pub ticks: u32,
}

/// What the paths share: written into every path's record at each step it commits.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shared {
    /// The step this shared state is complete through.
    pub pos: u64,
    pub equivalence: Vec<EqRow>,
    pub events: BTreeMap<crate::harness::loadtest::EventKind, u64>,
    pub touched_hosts: Vec<(String, u32)>,
    pub touched_profiles: Vec<(String, u32)>,
    pub equivalence_time_us: u64,
    pub checkpoint_time_us: u64,
}

/// One path's record of the run, committed with each of its steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathRecord {
    /// The path's name (its kind, or `drain-2`, …).
    pub path: String,
    /// Steps committed (see the module doc).
    pub pos: u64,
    pub ticks: Vec<TickRow>,
    /// Phase → histogram (HdrHistogram V2 encoding, hex).
    pub hist: BTreeMap<String, String>,
    pub totals_us: BTreeMap<String, u64>,
    pub cpu_us: u64,
    pub peak_rss_kib: Option<u64>,
    /// Closed samples stored (the rows of `reconsim_samples_closed`); the open ones are the
    /// rows of `reconsim_samples_open`. Both tables are written in the step's transaction.
    pub closed_count: u64,
    /// The scan state (`Scan`): stored under a key of its own, only by the steps that change
    /// it (warm-up ticks and part A), so parts B and C do not rewrite a fleet-sized value.
    #[serde(skip)]
    pub scan: Scan,
    pub pass_start: u32,
    /// A batched pass that ended in part A of the last tick, to compare before part C:
    /// (first tick of the pass, host ids visited).
    pub boundary: Option<(u32, Vec<i64>)>,
    /// The batched cursor as the path's store holds it.
    pub cursor: String,
    pub shared: Shared,
}

/// The part of a path's record that only the reconciler's steps change: this pass's visited
/// host ids and the liveness monitor's state under the record table's `scan` key, the
/// monitor's listed-host maps under `listed` (rewritten only when the monitor replaced them),
/// and the tick of each host uuid's last visit in table `reconsim_last_visit`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scan {
    #[serde(skip)]
    pub last_visit: FxHashMap<String, u32>,
    pub pass_visited: Vec<i64>,
    /// With its listed-host maps restored.
    pub monitor: Option<Monitor>,
}

/// `Scan` borrowed from the run, to store without copying it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScanRef<'a> {
    pub pass_visited: &'a HashSet<i64>,
    pub monitor: &'a Option<Monitor>,
    /// The monitor's listed-host maps are stored when their version is not this one (the
    /// version the database holds).
    #[serde(skip)]
    pub listed_stored: u64,
    /// Last visits since the last store: (uuid, tick), later entries winning.
    #[serde(skip)]
    pub visits: &'a [(String, u32)],
}

impl PathRecord {
    /// The record of a path that has run nothing yet.
    pub fn fresh(path: &str) -> PathRecord {
        PathRecord {
            path: path.to_string(),
            pos: 0,
            ticks: Vec::new(),
            hist: BTreeMap::new(),
            totals_us: BTreeMap::new(),
            cpu_us: 0,
            peak_rss_kib: None,
            closed_count: 0,
            scan: Scan::default(),
            pass_start: 0,
            boundary: None,
            cursor: String::new(),
            shared: Shared::default(),
        }
    }

    /// The measurements as a `PathRun`.
    pub fn run(&self) -> Result<PathRun, String> {
        let mut run = PathRun {
            cpu: Duration::from_micros(self.cpu_us),
            peak_rss_kib: self.peak_rss_kib,
            ticks: self.ticks.clone(),
            ..PathRun::default()
        };
        for (phase, h) in &self.hist {
            run.hist.insert(
                phase.clone(),
                crate::support::histogram::Latency::decode(h)?,
            );
        }
        for (phase, us) in &self.totals_us {
            run.totals.insert(phase.clone(), Duration::from_micros(*us));
        }
        Ok(run)
    }

    /// The measurements of `run` into this record.
    pub fn set_run(&mut self, run: &PathRun) {
        self.ticks = run.ticks.clone();
        self.hist = run
            .hist
            .iter()
            .map(|(k, h)| (k.clone(), h.encode()))
            .collect();
        self.totals_us = run
            .totals
            .iter()
            .map(|(k, d)| (k.clone(), d.as_micros() as u64))
            .collect();
        self.cpu_us = run.cpu.as_micros() as u64;
        self.peak_rss_kib = run.peak_rss_kib;
    }
}

/// Errors reading or writing a run record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{file}: {source}")]
    Sqlite {
        file: String,
        source: rusqlite::Error,
    },
    #[error("{file}: table {TABLE}, row `{key}`: {detail}")]
    Bad {
        file: String,
        key: &'static str,
        detail: String,
    },
    #[error("{file}: not a loadtest path database (no table {TABLE})")]
    Missing { file: String },
}

impl From<RecordError> for crate::harness::error::HarnessError {
    fn from(e: RecordError) -> Self {
        crate::harness::error::HarnessError::Record(Box::new(e))
    }
}

/// Creates the record table in a new path database and stores its setup and fresh record.
pub fn init(conn: &Connection, file: &str, setup: &Setup, path: &str) -> Result<(), RecordError> {
    let sql = |source| RecordError::Sqlite {
        file: file.to_string(),
        source,
    };
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {OPEN} (host_uuid TEXT NOT NULL, profile_uuid TEXT NOT NULL,
           sample TEXT NOT NULL, PRIMARY KEY (host_uuid, profile_uuid)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS {CLOSED} (seq INTEGER PRIMARY KEY, sample TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {LAST_VISIT} (uuid TEXT PRIMARY KEY, tick INTEGER NOT NULL)
           WITHOUT ROWID;"
    ))
    .map_err(sql)?;
    put(conn, "setup", &json(setup)).map_err(sql)?;
    put(conn, "record", &json(&PathRecord::fresh(path))).map_err(sql)
}

fn json<T: Serialize>(v: &T) -> String {
    // Our own plain structs: serialising them cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

fn put(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO {TABLE} (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ))?
    .execute([key, value])
    .map(|_| ())
}

/// Reads a path database's setup and record.
pub fn load(conn: &Connection, file: &str) -> Result<(Setup, PathRecord), RecordError> {
    let sql = |source| RecordError::Sqlite {
        file: file.to_string(),
        source,
    };
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [TABLE],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if !exists {
        return Err(RecordError::Missing {
            file: file.to_string(),
        });
    }
    // A row that may be missing (a run that stored no scan state yet has none).
    let maybe = |key: &'static str| -> Result<Option<String>, RecordError> {
        conn.query_row(
            &format!("SELECT value FROM {TABLE} WHERE key = ?1"),
            [key],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(sql)
    };
    let get = |key: &'static str| -> Result<String, RecordError> {
        maybe(key)?.ok_or_else(|| RecordError::Bad {
            file: file.to_string(),
            key,
            detail: "missing".into(),
        })
    };
    let bad = |key: &'static str| {
        move |e: serde_json::Error| RecordError::Bad {
            file: file.to_string(),
            key,
            detail: e.to_string(),
        }
    };
    let setup: Setup = serde_json::from_str(&get("setup")?).map_err(bad("setup"))?;
    if setup.format != FORMAT {
        return Err(RecordError::Bad {
            file: file.to_string(),
            key: "setup",
            detail: format!(
                "written by another reconsim version (record format {}, this one reads {FORMAT}); \
                 start the run again",
                setup.format
            ),
        });
    }
    let mut record: PathRecord = serde_json::from_str(&get("record")?).map_err(bad("record"))?;
    if let Some(text) = maybe("scan")? {
        record.scan = serde_json::from_str(&text).map_err(bad("scan"))?;
    }
    if let Some(m) = record.scan.monitor.as_mut() {
        match maybe("listed")? {
            Some(text) => {
                let l = serde_json::from_str(&text).map_err(bad("listed"))?;
                m.restore_listed(l).map_err(|detail| RecordError::Bad {
                    file: file.to_string(),
                    key: "listed",
                    detail,
                })?;
            }
            None if m.listed_version() > 0 => {
                return Err(RecordError::Bad {
                    file: file.to_string(),
                    key: "listed",
                    detail: "missing".into(),
                });
            }
            None => {}
        }
    }
    let mut stmt = conn
        .prepare(&format!("SELECT uuid, tick FROM {LAST_VISIT}"))
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))
        .map_err(sql)?;
    for row in rows {
        let (uuid, tick) = row.map_err(sql)?;
        record.scan.last_visit.insert(uuid, tick);
    }
    Ok((setup, record))
}

/// Stores a path's record (inside the step's transaction, which the caller commits), with the
/// scan state when given (a step that changed it; the others leave the stored one).
pub fn store(
    conn: &Connection,
    record: &PathRecord,
    scan: Option<ScanRef<'_>>,
) -> rusqlite::Result<()> {
    put(conn, "record", &json(record))?;
    if let Some(scan) = scan {
        put(conn, "scan", &json(&scan))?;
        if let Some(m) = scan
            .monitor
            .as_ref()
            .filter(|m| m.listed_version() != scan.listed_stored)
        {
            put(conn, "listed", &json(&m.listed_maps()))?;
        }
        let mut visit = conn.prepare_cached(&format!(
            "INSERT INTO {LAST_VISIT} (uuid, tick) VALUES (?1, ?2)
             ON CONFLICT (uuid) DO UPDATE SET tick = excluded.tick"
        ))?;
        for (uuid, tick) in scan.visits {
            visit.execute(rusqlite::params![uuid, tick])?;
        }
    }
    Ok(())
}

/// Stores what changed in the samples since the last store (inside the step's transaction):
/// each touched pair's open sample written, or deleted when none is open, and the newly closed
/// samples appended. Returns the closed count now stored.
pub fn store_samples(conn: &Connection, f: &Flushed) -> rusqlite::Result<u64> {
    let mut put = conn.prepare_cached(&format!(
        "INSERT INTO {OPEN} (host_uuid, profile_uuid, sample) VALUES (?1, ?2, ?3)
         ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET sample = excluded.sample"
    ))?;
    let mut del = conn.prepare_cached(&format!(
        "DELETE FROM {OPEN} WHERE host_uuid = ?1 AND profile_uuid = ?2"
    ))?;
    for ((h, p), sample) in &f.open {
        match sample {
            Some(s) => put.execute(rusqlite::params![h, p, json(s)])?,
            None => del.execute([h, p])?,
        };
    }
    let mut add = conn.prepare_cached(&format!(
        "INSERT INTO {CLOSED} (seq, sample) VALUES (?1, ?2)"
    ))?;
    for (i, s) in f.closed.iter().enumerate() {
        add.execute(rusqlite::params![(f.closed_before + i) as i64 + 1, json(s)])?;
    }
    Ok((f.closed_before + f.closed.len()) as u64)
}

/// The samples a path database holds: (open in pair order, closed in closing order). The
/// closed count must be the record's; `file` names the database in an error.
pub fn load_samples(
    conn: &Connection,
    file: &str,
    closed_count: u64,
) -> Result<(Vec<Sample>, Vec<Sample>), RecordError> {
    let sql = |source| RecordError::Sqlite {
        file: file.to_string(),
        source,
    };
    let read = |query: String, key: &'static str| -> Result<Vec<Sample>, RecordError> {
        let mut stmt = conn.prepare(&query).map_err(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(sql)?;
            out.push(serde_json::from_str(&text).map_err(|e| RecordError::Bad {
                file: file.to_string(),
                key,
                detail: e.to_string(),
            })?);
        }
        Ok(out)
    };
    let open = read(
        format!("SELECT sample FROM {OPEN} ORDER BY host_uuid, profile_uuid"),
        "samples_open",
    )?;
    let closed = read(
        format!("SELECT sample FROM {CLOSED} ORDER BY seq"),
        "samples_closed",
    )?;
    if closed.len() as u64 != closed_count {
        return Err(RecordError::Bad {
            file: file.to_string(),
            key: "record",
            detail: format!(
                "closed_count {closed_count}, but table {CLOSED} holds {} samples",
                closed.len()
            ),
        });
    }
    Ok((open, closed))
}

/// Begins a step's transaction unless one is open: `BEGIN IMMEDIATE`, so that a lock held by
/// another connection is waited for (the busy handler runs) instead of failing the upgrade.
pub fn ensure_txn(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() {
        conn.execute_batch("BEGIN IMMEDIATE")
    } else {
        Ok(())
    }
}

/// Step positions (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    pub warmup: u32,
    pub ticks: u32,
}

impl Steps {
    pub fn warmup(self, w: u32) -> u64 {
        w as u64 + 1
    }
    pub fn part_a(self, tick: u32) -> u64 {
        self.warmup as u64 + 3 * tick as u64 + 1
    }
    pub fn part_b(self, tick: u32) -> u64 {
        self.part_a(tick) + 1
    }
    pub fn part_c(self, tick: u32) -> u64 {
        self.part_a(tick) + 2
    }
    /// The device round (warm-up rounds first, then one a measured tick) that comes next
    /// after `pos` committed steps: the devices answer in each warm-up step and in part B.
    pub fn next_round(self, pos: u64) -> u64 {
        let warmup = self.warmup as u64;
        if pos < warmup {
            pos
        } else {
            warmup + (pos - warmup + 1) / 3
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::convergence::Want;

    /// The setup of a one-tick run over an empty universe.
    fn empty_setup() -> Setup {
        Setup {
            format: FORMAT,
            universe: Universe {
                host_ids: vec![],
                label_ids: vec![],
                profiles: vec![],
                teams: vec![],
                eligible: 0,
            },
            ticks: 1,
        }
    }

    #[test]
    fn a_record_round_trips_through_the_database() {
        let conn = Connection::open_in_memory().unwrap();
        let setup = Setup {
            format: FORMAT,
            universe: Universe {
                host_ids: vec![1, 2],
                label_ids: vec![],
                profiles: vec!["a1".into()],
                teams: vec![],
                eligible: 2,
            },
            ticks: 4,
        };
        init(&conn, "x.db", &setup, "batched").unwrap();
        let (s, r) = load(&conn, "x.db").unwrap();
        assert_eq!((s.ticks, r.pos, r.path.as_str()), (4, 0, "batched"));
        let mut rec = PathRecord::fresh("batched");
        rec.pos = 7;
        rec.cursor = "C".into();
        rec.ticks.push(TickRow {
            path: "batched".into(),
            tick: 3,
            virtual_time_s: 90,
            cursor_before: "A".into(),
            cursor_after: "B".into(),
            hosts: 5,
            installs: 2,
            removes: 1,
            duration_us: 1234,
            outcome: crate::harness::loadtest::TickOutcome::Ok,
            error: String::new(),
            rows_read: 9,
            busy_retries: 0,
            windows: 1,
            stop: String::new(),
        });
        let open = Sample {
            host_uuid: "H".into(),
            profile_uuid: "a1".into(),
            want: Want::Install {
                checksum: vec![1, 2],
                secrets: None,
            },
            event_tick: 1,
            event_s: 60,
            outcome: crate::analysis::convergence::SampleOutcome::Open,
            end_s: None,
        };
        let closed = Sample {
            outcome: crate::analysis::convergence::SampleOutcome::Converged,
            end_s: Some(90),
            profile_uuid: "a2".into(),
            ..open.clone()
        };
        let k1 = ("H".to_string(), "a1".to_string());
        let k2 = ("H".to_string(), "a2".to_string());
        // Step 1: two pairs open; step 2: one of them closes.
        let step1 = Flushed {
            open: vec![(k1, Some(open.clone())), (k2.clone(), Some(open.clone()))],
            ..Flushed::default()
        };
        store_samples(&conn, &step1).unwrap();
        let step2 = Flushed {
            open: vec![(k2, None)],
            closed: vec![closed.clone()],
            closed_before: 0,
        };
        let n = store_samples(&conn, &step2).unwrap();
        rec.closed_count = n;
        let monitor = Some(Monitor::new(
            10,
            crate::domain::rules::Rules::default(),
            crate::domain::variant::Variant::default(),
            3,
        ));
        let pass_visited: HashSet<i64> = [2, 1].into_iter().collect();
        let visits = [
            ("H".to_string(), 1),
            ("G".to_string(), 2),
            ("H".to_string(), 3),
        ];
        let scan = ScanRef {
            pass_visited: &pass_visited,
            monitor: &monitor,
            listed_stored: 0,
            visits: &visits,
        };
        store(&conn, &rec, Some(scan)).unwrap();
        // The last visit of each uuid: the later entry wins.
        let last_visit: FxHashMap<String, u32> = [("H".to_string(), 3), ("G".to_string(), 2)]
            .into_iter()
            .collect();
        let (_, back) = load(&conn, "x.db").unwrap();
        assert_eq!(back.pos, 7);
        assert_eq!(back.cursor, "C");
        assert_eq!(back.ticks, rec.ticks);
        assert!(back.scan.monitor.is_some());
        assert_eq!(back.scan.last_visit, last_visit);
        let mut ids = back.scan.pass_visited.clone();
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2]);
        // A step that does not store the scan state leaves the stored one.
        rec.pos = 8;
        store(&conn, &rec, None).unwrap();
        let (_, back) = load(&conn, "x.db").unwrap();
        assert_eq!(back.pos, 8);
        assert!(back.scan.monitor.is_some());
        assert_eq!(back.scan.last_visit, last_visit);
        let (o, c) = load_samples(&conn, "x.db", back.closed_count).unwrap();
        assert_eq!((o, c), (vec![open], vec![closed]));
        let e = load_samples(&conn, "x.db", 2).unwrap_err().to_string();
        assert!(
            e.contains("closed_count 2, but table reconsim_samples_closed holds 1"),
            "{e}"
        );
    }

    #[test]
    fn the_monitors_listed_hosts_are_stored_when_replaced_and_required_back() {
        let fleet = crate::paths::batched::tests::quick_fleet();
        let cfg = crate::paths::batched::BatchedConfig {
            batch_size: 100,
            rules: crate::domain::rules::Rules::default(),
            variant: crate::domain::variant::Variant::default(),
        };
        let mut m = Monitor::new(100, cfg.rules, cfg.variant, 3);
        let mut cursor = crate::paths::cursor::MemoryCursor::default();
        let r = crate::paths::batched::tick(&fleet, &mut cursor, &cfg);
        m.observe(&fleet, 0, &r).unwrap();
        assert_eq!(m.listed_version(), 1);
        let listed = serde_json::to_value(m.listed_maps()).unwrap();
        assert!(listed["expected"].as_object().unwrap().len() > 100);
        let conn = Connection::open_in_memory().unwrap();
        let setup = empty_setup();
        init(&conn, "x.db", &setup, "batched").unwrap();
        let monitor = Some(m);
        let pass_visited = HashSet::new();
        let scan = |listed_stored| ScanRef {
            pass_visited: &pass_visited,
            monitor: &monitor,
            listed_stored,
            visits: &[],
        };
        let rec = PathRecord::fresh("batched");
        store(&conn, &rec, Some(scan(0))).unwrap();
        let (_, back) = load(&conn, "x.db").unwrap();
        let back = back.scan.monitor.expect("a monitor");
        assert_eq!(back.listed_version(), 1);
        assert_eq!(serde_json::to_value(back.listed_maps()).unwrap(), listed);
        // A step after which the database holds this version does not write the maps again:
        // without the row, the record is refused.
        conn.execute("DELETE FROM reconsim_run WHERE key = 'listed'", [])
            .unwrap();
        store(&conn, &rec, Some(scan(1))).unwrap();
        let e = load(&conn, "x.db").unwrap_err().to_string();
        assert!(e.contains("row `listed`: missing"), "{e}");
    }

    #[test]
    fn a_malformed_record_is_refused_naming_the_row() {
        let conn = Connection::open_in_memory().unwrap();
        let setup = empty_setup();
        init(&conn, "x.db", &setup, "legacy").unwrap();
        conn.execute(
            "UPDATE reconsim_run SET value = replace(value, '\"pos\":0', '\"pos\":\"zero\"') WHERE key = 'record'",
            [],
        )
        .unwrap();
        let e = load(&conn, "x.db").unwrap_err().to_string();
        assert!(
            e.starts_with("x.db: table reconsim_run, row `record`:"),
            "{e}"
        );
        let empty = Connection::open_in_memory().unwrap();
        let e = load(&empty, "y.db").unwrap_err().to_string();
        assert_eq!(
            e,
            "y.db: not a loadtest path database (no table reconsim_run)"
        );
    }

    #[test]
    fn steps_are_ordered_warmup_then_a_and_b() {
        let s = Steps {
            warmup: 2,
            ticks: 3,
        };
        assert_eq!((s.warmup(0), s.warmup(1)), (1, 2));
        assert_eq!((s.part_a(0), s.part_b(0), s.part_c(0)), (3, 4, 5));
        assert_eq!((s.part_a(2), s.part_c(2)), (9, 11));
    }
}
