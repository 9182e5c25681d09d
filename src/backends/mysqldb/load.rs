//! Loading a generated fleet into the server: LOAD DATA LOCAL INFILE in chunks (multi-row
//! INSERTs where the server refuses it), tables in primary-key order, indexes after.

use super::*;

/// What a bulk load did.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    /// `LOAD DATA LOCAL INFILE`, or `multi-row INSERT` when the server refuses it.
    pub method: &'static str,
    pub rows: u64,
    pub insert: Duration,
    pub index: Duration,
}

impl LoadStats {
    pub fn total(&self) -> Duration {
        self.insert + self.index
    }
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.total().as_secs_f64().max(1e-9)
    }
}

/// A SQL literal for a SQLite value, for a column of `column`'s kind.
pub fn push_literal(out: &mut String, v: rusqlite::types::ValueRef<'_>, column: &str) {
    push_literal_as(out, v, is_binary(column))
}

/// `push_literal` for a column stored as BINARY(16) or not.
fn push_literal_as(out: &mut String, v: rusqlite::types::ValueRef<'_>, binary: bool) {
    use rusqlite::types::ValueRef;
    use std::fmt::Write as _;
    match v {
        ValueRef::Null => out.push_str("NULL"),
        ValueRef::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) => {
            let _ = write!(out, "{f}");
        }
        ValueRef::Blob(b) => {
            out.push_str("X'");
            out.push_str(&hex::encode(b));
            out.push('\'');
        }
        ValueRef::Text(t) if binary => {
            out.push_str("X'");
            out.push_str(&hex::encode(t));
            out.push('\'');
        }
        ValueRef::Text(t) => {
            // A quoted literal in the connection's character set and collation (the tables':
            // comparisons in DELETE … IN need it), escaped as mysql_real_escape_string does;
            // the session's sql_mode (set at connect) keeps backslash escapes on.
            let Ok(text) = std::str::from_utf8(t) else {
                // Not UTF-8: sent as bytes, which strict mode refuses for a text column,
                // naming it (never silently replaced).
                out.push_str("X'");
                out.push_str(&hex::encode(t));
                out.push('\'');
                return;
            };
            out.push('\'');
            for c in text.chars() {
                match c {
                    '\0' => out.push_str("\\0"),
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\x1a' => out.push_str("\\Z"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
    }
}

impl MyDb {
    /// Refuses to go on where the database already holds a fleet reconsim loaded, unless
    /// `force` (as `generate --force` replaces an SQLite file).
    /// The TLS cipher of this session (empty: not encrypted).
    pub fn session_cipher(&self) -> Result<String> {
        let row: Option<(String, String)> = self
            .conn
            .borrow_mut()
            .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            .map_err(|e| refused!("--backend {}: {e}", self.shown))?;
        Ok(row.map(|r| r.1).unwrap_or_default())
    }

    pub fn refuse_existing_fleet(&self, force: bool) -> Result<()> {
        if !force && self.present_tables()?.iter().any(|t| t == "reconsim_meta") {
            refuse!(
                "--backend {}: database {} already holds a reconsim fleet (pass --force to \
                 replace it)",
                self.shown,
                self.database
            );
        }
        Ok(())
    }
}

/// Copies a generated fleet (every spec §1 table and `reconsim_meta`) from SQLite into the
/// server's database. The database must hold no contract table, or a fleet reconsim loaded
/// before (it has `reconsim_meta`), which is replaced. A failed load drops every table it
/// created: nothing half-loaded is left behind. `progress` counts rows.
pub fn load_from_sqlite(
    db: &MyDb,
    src: &rusqlite::Connection,
    progress: &dyn crate::support::progress::Progress,
) -> Result<LoadStats> {
    load_from_sqlite_with(db, src, progress, LoadMethod::Infile)
}

/// How rows travel to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    /// `LOAD DATA LOCAL INFILE`, falling back to INSERTs if the server refuses it.
    Infile,
    /// Multi-row INSERTs only.
    Insert,
}

/// `load_from_sqlite` with a chosen method.
pub fn load_from_sqlite_with(
    db: &MyDb,
    src: &rusqlite::Connection,
    progress: &dyn crate::support::progress::Progress,
    method: LoadMethod,
) -> Result<LoadStats> {
    // A fixture without `reconsim_meta` loads without it.
    let tables: Vec<_> = load_tables()
        .into_iter()
        .filter(|(t, _)| {
            src.query_row(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [t],
                |_| Ok(()),
            )
            .is_ok()
        })
        .collect();
    let total: u64 = tables
        .iter()
        .map(|(t, _)| {
            src.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or(0) as u64
        })
        .sum();
    progress.set_length(total);
    let loader = Loader::start(db, method)?;
    let loaded = load_inner(loader, src, &tables, progress);
    if loaded.is_err() {
        // Nothing half-written: drop what the load created.
        let _ = db.exec("ROLLBACK");
        let _ = drop_tables(db);
    }
    loaded
}

/// Drops every table a load creates (children first).
pub fn drop_tables(db: &MyDb) -> Result<()> {
    db.exec("SET foreign_key_checks = 0")?;
    for (t, _) in load_tables().iter().rev() {
        db.exec(&format!("DROP TABLE IF EXISTS {t}"))?;
    }
    db.exec("DROP TABLE IF EXISTS reconsim_cursor")?;
    db.exec("SET foreign_key_checks = 1")?;
    Ok(())
}

/// One value in `LOAD DATA`'s default text format: `\N` for NULL, backslash escapes for the
/// field and line separators, hex for binary columns (decoded by `UNHEX` on the server).
#[cfg(test)]
pub(super) fn push_tsv(out: &mut Vec<u8>, v: rusqlite::types::ValueRef<'_>, column: &str) {
    push_tsv_as(out, v, is_binary(column))
}

/// `push_tsv` for a column stored as BINARY(16) or not.
fn push_tsv_as(out: &mut Vec<u8>, v: rusqlite::types::ValueRef<'_>, binary: bool) {
    use rusqlite::types::ValueRef;
    use std::io::Write as _;
    match v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) => {
            let _ = write!(out, "{f}");
        }
        ValueRef::Blob(b) => out.extend_from_slice(hex::encode(b).as_bytes()),
        ValueRef::Text(t) if binary => out.extend_from_slice(hex::encode(t).as_bytes()),
        ValueRef::Text(t) => {
            for &b in t {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    0 => out.extend_from_slice(b"\\0"),
                    b => out.push(b),
                }
            }
        }
    }
}

/// True when the server (1148 MariaDB, 3948 MySQL) or the client (2068) refuses LOCAL INFILE:
/// the load then falls back to INSERTs.
pub(super) fn refuses_local_infile(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if matches!(m.code, 1148 | 3948 | 2068))
}

/// Bytes of rows one `LOAD DATA LOCAL INFILE` sends.
const CHUNK_BYTES: usize = 16 << 20;
/// Bytes of one multi-row INSERT.
const STATEMENT_BYTES: usize = 1 << 20;

/// A bulk load into the server, table after table, from any source of rows (a generated fleet
/// as it is drawn, or an SQLite file): `start` creates the tables (dropping a fleet reconsim
/// loaded before) and finds out whether the server takes LOCAL INFILE; `table` writes one
/// table in one transaction; `finish` builds the secondary indexes and runs `ANALYZE TABLE`.
/// Memory stays at one chunk whatever the fleet's size. On an error the caller drops the
/// tables (`drop_tables`): nothing half-loaded is left behind.
/// `start` refuses, dropping nothing, a database holding contract tables reconsim did not
/// load.
pub struct Loader<'d> {
    db: &'d MyDb,
    stats: LoadStats,
    started: Instant,
    /// The rows the local-infile handler serves for the statement running.
    served: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    table: Table,
    /// The rows of the next LOAD DATA chunk.
    buf: Vec<u8>,
    /// The next multi-row INSERT.
    sql: String,
}

impl<'d> Loader<'d> {
    pub fn start(db: &'d MyDb, method: LoadMethod) -> Result<Loader<'d>> {
        let started = Instant::now();
        // Never drops tables reconsim did not load.
        let present = db.present_tables()?;
        let ours = present.iter().any(|t| t == "reconsim_meta");
        if let Some(t) = present
            .iter()
            .find(|t| load_tables().iter().any(|(n, _)| n == t))
            .filter(|_| !ours)
        {
            refuse!(
                "{}: database {} already has table {t} and was not loaded by reconsim; \
                 use an empty database",
                db.shown,
                db.database
            );
        }
        let set_up = || -> Result<bool> {
            drop_tables(db)?;
            for ddl in tables_ddl() {
                db.exec(&ddl)
                    .map_err(|e| refused!("{}: creating tables: {e}", db.shown))?;
            }
            // Whether the server takes LOCAL INFILE, asked once with no rows, before any are
            // sent.
            Ok(method == LoadMethod::Infile
                && match db.exec(&infile_sql("teams", &["id"])) {
                    Ok(()) => true,
                    Err(e) if refuses_local_infile(&e) => false,
                    Err(e) => refuse!("{}: loading table teams: {e}", db.shown),
                })
        };
        let served = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let shared = served.clone();
        db.conn
            .borrow_mut()
            .set_local_infile_handler(Some(mysql::LocalInfileHandler::new(move |_, out| {
                let data = shared
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?;
                std::io::Write::write_all(out, &data)
            })));
        let infile = match set_up() {
            Ok(infile) => infile,
            Err(e) => {
                let _ = drop_tables(db);
                return Err(e);
            }
        };
        // A restore's settings: rows arrive in key order and were checked where they were made.
        db.exec("SET foreign_key_checks = 0, unique_checks = 0")?;
        Ok(Loader {
            db,
            stats: LoadStats {
                method: if infile {
                    "LOAD DATA LOCAL INFILE"
                } else {
                    "multi-row INSERT"
                },
                ..LoadStats::default()
            },
            started,
            served,
            table: Table::default(),
            buf: Vec::with_capacity(if infile { CHUNK_BYTES + 4096 } else { 0 }),
            sql: String::with_capacity(if infile { 0 } else { STATEMENT_BYTES + 4096 }),
        })
    }

    /// Rows loaded so far.
    pub fn rows(&self) -> u64 {
        self.stats.rows
    }

    /// Starts `table`: its rows follow (`value` after `value`, `end_row` after each row,
    /// `end_table` at the end), in primary-key order (InnoDB clusters by it, so appends stay
    /// sequential), with values for `columns` in that order. A column named `rowid` (SQLite's
    /// own key, no contract column) is skipped. One transaction per table.
    pub fn begin_table(&mut self, table: &'static str, columns: &[&'static str]) -> Result<()> {
        let sent: Vec<&'static str> = columns.iter().copied().filter(|c| *c != "rowid").collect();
        let infile = self.stats.method.starts_with("LOAD");
        let head = if infile {
            infile_sql(table, &sent)
        } else {
            format!("INSERT INTO {table} ({}) VALUES ", quoted(&sent))
        };
        self.db.exec("START TRANSACTION")?;
        self.table = Table {
            name: table,
            infile,
            head,
            skip: columns.iter().position(|c| *c == "rowid"),
            binary: columns.iter().map(|c| is_binary(c)).collect(),
            at: 0,
            rows: 0,
        };
        Ok(())
    }

    /// The next column's value of the row being written.
    pub fn value(&mut self, v: rusqlite::types::ValueRef<'_>) {
        let t = &mut self.table;
        let at = t.at;
        t.at += 1;
        if Some(at) == t.skip {
            return;
        }
        let first = at == 0 || (at == 1 && t.skip == Some(0));
        if t.infile {
            if !first {
                self.buf.push(b'\t');
            }
            push_tsv_as(&mut self.buf, v, t.binary[at]);
        } else {
            if first {
                self.sql
                    .push_str(if self.sql.is_empty() { &t.head } else { "," });
                self.sql.push('(');
            } else {
                self.sql.push(',');
            }
            push_literal_as(&mut self.sql, v, t.binary[at]);
        }
    }

    /// Ends the row whose values were given; sends a full chunk.
    pub fn end_row(&mut self) -> Result<()> {
        let t = &mut self.table;
        debug_assert_eq!(t.at, t.binary.len(), "{}: a row of the wrong width", t.name);
        t.at = 0;
        t.rows += 1;
        let full = if t.infile {
            self.buf.push(b'\n');
            self.buf.len() >= CHUNK_BYTES
        } else {
            self.sql.push(')');
            self.sql.len() >= STATEMENT_BYTES
        };
        if full {
            self.send()?;
        }
        Ok(())
    }

    /// Rows of the table being written so far.
    pub fn table_rows(&self) -> u64 {
        self.table.rows
    }

    fn send(&mut self) -> Result<()> {
        if self.buf.is_empty() && self.sql.is_empty() {
            return Ok(());
        }
        let db = self.db;
        let table = self.table.name;
        let failed = |e: mysql::Error| refused!("{}: loading table {table}: {e}", db.shown);
        if self.table.infile {
            *self
                .served
                .lock()
                .map_err(|_| refused!("poisoned buffer"))? = std::mem::take(&mut self.buf);
            let mut conn = db.conn.borrow_mut();
            conn.query_drop(&self.table.head).map_err(failed)?;
            if conn.warnings() > 0 {
                let w: Option<(String, u32, String)> = conn.query_first("SHOW WARNINGS LIMIT 1")?;
                let (level, code, msg) = w.unwrap_or_default();
                refuse!("{}: loading table {table}: {level} {code}: {msg}", db.shown);
            }
            // The buffer back, its capacity kept.
            let mut served = self
                .served
                .lock()
                .map_err(|_| refused!("poisoned buffer"))?;
            std::mem::swap(&mut self.buf, &mut served);
            self.buf.clear();
        } else {
            db.exec(&self.sql).map_err(failed)?;
            self.sql.clear();
        }
        Ok(())
    }

    /// Sends the table's last rows and commits it; returns its rows.
    pub fn end_table(&mut self) -> Result<u64> {
        self.send()?;
        self.db.exec("COMMIT")?;
        let rows = self.table.rows;
        self.stats.rows += rows;
        Ok(rows)
    }

    /// Builds the secondary indexes and the statistics; returns what the load did.
    pub fn finish(
        mut self,
        progress: &dyn crate::support::progress::Progress,
    ) -> Result<LoadStats> {
        let db = self.db;
        db.exec("SET foreign_key_checks = 1, unique_checks = 1")?;
        self.stats.insert = self.started.elapsed();
        let t = Instant::now();
        progress.set_message(format!("building indexes on {}", db.shown));
        for ix in &indexes() {
            db.exec(ix)
                .map_err(|e| refused!("{}: {ix}: {e}", db.shown))?;
        }
        db.exec(
            "ANALYZE TABLE hosts, nano_enrollments, nano_devices, label_membership, labels, \
             mdm_apple_configuration_profiles, mdm_configuration_profile_labels, \
             host_mdm_apple_profiles",
        )?;
        self.stats.index = t.elapsed();
        Ok(self.stats)
    }
}

/// `LOAD DATA LOCAL INFILE` into `table`'s `columns` in the default text format, binary
/// columns as hex through `UNHEX`.
fn infile_sql(table: &str, columns: &[&str]) -> String {
    let targets = columns
        .iter()
        .map(|c| {
            if is_binary(c) {
                format!("@{c}")
            } else {
                format!("`{c}`")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sets = columns
        .iter()
        .filter(|c| is_binary(c))
        .map(|c| format!("`{c}` = UNHEX(@{c})"))
        .collect::<Vec<_>>();
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    format!(
        "LOAD DATA LOCAL INFILE 'reconsim-{table}' INTO TABLE {table} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({targets}){set}"
    )
}

/// The table a `Loader` is writing.
#[derive(Default)]
struct Table {
    name: &'static str,
    infile: bool,
    /// The LOAD DATA statement, or the INSERT's head.
    head: String,
    /// The position of a `rowid` column, not sent.
    skip: Option<usize>,
    /// Per column: stored as BINARY(16), sent as hex.
    binary: Vec<bool>,
    /// The column the next value is for.
    at: usize,
    rows: u64,
}

fn load_inner(
    mut loader: Loader<'_>,
    src: &rusqlite::Connection,
    tables: &[(&'static str, Vec<&'static str>)],
    progress: &dyn crate::support::progress::Progress,
) -> Result<LoadStats> {
    for (table, columns) in tables {
        // Rows in primary-key order: InnoDB clusters by it, so appends stay sequential.
        let order = crate::store::tables::get(table).map_or(String::new(), |t| {
            format!(" ORDER BY {}", t.primary.join(", "))
        });
        let mut stmt = src.prepare(&format!(
            "SELECT {} FROM {table}{order}",
            columns.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        let before = loader.rows();
        loader.begin_table(table, columns)?;
        while let Some(r) = rows.next()? {
            for i in 0..columns.len() {
                loader.value(r.get_ref(i)?);
            }
            loader.end_row()?;
            if loader.table_rows().is_multiple_of(65_536) {
                progress.set_position(before + loader.table_rows());
            }
        }
        loader.end_table()?;
        progress.set_position(loader.rows());
        progress.set_message(format!("loaded {table}"));
    }
    loader.finish(progress)
}
