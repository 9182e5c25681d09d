//! The batched path's decisions in code (spec §4.2, §4.3): the catalog shape of each profile,
//! one pure handler per label mode, their composition, and the per-host diff. Everything here
//! is a pure function of (profile, host, membership set, current rows, rules): no I/O.

use crate::domain::model::{CurrentRow, Delta, Host, LabelRef, Op, Profile, macos_only_withheld};
use crate::domain::mutants::Mutant;
use crate::domain::rules::Rules;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The include mode of a profile (spec §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeMode {
    None,
    All,
    Any,
    /// Include rows disagreeing on require_all, kept because D2 = or (legacy's two arms).
    Mixed,
}

/// A profile as the batched catalog holds it: spec §4.2's shape under the given rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub profile: Profile,
    /// The profile uuid, shared with current rows and deltas.
    pub uuid: Arc<str>,
    pub include_mode: IncludeMode,
    /// Include refs kept (empty when mode is None).
    pub include: Vec<LabelRef>,
    /// Exclude refs the exclude gate looks at.
    pub exclude: Vec<LabelRef>,
    /// The §4.3 broken check over the refs the catalog kept.
    pub broken: bool,
    /// D3 = ignore and every row of the profile is an invisible (1,1) row: like legacy, where
    /// such a profile is neither label-less nor matched by any arm, it is never desired.
    pub only_invisible_rows: bool,
}

impl CatalogEntry {
    /// Shapes a profile per spec §4.2 (and the D2/D3 rules of spec §6).
    pub fn new(profile: Profile, rules: &Rules) -> CatalogEntry {
        let includes: Vec<&LabelRef> = profile.refs.iter().filter(|r| !r.exclude).collect();
        let all = includes.iter().filter(|r| r.require_all).count();
        let (include_mode, include) = if includes.is_empty() {
            (IncludeMode::None, Vec::new())
        } else if all == includes.len() || (all == 0 && rules.mutant == Some(Mutant::AnyAsAll)) {
            // (the any-as-all mutant takes include-any rows for include-all ones)
            (IncludeMode::All, includes.into_iter().cloned().collect())
        } else if all == 0 {
            (IncludeMode::Any, includes.into_iter().cloned().collect())
        } else if rules.d2_or {
            (IncludeMode::Mixed, includes.into_iter().cloned().collect())
        } else {
            // spec §4.2: disagreeing include rows are dropped; the profile goes to every team
            // host, subject to its excludes (D2).
            (IncludeMode::None, Vec::new())
        };
        let exclude: Vec<LabelRef> = profile
            .refs
            .iter()
            .filter(|r| r.exclude && !(rules.d3_ignore && r.require_all))
            .cloned()
            .collect();
        // The broken check sees the refs the catalog kept (dropped mixed includes no longer
        // count, spec §4.2). Invisible (1,1) rows under D3 = ignore stay visible to it, as
        // legacy's removal exemption looks at every row of the profile.
        let broken = rules.mutant != Some(Mutant::NoBrokenCheck)
            && (include.iter().any(LabelRef::broken)
                || profile.refs.iter().any(|r| r.exclude && r.broken()));
        let only_invisible_rows = rules.d3_ignore
            && !profile.refs.is_empty()
            && profile.refs.iter().all(|r| r.exclude && r.require_all);
        CatalogEntry {
            uuid: Arc::from(profile.uuid.as_str()),
            profile,
            include_mode,
            include,
            exclude,
            broken,
            only_invisible_rows,
        }
    }
}

/// Why a gate passed or failed. Borrowed, never formatted on the hot path: only the
/// equivalence report turns it into text (`Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason<'a> {
    NoIncludeLabels,
    IncludeAllEmpty,
    IncludeAllBroken(&'a LabelRef),
    IncludeAllNotMember(&'a LabelRef),
    IncludeAllPassed,
    IncludeAnyPassed(&'a LabelRef),
    IncludeAnyFailed,
    /// Both arms of mixed includes failed (D2 = or).
    MixedFailed(Box<Reason<'a>>, Box<Reason<'a>>),
    NoExcludeLabels,
    ExcludeBroken(&'a LabelRef),
    ExcludeNotEvaluated(&'a LabelRef, &'a str),
    ExcludeMember(&'a LabelRef),
    ExcludePassed,
}

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NoIncludeLabels => write!(f, "no include labels"),
            Reason::IncludeAllEmpty => write!(f, "include-all gate failed, no labels"),
            Reason::IncludeAllBroken(r) => write!(f, "include-all gate failed, {}", r.describe()),
            Reason::IncludeAllNotMember(r) => {
                write!(
                    f,
                    "include-all gate failed, not a member of {}",
                    r.describe()
                )
            }
            Reason::IncludeAllPassed => write!(f, "include-all gate passed"),
            Reason::IncludeAnyPassed(r) => {
                write!(f, "include-any gate passed, member of {}", r.describe())
            }
            Reason::IncludeAnyFailed => write!(f, "include-any gate failed, member of no label"),
            Reason::MixedFailed(a, b) => write!(f, "{a}; {b}"),
            Reason::NoExcludeLabels => write!(f, "no exclude labels"),
            Reason::ExcludeBroken(r) => write!(f, "exclude gate failed, {}", r.describe()),
            Reason::ExcludeNotEvaluated(r, reported) => write!(
                f,
                "exclude gate failed, {} not evaluated yet (created {}, host reported {reported})",
                r.describe(),
                r.created_at.as_deref().unwrap_or("NULL")
            ),
            Reason::ExcludeMember(r) => {
                write!(f, "exclude gate failed, member of {}", r.describe())
            }
            Reason::ExcludePassed => write!(f, "exclude gate passed"),
        }
    }
}

/// A gate's verdict and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate<'a> {
    pub pass: bool,
    pub why: Reason<'a>,
}

fn gate(pass: bool, why: Reason<'_>) -> Gate<'_> {
    Gate { pass, why }
}

/// Include-all handler: ≥1 ref, none broken, host member of all.
pub fn include_all<'a>(
    refs: impl Iterator<Item = &'a LabelRef>,
    member: &dyn Fn(i64) -> bool,
) -> Gate<'a> {
    let mut any = false;
    for r in refs {
        any = true;
        match r.label_id {
            None => return gate(false, Reason::IncludeAllBroken(r)),
            Some(id) if !member(id) => return gate(false, Reason::IncludeAllNotMember(r)),
            Some(_) => {}
        }
    }
    if any {
        gate(true, Reason::IncludeAllPassed)
    } else {
        gate(false, Reason::IncludeAllEmpty)
    }
}

/// Include-any handler: host member of ≥1 non-broken ref.
pub fn include_any<'a>(
    mut refs: impl Iterator<Item = &'a LabelRef>,
    member: &dyn Fn(i64) -> bool,
) -> Gate<'a> {
    match refs.find(|r| r.label_id.is_some_and(member)) {
        Some(r) => gate(true, Reason::IncludeAnyPassed(r)),
        None => gate(false, Reason::IncludeAnyFailed),
    }
}

/// Exclude-any handler (spec §4.2): no refs → pass; fail on a broken ref, on a label not yet
/// evaluated for the host, or on membership.
pub fn exclude_any<'a>(
    refs: &'a [LabelRef],
    host: &'a Host,
    member: &dyn Fn(i64) -> bool,
    rules: &Rules,
) -> Gate<'a> {
    let b6_fixed = rules.b6_fixed;
    if refs.is_empty() {
        return gate(true, Reason::NoExcludeLabels);
    }
    for r in refs {
        let Some(id) = r.label_id else {
            if rules.mutant == Some(Mutant::NoBrokenCheck) {
                continue;
            }
            return gate(false, Reason::ExcludeBroken(r));
        };
        // Timing: every label but manual ones, when its created_at is not the zero time
        // (NULL reads as zero, spec §8 B1 fix), must predate the host's last report. Host
        // vitals are checked too: that is bug B6, kept on purpose unless `b6_fixed` (the
        // `latest` variant: dynamic labels only).
        let checked = if b6_fixed {
            r.membership_type == Some(0)
        } else {
            r.membership_type != Some(1)
        };
        let too_early = |created: &str| {
            if rules.mutant == Some(Mutant::TimingLe) {
                host.label_updated_at.as_str() <= created
            } else {
                host.label_updated_at.as_str() < created
            }
        };
        if let Some(created) = r.created_at.as_deref()
            && checked
            && too_early(created)
        {
            return gate(
                false,
                Reason::ExcludeNotEvaluated(r, &host.label_updated_at),
            );
        }
        if member(id) {
            return gate(false, Reason::ExcludeMember(r));
        }
    }
    gate(true, Reason::ExcludePassed)
}

/// The include gate of an entry (spec §4.2), with D2 = or's two arms for mixed rows.
pub fn include_gate<'a>(entry: &'a CatalogEntry, member: &dyn Fn(i64) -> bool) -> Gate<'a> {
    match entry.include_mode {
        IncludeMode::None => gate(true, Reason::NoIncludeLabels),
        IncludeMode::All => include_all(entry.include.iter(), member),
        IncludeMode::Any => include_any(entry.include.iter(), member),
        IncludeMode::Mixed => {
            let a = include_all(entry.include.iter().filter(|r| r.require_all), member);
            if a.pass {
                return a;
            }
            let b = include_any(entry.include.iter().filter(|r| !r.require_all), member);
            if b.pass {
                b
            } else {
                gate(false, Reason::MixedFailed(Box::new(a.why), Box::new(b.why)))
            }
        }
    }
}

/// Why a profile is or is not desired for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why<'a> {
    TeamMismatch { profile: i64, host: i64 },
    OnlyInvisibleRows,
    Gates(Reason<'a>, Reason<'a>),
}

impl std::fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::TeamMismatch { profile, host } => {
                write!(
                    f,
                    "team mismatch (profile team {profile}, host team {host})"
                )
            }
            Why::OnlyInvisibleRows => {
                write!(
                    f,
                    "only exclude rows with require_all = 1, invisible under d3=ignore"
                )
            }
            Why::Gates(i, e) => write!(f, "{i}, {e}"),
        }
    }
}

/// The verdict of `desired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    pub pass: bool,
    pub why: Why<'a>,
}

/// desired(p, h) of spec §4.2: team match AND include gate AND exclude gate (D1 = or: OR of
/// the two gates when the profile has both kinds).
pub fn desired<'a>(
    entry: &'a CatalogEntry,
    host: &'a Host,
    member: &dyn Fn(i64) -> bool,
    rules: &Rules,
) -> Verdict<'a> {
    if entry.profile.team_id != host.team() {
        return Verdict {
            pass: false,
            why: Why::TeamMismatch {
                profile: entry.profile.team_id,
                host: host.team(),
            },
        };
    }
    if entry.only_invisible_rows {
        return Verdict {
            pass: false,
            why: Why::OnlyInvisibleRows,
        };
    }
    let inc = include_gate(entry, member);
    let exc = exclude_any(&entry.exclude, host, member, rules);
    let both_kinds = entry.include_mode != IncludeMode::None && !entry.exclude.is_empty();
    let pass = if rules.d1_or && both_kinds {
        inc.pass || exc.pass
    } else {
        inc.pass && exc.pass
    };
    Verdict {
        pass,
        why: Why::Gates(inc.why, exc.why),
    }
}

/// Why a current row needs an install of a desired profile (spec §4.3), or None.
pub fn install_reason(
    profile: &Profile,
    row: Option<&CurrentRow>,
    rules: &Rules,
) -> Option<&'static str> {
    let Some(row) = row else {
        return Some("no current row");
    };
    if row.checksum[..] != profile.checksum[..] {
        return Some("checksum changed");
    }
    match row.operation_type.as_deref() {
        None => return Some("operation NULL"),
        Some("remove") => return Some("row is a remove"),
        Some("install") if row.status.is_none() => return Some("install with NULL status"),
        _ => {}
    }
    if let Some(p) = profile.secrets_updated_at.as_deref() {
        match row.secrets_updated_at.as_deref() {
            None if !rules.d4_skip => return Some("row secrets NULL"),
            Some(r) if r < p => return Some("row secrets older"),
            _ => {}
        }
    }
    None
}

/// True when a not-desired row is kept: a `remove` already under way (non-NULL status).
pub fn remove_in_flight(row: &CurrentRow) -> bool {
    row.operation_type.as_deref() == Some("remove") && row.status.is_some()
}

/// The per-host diff of spec §4.3 for one host row of the window. `team_entries` are the
/// catalog entries of the host's team (the others can never be desired).
#[allow(clippy::too_many_arguments)]
pub fn host_deltas(
    host: &Host,
    host_uuid: &Arc<str>,
    catalog: &[CatalogEntry],
    team_entries: &[usize],
    by_uuid: &FxHashMap<&str, usize>,
    member: &dyn Fn(i64) -> bool,
    current: &[CurrentRow],
    rules: &Rules,
    out: &mut Vec<Delta>,
) {
    // `current` is a host's rows, which the primary-key probe returns in profile_uuid order:
    // binary search them as they are; sort a copy of the references only if they are not.
    let sorted = current.is_sorted_by(|a, b| a.profile_uuid <= b.profile_uuid);
    let mut index: Vec<&CurrentRow> = Vec::new();
    if !sorted {
        index = current.iter().collect();
        index.sort_unstable_by(|a, b| a.profile_uuid.cmp(&b.profile_uuid));
    }
    let row_of = |p: &str| -> Option<&CurrentRow> {
        if sorted {
            current
                .binary_search_by(|r| (*r.profile_uuid).cmp(p))
                .ok()
                .map(|i| &current[i])
        } else {
            index
                .binary_search_by(|r| (*r.profile_uuid).cmp(p))
                .ok()
                .map(|i| index[i])
        }
    };
    for entry in team_entries.iter().map(|&i| &catalog[i]) {
        if !desired(entry, host, member, rules).pass {
            continue;
        }
        if macos_only_withheld(&host.platform, &entry.profile.name) {
            continue;
        }
        if install_reason(&entry.profile, row_of(&entry.profile.uuid), rules).is_some() {
            out.push(Delta::shared(host_uuid, &entry.uuid, Op::Install));
        }
    }
    for row in current {
        if remove_in_flight(row) {
            continue;
        }
        let keep = match by_uuid.get(&*row.profile_uuid) {
            // Deleted profile: removed (spec §4.3).
            None => false,
            Some(&i) => {
                let entry = &catalog[i];
                entry.broken || desired(entry, host, member, rules).pass
            }
        };
        if !keep {
            out.push(Delta::shared(host_uuid, &row.profile_uuid, Op::Remove));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORTED: &str = "2026-06-01 10:00:00";

    fn host() -> Host {
        Host {
            id: 1,
            uuid: "H1".into(),
            team_id: None,
            platform: "darwin".into(),
            label_updated_at: REPORTED.into(),
        }
    }

    /// A ref: id (None = broken), exclude, require_all, created_at, type.
    fn r(id: Option<i64>, exclude: bool, require_all: bool) -> LabelRef {
        LabelRef {
            label_name: format!("L{}", id.unwrap_or(0)),
            label_id: id,
            created_at: Some("2026-01-01 00:00:00".into()),
            membership_type: Some(0),
            exclude,
            require_all,
        }
    }

    fn profile(refs: Vec<LabelRef>) -> Profile {
        Profile {
            uuid: "a1".into(),
            team_id: 0,
            identifier: "com.x".into(),
            name: "X".into(),
            checksum: vec![1],
            secrets_updated_at: None,
            refs,
        }
    }

    fn members(ids: &'static [i64]) -> impl Fn(i64) -> bool {
        move |id| ids.contains(&id)
    }

    fn is_desired(refs: Vec<LabelRef>, member_of: &'static [i64], rules: Rules) -> bool {
        let e = CatalogEntry::new(profile(refs), &rules);
        desired(&e, &host(), &members(member_of), &rules).pass
    }

    const INC_ALL: (bool, bool) = (false, true);
    const INC_ANY: (bool, bool) = (false, false);
    const EXC: (bool, bool) = (true, false);
    const EXC_ALL: (bool, bool) = (true, true);

    /// Label rows as (label id or None = broken, (exclude, require_all)).
    type Spec = Vec<(Option<i64>, (bool, bool))>;

    fn refs(spec: &[(Option<i64>, (bool, bool))]) -> Vec<LabelRef> {
        spec.iter().map(|&(id, (e, ra))| r(id, e, ra)).collect()
    }

    #[test]
    fn handler_table_default_rules() {
        let d = Rules::default();
        #[rustfmt::skip]
        let cases: Vec<(&str, Spec, &'static [i64], bool)> = vec![
            ("no labels", vec![], &[], true),
            ("include-all, member of all", vec![(Some(1), INC_ALL), (Some(2), INC_ALL)], &[1, 2], true),
            ("include-all, member of one", vec![(Some(1), INC_ALL), (Some(2), INC_ALL)], &[1], false),
            ("include-all, broken", vec![(Some(1), INC_ALL), (None, INC_ALL)], &[1], false),
            ("include-any, member of one", vec![(Some(1), INC_ANY), (Some(2), INC_ANY)], &[2], true),
            ("include-any, member of none", vec![(Some(1), INC_ANY)], &[], false),
            ("include-any, broken ignored", vec![(None, INC_ANY), (Some(2), INC_ANY)], &[2], true),
            ("include-any, only broken", vec![(None, INC_ANY)], &[], false),
            ("exclude, not member", vec![(Some(1), EXC)], &[], true),
            ("exclude, member", vec![(Some(1), EXC)], &[1], false),
            ("exclude, broken", vec![(None, EXC)], &[], false),
            ("include-all + exclude, both pass", vec![(Some(1), INC_ALL), (Some(2), EXC)], &[1], true),
            ("include-all + exclude, excluded (AND)", vec![(Some(1), INC_ALL), (Some(2), EXC)], &[1, 2], false),
            ("include-all + exclude, include fails (AND)", vec![(Some(1), INC_ALL), (Some(2), EXC)], &[], false),
            ("include-any + exclude, excluded", vec![(Some(1), INC_ANY), (Some(2), EXC)], &[1, 2], false),
            ("mixed includes dropped: no member needed", vec![(Some(1), INC_ALL), (Some(2), INC_ANY)], &[], true),
            ("mixed includes dropped, exclude still applies", vec![(Some(1), INC_ALL), (Some(2), INC_ANY), (Some(3), EXC)], &[3], false),
            ("(1,1) treated as exclude, member", vec![(Some(1), EXC_ALL)], &[1], false),
            ("(1,1) treated as exclude, not member", vec![(Some(1), EXC_ALL)], &[], true),
        ];
        for (name, spec, member_of, want) in cases {
            assert_eq!(is_desired(refs(&spec), member_of, d), want, "{name}");
        }
    }

    #[test]
    fn handler_table_flipped_rules() {
        let or1 = Rules {
            d1_or: true,
            ..Rules::default()
        };
        let or2 = Rules {
            d2_or: true,
            ..Rules::default()
        };
        let ign3 = Rules {
            d3_ignore: true,
            ..Rules::default()
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, Spec, &'static [i64], Rules, bool)> = vec![
            ("D1 or: include fails, exclude passes", vec![(Some(1), INC_ALL), (Some(2), EXC)], &[], or1, true),
            ("D1 or: include passes, excluded", vec![(Some(1), INC_ALL), (Some(2), EXC)], &[1, 2], or1, true),
            ("D1 or: both fail", vec![(Some(1), INC_ANY), (Some(2), EXC)], &[2], or1, false),
            ("D1 or: exclude only still a gate", vec![(Some(2), EXC)], &[2], or1, false),
            ("D2 or: all-arm passes", vec![(Some(1), INC_ALL), (Some(2), INC_ANY)], &[1], or2, true),
            ("D2 or: any-arm passes", vec![(Some(1), INC_ALL), (Some(2), INC_ANY)], &[2], or2, true),
            ("D2 or: neither", vec![(Some(1), INC_ALL), (Some(2), INC_ANY)], &[], or2, false),
            ("D3 ignore: (1,1) only is never desired", vec![(Some(1), EXC_ALL)], &[], ign3, false),
            ("D3 ignore: (1,1) invisible next to include", vec![(Some(1), INC_ANY), (Some(2), EXC_ALL)], &[1, 2], ign3, true),
        ];
        for (name, spec, member_of, rules, want) in cases {
            assert_eq!(is_desired(refs(&spec), member_of, rules), want, "{name}");
        }
    }

    #[test]
    fn exclude_timing_rule() {
        let d = Rules::default();
        // (label created_at, membership type, host label_updated_at, desired for a non-member)
        #[rustfmt::skip]
        let cases = [
            (Some("2026-06-01 11:00:00"), Some(0), REPORTED, false), // created after the report
            (Some(REPORTED), Some(0), REPORTED, true),                 // equal passes
            (Some("2026-06-01 09:00:00"), Some(0), REPORTED, true),    // created before
            (Some("2026-06-01 11:00:00"), Some(0), "2000-01-01 00:00:00", false), // sentinel
            (Some("2026-06-01 11:00:00"), Some(1), REPORTED, true),    // manual: exempt
            (Some("2026-06-01 11:00:00"), Some(2), REPORTED, false),   // host vitals: checked (B6)
            (None, Some(0), REPORTED, true),                           // NULL = zero time (D8)
            (None, None, REPORTED, true),                              // labels row missing
        ];
        for (created, ty, reported, want) in cases {
            let mut x = r(Some(7), true, false);
            x.created_at = created.map(str::to_string);
            x.membership_type = ty;
            let e = CatalogEntry::new(profile(vec![x]), &d);
            let mut h = host();
            h.label_updated_at = reported.to_string();
            let got = desired(&e, &h, &members(&[]), &d).pass;
            assert_eq!(got, want, "{created:?} {ty:?} {reported}");
        }
    }

    #[test]
    fn team_match_uses_coalesce() {
        let d = Rules::default();
        let mut p = profile(vec![]);
        let mut h = host();
        for (profile_team, host_team, want) in [
            (0, None, true),
            (0, Some(0), true),
            (3, Some(3), true),
            (3, None, false),
            (0, Some(3), false),
        ] {
            p.team_id = profile_team;
            h.team_id = host_team;
            let e = CatalogEntry::new(p.clone(), &d);
            assert_eq!(
                desired(&e, &h, &members(&[]), &d).pass,
                want,
                "{profile_team} {host_team:?}"
            );
        }
    }

    #[test]
    fn broken_check_sees_only_kept_refs() {
        let d = Rules::default();
        let e = CatalogEntry::new(profile(refs(&[(None, INC_ALL), (Some(2), INC_ANY)])), &d);
        assert!(!e.broken, "dropped mixed include rows do not count");
        let e = CatalogEntry::new(
            profile(refs(&[(None, INC_ALL), (Some(2), INC_ANY)])),
            &Rules { d2_or: true, ..d },
        );
        assert!(e.broken);
        let e = CatalogEntry::new(
            profile(refs(&[(None, EXC_ALL)])),
            &Rules {
                d3_ignore: true,
                ..d
            },
        );
        assert!(
            e.broken,
            "ignored (1,1) rows still count for the removal exemption"
        );
    }

    fn row(op: Option<&str>, status: Option<&str>) -> CurrentRow {
        CurrentRow {
            host_uuid: "H1".into(),
            profile_uuid: "a1".into(),
            status: status.map(crate::domain::model::intern),
            operation_type: op.map(crate::domain::model::intern),
            checksum: [1u8][..].into(),
            secrets_updated_at: None,
        }
    }

    #[test]
    fn install_matrix_for_a_desired_pair() {
        let d = Rules::default();
        let p = profile(vec![]);
        assert_eq!(install_reason(&p, None, &d), Some("no current row"));
        let statuses = [
            None,
            Some("pending"),
            Some("verifying"),
            Some("verified"),
            Some("failed"),
        ];
        for st in statuses {
            assert!(
                install_reason(&p, Some(&row(None, st)), &d).is_some(),
                "NULL op {st:?}"
            );
            assert!(
                install_reason(&p, Some(&row(Some("remove"), st)), &d).is_some(),
                "remove {st:?}"
            );
            let want = st.is_none();
            assert_eq!(
                install_reason(&p, Some(&row(Some("install"), st)), &d).is_some(),
                want,
                "install {st:?}"
            );
        }
        let mut stale = row(Some("install"), Some("verified"));
        stale.checksum = [2u8][..].into();
        assert_eq!(
            install_reason(&p, Some(&stale), &d),
            Some("checksum changed")
        );
    }

    #[test]
    fn secrets_rule_and_d4() {
        let d = Rules::default();
        let mut p = profile(vec![]);
        p.secrets_updated_at = Some("2026-05-01 00:00:00.000000".into());
        let mut r0 = row(Some("install"), Some("verified"));
        // (row secrets, default install?, d4=skip install?)
        let cases = [
            (None, true, false),
            (Some("2026-04-01 00:00:00.000000"), true, true),
            (Some("2026-05-01 00:00:00.000000"), false, false),
            (Some("2026-05-02 00:00:00.000000"), false, false),
        ];
        for (secrets, want, want_skip) in cases {
            r0.secrets_updated_at = secrets.map(str::to_string);
            assert_eq!(
                install_reason(&p, Some(&r0), &d).is_some(),
                want,
                "{secrets:?}"
            );
            let skip = Rules { d4_skip: true, ..d };
            assert_eq!(
                install_reason(&p, Some(&r0), &skip).is_some(),
                want_skip,
                "{secrets:?}"
            );
        }
        // A row with secrets while the profile has none never triggers.
        p.secrets_updated_at = None;
        r0.secrets_updated_at = Some("2026-04-01 00:00:00.000000".into());
        assert_eq!(install_reason(&p, Some(&r0), &d), None);
    }

    #[test]
    fn per_host_diff_removes_and_exemptions() {
        let d = Rules::default();
        let wanted = CatalogEntry::new(profile(vec![]), &d);
        let mut excluded = profile(refs(&[(Some(5), EXC)]));
        excluded.uuid = "a2".into();
        let excluded = CatalogEntry::new(excluded, &d);
        let mut broken = profile(refs(&[(None, INC_ALL)]));
        broken.uuid = "a3".into();
        let broken = CatalogEntry::new(broken, &d);
        let catalog = vec![wanted, excluded, broken];
        let by_uuid: FxHashMap<&str, usize> = catalog
            .iter()
            .enumerate()
            .map(|(i, e)| (e.profile.uuid.as_str(), i))
            .collect();
        let team: Vec<usize> = (0..catalog.len()).collect();
        let mk = |p: &str, op: Option<&str>, st: Option<&str>| {
            let mut x = row(op, st);
            x.profile_uuid = p.into();
            x
        };
        let rows = [
            mk("a1", Some("install"), Some("verified")), // desired, up to date: nothing
            mk("a2", Some("install"), Some("verified")), // excluded: remove
            mk("a3", Some("install"), Some("verified")), // broken: never removed
            mk("a9", Some("install"), Some("verified")), // deleted profile: remove
            mk("a8", Some("remove"), Some("pending")),   // remove in flight: kept
            mk("a7", Some("remove"), None),              // remove with NULL status: remove
        ];
        let mut out = Vec::new();
        let h = host();
        let hu: Arc<str> = Arc::from(h.uuid.as_str());
        host_deltas(
            &h,
            &hu,
            &catalog,
            &team,
            &by_uuid,
            &members(&[5]),
            &rows,
            &d,
            &mut out,
        );
        out.sort();
        let want = vec![
            Delta::new("H1", "a2", Op::Remove),
            Delta::new("H1", "a7", Op::Remove),
            Delta::new("H1", "a9", Op::Remove),
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn macos_only_profiles_are_withheld_on_ios_but_not_removed() {
        let d = Rules::default();
        let mut p = profile(vec![]);
        p.name = "Disk encryption".into();
        let catalog = vec![CatalogEntry::new(p, &d)];
        let by_uuid: FxHashMap<&str, usize> = [("a1", 0)].into_iter().collect();
        let hu: Arc<str> = Arc::from("H1");
        let mut h = host();
        let deltas = |h: &Host, rows: &[CurrentRow]| {
            let mut out = Vec::new();
            let members = members(&[]);
            host_deltas(
                h,
                &hu,
                &catalog,
                &[0],
                &by_uuid,
                &members,
                rows,
                &d,
                &mut out,
            );
            out
        };
        for (platform, installs) in [("darwin", 1), ("ios", 0), ("ipados", 0)] {
            h.platform = platform.into();
            assert_eq!(deltas(&h, &[]).len(), installs, "{platform}");
            let existing = row(Some("install"), Some("verified"));
            let out = deltas(&h, std::slice::from_ref(&existing));
            assert!(
                out.is_empty(),
                "{platform}: a withheld pair is still desired, never removed"
            );
        }
    }
}
