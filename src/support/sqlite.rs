//! Process-wide SQLite settings, made once before the first connection opens; and a timed
//! runner of SQL scripts for the benchmarks' floors (`scripts/sql_timer.rs`).

use rusqlite::fallible_iterator::FallibleIterator;
use std::time::{Duration, Instant};

/// Turns SQLite's memory statistics off for this process (`SQLITE_CONFIG_MEMSTATUS`). With
/// them on, as the bundled build has them, every allocation SQLite makes takes a global mutex
/// to count it (bound text, records, cursors); nothing here reads the counts. It must run
/// before SQLite initialises, that is before the first connection opens; later SQLite refuses
/// it and changes nothing, and this returns false.
pub fn skip_memory_statistics() -> bool {
    // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int argument. sqlite3_config is not
    // thread-safe: the binary calls this first thing in `main`, before any thread that could
    // open a connection; called after SQLite initialised, it returns SQLITE_MISUSE and
    // changes nothing.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int)
    };
    rc == rusqlite::ffi::SQLITE_OK
}

/// The most of a database file the bundled SQLite memory-maps (its `SQLITE_MAX_MMAP_SIZE` on
/// Linux, 0x7fff0000 bytes): a larger `PRAGMA mmap_size` is cut to this without an error, so
/// reconsim asks for no more (`--mmap-mib` refuses more than `MAX_MMAP_MIB`).
pub const MAX_MMAP_BYTES: u64 = 0x7fff_0000;
/// `MAX_MMAP_BYTES` in whole MiB (2,047).
pub const MAX_MMAP_MIB: u64 = MAX_MMAP_BYTES >> 20;

/// Runs `script` on `conn` statement by statement, in the manner of the `sqlite3` shell: lines
/// beginning with `.` are commands, of which `.timer on` starts the timing and the others are
/// ignored. After `.timer on`, each statement's time (prepared, then stepped to the end, its rows
/// dropped) goes to `timed`. An error names the statement (or, when it does not prepare, the
/// text from it on).
pub fn run_timed_script(
    conn: &rusqlite::Connection,
    script: &str,
    mut timed: impl FnMut(Duration),
) -> Result<(), String> {
    let mut timer = false;
    let mut chunk = String::new();
    for line in script.lines().chain(std::iter::once(".end")) {
        if !line.starts_with('.') {
            chunk.push_str(line);
            chunk.push('\n');
            continue;
        }
        let mut batch = rusqlite::Batch::new(conn, &chunk);
        loop {
            let t = Instant::now();
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(e) => return Err(format!("{e} (in {:?})", chunk.trim())),
            };
            let text = stmt.expanded_sql().unwrap_or_default();
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(format!("{e} (in {:?})", text.trim())),
                }
            }
            if timer {
                timed(t.elapsed());
            }
        }
        chunk.clear();
        if line.trim() == ".timer on" {
            timer = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timed_script_times_each_statement_after_timer_on() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let script = "CREATE TABLE t (x);\n.timer on\nINSERT INTO t VALUES (1), (2);\n\
                      .headers on\nINSERT INTO t\n  SELECT x + 10 FROM t;\nSELECT * FROM t;\n";
        let mut times = 0;
        run_timed_script(&conn, script, |_| times += 1).unwrap();
        // Three statements after `.timer on` (one over two lines), none before it.
        assert_eq!(times, 3);
        let rows: i64 = conn
            .query_row("SELECT sum(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1 + 2 + 11 + 12);
        let err = run_timed_script(&conn, ".timer on\nSELECT * FROM nope;\n", |_| {}).unwrap_err();
        assert!(
            err.contains("no such table: nope") && err.contains("SELECT * FROM nope"),
            "{err}"
        );
    }

    #[test]
    fn the_bundled_sqlite_maps_at_most_max_mmap_bytes() {
        // A file: an in-memory database maps nothing and answers no row.
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("m.db")).unwrap();
        let at = |n: u64| -> u64 {
            conn.query_row(&format!("PRAGMA mmap_size = {n}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as u64
        };
        assert_eq!(at(MAX_MMAP_BYTES), MAX_MMAP_BYTES);
        assert_eq!(at(MAX_MMAP_BYTES + 1), MAX_MMAP_BYTES);
        assert_eq!(at(4 << 30), MAX_MMAP_BYTES);
        assert_eq!(MAX_MMAP_MIB, 2047);
    }
}
