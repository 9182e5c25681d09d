//! The batched path's reads on the server (`batched::Source`), the values they decode, and the
//! snapshot copied back into SQLite for the classifier and the monitor.

use super::*;

// ---------------------------------------------------------------------------------------------
// Values

pub(super) fn v_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::UInt(u) => Some(*u as i64),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

pub(super) fn v_str(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Date(..) => v_time(v, false),
        other => Some(other.as_sql(true)),
    }
}

/// A time value as spec §1's text: `YYYY-MM-DD HH:MM:SS`, or with six fraction digits.
pub(super) fn v_time(v: &Value, micros: bool) -> Option<String> {
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

pub(super) fn v_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.clone(),
        _ => Vec::new(),
    }
}

pub(super) fn at(row: &mysql::Row, i: usize) -> &Value {
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
pub(super) fn mysql_params(sql: &str) -> String {
    sql.replace("?1", "?").replace("?2", "?")
}

impl MyDb {
    /// Runs `sql` (binary protocol) and hands each row to `f` as it arrives.
    pub fn for_each_row(
        &self,
        sql: &str,
        mut f: impl FnMut(&mysql::Row) -> Result<()>,
    ) -> Result<()> {
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
    pub(super) fn rows(
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

    pub(super) fn read_current(row: &mysql::Row, host: &mut Option<Arc<str>>) -> CurrentRow {
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
    fn window(&self, w: &batched::WindowRead<'_>) -> Result<(Vec<Host>, usize), BatchedError> {
        let sql = mysql_params(&batched::window_sql_for(w.rules, w.variant));
        let (cols, rows) = self.rows("window", &sql, (w.cursor, w.limit as u64).into())?;
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
        batched::window_from_rows(hosts, w.variant)
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
        // One range of the clustered primary key, from the window's first uuid to its last in
        // the server's own order (the window's ORDER BY), instead of an IN list of every uuid;
        // rows of hosts the window does not hold are dropped here.
        let (first, last) = (uuids[0], uuids[uuids.len() - 1]);
        let wanted: FxHashSet<&str> = uuids.iter().copied().collect();
        let sql =
            "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
             FROM host_mdm_apple_profiles WHERE host_uuid BETWEEN ? AND ?
             ORDER BY host_uuid, profile_uuid";
        let (_, rows) = self.rows("current rows", sql, (first, last).into())?;
        let mut host = None;
        let decoded = rows
            .iter()
            .filter(|r| {
                // Column 0 is the host uuid; a row that does not decode is kept to be reported.
                r.as_ref(0).is_none_or(|v| match v {
                    Value::Bytes(b) => std::str::from_utf8(b).map_or(true, |u| wanted.contains(u)),
                    _ => true,
                })
            })
            .map(|r| {
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
