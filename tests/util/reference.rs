//! The spec-literal reference evaluator: the third implementation of the conformance suite.
//! Plain Rust over every row read into memory, no SQL beyond `SELECT *`, written from the
//! spec's sentences (§2, §3, §4) without reusing the library's handlers.

use reconsim::domain::model::{Delta, Op};
use reconsim::domain::rules::Rules;
use rusqlite::Connection;
use std::collections::{BTreeSet, HashMap, HashSet};

#[derive(Clone)]
struct H {
    id: i64,
    uuid: String,
    platform: String,
    team_id: Option<i64>,
    lua: String,
}
struct L {
    created_at: Option<String>,
    ty: i64,
}
#[derive(Clone)]
struct P {
    uuid: String,
    team_id: i64,
    name: String,
    checksum: Vec<u8>,
    secrets: Option<String>,
}
#[derive(Clone)]
struct PL {
    label_id: Option<i64>,
    exclude: bool,
    require_all: bool,
}
#[derive(Clone)]
struct R {
    host_uuid: String,
    profile_uuid: String,
    status: Option<String>,
    op: Option<String>,
    checksum: Vec<u8>,
    secrets: Option<String>,
}

/// Every row the spec's rules read.
pub struct World {
    hosts: Vec<H>,
    eligible: HashSet<i64>,
    enrolled: HashSet<i64>,
    labels: HashMap<i64, L>,
    members: HashSet<(i64, i64)>,
    profiles: Vec<P>,
    plabels: HashMap<String, Vec<PL>>,
    rows: Vec<R>,
}

fn all<T>(
    conn: &Connection,
    sql: &str,
    f: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Vec<T> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| f(r))
        .expect("query")
        .map(|x| x.expect("row"))
        .collect()
}

impl World {
    pub fn load(conn: &Connection) -> World {
        let hosts = all(
            conn,
            "SELECT id, uuid, platform, team_id, label_updated_at FROM hosts ORDER BY id",
            |r| {
                Ok(H {
                    id: r.get(0)?,
                    uuid: r.get(1)?,
                    platform: r.get(2)?,
                    team_id: r.get(3)?,
                    lua: r.get(4)?,
                })
            },
        );
        let devices: HashSet<String> = all(conn, "SELECT id FROM nano_devices", |r| r.get(0))
            .into_iter()
            .collect();
        let enrollments: Vec<(String, String, i64)> = all(
            conn,
            "SELECT device_id, type, enabled FROM nano_enrollments",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        );
        // spec §2, sentence by sentence.
        let eligible = hosts
            .iter()
            .filter(|h| ["darwin", "ios", "ipados"].contains(&h.platform.as_str()))
            .filter(|h| {
                enrollments.iter().any(|(dev, ty, enabled)| {
                    dev == &h.uuid
                        && *enabled == 1
                        && (ty == "Device" || ty == "User Enrollment (Device)")
                        && devices.contains(dev)
                })
            })
            .map(|h| h.id)
            .collect();
        let enrolled = all(
            conn,
            "SELECT host_id FROM host_mdm WHERE enrolled = 1",
            |r| r.get(0),
        )
        .into_iter()
        .collect();
        let labels = all(
            conn,
            "SELECT id, created_at, label_membership_type FROM labels",
            |r| {
                Ok((
                    r.get(0)?,
                    L {
                        created_at: r.get(1)?,
                        ty: r.get(2)?,
                    },
                ))
            },
        )
        .into_iter()
        .collect();
        let members = all(
            conn,
            "SELECT host_id, label_id FROM label_membership",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .into_iter()
        .collect();
        let profiles = all(
            conn,
            "SELECT profile_uuid, team_id, name, checksum, secrets_updated_at
             FROM mdm_apple_configuration_profiles",
            |r| {
                Ok(P {
                    uuid: r.get(0)?,
                    team_id: r.get(1)?,
                    name: r.get(2)?,
                    checksum: r.get(3)?,
                    secrets: r.get(4)?,
                })
            },
        );
        let mut plabels: HashMap<String, Vec<PL>> = HashMap::new();
        for (p, pl) in all(
            conn,
            "SELECT apple_profile_uuid, label_id, exclude, require_all
             FROM mdm_configuration_profile_labels ORDER BY id",
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    PL {
                        label_id: r.get(1)?,
                        exclude: r.get::<_, i64>(2)? != 0,
                        require_all: r.get::<_, i64>(3)? != 0,
                    },
                ))
            },
        ) {
            plabels.entry(p).or_default().push(pl);
        }
        let rows = all(
            conn,
            "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
             FROM host_mdm_apple_profiles",
            |r| {
                Ok(R {
                    host_uuid: r.get(0)?,
                    profile_uuid: r.get(1)?,
                    status: r.get(2)?,
                    op: r.get(3)?,
                    checksum: r.get(4)?,
                    secrets: r.get(5)?,
                })
            },
        );
        World {
            hosts,
            eligible,
            enrolled,
            labels,
            members,
            profiles,
            plabels,
            rows,
        }
    }

    fn labels_of(&self, p: &P) -> Vec<PL> {
        self.plabels.get(&p.uuid).cloned().unwrap_or_default()
    }

    fn row(&self, host_uuid: &str, profile_uuid: &str) -> Option<&R> {
        self.rows
            .iter()
            .find(|r| r.host_uuid == host_uuid && r.profile_uuid == profile_uuid)
    }

    fn macos_only(platform: &str, name: &str) -> bool {
        (platform == "ios" || platform == "ipados")
            && (name == "Fleetd configuration" || name == "Disk encryption")
    }

    /// Spec §3: the legacy install list (duplicates kept) and remove list.
    pub fn legacy(&self) -> (Vec<Delta>, Vec<Delta>) {
        // ds: distinct (arm, profile, host uuid, platform, name).
        let mut ds: BTreeSet<(u8, String, String, String, String)> = BTreeSet::new();
        for h in self.hosts.iter().filter(|h| self.eligible.contains(&h.id)) {
            for p in self
                .profiles
                .iter()
                .filter(|p| p.team_id == h.team_id.unwrap_or(0))
            {
                let rows = self.labels_of(p);
                let member = |pl: &PL| {
                    pl.label_id
                        .is_some_and(|l| self.members.contains(&(h.id, l)))
                };
                let mut arms = Vec::new();
                if rows.is_empty() {
                    arms.push(1);
                }
                let incl_all: Vec<&PL> = rows
                    .iter()
                    .filter(|r| !r.exclude && r.require_all)
                    .collect();
                if !incl_all.is_empty() && incl_all.iter().all(|r| member(r)) {
                    arms.push(2);
                }
                let excl: Vec<&PL> = rows
                    .iter()
                    .filter(|r| r.exclude && !r.require_all)
                    .collect();
                let evaluated = |r: &PL| {
                    r.label_id
                        .and_then(|l| self.labels.get(&l))
                        .is_some_and(|l| {
                            l.created_at
                                .as_ref()
                                .is_some_and(|c| l.ty == 1 || h.lua >= *c)
                        })
                };
                if !excl.is_empty()
                    && excl.iter().all(|r| r.label_id.is_some())
                    && excl.iter().all(|r| evaluated(r))
                    && !excl.iter().any(|r| member(r))
                {
                    arms.push(3);
                }
                let incl_any: Vec<&PL> = rows
                    .iter()
                    .filter(|r| !r.exclude && !r.require_all)
                    .collect();
                if incl_any.iter().any(|r| member(r)) {
                    arms.push(4);
                }
                for a in arms {
                    ds.insert((
                        a,
                        p.uuid.clone(),
                        h.uuid.clone(),
                        h.platform.clone(),
                        p.name.clone(),
                    ));
                }
            }
        }
        let mut installs = Vec::new();
        for (_, pu, hu, platform, name) in &ds {
            let p = self
                .profiles
                .iter()
                .find(|p| &p.uuid == pu)
                .expect("profile");
            let needs = match self.row(hu, pu) {
                None => true,
                Some(r) => {
                    r.checksum != p.checksum
                        || matches!((&r.secrets, &p.secrets), (Some(a), Some(b)) if a < b)
                        || r.op.is_none()
                        || r.op.as_deref() == Some("remove")
                        || (r.op.as_deref() == Some("install") && r.status.is_none())
                }
            };
            if needs && !Self::macos_only(platform, name) {
                installs.push(Delta::new(hu, pu, Op::Install));
            }
        }
        let pairs: HashSet<(&str, &str)> =
            ds.iter().map(|d| (d.2.as_str(), d.1.as_str())).collect();
        let mut removes = Vec::new();
        for r in &self.rows {
            if pairs.contains(&(r.host_uuid.as_str(), r.profile_uuid.as_str())) {
                continue;
            }
            let op_ok = r.op.is_none() || r.op.as_deref() != Some("remove") || r.status.is_none();
            let broken = self
                .plabels
                .get(&r.profile_uuid)
                .is_some_and(|v| v.iter().any(|pl| pl.label_id.is_none()));
            if op_ok && !broken {
                removes.push(Delta::new(&r.host_uuid, &r.profile_uuid, Op::Remove));
            }
        }
        (installs, removes)
    }

    /// Spec §4.2: desired(p, h) under the rules.
    fn desired(&self, p: &P, h: &H, rules: &Rules) -> bool {
        if p.team_id != h.team_id.unwrap_or(0) {
            return false;
        }
        let rows = self.labels_of(p);
        let member = |l: i64| self.members.contains(&(h.id, l));
        let includes: Vec<&PL> = rows.iter().filter(|r| !r.exclude).collect();
        let n_all = includes.iter().filter(|r| r.require_all).count();
        let all_gate =
            |refs: &[&PL]| !refs.is_empty() && refs.iter().all(|r| r.label_id.is_some_and(member));
        let any_gate = |refs: &[&PL]| refs.iter().any(|r| r.label_id.is_some_and(member));
        // None => no include gate.
        let include: Option<bool> = if includes.is_empty() {
            None
        } else if n_all == includes.len() {
            Some(all_gate(&includes))
        } else if n_all == 0 {
            Some(any_gate(&includes))
        } else if rules.d2_or {
            let a: Vec<&PL> = includes.iter().copied().filter(|r| r.require_all).collect();
            let b: Vec<&PL> = includes
                .iter()
                .copied()
                .filter(|r| !r.require_all)
                .collect();
            Some(all_gate(&a) || any_gate(&b))
        } else {
            None
        };
        let excludes: Vec<&PL> = rows
            .iter()
            .filter(|r| r.exclude && !(rules.d3_ignore && r.require_all))
            .collect();
        if rules.d3_ignore && !rows.is_empty() && rows.iter().all(|r| r.exclude && r.require_all) {
            return false;
        }
        let exclude: Option<bool> = if excludes.is_empty() {
            None
        } else {
            let ok = excludes.iter().all(|r| match r.label_id {
                None => false,
                Some(l) => {
                    let lbl = self.labels.get(&l);
                    // Spec §4.2 timing: every label but manual ones (B6); only dynamic ones
                    // when B6 is fixed (spec §8, `latest`).
                    let checked = if rules.b6_fixed {
                        lbl.is_some_and(|x| x.ty == 0)
                    } else {
                        lbl.is_none_or(|x| x.ty != 1)
                    };
                    let created = lbl.and_then(|x| x.created_at.clone());
                    let not_evaluated = checked && created.is_some_and(|c| h.lua < c);
                    !not_evaluated && !member(l)
                }
            });
            Some(ok)
        };
        match (include, exclude) {
            (None, None) => true,
            (Some(i), None) => i,
            (None, Some(e)) => e,
            (Some(i), Some(e)) => {
                if rules.d1_or {
                    i || e
                } else {
                    i && e
                }
            }
        }
    }

    fn broken_kept(&self, p: &P, rules: &Rules) -> bool {
        let rows = self.labels_of(p);
        let includes: Vec<&PL> = rows.iter().filter(|r| !r.exclude).collect();
        let n_all = includes.iter().filter(|r| r.require_all).count();
        let mixed = n_all > 0 && n_all < includes.len();
        let kept_includes = !mixed || rules.d2_or;
        rows.iter()
            .any(|r| r.label_id.is_none() && (r.exclude || kept_includes))
    }

    /// Spec §4: one full batched pass with batch size `b`, all deltas of all ticks.
    pub fn batched(&self, rules: &Rules, b: usize) -> Vec<Delta> {
        let mut listed: Vec<&H> = self
            .hosts
            .iter()
            .filter(|h| self.eligible.contains(&h.id))
            .filter(|h| !rules.d7_require_enrolled || self.enrolled.contains(&h.id))
            .collect();
        listed.sort_by(|a, b| (&a.uuid, a.id).cmp(&(&b.uuid, b.id)));
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let window: Vec<&H> = listed
                .iter()
                .copied()
                .filter(|h| h.uuid > cursor)
                .take(b)
                .collect();
            let next = if window.len() == b {
                window.last().map(|h| h.uuid.clone()).unwrap_or_default()
            } else {
                String::new()
            };
            for h in &window {
                for p in &self.profiles {
                    if !self.desired(p, h, rules) || Self::macos_only(&h.platform, &p.name) {
                        continue;
                    }
                    let needs = match self.row(&h.uuid, &p.uuid) {
                        None => true,
                        Some(r) => {
                            r.checksum != p.checksum
                                || r.op.is_none()
                                || r.op.as_deref() == Some("remove")
                                || (r.op.as_deref() == Some("install") && r.status.is_none())
                                || match (&p.secrets, &r.secrets) {
                                    (Some(_), None) => !rules.d4_skip,
                                    (Some(ps), Some(rs)) => rs < ps,
                                    _ => false,
                                }
                        }
                    };
                    if needs {
                        out.push(Delta::new(&h.uuid, &p.uuid, Op::Install));
                    }
                }
                for r in self.rows.iter().filter(|r| r.host_uuid == h.uuid) {
                    let in_flight = r.op.as_deref() == Some("remove") && r.status.is_some();
                    let keep = match self.profiles.iter().find(|p| p.uuid == r.profile_uuid) {
                        None => false,
                        Some(p) => self.desired(p, h, rules) || self.broken_kept(p, rules),
                    };
                    if !in_flight && !keep {
                        out.push(Delta::new(&h.uuid, &r.profile_uuid, Op::Remove));
                    }
                }
            }
            if next.is_empty() {
                if rules.d5_remove {
                    let listed_uuids: HashSet<&str> =
                        listed.iter().map(|h| h.uuid.as_str()).collect();
                    for r in self
                        .rows
                        .iter()
                        .filter(|r| !listed_uuids.contains(r.host_uuid.as_str()))
                    {
                        let in_flight = r.op.as_deref() == Some("remove") && r.status.is_some();
                        let broken = self
                            .profiles
                            .iter()
                            .find(|p| p.uuid == r.profile_uuid)
                            .is_some_and(|p| self.broken_kept(p, rules));
                        if !in_flight && !broken {
                            out.push(Delta::new(&r.host_uuid, &r.profile_uuid, Op::Remove));
                        }
                    }
                }
                return out;
            }
            cursor = next;
        }
    }
}
