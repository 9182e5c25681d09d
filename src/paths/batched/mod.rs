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

mod reads;
mod sqlite;
pub use reads::*;
pub use sqlite::*;

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

/// What a window read asks for: up to `limit` hosts after `cursor`, eligible under `rules`,
/// ordered and de-duplicated as `variant` does.
#[derive(Debug, Clone, Copy)]
pub struct WindowRead<'a> {
    pub cursor: &'a str,
    pub limit: usize,
    pub rules: &'a Rules,
    pub variant: Variant,
}

/// Where a batched tick reads from (spec §4.1 steps 2, 5, 6): SQLite by default, a
/// MySQL-compatible server through the MySQL backend (`backends::mysqldb`). Everything after the reads (handlers,
/// diff, cursor logic, variants, faults) is shared.
pub trait Source {
    /// One window after `w.cursor` and the raw row count before de-duplication.
    fn window(&self, w: &WindowRead<'_>) -> Result<(Vec<Host>, usize), BatchedError>;
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

/// The window's current rows (spec §4.1 step 6): one range scan of the primary key from the
/// window's first uuid to its last (the window is itself uuid-ordered), rather than one probe
/// per uuid; rows of hosts inside the range but not in the window (ineligible hosts, deleted
/// hosts) are skipped while decoding, before anything is allocated for them. Plan (pinned):
/// `SEARCH host_mdm_apple_profiles USING INDEX sqlite_autoindex_host_mdm_apple_profiles_1
/// (host_uuid>? AND host_uuid<?)`.
pub const CURRENT_ROWS_SQL: &str = "
    SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
    FROM host_mdm_apple_profiles
    WHERE host_uuid >= ?1 AND host_uuid <= ?2
    ORDER BY host_uuid, profile_uuid";

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
    /// The uuid of each `visited` row (the same order).
    pub visited_uuids: Vec<String>,
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

impl TickReport {
    /// A report of nothing done yet, the cursor at `cursor`.
    pub fn at(cursor: &str) -> TickReport {
        TickReport {
            cursor_before: cursor.to_string(),
            cursor_after: cursor.to_string(),
            visited: Vec::new(),
            visited_uuids: Vec::new(),
            deltas: Vec::new(),
            outcome: Outcome::Ok,
            timings: Vec::new(),
            pass_complete: false,
            rows_read: 0,
            logged: None,
        }
    }
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
    let t = clock.now();
    // Step 1: a read error means "start from the beginning".
    let before = cursor.read().unwrap_or_default();
    let read_time = clock.since(t);
    let mut report = window(conn, &before, cfg, clock, inject);
    report
        .timings
        .insert(0, (Phase::CursorRead.name(), read_time));
    if matches!(report.outcome, Outcome::Error(_)) {
        return report;
    }
    let next = std::mem::replace(&mut report.cursor_after, before.clone());
    report.pass_complete = false;
    // Step 8: write only on success and only when it changed.
    if next != before {
        let t = clock.now();
        let written = cursor.write(&next);
        report
            .timings
            .push((Phase::CursorWrite.name(), clock.since(t)));
        if let Err(e) = written {
            if cfg.variant.swallows_cursor_write_errors() {
                // B3 (spec §8): logged, and the tick reports success; the cursor stays, so
                // the same window comes again.
                report.logged = Some(format!("cursor write failed (logged): {e}"));
            } else {
                report.outcome = Outcome::Error(e.to_string());
                report.deltas.clear();
            }
            return report;
        }
    }
    report.pass_complete = next.is_empty();
    report.cursor_after = next;
    report
}

/// One window after `cursor` (steps 2–7 of semantics §4.1) without a cursor store:
/// `cursor_after` is where the next window starts (`""` after a short page), unchanged when
/// the window failed. The drain loop (`paths::drain`) reads many of these per tick.
pub fn window(
    conn: &dyn Source,
    cursor: &str,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
    inject: &dyn Fn(&'static str) -> Option<String>,
) -> TickReport {
    let mut timings = Vec::new();
    let mut report = TickReport::at(cursor);
    match tick_inner(conn, cursor, cfg, clock, &mut timings, &mut report, inject) {
        Ok(next) => {
            report.pass_complete = next.is_empty();
            report.cursor_after = next;
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
    let (hosts, raw_len) = conn.window(&WindowRead {
        cursor,
        limit: cfg.batch_size,
        rules: &cfg.rules,
        variant: cfg.variant,
    })?;
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
    window_deltas(
        &hosts,
        &catalog,
        &members,
        &current,
        &cfg.rules,
        &mut report.deltas,
    );
    if next.is_empty() && cfg.rules.d5_remove {
        report
            .deltas
            .extend(sweep_ineligible(conn, &catalog, &cfg.rules)?);
    }
    timings.push((Phase::Compute.name(), clock.since(t)));
    fault(Phase::Compute.name())?;
    report.visited = ids;
    report.visited_uuids = hosts.into_iter().map(|h| h.uuid).collect();
    Ok(next)
}

/// The per-host diff of a window (the `compute` phase, spec §4.3): each host against its
/// team's catalog entries and its current rows, deltas appended to `out`.
pub fn window_deltas(
    hosts: &[Host],
    catalog: &Catalog,
    members: &FxHashSet<(i64, i64)>,
    current: &CurrentRows,
    rules: &Rules,
    out: &mut Vec<Delta>,
) {
    let by_uuid = catalog.by_uuid();
    for h in hosts {
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
            rules,
            out,
        );
    }
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
pub(crate) mod tests;
