//! Building the fleet in memory, section by section, each from its own random stream: labels,
//! hosts, profiles and their label rows, and the current rows.

use super::*;

impl Fleet {
    pub(super) fn build(s: &Scenario) -> Fleet {
        let seed = s.run.seed;
        let now = timefmt::parse_timestamp(&s.run.now).unwrap_or(0);
        let teams: Vec<(i64, String)> = {
            let mut rng = stream(seed, 1);
            let mut seen = HashSet::new();
            (1..=s.hosts.teams as i64)
                .map(|id| {
                    let base: String = CompanyName().fake_with_rng(&mut rng);
                    (id, unique(&mut seen, decorate(&mut rng, base, 0.2), " "))
                })
                .collect()
        };
        let labels = Self::labels(s, now);
        let hosts = Self::hosts(s, now, &labels);
        let profiles = Self::profiles(s, now, &labels);
        Fleet {
            seed,
            batch_size: s.run.batch_size,
            // Validation guarantees the rules parse.
            rules: s.rules.rules().unwrap_or_default(),
            variant: s.run.variant,
            now,
            teams,
            hosts,
            labels,
            profiles,
            current: s.current.clone(),
        }
    }

    pub(super) fn labels(s: &Scenario, now: i64) -> Vec<GLabel> {
        let l = &s.labels;
        let mut rng = stream(s.run.seed, 2);
        let max_age = s.hosts.label_updated_at.max_age_hours as i64 * 3600;
        let mut seen = HashSet::new();
        let kinds = std::iter::repeat_n(0, l.dynamic as usize)
            .chain(std::iter::repeat_n(1, l.manual as usize))
            .chain(std::iter::repeat_n(2, l.host_vitals as usize));
        kinds
            .enumerate()
            .map(|(i, kind)| {
                let base = match kind {
                    0 => format!("{} users", BsNoun().fake_with_rng::<String, _>(&mut rng)),
                    1 => format!("{} team", FirstName().fake_with_rng::<String, _>(&mut rng)),
                    _ => format!(
                        "Disk {} over {} GB",
                        ["space", "usage", "encryption"][rng.random_range(0..3)],
                        rng.random_range(1..1000)
                    ),
                };
                let name = unique(&mut seen, decorate(&mut rng, base, 0.15), " #");
                // Old labels predate every host report; recent ones fall inside the report
                // window, so hosts that reported before them have not evaluated them yet.
                let created_at = if rng.random_bool(l.null_created_at_share) {
                    None
                } else if rng.random_bool(l.recent_share) {
                    Some(now - rng.random_range(0..=max_age / 2))
                } else {
                    Some(now - max_age - 86_400 - rng.random_range(0..365 * 86_400))
                };
                GLabel {
                    id: i as i64 + 1,
                    name,
                    kind,
                    created_at,
                    broken: rng.random_bool(l.broken_share),
                }
            })
            .collect()
    }

    pub(super) fn hosts(s: &Scenario, now: i64, labels: &[GLabel]) -> Vec<GHost> {
        let h = &s.hosts;
        let mut rng = stream(s.run.seed, 3);
        let p = &h.platforms;
        let platform_dist = weighted(&[p.darwin, p.ios, p.ipados, p.other]);
        let e = &h.enrollment;
        let enroll_dist = weighted(&[
            e.device,
            e.user_enrollment_device,
            e.user_only,
            e.disabled,
            e.no_nano_device,
        ]);
        let max_age = h.label_updated_at.max_age_hours as i64 * 3600;
        let reported_at = |rng: &mut ChaCha8Rng| {
            if rng.random_bool(h.label_updated_at.sentinel_share) {
                timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0)
            } else {
                now - rng.random_range(0..=max_age)
            }
        };
        let make = |rng: &mut ChaCha8Rng, id: i64, uuid: String| {
            let pi = platform_dist.sample(rng);
            let platform = if pi < 3 {
                APPLE_PLATFORMS[pi]
            } else {
                OTHER_PLATFORMS[rng.random_range(0..OTHER_PLATFORMS.len())]
            };
            let kind = if pi < 3 {
                [
                    EnrollKind::Device,
                    EnrollKind::UserEnrollmentDevice,
                    EnrollKind::UserOnly,
                    EnrollKind::Disabled,
                    EnrollKind::NoNanoDevice,
                ][enroll_dist.sample(rng)]
            } else {
                EnrollKind::NotApple
            };
            let team_id = if h.teams == 0 || rng.random_bool(h.no_team_share) {
                None
            } else {
                Some(rng.random_range(1..=h.teams as i64))
            };
            let model = DEVICE_MODELS
                .iter()
                .find(|(p, _)| *p == platform)
                .map_or("PC", |(_, m)| m);
            let first: String = FirstName().fake_with_rng(rng);
            let hostname = decorate(rng, format!("{first}'s {model}"), 0.05);
            GHost {
                id,
                uuid,
                hostname,
                platform,
                team_id,
                label_updated_at: reported_at(rng),
                kind,
                mdm_enrolled: !rng.random_bool(h.mdm_unenrolled_share),
                labels: Vec::new(),
            }
        };
        let mut hosts: Vec<GHost> = (1..=h.count as i64)
            .map(|id| {
                let uuid = upper_uuid(&mut rng);
                make(&mut rng, id, uuid)
            })
            .collect();
        // Duplicate rows: a host re-enrolled under a new id keeps its uuid (spec §6 D6).
        let mut next_id = h.count as i64 + 1;
        for i in 0..h.count as usize {
            if rng.random_bool(h.duplicate_uuid_rate) {
                let orig = &hosts[i];
                let dup = GHost {
                    id: next_id,
                    uuid: orig.uuid.clone(),
                    hostname: orig.hostname.clone(),
                    platform: orig.platform,
                    team_id: orig.team_id,
                    label_updated_at: reported_at(&mut rng),
                    kind: orig.kind,
                    mdm_enrolled: orig.mdm_enrolled,
                    labels: Vec::new(),
                };
                hosts.push(dup);
                next_id += 1;
            }
        }
        for _ in 0..h.empty_uuid_count {
            let mut host = make(&mut rng, next_id, String::new());
            host.platform = "darwin";
            host.kind = EnrollKind::Device;
            hosts.push(host);
            next_id += 1;
        }

        // Ties: a share of reporting hosts (default one in 50) reported at the very second a
        // recent label was created.
        // Equal times pass the timing rule (spec §3, §4.2); the boundary is where a `<` written
        // as `<=` hides, so the fleets must contain it.
        let recent: Vec<i64> = labels
            .iter()
            .filter(|l| !l.broken && l.kind != 1)
            .filter_map(|l| l.created_at)
            .filter(|&c| c > now - h.label_updated_at.max_age_hours as i64 * 3600)
            .collect();
        let mut trng = stream(s.run.seed, 8);
        let never = timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0);
        for host in hosts.iter_mut().filter(|h| h.label_updated_at != never) {
            if !recent.is_empty() && trng.random_bool(h.label_updated_at.tie_share) {
                host.label_updated_at = recent[trng.random_range(0..recent.len())];
            }
        }

        // Memberships: a host that never reported has none; a host is a member only of labels
        // it has evaluated (reported after their creation), except manual labels, which are
        // assigned. Labels are drawn by Zipf popularity without replacement
        // (Efraimidis–Spirakis keys), the popularity order being a seeded shuffle of the ids.
        let mut mrng = stream(s.run.seed, 4);
        let mut rank: Vec<usize> = (0..labels.len()).collect();
        for i in (1..rank.len()).rev() {
            rank.swap(i, mrng.random_range(0..=i));
        }
        let weights: Vec<f64> = (0..labels.len())
            .map(|i| 1.0 / ((rank[i] + 1) as f64).powf(s.labels.skew))
            .collect();
        let avg = s.labels.avg_per_host;
        let sentinel = timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0);
        let mut keys: Vec<(f64, usize)> = Vec::with_capacity(labels.len());
        for host in hosts.iter_mut() {
            if host.label_updated_at == sentinel || labels.is_empty() {
                continue;
            }
            let k = (mrng.random_range(0.0..=2.0 * avg).round() as usize).min(labels.len());
            if k == 0 {
                continue;
            }
            keys.clear();
            for (i, w) in weights.iter().enumerate() {
                // ln(u) / w orders like u^(1/w) without underflow at large skews.
                let u: f64 = mrng.random_range(f64::MIN_POSITIVE..1.0);
                keys.push((u.ln() / w, i));
            }
            keys.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
            let mut chosen: Vec<i64> = keys[..k]
                .iter()
                .map(|&(_, i)| &labels[i])
                .filter(|l| {
                    !l.broken
                        && (l.kind == 1 || l.created_at.is_none_or(|c| host.label_updated_at >= c))
                })
                .map(|l| l.id)
                .collect();
            chosen.sort_unstable();
            host.labels = chosen;
        }
        hosts
    }

    pub(super) fn profiles(s: &Scenario, now: i64, labels: &[GLabel]) -> Vec<GProfile> {
        let pr = &s.profiles;
        let mode_dist = weighted(&pr.label_modes.named().map(|(_, w)| w));
        let mut rng = stream(s.run.seed, 5);
        let mut out = Vec::new();
        for team in 0..=s.hosts.teams as i64 {
            let builtins = rng.random_bool(pr.fleet_builtin_share);
            let mut names = HashSet::new();
            let mut idents = HashSet::new();
            for slot in 0..pr.per_team as usize {
                let uuid = format!("a{}", lower_uuid(&mut rng));
                let builtin_slot = FLEET_BUILTINS.get(slot).filter(|_| builtins);
                let builtin = builtin_slot.is_some();
                let (name, identifier) = if let Some(&(n, i)) = builtin_slot {
                    names.insert(n.to_string());
                    idents.insert(i.to_string());
                    (n.to_string(), i.to_string())
                } else {
                    let kind = PROFILE_KINDS[rng.random_range(0..PROFILE_KINDS.len())];
                    let company: String = CompanyName().fake_with_rng(&mut rng);
                    let name = decorate(&mut rng, format!("{kind} – {company}"), 0.1);
                    let domain: String = company
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric())
                        .collect::<String>()
                        .to_lowercase();
                    let ident = format!(
                        "com.{}.{}",
                        if domain.is_empty() {
                            "example"
                        } else {
                            &domain
                        },
                        kind.to_lowercase().replace([' ', '-'], "")
                    );
                    (
                        unique(&mut names, name, " "),
                        unique(&mut idents, ident, "."),
                    )
                };
                let mode = if builtin {
                    Mode::None
                } else {
                    MODES[mode_dist.sample(&mut rng)]
                };
                let refs = Self::refs(&mut rng, mode, pr.labels_min, pr.labels_max, labels);
                let content = format!(
                    "<?xml version=\"1.0\"?><plist><dict><key>PayloadIdentifier</key>\
                     <string>{identifier}</string><key>PayloadDisplayName</key>\
                     <string>{name}</string><key>PayloadUUID</key><string>{uuid}</string>\
                     </dict></plist>"
                );
                let checksum: [u8; 16] = Md5::digest(content.as_bytes()).into();
                let secrets_updated_at = rng
                    .random_bool(pr.secrets_share)
                    .then(|| (now - rng.random_range(3600..30 * 86_400)) * 1_000_000);
                let scope = if rng.random_bool(pr.user_scope_share) {
                    "User"
                } else {
                    "System"
                };
                out.push(GProfile {
                    uuid,
                    team_id: team,
                    identifier,
                    name,
                    checksum,
                    secrets_updated_at,
                    scope,
                    uploaded_at: now - rng.random_range(86_400..400 * 86_400),
                    refs,
                    builtin,
                });
            }
        }
        out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        out
    }

    /// Label rows for one profile of the given mode: (label index, exclude, require_all).
    pub(super) fn refs(
        rng: &mut ChaCha8Rng,
        mode: Mode,
        min: u32,
        max: u32,
        labels: &[GLabel],
    ) -> Vec<Ref> {
        let n_inc = rng.random_range(min..=max);
        let n_exc = rng.random_range(min..=max);
        let mut pick = |n: u32, used: &mut Vec<usize>| -> Vec<usize> {
            let mut got = Vec::new();
            while (got.len() as u32) < n && used.len() < labels.len() {
                let i = rng.random_range(0..labels.len());
                if !used.contains(&i) {
                    used.push(i);
                    got.push(i);
                }
            }
            got
        };
        let mut used = Vec::new();
        let with = |ids: Vec<usize>, exclude: bool, require_all: bool| -> Vec<Ref> {
            ids.into_iter().map(|i| (i, exclude, require_all)).collect()
        };
        match mode {
            Mode::None => Vec::new(),
            Mode::IncludeAll => with(pick(n_inc, &mut used), false, true),
            Mode::IncludeAny => with(pick(n_inc, &mut used), false, false),
            Mode::ExcludeAny => with(pick(n_exc, &mut used), true, false),
            Mode::IncludeAllExclude => {
                let mut r = with(pick(n_inc, &mut used), false, true);
                r.extend(with(pick(n_exc, &mut used), true, false));
                r
            }
            Mode::IncludeAnyExclude => {
                let mut r = with(pick(n_inc, &mut used), false, false);
                r.extend(with(pick(n_exc, &mut used), true, false));
                r
            }
            Mode::MixedInclude => {
                // At least one row of each require_all value, so the rows really disagree.
                let ids = pick(n_inc.max(2), &mut used);
                ids.into_iter()
                    .enumerate()
                    .map(|(k, i)| (i, false, k % 2 == 0))
                    .collect()
            }
            Mode::ExcludeRequireAll => with(pick(n_exc, &mut used), true, true),
        }
    }

    /// The current rows, produced host by host in (host_uuid, profile_uuid) order and handed to
    /// `emit` one at a time with the rowid they get: nothing of the table is held in memory.
    /// The rows of deleted hosts (uuids with no hosts row) are drawn last, as they always were,
    /// so their rowids are reserved where their uuids fall in key order and they are emitted at
    /// the end; rowids and contents are then exactly those of sorting every row by key.
    pub(super) fn current<E>(
        &self,
        mut emit: impl FnMut(i64, CurrentRow) -> Result<(), E>,
        mut host_done: impl FnMut(),
    ) -> Result<u64, E> {
        let c = &self.current;
        let (hosts, labels, profiles) = (&self.hosts, &self.labels, &self.profiles);
        let mut rng = stream(self.seed, 6);
        let cells = c.status_op.cells();
        let cell_dist = weighted(&cells.map(|(_, w)| w));
        // Profiles per team id, already in profile_uuid order.
        let teams = self.teams.len();
        let mut by_team: Vec<Vec<usize>> = vec![Vec::new(); teams + 1];
        for (i, p) in profiles.iter().enumerate() {
            by_team[p.team_id as usize].push(i);
        }
        // Deleted profiles: two uuids per team that are not in the catalog.
        let deleted: Vec<Vec<String>> = (0..=teams)
            .map(|_| {
                (0..2)
                    .map(|_| format!("a{}", lower_uuid(&mut rng)))
                    .collect()
            })
            .collect();

        // One representative host row per uuid (the lowest id), in uuid order.
        let mut reps: Vec<&GHost> = hosts.iter().collect();
        reps.sort_by(|a, b| a.uuid.cmp(&b.uuid).then(a.id.cmp(&b.id)));
        reps.dedup_by(|b, a| a.uuid == b.uuid);

        let make_row = |rng: &mut ChaCha8Rng, host_uuid: &str, pi: Option<usize>, pu: &str| {
            let ((operation, status), _) = cells[cell_dist.sample(rng)];
            let (checksum, secrets) = match pi {
                Some(pi) => {
                    let p = &profiles[pi];
                    let checksum = if rng.random_bool(c.stale_checksum_share) {
                        rng.random()
                    } else {
                        p.checksum
                    };
                    let secrets = p.secrets_updated_at.and_then(|t| {
                        if rng.random_bool(c.stale_secrets_share) {
                            if rng.random_bool(c.stale_secrets_null_share) {
                                None
                            } else {
                                Some(t - rng.random_range(1..86_400_000_000))
                            }
                        } else {
                            Some(t)
                        }
                    });
                    (checksum, secrets)
                }
                None => (rng.random(), None),
            };
            CurrentRow {
                host_uuid: host_uuid.to_string(),
                profile_uuid: pu.to_string(),
                profile: pi,
                status,
                operation,
                command_uuid: lower_uuid(rng),
                checksum,
                secrets_updated_at: secrets,
            }
        };
        let mut deleted_hosts: Vec<String> =
            (0..c.deleted_hosts).map(|_| upper_uuid(&mut rng)).collect();
        deleted_hosts.sort();
        let per_deleted = by_team[0].len().min(3) as i64;
        // Rowids run from 1 in key order; a deleted host's block is skipped where its uuid
        // falls (before a listed host of the same uuid: its rows sort first only if its profile
        // uuids do, and a collision of two random uuids does not happen).
        let mut rowid = 0i64;
        let mut reserved: Vec<i64> = Vec::with_capacity(deleted_hosts.len());
        let mut next_deleted = 0;
        let mut reserve_before = |uuid: Option<&str>, rowid: &mut i64| {
            while next_deleted < deleted_hosts.len()
                && uuid.is_none_or(|u| deleted_hosts[next_deleted].as_str() < u)
            {
                reserved.push(*rowid + 1);
                *rowid += per_deleted;
                next_deleted += 1;
            }
        };
        let mut host_rows: Vec<CurrentRow> = Vec::new();
        for h in reps {
            host_done();
            host_rows.clear();
            let team = h.team_id.unwrap_or(0) as usize;
            let apple = h.kind != EnrollKind::NotApple;
            let has_rows = h.eligible() || (apple && rng.random_bool(c.ineligible_host_rows_share));
            if !has_rows {
                continue;
            }
            for &pi in &by_team[team] {
                let p = &profiles[pi];
                let want = if roughly_desired(p, h, labels) {
                    c.coverage
                } else if p.builtin && h.platform != "darwin" {
                    0.0
                } else {
                    c.undesired_rows_share
                };
                if rng.random_bool(want) {
                    host_rows.push(make_row(&mut rng, &h.uuid, Some(pi), &p.uuid));
                }
            }
            if h.eligible() && rng.random_bool(c.deleted_profile_rows_share) {
                let pu = &deleted[team][rng.random_range(0..2)];
                host_rows.push(make_row(&mut rng, &h.uuid, None, pu));
            }
            if host_rows.is_empty() {
                continue;
            }
            host_rows.sort_by(|a, b| a.profile_uuid.cmp(&b.profile_uuid));
            reserve_before(Some(&h.uuid), &mut rowid);
            for r in host_rows.drain(..) {
                rowid += 1;
                emit(rowid, r)?;
            }
        }
        reserve_before(None, &mut rowid);
        // Deleted hosts: a few team-0 profile rows each, for uuids with no hosts row.
        for (uuid, first) in deleted_hosts.iter().zip(reserved) {
            for (k, &pi) in by_team[0].iter().take(3).enumerate() {
                let p = &profiles[pi];
                emit(
                    first + k as i64,
                    make_row(&mut rng, uuid, Some(pi), &p.uuid),
                )?;
            }
        }
        Ok(rowid as u64)
    }
}
