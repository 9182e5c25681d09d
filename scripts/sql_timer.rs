//! Runs an SQL script on the SQLite library reconsim bundles, timing each statement, so a
//! benchmark can hold reconsim's own work against SQLite's on the same library version
//! (`scripts/bench-generate.sh` runs its copy floor through both this and Debian's `sqlite3`).
//!
//! Usage: `cargo run --release --example sql_timer -- DB < script.sql`; `-- --version` prints
//! the library's version.
//!
//! The script is SQL statements, and lines beginning with `.`: `.timer on` starts the timing,
//! every other dot line is ignored (`reconsim::support::sqlite::run_timed_script`). After
//! `.timer on`, each statement prints one line `Run Time: real SECONDS` (the form of the
//! `sqlite3` shell's timer, which the script reads). Exit 2, naming the statement, on an error.

use std::io::Read;

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
    let printed = reconsim::support::sqlite::run_timed_script(&conn, &script, |d| {
        println!("Run Time: real {:.3}", d.as_secs_f64())
    });
    if let Err(e) = printed {
        eprintln!("sql_timer: {e}");
        std::process::exit(2);
    }
}
