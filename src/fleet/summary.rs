//! The fleet summary printed by `generate` and `inspect`: rows per table and counts per
//! feature, computed by SQL so it works on any database that meets the spec §1 contract.

use crate::backends::mysqldb::MyDb;
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::fleet::scenario::{OPERATIONS, STATUSES};
use rusqlite::Connection;

/// Why a summary could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Backend(#[from] crate::backends::error::BackendError),
}

/// A database the summary reads: an SQLite connection or a server. The queries are the same
/// text on both, but for SQLite's `NOT INDEXED` on the one full scan.
#[derive(Clone, Copy)]
enum Db<'a> {
    Lite(&'a Connection),
    Server(&'a MyDb),
}

/// What a text column's value that is not text reads as: counted among the other values.
const NOT_TEXT: &str = "(not text)";

/// One result row's values, as the summary needs them: a NULL is None.
trait Cells {
    fn int(&self, i: usize) -> Option<i64>;
    fn text(&self, i: usize) -> Option<&str>;
}

impl Cells for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Option<i64> {
        self.get_ref(i).ok()?.as_i64().ok()
    }
    fn text(&self, i: usize) -> Option<&str> {
        match self.get_ref(i).ok()? {
            rusqlite::types::ValueRef::Null => None,
            v => Some(v.as_str().unwrap_or(NOT_TEXT)),
        }
    }
}

impl Cells for mysql::Row {
    fn int(&self, i: usize) -> Option<i64> {
        match self.as_ref(i)? {
            mysql::Value::Int(v) => Some(*v),
            mysql::Value::UInt(v) => i64::try_from(*v).ok(),
            // DECIMAL sums arrive as text.
            mysql::Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }
    fn text(&self, i: usize) -> Option<&str> {
        match self.as_ref(i)? {
            mysql::Value::NULL => None,
            mysql::Value::Bytes(b) => Some(std::str::from_utf8(b).unwrap_or(NOT_TEXT)),
            _ => Some(NOT_TEXT),
        }
    }
}

impl Db<'_> {
    /// Runs `sql`, handing each row to `f`.
    fn each(&self, sql: &str, mut f: impl FnMut(&dyn Cells)) -> Result<(), SummaryError> {
        match self {
            Db::Lite(conn) => {
                let mut stmt = conn.prepare(sql)?;
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    f(r);
                }
            }
            Db::Server(db) => db.for_each_row(sql, |r| {
                f(r);
                Ok(())
            })?,
        }
        Ok(())
    }

    /// The one integer `sql` returns (0 for none or NULL).
    fn one(&self, sql: &str) -> Result<i64, SummaryError> {
        let mut v = 0;
        self.each(sql, |r| v = r.int(0).unwrap_or(0))?;
        Ok(v)
    }
}

/// One line of the summary: `count` of something, out of `of` when a share makes sense.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub section: &'static str,
    pub metric: String,
    pub count: u64,
    pub of: Option<u64>,
}

/// The whole summary, in display order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub lines: Vec<Line>,
}

/// Label modes as the summary names them (same names as the scenario's `profiles.label_modes`).
pub const MODE_NAMES: [&str; 9] = [
    "none",
    "include_all",
    "include_any",
    "exclude_any",
    "include_all_exclude",
    "include_any_exclude",
    "mixed_include",
    "exclude_require_all",
    "other",
];

/// Classifies a profile from the counts of its label rows by (exclude, require_all).
pub fn classify_mode(inc_all: u64, inc_any: u64, exc_any: u64, exc_all: u64) -> &'static str {
    match (inc_all > 0, inc_any > 0, exc_any > 0, exc_all > 0) {
        (false, false, false, false) => "none",
        (true, true, _, false) => "mixed_include",
        (true, false, false, false) => "include_all",
        (false, true, false, false) => "include_any",
        (false, false, true, false) => "exclude_any",
        (true, false, true, false) => "include_all_exclude",
        (false, true, true, false) => "include_any_exclude",
        (false, false, false, true) => "exclude_require_all",
        _ => "other",
    }
}

impl Summary {
    /// The count of a metric, for tests and callers that check one figure.
    pub fn get(&self, section: &str, metric: &str) -> Option<u64> {
        self.lines
            .iter()
            .find(|l| l.section == section && l.metric == metric)
            .map(|l| l.count)
    }

    fn push(
        &mut self,
        section: &'static str,
        metric: impl Into<String>,
        count: i64,
        of: Option<i64>,
    ) {
        self.lines.push(Line {
            section,
            metric: metric.into(),
            count: count.max(0) as u64,
            of: of.map(|o| o.max(0) as u64),
        });
    }

    /// Collects the summary from an SQLite contract database.
    pub fn collect(conn: &Connection) -> Result<Summary, SummaryError> {
        Self::collect_from(Db::Lite(conn))
    }

    /// Collects the summary from a server's contract database.
    pub fn collect_server(db: &MyDb) -> Result<Summary, SummaryError> {
        Self::collect_from(Db::Server(db))
    }

    fn collect_from(db: Db<'_>) -> Result<Summary, SummaryError> {
        let mut s = Summary::default();
        let one = |sql: &str| db.one(sql);
        for table in crate::store::tables::contract().map(|t| t.name) {
            let n = one(&format!("SELECT count(*) FROM {table}"))?;
            s.push("tables", table, n, None);
        }

        let hosts = one("SELECT count(*) FROM hosts")?;
        let eligible = one(&format!(
            "SELECT count(*) FROM hosts h WHERE {ELIGIBLE_HOST}"
        ))?;
        s.push("hosts", "eligible rows (spec §2)", eligible, Some(hosts));
        let mut platforms: Vec<(String, i64)> = Vec::new();
        db.each(
            "SELECT platform, count(*) FROM hosts GROUP BY platform ORDER BY platform",
            |r| platforms.push((r.text(0).unwrap_or("").to_string(), r.int(1).unwrap_or(0))),
        )?;
        for (p, n) in platforms {
            s.push("hosts", format!("platform {p}"), n, Some(hosts));
        }
        s.push(
            "hosts",
            "no team",
            one("SELECT count(*) FROM hosts WHERE team_id IS NULL")?,
            Some(hosts),
        );
        s.push(
            "hosts",
            "duplicated uuids (D6)",
            one(
                "SELECT count(*) FROM (SELECT uuid FROM hosts GROUP BY uuid HAVING count(*) > 1) \
                 AS d",
            )?,
            None,
        );
        s.push(
            "hosts",
            "extra rows of duplicated uuids",
            one("SELECT count(*) - count(DISTINCT uuid) FROM hosts")?,
            Some(hosts),
        );
        s.push(
            "hosts",
            "empty uuid (D9)",
            one("SELECT count(*) FROM hosts WHERE uuid = ''")?,
            Some(hosts),
        );
        s.push(
            "hosts",
            "never reported labels (sentinel)",
            one(&format!(
                "SELECT count(*) FROM hosts WHERE label_updated_at <= '{}'",
                crate::support::timefmt::SENTINEL
            ))?,
            Some(hosts),
        );
        s.push(
            "hosts",
            "host_mdm.enrolled = 0 (D7)",
            one("SELECT count(*) FROM host_mdm WHERE enrolled = 0")?,
            Some(hosts),
        );

        let labels = one("SELECT count(*) FROM labels")?;
        for (t, name) in [(0, "dynamic"), (1, "manual"), (2, "host vitals")] {
            s.push(
                "labels",
                name,
                one(&format!(
                    "SELECT count(*) FROM labels WHERE label_membership_type = {t}"
                ))?,
                Some(labels),
            );
        }
        s.push(
            "labels",
            "recent (created after a host's last report)",
            one(&format!(
                "SELECT count(*) FROM labels WHERE created_at > (SELECT min(label_updated_at)
                 FROM hosts WHERE label_updated_at > '{}')",
                crate::support::timefmt::SENTINEL
            ))?,
            Some(labels),
        );
        s.push(
            "labels",
            "created_at NULL (D8)",
            one("SELECT count(*) FROM labels WHERE created_at IS NULL")?,
            Some(labels),
        );
        s.push(
            "labels",
            "deleted but still referenced (broken)",
            one(
                "SELECT count(DISTINCT label_name) FROM mdm_configuration_profile_labels
                 WHERE label_id IS NULL",
            )?,
            None,
        );
        s.push(
            "labels",
            "memberships",
            one("SELECT count(*) FROM label_membership")?,
            None,
        );

        let profiles = one("SELECT count(*) FROM mdm_apple_configuration_profiles")?;
        let mut modes = [0i64; MODE_NAMES.len()];
        db.each(
            "SELECT
               coalesce(sum(l.exclude = 0 AND l.require_all = 1), 0),
               coalesce(sum(l.exclude = 0 AND l.require_all = 0), 0),
               coalesce(sum(l.exclude = 1 AND l.require_all = 0), 0),
               coalesce(sum(l.exclude = 1 AND l.require_all = 1), 0)
             FROM mdm_apple_configuration_profiles p
             LEFT JOIN mdm_configuration_profile_labels l ON l.apple_profile_uuid = p.profile_uuid
             GROUP BY p.profile_uuid",
            |r| {
                let n = |i: usize| r.int(i).unwrap_or(0).max(0) as u64;
                let m = classify_mode(n(0), n(1), n(2), n(3));
                if let Some(i) = MODE_NAMES.iter().position(|n| *n == m) {
                    modes[i] += 1;
                }
            },
        )?;
        for (name, n) in MODE_NAMES.iter().zip(modes) {
            s.push("profiles", format!("mode {name}"), n, Some(profiles));
        }
        s.push(
            "profiles",
            "broken (a label row with label_id NULL)",
            one(
                "SELECT count(DISTINCT apple_profile_uuid) FROM mdm_configuration_profile_labels
                 WHERE label_id IS NULL",
            )?,
            Some(profiles),
        );
        s.push(
            "profiles",
            "secrets_updated_at set",
            one("SELECT count(*) FROM mdm_apple_configuration_profiles
                 WHERE secrets_updated_at IS NOT NULL")?,
            Some(profiles),
        );
        s.push(
            "profiles",
            "scope User",
            one("SELECT count(*) FROM mdm_apple_configuration_profiles WHERE scope = 'User'")?,
            Some(profiles),
        );
        s.push(
            "profiles",
            "Fleet's macOS-only profiles",
            one("SELECT count(*) FROM mdm_apple_configuration_profiles
                 WHERE name IN ('Fleetd configuration', 'Disk encryption')")?,
            Some(profiles),
        );

        // The current rows in one plain scan (the table is most of the fleet: at a million
        // hosts each scan of it costs tens of seconds), counted per (operation, status) cell
        // here rather than by a GROUP BY, which would sort every row.
        // SQLite tests each row's host against the eligible uuids it gathers once; MariaDB runs
        // that NOT IN per row (33 s at 100k hosts, measured), so on a server the rows of
        // eligible hosts are counted apart, by a semi-join (4 s), and the rest is the D5 count.
        let (not_indexed, not_eligible) = match db {
            Db::Lite(_) => (
                " NOT INDEXED",
                format!("r.host_uuid NOT IN (SELECT h.uuid FROM hosts h WHERE {ELIGIBLE_HOST})"),
            ),
            Db::Server(_) => ("", "0".to_string()),
        };
        type Cell = (Option<String>, Option<String>, [i64; 5]);
        let mut cells: Vec<Cell> = Vec::new();
        db.each(
            &format!(
                "SELECT r.operation_type, r.status,
                   p.profile_uuid IS NOT NULL AND r.checksum != p.checksum,
                   p.secrets_updated_at IS NOT NULL AND (r.secrets_updated_at IS NULL
                     OR r.secrets_updated_at < p.secrets_updated_at),
                   p.profile_uuid IS NULL,
                   {not_eligible}
                 FROM host_mdm_apple_profiles r{not_indexed}
                 LEFT JOIN mdm_apple_configuration_profiles p
                   ON p.profile_uuid = r.profile_uuid"
            ),
            |r| {
                let (op, st) = (r.text(0), r.text(1));
                let at = match cells
                    .iter()
                    .position(|c| c.0.as_deref() == op && c.1.as_deref() == st)
                {
                    Some(i) => i,
                    None => {
                        cells.push((op.map(String::from), st.map(String::from), [0; 5]));
                        cells.len() - 1
                    }
                };
                let c = &mut cells[at].2;
                c[0] += 1;
                for (k, n) in c.iter_mut().enumerate().skip(1) {
                    *n += r.int(k + 1).unwrap_or(0);
                }
            },
        )?;
        let rows: i64 = cells.iter().map(|c| c.2[0]).sum();
        let of_eligible = match db {
            Db::Lite(_) => None,
            Db::Server(_) => Some(one(&format!(
                "SELECT count(*) FROM host_mdm_apple_profiles r
                 WHERE r.host_uuid IN (SELECT h.uuid FROM hosts h WHERE {ELIGIBLE_HOST})"
            ))?),
        };
        let total = |k: usize| -> i64 {
            match (k, of_eligible) {
                (4, Some(eligible)) => rows - eligible,
                _ => cells.iter().map(|c| c.2[k]).sum(),
            }
        };
        for op in OPERATIONS {
            for st in STATUSES {
                let n = cells
                    .iter()
                    .filter(|(o, s2, _)| o.as_deref() == op && s2.as_deref() == st)
                    .map(|c| c.2[0])
                    .sum();
                s.push(
                    "current rows",
                    format!("{} / {}", op.unwrap_or("NULL"), st.unwrap_or("NULL")),
                    n,
                    Some(rows),
                );
            }
        }
        let other: i64 = cells
            .iter()
            .filter(|(o, st, _)| {
                !OPERATIONS.contains(&o.as_deref()) || !STATUSES.contains(&st.as_deref())
            })
            .map(|c| c.2[0])
            .sum();
        s.push(
            "current rows",
            "other operation/status values",
            other,
            Some(rows),
        );
        for (k, metric) in [
            (1, "stale checksum"),
            (2, "stale secrets (row NULL or older, profile set)"),
            (3, "of deleted profiles"),
            (4, "of ineligible or deleted hosts (D5)"),
        ] {
            s.push("current rows", metric, total(k), Some(rows));
        }
        Ok(s)
    }

    /// The summary as an aligned text table: section, metric, count and share.
    pub fn render(&self) -> String {
        let width = self
            .lines
            .iter()
            .map(|l| l.metric.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let mut section = "";
        for l in &self.lines {
            if l.section != section {
                section = l.section;
                out.push_str(&format!("{section}\n"));
            }
            let pad = width - l.metric.chars().count();
            out.push_str(&format!(
                "  {}{} {:>12}",
                l.metric,
                " ".repeat(pad),
                l.count
            ));
            if let Some(of) = l.of.filter(|o| *o > 0) {
                out.push_str(&format!("  {:6.2}%", 100.0 * l.count as f64 / of as f64));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_classification_table() {
        let cases = [
            ((0, 0, 0, 0), "none"),
            ((2, 0, 0, 0), "include_all"),
            ((0, 3, 0, 0), "include_any"),
            ((0, 0, 1, 0), "exclude_any"),
            ((1, 0, 1, 0), "include_all_exclude"),
            ((0, 1, 2, 0), "include_any_exclude"),
            ((1, 1, 0, 0), "mixed_include"),
            ((1, 1, 1, 0), "mixed_include"),
            ((0, 0, 0, 2), "exclude_require_all"),
            ((1, 0, 0, 1), "other"),
        ];
        for ((a, b, c, d), want) in cases {
            assert_eq!(classify_mode(a, b, c, d), want, "{a} {b} {c} {d}");
        }
    }
}
