//! Churn: the seeded events applied to every path alike (label flips and reports, profile
//! edits, team transfers, new labels, enrollment toggles, duplicate hosts, deletions), the
//! hosts and profiles they touch, and their application to a path's database; a round of
//! churn (`churn_step`) with the desired state of what it touched before and after.

use super::*;

/// One churn event; the same list is applied to every path. Events name rows of the base
/// fleet; one whose row is gone by then (a deleted label or profile) does nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Toggle a label membership.
    Flip { host: i64, label: i64 },
    /// The host reports labels: `label_updated_at` := now.
    Report { host: i64 },
    /// New checksum (content edit).
    Edit { profile: String },
    /// Move a host to a team (None = no team).
    Transfer { host: i64, team: Option<i64> },
    /// A dynamic label created now, with members, attached to a profile as an exclude label.
    NewLabel {
        name: String,
        profile: String,
        members: Vec<i64>,
    },
    /// Delete a label: its profile rows go broken (`label_id` NULL, spec §1).
    DeleteLabel { label: i64 },
    /// A new label-less profile in a team (0 = no team).
    AddProfile { uuid: String, team: i64 },
    /// Delete a profile and its label rows.
    DeleteProfile { profile: String },
    /// `secrets_updated_at` := now.
    Secrets { profile: String },
    /// Toggle the host's MDM enrollments (`enabled` 1 ↔ 0).
    ToggleEnrollment { host: i64 },
    /// A new host row with an existing host's uuid (spec §6 D6).
    Duplicate { host: i64 },
    /// Up to `limit` host rows (None: all) of team `from` move to team `to` (None = no team),
    /// lowest id first (a scripted mass transfer).
    MoveTeam {
        from: Option<i64>,
        to: Option<i64>,
        limit: Option<u32>,
    },
}

/// What churn can pick from: read once from the base fleet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Universe {
    pub host_ids: Vec<i64>,
    pub label_ids: Vec<i64>,
    pub profiles: Vec<String>,
    pub teams: Vec<i64>,
    pub eligible: u64,
}

impl Universe {
    pub fn load(conn: &Connection) -> rusqlite::Result<Universe> {
        let ids = |sql: &str| -> rusqlite::Result<Vec<i64>> {
            conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
        };
        Ok(Universe {
            host_ids: ids("SELECT id FROM hosts ORDER BY id")?,
            label_ids: ids("SELECT id FROM labels ORDER BY id")?,
            profiles: conn
                .prepare("SELECT profile_uuid FROM mdm_apple_configuration_profiles ORDER BY 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            teams: ids("SELECT id FROM teams ORDER BY id")?,
            eligible: eligible_hosts(conn)?,
        })
    }
}

/// Eligible host rows (spec §2).
pub fn eligible_hosts(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        &format!("SELECT count(*) FROM hosts h WHERE {ELIGIBLE_HOST}"),
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// How many events of a rate fall in one interval: the whole part, plus one more with the
/// probability of the fraction (so the long-run mean is exact).
pub(super) fn count(rng: &mut ChaCha8Rng, per_min: f64, interval_s: u32) -> usize {
    let x = per_min * interval_s as f64 / 60.0;
    x.floor() as usize + usize::from(rng.random_bool(x.fract()))
}

/// The churn events after tick `tick`, from the seed alone: the random churn (none once
/// `churn_ticks` is over) and the scenario's scripted events of that tick.
pub fn events(s: &Scenario, u: &Universe, tick: u32) -> Vec<Event> {
    let mut out = random_events(s, u, tick);
    out.extend(scripted_events(s, u, tick));
    out
}

/// The scenario's `[[loadtest.events]]` of tick `tick`, from the seed alone.
pub fn scripted_events(s: &Scenario, u: &Universe, tick: u32) -> Vec<Event> {
    use crate::fleet::scenario::ScriptedKind;
    let mut out = Vec::new();
    let team = |t: u32| (t > 0).then_some(t as i64);
    for (i, e) in s.loadtest.events.iter().enumerate() {
        if e.at_tick != tick {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(s.run.seed);
        rng.set_stream(3_000_000_000 + i as u64);
        match e.kind {
            ScriptedKind::AddProfiles => {
                let teams: Vec<i64> = match e.team {
                    Some(t) => vec![t as i64],
                    None => std::iter::once(0).chain(u.teams.iter().copied()).collect(),
                };
                for t in teams {
                    for _ in 0..e.count.unwrap_or(0) {
                        let bytes: [u8; 16] = rng.random();
                        let id = uuid::Builder::from_random_bytes(bytes)
                            .into_uuid()
                            .simple()
                            .to_string();
                        out.push(Event::AddProfile {
                            uuid: format!("a{}", &id[1..]),
                            team: t,
                        });
                    }
                }
            }
            ScriptedKind::ExcludeLabel if !u.profiles.is_empty() => {
                let share = e.share.unwrap_or(0.0);
                let mut members: Vec<i64> = u
                    .host_ids
                    .iter()
                    .copied()
                    .filter(|_| rng.random_bool(share))
                    .collect();
                members.sort_unstable();
                out.push(Event::NewLabel {
                    name: format!("reconsim scripted label {i}"),
                    profile: u.profiles[rng.random_range(0..u.profiles.len())].clone(),
                    members,
                });
            }
            ScriptedKind::ExcludeLabel => {}
            ScriptedKind::MoveTeam => out.push(Event::MoveTeam {
                from: team(e.from_team.unwrap_or(0)),
                to: team(e.to_team.unwrap_or(0)),
                limit: e.hosts,
            }),
        }
    }
    out
}

/// The random churn events after tick `tick`, from the seed alone (none once `churn_ticks` is
/// over).
fn random_events(s: &Scenario, u: &Universe, tick: u32) -> Vec<Event> {
    let lt = &s.loadtest;
    let mut out = Vec::new();
    if u.host_ids.is_empty() || lt.churn_ticks.is_some_and(|n| tick >= n) {
        return out;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(s.run.seed);
    rng.set_stream(1000 + tick as u64);
    let pick = |rng: &mut ChaCha8Rng, v: &[i64]| v[rng.random_range(0..v.len())];
    let pick_s = |rng: &mut ChaCha8Rng, v: &[String]| v[rng.random_range(0..v.len())].clone();
    let n = |rng: &mut ChaCha8Rng, rate: f64| count(rng, rate, lt.interval_s);
    if !u.label_ids.is_empty() {
        for _ in 0..n(&mut rng, lt.membership_flips_per_min) {
            out.push(Event::Flip {
                host: pick(&mut rng, &u.host_ids),
                label: pick(&mut rng, &u.label_ids),
            });
        }
    }
    for _ in 0..n(&mut rng, lt.label_reports_per_min) {
        out.push(Event::Report {
            host: pick(&mut rng, &u.host_ids),
        });
    }
    if !u.profiles.is_empty() {
        for _ in 0..n(&mut rng, lt.profile_edits_per_min) {
            out.push(Event::Edit {
                profile: pick_s(&mut rng, &u.profiles),
            });
        }
    }
    for _ in 0..n(&mut rng, lt.team_transfers_per_min) {
        let host = pick(&mut rng, &u.host_ids);
        let team = if u.teams.is_empty() || rng.random_bool(0.2) {
            None
        } else {
            Some(pick(&mut rng, &u.teams))
        };
        out.push(Event::Transfer { host, team });
    }
    if !u.profiles.is_empty() {
        for k in 0..n(&mut rng, lt.new_labels_per_min) {
            let members = (0..(u.host_ids.len() / 50).clamp(1, 200))
                .map(|_| pick(&mut rng, &u.host_ids))
                .collect();
            out.push(Event::NewLabel {
                name: format!("reconsim churn label {tick}.{k}"),
                profile: pick_s(&mut rng, &u.profiles),
                members,
            });
        }
    }
    if !u.label_ids.is_empty() {
        for _ in 0..n(&mut rng, lt.label_deletions_per_min) {
            out.push(Event::DeleteLabel {
                label: pick(&mut rng, &u.label_ids),
            });
        }
    }
    for _ in 0..n(&mut rng, lt.profile_adds_per_min) {
        let bytes: [u8; 16] = rng.random();
        let id = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .simple()
            .to_string();
        let team = if u.teams.is_empty() || rng.random_bool(0.3) {
            0
        } else {
            pick(&mut rng, &u.teams)
        };
        out.push(Event::AddProfile {
            uuid: format!("a{}", &id[1..]),
            team,
        });
    }
    if !u.profiles.is_empty() {
        for _ in 0..n(&mut rng, lt.profile_deletions_per_min) {
            out.push(Event::DeleteProfile {
                profile: pick_s(&mut rng, &u.profiles),
            });
        }
        for _ in 0..n(&mut rng, lt.secrets_updates_per_min) {
            out.push(Event::Secrets {
                profile: pick_s(&mut rng, &u.profiles),
            });
        }
    }
    for _ in 0..n(&mut rng, lt.enrollment_toggles_per_min) {
        out.push(Event::ToggleEnrollment {
            host: pick(&mut rng, &u.host_ids),
        });
    }
    for _ in 0..n(&mut rng, lt.duplicate_hosts_per_min) {
        out.push(Event::Duplicate {
            host: pick(&mut rng, &u.host_ids),
        });
    }
    out
}

/// The host uuids `events` (already applied) enrolled: an enrollment toggled on, a new host
/// row. Sorted, each once (what the per-host enrollment path handles).
pub fn enrolled_by(conn: &Connection, events: &[Event]) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in events {
        let (host, need_enabled) = match e {
            Event::ToggleEnrollment { host } => (*host, true),
            Event::Duplicate { host } => (*host, false),
            _ => continue,
        };
        let uuid: Option<String> = conn
            .prepare_cached(
                "SELECT h.uuid FROM hosts h WHERE h.id = ?1 AND (?2 = 0 OR EXISTS (
                   SELECT 1 FROM nano_enrollments e WHERE e.device_id = h.uuid AND e.enabled = 1))",
            )?
            .query_row(params![host, need_enabled], |r| r.get(0))
            .optional()?;
        out.extend(uuid.filter(|u| !u.is_empty()));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The kind of an event, for counts.
pub fn event_kind(e: &Event) -> EventKind {
    match e {
        Event::Flip { .. } => EventKind::MembershipFlip,
        Event::Report { .. } => EventKind::LabelReport,
        Event::Edit { .. } => EventKind::ProfileEdit,
        Event::Transfer { .. } => EventKind::TeamTransfer,
        Event::NewLabel { .. } => EventKind::NewLabel,
        Event::DeleteLabel { .. } => EventKind::LabelDeletion,
        Event::AddProfile { .. } => EventKind::ProfileAdd,
        Event::DeleteProfile { .. } => EventKind::ProfileDeletion,
        Event::Secrets { .. } => EventKind::SecretsUpdate,
        Event::ToggleEnrollment { .. } => EventKind::EnrollmentToggle,
        Event::Duplicate { .. } => EventKind::DuplicateHost,
        Event::MoveTeam { .. } => EventKind::TeamMove,
    }
}

/// The (host, profile) pairs `events` can change, read before they are applied.
pub fn scope_of(conn: &Connection, events: &[Event]) -> rusqlite::Result<Scope> {
    let mut scope = Scope::default();
    let host = |id: i64, scope: &mut Scope| -> rusqlite::Result<()> {
        let uuid: Option<String> = conn
            .prepare_cached("SELECT uuid FROM hosts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        scope.hosts.extend(uuid);
        Ok(())
    };
    for e in events {
        match e {
            Event::Flip { host: h, .. }
            | Event::Report { host: h }
            | Event::Transfer { host: h, .. }
            | Event::ToggleEnrollment { host: h }
            | Event::Duplicate { host: h } => host(*h, &mut scope)?,
            Event::NewLabel { profile, .. }
            | Event::Edit { profile }
            | Event::DeleteProfile { profile }
            | Event::Secrets { profile } => {
                scope.profiles.insert(profile.clone());
            }
            Event::AddProfile { uuid, .. } => {
                scope.profiles.insert(uuid.clone());
            }
            Event::MoveTeam { from, limit, .. } => {
                let mut stmt = conn.prepare_cached(
                    "SELECT uuid FROM hosts WHERE team_id IS ?1 ORDER BY id LIMIT ?2",
                )?;
                let limit = limit.map_or(-1, i64::from);
                for u in stmt.query_map(params![from, limit], |r| r.get::<_, String>(0))? {
                    scope.hosts.insert(u?);
                }
            }
            Event::DeleteLabel { label } => {
                let mut stmt = conn.prepare_cached(
                    "SELECT apple_profile_uuid FROM mdm_configuration_profile_labels
                     WHERE label_id = ?1 AND apple_profile_uuid IS NOT NULL",
                )?;
                for p in stmt.query_map([label], |r| r.get::<_, String>(0))? {
                    scope.profiles.insert(p?);
                }
            }
        }
    }
    Ok(scope)
}

/// A profile's payload as a convergence target carries it: checksum, secrets time.
pub type Payload = (Vec<u8>, Option<String>);

/// The profiles of `scope` whose only events this round are edits and secrets updates (their
/// payload changes, not which hosts want them), each with its checksum and secrets now, before
/// the events: the profiles `churn_step` evaluates once. Left out: a profile another event
/// touches, one not in the database, and one whose team another scoped profile shares (that
/// team's hosts are read before and after anyway).
pub fn payload_only(
    conn: &Connection,
    events: &[Event],
    scope: &Scope,
) -> Result<FxHashMap<String, Payload>> {
    let mut payload: BTreeSet<&str> = BTreeSet::new();
    let mut other: BTreeSet<&str> = BTreeSet::new();
    let mut deleted_labels: BTreeSet<i64> = BTreeSet::new();
    for e in events {
        match e {
            Event::Edit { profile } | Event::Secrets { profile } => {
                payload.insert(profile);
            }
            Event::NewLabel { profile, .. } | Event::DeleteProfile { profile } => {
                other.insert(profile);
            }
            Event::AddProfile { uuid, .. } => {
                other.insert(uuid);
            }
            Event::DeleteLabel { label } => {
                deleted_labels.insert(*label);
            }
            _ => {}
        }
    }
    payload.retain(|p| !other.contains(p));
    if payload.is_empty() {
        return Ok(FxHashMap::default());
    }
    let mut profiles = batched::load_profiles(conn)?;
    // A label deletion breaks the profiles that reference the label: not payload alone.
    let breaks = |p: &Profile| {
        p.refs
            .iter()
            .any(|r| r.label_id.is_some_and(|l| deleted_labels.contains(&l)))
    };
    payload.retain(|u| !profiles.iter().any(|p| p.uuid == *u && breaks(p)));
    profiles.retain(|p| scope.profiles.contains(&p.uuid));
    // Teams of the scoped profiles evaluated twice all the same.
    let read_anyway: BTreeSet<i64> = profiles
        .iter()
        .filter(|p| !payload.contains(p.uuid.as_str()))
        .map(|p| p.team_id)
        .collect();
    Ok(profiles
        .into_iter()
        .filter(|p| payload.contains(p.uuid.as_str()) && !read_anyway.contains(&p.team_id))
        .map(|p| (p.uuid, (p.checksum, p.secrets_updated_at)))
        .collect())
}

/// Applies churn events in one write scope (`txn`) at virtual time `now_s` (seconds since the epoch).
pub fn apply_events(
    conn: &mut Connection,
    events: &[Event],
    now_s: i64,
    tick: u32,
) -> rusqlite::Result<()> {
    let now = timefmt::timestamp(now_s);
    // In the loadtest, the step's transaction itself (a failed round stops the run, whose open
    // step is rolled back): churn commits with the record of the tick that applied it, so a
    // resumed run never applies it twice.
    let tx = crate::store::txn::join_scope(conn)?;
    for e in events {
        match e {
            Event::Flip { host, label } => {
                let gone = tx.execute(
                    "DELETE FROM label_membership WHERE host_id = ?1 AND label_id = ?2",
                    params![host, label],
                )?;
                if gone == 0 {
                    tx.execute(
                        "INSERT INTO label_membership (host_id, label_id)
                         SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM labels WHERE id = ?2)",
                        params![host, label],
                    )?;
                }
            }
            Event::Report { host } => {
                tx.execute(
                    "UPDATE hosts SET label_updated_at = ?2 WHERE id = ?1",
                    params![host, now],
                )?;
            }
            Event::Edit { profile } => {
                let sum: [u8; 16] = Md5::digest(format!("{profile}:{tick}").as_bytes()).into();
                tx.execute(
                    "UPDATE mdm_apple_configuration_profiles SET checksum = ?2 WHERE profile_uuid = ?1",
                    params![profile, &sum[..]],
                )?;
            }
            Event::Transfer { host, team } => {
                tx.execute(
                    "UPDATE hosts SET team_id = ?2 WHERE id = ?1",
                    params![host, team],
                )?;
            }
            Event::MoveTeam { from, to, limit } => {
                tx.execute(
                    "UPDATE hosts SET team_id = ?2 WHERE id IN
                       (SELECT id FROM hosts WHERE team_id IS ?1 ORDER BY id LIMIT ?3)",
                    params![from, to, limit.map_or(-1, i64::from)],
                )?;
            }
            Event::NewLabel {
                name,
                profile,
                members,
            } => {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM mdm_apple_configuration_profiles
                                    WHERE profile_uuid = ?1)",
                    [profile],
                    |r| r.get(0),
                )?;
                if !exists {
                    continue;
                }
                tx.execute(
                    "INSERT INTO labels (name, label_membership_type, created_at) VALUES (?1, 0, ?2)",
                    params![name, now],
                )?;
                let id = tx.last_insert_rowid();
                for h in members {
                    tx.execute(
                        "INSERT OR IGNORE INTO label_membership (host_id, label_id) VALUES (?1, ?2)",
                        params![h, id],
                    )?;
                }
                tx.execute(
                    "INSERT INTO mdm_configuration_profile_labels
                       (apple_profile_uuid, label_name, label_id, exclude, require_all)
                     VALUES (?1, ?2, ?3, 1, 0)",
                    params![profile, name, id],
                )?;
            }
            Event::DeleteLabel { label } => {
                // Fleet's ON DELETE SET NULL (spec §1), spelled out: the connection does not
                // enforce foreign keys.
                tx.execute(
                    "UPDATE mdm_configuration_profile_labels SET label_id = NULL WHERE label_id = ?1",
                    [label],
                )?;
                tx.execute("DELETE FROM label_membership WHERE label_id = ?1", [label])?;
                tx.execute("DELETE FROM labels WHERE id = ?1", [label])?;
            }
            Event::AddProfile { uuid, team } => {
                let sum: [u8; 16] = Md5::digest(uuid.as_bytes()).into();
                tx.execute(
                    "INSERT OR IGNORE INTO mdm_apple_configuration_profiles
                       (profile_uuid, team_id, identifier, name, checksum, uploaded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        uuid,
                        team,
                        format!("com.reconsim.churn.{uuid}"),
                        format!("Churn profile {uuid}"),
                        &sum[..],
                        now
                    ],
                )?;
            }
            Event::DeleteProfile { profile } => {
                tx.execute(
                    "DELETE FROM mdm_configuration_profile_labels WHERE apple_profile_uuid = ?1",
                    [profile],
                )?;
                tx.execute(
                    "DELETE FROM mdm_apple_configuration_profiles WHERE profile_uuid = ?1",
                    [profile],
                )?;
            }
            Event::Secrets { profile } => {
                tx.execute(
                    "UPDATE mdm_apple_configuration_profiles SET secrets_updated_at = ?2
                     WHERE profile_uuid = ?1",
                    params![profile, timefmt::datetime6(now_s * 1_000_000)],
                )?;
            }
            Event::ToggleEnrollment { host } => {
                tx.execute(
                    "UPDATE nano_enrollments SET enabled = 1 - enabled
                     WHERE device_id = (SELECT uuid FROM hosts WHERE id = ?1)",
                    [host],
                )?;
            }
            Event::Duplicate { host } => {
                tx.execute(
                    "INSERT INTO hosts (uuid, hostname, platform, team_id, label_updated_at)
                     SELECT uuid, hostname, platform, team_id, '2000-01-01 00:00:00'
                     FROM hosts WHERE id = ?1",
                    [host],
                )?;
            }
        }
    }
    tx.commit()
}

crate::support::named::named_enum!(
    "snake_case",
    /// A churn event's kind, as reports and the manifest name it. Declared in name order, so
    /// maps keyed by it list kinds alphabetically.
    pub enum EventKind {
        DuplicateHost,
        EnrollmentToggle,
        LabelDeletion,
        LabelReport,
        MembershipFlip,
        NewLabel,
        ProfileAdd,
        ProfileDeletion,
        ProfileEdit,
        SecretsUpdate,
        TeamMove,
        TeamTransfer,
    }
);

/// One round of churn on `conn`: the events' scope, its desired state before and after.
///
/// A profile that only edits and secrets updates touched this round (`payload_only`)
/// changed its payload, not which hosts want it: unless `reference`, its team's hosts are
/// evaluated once, after the events, and its targets before are the same targets with the
/// profile's previous checksum and secrets. Hosts of the scope are evaluated in full before
/// and after (another event may have changed what they want). The reference form evaluates
/// everything twice, reading the teams' hosts each time; the test suite holds the two to
/// identical results. With `facts` (the run's kept host rows, `convergence::HostFacts`), a
/// profile's team is read from it, and the hosts the events changed are read into it again.
pub(super) fn churn_step(
    conn: &mut Connection,
    evs: &[Event],
    sem: &Semantics,
    at_s: i64,
    tick: u32,
    reference: bool,
    mut facts: Option<&mut convergence::HostFacts>,
) -> Result<(Scope, convergence::Desired, convergence::Desired)> {
    let scope = scope_of(conn, evs)?;
    let light = if reference {
        FxHashMap::default()
    } else {
        payload_only(conn, evs, &scope)?
    };
    if light.is_empty() {
        let before = convergence::evaluate_with(conn, &scope, sem, facts.as_deref_mut())?;
        apply_events(conn, evs, at_s, tick)?;
        if let Some(f) = facts.as_deref_mut() {
            f.refresh(conn, &scope.hosts)?;
        }
        let after = convergence::evaluate_with(conn, &scope, sem, facts)?;
        return Ok((scope, before, after));
    }
    let full = Scope {
        hosts: scope.hosts.clone(),
        profiles: scope
            .profiles
            .iter()
            .filter(|p| !light.contains_key(*p))
            .cloned()
            .collect(),
    };
    let once = Scope {
        hosts: Default::default(),
        profiles: light.keys().cloned().collect(),
    };
    let mut before = convergence::evaluate_with(conn, &full, sem, facts.as_deref_mut())?;
    apply_events(conn, evs, at_s, tick)?;
    if let Some(f) = facts.as_deref_mut() {
        f.refresh(conn, &scope.hosts)?;
    }
    let mut after = convergence::evaluate_with(conn, &full, sem, facts.as_deref_mut())?;
    let now = convergence::evaluate_with(conn, &once, sem, facts)?;
    for ((h, p), target) in now.targets {
        // The scope's hosts are in `full`, before and after.
        if scope.hosts.contains(&h) {
            continue;
        }
        let then = match &target {
            convergence::Target::Install { .. } => {
                let (checksum, secrets) = &light[&p];
                convergence::Target::Install {
                    checksum: checksum.clone(),
                    secrets: secrets.clone(),
                }
            }
            convergence::Target::Keep => convergence::Target::Keep,
        };
        before.targets.insert((h.clone(), p.clone()), then);
        after.targets.insert((h, p), target);
    }
    // Whether a host is listed after the events is one fact, whichever evaluation read it.
    after.unlisted.extend(now.unlisted);
    Ok((scope, before, after))
}

/// Marks the scope's hosts and profiles as touched at `tick`.
pub(super) fn touch(
    scope: &Scope,
    tick: u32,
    hosts: &mut FxHashMap<String, u32>,
    profiles: &mut FxHashMap<String, u32>,
) {
    for h in &scope.hosts {
        hosts.insert(h.clone(), tick);
    }
    for p in &scope.profiles {
        profiles.insert(p.clone(), tick);
    }
}
