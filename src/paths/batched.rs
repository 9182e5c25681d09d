//! The batched path (spec §4): eligible hosts in cursor-paged windows, the catalog and the
//! window's memberships and current rows loaded by SQL, decisions made in code by `handlers`.
//!
//! Bulk loads take the window's keys as one JSON array bound to `json_each(?)`, so there is
//! no IN-list limit at any batch size; SQLite probes the primary key once per value (plans
//! pinned in tests).

use crate::domain::clock::{Clock, RealClock};
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::handlers::{self, CatalogEntry};
use crate::domain::model::{Checksum, CurrentRow, Delta, Host, LabelRef, Op, Profile, intern};
use crate::domain::rules::Rules;
use crate::domain::variant::Variant;
use crate::paths::cursor::CursorStore;
use crate::paths::phase::Phase;
use crate::support::timefmt;
use rusqlite::Connection;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Errors of the batched path. A bad value names its table, column and row.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchedError {
    #[error("batched {phase} query: {message}")]
    Query {
        phase: &'static str,
        message: String,
    },
    #[error(transparent)]
    BadTimestamp(#[from] timefmt::BadTimestamp),
    #[error("batched tick failed: {0}")]
    Tick(String),
    #[error("batched pass did not wrap within {ticks} ticks (cursor at {cursor:?})")]
    NoWrap { ticks: usize, cursor: String },
    /// The strict scanner refused a value (spec §8 B1).
    #[error("scan error on column index {index}, name {name:?}: {message}")]
    Scan {
        index: usize,
        name: String,
        message: String,
    },
}

fn q(phase: &'static str) -> impl Fn(rusqlite::Error) -> BatchedError {
    move |e| BatchedError::Query {
        phase,
        message: e.to_string(),
    }
}

/// Where a batched tick reads from (spec §4.1 steps 2, 5, 6): SQLite by default, a
/// MySQL-compatible server through the MySQL backend (`backends::mysqldb`). Everything after the reads (handlers,
/// diff, cursor logic, variants, faults) is shared.
pub trait Source {
    /// One window after `cursor` and the raw row count before de-duplication.
    fn window(
        &self,
        cursor: &str,
        limit: usize,
        rules: &Rules,
        variant: Variant,
    ) -> Result<(Vec<Host>, usize), BatchedError>;
    /// The raw catalog through the strict scanner.
    fn profiles(&self, variant: Variant) -> Result<Vec<Profile>, BatchedError>;
    /// Memberships of `host_ids` in `label_ids` (sorted).
    fn memberships(
        &self,
        host_ids: &[i64],
        label_ids: &[i64],
    ) -> Result<FxHashSet<(i64, i64)>, BatchedError>;
    /// Current rows of `uuids`.
    fn current(&self, uuids: &[&str], catalog: &Catalog) -> Result<CurrentRows, BatchedError>;
    /// Current rows whose host uuid has no eligible host row (D5's sweep).
    fn ineligible_rows(&self, rules: &Rules) -> Result<Vec<CurrentRow>, BatchedError>;
    /// Number of `hosts` rows (bounds a pass).
    fn host_rows(&self) -> Result<i64, BatchedError>;
}

impl Source for Connection {
    fn window(
        &self,
        cursor: &str,
        limit: usize,
        rules: &Rules,
        variant: Variant,
    ) -> Result<(Vec<Host>, usize), BatchedError> {
        load_window_for(self, cursor, limit, rules, variant)
    }
    fn profiles(&self, variant: Variant) -> Result<Vec<Profile>, BatchedError> {
        load_profiles_for(self, variant)
    }
    fn memberships(
        &self,
        host_ids: &[i64],
        label_ids: &[i64],
    ) -> Result<FxHashSet<(i64, i64)>, BatchedError> {
        load_memberships(self, host_ids, label_ids)
    }
    fn current(&self, uuids: &[&str], catalog: &Catalog) -> Result<CurrentRows, BatchedError> {
        load_current(self, uuids, catalog)
    }
    fn ineligible_rows(&self, rules: &Rules) -> Result<Vec<CurrentRow>, BatchedError> {
        let mut stmt = self
            .prepare_cached(&ineligible_sql(rules))
            .map_err(q("d5 sweep"))?;
        let mut host = None;
        let rows = stmt
            .query_map([], |r| read_current_row(r, &mut host, &|_| None))
            .map_err(q("d5 sweep"))?;
        rows.map(|r| r.map_err(q("d5 sweep"))).collect()
    }
    fn host_rows(&self) -> Result<i64, BatchedError> {
        self.query_row("SELECT count(*) FROM hosts", [], |r| r.get(0))
            .map_err(q("host count"))
    }
}

/// D5's sweep query: current rows with no eligible host row for their uuid.
pub fn ineligible_sql(rules: &Rules) -> String {
    let d7 = crate::domain::eligibility::enrolled_clause(rules);
    format!(
        "SELECT hmap.host_uuid, hmap.profile_uuid, hmap.status, hmap.operation_type,
                hmap.checksum, hmap.secrets_updated_at
         FROM host_mdm_apple_profiles hmap
         WHERE NOT EXISTS (SELECT 1 FROM hosts h WHERE h.uuid = hmap.host_uuid
                           AND {ELIGIBLE_HOST}{d7})"
    )
}

/// Settings of a batched run.
#[derive(Debug, Clone, Copy)]
pub struct BatchedConfig {
    pub batch_size: usize,
    pub rules: Rules,
    /// The version of spec §8 (its presets already applied to `rules`).
    pub variant: Variant,
}

/// The window query (spec §4.1 step 2), with D7's enrolled filter when on. Plan (pinned):
/// `SEARCH h USING INDEX idx_hosts_uuid (uuid>?)`, the eligibility `EXISTS` per host through
/// `idx_nano_enrollments_device_id` and the nano device's primary key; no sort (index order is
/// uuid order, ties by rowid = id).
pub fn window_sql(rules: &Rules) -> String {
    window_sql_for(rules, Variant::Merged)
}

/// `window_sql` of a variant: `dedupe` and `latest` order by `uuid, id DESC` (spec §8).
pub fn window_sql_for(rules: &Rules, variant: Variant) -> String {
    let d7 = crate::domain::eligibility::enrolled_clause(rules);
    // The cursor-ge mutant (oracle sensitivity) lists the cursor's own uuid again.
    let cmp = if rules.mutant == Some(crate::domain::mutants::Mutant::CursorGe) {
        ">="
    } else {
        ">"
    };
    let order = if variant.dedupes_window() {
        "h.uuid, h.id DESC"
    } else {
        "h.uuid, h.id"
    };
    format!(
        "SELECT h.id, h.uuid, h.team_id, h.platform, h.label_updated_at
         FROM hosts h
         WHERE h.uuid {cmp} ?1 AND {ELIGIBLE_HOST}{d7}
         ORDER BY {order}
         LIMIT ?2"
    )
}

/// The catalog query of a variant: `seed` selects `COALESCE(lbl.created_at, …)` (B1).
pub fn catalog_sql(variant: Variant) -> String {
    if variant.coalesced_created_at() {
        CATALOG_SQL.replace(
            "lbl.created_at AS label_created_at",
            "COALESCE(lbl.created_at, '2000-01-01 00:00:00') AS label_created_at",
        )
    } else {
        CATALOG_SQL.to_string()
    }
}

/// The strict scanner (spec §8 B1): like Go's `database/sql`, a time is decoded only from a
/// column whose declared type is a time type (`sqlite3_column_decltype`); an expression has
/// none, and the scan fails with Fleet's error shape.
pub fn strict_time_column(
    stmt: &rusqlite::Statement<'_>,
    index: usize,
) -> Result<(), BatchedError> {
    let Some(col) = stmt.columns().nth(index) else {
        return Err(BatchedError::Scan {
            index,
            name: String::new(),
            message: "no such column".into(),
        });
    };
    let time_type = col.decl_type().is_some_and(|t| {
        let t = t.to_ascii_uppercase();
        t.contains("TIMESTAMP") || t.contains("DATETIME") || t == "DATE" || t == "TIME"
    });
    if time_type {
        Ok(())
    } else {
        Err(BatchedError::Scan {
            index,
            name: col.name().to_string(),
            message: "unsupported scan, storing text into a timestamp".into(),
        })
    }
}

/// The catalog query (spec §4.1 step 5). Plan: `SCAN p` in primary-key order, label rows by
/// `sqlite_autoindex_mdm_configuration_profile_labels_1`, labels by rowid. Every profile with its label rows and their labels'
/// facts, `lbl.created_at` selected as the plain column (the `merged` version, B1 fixed).
/// `label_created_at` is column 4, as in Fleet's query (its B1 error names column index 4).
pub const CATALOG_SQL: &str = "
    SELECT p.profile_uuid, p.team_id, p.identifier, p.name, lbl.created_at AS label_created_at,
           p.checksum, p.secrets_updated_at, mcpl.id, mcpl.label_name, mcpl.label_id,
           lbl.label_membership_type, mcpl.exclude, mcpl.require_all
    FROM mdm_apple_configuration_profiles p
    LEFT JOIN mdm_configuration_profile_labels mcpl ON mcpl.apple_profile_uuid = p.profile_uuid
    LEFT JOIN labels lbl ON lbl.id = mcpl.label_id
    ORDER BY p.profile_uuid, mcpl.id";

/// The window's memberships (spec §4.1 step 6), probed by the (host_id, label_id) primary key.
/// Restricting to the catalog's labels happens in code: with a second `IN` on label_id, the
/// planner may drive from the label index instead, labels × hosts probes (spec §9).
pub const MEMBERSHIPS_SQL: &str = "
    SELECT lm.host_id, lm.label_id FROM label_membership lm
    WHERE lm.host_id IN (SELECT value FROM json_each(?1))";

/// The window's current rows (spec §4.1 step 6).
pub const CURRENT_ROWS_SQL: &str = "
    SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
    FROM host_mdm_apple_profiles
    WHERE host_uuid IN (SELECT value FROM json_each(?1))";

fn check_ts(
    table: &'static str,
    column: &'static str,
    row: impl FnOnce() -> String,
    value: &str,
) -> Result<(), BatchedError> {
    if timefmt::is_timestamp(value) {
        Ok(())
    } else {
        Err(timefmt::BadTimestamp {
            table,
            column,
            row: row(),
            value: value.to_string(),
            format: timefmt::TIMESTAMP_FORMAT,
        }
        .into())
    }
}

fn check_dt6(
    table: &'static str,
    column: &'static str,
    row: impl FnOnce() -> String,
    value: Option<&str>,
) -> Result<(), BatchedError> {
    match value {
        Some(v) if !timefmt::is_datetime6(v) => Err(timefmt::BadTimestamp {
            table,
            column,
            row: row(),
            value: v.to_string(),
            format: timefmt::DATETIME6_FORMAT,
        }
        .into()),
        _ => Ok(()),
    }
}

/// Lists one window of eligible hosts after `cursor`.
pub fn load_window(
    conn: &Connection,
    cursor: &str,
    limit: usize,
    rules: &Rules,
) -> Result<Vec<Host>, BatchedError> {
    load_window_for(conn, cursor, limit, rules, Variant::Merged).map(|w| w.0)
}

/// `load_window` of a variant: the hosts (one per uuid, the highest id, when the variant
/// de-duplicates) and the number of rows the query returned before de-duplication.
pub fn load_window_for(
    conn: &Connection,
    cursor: &str,
    limit: usize,
    rules: &Rules,
    variant: Variant,
) -> Result<(Vec<Host>, usize), BatchedError> {
    let mut stmt = conn
        .prepare_cached(&window_sql_for(rules, variant))
        .map_err(q(Phase::Window.name()))?;
    strict_time_column(&stmt, 4)?;
    let rows = stmt
        .query_map(rusqlite::params![cursor, limit as i64], |r| {
            Ok(Host {
                id: r.get(0)?,
                uuid: r.get(1)?,
                team_id: r.get(2)?,
                platform: r.get(3)?,
                label_updated_at: r.get(4)?,
            })
        })
        .map_err(q(Phase::Window.name()))?;
    window_from_rows(rows.map(|h| h.map_err(q(Phase::Window.name()))), variant)
}

/// The window's hosts from the query's rows, whatever the backend: timestamps checked, one
/// host per uuid (the highest id) when the variant de-duplicates, and the raw row count.
pub fn window_from_rows(
    rows: impl Iterator<Item = Result<Host, BatchedError>>,
    variant: Variant,
) -> Result<(Vec<Host>, usize), BatchedError> {
    let mut hosts: Vec<Host> = Vec::new();
    let mut raw = 0;
    for h in rows {
        let h = h?;
        raw += 1;
        check_ts(
            "hosts",
            "label_updated_at",
            || format!("host id {}", h.id),
            &h.label_updated_at,
        )?;
        if variant.dedupes_window() && hosts.last().is_some_and(|l| l.uuid == h.uuid) {
            continue; // ordered uuid, id DESC: the first row of a uuid has the highest id
        }
        hosts.push(h);
    }
    Ok((hosts, raw))
}

/// Loads the raw catalog: every profile with its label rows.
pub fn load_profiles(conn: &Connection) -> Result<Vec<Profile>, BatchedError> {
    load_profiles_for(conn, Variant::Merged)
}

/// `load_profiles` of a variant, through the strict scanner: a label row's `label_created_at`
/// must come from a time-typed column (spec §8 B1).
pub fn load_profiles_for(
    conn: &Connection,
    variant: Variant,
) -> Result<Vec<Profile>, BatchedError> {
    let sql = catalog_sql(variant);
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(q(Phase::Catalog.name()))?;
    let created_at_typed = strict_time_column(&stmt, 4);
    let secrets_typed = strict_time_column(&stmt, 6);
    let rows = stmt
        .query_map([], |r| {
            Ok(CatalogRow {
                profile_uuid: r.get(0)?,
                team_id: r.get(1)?,
                identifier: r.get(2)?,
                name: r.get(3)?,
                label_created_at: r.get(4)?,
                checksum: r.get(5)?,
                secrets_updated_at: r.get(6)?,
                row_id: r.get(7)?,
                label_name: r.get(8)?,
                label_id: r.get(9)?,
                membership_type: r.get(10)?,
                exclude: r.get(11)?,
                require_all: r.get(12)?,
            })
        })
        .map_err(q(Phase::Catalog.name()))?;
    profiles_from_rows(
        rows.map(|r| r.map_err(q(Phase::Catalog.name()))),
        created_at_typed,
        secrets_typed,
    )
}

/// One row of the catalog query, decoded (columns in `CATALOG_SQL` order).
#[derive(Debug, Clone, Default)]
pub struct CatalogRow {
    pub profile_uuid: String,
    pub team_id: i64,
    pub identifier: String,
    pub name: String,
    /// Column 4; only read for a label row, after the strict scanner accepted the column.
    pub label_created_at: Option<String>,
    pub checksum: Vec<u8>,
    pub secrets_updated_at: Option<String>,
    /// `mcpl.id`: NULL when the profile has no label row (the LEFT JOIN's miss).
    pub row_id: Option<i64>,
    pub label_name: Option<String>,
    pub label_id: Option<i64>,
    pub membership_type: Option<i64>,
    pub exclude: Option<i64>,
    pub require_all: Option<i64>,
}

/// The profiles from the catalog query's rows, whatever the backend. `created_at_typed` and
/// `secrets_typed` are the strict scanner's verdicts on columns 4 and 6 (spec §8 B1): an
/// error surfaces at the first row that scans that column, so a label-free fleet never sees it.
pub fn profiles_from_rows(
    rows: impl Iterator<Item = Result<CatalogRow, BatchedError>>,
    created_at_typed: Result<(), BatchedError>,
    secrets_typed: Result<(), BatchedError>,
) -> Result<Vec<Profile>, BatchedError> {
    let mut out: Vec<Profile> = Vec::new();
    for r in rows {
        let r = r?;
        if out.last().is_none_or(|p| p.uuid != r.profile_uuid) {
            if r.secrets_updated_at.is_some() {
                secrets_typed.clone()?;
            }
            check_dt6(
                "mdm_apple_configuration_profiles",
                "secrets_updated_at",
                || format!("profile_uuid {}", r.profile_uuid),
                r.secrets_updated_at.as_deref(),
            )?;
            out.push(Profile {
                uuid: r.profile_uuid.clone(),
                team_id: r.team_id,
                identifier: r.identifier.clone(),
                name: r.name.clone(),
                checksum: r.checksum.clone(),
                secrets_updated_at: r.secrets_updated_at.clone(),
                refs: Vec::new(),
            });
        }
        // No label row: the LEFT JOIN's NULL id.
        if r.row_id.is_none() {
            continue;
        }
        // A label row: its created_at is scanned into a time (Fleet's B1 fails here).
        created_at_typed.clone()?;
        if let Some(c) = r.label_created_at.as_deref() {
            check_ts(
                "labels",
                "created_at",
                || format!("label id {}", r.label_id.unwrap_or(0)),
                c,
            )?;
        }
        let label = LabelRef {
            label_name: r.label_name.unwrap_or_default(),
            label_id: r.label_id,
            created_at: r.label_created_at,
            membership_type: r.membership_type,
            exclude: r.exclude.unwrap_or(0) != 0,
            require_all: r.require_all.unwrap_or(0) != 0,
        };
        if let Some(p) = out.last_mut() {
            p.refs.push(label);
        }
    }
    Ok(out)
}

/// Memberships of `host_ids` in `label_ids`, as a set of (host_id, label_id).
pub fn load_memberships(
    conn: &Connection,
    host_ids: &[i64],
    label_ids: &[i64],
) -> Result<FxHashSet<(i64, i64)>, BatchedError> {
    let hosts = serde_json::to_string(host_ids).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn
        .prepare_cached(MEMBERSHIPS_SQL)
        .map_err(q(Phase::Memberships.name()))?;
    let rows = stmt
        .query_map([hosts], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .map_err(q(Phase::Memberships.name()))?;
    let mut out = FxHashSet::default();
    for row in rows {
        let (h, l) = row.map_err(q(Phase::Memberships.name()))?;
        if label_ids.binary_search(&l).is_ok() {
            out.insert((h, l));
        }
    }
    Ok(out)
}

/// Reads one `host_mdm_apple_profiles` row selected as (host_uuid, profile_uuid, status,
/// operation_type, checksum, secrets_updated_at); `host` is reused when it is this row's, and
/// `profile` shares the catalog's uuid when it has the profile.
pub fn read_current_row(
    r: &rusqlite::Row,
    host: &mut Option<Arc<str>>,
    profile: &dyn Fn(&str) -> Option<Arc<str>>,
) -> rusqlite::Result<CurrentRow> {
    use rusqlite::types::ValueRef;
    let text = |i: usize| -> rusqlite::Result<Option<&str>> {
        match r.get_ref(i)? {
            ValueRef::Null => Ok(None),
            v => v.as_str().map(Some).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e))
            }),
        }
    };
    let uuid = text(0)?.unwrap_or_default();
    let host_uuid = match host {
        Some(h) if &**h == uuid => h.clone(),
        _ => {
            let h: Arc<str> = Arc::from(uuid);
            *host = Some(h.clone());
            h
        }
    };
    let p = text(1)?.unwrap_or_default();
    let checksum = match r.get_ref(4)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => Checksum::from_slice(b),
        _ => Checksum::new(),
    };
    Ok(CurrentRow {
        host_uuid,
        profile_uuid: profile(p).unwrap_or_else(|| Arc::from(p)),
        status: text(2)?.map(intern),
        operation_type: text(3)?.map(intern),
        checksum,
        secrets_updated_at: r.get(5)?,
    })
}

/// Current rows of `uuids`, grouped by host uuid and sorted by it (the probes return each
/// host's rows together, in key order; grouping needs no hashing).
pub fn load_current(
    conn: &Connection,
    uuids: &[&str],
    catalog: &Catalog,
) -> Result<CurrentRows, BatchedError> {
    let by_uuid = catalog.by_uuid();
    let profile = |p: &str| by_uuid.get(p).map(|&i| catalog.entries[i].uuid.clone());
    let arg = serde_json::to_string(uuids).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn
        .prepare_cached(CURRENT_ROWS_SQL)
        .map_err(q("current rows"))?;
    let mut rows = stmt.query([arg]).map_err(q("current rows"))?;
    let mut host = None;
    let rows = std::iter::from_fn(|| match rows.next() {
        Ok(Some(r)) => Some(read_current_row(r, &mut host, &profile).map_err(q("current rows"))),
        Ok(None) => None,
        Err(e) => Some(Err(q("current rows")(e))),
    });
    CurrentRows::from_rows(rows)
}

/// A window's current rows, grouped per host uuid, sorted by uuid.
#[derive(Debug, Default)]
pub struct CurrentRows {
    groups: Vec<(Arc<str>, Vec<CurrentRow>)>,
}

impl CurrentRows {
    /// Groups rows that come each host's together (as the key probes return them), checking
    /// `secrets_updated_at`'s format; sorts the groups by uuid if they came out of order.
    pub fn from_rows(
        rows: impl Iterator<Item = Result<CurrentRow, BatchedError>>,
    ) -> Result<CurrentRows, BatchedError> {
        let mut groups: Vec<(Arc<str>, Vec<CurrentRow>)> = Vec::new();
        for row in rows {
            let row = row?;
            check_dt6(
                "host_mdm_apple_profiles",
                "secrets_updated_at",
                || {
                    format!(
                        "host_uuid {}, profile_uuid {}",
                        row.host_uuid, row.profile_uuid
                    )
                },
                row.secrets_updated_at.as_deref(),
            )?;
            match groups.last_mut() {
                Some((h, v)) if Arc::ptr_eq(h, &row.host_uuid) || **h == *row.host_uuid => {
                    v.push(row)
                }
                _ => groups.push((row.host_uuid.clone(), vec![row])),
            }
        }
        if !groups.is_sorted_by(|a, b| a.0 < b.0) {
            // Another collation's order (MySQL's): sort, and merge a host split in two.
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            groups.dedup_by(|b, a| {
                let same = a.0 == b.0;
                if same {
                    a.1.append(&mut b.1);
                }
                same
            });
        }
        Ok(CurrentRows { groups })
    }

    /// The uuid (shared) and rows of a host, if it has any.
    pub fn get(&self, uuid: &str) -> Option<(&Arc<str>, &[CurrentRow])> {
        self.groups
            .binary_search_by(|g| (*g.0).cmp(uuid))
            .ok()
            .map(|i| (&self.groups[i].0, &self.groups[i].1[..]))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.1.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// The shaped catalog and its index by profile uuid.
pub struct Catalog {
    pub entries: Vec<CatalogEntry>,
    pub label_ids: Vec<i64>,
    /// Entry indexes per profile team id.
    pub by_team: FxHashMap<i64, Vec<usize>>,
}

impl Catalog {
    pub fn new(profiles: Vec<Profile>, rules: &Rules) -> Catalog {
        let entries: Vec<CatalogEntry> = profiles
            .into_iter()
            .map(|p| CatalogEntry::new(p, rules))
            .collect();
        let mut label_ids: Vec<i64> = entries
            .iter()
            .flat_map(|e| e.profile.refs.iter().filter_map(|r| r.label_id))
            .collect();
        label_ids.sort_unstable();
        label_ids.dedup();
        let mut by_team: FxHashMap<i64, Vec<usize>> = FxHashMap::default();
        for (i, e) in entries.iter().enumerate() {
            by_team.entry(e.profile.team_id).or_default().push(i);
        }
        Catalog {
            entries,
            label_ids,
            by_team,
        }
    }

    pub fn by_uuid(&self) -> FxHashMap<&str, usize> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.profile.uuid.as_str(), i))
            .collect()
    }
}

/// How a tick ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A window was processed.
    Ok,
    /// The window was empty (the pass was already complete).
    Empty,
    /// The tick failed after the cursor was read; the cursor stays (spec §4.1 step 8).
    Error(String),
}

/// What one tick did.
#[derive(Debug, Clone)]
pub struct TickReport {
    pub cursor_before: String,
    pub cursor_after: String,
    /// Host row ids of the window, in window order.
    pub visited: Vec<i64>,
    pub deltas: Vec<Delta>,
    pub outcome: Outcome,
    pub timings: Vec<(&'static str, Duration)>,
    /// The tick ended a pass (cursor back to "").
    pub pass_complete: bool,
    /// Rows the tick's queries returned: window hosts, catalog rows, memberships, current rows.
    pub rows_read: u64,
    /// An error the tick logged and swallowed (B3: a failed cursor write).
    pub logged: Option<String>,
}

/// One tick of spec §4.1, timed by the real clock.
pub fn tick(conn: &dyn Source, cursor: &mut dyn CursorStore, cfg: &BatchedConfig) -> TickReport {
    tick_with_clock(conn, cursor, cfg, &RealClock::default())
}

/// One tick of spec §4.1, its phases timed by `clock`.
pub fn tick_with_clock(
    conn: &dyn Source,
    cursor: &mut dyn CursorStore,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
) -> TickReport {
    tick_with_faults(conn, cursor, cfg, clock, &|_| None)
}

/// `tick_with_clock` with fault injection: after each phase of steps 2–7, `inject(phase)` may
/// return an error message, which fails the tick as a real error there would (issue 5).
pub fn tick_with_faults(
    conn: &dyn Source,
    cursor: &mut dyn CursorStore,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
    inject: &dyn Fn(&'static str) -> Option<String>,
) -> TickReport {
    let mut timings = Vec::new();
    let t = clock.now();
    // Step 1: a read error means "start from the beginning".
    let before = cursor.read().unwrap_or_default();
    timings.push((Phase::CursorRead.name(), clock.since(t)));
    let mut report = TickReport {
        cursor_before: before.clone(),
        cursor_after: before.clone(),
        visited: Vec::new(),
        deltas: Vec::new(),
        outcome: Outcome::Ok,
        timings: Vec::new(),
        pass_complete: false,
        rows_read: 0,
        logged: None,
    };
    match tick_inner(conn, &before, cfg, clock, &mut timings, &mut report, inject) {
        Ok(next) => {
            // Step 8: write only on success and only when it changed.
            if next != before {
                let t = clock.now();
                let written = cursor.write(&next);
                timings.push((Phase::CursorWrite.name(), clock.since(t)));
                if let Err(e) = written {
                    if cfg.variant.swallows_cursor_write_errors() {
                        // B3 (spec §8): logged, and the tick reports success; the cursor
                        // stays, so the same window comes again.
                        report.logged = Some(format!("cursor write failed (logged): {e}"));
                        report.timings = timings;
                        return report;
                    }
                    report.outcome = Outcome::Error(e.to_string());
                    report.deltas.clear();
                    report.timings = timings;
                    return report;
                }
            }
            report.cursor_after = next.clone();
            report.pass_complete = next.is_empty();
        }
        Err(e) => {
            report.outcome = Outcome::Error(e.to_string());
            report.deltas.clear();
        }
    }
    report.timings = timings;
    report
}

/// Steps 2–7; returns the next cursor.
fn tick_inner(
    conn: &dyn Source,
    cursor: &str,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
    timings: &mut Vec<(&'static str, Duration)>,
    report: &mut TickReport,
    inject: &dyn Fn(&'static str) -> Option<String>,
) -> Result<String, BatchedError> {
    let fault = |phase: &'static str| match inject(phase) {
        Some(e) => Err(BatchedError::Tick(format!("{phase}: {e}"))),
        None => Ok(()),
    };
    let t = clock.now();
    let (hosts, raw_len) = conn.window(cursor, cfg.batch_size, &cfg.rules, cfg.variant)?;
    timings.push((Phase::Window.name(), clock.since(t)));
    fault(Phase::Window.name())?;
    report.rows_read = hosts.len() as u64;
    if hosts.is_empty() {
        report.outcome = Outcome::Empty;
        let t = clock.now();
        if cfg.rules.d5_remove {
            let catalog = Catalog::new(conn.profiles(cfg.variant)?, &cfg.rules);
            report.deltas = sweep_ineligible(conn, &catalog, &cfg.rules)?;
        }
        timings.push((Phase::Compute.name(), clock.since(t)));
        return Ok(String::new());
    }
    // "Page full": after de-duplication in `dedupe` (B5), before it otherwise.
    let page_len = if cfg.variant.full_after_dedupe() {
        hosts.len()
    } else {
        raw_len
    };
    let next = if page_len == cfg.batch_size {
        hosts.last().map(|h| h.uuid.clone()).unwrap_or_default()
    } else {
        String::new()
    };
    let mut hosts = hosts;
    if cfg.rules.mutant == Some(crate::domain::mutants::Mutant::WindowOffByOne) && !next.is_empty()
    {
        hosts.pop(); // the mutant: the cursor moves past a host it never processed
    }
    let t = clock.now();
    let catalog = Catalog::new(conn.profiles(cfg.variant)?, &cfg.rules);
    timings.push((Phase::Catalog.name(), clock.since(t)));
    fault(Phase::Catalog.name())?;
    report.rows_read += catalog
        .entries
        .iter()
        .map(|e| e.profile.refs.len().max(1) as u64)
        .sum::<u64>();

    let t = clock.now();
    let ids: Vec<i64> = hosts.iter().map(|h| h.id).collect();
    let members = conn.memberships(&ids, &catalog.label_ids)?;
    timings.push((Phase::Memberships.name(), clock.since(t)));
    fault(Phase::Memberships.name())?;
    report.rows_read += members.len() as u64;

    let t = clock.now();
    let mut uuids: Vec<&str> = hosts.iter().map(|h| h.uuid.as_str()).collect();
    uuids.dedup();
    let current = conn.current(&uuids, &catalog)?;
    timings.push((Phase::CurrentRows.name(), clock.since(t)));
    fault(Phase::CurrentRows.name())?;
    report.rows_read += current.len() as u64;

    let t = clock.now();
    let by_uuid = catalog.by_uuid();
    for h in &hosts {
        let member = |label: i64| members.contains(&(h.id, label));
        let (host_uuid, rows) = match current.get(&h.uuid) {
            Some((k, v)) => (k.clone(), v),
            None => (Arc::from(h.uuid.as_str()), &[][..]),
        };
        let team = catalog.by_team.get(&h.team()).map_or(&[][..], |v| &v[..]);
        handlers::host_deltas(
            h,
            &host_uuid,
            &catalog.entries,
            team,
            &by_uuid,
            &member,
            rows,
            &cfg.rules,
            &mut report.deltas,
        );
    }
    if next.is_empty() && cfg.rules.d5_remove {
        report
            .deltas
            .extend(sweep_ineligible(conn, &catalog, &cfg.rules)?);
    }
    timings.push((Phase::Compute.name(), clock.since(t)));
    fault(Phase::Compute.name())?;
    report.visited = ids;
    Ok(next)
}

/// D5 = remove: at the end of a pass, remove the rows of hosts the batched path never lists
/// (no eligible host row for their uuid), under the same §4.3 exemptions.
pub fn sweep_ineligible(
    src: &dyn Source,
    catalog: &Catalog,
    rules: &Rules,
) -> Result<Vec<Delta>, BatchedError> {
    let by_uuid = catalog.by_uuid();
    let mut out = Vec::new();
    for row in src.ineligible_rows(rules)? {
        let broken = by_uuid
            .get(&*row.profile_uuid)
            .is_some_and(|&i| catalog.entries[i].broken);
        if !handlers::remove_in_flight(&row) && !broken {
            out.push(Delta::shared(&row.host_uuid, &row.profile_uuid, Op::Remove));
        }
    }
    Ok(out)
}

/// One full pass, read-only, with the cursor in memory.
#[derive(Debug, Clone, Default)]
pub struct PassResult {
    /// Every delta of every tick, duplicates included (moved out of `ticks`).
    pub deltas: Vec<Delta>,
    pub ticks: Vec<TickReport>,
    /// Host row ids visited during the pass.
    pub visited: HashSet<i64>,
}

impl PassResult {
    /// Total time per phase over the pass, in first-seen order.
    pub fn phase_totals(&self) -> Vec<(&'static str, Duration)> {
        let mut out: Vec<(&'static str, Duration)> = Vec::new();
        for t in &self.ticks {
            for &(name, d) in &t.timings {
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some(x) => x.1 += d,
                    None => out.push((name, d)),
                }
            }
        }
        out
    }
}

/// Runs ticks from cursor "" until the cursor wraps back to "" (spec §4.1: ceil(N/B) ticks,
/// plus one empty tick when N is a multiple of B). A failing tick ends the pass with its error.
pub fn full_pass(conn: &dyn Source, cfg: &BatchedConfig) -> Result<PassResult, BatchedError> {
    let mut pass = PassResult::default();
    full_pass_each(conn, cfg, |mut report| {
        pass.visited.extend(report.visited.iter().copied());
        pass.deltas.append(&mut report.deltas);
        pass.ticks.push(report);
    })?;
    Ok(pass)
}

/// The same pass, handing each tick to `on_tick` as it ends instead of keeping it: memory
/// stays bounded by one window.
pub fn full_pass_each(
    conn: &dyn Source,
    cfg: &BatchedConfig,
    on_tick: impl FnMut(TickReport),
) -> Result<usize, BatchedError> {
    full_pass_with_clock(conn, cfg, &RealClock::default(), on_tick)
}

/// `full_pass_each`, the ticks timed by `clock`.
pub fn full_pass_with_clock(
    conn: &dyn Source,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
    mut on_tick: impl FnMut(TickReport),
) -> Result<usize, BatchedError> {
    let mut cursor = crate::paths::cursor::MemoryCursor::default();
    let host_rows = conn.host_rows()?;
    let limit = host_rows as usize / cfg.batch_size.max(1) + 2;
    let mut ticks = 0;
    loop {
        let report = tick_with_clock(conn, &mut cursor, cfg, clock);
        if let Outcome::Error(e) = &report.outcome {
            return Err(BatchedError::Tick(e.clone()));
        }
        ticks += 1;
        let done = report.pass_complete;
        let at = report.cursor_after.clone();
        on_tick(report);
        if done {
            return Ok(ticks);
        }
        if ticks >= limit {
            return Err(BatchedError::NoWrap { ticks, cursor: at });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fleet::generator::generate_into;
    use crate::fleet::scenario::Scenario;

    /// The quick fleet, generated and ANALYZEd, in memory.
    pub(crate) fn quick_fleet() -> Connection {
        let s = Scenario::parse(include_str!("../../scenarios/quick.toml"), "quick.toml").unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        generate_into(&mut conn, &s, &crate::support::progress::Silent).unwrap();
        conn
    }

    /// The plan's detail lines, joined with " | ".
    pub(crate) fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let n = stmt.parameter_count();
        let params: Vec<String> = (0..n).map(|_| "[]".to_string()).collect();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
    }

    // Pinned plans (spec §9: SQLite changes plans as data grows; these are the ones that
    // matter for the batched path's cost).

    #[test]
    fn window_walks_the_uuid_index() {
        let p = plan(&quick_fleet(), &window_sql(&Rules::default()));
        assert!(
            p.starts_with("SEARCH h USING INDEX idx_hosts_uuid (uuid>?)"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "the window must not sort: {p}");
    }

    #[test]
    fn memberships_probe_the_primary_key_per_host() {
        let p = plan(&quick_fleet(), MEMBERSHIPS_SQL);
        assert!(p.contains("SEARCH lm USING PRIMARY KEY (host_id=?)"), "{p}");
    }

    #[test]
    fn current_rows_probe_the_primary_key_per_uuid() {
        let p = plan(&quick_fleet(), CURRENT_ROWS_SQL);
        assert!(
            p.contains(
                "SEARCH host_mdm_apple_profiles USING INDEX \
                 sqlite_autoindex_host_mdm_apple_profiles_1 (host_uuid=?)"
            ),
            "{p}"
        );
    }

    #[test]
    fn json_each_takes_a_full_window_of_5000_keys() {
        let conn = quick_fleet();
        let ids: Vec<i64> = (1..=5000).collect();
        let all: Vec<i64> = (1..=100).collect();
        let m = load_memberships(&conn, &ids, &all).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM label_membership WHERE host_id <= 5000",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(m.len() as i64, n);
    }

    #[test]
    fn tick_phases_are_timed_by_the_clock() {
        let conn = quick_fleet();
        let cfg = BatchedConfig {
            batch_size: 500,
            rules: Rules::default(),
            variant: Default::default(),
        };
        let clock = crate::domain::clock::FakeClock::stepping(Duration::from_millis(3));
        let mut cursor = crate::paths::cursor::MemoryCursor::default();
        let r = tick_with_clock(&conn, &mut cursor, &cfg, &clock);
        let names: Vec<&str> = r.timings.iter().map(|t| t.0).collect();
        assert_eq!(names, Phase::BATCHED.map(Phase::name));
        // Every phase reads the clock exactly twice: 3 ms each, exactly.
        assert!(
            r.timings.iter().all(|t| t.1 == Duration::from_millis(3)),
            "{:?}",
            r.timings
        );
    }

    #[test]
    fn a_tick_writes_the_cursor_only_when_it_changes() {
        let conn = quick_fleet();
        let cfg = BatchedConfig {
            batch_size: 5000,
            rules: Rules::default(),
            variant: Default::default(),
        };
        let mut cursor = crate::paths::cursor::MemoryCursor::default();
        let r = tick(&conn, &mut cursor, &cfg);
        assert_eq!(r.outcome, Outcome::Ok);
        assert!(r.pass_complete);
        assert_eq!(
            cursor.writes, 0,
            "N < B: next cursor is '' as before: no write"
        );
        let cfg = BatchedConfig {
            batch_size: 500,
            ..cfg
        };
        let r = tick(&conn, &mut cursor, &cfg);
        assert_eq!(r.visited.len(), 500);
        assert_eq!(cursor.writes, 1);
        assert_eq!(cursor.value, r.cursor_after);
        let r2 = tick(&conn, &mut cursor, &cfg);
        assert_eq!(r2.cursor_before, r.cursor_after);
        assert!(
            r2.cursor_after > r.cursor_after,
            "the cursor strictly increases"
        );
    }

    #[test]
    fn the_strict_scanner_wants_a_time_typed_column() {
        let conn = quick_fleet();
        let plain = conn.prepare(&catalog_sql(Variant::Merged)).unwrap();
        assert!(strict_time_column(&plain, 4).is_ok());
        assert!(
            strict_time_column(&plain, 6).is_ok(),
            "secrets_updated_at is DATETIME"
        );
        let seed = conn.prepare(&catalog_sql(Variant::Seed)).unwrap();
        assert_eq!(
            strict_time_column(&seed, 4).unwrap_err().to_string(),
            "scan error on column index 4, name \"label_created_at\": unsupported scan, storing text into a timestamp"
        );
        // A label-free fleet never scans the column: B1 stays hidden (spec §8).
        conn.execute_batch("DELETE FROM mdm_configuration_profile_labels")
            .unwrap();
        assert!(load_profiles_for(&conn, Variant::Seed).is_ok());
    }

    #[test]
    fn dedupe_windows_keep_the_highest_id_of_each_uuid() {
        let conn = quick_fleet();
        let dup: (String, i64) = conn
            .query_row(
                "SELECT uuid, max(id) FROM hosts GROUP BY uuid HAVING count(*) > 1 LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let (hosts, raw) =
            load_window_for(&conn, "", 100_000, &Rules::default(), Variant::Latest).unwrap();
        let of: Vec<&Host> = hosts.iter().filter(|h| h.uuid == dup.0).collect();
        assert!(of.len() <= 1);
        if let Some(h) = of.first() {
            assert_eq!(h.id, dup.1);
        }
        assert!(raw > hosts.len(), "the raw page counts the duplicates");
    }
}
