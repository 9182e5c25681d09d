//! Convergence latency (issue 4; spec §6 "time to converge"): for every (host, profile) pair
//! whose desired state a churn event changes, the virtual time until the path's current row
//! reaches that state.
//!
//! How a pair is found: before and after each round of churn, the desired state of the
//! events' scope (the hosts they touch × every profile, and every host × the profiles they
//! touch) is evaluated with the spec §4.2 handlers on the fleet tables, which are identical for
//! both paths (a loadtest's churn reads the hosts of a profile's team from the rows it keeps,
//! `HostFacts`, which equal the tables'). A pair changes when its target (install of checksum
//! c / secrets s, or absent) differs; it becomes a sample when its current row is not already
//! there.
//!
//! Each path is judged by its own semantics: the batched path by its rules; the legacy path by
//! the same handlers with D1–D5 aligned to legacy and D7 off (spec §6). Pairs a path never acts
//! on are not samples: withheld macOS-only pairs (spec §2), undesired pairs of a profile with a
//! broken label (never removed, spec §3 and §4.3), and for the batched path hosts it never
//! lists (not eligible without the D5 sweep, uuid `''`, D9). Legacy's fact divergences D6 and
//! D8 are not modelled by the handlers; a legacy pair they affect may stay `open`.
//!
//! When is a pair there: an install target when the row is `install`, has the checksum (and
//! secrets not older) and status `verifying` or `verified`; an absent target when the row is
//! gone. A `failed` row ends the sample as `failed`. A newer event that changes the pair's
//! target again ends it as `superseded` and opens a new one. Virtual time: tick k runs at
//! k·interval; churn after tick k and the device answers to tick k are stamped (k+1)·interval.

use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::handlers;
use crate::domain::model::{Host, macos_only_withheld};
use crate::domain::rules::Rules;
use crate::paths::batched::{self, BatchedError, Catalog};
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Which semantics judge a path's pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    pub rules: Rules,
    /// Legacy: every eligible row, uuid `''` included; rows of unlisted hosts are removed.
    pub legacy: bool,
}

impl Semantics {
    pub fn batched(rules: Rules) -> Semantics {
        Semantics {
            rules,
            legacy: false,
        }
    }

    /// The legacy path's semantics, as far as the handlers can state them.
    pub fn legacy(rules: Rules) -> Semantics {
        Semantics {
            rules: Rules {
                d7_require_enrolled: false,
                ..rules.aligned_with_legacy()
            },
            legacy: true,
        }
    }

    /// Rows of hosts the path never lists are removed (legacy, or the D5 sweep).
    fn removes_unlisted(&self) -> bool {
        self.legacy || self.rules.d5_remove
    }
}

/// What a pair should come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Installed with this checksum and secrets time.
    Install {
        checksum: Vec<u8>,
        secrets: Option<String>,
    },
    /// Desired but withheld, or undesired with a broken label: the path leaves the row alone.
    Keep,
}

/// The events' scope: host uuids (× every profile) and profile uuids (× every host).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub hosts: BTreeSet<String>,
    pub profiles: BTreeSet<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.profiles.is_empty()
    }
}

/// The desired state of a scope: targets of desired (or kept) pairs; a pair of the scope that
/// is missing is to be absent.
#[derive(Debug, Default)]
pub struct Desired {
    pub targets: FxHashMap<(String, String), Target>,
    /// Host uuids in the scope that the path never lists.
    pub unlisted: FxHashSet<String>,
}

/// The host columns `evaluate` reads, and whether the path lists the host, under `filter`.
fn host_sql(sem: &Semantics, filter: &str) -> String {
    let d7 = crate::domain::eligibility::enrolled_clause(&sem.rules);
    format!(
        "SELECT h.id, h.uuid, h.team_id, h.platform, h.label_updated_at,
                ({ELIGIBLE_HOST}{d7}) AS listed
         FROM hosts h {filter}"
    )
}

/// The hosts whose uuid is in the JSON array `?1`, through the uuid index.
const BY_UUID: &str = "WHERE h.uuid IN (SELECT value FROM json_each(?1))";

fn read_hosts(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(Host, bool)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            Host {
                id: r.get(0)?,
                uuid: r.get(1)?,
                team_id: r.get(2)?,
                platform: r.get(3)?,
                label_updated_at: r.get(4)?,
            },
            r.get::<_, bool>(5)?,
        ))
    })?;
    rows.collect()
}

/// The host rows of the teams that profile-level churn evaluated, each with whether the path
/// lists it, kept between churn rounds so that an event on a profile does not read its team's
/// hosts again. A team is read on first use. Only churn changes host rows, enrollments and
/// `host_mdm`, and every host an event changes is in the event's scope, so `refresh` with that
/// scope after the events keeps every kept team equal to the database. It is derived from the
/// database alone: a resumed run starts empty and reads the same rows.
#[derive(Debug)]
pub struct HostFacts {
    /// Whose listing the flags are (the D7 clause depends on the rules).
    sem: Semantics,
    /// Team (0: none) → its host rows, in (uuid, id) order.
    teams: FxHashMap<i64, Vec<(Host, bool)>>,
}

impl HostFacts {
    pub fn new(sem: Semantics) -> HostFacts {
        HostFacts {
            sem,
            teams: FxHashMap::default(),
        }
    }

    /// Reads team `team`'s host rows through the team index, unless kept already.
    fn load(&mut self, conn: &Connection, team: i64) -> rusqlite::Result<()> {
        if !self.teams.contains_key(&team) {
            // `coalesce(h.team_id, 0) = team`, in the form the team index serves.
            let mut rows = if team == 0 {
                let sql = host_sql(&self.sem, "WHERE h.team_id IS NULL OR h.team_id = 0");
                read_hosts(conn, &sql, [])?
            } else {
                read_hosts(conn, &host_sql(&self.sem, "WHERE h.team_id = ?1"), [team])?
            };
            rows.sort_unstable_by(|a, b| by_uuid_id(&a.0, &b.0));
            self.teams.insert(team, rows);
        }
        Ok(())
    }

    /// Reads the rows of `hosts` again (after events that changed them): out of every kept
    /// team, then into the team each row is in now, if that team is kept.
    pub fn refresh(&mut self, conn: &Connection, hosts: &BTreeSet<String>) -> rusqlite::Result<()> {
        if hosts.is_empty() || self.teams.is_empty() {
            return Ok(());
        }
        for rows in self.teams.values_mut() {
            for u in hosts {
                let from = rows.partition_point(|(h, _)| h.uuid.as_str() < u.as_str());
                let to = from + rows[from..].partition_point(|(h, _)| h.uuid == *u);
                rows.drain(from..to);
            }
        }
        let json = serde_json::to_string(hosts).unwrap_or_else(|_| "[]".into());
        for (h, listed) in read_hosts(conn, &host_sql(&self.sem, BY_UUID), [json])? {
            if let Some(rows) = self.teams.get_mut(&h.team()) {
                let at = rows.partition_point(|(k, _)| by_uuid_id(k, &h).is_lt());
                rows.insert(at, (h, listed));
            }
        }
        Ok(())
    }
}

/// Host rows in (uuid, id) order.
fn by_uuid_id(a: &Host, b: &Host) -> std::cmp::Ordering {
    (a.uuid.as_str(), a.id).cmp(&(b.uuid.as_str(), b.id))
}

/// Evaluates the desired state of `scope` under `sem` (see the module comment).
pub fn evaluate(
    conn: &Connection,
    scope: &Scope,
    sem: &Semantics,
) -> Result<Desired, BatchedError> {
    evaluate_with(conn, scope, sem, None)
}

/// `evaluate`, reading the scoped profiles' teams from `facts` when it holds this path's
/// (the same result: the tests hold the two together).
pub fn evaluate_with(
    conn: &Connection,
    scope: &Scope,
    sem: &Semantics,
    facts: Option<&mut HostFacts>,
) -> Result<Desired, BatchedError> {
    let q = |e: rusqlite::Error| BatchedError::Query {
        phase: "convergence",
        message: e.to_string(),
    };
    let mut out = Desired::default();
    if scope.is_empty() {
        return Ok(out);
    }
    let catalog = Catalog::new(batched::load_profiles(conn)?, &sem.rules);
    let scoped: Vec<usize> = (0..catalog.entries.len())
        .filter(|&i| scope.profiles.contains(&catalog.entries[i].profile.uuid))
        .collect();
    // The scope's uuids, plus every host of the scoped profiles' teams (a profile's pairs span
    // its team; churn never moves a profile to another team).
    let mut teams: Vec<i64> = scoped
        .iter()
        .map(|&i| catalog.entries[i].profile.team_id)
        .collect();
    teams.sort_unstable();
    teams.dedup();
    let host_json = serde_json::to_string(&scope.hosts).unwrap_or_else(|_| "[]".into());
    // Every host row of the scope, with whether the path lists it, in no order (the targets
    // do not depend on it).
    let owned: Vec<(Host, bool)>;
    let rows: Vec<(&Host, bool)> = match facts {
        // The scope's uuids read now, the teams' other hosts from `facts`.
        Some(facts) if !teams.is_empty() && facts.sem == *sem => {
            owned = if scope.hosts.is_empty() {
                Vec::new()
            } else {
                read_hosts(conn, &host_sql(sem, BY_UUID), [&host_json]).map_err(q)?
            };
            for &t in &teams {
                facts.load(conn, t).map_err(q)?;
            }
            let facts: &HostFacts = facts;
            let kept = teams.iter().flat_map(|t| &facts.teams[t]);
            owned
                .iter()
                .chain(kept.filter(|(h, _)| !scope.hosts.contains(&h.uuid)))
                .map(|(h, listed)| (h, *listed))
                .collect()
        }
        _ => {
            // Without teams, the uuids alone, looked up through the uuid index (most churn
            // rounds touch a few hosts, not a profile); with teams, one plain scan of the
            // table.
            let filter = if teams.is_empty() {
                "WHERE h.uuid IN (SELECT value FROM json_each(?1)) AND ?2 = '[]'"
            } else {
                "NOT INDEXED WHERE h.uuid IN (SELECT value FROM json_each(?1))
                    OR coalesce(h.team_id, 0) IN (SELECT value FROM json_each(?2))"
            };
            let team_json = serde_json::to_string(&teams).unwrap_or_else(|_| "[]".into());
            owned =
                read_hosts(conn, &host_sql(sem, filter), [&host_json, &team_json]).map_err(q)?;
            owned.iter().map(|(h, listed)| (h, *listed)).collect()
        }
    };
    let mut hosts: Vec<&Host> = Vec::new();
    let mut listed_uuids: FxHashSet<&str> = FxHashSet::default();
    let mut seen_uuids: FxHashSet<&str> = FxHashSet::default();
    for (h, listed) in rows {
        // The batched window never lists uuid '' (spec §4.1 step 2, D9).
        let listed = listed && (sem.legacy || !h.uuid.is_empty());
        seen_uuids.insert(&h.uuid);
        if listed {
            listed_uuids.insert(&h.uuid);
            hosts.push(h);
        }
    }
    out.unlisted = seen_uuids
        .into_iter()
        .filter(|u| !listed_uuids.contains(u))
        .map(str::to_string)
        .chain(
            scope
                .hosts
                .iter()
                .filter(|u| !listed_uuids.contains(u.as_str()))
                .cloned(),
        )
        .collect();

    // Memberships: by label for the scoped profiles, by host for the scoped hosts.
    let mut members: FxHashSet<(i64, i64)> = FxHashSet::default();
    let scoped_labels: Vec<i64> = {
        let mut v: Vec<i64> = scoped
            .iter()
            .flat_map(|&i| {
                catalog.entries[i]
                    .profile
                    .refs
                    .iter()
                    .filter_map(|r| r.label_id)
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    if !scoped_labels.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "SELECT host_id, label_id FROM label_membership
                 WHERE label_id IN (SELECT value FROM json_each(?1))",
            )
            .map_err(q)?;
        let json = serde_json::to_string(&scoped_labels).unwrap_or_else(|_| "[]".into());
        for m in stmt
            .query_map([json], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(q)?
        {
            members.insert(m.map_err(q)?);
        }
    }
    let scoped_host_ids: Vec<i64> = hosts
        .iter()
        .filter(|h| scope.hosts.contains(&h.uuid))
        .map(|h| h.id)
        .collect();
    if !scoped_host_ids.is_empty() {
        members.extend(batched::load_memberships(
            conn,
            &scoped_host_ids,
            &catalog.label_ids,
        )?);
    }

    for &h in &hosts {
        let member = |label: i64| members.contains(&(h.id, label));
        let all = scope.hosts.contains(&h.uuid);
        let team = catalog.by_team.get(&h.team()).map_or(&[][..], |v| &v[..]);
        for &i in team {
            if !all && scoped.binary_search(&i).is_err() {
                continue;
            }
            let e = &catalog.entries[i];
            let pass = handlers::desired(e, h, &member, &sem.rules).pass;
            let target = if pass && !macos_only_withheld(&h.platform, &e.profile.name) {
                Target::Install {
                    checksum: e.profile.checksum.to_vec(),
                    secrets: e.profile.secrets_updated_at.clone(),
                }
            } else if pass || e.broken {
                Target::Keep
            } else {
                continue;
            };
            // Duplicate uuid rows (D6): desired for the uuid when any row desires it.
            let key = (h.uuid.clone(), e.profile.uuid.clone());
            match out.targets.get(&key) {
                Some(Target::Install { .. }) => {}
                _ => {
                    out.targets.insert(key, target);
                }
            }
        }
    }
    Ok(out)
}

/// What a sample waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Want {
    Install {
        checksum: Vec<u8>,
        secrets: Option<String>,
    },
    Absent,
}

impl Want {
    pub fn name(&self) -> &'static str {
        match self {
            Want::Install { .. } => "install",
            Want::Absent => "absent",
        }
    }
}

/// One convergence sample (a row of `convergence.csv`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub host_uuid: String,
    pub profile_uuid: String,
    pub want: Want,
    pub event_tick: u32,
    pub event_s: u64,
    pub outcome: SampleOutcome,
    pub end_s: Option<u64>,
}

crate::support::named::named_enum!(
    "lowercase",
    /// Where a convergence sample ended.
    pub enum SampleOutcome {
        /// Not reached when the run ended.
        Open,
        /// The row reached the target.
        Converged,
        /// The device failed the command (final).
        Failed,
        /// A later event changed the pair's target again; a new sample started.
        Superseded,
    }
);

impl Sample {
    /// Virtual seconds from the event to convergence.
    pub fn latency_s(&self) -> Option<u64> {
        match self.outcome {
            SampleOutcome::Converged => self.end_s.map(|e| e - self.event_s),
            _ => None,
        }
    }
}

/// Where a row stands against what a sample waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    Yes,
    Failed,
    No,
}

/// A current row as far as convergence looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowState {
    pub op: Option<String>,
    pub status: Option<String>,
    pub checksum: Vec<u8>,
    pub secrets: Option<String>,
}

/// Judges a row (None = no row) against a want; `d4_skip`: a NULL row secrets is fine.
pub fn reached(row: Option<&RowState>, want: &Want, d4_skip: bool) -> Reached {
    match (want, row) {
        (Want::Absent, None) => Reached::Yes,
        (Want::Absent, Some(r)) => {
            if r.op.as_deref() == Some("remove") && r.status.as_deref() == Some("failed") {
                Reached::Failed
            } else {
                Reached::No
            }
        }
        (Want::Install { .. }, None) => Reached::No,
        (Want::Install { checksum, secrets }, Some(r)) => {
            let secrets_ok = match (secrets, &r.secrets) {
                (None, _) => true,
                (Some(_), None) => d4_skip,
                (Some(p), Some(r)) => r >= p,
            };
            if r.op.as_deref() != Some("install") || r.checksum != *checksum || !secrets_ok {
                return Reached::No;
            }
            match r.status.as_deref() {
                Some("verifying" | "verified") => Reached::Yes,
                Some("failed") => Reached::Failed,
                _ => Reached::No,
            }
        }
    }
}

fn row_state(conn: &Connection, host: &str, profile: &str) -> rusqlite::Result<Option<RowState>> {
    conn.prepare_cached(
        "SELECT operation_type, status, checksum, secrets_updated_at
         FROM host_mdm_apple_profiles WHERE host_uuid = ?1 AND profile_uuid = ?2",
    )?
    .query_row([host, profile], |r| {
        Ok(RowState {
            op: r.get(0)?,
            status: r.get(1)?,
            checksum: r.get(2)?,
            secrets: r.get(3)?,
        })
    })
    .optional()
}

/// The samples' changes since the last checkpoint (`Tracker::flush`).
#[derive(Debug, Default)]
pub struct Flushed {
    /// Pairs whose open sample appeared or went, with the sample now open (None: none).
    pub open: Vec<((String, String), Option<Sample>)>,
    /// Samples closed since the last flush, in closing order.
    pub closed: Vec<Sample>,
    /// Samples closed before them.
    pub closed_before: usize,
}

/// One path's open and closed samples.
#[derive(Debug)]
pub struct Tracker {
    pub sem: Semantics,
    open: BTreeMap<(String, String), Sample>,
    pub closed: Vec<Sample>,
    /// Pairs whose open sample was added or removed since the last `flush`.
    touched: BTreeSet<(String, String)>,
    /// Closed samples already handed to a `flush`.
    flushed: usize,
    /// Pairs whose sample opened since the last check (`check_pairs` looks at them too: a
    /// sample may open on a failed row).
    fresh: Vec<(String, String)>,
}

impl Tracker {
    pub fn new(sem: Semantics) -> Tracker {
        Tracker {
            sem,
            open: BTreeMap::new(),
            closed: Vec::new(),
            touched: BTreeSet::new(),
            flushed: 0,
            fresh: Vec::new(),
        }
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// What changed since the last flush, for a checkpoint: the touched pairs with their open
    /// sample (None: no longer open), and the samples closed since, with the number closed
    /// before them. Costs what changed, not what the run holds; call it once per stored step.
    pub fn flush(&mut self) -> Flushed {
        let from = std::mem::replace(&mut self.flushed, self.closed.len());
        let open = std::mem::take(&mut self.touched)
            .into_iter()
            .map(|k| {
                let s = self.open.get(&k).cloned();
                (k, s)
            })
            .collect();
        Flushed {
            open,
            closed: self.closed[from..].to_vec(),
            closed_before: from,
        }
    }

    /// A tracker restored from a checkpoint (what a flush stored).
    pub fn restore(sem: Semantics, open: Vec<Sample>, closed: Vec<Sample>) -> Tracker {
        let flushed = closed.len();
        Tracker {
            sem,
            open: open
                .into_iter()
                .map(|s| ((s.host_uuid.clone(), s.profile_uuid.clone()), s))
                .collect(),
            closed,
            touched: BTreeSet::new(),
            flushed,
            fresh: Vec::new(),
        }
    }

    /// Opens samples for the pairs whose target changed from `before` to `after`.
    pub fn record_changes(
        &mut self,
        conn: &Connection,
        before: &Desired,
        after: &Desired,
        tick: u32,
        now_s: u64,
    ) -> rusqlite::Result<()> {
        let keys: BTreeSet<&(String, String)> =
            before.targets.keys().chain(after.targets.keys()).collect();
        for key in keys {
            let (b, a) = (before.targets.get(key), after.targets.get(key));
            if b == a {
                continue;
            }
            let want = match a {
                Some(Target::Keep) => continue,
                Some(Target::Install { checksum, secrets }) => Want::Install {
                    checksum: checksum.clone(),
                    secrets: secrets.clone(),
                },
                None => {
                    if after.unlisted.contains(&key.0) && !self.sem.removes_unlisted() {
                        continue;
                    }
                    Want::Absent
                }
            };
            if let Some(mut old) = self.open.remove(key) {
                old.outcome = SampleOutcome::Superseded;
                old.end_s = Some(now_s);
                self.closed.push(old);
                self.touched.insert(key.clone());
            }
            let row = row_state(conn, &key.0, &key.1)?;
            if reached(row.as_ref(), &want, self.sem.rules.d4_skip) == Reached::Yes {
                continue;
            }
            self.touched.insert(key.clone());
            self.fresh.push(key.clone());
            self.open.insert(
                key.clone(),
                Sample {
                    host_uuid: key.0.clone(),
                    profile_uuid: key.1.clone(),
                    want,
                    event_tick: tick,
                    event_s: now_s,
                    outcome: SampleOutcome::Open,
                    end_s: None,
                },
            );
        }
        Ok(())
    }

    /// Closes the samples whose row is there (or failed) at virtual time `now_s`; returns
    /// the latencies (virtual seconds) of those that converged.
    pub fn check(&mut self, conn: &Connection, now_s: u64) -> rusqlite::Result<Vec<u64>> {
        self.fresh.clear();
        let mut done = Vec::new();
        for (key, s) in &self.open {
            if let Some(outcome) = self.judge(conn, key, s)? {
                done.push((key.clone(), outcome));
            }
        }
        Ok(self.close(done, now_s))
    }

    /// `check` of the open samples among `pairs` (host uuid, profile uuid) only: the rows that
    /// changed since the last check, and the samples opened since. A sample opens only while
    /// its row has not reached its target, so a row that did not change cannot have reached it
    /// since: with every changed pair given, this closes what `check` closes, in the same
    /// order (the tests hold the two to the same samples). When as many pairs changed as
    /// samples are open, reading every open sample is cheaper, and it does that.
    pub fn check_pairs(
        &mut self,
        conn: &Connection,
        now_s: u64,
        pairs: &[(Arc<str>, Arc<str>)],
    ) -> rusqlite::Result<Vec<u64>> {
        if pairs.len() >= self.open.len() {
            return self.check(conn, now_s);
        }
        let fresh = std::mem::take(&mut self.fresh);
        let mut keys: Vec<(String, String)> = pairs
            .iter()
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .chain(fresh)
            .filter(|k| self.open.contains_key(k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut done = Vec::new();
        for key in keys {
            if let Some(s) = self.open.get(&key)
                && let Some(outcome) = self.judge(conn, &key, s)?
            {
                done.push((key, outcome));
            }
        }
        Ok(self.close(done, now_s))
    }

    /// How an open sample ends now, if it does: its row reached the target, or failed.
    fn judge(
        &self,
        conn: &Connection,
        key: &(String, String),
        s: &Sample,
    ) -> rusqlite::Result<Option<SampleOutcome>> {
        let row = row_state(conn, &key.0, &key.1)?;
        Ok(
            match reached(row.as_ref(), &s.want, self.sem.rules.d4_skip) {
                Reached::Yes => Some(SampleOutcome::Converged),
                Reached::Failed => Some(SampleOutcome::Failed),
                Reached::No => None,
            },
        )
    }

    /// Closes the samples `done` (in pair order) at `now_s`; returns the latencies of those
    /// that converged.
    fn close(&mut self, done: Vec<((String, String), SampleOutcome)>, now_s: u64) -> Vec<u64> {
        let mut latencies = Vec::new();
        for (key, outcome) in done {
            if let Some(mut s) = self.open.remove(&key) {
                self.touched.insert(key.clone());
                s.outcome = outcome;
                s.end_s = Some(now_s);
                if let Some(l) = s.latency_s() {
                    latencies.push(l);
                }
                self.closed.push(s);
            }
        }
        latencies
    }

    /// Every sample, the open ones last, in a stable order.
    pub fn samples(&self) -> Vec<Sample> {
        let mut v = self.closed.clone();
        v.sort_by(|a, b| {
            (a.event_tick, &a.host_uuid, &a.profile_uuid, a.end_s).cmp(&(
                b.event_tick,
                &b.host_uuid,
                &b.profile_uuid,
                b.end_s,
            ))
        });
        v.extend(self.open.values().cloned());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(op: &str, status: &str, sum: u8, secrets: Option<&str>) -> RowState {
        RowState {
            op: Some(op.into()),
            status: Some(status.into()),
            checksum: vec![sum],
            secrets: secrets.map(String::from),
        }
    }

    #[test]
    fn reached_follows_the_rows() {
        let want = Want::Install {
            checksum: vec![1],
            secrets: None,
        };
        let r = |op, st, sum| reached(Some(&row(op, st, sum, None)), &want, false);
        assert_eq!(reached(None, &want, false), Reached::No);
        assert_eq!(r("install", "pending", 1), Reached::No);
        assert_eq!(r("install", "verifying", 1), Reached::Yes);
        assert_eq!(r("install", "verified", 1), Reached::Yes);
        assert_eq!(r("install", "failed", 1), Reached::Failed);
        assert_eq!(r("install", "verified", 2), Reached::No, "old checksum");
        assert_eq!(r("remove", "verified", 1), Reached::No);
        assert_eq!(reached(None, &Want::Absent, false), Reached::Yes);
        let rm = |st| reached(Some(&row("remove", st, 1, None)), &Want::Absent, false);
        assert_eq!(rm("pending"), Reached::No);
        assert_eq!(rm("failed"), Reached::Failed);
    }

    #[test]
    fn secrets_must_not_be_older_and_null_passes_only_under_d4_skip() {
        let want = Want::Install {
            checksum: vec![1],
            secrets: Some("2026-01-02 00:00:00.000000".into()),
        };
        let at = |s: Option<&str>, d4| reached(Some(&row("install", "verified", 1, s)), &want, d4);
        assert_eq!(at(Some("2026-01-01 00:00:00.000000"), false), Reached::No);
        assert_eq!(at(Some("2026-01-02 00:00:00.000000"), false), Reached::Yes);
        assert_eq!(at(None, false), Reached::No);
        assert_eq!(at(None, true), Reached::Yes);
    }
}
