//! The batched path's reads on SQLite (`Source for Connection`) and the decoding every backend
//! shares: timestamps checked strictly (B1), windows de-duplicated per variant, catalog rows
//! shaped into profiles, current rows grouped by host uuid.

use super::*;

impl Source for Connection {
    fn window(&self, w: &WindowRead<'_>) -> Result<(Vec<Host>, usize), BatchedError> {
        load_window_for(self, w.cursor, w.limit, w.rules, w.variant)
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

pub(super) fn check_ts(
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

pub(super) fn check_dt6(
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
    let uuid = row_text(r, 0)?.unwrap_or_default();
    let host_uuid = match host {
        Some(h) if &**h == uuid => h.clone(),
        _ => {
            let h: Arc<str> = Arc::from(uuid);
            *host = Some(h.clone());
            h
        }
    };
    decode_current_values(r, host_uuid, |b| {
        std::str::from_utf8(b).ok().and_then(profile)
    })
}

/// Column `i` of `r` as text (NULL as None), borrowed from SQLite's buffer.
fn row_text<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<Option<&'r str>> {
    use rusqlite::types::ValueRef;
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        v => v
            .as_str()
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e))),
    }
}

/// Current rows of `uuids` (ascending, as the window lists them), grouped by host uuid and
/// sorted by it: one range scan of the primary key over `[first, last]`, merged with the window
/// while decoding, so a row of a host the window does not hold is skipped unread (as Fleet's
/// `IN` list never reads it). The merge compares raw bytes (SQLite's BINARY order is Rust's
/// `str` order), a matched host's uuid is the window's own text, and the groups are cut as the
/// merge moves from one window host to the next, so a row costs no UTF-8 check of its keys, no
/// string comparison beyond the merge's, and no re-sort or second pass to group.
pub fn load_current(
    conn: &Connection,
    uuids: &[&str],
    catalog: &Catalog,
) -> Result<CurrentRows, BatchedError> {
    let sorted: Vec<&str>;
    let uuids = if uuids.is_sorted() {
        uuids
    } else {
        // Every caller passes a window (uuid-ordered); any other list is sorted here, since the
        // merge below relies on the order.
        sorted = {
            let mut v = uuids.to_vec();
            v.sort_unstable();
            v
        };
        &sorted
    };
    let (Some(first), Some(last)) = (uuids.first(), uuids.last()) else {
        return Ok(CurrentRows::default());
    };
    // The catalog's shared uuids by their bytes (the last entry of a uuid wins, as in
    // `Catalog::by_uuid`).
    let profiles: FxHashMap<&[u8], &Arc<str>> = catalog
        .entries
        .iter()
        .map(|e| (e.profile.uuid.as_bytes(), &e.uuid))
        .collect();
    let mut stmt = conn
        .prepare_cached(CURRENT_ROWS_SQL)
        .map_err(q("current rows"))?;
    let mut rows = stmt.query([first, last]).map_err(q("current rows"))?;
    let mut out = CurrentRows {
        rows: SPARE_ROWS.with(|s| std::mem::take(&mut *s.borrow_mut())),
        groups: Vec::new(),
    };
    // The merge: `next` is the first window uuid not yet passed by the scan; `open` is the
    // window index and first row of the host whose rows are being read.
    let mut next = 0;
    let mut open: Option<(usize, Arc<str>, usize)> = None;
    while let Some(r) = rows.next().map_err(q("current rows"))? {
        let uuid = row_bytes(r, 0)
            .map_err(q("current rows"))?
            .unwrap_or_default();
        while next < uuids.len() && uuids[next].as_bytes() < uuid {
            next += 1;
        }
        if next == uuids.len() || uuids[next].as_bytes() != uuid {
            continue;
        }
        let host = match &open {
            Some((i, h, _)) if *i == next => h.clone(),
            _ => {
                if let Some((_, h, start)) = open.take() {
                    out.groups.push((h, start..out.rows.len()));
                }
                let h: Arc<str> = Arc::from(uuids[next]);
                open = Some((next, h.clone(), out.rows.len()));
                h
            }
        };
        let row = decode_current_values(r, host, |b| profiles.get(b).map(|&p| p.clone()))
            .map_err(q("current rows"))?;
        check_current_row(&row)?;
        out.rows.push(row);
    }
    if let Some((_, h, start)) = open {
        out.groups.push((h, start..out.rows.len()));
    }
    Ok(out)
}

/// Column `i` of `r` as the bytes of its text (NULL as None); any other type is the error
/// `row_text` gives.
fn row_bytes<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<Option<&'r [u8]>> {
    use rusqlite::types::ValueRef;
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => Ok(Some(t)),
        _ => row_text(r, i).map(|t| t.map(str::as_bytes)),
    }
}

/// A status or operation column: a spec §1 value shares its static with no UTF-8 check, any
/// other value is checked and kept as read.
fn row_status(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Option<crate::domain::model::Text>> {
    match row_bytes(r, i)? {
        None => Ok(None),
        Some(b) => match crate::domain::model::known(b) {
            Some(k) => Ok(Some(std::borrow::Cow::Borrowed(k))),
            None => Ok(row_text(r, i)?.map(intern)),
        },
    }
}

/// Columns 1–5 of a current row whose host uuid is `host_uuid`; the profile uuid is the one
/// `shared` gives for its bytes (the catalog's) or else the column's text, checked.
fn decode_current_values(
    r: &rusqlite::Row,
    host_uuid: Arc<str>,
    shared: impl Fn(&[u8]) -> Option<Arc<str>>,
) -> rusqlite::Result<CurrentRow> {
    use rusqlite::types::ValueRef;
    let p = row_bytes(r, 1)?.unwrap_or_default();
    let profile_uuid = match shared(p) {
        Some(uuid) => uuid,
        None => Arc::from(row_text(r, 1)?.unwrap_or_default()),
    };
    let checksum = match r.get_ref(4)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => Checksum::from_slice(b),
        _ => Checksum::new(),
    };
    Ok(CurrentRow {
        host_uuid,
        profile_uuid,
        status: row_status(r, 2)?,
        operation_type: row_status(r, 3)?,
        checksum,
        secrets_updated_at: row_text(r, 5)?.map(str::to_string),
    })
}

/// `secrets_updated_at` in the strict format (B1), as every reader checks it.
fn check_current_row(row: &CurrentRow) -> Result<(), BatchedError> {
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
    )
}

/// A window's current rows, grouped per host uuid, sorted by uuid: one flat vector of rows
/// and one (uuid, range) entry per host, so a window costs two allocations, not one a host.
#[derive(Debug, Default)]
pub struct CurrentRows {
    rows: Vec<CurrentRow>,
    groups: Vec<(Arc<str>, std::ops::Range<usize>)>,
}

thread_local! {
    /// The last window's row buffer, emptied, for this thread's next window: a window's rows
    /// take tens of MB (5,000 hosts × ~40 rows × 128 bytes), and a fresh buffer each window cost
    /// a page fault per 4 KiB touched and an unmap when freed: about 18 % of the `current_rows`
    /// phase at 100k hosts (`results/20261204T021500Z-kept-row-buffer-100k/`). One buffer per
    /// thread, the largest seen.
    static SPARE_ROWS: std::cell::RefCell<Vec<CurrentRow>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for CurrentRows {
    fn drop(&mut self) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        // `try_with`: a thread being torn down keeps nothing.
        let _ = SPARE_ROWS.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut()
                && rows.capacity() > s.capacity()
            {
                *s = rows;
            }
        });
    }
}

impl CurrentRows {
    /// Groups rows that come each host's together (as the key scans return them), checking
    /// `secrets_updated_at`'s format; sorts by uuid if they came out of order (another
    /// collation's order: MySQL's).
    pub fn from_rows(
        rows: impl Iterator<Item = Result<CurrentRow, BatchedError>>,
    ) -> Result<CurrentRows, BatchedError> {
        let mut out = CurrentRows::default();
        for row in rows {
            let row = row?;
            check_current_row(&row)?;
            out.rows.push(row);
        }
        if !out.rows.is_sorted_by(|a, b| a.host_uuid <= b.host_uuid) {
            // Stable: each host's rows keep the order they came in.
            out.rows.sort_by(|a, b| a.host_uuid.cmp(&b.host_uuid));
        }
        let mut start = 0;
        for host in out.rows.chunk_by(|a, b| a.host_uuid == b.host_uuid) {
            let end = start + host.len();
            out.groups.push((host[0].host_uuid.clone(), start..end));
            start = end;
        }
        Ok(out)
    }

    /// The uuid (shared) and rows of a host, if it has any.
    pub fn get(&self, uuid: &str) -> Option<(&Arc<str>, &[CurrentRow])> {
        self.groups
            .binary_search_by(|g| (*g.0).cmp(uuid))
            .ok()
            .map(|i| (&self.groups[i].0, &self.rows[self.groups[i].1.clone()]))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
