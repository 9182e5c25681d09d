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

mod diff;
mod load;
mod reads;
pub use load::*;
pub use reads::*;

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

/// Whether any table has a column `column` of type `ty`. Called per value on the load and copy
/// paths, so the (name, type) pairs are collected once.
fn has_type(column: &str, ty: ColType) -> bool {
    static TYPED: std::sync::OnceLock<Vec<(&'static str, ColType)>> = std::sync::OnceLock::new();
    TYPED
        .get_or_init(|| {
            tables::TABLES
                .iter()
                .flat_map(|t| t.columns.iter().map(|c| (c.name, c.ty)))
                .filter(|(_, t)| matches!(t, ColType::Md5 | ColType::Micros))
                .collect()
        })
        .iter()
        .any(|&(n, t)| t == ty && n == column)
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
