//! The legacy path (spec §3): one SQL diff over the whole fleet.
//!
//! The desired state is a UNION of four arms (no labels, include-all, exclude-any,
//! include-any), each joining eligible hosts to team-matching profiles and grouping by
//! (profile, host row) with HAVING counters over LEFT JOINs of `label_membership` and `labels`.
//! Each arm tags its rows with its arm number: the union is distinct within an arm (so the
//! duplicate rows of one uuid collapse, spec §6 D6) but a pair matched by two arms appears
//! twice in the install list (spec §3). Fleet gets the same effect from the per-arm counter
//! columns it selects; an explicit tag makes it hold in every case.
//!
//! Two forms with identical results (tested):
//! - `as-written`: Fleet's shape. Team join `h.team_id = p.team_id OR (h.team_id IS NULL AND
//!   p.team_id = 0)`, desired state recomputed inside both the install and the remove query.
//! - `tuned`: eligible hosts computed once into a temp table with `team0 = COALESCE(team_id,0)`,
//!   the join `p.team_id = eh.team0`, and the desired state built once per read transaction into
//!   two temp tables keyed by (host_uuid, profile_uuid, …) that both lists use, de-duplicated
//!   only where rows can repeat (`tuned_desired_sql`). Same schema, same Fleet indexes; the temp
//!   tables are the query's own working state (spec §9).

use crate::domain::clock::{Clock, RealClock};
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::model::{Delta, Op, macos_only_withheld};
use crate::paths::phase::Phase;
use rusqlite::Connection;
use std::time::Duration;

/// Which legacy SQL runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacySql {
    /// Fleet's shape, for fidelity (does not finish at 100k hosts, spec §9).
    AsWritten,
    /// Same semantics, restructured so SQLite can run it at scale.
    Tuned,
}

impl std::fmt::Display for LegacySql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LegacySql::AsWritten => "as-written",
            LegacySql::Tuned => "tuned",
        })
    }
}

/// Errors of the legacy path.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("legacy {phase} query: {source}")]
    Query {
        phase: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A query on another backend (MySQL) failed.
    #[error("legacy {phase} query: {message}")]
    Backend {
        phase: &'static str,
        message: String,
    },
}

/// The two lists and the time each phase took.
#[derive(Debug, Clone, Default)]
pub struct LegacyResult {
    /// The install list as the SQL returns it, duplicates included (spec §3), after the
    /// macOS-only filter (spec §2).
    pub installs: Vec<Delta>,
    pub removes: Vec<Delta>,
    /// Phases in order: ("desired", d) for tuned only, ("install", d), ("remove", d).
    pub timings: Vec<(&'static str, Duration)>,
}

impl LegacyResult {
    /// Install entries beyond the first for the same pair (spec §5: counted, not divergent).
    pub fn duplicate_installs(&self) -> usize {
        let mut v: Vec<&Delta> = self.installs.iter().collect();
        v.sort();
        let before = v.len();
        v.dedup();
        before - v.len()
    }
}

/// The four arms. `hosts` is the FROM item giving host rows as `h` with columns id, uuid,
/// platform, label_updated_at; `team` the join condition between `h` and `p`; `eligible` the
/// host filter. `tuned` changes only the join order (never the semantics): the no-labels arm
/// keeps profiles outermost so its NOT EXISTS runs once per profile, and the label arms start
/// from the few label rows of their kind, then their profile, then the team's eligible hosts
/// through the temp team index, and probe `label_membership` by its primary key. As written,
/// SQLite scans every host and, per host, every label row of the kind (hosts × label rows).
fn desired_state_sql(hosts: &str, team: &str, eligible: &str, tuned: bool) -> String {
    let [a1, a2, a3, a4] = arms(hosts, team, eligible, tuned);
    format!("{a1}\n UNION\n {a2}\n UNION\n {a3}\n UNION\n {a4}")
}

/// The desired state's four arms for the MySQL backend (Fleet's join order; the server's
/// optimizer picks the plan), each a SELECT of (host_uuid, profile_uuid, arm, host_platform,
/// profile_name).
pub fn desired_state_arms(hosts: &str, team: &str, eligible: &str) -> [String; 4] {
    arms(hosts, team, eligible, false)
}

/// The four arms of spec §3, in order; see `desired_state_sql`.
fn arms(hosts: &str, team: &str, eligible: &str, tuned: bool) -> [String; 4] {
    let arm1_join = if tuned { "CROSS JOIN" } else { "JOIN" };
    let from = |exclude: u8, require_all: u8| -> (String, String) {
        if tuned {
            (
                format!(
                    "FROM mdm_configuration_profile_labels mcpl
                     CROSS JOIN mdm_apple_configuration_profiles p
                       ON p.profile_uuid = mcpl.apple_profile_uuid
                     CROSS JOIN {hosts} ON {team}"
                ),
                format!(
                    "mcpl.exclude = {exclude} AND mcpl.require_all = {require_all} AND {eligible}"
                ),
            )
        } else {
            (
                format!(
                    "FROM mdm_apple_configuration_profiles p
                     JOIN {hosts} ON {team}
                     JOIN mdm_configuration_profile_labels mcpl
                       ON mcpl.apple_profile_uuid = p.profile_uuid
                      AND mcpl.exclude = {exclude} AND mcpl.require_all = {require_all}"
                ),
                eligible.to_string(),
            )
        }
    };
    let ((all, all_w), (exc, exc_w), (any, any_w)) = (from(0, 1), from(1, 0), from(0, 0));
    // The LEFT JOINs are written `lm.host_id = h.id AND lm.label_id = mcpl.label_id` so the
    // primary key (host_id, label_id) serves them. Columns lead with (host_uuid, profile_uuid):
    // the UNION's de-duplicating b-tree then already holds rows in the order the temp table is
    // filled in (measured: the desired-state build 18 % faster at 10k hosts).
    [
        format!(
            "SELECT h.uuid AS host_uuid, p.profile_uuid, 1 AS arm, h.platform AS host_platform,
                p.name AS profile_name
         FROM mdm_apple_configuration_profiles p
         {arm1_join} {hosts} ON {team}
         WHERE {eligible}
           AND NOT EXISTS (SELECT 1 FROM mdm_configuration_profile_labels mcpl
                           WHERE mcpl.apple_profile_uuid = p.profile_uuid)"
        ),
        format!(
            "SELECT h.uuid, p.profile_uuid, 2, h.platform, p.name
         {all}
         LEFT JOIN label_membership lm ON lm.host_id = h.id AND lm.label_id = mcpl.label_id
         WHERE {all_w}
         GROUP BY p.profile_uuid, h.id
         HAVING count(*) > 0 AND count(*) = count(lm.label_id)"
        ),
        format!(
            "SELECT h.uuid, p.profile_uuid, 3, h.platform, p.name
         {exc}
         LEFT JOIN labels lbl ON lbl.id = mcpl.label_id
         LEFT JOIN label_membership lm ON lm.host_id = h.id AND lm.label_id = mcpl.label_id
         WHERE {exc_w}
         GROUP BY p.profile_uuid, h.id
         HAVING count(*) > 0
            AND count(mcpl.label_id) = count(*)
            AND count(lm.label_id) = 0
            AND sum(lbl.created_at IS NOT NULL
                    AND (lbl.label_membership_type = 1 OR h.label_updated_at >= lbl.created_at))
                = count(*)"
        ),
        format!(
            "SELECT h.uuid, p.profile_uuid, 4, h.platform, p.name
         {any}
         LEFT JOIN label_membership lm ON lm.host_id = h.id AND lm.label_id = mcpl.label_id
         WHERE {any_w}
         GROUP BY p.profile_uuid, h.id
         HAVING count(lm.label_id) > 0"
        ),
    ]
}

/// Install condition over `ds` LEFT JOIN `hmap` (spec §3).
pub const INSTALL_WHERE: &str = "hmap.host_uuid IS NULL
    OR hmap.checksum != p.checksum
    OR (hmap.secrets_updated_at IS NOT NULL AND p.secrets_updated_at IS NOT NULL
        AND hmap.secrets_updated_at < p.secrets_updated_at)
    OR hmap.operation_type IS NULL OR hmap.operation_type = 'remove'
    OR (hmap.operation_type = 'install' AND hmap.status IS NULL)";

/// Remove condition over `hmap` with no desired pair (spec §3).
pub const REMOVE_WHERE: &str = "(hmap.operation_type IS NULL OR hmap.operation_type != 'remove'
         OR hmap.status IS NULL)
    AND NOT EXISTS (SELECT 1 FROM mdm_configuration_profile_labels b
                    WHERE b.apple_profile_uuid = hmap.profile_uuid AND b.label_id IS NULL)";

/// Fleet's team join, kept for the as-written form.
const TEAM_AS_WRITTEN: &str = "h.team_id = p.team_id OR (h.team_id IS NULL AND p.team_id = 0)";

/// The as-written install query.
///
/// `EXPLAIN QUERY PLAN` (fleet-10k, SQLite 3.54): each arm `SCAN h` (all hosts) with the
/// profiles of the team by `sqlite_autoindex_mdm_apple_configuration_profiles_3 (team_id=?)`
/// under the OR join, the label arms probing every label row of their kind per host through an
/// automatic index and `idx_label_membership_label_id`; the union is materialised, then
/// `hmap` is probed per desired row by its primary key. 3.6 s at 10k hosts.
pub fn install_sql_as_written() -> String {
    let ds = desired_state_sql("hosts h", TEAM_AS_WRITTEN, ELIGIBLE_HOST, false);
    format!(
        "SELECT ds.host_uuid, ds.profile_uuid, ds.host_platform, ds.profile_name
         FROM ({ds}) ds
         JOIN mdm_apple_configuration_profiles p ON p.profile_uuid = ds.profile_uuid
         LEFT JOIN host_mdm_apple_profiles hmap
           ON hmap.profile_uuid = ds.profile_uuid AND hmap.host_uuid = ds.host_uuid
         WHERE {INSTALL_WHERE}"
    )
}

/// The as-written remove query.
///
/// `EXPLAIN QUERY PLAN`: `SCAN hmap`, the desired state materialised again (same arms as the
/// install query) and probed through an automatic index, the broken-label `NOT EXISTS` by
/// `sqlite_autoindex_mdm_configuration_profile_labels_1`. 2.9 s at 10k hosts.
pub fn remove_sql_as_written() -> String {
    let ds = desired_state_sql("hosts h", TEAM_AS_WRITTEN, ELIGIBLE_HOST, false);
    format!(
        "SELECT hmap.host_uuid, hmap.profile_uuid
         FROM host_mdm_apple_profiles hmap
         LEFT JOIN ({ds}) ds
           ON ds.profile_uuid = hmap.profile_uuid AND ds.host_uuid = hmap.host_uuid
         WHERE ds.profile_uuid IS NULL AND {REMOVE_WHERE}"
    )
}

/// Tuned: the eligible hosts, once.
pub const TUNED_ELIGIBLE: &str = "
    DROP TABLE IF EXISTS temp.legacy_eligible;
    CREATE TEMP TABLE legacy_eligible AS
      SELECT h.id, h.uuid, h.platform, h.label_updated_at, COALESCE(h.team_id, 0) AS team0
      FROM hosts h WHERE ";

/// Tuned: the desired state, once, into two temp tables both lists read.
///
/// The union's de-duplication (spec §6 D6: two host rows of one uuid give one desired row per
/// arm) is done only where rows can repeat, not over all ~4.4M rows at 100k hosts:
/// - the no-labels arm (~3.9M rows) depends on a host row only through (uuid, platform, team),
///   so it pairs the distinct such triples of the eligible hosts, in uuid order, with their
///   team's label-less profiles, straight into a WITHOUT ROWID table keyed (host_uuid,
///   profile_uuid, host_platform): rows arrive almost in key order, no sort, no separate index,
///   and none can repeat;
/// - the label arms (~0.6M rows) keep the de-duplicating UNION into a table with one covering
///   index on (host_uuid, profile_uuid, host_platform, profile_name).
///
/// Their profiles are disjoint (a profile has label rows or not), so the install list is the
/// two tables' lists one after the other, and a pair is desired when either table holds it.
/// Measured on fleet-100k against the earlier form (a UNION of all four arms sorted into one
/// table, then indexed): `docs/methodology.md`.
///
/// `EXPLAIN QUERY PLAN` (pinned in tests): the no-labels insert `SCAN h` (the distinct
/// triples) then its team's profiles by the temp team index; arms 2–4 `SCAN mcpl`, `SEARCH p`
/// by primary key, the team's hosts, `SEARCH lm` by the label index for the LEFT JOIN, `USE
/// TEMP B-TREE FOR GROUP BY`.
pub fn tuned_desired_sql() -> String {
    let [_, a2, a3, a4] = arms("temp.legacy_eligible h", "h.team0 = p.team_id", "1", true);
    format!(
        "DROP TABLE IF EXISTS temp.legacy_ds_plain;
         DROP TABLE IF EXISTS temp.legacy_ds_labels;
         DROP TABLE IF EXISTS temp.legacy_eligible_uuids;
         DROP TABLE IF EXISTS temp.legacy_plain_profiles;
         CREATE TEMP TABLE legacy_eligible_uuids AS
           SELECT DISTINCT uuid, platform, team0 FROM temp.legacy_eligible ORDER BY uuid, platform;
         CREATE TEMP TABLE legacy_plain_profiles AS
           SELECT p.profile_uuid, p.team_id FROM mdm_apple_configuration_profiles p
           WHERE p.profile_uuid IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM mdm_configuration_profile_labels mcpl
                             WHERE mcpl.apple_profile_uuid = p.profile_uuid);
         CREATE INDEX temp.legacy_plain_profiles_team
           ON legacy_plain_profiles (team_id, profile_uuid);
         CREATE TEMP TABLE legacy_ds_plain (
           host_uuid TEXT NOT NULL, profile_uuid TEXT NOT NULL, host_platform TEXT NOT NULL,
           PRIMARY KEY (host_uuid, profile_uuid, host_platform)) WITHOUT ROWID;
         {TUNED_PLAIN_ARM};
         CREATE TEMP TABLE legacy_ds_labels (
           host_uuid TEXT, profile_uuid TEXT, arm INTEGER, host_platform TEXT, profile_name TEXT);
         INSERT INTO legacy_ds_labels
           SELECT * FROM ({a2}\n UNION\n {a3}\n UNION\n {a4});
         CREATE INDEX temp.legacy_ds_labels_pair
           ON legacy_ds_labels (host_uuid, profile_uuid, host_platform, profile_name);"
    )
}

/// Tuned: the no-labels arm into its table (see `tuned_desired_sql`). A profile whose uuid is
/// NULL is left out: no list could ever name it (both join on the uuid).
pub const TUNED_PLAIN_ARM: &str = "INSERT INTO legacy_ds_plain
           SELECT h.uuid, pp.profile_uuid, h.platform
           FROM temp.legacy_eligible_uuids h
           CROSS JOIN temp.legacy_plain_profiles pp ON pp.team_id = h.team0";

/// Tuned install list: the no-labels table's, then the label arms' (their profiles are
/// disjoint). Plan (pinned): `SCAN ds` (the WITHOUT ROWID table, in key order) and `SCAN ds
/// USING COVERING INDEX legacy_ds_labels_pair`, each `SEARCH p` by primary key and `SEARCH
/// hmap USING INDEX sqlite_autoindex_host_mdm_apple_profiles_1 (host_uuid=? AND
/// profile_uuid=?) LEFT-JOIN`.
pub fn tuned_install_sql() -> String {
    format!(
        "SELECT ds.host_uuid, ds.profile_uuid, ds.host_platform, p.name
         FROM temp.legacy_ds_plain ds
         JOIN mdm_apple_configuration_profiles p ON p.profile_uuid = ds.profile_uuid
         LEFT JOIN host_mdm_apple_profiles hmap
           ON hmap.host_uuid = ds.host_uuid AND hmap.profile_uuid = ds.profile_uuid
         WHERE {INSTALL_WHERE}
         UNION ALL
         SELECT ds.host_uuid, ds.profile_uuid, ds.host_platform, ds.profile_name
         FROM temp.legacy_ds_labels ds
         JOIN mdm_apple_configuration_profiles p ON p.profile_uuid = ds.profile_uuid
         LEFT JOIN host_mdm_apple_profiles hmap
           ON hmap.host_uuid = ds.host_uuid AND hmap.profile_uuid = ds.profile_uuid
         WHERE {INSTALL_WHERE}"
    )
}

/// Tuned remove list. Plan (pinned): `SCAN hmap`, `SEARCH ds USING PRIMARY KEY
/// (host_uuid=? AND profile_uuid=?)` in the no-labels table and `SEARCH ds USING COVERING INDEX
/// legacy_ds_labels_pair (host_uuid=? AND profile_uuid=?)`, the broken-label check by
/// `sqlite_autoindex_mdm_configuration_profile_labels_1`.
pub fn tuned_remove_sql() -> String {
    format!(
        "SELECT hmap.host_uuid, hmap.profile_uuid
         FROM host_mdm_apple_profiles hmap
         WHERE NOT EXISTS (SELECT 1 FROM temp.legacy_ds_plain ds
                           WHERE ds.host_uuid = hmap.host_uuid
                             AND ds.profile_uuid = hmap.profile_uuid)
           AND NOT EXISTS (SELECT 1 FROM temp.legacy_ds_labels ds
                           WHERE ds.host_uuid = hmap.host_uuid
                             AND ds.profile_uuid = hmap.profile_uuid)
           AND {REMOVE_WHERE}"
    )
}

/// Tuned: the temp tables, dropped after both lists.
const TUNED_CLEANUP: &str = "DROP TABLE temp.legacy_ds_plain; DROP TABLE temp.legacy_ds_labels;
    DROP TABLE temp.legacy_plain_profiles; DROP TABLE temp.legacy_eligible_uuids;
    DROP TABLE temp.legacy_eligible;";

/// A legacy delta as the query hands it over: (host_uuid, profile_uuid, operation), borrowed
/// from the row (no allocation per row; `run` collects them, `compare` packs them).
pub type Sink<'a> = dyn FnMut(&str, &str, Op) + 'a;

fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

fn query_installs(conn: &Connection, sql: &str, sink: &mut Sink<'_>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if !macos_only_withheld(text(r, 2)?, text(r, 3)?) {
            sink(text(r, 0)?, text(r, 1)?, Op::Install);
        }
    }
    Ok(())
}

fn query_removes(conn: &Connection, sql: &str, sink: &mut Sink<'_>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        sink(text(r, 0)?, text(r, 1)?, Op::Remove);
    }
    Ok(())
}

/// Runs the legacy diff. The caller holds the read transaction that makes both lists one
/// snapshot (spec §3); the tuned form's temp tables live in the connection's temp schema.
pub fn run(conn: &Connection, form: LegacySql) -> Result<LegacyResult, LegacyError> {
    run_with_clock(conn, form, &RealClock::default())
}

/// `run`, its phases timed by `clock`.
pub fn run_with_clock(
    conn: &Connection,
    form: LegacySql,
    clock: &dyn Clock,
) -> Result<LegacyResult, LegacyError> {
    let mut res = LegacyResult::default();
    let (mut installs, mut removes) = (Vec::new(), Vec::new());
    res.timings = run_each(conn, form, clock, &mut |h, p, op| {
        let d = Delta::new(h, p, op);
        match op {
            Op::Install => installs.push(d),
            Op::Remove => removes.push(d),
        }
    })?;
    res.installs = installs;
    res.removes = removes;
    Ok(res)
}

/// The legacy diff with every delta handed to `sink` as the query returns it (installs, then
/// removes, each in the engine's order: not sorted). Returns the phases' times, as `LegacyResult::timings`. The time of the
/// sink counts in the phase that called it.
pub fn run_each(
    conn: &Connection,
    form: LegacySql,
    clock: &dyn Clock,
    sink: &mut Sink<'_>,
) -> Result<Vec<(&'static str, Duration)>, LegacyError> {
    let q = |phase| move |source| LegacyError::Query { phase, source };
    let mut timings = Vec::new();
    match form {
        LegacySql::AsWritten => {
            let t = clock.now();
            query_installs(conn, &install_sql_as_written(), sink)
                .map_err(q(Phase::Install.name()))?;
            timings.push((Phase::Install.name(), clock.since(t)));
            let t = clock.now();
            query_removes(conn, &remove_sql_as_written(), sink).map_err(q(Phase::Remove.name()))?;
            timings.push((Phase::Remove.name(), clock.since(t)));
        }
        LegacySql::Tuned => {
            let t = clock.now();
            conn.execute_batch(&format!(
                "{TUNED_ELIGIBLE}{ELIGIBLE_HOST};
                 CREATE INDEX temp.legacy_eligible_team ON legacy_eligible (team0);
                 {}",
                tuned_desired_sql()
            ))
            .map_err(q("desired state"))?;
            timings.push((Phase::Desired.name(), clock.since(t)));
            let t = clock.now();
            query_installs(conn, &tuned_install_sql(), sink).map_err(q(Phase::Install.name()))?;
            timings.push((Phase::Install.name(), clock.since(t)));
            let t = clock.now();
            query_removes(conn, &tuned_remove_sql(), sink).map_err(q(Phase::Remove.name()))?;
            timings.push((Phase::Remove.name(), clock.since(t)));
            conn.execute_batch(TUNED_CLEANUP).map_err(q("cleanup"))?;
        }
    }
    Ok(timings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::batched::tests::{plan, quick_fleet};

    fn tuned_fleet() -> Connection {
        let conn = quick_fleet();
        conn.execute_batch(&format!(
            "{TUNED_ELIGIBLE}{ELIGIBLE_HOST};
             CREATE INDEX temp.legacy_eligible_team ON legacy_eligible (team0);
             {}",
            tuned_desired_sql()
        ))
        .unwrap();
        conn
    }

    // Pinned plans of the tuned form (spec §9).

    #[test]
    fn tuned_label_arms_start_from_the_label_rows() {
        let conn = tuned_fleet();
        let ds = desired_state_sql("temp.legacy_eligible h", "h.team0 = p.team_id", "1", true);
        let p = plan(&conn, &ds);
        // Arm 1 loops over profiles; arms 2-4 start from the label rows of their kind.
        assert!(p.contains("SCAN p"), "{p}");
        assert_eq!(p.matches("SCAN mcpl").count(), 3, "{p}");
        // Memberships are probed per (label, host) pair in each label arm, never scanned.
        assert_eq!(p.matches("SEARCH lm USING").count(), 3, "{p}");
        assert!(!p.contains("SCAN lm"), "{p}");
    }

    #[test]
    fn tuned_install_probes_current_rows_by_key() {
        let p = plan(&tuned_fleet(), &tuned_install_sql());
        // Both desired-state tables are read in key order (the WITHOUT ROWID table itself, the
        // label arms' covering index): no table lookups, no sort.
        assert!(p.contains("SCAN ds | "), "{p}");
        assert!(
            p.contains("SCAN ds USING COVERING INDEX legacy_ds_labels_pair"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        assert_eq!(
            p.matches(
                "SEARCH hmap USING INDEX sqlite_autoindex_host_mdm_apple_profiles_1 \
                 (host_uuid=? AND profile_uuid=?)"
            )
            .count(),
            2,
            "{p}"
        );
    }

    #[test]
    fn tuned_remove_probes_both_desired_state_keys() {
        let p = plan(&tuned_fleet(), &tuned_remove_sql());
        assert!(p.contains("SCAN hmap"), "{p}");
        assert!(
            p.contains("SEARCH ds USING PRIMARY KEY (host_uuid=? AND profile_uuid=?)"),
            "{p}"
        );
        assert!(
            p.contains(
                "SEARCH ds USING COVERING INDEX legacy_ds_labels_pair (host_uuid=? AND profile_uuid=?)"
            ),
            "{p}"
        );
    }

    #[test]
    fn tuned_no_labels_arm_pairs_each_uuid_platform_and_team_once() {
        let conn = tuned_fleet();
        let p = plan(&conn, TUNED_PLAIN_ARM);
        // The distinct triples in uuid order, then their team's profiles by the team index;
        // no sort, no de-duplicating b-tree.
        assert!(p.starts_with("SCAN h"), "{p}");
        assert!(
            p.contains("SEARCH pp USING COVERING INDEX legacy_plain_profiles_team (team_id=?)"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // The distinct triples really are distinct: the arm cannot repeat a row.
        let (rows, distinct): (i64, i64) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT uuid || '|' || platform || '|' || team0)
                 FROM temp.legacy_eligible_uuids",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rows, distinct);
        assert!(rows > 0);
        // Every no-labels profile of a host's team, once per (uuid, platform).
        let plain: i64 = conn
            .query_row("SELECT count(*) FROM temp.legacy_ds_plain", [], |r| {
                r.get(0)
            })
            .unwrap();
        let expected: i64 = conn
            .query_row(
                "SELECT count(*) FROM temp.legacy_eligible_uuids h
                 JOIN temp.legacy_plain_profiles pp ON pp.team_id = h.team0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(plain, expected);
        assert!(plain > 0);
    }

    #[test]
    fn duplicate_installs_are_counted() {
        let d = |h: &str| Delta::new(h, "a1", Op::Install);
        let r = LegacyResult {
            installs: vec![d("A"), d("B"), d("A"), d("A")],
            ..LegacyResult::default()
        };
        assert_eq!(r.duplicate_installs(), 2);
    }
}
