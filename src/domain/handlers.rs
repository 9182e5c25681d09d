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
    // `current` is a host's rows, which the primary-key scan returns in profile_uuid order;
    // `order` lists their positions sorted by profile uuid only when they came otherwise (a
    // server's collation order).
    let sorted = current.is_sorted_by(|a, b| a.profile_uuid <= b.profile_uuid);
    let order: Vec<usize> = if sorted {
        Vec::new()
    } else {
        let mut o: Vec<usize> = (0..current.len()).collect();
        o.sort_unstable_by(|&a, &b| current[a].profile_uuid.cmp(&current[b].profile_uuid));
        o
    };
    let uuid_at = |k: usize| -> &str {
        if sorted {
            &current[k].profile_uuid
        } else {
            &current[order[k]].profile_uuid
        }
    };
    // Finds the row of profile `p`: a cursor that only moves forward while the team's entries
    // come in uuid order (as the catalog lists them), so a host costs one merge of its entries
    // with its rows; it starts over when an entry's uuid is not above the last one's.
    let mut cursor = 0;
    let mut row_of = |p: &str| -> Option<usize> {
        if cursor > 0 && uuid_at(cursor - 1) >= p {
            cursor = 0;
        }
        while cursor < current.len() && uuid_at(cursor) < p {
            cursor += 1;
        }
        (cursor < current.len() && uuid_at(cursor) == p)
            .then(|| if sorted { cursor } else { order[cursor] })
    };
    // Per row: the team entry found for it and whether that entry is desired, so the removes
    // below do not look the profile up or judge it again. Used only when the catalog has one
    // entry per uuid (`by_uuid` then names the same entry).
    let unique = by_uuid.len() == catalog.len();
    let mut judged: smallvec::SmallVec<[Option<(usize, bool)>; 64]> =
        smallvec::smallvec![None; current.len()];
    for &i in team_entries {
        let entry = &catalog[i];
        let pass = desired(entry, host, member, rules).pass;
        let row = row_of(&entry.profile.uuid);
        if let Some(r) = row {
            judged[r] = Some((i, pass));
        }
        if !pass || macos_only_withheld(&host.platform, &entry.profile.name) {
            continue;
        }
        if install_reason(&entry.profile, row.map(|r| &current[r]), rules).is_some() {
            out.push(Delta::shared(host_uuid, &entry.uuid, Op::Install));
        }
    }
    for (r, row) in current.iter().enumerate() {
        if remove_in_flight(row) {
            continue;
        }
        let keep = match judged[r] {
            Some((i, pass)) if unique => catalog[i].broken || pass,
            _ => match by_uuid.get(&*row.profile_uuid) {
                // Deleted profile: removed (spec §4.3).
                None => false,
                Some(&i) => {
                    let entry = &catalog[i];
                    entry.broken || desired(entry, host, member, rules).pass
                }
            },
        };
        if !keep {
            out.push(Delta::shared(host_uuid, &row.profile_uuid, Op::Remove));
        }
    }
}

#[cfg(test)]
mod tests;
