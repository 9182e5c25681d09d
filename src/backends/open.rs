//! Opening a backend: the one place that turns a `Backend` (an SQLite path or a server URL)
//! into a `Store`. Everything after works through the `store` seam.

use crate::backends::backend::Backend;
use crate::backends::error::{Result, refused};
use crate::backends::store::{Fleet, OpenOptions, Store};
use crate::store::schema;
use crate::support::progress::Progress;
use rusqlite::Connection;

/// What the progress line says during `schema::check_values` (29 s at a million hosts).
pub const CHECKING: &str = "checking the values the paths read (one scan of every table)";

/// Opens the fleet `backend` names, checks the contract (semantics §1) and the values the
/// paths read; with `opts.snapshot`, every later query sees one snapshot. The only place that
/// asks which engine a backend is.
pub fn open(backend: &Backend, opts: OpenOptions, progress: &dyn Progress) -> Result<Fleet> {
    match backend {
        Backend::Sqlite(path) => {
            let conn = schema::open_contract_db(path)?;
            let conn = if opts.writable {
                drop(conn);
                Connection::open(path)?
            } else {
                conn
            };
            set_reads(&conn, opts.mmap_mib, opts.cache_mib)?;
            if opts.snapshot {
                conn.execute_batch("BEGIN").map_err(|e| {
                    refused!(
                        "database {}: beginning a read transaction: {e}",
                        path.display()
                    )
                })?;
            }
            // The first read takes the snapshot; everything after sees the same data.
            if opts.check_values {
                progress.set_message(CHECKING.into());
                schema::check_values(&conn)?;
            } else {
                take_snapshot(&conn)?;
            }
            Ok(Fleet::local(conn))
        }
        Backend::Mysql(url) => {
            let my = crate::backends::mysqldb::MyDb::connect(url)?;
            my.check_contract()?;
            if opts.snapshot {
                my.begin_snapshot()?;
            }
            progress.set_message(format!("copying the snapshot from {}", my.shown));
            let t = std::time::Instant::now();
            let conn = crate::backends::mysqldb::copy_to_sqlite(&my, opts.copy)?;
            let copy_time = t.elapsed();
            if opts.copy && opts.check_values {
                progress.set_message(CHECKING.into());
                schema::check_values(&conn)?;
            }
            Ok(Fleet::on_server(conn, Box::new(my), copy_time))
        }
    }
}

/// The read settings of a fleet's connection. Temp tables and sorts of the tuned legacy SQL go
/// to SQLite's own temp files (SQLITE_TMPDIR, else /var/tmp; removed when closed, never beside
/// the db), held by the OS's file cache rather than the process: the desired state is ~0.5 GB
/// at 100k hosts and ~5 GB at a million. A sort's in-memory runs are the exception: SQLite
/// sizes them from `cache_mib`, so the page cache also bounds the sorts' memory. A large page
/// cache and memory-mapped reads spare the read(2) calls that otherwise took 40 % of the legacy
/// time at 10k hosts; both paths get the same connection.
pub fn set_reads(conn: &Connection, mmap_mib: u64, cache_mib: u64) -> Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA temp_store = FILE; PRAGMA cache_size = -{};
         PRAGMA mmap_size = {}",
        cache_mib * 1024,
        mmap_mib * 1024 * 1024
    ))?;
    Ok(())
}

/// Starts `conn`'s read transaction with a read that costs nothing: SQLite takes the snapshot
/// (and, in rollback-journal mode, the shared lock that keeps writers from committing) at
/// the first read after `BEGIN`, not at `BEGIN` itself.
pub fn take_snapshot(conn: &Connection) -> Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    Ok(())
}

/// Loads `conn`'s fleet into the server `backend` names and returns it, for commands that run
/// on a server what they generated (`repro --backend`). A database already holding a fleet is
/// replaced only with `force`.
pub fn load_server(
    backend: &Backend,
    conn: &Connection,
    force: bool,
    progress: &dyn Progress,
) -> Result<Box<dyn Store>> {
    match backend {
        Backend::Mysql(url) => {
            let my = crate::backends::mysqldb::MyDb::connect(url)?;
            my.refuse_existing_fleet(force)?;
            crate::backends::mysqldb::load_from_sqlite(&my, conn, progress)?;
            Ok(Box::new(my))
        }
        Backend::Sqlite(_) => Err(refused!(
            "{backend}: runs on SQLite in memory by default; a server backend is a mysql:// URL"
        )),
    }
}
