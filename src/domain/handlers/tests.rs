//! Unit tests of the parent module.

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

/// The per-host diff merges the team's entries with the host's rows: the deltas are the same
/// whatever order either comes in (a server's collation, a team listed out of uuid order), and
/// a catalog that repeats a uuid is judged by the entry `by_uuid` names, as before the merge.
#[test]
fn per_host_diff_is_the_same_in_any_order_and_with_a_repeated_uuid() {
    let d = Rules::default();
    let entry = |uuid: &str, refs_: Vec<LabelRef>| {
        let mut p = profile(refs_);
        p.uuid = uuid.into();
        CatalogEntry::new(p, &d)
    };
    let mk = |p: &str, op: Option<&str>, st: Option<&str>| {
        let mut x = row(op, st);
        x.profile_uuid = p.into();
        x
    };
    let h = host();
    let hu: Arc<str> = Arc::from(h.uuid.as_str());
    let run = |catalog: &[CatalogEntry], team: &[usize], rows: &[CurrentRow]| {
        let by_uuid: FxHashMap<&str, usize> = catalog
            .iter()
            .enumerate()
            .map(|(i, e)| (e.profile.uuid.as_str(), i))
            .collect();
        let mut out = Vec::new();
        host_deltas(
            &h,
            &hu,
            catalog,
            team,
            &by_uuid,
            &members(&[5]),
            rows,
            &d,
            &mut out,
        );
        out.sort();
        out
    };
    let catalog = vec![
        entry("a1", vec![]),                      // desired, has a row
        entry("a2", refs(&[(Some(5), EXC)])),     // excluded, has a row: remove
        entry("a4", vec![]),                      // desired, no row: install
        entry("a5", refs(&[(None, INC_ALL)])),    // broken, has a row: kept
        entry("a6", refs(&[(Some(7), INC_ALL)])), // not a member, no row
    ];
    let rows = vec![
        mk("a1", Some("install"), Some("verified")),
        mk("a2", Some("install"), Some("verified")),
        mk("a3", Some("install"), Some("verified")), // deleted profile: remove
        mk("a5", Some("install"), Some("verified")),
    ];
    let want = vec![
        Delta::new("H1", "a2", Op::Remove),
        Delta::new("H1", "a3", Op::Remove),
        Delta::new("H1", "a4", Op::Install),
    ];
    let team: Vec<usize> = (0..catalog.len()).collect();
    let mut reversed_rows = rows.clone();
    reversed_rows.reverse();
    let reversed_team: Vec<usize> = team.iter().rev().copied().collect();
    let shuffled_team = vec![2, 0, 4, 1, 3];
    for (t, r) in [
        (&team, &rows),
        (&team, &reversed_rows),
        (&reversed_team, &rows),
        (&shuffled_team, &reversed_rows),
    ] {
        assert_eq!(run(&catalog, t, r), want, "team {t:?}");
    }

    // "a2" twice: by_uuid names the last entry (excluded: remove), though the team lists the
    // broken one (which would keep the row) after it.
    let repeated = vec![
        entry("a1", vec![]),
        entry("a2", refs(&[(None, INC_ALL)])),
        entry("a2", refs(&[(Some(5), EXC)])),
    ];
    let rows = vec![
        mk("a1", Some("install"), Some("verified")),
        mk("a2", Some("install"), Some("verified")),
    ];
    assert_eq!(
        run(&repeated, &[0, 2, 1], &rows),
        vec![Delta::new("H1", "a2", Op::Remove)]
    );
}
