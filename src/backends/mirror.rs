//! A loadtest path on a MySQL-compatible server (issue 6): the reconciler's queries run on the
//! server, while the writer, the simulated devices and the churn keep writing the path's SQLite
//! database, the harness's state of record. Every change to a spec §1 table there is recorded
//! by temporary triggers (the key of the row, in `temp.reconsim_dirty`) and replayed to the
//! server before the next tick reads: rows that exist are upserted whole, rows that are gone
//! are deleted. So each tick reads on the server exactly what it would read in SQLite, and
//! the replication is timed as harness work (`replicate`), outside the tick.
//!
//! The server connection replays with `foreign_key_checks = 0`, as a dump restore does: the
//! SQLite side already applied the cascades (`ON DELETE CASCADE`, `SET NULL`), and their rows
//! are in the replay.

use crate::backends::error::{Result, refused};
use crate::backends::mysqldb::{self, MyDb};
use rusqlite::Connection;

/// A path's server database and the replication of its SQLite state into it.
pub struct Mirror {
    pub db: MyDb,
}

/// `mysql://…/DB` → `mysql://…/DB_{suffix}`.
pub fn url_with_suffix(url: &str, suffix: &str) -> Result<(String, String)> {
    let (head, db) = url
        .rsplit_once('/')
        .filter(|(h, d)| h.contains("://") && !d.is_empty())
        .ok_or_else(|| {
            refused!(
                "--backend {}: the URL names no database",
                crate::backends::backend::shown_url(url)
            )
        })?;
    let (db, query) = match db.split_once('?') {
        Some((d, q)) => (d, format!("?{q}")),
        None => (db, String::new()),
    };
    let name = format!("{db}_{suffix}");
    Ok((format!("{head}/{name}{query}"), name))
}

impl Mirror {
    /// Creates (if missing) the database `DB_<path>` next to the URL's, loads `conn`'s fleet
    /// into it, and starts recording `conn`'s changes.
    pub fn setup(
        url: &str,
        path: &str,
        conn: &Connection,
        progress: &dyn crate::support::progress::Progress,
    ) -> Result<Mirror> {
        let (path_url, name) = url_with_suffix(url, path)?;
        MyDb::create_database(url, &name)?;
        let db = MyDb::connect(&path_url)?;
        progress.set_message(format!("loading the {path} path's fleet into {}", db.shown));
        mysqldb::load_from_sqlite(&db, conn, progress)?;
        db.exec("SET foreign_key_checks = 0")?;
        install_triggers(conn)?;
        Ok(Mirror { db })
    }

    /// Replays the changes recorded since the last call; returns rows replayed.
    pub fn sync(&mut self, conn: &Connection) -> Result<u64> {
        const STATEMENT_BYTES: usize = 1 << 20;
        let mut n = 0u64;
        for t in crate::store::tables::contract() {
            let (table, keys, columns) = (t.name, t.primary, t.column_names());
            let on = keys
                .iter()
                .enumerate()
                .map(|(i, k)| format!("t.{k} IS d.k{}", i + 1))
                .collect::<Vec<_>>()
                .join(" AND ");
            let cols = columns
                .iter()
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let kcols = (1..=keys.len())
                .map(|i| format!("d.k{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            // Present rows (upserted) and gone rows (deleted), each key once.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {kcols}, t.{k0} IS NOT NULL AS present, {cols}
                 FROM (SELECT DISTINCT k1, k2 FROM temp.reconsim_dirty WHERE tbl = ?1) d
                 LEFT JOIN main.{table} t ON {on}",
                k0 = keys[0]
            ))?;
            let mut rows = stmt.query([table])?;
            let quoted = mysqldb::quoted(&columns);
            let update = columns
                .iter()
                .map(|c| format!("`{c}` = VALUES(`{c}`)"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut upsert = String::new();
            let mut delete = String::new();
            let flush_up = |sql: &mut String| -> Result<()> {
                if !sql.is_empty() {
                    sql.push_str(" ON DUPLICATE KEY UPDATE ");
                    sql.push_str(&update);
                    self.db
                        .exec(sql)
                        .map_err(|e| refused!("{}: replaying {table}: {e}", self.db.shown))?;
                    sql.clear();
                }
                Ok(())
            };
            let flush_del = |sql: &mut String| -> Result<()> {
                if !sql.is_empty() {
                    sql.push(')');
                    self.db.exec(sql).map_err(|e| {
                        refused!("{}: replaying deletes of {table}: {e}", self.db.shown)
                    })?;
                    sql.clear();
                }
                Ok(())
            };
            let nk = keys.len();
            while let Some(r) = rows.next()? {
                n += 1;
                if r.get::<_, bool>(nk)? {
                    if upsert.is_empty() {
                        upsert.push_str(&format!("INSERT INTO {table} ({quoted}) VALUES "));
                    } else {
                        upsert.push(',');
                    }
                    upsert.push('(');
                    for (i, c) in columns.iter().enumerate() {
                        if i > 0 {
                            upsert.push(',');
                        }
                        mysqldb::push_literal(&mut upsert, r.get_ref(nk + 1 + i)?, c);
                    }
                    upsert.push(')');
                    if upsert.len() >= STATEMENT_BYTES {
                        flush_up(&mut upsert)?;
                    }
                } else {
                    if delete.is_empty() {
                        let kq = keys
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        delete.push_str(&format!("DELETE FROM {table} WHERE ({kq}) IN ("));
                    } else {
                        delete.push(',');
                    }
                    delete.push('(');
                    for (i, key) in keys.iter().enumerate().take(nk) {
                        if i > 0 {
                            delete.push(',');
                        }
                        mysqldb::push_literal(&mut delete, r.get_ref(i)?, key);
                    }
                    delete.push(')');
                    if delete.len() >= STATEMENT_BYTES {
                        flush_del(&mut delete)?;
                    }
                }
            }
            flush_up(&mut upsert)?;
            flush_del(&mut delete)?;
        }
        conn.execute_batch("DELETE FROM temp.reconsim_dirty")?;
        Ok(n)
    }
}

impl crate::backends::store::Replica for Mirror {
    fn sync(&mut self, conn: &Connection) -> Result<u64> {
        Mirror::sync(self, conn)
    }

    fn store(&self) -> &dyn crate::backends::store::Store {
        &self.db
    }
}

/// Temporary triggers recording the key of every inserted, updated or deleted row of the spec
/// §1 tables (both keys of an update, in case it changed the key).
pub fn install_triggers(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from(
        "CREATE TEMP TABLE IF NOT EXISTS reconsim_dirty (tbl TEXT NOT NULL, k1, k2);\n",
    );
    for t in crate::store::tables::contract() {
        let (table, keys) = (t.name, t.primary);
        let vals = |row: &str| -> String {
            let k2 = keys
                .get(1)
                .map_or("NULL".to_string(), |k| format!("{row}.{k}"));
            format!("('{table}', {row}.{}, {k2})", keys[0])
        };
        for (event, rows) in [
            ("INSERT", vals("NEW")),
            ("DELETE", vals("OLD")),
            ("UPDATE", format!("{}, {}", vals("OLD"), vals("NEW"))),
        ] {
            sql.push_str(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS reconsim_dirty_{table}_{e}
                 AFTER {event} ON main.{table}
                 BEGIN INSERT INTO reconsim_dirty (tbl, k1, k2) VALUES {rows}; END;\n",
                e = event.to_lowercase()
            ));
        }
    }
    conn.execute_batch(&sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_databases_sit_next_to_the_urls() {
        let (u, n) = url_with_suffix("mysql://a:b@h:1/fleet", "legacy").unwrap();
        assert_eq!(u, "mysql://a:b@h:1/fleet_legacy");
        assert_eq!(n, "fleet_legacy");
        let (u, _) = url_with_suffix("mysql://a:b@h:1/fleet?prefer_socket=false", "x").unwrap();
        assert_eq!(u, "mysql://a:b@h:1/fleet_x?prefer_socket=false");
        assert!(url_with_suffix("mysql://a:b@h:1/", "x").is_err());
    }

    #[test]
    fn triggers_record_every_change_once_per_key() {
        let conn = crate::paths::batched::tests::quick_fleet();
        install_triggers(&conn).unwrap();
        conn.execute_batch(
            "UPDATE hosts SET hostname = 'x' WHERE id = 1;
             DELETE FROM label_membership WHERE host_id = 2;
             DELETE FROM labels WHERE id = (SELECT min(label_id) FROM mdm_configuration_profile_labels);",
        )
        .unwrap();
        let count = |t: &str| -> i64 {
            conn.query_row(
                "SELECT count(DISTINCT coalesce(k1,'') || '|' || coalesce(k2,'')) FROM reconsim_dirty WHERE tbl = ?1",
                [t],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(count("hosts"), 1);
        assert!(count("label_membership") >= 1);
        assert_eq!(count("labels"), 1);
        // ON DELETE SET NULL fired in SQLite: its rows are recorded too.
        assert!(count("mdm_configuration_profile_labels") >= 1);
    }
}
