//! Runs an SQL script on the SQLite library reconsim bundles, timing each statement, so a
//! benchmark can hold reconsim's own work against SQLite's on the same library version
//! (`scripts/bench-generate.sh` runs its copy floor through both this and Debian's `sqlite3`).
//!
//! Usage: `cargo run --release --example sql_timer -- DB < script.sql`; `-- --version` prints
//! the library's version.
//!
//! The script is SQL statements, and lines beginning with `.`: `.timer on` starts the timing,
//! every other dot line is ignored. After `.timer on`, each statement prints one line
//! `Run Time: real SECONDS` (the form of the `sqlite3` shell's timer, which the script reads).
//! Rows a statement returns are stepped and dropped. Exit 2, naming the statement, on an error.

use rusqlite::fallible_iterator::FallibleIterator;
use std::io::Read;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--version") {
        println!("{}", rusqlite::version());
        return;
    }
    let [_, db] = args.as_slice() else {
        eprintln!("usage: sql_timer DB < script.sql");
        std::process::exit(2);
    };
    let mut script = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut script) {
        eprintln!("sql_timer: reading the script from stdin: {e}");
        std::process::exit(2);
    }
    let conn = match rusqlite::Connection::open(db) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sql_timer: opening {db}: {e}");
            std::process::exit(2);
        }
    };
    let mut timer = false;
    let mut chunk = String::new();
    for line in script.lines().chain(std::iter::once(".end")) {
        if !line.starts_with('.') {
            chunk.push_str(line);
            chunk.push('\n');
            continue;
        }
        if let Err(e) = run(&conn, &chunk, timer) {
            eprintln!("sql_timer: {e}");
            std::process::exit(2);
        }
        chunk.clear();
        if line.trim() == ".timer on" {
            timer = true;
        }
    }
}

/// Runs every statement of `sql` in turn, printing each one's time when `timer`.
fn run(conn: &rusqlite::Connection, sql: &str, timer: bool) -> Result<(), String> {
    let mut batch = rusqlite::Batch::new(conn, sql);
    loop {
        let t = Instant::now();
        let mut stmt = match batch.next() {
            Ok(Some(stmt)) => stmt,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("preparing a statement: {e}")),
        };
        let text = stmt.expanded_sql().unwrap_or_default();
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(format!("{}: {e}", text.trim())),
            }
        }
        if timer {
            println!("Run Time: real {:.3}", t.elapsed().as_secs_f64());
        }
    }
}
