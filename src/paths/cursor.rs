//! The batched path's cursor store (spec §4.1 steps 1 and 8). Fleet keeps the cursor in Redis
//! at `mdm:apple:recon_cursor` with no TTL; here it lives behind a trait: a table in the same
//! SQLite file by default, in memory for tests and read-only passes.

use rusqlite::{Connection, OptionalExtension};

/// Fleet's Redis key; also the row key in the SQLite store.
pub const CURSOR_KEY: &str = "mdm:apple:recon_cursor";

/// reconsim's own Redis key by default (`--cursor-key`): pointed at a Redis that Fleet also
/// uses, reconsim never moves Fleet's cursor unless `--cursor-key mdm:apple:recon_cursor` says
/// so in as many words.
pub const DEFAULT_REDIS_KEY: &str = "reconsim:mdm:apple:recon_cursor";

#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("cursor read: {0}")]
    Read(String),
    #[error("cursor write: {0}")]
    Write(String),
}

/// Where the cursor lives. A read error means "start from the beginning" to the caller.
pub trait CursorStore {
    fn read(&mut self) -> Result<String, CursorError>;
    fn write(&mut self, value: &str) -> Result<(), CursorError>;
}

/// A borrowed store is a store (a caller keeps the store to read its counters afterwards).
impl<T: CursorStore + ?Sized> CursorStore for &mut T {
    fn read(&mut self) -> Result<String, CursorError> {
        (**self).read()
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        (**self).write(value)
    }
}

/// In-memory cursor, for read-only passes and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryCursor {
    pub value: String,
    /// Number of writes performed, for tests of spec §4.1 step 8.
    pub writes: usize,
}

impl CursorStore for MemoryCursor {
    fn read(&mut self) -> Result<String, CursorError> {
        Ok(self.value.clone())
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        self.value = value.to_string();
        self.writes += 1;
        Ok(())
    }
}

/// The cursor in a table of the database itself (`reconsim_cursor`, created if missing: the
/// tool's own state, spec §1).
pub struct SqliteCursor<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteCursor<'c> {
    pub fn new(conn: &'c Connection) -> Result<SqliteCursor<'c>, CursorError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS reconsim_cursor (
               key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )
        .map_err(|e| CursorError::Write(e.to_string()))?;
        Ok(SqliteCursor { conn })
    }
}

impl CursorStore for SqliteCursor<'_> {
    fn read(&mut self) -> Result<String, CursorError> {
        self.conn
            .query_row(
                "SELECT value FROM reconsim_cursor WHERE key = ?1",
                [CURSOR_KEY],
                |r| r.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| CursorError::Read(e.to_string()))
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        self.conn
            .execute(
                "INSERT INTO reconsim_cursor (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [CURSOR_KEY, value],
            )
            .map(|_| ())
            .map_err(|e| CursorError::Write(e.to_string()))
    }
}

/// The cursor in a file of its own (`--cursor file:PATH`), for a database reconsim only reads:
/// one line, written whole (temp file, then rename); a missing file is `""`.
pub struct FileCursor {
    pub path: std::path::PathBuf,
}

impl CursorStore for FileCursor {
    fn read(&mut self) -> Result<String, CursorError> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => Ok(s.trim_end_matches('\n').to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(CursorError::Read(format!("{}: {e}", self.path.display()))),
        }
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        crate::support::files::write_atomic(&self.path, format!("{value}\n").as_bytes())
            .map_err(|e| CursorError::Write(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_cursor_starts_empty_and_keeps_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = FileCursor {
            path: dir.path().join("cursor"),
        };
        assert_eq!(c.read().unwrap(), "");
        c.write("ABC").unwrap();
        let mut again = FileCursor {
            path: dir.path().join("cursor"),
        };
        assert_eq!(again.read().unwrap(), "ABC");
    }

    use super::*;

    #[test]
    fn sqlite_cursor_starts_empty_and_persists() {
        let conn = Connection::open_in_memory().unwrap();
        let mut c = SqliteCursor::new(&conn).unwrap();
        assert_eq!(c.read().unwrap(), "");
        c.write("ABC").unwrap();
        c.write("DEF").unwrap();
        assert_eq!(SqliteCursor::new(&conn).unwrap().read().unwrap(), "DEF");
    }

    #[test]
    fn sqlite_cursor_write_fails_on_read_only_db() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.db");
        {
            let conn = Connection::open(&p).unwrap();
            SqliteCursor::new(&conn).unwrap().write("X").unwrap();
        }
        let ro =
            Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut c = SqliteCursor { conn: &ro };
        assert_eq!(c.read().unwrap(), "X");
        assert!(matches!(c.write("Y"), Err(CursorError::Write(_))));
    }
}
