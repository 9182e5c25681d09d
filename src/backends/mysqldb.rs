//! The MySQL-compatible backend (issue 6): Fleet's own engine under both paths.
//!
//! - the spec §1 tables with Fleet's column types (`TIMESTAMP`, `DATETIME(6)`, `BINARY(16)`,
//!   `VARCHAR`, `TINYINT(1)`, InnoDB, utf8mb4 with Fleet's `utf8mb4_unicode_ci` collation);
//! - a bulk loader (multi-row `INSERT`s of ~1 MiB, secondary indexes built after the load)
//!   that copies a generated fleet from SQLite, so the same seed gives the same rows on both
//!   backends; a failed load drops what it created;
//! - the legacy SQL (spec §3) and the batched path's reads (spec §4.1) in MySQL dialect;
//!   decisions stay in the shared handlers (`batched::Source`);
//! - B1 for real (spec §8): the strict scanner reads the result column's type from the
//!   server's metadata, and MariaDB/MySQL type `COALESCE(timestamp, '…')` as a string;
//! - a copy of the contract tables back into an in-memory SQLite database, read in the same
//!   consistent snapshot, for the divergence classifier and the liveness monitor, which read
//!   facts through SQL (and as a cross-check: both paths must give the same deltas there).
//!
//! Sessions run with `time_zone = '+00:00'` so TIMESTAMP values come back as stored (UTC,
//! spec §1).

use crate::backends::backend::shown_url;
use crate::backends::error::{BackendError, Result, refuse, refused};
use crate::domain::clock::Clock;
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::model::{
    Checksum, CurrentRow, Delta, Host, Op, Profile, intern, macos_only_withheld,
};
use crate::domain::rules::Rules;
use crate::domain::variant::Variant;
use crate::paths::batched::{self, BatchedError, CatalogRow, CurrentRows, Source};
use crate::paths::legacy::{self, LegacyError, LegacyResult, LegacySql};
use crate::paths::phase::Phase;
use crate::store::tables::{self, ColType, Dialect};
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Value};
use rustc_hash::FxHashSet;
use std::cell::RefCell;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tables with Fleet's MySQL column types, primary keys and foreign keys (`ON DELETE
/// CASCADE` on the profile, `ON DELETE SET NULL` on `label_id`), rendered from the one schema
/// definition (`store::tables`). Secondary indexes are in `indexes()`, built after a bulk load.
pub fn tables_ddl() -> Vec<String> {
    Dialect::Mysql.tables(tables::TABLES.iter())
}

/// Fleet's secondary indexes (semantics §1), the same set SQLite gets.
pub fn indexes() -> Vec<String> {
    Dialect::Mysql.indexes()
}

/// The MySQL DDL as `reconsim schema --mysql` prints it: tables, then indexes.
pub fn ddl() -> String {
    let mut out = String::from("-- MySQL/MariaDB schema (Fleet's column types; semantics §1)\n");
    for t in tables_ddl() {
        out.push_str(&t);
        out.push_str(";\n");
    }
    out.push_str("-- secondary indexes (built after a bulk load)\n");
    for i in indexes() {
        out.push_str(&i);
        out.push_str(";\n");
    }
    out
}

/// The tables a load creates, in load order (parents first), with their columns.
fn load_tables() -> Vec<(&'static str, Vec<&'static str>)> {
    tables::TABLES
        .iter()
        .map(|t| (t.name, t.column_names()))
        .collect()
}

/// `a`, `b` → "`a`, `b`" (column names quoted for MySQL; `key` and `value` are reserved).
pub fn quoted(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column of this name is stored as `BINARY(16)` (the MD5 checksums) in any table.
fn is_binary(column: &str) -> bool {
    has_type(column, ColType::Md5)
}

/// A column of this name is stored as `DATETIME(6)`.
fn is_datetime6(column: &str) -> bool {
    has_type(column, ColType::Micros)
}

fn has_type(column: &str, ty: ColType) -> bool {
    tables::TABLES
        .iter()
        .filter_map(|t| t.column(column))
        .any(|c| c.ty == ty)
}

/// A connection to a MySQL-compatible server, with the database the URL names.
pub struct MyDb {
    conn: RefCell<Conn>,
    /// The URL without its password, for messages.
    pub shown: String,
    pub database: String,
    /// `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub version: String,
}

fn qe(phase: &'static str) -> impl Fn(mysql::Error) -> BatchedError {
    move |e| BatchedError::Query {
        phase,
        message: e.to_string(),
    }
}

/// A command-line argument with any MySQL or Redis URL's password left out (for manifests).
pub fn mask_arg(arg: &str) -> String {
    match arg.find("mysql://").or_else(|| arg.find("redis://")) {
        Some(i) => format!("{}{}", &arg[..i], shown_url(&arg[i..])),
        None => arg.to_string(),
    }
}

/// The process's command line, passwords left out.
pub fn command_line() -> Vec<String> {
    std::env::args().map(|a| mask_arg(&a)).collect()
}

/// One line for a failed login or database selection.
fn connect_error(e: &mysql::Error, database: &str, shown: &str) -> BackendError {
    let why = match e {
        mysql::Error::MySqlError(m) if m.code == 1045 => {
            format!("the server refused the login: {}", m.message)
        }
        mysql::Error::MySqlError(m) if m.code == 1049 => format!(
            "database {database:?} does not exist on the server (create it, or load a fleet \
             with `reconsim generate --backend`, which creates it)"
        ),
        other => other.to_string(),
    };
    refused!("--backend {shown}: {why}")
}

/// Checks that whatever listens at `host:port` greets like a MySQL server (protocol 10)
/// within `wait`, so a wrong port fails with one clear line instead of a hang.
fn probe_greeting(host: &str, port: u16, wait: Duration) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let addr = addrs.first().ok_or(format!("cannot resolve {host}"))?;
    let mut s = std::net::TcpStream::connect_timeout(addr, wait)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    s.set_read_timeout(Some(wait)).ok();
    let mut head = [0u8; 5];
    match s.read_exact(&mut head) {
        // A MySQL packet header (3-byte length, sequence 0), then protocol version 10, or an
        // error packet (0xff) when the server refuses this client outright.
        Ok(()) if head[3] == 0 && (head[4] == 10 || head[4] == 0xff) => Ok(()),
        Ok(()) => Err(format!(
            "{host}:{port} is not a MySQL-compatible server (its greeting is not a MySQL handshake)"
        )),
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    "it sent nothing".to_string()
                }
                std::io::ErrorKind::UnexpectedEof => "it closed the connection".to_string(),
                _ => e.to_string(),
            };
            Err(format!(
                "{host}:{port} is not a MySQL-compatible server (no MySQL handshake within \
                 {} s: {why})",
                wait.as_secs()
            ))
        }
    }
}

/// Parses a server URL. Besides the client library's own parameters it takes MySQL's
/// `ssl-mode` (`DISABLED`, `REQUIRED`: encrypted, certificate not checked, `VERIFY_CA`: signed
/// by `ssl-ca=PATH`, `VERIFY_IDENTITY`: that and the host name), as managed servers (RDS,
/// Aurora) ask for, over rustls.
fn parse_url(url: &str) -> Result<Opts, mysql::UrlError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = None;
    let mut ca = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ssl-mode", v)) => mode = Some(v.to_ascii_uppercase()),
            Some(("ssl-ca", v)) => ca = Some(v.to_string()),
            _ => rest.push(pair),
        }
    }
    let plain = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let opts = Opts::from_url(&plain)?;
    let ssl = match mode.as_deref() {
        None | Some("DISABLED") => {
            if ca.is_some() {
                return Err(mysql::UrlError::InvalidValue(
                    "ssl-ca".into(),
                    "needs ssl-mode=VERIFY_CA or VERIFY_IDENTITY".into(),
                ));
            }
            return Ok(opts);
        }
        Some("REQUIRED") => mysql::SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true),
        Some("VERIFY_CA") => mysql::SslOpts::default().with_danger_skip_domain_validation(true),
        Some("VERIFY_IDENTITY") => mysql::SslOpts::default(),
        Some(other) => {
            return Err(mysql::UrlError::InvalidValue(
                "ssl-mode".into(),
                format!("{other} (expected DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)"),
            ));
        }
    };
    let ssl = match ca {
        Some(p) => ssl.with_root_cert_path(Some(std::path::PathBuf::from(p))),
        None => ssl,
    };
    Ok(OptsBuilder::from_opts(opts).ssl_opts(Some(ssl)).into())
}

/// A URL without a password takes `MYSQL_PWD` from the environment (the variable MySQL's own
/// clients read), so the password need not appear on the command line.
fn with_env_password(opts: Opts) -> Opts {
    match (opts.get_pass(), std::env::var("MYSQL_PWD")) {
        (None, Ok(pwd)) if !pwd.is_empty() => OptsBuilder::from_opts(opts).pass(Some(pwd)).into(),
        _ => opts,
    }
}

/// A connection to the server of `url` without selecting a database (`name` is for messages).
fn server_conn(url: &str, name: &str) -> Result<Conn> {
    let shown = shown_url(url);
    let opts = parse_url(url).map_err(|e| refused!("--backend {shown}: not a MySQL URL: {e}"))?;
    let (host, port) = (opts.get_ip_or_hostname().to_string(), opts.get_tcp_port());
    probe_greeting(&host, port, Duration::from_secs(5))
        .map_err(|e| refused!("--backend {shown}: {e}"))?;
    let opts = OptsBuilder::from_opts(with_env_password(opts))
        .db_name(None::<String>)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(Duration::from_secs(5)));
    Conn::new(opts).map_err(|e| connect_error(&e, name, &shown))
}

impl MyDb {
    /// Connects to `url` (`mysql://USER:PASS@HOST:PORT/DB`). Errors are one line naming the
    /// server: unreachable, not MySQL, wrong credentials, unknown database.
    pub fn connect(url: &str) -> Result<MyDb> {
        let shown = shown_url(url);
        let opts =
            parse_url(url).map_err(|e| refused!("--backend {shown}: not a MySQL URL: {e}"))?;
        let database = opts.get_db_name().map(str::to_string).ok_or_else(|| {
            refused!(
                "--backend {shown}: the URL names no database (mysql://USER:PASS@HOST:PORT/DB)"
            )
        })?;
        let (host, port) = (opts.get_ip_or_hostname().to_string(), opts.get_tcp_port());
        probe_greeting(&host, port, Duration::from_secs(5))
            .map_err(|e| refused!("--backend {shown}: {e}"))?;
        let opts = OptsBuilder::from_opts(with_env_password(opts))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(Duration::from_secs(5)))
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
            ]);
        let mut conn = Conn::new(opts).map_err(|e| connect_error(&e, &database, &shown))?;
        let version: String = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| refused!("--backend {shown}: {e}"))?
            .unwrap_or_default();
        Ok(MyDb {
            conn: RefCell::new(conn),
            shown,
            database,
            version,
        })
    }

    /// Creates database `name` on the server of `url` if missing (the URL's own database need
    /// not exist).
    pub fn create_database(url: &str, name: &str) -> Result<()> {
        let shown = shown_url(url);
        let mut conn = server_conn(url, name)?;
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{name}`"))
            .map_err(|e| refused!("--backend {shown}: creating database {name}: {e}"))
    }

    /// Checks that the server of `url` answers and takes the credentials (the URL's database
    /// need not exist): run before any work that the server would otherwise fail late.
    pub fn check_server(url: &str) -> Result<()> {
        let shown = shown_url(url);
        let name = parse_url(url)
            .ok()
            .and_then(|o| o.get_db_name().map(str::to_string))
            .unwrap_or_default();
        let mut conn = server_conn(url, &name)?;
        conn.query_drop("SELECT 1")
            .map_err(|e| refused!("--backend {shown}: {e}"))
    }

    /// Runs statements that return nothing.
    pub fn exec(&self, sql: &str) -> Result<(), mysql::Error> {
        self.conn.borrow_mut().query_drop(sql)
    }

    /// The contract tables present in the database.
    fn present_tables(&self) -> Result<Vec<String>> {
        Ok(self.conn.borrow_mut().query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        )?)
    }

    /// Checks the spec §1 contract: every table and column, naming the first one missing.
    pub fn check_contract(&self) -> Result<()> {
        let cols: Vec<(String, String)> = self.conn.borrow_mut().query(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE()",
        )?;
        for t in crate::store::tables::contract() {
            let (table, columns) = (t.name, t.column_names());
            if !cols.iter().any(|(t, _)| t == table) {
                refuse!(
                    "{}: database {} has no table {table} (spec §1); load a fleet with \
                     `reconsim generate --backend {}`",
                    self.shown,
                    self.database,
                    self.shown
                );
            }
            for column in columns {
                if !cols
                    .iter()
                    .any(|(t, c)| t == table && c.eq_ignore_ascii_case(column))
                {
                    refuse!(
                        "{}: table {table} has no column {column} (spec §1)",
                        self.shown
                    );
                }
            }
        }
        Ok(())
    }

    /// Begins a transaction with a consistent snapshot (spec §3: both lists, and here both
    /// paths, read one snapshot). Not `READ ONLY`: MariaDB refuses the tuned legacy form's
    /// temporary tables there; nothing but temporary tables is written.
    pub fn begin_snapshot(&self) -> Result<()> {
        self.exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        self.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
        Ok(())
    }

    pub fn commit(&self) -> Result<()> {
        Ok(self.exec("COMMIT")?)
    }

    /// Spec §9's floor on the server: one plain scan of the three tables the batched pass
    /// reads, every row fetched; returns rows read.
    pub fn floor(&self) -> Result<u64> {
        let mut n = 0u64;
        let mut conn = self.conn.borrow_mut();
        for sql in crate::store::schema::FLOOR_SCANS {
            let mut res = conn.query_iter(sql)?;
            if let Some(set) = res.iter() {
                for r in set {
                    std::hint::black_box(r?);
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}

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
fn load_inserts(
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
fn push_tsv(out: &mut Vec<u8>, v: rusqlite::types::ValueRef<'_>, column: &str) {
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
fn refuses_local_infile(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if matches!(m.code, 1148 | 3948 | 2068))
}

/// `LOAD DATA LOCAL INFILE` in chunks of about 16 MiB, the rows streamed from memory by the
/// client's local-infile handler. LOCAL turns data errors into warnings, so any warning fails
/// the load, naming the table and the server's first warning: nothing is silently truncated.
/// Returns None when the server refuses LOCAL INFILE (the caller falls back to INSERTs).
fn load_infile(
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

fn load_inner(
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

// ---------------------------------------------------------------------------------------------
// Values

fn v_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::UInt(u) => Some(*u as i64),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn v_str(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Date(..) => v_time(v, false),
        other => Some(other.as_sql(true)),
    }
}

/// A time value as spec §1's text: `YYYY-MM-DD HH:MM:SS`, or with six fraction digits.
fn v_time(v: &Value, micros: bool) -> Option<String> {
    match v {
        Value::Date(y, mo, d, h, mi, s, us) => Some(if micros {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        } else {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }),
        Value::NULL => None,
        // A string-typed column (B1's COALESCE) arrives as its text.
        other => v_str(other),
    }
}

fn v_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.clone(),
        _ => Vec::new(),
    }
}

fn at(row: &mysql::Row, i: usize) -> &Value {
    row.as_ref(i).unwrap_or(&Value::NULL)
}

/// The strict scanner on the server's metadata (spec §8 B1): like Go's `database/sql` with
/// `parseTime`, a time is decoded only from a column the server types as a time. MariaDB and
/// MySQL type `COALESCE(timestamp, '2000-01-01 00:00:00')` as a string, and the scan fails
/// with Fleet's error.
pub fn strict_time_column(columns: &[mysql::Column], index: usize) -> Result<(), BatchedError> {
    let Some(col) = columns.get(index) else {
        return Err(BatchedError::Scan {
            index,
            name: String::new(),
            message: "no such column".into(),
        });
    };
    match col.column_type() {
        ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_TIMESTAMP2
        | ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_NEWDATE => Ok(()),
        other => Err(BatchedError::Scan {
            index,
            name: col.name_str().into_owned(),
            message: format!(
                "unsupported scan, storing driver.Value type []uint8 into type *time.Time \
                 (the server types the column {other:?})"
            ),
        }),
    }
}

/// SQLite's numbered parameters as MySQL's `?` (they are used in order).
fn mysql_params(sql: &str) -> String {
    sql.replace("?1", "?").replace("?2", "?")
}

impl MyDb {
    /// Runs `sql` (binary protocol) and hands each row to `f` as it arrives.
    fn for_each_row(&self, sql: &str, mut f: impl FnMut(&mysql::Row) -> Result<()>) -> Result<()> {
        let mut conn = self.conn.borrow_mut();
        let mut res = conn.exec_iter(sql, ())?;
        if let Some(set) = res.iter() {
            for r in set {
                f(&r?)?;
            }
        }
        Ok(())
    }

    /// Runs `sql` (binary protocol) and returns its columns and rows.
    fn rows(
        &self,
        phase: &'static str,
        sql: &str,
        params: mysql::Params,
    ) -> Result<(Arc<[mysql::Column]>, Vec<mysql::Row>), BatchedError> {
        let mut conn = self.conn.borrow_mut();
        let mut res = conn.exec_iter(sql, params).map_err(qe(phase))?;
        let columns = res.columns().as_ref().to_vec().into();
        let mut rows = Vec::new();
        if let Some(set) = res.iter() {
            for r in set {
                rows.push(r.map_err(qe(phase))?);
            }
        }
        Ok((columns, rows))
    }

    fn read_current(row: &mysql::Row, host: &mut Option<Arc<str>>) -> CurrentRow {
        let uuid = v_str(at(row, 0)).unwrap_or_default();
        let host_uuid = match host {
            Some(h) if **h == *uuid => h.clone(),
            _ => {
                let h: Arc<str> = Arc::from(uuid.as_str());
                *host = Some(h.clone());
                h
            }
        };
        CurrentRow {
            host_uuid,
            profile_uuid: Arc::from(v_str(at(row, 1)).unwrap_or_default().as_str()),
            status: v_str(at(row, 2)).as_deref().map(intern),
            operation_type: v_str(at(row, 3)).as_deref().map(intern),
            checksum: Checksum::from_slice(&v_bytes(at(row, 4))),
            secrets_updated_at: v_time(at(row, 5), true),
        }
    }
}

impl Source for MyDb {
    fn window(
        &self,
        cursor: &str,
        limit: usize,
        rules: &Rules,
        variant: Variant,
    ) -> Result<(Vec<Host>, usize), BatchedError> {
        let sql = mysql_params(&batched::window_sql_for(rules, variant));
        let (cols, rows) = self.rows("window", &sql, (cursor, limit as u64).into())?;
        strict_time_column(&cols, 4)?;
        let hosts = rows.iter().map(|r| {
            Ok(Host {
                id: v_i64(at(r, 0)).unwrap_or(0),
                uuid: v_str(at(r, 1)).unwrap_or_default(),
                team_id: v_i64(at(r, 2)),
                platform: v_str(at(r, 3)).unwrap_or_default(),
                label_updated_at: v_time(at(r, 4), false).unwrap_or_default(),
            })
        });
        batched::window_from_rows(hosts, variant)
    }

    fn profiles(&self, variant: Variant) -> Result<Vec<Profile>, BatchedError> {
        let (cols, rows) = self.rows("catalog", &batched::catalog_sql(variant), ().into())?;
        let created_at_typed = strict_time_column(&cols, 4);
        let secrets_typed = strict_time_column(&cols, 6);
        let decoded = rows.iter().map(|r| {
            Ok(CatalogRow {
                profile_uuid: v_str(at(r, 0)).unwrap_or_default(),
                team_id: v_i64(at(r, 1)).unwrap_or(0),
                identifier: v_str(at(r, 2)).unwrap_or_default(),
                name: v_str(at(r, 3)).unwrap_or_default(),
                label_created_at: v_time(at(r, 4), false),
                checksum: v_bytes(at(r, 5)),
                secrets_updated_at: v_time(at(r, 6), true),
                row_id: v_i64(at(r, 7)),
                label_name: v_str(at(r, 8)),
                label_id: v_i64(at(r, 9)),
                membership_type: v_i64(at(r, 10)),
                exclude: v_i64(at(r, 11)),
                require_all: v_i64(at(r, 12)),
            })
        });
        batched::profiles_from_rows(decoded, created_at_typed, secrets_typed)
    }

    fn memberships(
        &self,
        host_ids: &[i64],
        label_ids: &[i64],
    ) -> Result<FxHashSet<(i64, i64)>, BatchedError> {
        let mut out = FxHashSet::default();
        if host_ids.is_empty() {
            return Ok(out);
        }
        // Integer ids inline: one statement text per window size, probed by the primary key.
        let list = host_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT lm.host_id, lm.label_id FROM label_membership lm WHERE lm.host_id IN ({list})"
        );
        let mut conn = self.conn.borrow_mut();
        conn.query_map(sql, |(h, l): (i64, i64)| (h, l))
            .map_err(qe("memberships"))?
            .into_iter()
            .filter(|(_, l)| label_ids.binary_search(l).is_ok())
            .for_each(|p| {
                out.insert(p);
            });
        Ok(out)
    }

    fn current(
        &self,
        uuids: &[&str],
        catalog: &batched::Catalog,
    ) -> Result<CurrentRows, BatchedError> {
        if uuids.is_empty() {
            return CurrentRows::from_rows(std::iter::empty());
        }
        let by_uuid = catalog.by_uuid();
        let marks = vec!["?"; uuids.len()].join(",");
        let sql = format!(
            "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
             FROM host_mdm_apple_profiles WHERE host_uuid IN ({marks})"
        );
        let params: Vec<Value> = uuids.iter().map(|u| Value::from(*u)).collect();
        let (_, rows) = self.rows("current rows", &sql, params.into())?;
        let mut host = None;
        let decoded = rows.iter().map(|r| {
            let mut row = MyDb::read_current(r, &mut host);
            if let Some(&i) = by_uuid.get(&*row.profile_uuid) {
                row.profile_uuid = catalog.entries[i].uuid.clone();
            }
            Ok(row)
        });
        CurrentRows::from_rows(decoded)
    }

    fn ineligible_rows(&self, rules: &Rules) -> Result<Vec<CurrentRow>, BatchedError> {
        let (_, rows) = self.rows("d5 sweep", &batched::ineligible_sql(rules), ().into())?;
        let mut host = None;
        Ok(rows
            .iter()
            .map(|r| MyDb::read_current(r, &mut host))
            .collect())
    }

    fn host_rows(&self) -> Result<i64, BatchedError> {
        let n: Option<i64> = self
            .conn
            .borrow_mut()
            .query_first("SELECT COUNT(*) FROM hosts")
            .map_err(qe("host count"))?;
        Ok(n.unwrap_or(0))
    }
}

// ---------------------------------------------------------------------------------------------
// Legacy (spec §3) in MySQL dialect

/// The tuned form on MySQL: eligible hosts once into a temporary table, then the desired
/// state built arm by arm into a second one (`INSERT … SELECT`, each temporary table read once
/// per statement, which MySQL requires). Its primary key (host_uuid, profile_uuid, arm,
/// host_platform) with `ON DUPLICATE KEY UPDATE` keeps the rows the UNION of spec §3 keeps
/// (profile_name follows from profile_uuid), and serves both lists' probes. Measured at 10k
/// hosts: reading a keyless table `DISTINCT` instead cost 8 s in the install query alone. The
/// join order is left to the server's optimizer.
fn tuned_statements() -> Vec<String> {
    let ds = legacy::desired_state_arms("reconsim_legacy_eligible h", "h.team0 = p.team_id", "1");
    let mut v = vec![
        "DROP TEMPORARY TABLE IF EXISTS reconsim_legacy_eligible".to_string(),
        "DROP TEMPORARY TABLE IF EXISTS reconsim_legacy_ds".to_string(),
        format!(
            "CREATE TEMPORARY TABLE reconsim_legacy_eligible
               (PRIMARY KEY (id), KEY team0 (team0)) {}
             SELECT h.id, h.uuid, h.platform, h.label_updated_at,
                    COALESCE(h.team_id, 0) AS team0
             FROM hosts h WHERE {ELIGIBLE_HOST}",
            tables::MYSQL_TABLE_OPTS
        ),
        format!(
            "CREATE TEMPORARY TABLE reconsim_legacy_ds (
               host_uuid VARCHAR(255) NOT NULL, profile_uuid VARCHAR(37) NOT NULL,
               arm TINYINT NOT NULL, host_platform VARCHAR(255) NOT NULL,
               profile_name VARCHAR(255) NOT NULL,
               PRIMARY KEY (host_uuid, profile_uuid, arm, host_platform)) {}",
            tables::MYSQL_TABLE_OPTS
        ),
    ];
    for arm in ds {
        v.push(format!(
            "INSERT INTO reconsim_legacy_ds (host_uuid, profile_uuid, arm, host_platform, \
             profile_name) {arm} ON DUPLICATE KEY UPDATE arm = VALUES(arm)"
        ));
    }
    v
}

const TUNED_INSTALL: &str = "
    SELECT ds.host_uuid, ds.profile_uuid, ds.host_platform, ds.profile_name
    FROM reconsim_legacy_ds ds
    JOIN mdm_apple_configuration_profiles p ON p.profile_uuid = ds.profile_uuid
    LEFT JOIN host_mdm_apple_profiles hmap
      ON hmap.host_uuid = ds.host_uuid AND hmap.profile_uuid = ds.profile_uuid
    WHERE ";

const TUNED_REMOVE: &str = "
    SELECT hmap.host_uuid, hmap.profile_uuid
    FROM host_mdm_apple_profiles hmap
    WHERE NOT EXISTS (SELECT 1 FROM reconsim_legacy_ds ds
                      WHERE ds.host_uuid = hmap.host_uuid AND ds.profile_uuid = hmap.profile_uuid)
      AND ";

/// The server's error code of a failed statement, if the server sent one.
fn server_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    }
}

fn le(phase: &'static str) -> impl Fn(mysql::Error) -> LegacyError {
    move |e| LegacyError::Backend {
        phase,
        message: e.to_string(),
    }
}

impl MyDb {
    fn installs(&self, sql: &str) -> Result<Vec<Delta>, mysql::Error> {
        let rows: Vec<(String, String, String, String)> = self.conn.borrow_mut().query(sql)?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, platform, name)| !macos_only_withheld(platform, name))
            .map(|(h, p, _, _)| Delta {
                host_uuid: h.into(),
                profile_uuid: p.into(),
                op: Op::Install,
            })
            .collect())
    }

    fn removes(&self, sql: &str) -> Result<Vec<Delta>, mysql::Error> {
        let rows: Vec<(String, String)> = self.conn.borrow_mut().query(sql)?;
        Ok(rows
            .into_iter()
            .map(|(h, p)| Delta {
                host_uuid: h.into(),
                profile_uuid: p.into(),
                op: Op::Remove,
            })
            .collect())
    }

    /// The legacy diff (spec §3) on the server: `as-written` is Fleet's own SQL text (valid
    /// MySQL as it stands), `tuned` the temporary-table form above.
    pub fn legacy(&self, form: LegacySql, clock: &dyn Clock) -> Result<LegacyResult, LegacyError> {
        let mut res = LegacyResult::default();
        match form {
            LegacySql::AsWritten => {
                let t = clock.now();
                res.installs = self
                    .installs(&legacy::install_sql_as_written())
                    .map_err(le(Phase::Install.name()))?;
                res.timings.push((Phase::Install.name(), clock.since(t)));
                let t = clock.now();
                res.removes = self
                    .removes(&legacy::remove_sql_as_written())
                    .map_err(le(Phase::Remove.name()))?;
                res.timings.push((Phase::Remove.name(), clock.since(t)));
            }
            LegacySql::Tuned => {
                let t = clock.now();
                for stmt in tuned_statements() {
                    self.exec(&stmt).map_err(|e| match server_code(&e) {
                        // ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR,
                        // ER_SPECIFIC_ACCESS_DENIED_ERROR: a read-only account.
                        Some(1044 | 1142 | 1227) => LegacyError::Backend {
                            phase: "desired state",
                            message: format!(
                                "the tuned legacy SQL builds temporary tables, which needs the \
                                 CREATE TEMPORARY TABLES privilege on database {}; this account \
                                 lacks it ({e}). Grant it, or run --legacy-sql as-written, which \
                                 only reads",
                                self.database
                            ),
                        },
                        _ => le("desired state")(e),
                    })?;
                }
                res.timings.push((Phase::Desired.name(), clock.since(t)));
                let t = clock.now();
                res.installs = self
                    .installs(&format!("{TUNED_INSTALL}{}", legacy::INSTALL_WHERE))
                    .map_err(le(Phase::Install.name()))?;
                res.timings.push((Phase::Install.name(), clock.since(t)));
                let t = clock.now();
                res.removes = self
                    .removes(&format!("{TUNED_REMOVE}{}", legacy::REMOVE_WHERE))
                    .map_err(le(Phase::Remove.name()))?;
                res.timings.push((Phase::Remove.name(), clock.since(t)));
                self.exec("DROP TEMPORARY TABLE reconsim_legacy_ds, reconsim_legacy_eligible")
                    .map_err(le("cleanup"))?;
            }
        }
        Ok(res)
    }
}

// ---------------------------------------------------------------------------------------------
// The snapshot copied into SQLite

/// Copies the contract tables (and `reconsim_meta` when present) into a new in-memory SQLite
/// database with the tool's own schema, reading inside the caller's transaction. Time values
/// become spec §1's text, checksums blobs.
/// With `all` false, `reconsim_meta` only.
pub fn copy_to_sqlite(db: &MyDb, all: bool) -> Result<rusqlite::Connection> {
    let mut out = rusqlite::Connection::open_in_memory()?;
    crate::store::schema::migrate_to(&mut out, crate::store::schema::LATEST_VERSION)?;
    let meta = tables::get("reconsim_meta").expect("defined");
    out.execute_batch(&format!("{}; BEGIN", Dialect::Sqlite.create_table(meta)))?;
    let present = db.present_tables()?;
    for (table, columns) in load_tables() {
        if !present.iter().any(|t| t == table) || (!all && table != "reconsim_meta") {
            continue;
        }
        let quoted = quoted(&columns);
        let marks = (1..=columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = out.prepare(&format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            columns.join(", ")
        ))?;
        // Streamed row by row: a 100k fleet's tables never sit in memory twice.
        db.for_each_row(&format!("SELECT {quoted} FROM {table}"), |r| {
            let vals: Vec<rusqlite::types::Value> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    use rusqlite::types::Value as S;
                    let v = at(r, i);
                    match v {
                        Value::NULL => S::Null,
                        Value::Int(_) | Value::UInt(_) => S::Integer(v_i64(v).unwrap_or(0)),
                        Value::Bytes(b) if is_binary(c) => S::Blob(b.clone()),
                        Value::Date(..) => S::Text(v_time(v, is_datetime6(c)).unwrap_or_default()),
                        other => S::Text(v_str(other).unwrap_or_default()),
                    }
                })
                .collect();
            stmt.execute(rusqlite::params_from_iter(vals))?;
            Ok(())
        })
        .map_err(|e| refused!("{}: copying table {table}: {e}", db.shown))?;
    }
    out.execute_batch("COMMIT; ANALYZE")?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The cursor in a table of the server's database

impl crate::backends::store::Store for MyDb {
    fn engine(&self) -> String {
        format!("mysql {}", self.version)
    }

    fn shown(&self) -> String {
        self.shown.clone()
    }

    fn source(&self) -> &dyn Source {
        self
    }

    fn legacy(&self, form: LegacySql, clock: &dyn Clock) -> Result<LegacyResult, LegacyError> {
        MyDb::legacy(self, form, clock)
    }

    fn begin(&self) -> Result<()> {
        self.begin_snapshot()
    }

    fn commit(&self) -> Result<()> {
        MyDb::commit(self)
    }

    fn cursor(
        &self,
    ) -> Result<Box<dyn crate::paths::cursor::CursorStore + '_>, crate::paths::cursor::CursorError>
    {
        Ok(Box::new(MyCursor::new(self)?))
    }

    fn floor(&self) -> Result<u64> {
        MyDb::floor(self)
    }
}

/// The cursor in `reconsim_cursor` of the MySQL database (the default store on this backend,
/// as `SqliteCursor` is on SQLite).
pub struct MyCursor<'a> {
    db: &'a MyDb,
}

impl<'a> MyCursor<'a> {
    /// Creates `reconsim_cursor` if missing (the tool's own state, spec §1).
    pub fn new(db: &'a MyDb) -> Result<MyCursor<'a>, crate::paths::cursor::CursorError> {
        db.exec(
            "CREATE TABLE IF NOT EXISTS reconsim_cursor (`key` VARCHAR(64) PRIMARY KEY, \
             `value` VARCHAR(255) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 \
             COLLATE=utf8mb4_unicode_ci",
        )
        .map_err(|e| crate::paths::cursor::CursorError::Write(e.to_string()))?;
        Ok(MyCursor { db })
    }
}

impl crate::paths::cursor::CursorStore for MyCursor<'_> {
    fn read(&mut self) -> Result<String, crate::paths::cursor::CursorError> {
        let err = |e: mysql::Error| crate::paths::cursor::CursorError::Read(e.to_string());
        let v: Option<String> = self
            .db
            .conn
            .borrow_mut()
            .exec_first(
                "SELECT `value` FROM reconsim_cursor WHERE `key` = ?",
                (crate::paths::cursor::CURSOR_KEY,),
            )
            .map_err(err)?;
        Ok(v.unwrap_or_default())
    }
    fn write(&mut self, value: &str) -> Result<(), crate::paths::cursor::CursorError> {
        self.db
            .conn
            .borrow_mut()
            .exec_drop(
                "REPLACE INTO reconsim_cursor (`key`, `value`) VALUES (?, ?)",
                (crate::paths::cursor::CURSOR_KEY, value),
            )
            .map_err(|e| crate::paths::cursor::CursorError::Write(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_the_password() {
        assert_eq!(
            shown_url("mysql://u:secret@127.0.0.1:3306/db"),
            "mysql://u@127.0.0.1:3306/db"
        );
        assert_eq!(shown_url("mysql://127.0.0.1/db"), "mysql://127.0.0.1/db");
    }

    #[test]
    fn a_refused_local_infile_falls_back_and_other_errors_do_not() {
        let err = |code| {
            mysql::Error::MySqlError(mysql::MySqlError {
                state: "42000".into(),
                message: "refused".into(),
                code,
            })
        };
        assert!(refuses_local_infile(&err(1148)));
        assert!(refuses_local_infile(&err(3948)));
        assert!(
            !refuses_local_infile(&err(1264)),
            "a bad value must fail the load"
        );
        assert!(!refuses_local_infile(&err(1045)));
    }

    #[test]
    fn tsv_escapes_separators_and_hexes_checksums() {
        let mut out = Vec::new();
        push_tsv(
            &mut out,
            rusqlite::types::ValueRef::Text(b"a\tb\nc\\d\0"),
            "name",
        );
        out.push(b'|');
        push_tsv(&mut out, rusqlite::types::ValueRef::Null, "name");
        out.push(b'|');
        push_tsv(
            &mut out,
            rusqlite::types::ValueRef::Blob(&[0xab, 1]),
            "checksum",
        );
        assert_eq!(out, b"a\\tb\\nc\\\\d\\0|\\N|ab01".to_vec());
    }

    #[test]
    fn command_lines_lose_passwords() {
        assert_eq!(
            mask_arg("--backend=mysql://u:pw@h:1/db"),
            "--backend=mysql://u@h:1/db"
        );
        assert_eq!(mask_arg("sqlite:f.db"), "sqlite:f.db");
        assert_eq!(mask_arg("redis://:pw@h:6379"), "redis://@h:6379");
    }

    #[test]
    fn sqlite_parameters_become_question_marks_in_order() {
        let sql = mysql_params(&batched::window_sql_for(&Rules::default(), Variant::Merged));
        assert!(!sql.contains("?1") && !sql.contains("?2"), "{sql}");
        assert_eq!(sql.matches('?').count(), 2);
    }

    #[test]
    fn time_values_take_spec_formats() {
        let v = Value::Date(2026, 1, 2, 3, 4, 5, 6);
        assert_eq!(v_time(&v, false).unwrap(), "2026-01-02 03:04:05");
        assert_eq!(v_time(&v, true).unwrap(), "2026-01-02 03:04:05.000006");
        assert_eq!(v_time(&Value::NULL, true), None);
    }

    #[test]
    fn literals_keep_every_byte() {
        let mut s = String::new();
        push_literal(
            &mut s,
            rusqlite::types::ValueRef::Text(b"a'b\\\n\0z"),
            "name",
        );
        assert_eq!(s, r"'a\'b\\\n\0z'");
        s.clear();
        push_literal(
            &mut s,
            rusqlite::types::ValueRef::Blob(&[1, 255]),
            "checksum",
        );
        assert_eq!(s, "X'01ff'");
    }

    #[test]
    fn a_silent_server_is_not_mysql() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let e = probe_greeting("127.0.0.1", port, Duration::from_millis(300)).unwrap_err();
        assert!(e.contains("is not a MySQL-compatible server"), "{e}");
        drop(l);
    }
}
