//! The storage seam: one trait for wherever a fleet lives, so the commands and the harness
//! never ask which engine they hold. SQLite (`rusqlite::Connection`) and a MySQL-compatible
//! server (`MyDb`) implement it; a new engine is one module implementing `Store` (and
//! `batched::Source`) plus one arm in `backends::open`, and the conformance suite runs over it.
//!
//! The cursor has its own seam, `paths::cursor::CursorStore`; `CursorSpec` names where it
//! lives (`db`, `file:PATH`, `redis://…`) and opens it over any `Store`.

use crate::backends::error::{Result, refused};
use crate::domain::clock::Clock;
use crate::paths::batched::{BatchedConfig, ReadPass, Source};
use crate::paths::cursor::{CursorError, CursorStore, FileCursor, SqliteCursor};
use crate::paths::legacy::{self, LegacyError, LegacyResult, LegacySql};
use crate::store::schema;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::time::Duration;

/// Where a fleet lives, as the reconciler paths and the commands use it.
pub trait Store {
    /// Engine and version for reports: `sqlite 3.50.1`, `mysql 10.11.19-MariaDB…`.
    fn engine(&self) -> String;
    /// Where it is, for messages: a file, or a URL without its password.
    fn shown(&self) -> String;
    /// The batched path's reads (semantics §4).
    fn source(&self) -> &dyn Source;
    /// The legacy diff (semantics §3), its phases timed by `clock`.
    fn legacy(&self, form: LegacySql, clock: &dyn Clock) -> Result<LegacyResult, LegacyError>;
    /// The legacy diff with each delta handed to `sink` (`legacy::run_each`) instead of
    /// collected; returns the phases' times. The default collects through `legacy` first (a
    /// server's rows arrive whole); SQLite streams them.
    fn legacy_each(
        &self,
        form: LegacySql,
        clock: &dyn Clock,
        sink: &mut legacy::Sink<'_>,
    ) -> Result<Vec<(&'static str, Duration)>, LegacyError> {
        let r = self.legacy(form, clock)?;
        for d in r.installs.iter().chain(&r.removes) {
            sink(&d.host_uuid, &d.profile_uuid, d.op);
        }
        Ok(r.timings)
    }
    /// Begins a read transaction over one consistent snapshot.
    fn begin(&self) -> Result<()>;
    /// Ends the transaction `begin` started.
    fn commit(&self) -> Result<()>;
    /// The cursor kept in the database itself (`--cursor db`).
    fn cursor(&self) -> Result<Box<dyn CursorStore + '_>, CursorError>;
    /// One plain scan of every row the batched path reads; returns the rows (the floor of
    /// semantics §9).
    fn floor(&self) -> Result<u64>;
    /// The batched pass's queries alone, windows of `window` hosts (`batched::read_pass`);
    /// SQLite only: a server's batched reads are its own SQL, not reproduced here.
    fn reads(&self, cfg: &BatchedConfig, window: usize, clock: &dyn Clock) -> Result<ReadPass> {
        let _ = (cfg, window, clock);
        Err(refused!(
            "measure --only reads: the batched pass's reads are measured on SQLite only, not on {}",
            self.shown()
        ))
    }
}

impl Store for Connection {
    fn engine(&self) -> String {
        format!("sqlite {}", rusqlite::version())
    }

    fn shown(&self) -> String {
        match self.path() {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => "an in-memory database".to_string(),
        }
    }

    fn source(&self) -> &dyn Source {
        self
    }

    fn legacy(&self, form: LegacySql, clock: &dyn Clock) -> Result<LegacyResult, LegacyError> {
        legacy::run_with_clock(self, form, clock)
    }

    fn legacy_each(
        &self,
        form: LegacySql,
        clock: &dyn Clock,
        sink: &mut legacy::Sink<'_>,
    ) -> Result<Vec<(&'static str, Duration)>, LegacyError> {
        legacy::run_each(self, form, clock, sink)
    }

    fn begin(&self) -> Result<()> {
        Ok(self.execute_batch("BEGIN")?)
    }

    fn commit(&self) -> Result<()> {
        Ok(self.execute_batch("COMMIT")?)
    }

    fn cursor(&self) -> Result<Box<dyn CursorStore + '_>, CursorError> {
        Ok(Box::new(SqliteCursor::new(self)?))
    }

    fn reads(&self, cfg: &BatchedConfig, window: usize, clock: &dyn Clock) -> Result<ReadPass> {
        Ok(crate::paths::batched::read_pass(self, cfg, window, clock)?)
    }

    fn floor(&self) -> Result<u64> {
        let mut n = 0u64;
        for sql in schema::FLOOR_SCANS {
            let mut stmt = self.prepare(sql)?;
            let cols = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                for i in 0..cols {
                    // Touch the value so SQLite decodes it, as a real reader would.
                    if let ValueRef::Text(t) | ValueRef::Blob(t) = r.get_ref(i)? {
                        std::hint::black_box(t);
                    }
                }
                n += 1;
            }
        }
        Ok(n)
    }
}

/// How to open a fleet.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// SQLite's memory-mapped reads in MiB (0 = plain reads through the page cache).
    pub mmap_mib: u64,
    /// SQLite's page cache in MiB.
    pub cache_mib: u64,
    /// On a server: copy every contract table into the local SQLite copy (the classifier's and
    /// the liveness monitor's facts), not only `reconsim_meta` (enough for timing runs).
    pub copy: bool,
    /// Begin one read transaction that every query of the command runs in.
    pub snapshot: bool,
    /// SQLite: open read-write (only `tick --cursor db` writes, and only its cursor table).
    pub writable: bool,
    /// Check every value the paths read before returning (`schema::check_values`, one scan
    /// of every table: 29 s at a million hosts). `compare` turns it off to run the check on
    /// a second connection beside the legacy diff (`Snapshot::second_reader`).
    pub check_values: bool,
}

impl std::default::Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            mmap_mib: 0,
            cache_mib: 256,
            copy: true,
            snapshot: true,
            writable: false,
            check_values: true,
        }
    }
}

/// An opened fleet: a local SQLite database (the fleet itself, or a copy of what the server
/// holds) and, when the fleet lives on a server, that server. The reconciler paths run on
/// `store()`; facts for the classifier and the monitor are read from `conn`.
pub struct Fleet {
    /// The SQLite database; on a server backend, the local copy.
    pub conn: Connection,
    /// The server holding the fleet, when it is not `conn`.
    server: Option<Box<dyn Store>>,
    /// How long the copy from the server took.
    pub copy_time: Option<Duration>,
}

impl Fleet {
    /// A fleet in `conn` itself.
    pub fn local(conn: Connection) -> Fleet {
        Fleet {
            conn,
            server: None,
            copy_time: None,
        }
    }

    /// Where the paths run: the server when there is one, else `conn`.
    pub fn store(&self) -> &dyn Store {
        match &self.server {
            Some(s) => s.as_ref(),
            None => &self.conn,
        }
    }

    /// A fleet on `server`, `conn` holding its copy (made in `copy_time`).
    pub fn on_server(conn: Connection, server: Box<dyn Store>, copy_time: Duration) -> Fleet {
        Fleet {
            conn,
            server: Some(server),
            copy_time: Some(copy_time),
        }
    }

    /// The fleet lives on a server and `conn` is its copy.
    pub fn is_copy(&self) -> bool {
        self.server.is_some()
    }

    /// The seed recorded by the generator, or `unknown`.
    pub fn seed_text(&self) -> String {
        crate::store::meta::seed_text(&self.conn)
    }
}

/// Where the batched path's cursor lives (`--cursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorSpec {
    /// A table in the fleet's own database.
    Db,
    /// A file.
    File(std::path::PathBuf),
    /// A Redis key (`redis://` or `rediss://` URL).
    Redis(String),
}

impl std::str::FromStr for CursorSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<CursorSpec, String> {
        if s == "db" {
            Ok(CursorSpec::Db)
        } else if let Some(p) = s.strip_prefix("file:") {
            Ok(CursorSpec::File(p.into()))
        } else if s.starts_with("redis://") || s.starts_with("rediss://") {
            Ok(CursorSpec::Redis(s.to_string()))
        } else {
            Err(format!(
                "{s:?}: expected db, file:PATH or redis://HOST:PORT"
            ))
        }
    }
}

impl std::fmt::Display for CursorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CursorSpec::Db => f.write_str("db"),
            CursorSpec::File(p) => write!(f, "file:{}", p.display()),
            CursorSpec::Redis(u) => f.write_str(u),
        }
    }
}

impl CursorSpec {
    /// Opens a cursor that lives outside any fleet database (`file:` or Redis).
    pub fn open_external(&self, key: &str) -> Result<Box<dyn CursorStore>> {
        Ok(match self {
            CursorSpec::Db => return Err(refused!("the cursor in the database needs a store")),
            CursorSpec::File(path) => Box::new(FileCursor { path: path.clone() }),
            CursorSpec::Redis(url) => Box::new(crate::backends::rediscursor::RedisCursor::connect(
                url, key,
            )?),
        })
    }

    /// Opens the cursor over `store` (`key` names the Redis key).
    pub fn open<'a>(&self, store: &'a dyn Store, key: &str) -> Result<Box<dyn CursorStore + 'a>> {
        match self {
            CursorSpec::Db => Ok(store.cursor()?),
            _ => self.open_external(key),
        }
    }
}

/// A copy of a path's SQLite database on a server, kept in step by the harness: the
/// loadtest's server backends. The reconciler reads the copy; the writer, the devices and the
/// churn write the SQLite database.
pub trait Replica {
    /// Replays the SQLite changes since the last call; returns rows replayed.
    fn sync(&mut self, conn: &Connection) -> Result<u64>;
    /// The server, for the reconciler's reads.
    fn store(&self) -> &dyn Store;
}
