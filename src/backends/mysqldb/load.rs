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
        ValueRef::Text(t) if is_binary(column) => {
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
    let present = db.present_tables()?;
    let ours = present.iter().any(|t| t == "reconsim_meta");
    if let Some(t) = present
        .iter()
        .find(|t| tables.iter().any(|(n, _)| n == t))
        .filter(|_| !ours)
    {
        refuse!(
            "{}: database {} already has table {t} and was not loaded by reconsim; \
             use an empty database",
            db.shown,
            db.database
        );
    }
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
    drop_tables(db)?;
    let loaded = load_inner(db, src, &tables, progress, method);
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

/// Multi-row INSERTs of about 1 MiB each; returns rows loaded.
pub(super) fn load_inserts(
    db: &MyDb,
    table: &str,
    columns: &[&str],
    quoted: &str,
    rows: &mut rusqlite::Rows<'_>,
    progress: &dyn Fn(u64),
) -> Result<u64> {
    const STATEMENT_BYTES: usize = 1 << 20;
    let head = format!("INSERT INTO {table} ({quoted}) VALUES ");
    let mut sql = String::with_capacity(STATEMENT_BYTES + 4096);
    let mut n = 0u64;
    let flush = |sql: &mut String| -> Result<()> {
        if !sql.is_empty() {
            db.exec(sql)
                .map_err(|e| refused!("{}: loading table {table}: {e}", db.shown))?;
            sql.clear();
        }
        Ok(())
    };
    while let Some(r) = rows.next()? {
        sql.push_str(if sql.is_empty() { &head } else { "," });
        sql.push('(');
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            push_literal(&mut sql, r.get_ref(i)?, c);
        }
        sql.push(')');
        n += 1;
        if sql.len() >= STATEMENT_BYTES {
            flush(&mut sql)?;
            progress(n);
        }
    }
    flush(&mut sql)?;
    Ok(n)
}

/// One value in `LOAD DATA`'s default text format: `\N` for NULL, backslash escapes for the
/// field and line separators, hex for binary columns (decoded by `UNHEX` on the server).
pub(super) fn push_tsv(out: &mut Vec<u8>, v: rusqlite::types::ValueRef<'_>, column: &str) {
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
        ValueRef::Text(t) if is_binary(column) => out.extend_from_slice(hex::encode(t).as_bytes()),
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

/// `LOAD DATA LOCAL INFILE` in chunks of about 16 MiB, the rows streamed from memory by the
/// client's local-infile handler. LOCAL turns data errors into warnings, so any warning fails
/// the load, naming the table and the server's first warning: nothing is silently truncated.
/// Returns None when the server refuses LOCAL INFILE (the caller falls back to INSERTs).
pub(super) fn load_infile(
    db: &MyDb,
    table: &str,
    columns: &[&str],
    rows: &mut rusqlite::Rows<'_>,
    progress: &dyn Fn(u64),
) -> Result<Option<u64>> {
    const CHUNK_BYTES: usize = 16 << 20;
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let shared = buffer.clone();
    db.conn
        .borrow_mut()
        .set_local_infile_handler(Some(mysql::LocalInfileHandler::new(move |_, out| {
            let data = shared
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?;
            std::io::Write::write_all(out, &data)
        })));
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
    let sql = format!(
        "LOAD DATA LOCAL INFILE 'reconsim-{table}' INTO TABLE {table} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({targets}){set}"
    );
    let mut n = 0u64;
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    let send = |chunk: &mut Vec<u8>| -> Result<bool> {
        if chunk.is_empty() {
            return Ok(true);
        }
        *buffer.lock().map_err(|_| refused!("poisoned buffer"))? = std::mem::take(chunk);
        let mut conn = db.conn.borrow_mut();
        match conn.query_drop(&sql) {
            Ok(()) => {}
            Err(e) if refuses_local_infile(&e) => return Ok(false),
            Err(e) => refuse!("{}: loading table {table}: {e}", db.shown),
        }
        if conn.warnings() > 0 {
            let w: Option<(String, u32, String)> = conn.query_first("SHOW WARNINGS LIMIT 1")?;
            let (level, code, msg) = w.unwrap_or_default();
            refuse!("{}: loading table {table}: {level} {code}: {msg}", db.shown);
        }
        Ok(true)
    };
    while let Some(r) = rows.next()? {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                chunk.push(b'\t');
            }
            push_tsv(&mut chunk, r.get_ref(i)?, c);
        }
        chunk.push(b'\n');
        n += 1;
        if chunk.len() >= CHUNK_BYTES {
            if !send(&mut chunk)? {
                return Ok(None);
            }
            progress(n);
        }
    }
    if !send(&mut chunk)? {
        return Ok(None);
    }
    Ok(Some(n))
}

pub(super) fn load_inner(
    db: &MyDb,
    src: &rusqlite::Connection,
    tables: &[(&'static str, Vec<&'static str>)],
    progress: &dyn crate::support::progress::Progress,
    method: LoadMethod,
) -> Result<LoadStats> {
    let mut infile = method == LoadMethod::Infile;
    let mut stats = LoadStats {
        method: if infile {
            "LOAD DATA LOCAL INFILE"
        } else {
            "multi-row INSERT"
        },
        ..LoadStats::default()
    };
    let t0 = Instant::now();
    for ddl in tables_ddl() {
        db.exec(&ddl)
            .map_err(|e| refused!("{}: creating tables: {e}", db.shown))?;
    }
    // A restore's settings: rows arrive in key order and are checked by the generator.
    db.exec("SET foreign_key_checks = 0, unique_checks = 0")?;
    for (table, columns) in tables {
        let cols = columns.join(", ");
        let quoted = quoted(columns);
        // Rows in primary-key order: InnoDB clusters by it, so appends stay sequential.
        let order = crate::store::tables::get(table).map_or(String::new(), |t| {
            format!(" ORDER BY {}", t.primary.join(", "))
        });
        let mut stmt = src.prepare(&format!("SELECT {cols} FROM {table}{order}"))?;
        let mut rows = stmt.query([])?;
        db.exec("START TRANSACTION")?;
        let n = if infile {
            match load_infile(db, table, columns, &mut rows, &|k| {
                progress.set_position(stats.rows + k)
            })? {
                Some(n) => n,
                None => {
                    // The server refuses LOCAL INFILE: INSERTs from here on.
                    infile = false;
                    stats.method = "multi-row INSERT";
                    db.exec("ROLLBACK")?;
                    db.exec(&format!("DELETE FROM {table}"))?;
                    db.exec("START TRANSACTION")?;
                    drop(rows);
                    rows = stmt.query([])?;
                    load_inserts(db, table, columns, &quoted, &mut rows, &|k| {
                        progress.set_position(stats.rows + k)
                    })?
                }
            }
        } else {
            load_inserts(db, table, columns, &quoted, &mut rows, &|k| {
                progress.set_position(stats.rows + k)
            })?
        };
        db.exec("COMMIT")?;
        stats.rows += n;
        progress.set_position(stats.rows);
        progress.set_message(format!("loaded {table}"));
    }
    db.exec("SET foreign_key_checks = 1, unique_checks = 1")?;
    stats.insert = t0.elapsed();
    let t = Instant::now();
    progress.set_message("building indexes".into());
    for ix in &indexes() {
        db.exec(ix)
            .map_err(|e| refused!("{}: {ix}: {e}", db.shown))?;
    }
    db.exec(
        "ANALYZE TABLE hosts, nano_enrollments, nano_devices, label_membership, labels, \
         mdm_apple_configuration_profiles, mdm_configuration_profile_labels, \
         host_mdm_apple_profiles",
    )?;
    stats.index = t.elapsed();
    Ok(stats)
}
