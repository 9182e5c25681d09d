//! A path's own database during a run: the copy of the fleet it starts from, how it is opened
//! (the pragmas the manifest lists, the rollback journal kept between steps), and the busy
//! handler that counts its lock waits.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Copies `base` into `dst` with the SQLite backup API (a byte-identical start for each path)
/// and opens it (its journal deleted at each commit, as SQLite does by default: `dst` may be a
/// temporary name that is renamed once the copy is complete).
pub fn copy_fleet(base: &Path, dst: &Path) -> rusqlite::Result<Connection> {
    let src = Connection::open_with_flags(base, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.backup(
        rusqlite::MAIN_DB,
        dst,
        None::<fn(rusqlite::backup::Progress)>,
    )?;
    open_scratch(dst)
}

/// Opens a path's database for the run (also when resuming one), in its place in the run's
/// working state. The rollback journal is kept between commits (`PERSIST`: its header is
/// zeroed instead of the file being deleted), so a step's COMMIT writes over the journal's
/// blocks rather than creating, growing and unlinking a file each time; the journal goes with
/// the working state when the run ends. After a step it is cut back to `JOURNAL_LIMIT_BYTES`:
/// a cold run's first device rounds answer most of the fleet, and at a million hosts a journal
/// kept at that size (13 GB) beside the 15 GB database left the page cache short: the devices
/// took 229 s, and 172 s with the limit in the run right after (128 s in an earlier one; one
/// run each, docs/methodology.md). At 100k hosts the limit cost a cold run 1.5–2 s of regrowth
/// (`results/20261204T073503Z-harness-cost-100k/`).
/// A kill mid-step leaves a hot journal that the next open rolls back, as in the default mode.
pub fn open_path_db(dst: &Path) -> rusqlite::Result<Connection> {
    let conn = open_scratch(dst)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = PERSIST", [], |r| r.get(0))?;
    debug_assert_eq!(mode, "persist");
    conn.query_row(
        &format!("PRAGMA journal_size_limit = {JOURNAL_LIMIT_BYTES}"),
        [],
        |_| Ok(()),
    )?;
    Ok(conn)
}

/// The most of a path database's rollback journal kept between steps (256 MiB).
const JOURNAL_LIMIT_BYTES: u64 = 256 << 20;

/// Every path database's pragmas during a run, as (name, value): a simulation's scratch copy
/// needs no fsyncs; the same cache and mapping for every path, the mapping as large as SQLite
/// allows.
fn scratch_pragmas() -> [(&'static str, String); 4] {
    [
        ("synchronous", "OFF".into()),
        ("temp_store", "MEMORY".into()),
        ("cache_size", "-262144".into()),
        (
            "mmap_size",
            crate::support::sqlite::MAX_MMAP_BYTES.to_string(),
        ),
    ]
}

/// The pragmas a path database runs with, as `name=value` (the manifest lists them).
pub fn path_db_pragmas() -> Vec<String> {
    scratch_pragmas()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain([
            "journal_mode=PERSIST".to_string(),
            format!("journal_size_limit={JOURNAL_LIMIT_BYTES}"),
        ])
        .collect()
}

fn open_scratch(dst: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(dst)?;
    for (k, v) in scratch_pragmas() {
        conn.execute_batch(&format!("PRAGMA {k} = {v};"))?;
    }
    Ok(conn)
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
