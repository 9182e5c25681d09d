//! The Fleet-faithful schema of spec §1, created by versioned migrations, and the contract
//! check that lets `diff`/`compare`/`inspect` accept any SQLite file that has the tables.
//!
//! Migrations are applied in order and recorded in `PRAGMA user_version` (the way cargo keeps
//! its own SQLite caches). Version 1 creates the tables, version 2 Fleet's secondary indexes:
//! the generator applies 1, bulk-loads in primary-key order, then applies 2, because building an
//! index once over sorted data is far cheaper than maintaining it row by row during the load.

use crate::store::tables::{self, ColType, Dialect};
use crate::support::timefmt::{DATETIME6_FORMAT, TIMESTAMP_FORMAT};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

/// Errors of the schema domain: opening, migrating and checking a database.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} does not exist")]
    Missing { path: String },
    #[error("schema contract (spec §1): missing table `{table}`")]
    MissingTable { table: &'static str },
    #[error("schema contract (spec §1): table `{table}` has no column `{column}`")]
    MissingColumn {
        table: &'static str,
        column: &'static str,
    },
    #[error("database has user_version {found}, newer than this reconsim knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("migration to version {version}: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    BadTimestamp(#[from] crate::support::timefmt::BadTimestamp),
    #[error("table `{table}`, column `{column}`, {row}: {value} is not {expected}")]
    BadValue {
        table: &'static str,
        column: &'static str,
        row: String,
        value: String,
        expected: String,
    },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

const TS_GLOB: &str = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]";

/// Checks every timestamp column of spec §1 against its one format and names the first row
/// that breaks it. The legacy SQL compares these columns as text, so a value in another format
/// would silently compare wrong; this is where it is caught instead.
/// Checks the values the reconcilers read (issue 11), before any of them runs: `diff`,
/// `compare` and `tick` share it, so bad data fails as one line naming table, column and row
/// (exit 2) instead of a type error deep in a path. Timestamps in their formats
/// (`check_timestamps`), then per table one scan for: NULL or non-text keys and uuids, non-BLOB
/// checksums, non-integer flags and ids, and `status` / `operation_type` outside spec §1's sets.
pub fn check_values(conn: &Connection) -> Result<(), SchemaError> {
    check_timestamps(conn)?;
    for t in tables::contract() {
        let columns: Vec<(&'static str, String, String)> = t
            .columns
            .iter()
            .filter(|c| c.checked && !matches!(c.ty, ColType::Timestamp | ColType::Micros))
            .map(|c| {
                let (cond, expected) = c.bad_value();
                (c.name, cond, expected)
            })
            .collect();
        if columns.is_empty() {
            continue;
        }
        let label = row_label(t);
        let which: String = columns
            .iter()
            .enumerate()
            .map(|(i, (c, cond, _))| format!("WHEN {cond} THEN {i}||'|'||quote({c})"))
            .collect::<Vec<_>>()
            .join(" ");
        let any: String = columns
            .iter()
            .map(|(_, cond, _)| format!("({cond})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT {label}, CASE {which} END FROM {} WHERE {any} LIMIT 1",
            t.name
        );
        let bad: Option<(String, String)> = conn
            .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((row, hit)) = bad {
            let (i, value) = hit.split_once('|').unwrap_or(("0", &hit));
            let (column, _, expected) = &columns[i.parse::<usize>().unwrap_or(0)];
            return Err(SchemaError::BadValue {
                table: t.name,
                column,
                row,
                value: value.to_string(),
                expected: expected.clone(),
            });
        }
    }
    Ok(())
}

pub fn check_timestamps(conn: &Connection) -> Result<(), SchemaError> {
    let dt6 = format!("{TS_GLOB}.[0-9][0-9][0-9][0-9][0-9][0-9]");
    for t in tables::contract() {
        for c in t.columns.iter().filter(|c| c.checked) {
            let (pattern, format) = match c.ty {
                ColType::Timestamp => (TS_GLOB, TIMESTAMP_FORMAT),
                ColType::Micros => (dt6.as_str(), DATETIME6_FORMAT),
                _ => continue,
            };
            let (column, label) = (c.name, row_label(t));
            let sql = format!(
                "SELECT {label}, CAST({column} AS TEXT) FROM {}
                 WHERE {column} IS NOT NULL AND (typeof({column}) != 'text' OR {column} NOT GLOB ?1)
                 LIMIT 1",
                t.name
            );
            let bad: Option<(String, String)> = conn
                .query_row(&sql, [pattern], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((row, value)) = bad {
                return Err(crate::support::timefmt::BadTimestamp {
                    table: t.name,
                    column,
                    row,
                    value,
                    format,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// How a row of `t` is named in messages, as SQL: `host id 17`, `host_uuid 'h1', profile_uuid
/// 'p1'`.
fn row_label(t: &tables::Table) -> String {
    t.primary
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let noun = if i == 0 { t.noun } else { ", " };
            format!("'{noun}{k} ' || quote({k})")
        })
        .collect::<Vec<_>>()
        .join(" || ")
}

/// Migration 1: the contract tables, rendered from `tables::TABLES`. `label_membership` is
/// `WITHOUT ROWID`: its rows are the key, so it is stored in (host_id, label_id) order as InnoDB
/// clusters it in Fleet's MySQL, with one b-tree instead of two. `host_mdm_apple_profiles` stays
/// a rowid table: its rows are wide (~240 bytes), and a `WITHOUT ROWID` table makes every
/// secondary index entry carry the whole 73-byte key; measured at 100k hosts, that made the
/// `status`/`operation_type` index builds twice as slow. The generator inserts it in
/// (host_uuid, profile_uuid) order, so rowid order is key order anyway (semantics §9).
pub fn migration_tables() -> String {
    statements(&Dialect::Sqlite.tables(tables::contract()))
}

/// Migration 2: Fleet's secondary indexes (semantics §1), and nothing more: both reconciler
/// paths get exactly these, so neither is favoured.
pub fn migration_indexes() -> String {
    statements(&Dialect::Sqlite.indexes())
}

/// `\nA;\nB;\n`: statements as one batch, the way `reconsim schema` prints them.
fn statements(list: &[String]) -> String {
    let mut out = String::from("\n");
    for s in list {
        out.push_str(s);
        out.push_str(";\n");
    }
    out
}

/// All migrations, in order; migration `i` brings the database to `user_version = i + 1`.
pub fn migrations() -> [String; 2] {
    [migration_tables(), migration_indexes()]
}

/// The highest schema version this build knows.
pub const LATEST_VERSION: i64 = 2;

/// The full DDL, as `reconsim schema` prints it.
pub fn ddl() -> String {
    let mut out = String::new();
    for (i, m) in migrations().iter().enumerate() {
        out.push_str(&format!(
            "-- migration {} (PRAGMA user_version = {})",
            i + 1,
            i + 1
        ));
        out.push_str(m);
        out.push('\n');
    }
    out
}

/// The current `PRAGMA user_version`.
pub fn user_version(conn: &Connection) -> Result<i64, SchemaError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies every migration above the current version up to `target`, each in its own
/// transaction together with its `user_version` bump, so a failure leaves a consistent version.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), SchemaError> {
    let current = user_version(conn)?;
    if current > LATEST_VERSION {
        return Err(SchemaError::TooNew {
            found: current,
            known: LATEST_VERSION,
        });
    }
    for version in (current + 1)..=target.min(LATEST_VERSION) {
        let sql = &migrations()[(version - 1) as usize];
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .and_then(|_| tx.pragma_update(None, "user_version", version))
            .map_err(|source| SchemaError::Migration { version, source })?;
        tx.commit()?;
    }
    Ok(())
}

/// Checks that the database has every table and column of spec §1, in the order the spec
/// lists them, and names the first one missing. Extra tables and columns are fine.
pub fn check_contract(conn: &Connection) -> Result<(), SchemaError> {
    for t in tables::contract() {
        let (table, columns) = (t.name, t.columns);
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let present: Vec<String> = stmt
            .query_map([table], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if present.is_empty() {
            return Err(SchemaError::MissingTable { table });
        }
        for column in columns.iter().map(|c| c.name) {
            if !present.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                return Err(SchemaError::MissingColumn { table, column });
            }
        }
    }
    Ok(())
}

/// Opens an existing database read-only (no file is ever created by a reader) and checks the
/// contract. `query_only` guards against a writer slipping into a read path.
pub fn open_contract_db(path: &Path) -> Result<Connection, SchemaError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(SchemaError::Missing { path: shown });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| SchemaError::Open {
        path: shown.clone(),
        source,
    })?;
    // A file that is not SQLite fails on the first read, so force one here to name the path.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|source| SchemaError::Open {
            path: shown.clone(),
            source,
        })?;
    check_contract(&conn)?;
    Ok(conn)
}

/// The tables and columns the batched path reads, scanned once each (spec §9's floor).
pub const FLOOR_SCANS: [&str; 3] = [
    "SELECT id, uuid, team_id, platform, label_updated_at FROM hosts",
    "SELECT host_id, label_id FROM label_membership",
    "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
     FROM host_mdm_apple_profiles",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite DDL is rendered from `tables::TABLES`; its text is pinned (it is stored in
    /// every generated file, so a change would change every fleet's bytes). The pin is the
    /// text the migrations had as hand-written SQL before they were rendered.
    #[test]
    fn rendered_ddl_is_pinned() {
        use sha2::Digest;
        let text = migration_tables() + &migration_indexes();
        let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        assert_eq!(
            digest, "4299b49e8eb5fcd99023c0ade49705bf0b04d3aef54830d22f3cc378e624c682",
            "{text}"
        );
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        conn
    }

    #[test]
    fn migrations_reach_latest_and_meet_the_contract() {
        let conn = fresh();
        assert_eq!(user_version(&conn).unwrap(), LATEST_VERSION);
        check_contract(&conn).unwrap();
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = fresh();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        assert_eq!(user_version(&conn).unwrap(), LATEST_VERSION);
    }

    #[test]
    fn fleet_indexes_exist_after_migration_2() {
        let conn = fresh();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'idx_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 7);
    }

    #[test]
    fn contract_names_the_first_missing_table() {
        let conn = fresh();
        conn.execute_batch("DROP TABLE labels").unwrap();
        let err = check_contract(&conn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "schema contract (spec §1): missing table `labels`"
        );
    }

    #[test]
    fn contract_names_the_first_missing_column() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&migration_tables()).unwrap();
        conn.execute_batch(
            "ALTER TABLE hosts DROP COLUMN label_updated_at; ALTER TABLE hosts ADD COLUMN extra TEXT",
        )
        .unwrap();
        let err = check_contract(&conn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "schema contract (spec §1): table `hosts` has no column `label_updated_at`"
        );
    }

    #[test]
    fn a_timestamp_in_another_format_is_named_with_its_row() {
        let conn = fresh();
        conn.execute_batch(
            "INSERT INTO hosts (id, uuid, label_updated_at) VALUES (1, 'A', '2026-01-01 00:00:00');
             INSERT INTO hosts (id, uuid, label_updated_at) VALUES (7, 'B', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        assert_eq!(
            check_timestamps(&conn).unwrap_err().to_string(),
            "table `hosts`, column `label_updated_at`, host id 7: \"2026-01-01T00:00:00Z\" is not a \
             `YYYY-MM-DD HH:MM:SS` timestamp (spec §1)"
        );
        conn.execute_batch(
            "UPDATE hosts SET label_updated_at = '2026-01-01 00:00:00';
             INSERT INTO mdm_apple_configuration_profiles (profile_uuid, identifier, name, checksum,
               secrets_updated_at) VALUES ('a1', 'i', 'n', x'00', '2026-01-01 00:00:00');",
        )
        .unwrap();
        let e = check_timestamps(&conn).unwrap_err().to_string();
        assert!(e.starts_with("table `mdm_apple_configuration_profiles`, column `secrets_updated_at`, profile_uuid 'a1'"), "{e}");
    }

    #[test]
    fn extra_tables_and_columns_are_accepted() {
        let conn = fresh();
        conn.execute_batch("CREATE TABLE extra (x); ALTER TABLE labels ADD COLUMN query TEXT")
            .unwrap();
        check_contract(&conn).unwrap();
    }

    #[test]
    fn deleting_a_label_breaks_profile_rows_instead_of_removing_them() {
        // spec §1: label_id is ON DELETE SET NULL, apple_profile_uuid cascades.
        let conn = fresh();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO labels (id, name) VALUES (1, 'L');
             INSERT INTO mdm_apple_configuration_profiles (profile_uuid, identifier, name, checksum)
               VALUES ('a1', 'com.x', 'X', x'00');
             INSERT INTO mdm_configuration_profile_labels (apple_profile_uuid, label_name, label_id)
               VALUES ('a1', 'L', 1);
             DELETE FROM labels WHERE id = 1;",
        )
        .unwrap();
        let label_id: Option<i64> = conn
            .query_row(
                "SELECT label_id FROM mdm_configuration_profile_labels",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(label_id, None);
        conn.execute_batch("DELETE FROM mdm_apple_configuration_profiles")
            .unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM mdm_configuration_profile_labels",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }
}
