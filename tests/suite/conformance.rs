//! One conformance suite over every `Store` (SQLite, and MySQL when configured) and every
//! implementation (legacy SQL in both forms, the batched path, and the spec-literal reference): hand-written fixture fleets for every case of spec §2–§4,
//! each asserting the exact delta set of each path.

use crate::util::fixture::{Fixture, T0};
use crate::util::reference::World;
use reconsim::backends::store::Store;
use reconsim::domain::clock::RealClock;
use reconsim::domain::model::Delta;
use reconsim::domain::rules::Rules;
use reconsim::paths::batched::{self, BatchedConfig};
use reconsim::paths::legacy::LegacySql;
use std::collections::BTreeSet;

/// Both paths' delta sets, after checking every implementation against the others.
struct Out {
    legacy: BTreeSet<String>,
    batched: BTreeSet<String>,
    legacy_duplicates: usize,
    ticks: usize,
}

fn text(d: &Delta) -> String {
    format!("{} {} {}", d.host_uuid, d.profile_uuid, d.op)
}

fn sorted(v: &[Delta]) -> Vec<Delta> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn run(fx: &Fixture, rules: Rules, batch: usize) -> Out {
    let world = World::load(&fx.conn);
    let (ref_i, ref_r) = world.legacy();
    let ref_batched = sorted(&world.batched(&rules, batch));
    let cfg = BatchedConfig {
        batch_size: batch,
        rules,
        variant: Default::default(),
    };
    // Every backend through the one storage seam: SQLite, and a MySQL-compatible server (issue
    // 6) when one is configured.
    let server = crate::suite::backends::on_mysql(&fx.conn, "conformance on MySQL");
    let mut stores: Vec<&dyn Store> = vec![&fx.conn];
    if let Some(s) = &server {
        stores.push(&s.my);
    }
    let clock = RealClock::default();
    let mut out = None;
    for store in stores {
        let on = store.engine();
        let written = store
            .legacy(LegacySql::AsWritten, &clock)
            .expect("as-written");
        let tuned = store.legacy(LegacySql::Tuned, &clock).expect("tuned");
        // spec §3, both forms and the reference, duplicates included.
        for (form, r) in [("as-written", &written), ("tuned", &tuned)] {
            assert_eq!(
                sorted(&r.installs),
                sorted(&ref_i),
                "{on}: {form} installs vs reference"
            );
            assert_eq!(
                sorted(&r.removes),
                sorted(&ref_r),
                "{on}: {form} removes vs reference"
            );
        }
        let pass = batched::full_pass(store.source(), &cfg).expect("pass");
        assert_eq!(
            sorted(&pass.deltas),
            ref_batched,
            "{on}: batched vs reference"
        );
        let mut legacy: Vec<Delta> = tuned.installs.clone();
        legacy.extend(tuned.removes.clone());
        out.get_or_insert(Out {
            legacy: legacy.iter().map(text).collect(),
            batched: pass.deltas.iter().map(text).collect(),
            legacy_duplicates: tuned.duplicate_installs(),
            ticks: pass.ticks.len(),
        });
    }
    out.expect("SQLite ran")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn team_null_gets_team_zero_profiles_only() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None)
        .mac(2, "H2", Some(3))
        .mac(3, "H3", Some(0));
    fx.profile("a0", 0, "P0", 1).profile("a3", 3, "P3", 1);
    let o = run(&fx, Rules::default(), 5000);
    let want = set(&["H1 a0 install", "H2 a3 install", "H3 a0 install"]);
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
}

#[test]
fn enrollment_gates_and_platforms() {
    let fx = Fixture::new();
    fx.mac(1, "OK-DEV", None);
    fx.host(2, "OK-UED", "ios", None)
        .enroll("OK-UED", "User Enrollment (Device)", true, true);
    fx.host(3, "USER", "darwin", None)
        .enroll("USER", "User", true, true);
    fx.host(4, "DISABLED", "darwin", None)
        .enroll("DISABLED", "Device", false, true);
    fx.host(5, "NODEV", "darwin", None)
        .enroll("NODEV", "Device", true, false);
    fx.host(6, "WIN", "windows", None)
        .enroll("WIN", "Device", true, true);
    // A second qualifying enrollment must not multiply the host (spec §2: EXISTS).
    fx.mac(7, "TWICE", None)
        .enroll("TWICE", "User Enrollment (Device)", true, false);
    fx.profile("a0", 0, "P", 1);
    let o = run(&fx, Rules::default(), 5000);
    let want = set(&["OK-DEV a0 install", "OK-UED a0 install", "TWICE a0 install"]);
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
    assert_eq!(o.legacy_duplicates, 0);
}

#[test]
fn broken_labels_in_each_mode_and_the_removal_exemption() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None)
        .label(1, 0, Some("2020-01-01 00:00:00"))
        .member(1, 1);
    fx.profile("a-all", 0, "all", 1)
        .scope("a-all", Some(1), false, true)
        .scope("a-all", None, false, true);
    fx.profile("a-any", 0, "any", 1)
        .scope("a-any", Some(1), false, false)
        .scope("a-any", None, false, false);
    fx.profile("a-exc", 0, "exc", 1)
        .scope("a-exc", None, true, false);
    // Rows of broken profiles the host has: never removed, by either path.
    fx.row("H1", "a-all", Some("install"), Some("verified"), 1);
    fx.row("H1", "a-exc", Some("install"), Some("verified"), 1);
    let o = run(&fx, Rules::default(), 5000);
    let want = set(&["H1 a-any install"]);
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
}

#[test]
fn exclude_timing_rule() {
    let fx = Fixture::new();
    // Host 1 reported at T0 = 2026-06-01 10:00:00; one exclude profile per label.
    fx.mac(1, "H1", None)
        .mac(2, "H2", None)
        .reported(2, "2000-01-01 00:00:00");
    let cases = [
        (1, 0, Some("2026-06-01 11:00:00")), // created after the report: not evaluated
        (2, 0, Some(T0)),                    // equal passes
        (3, 1, Some("2026-06-01 11:00:00")), // manual: exempt
        (4, 2, Some("2026-06-01 11:00:00")), // host vitals: checked (B6)
        (5, 0, Some("2026-01-01 00:00:00")), // old
        (6, 0, None),                        // created_at NULL (D8)
    ];
    for (id, ty, created) in cases {
        fx.label(id, ty, created);
        let p = format!("a{id}");
        fx.profile(&p, 0, &p, 1).scope(&p, Some(id), true, false);
    }
    let o = run(&fx, Rules::default(), 5000);
    // Sentinel host H2 has evaluated only the manual label.
    assert_eq!(
        o.legacy,
        set(&[
            "H1 a2 install",
            "H1 a3 install",
            "H1 a5 install",
            "H2 a3 install"
        ])
    );
    // Batched: NULL created_at is zero time, so a6 goes to both hosts (D8).
    assert_eq!(
        o.batched,
        set(&[
            "H1 a2 install",
            "H1 a3 install",
            "H1 a5 install",
            "H1 a6 install",
            "H2 a3 install",
            "H2 a6 install"
        ])
    );
}

#[test]
fn status_operation_matrix() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None)
        .label(1, 0, Some("2020-01-01 00:00:00"))
        .member(1, 1);
    let ops = [None, Some("install"), Some("remove")];
    let statuses = [
        None,
        Some("pending"),
        Some("verifying"),
        Some("verified"),
        Some("failed"),
    ];
    let mut k = 0;
    let mut want_legacy = Vec::new();
    for op in ops {
        for st in statuses {
            k += 1;
            // A desired profile and an undesired one (excluded by label 1) per cell.
            let d = format!("a-d{k:02}");
            let u = format!("a-u{k:02}");
            fx.profile(&d, 0, &d, 1)
                .profile(&u, 0, &u, 1)
                .scope(&u, Some(1), true, false);
            fx.row("H1", &d, op, st, 1).row("H1", &u, op, st, 1);
            let install =
                op.is_none() || op == Some("remove") || (op == Some("install") && st.is_none());
            if install {
                want_legacy.push(format!("H1 {d} install"));
            }
            let remove = op.is_none() || op != Some("remove") || st.is_none();
            if remove {
                want_legacy.push(format!("H1 {u} remove"));
            }
        }
    }
    let o = run(&fx, Rules::default(), 5000);
    let want: BTreeSet<String> = want_legacy.into_iter().collect();
    assert_eq!(o.legacy.len(), 11 + 11, "11 install cells, 11 remove cells");
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
}

#[test]
fn checksum_and_secrets_rules() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None);
    let p_at = "2026-05-01 00:00:00.000000";
    fx.profile("a-sum", 0, "sum", 2)
        .row("H1", "a-sum", Some("install"), Some("verified"), 1);
    for (p, row_at) in [
        ("a-null", None),
        ("a-older", Some("2026-04-01 00:00:00.000000")),
        ("a-equal", Some(p_at)),
        ("a-newer", Some("2026-05-02 00:00:00.000000")),
    ] {
        fx.profile(p, 0, p, 1).secrets(p, p_at);
        fx.row("H1", p, Some("install"), Some("verified"), 1)
            .row_secrets("H1", p, row_at);
    }
    let o = run(&fx, Rules::default(), 5000);
    assert_eq!(o.legacy, set(&["H1 a-older install", "H1 a-sum install"]));
    // D4: a NULL on the row installs in batched only.
    assert_eq!(
        o.batched,
        set(&[
            "H1 a-null install",
            "H1 a-older install",
            "H1 a-sum install"
        ])
    );
    let aligned = run(
        &fx,
        Rules {
            d4_skip: true,
            ..Rules::default()
        },
        5000,
    );
    assert_eq!(aligned.batched, aligned.legacy);
}

#[test]
fn deleted_profiles_and_ineligible_hosts() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None).host(2, "GONE", "darwin", None);
    fx.profile("a1", 0, "P", 1);
    fx.row("H1", "a1", Some("install"), Some("verified"), 1);
    fx.row("H1", "a-deleted", Some("install"), Some("verified"), 1);
    fx.row("GONE", "a1", Some("install"), Some("verified"), 1);
    fx.row("NO-HOST-ROW", "a1", Some("install"), Some("verified"), 1);
    let o = run(&fx, Rules::default(), 5000);
    assert_eq!(
        o.legacy,
        set(&[
            "GONE a1 remove",
            "H1 a-deleted remove",
            "NO-HOST-ROW a1 remove"
        ])
    );
    // D5: the batched path never looks at hosts it does not list.
    assert_eq!(o.batched, set(&["H1 a-deleted remove"]));
    let aligned = run(
        &fx,
        Rules {
            d5_remove: true,
            ..Rules::default()
        },
        5000,
    );
    assert_eq!(aligned.batched, aligned.legacy);
}

#[test]
fn macos_only_profiles_never_reach_ios_and_are_not_removed() {
    let fx = Fixture::new();
    fx.mac(1, "MAC", None);
    fx.host(2, "IPHONE", "ios", None)
        .enroll("IPHONE", "Device", true, true);
    fx.host(3, "IPAD", "ipados", None)
        .enroll("IPAD", "Device", true, true);
    fx.profile("a-fd", 0, "Fleetd configuration", 1)
        .profile("a-de", 0, "Disk encryption", 1);
    fx.row("IPHONE", "a-de", Some("install"), Some("verified"), 1);
    let o = run(&fx, Rules::default(), 5000);
    let want = set(&["MAC a-de install", "MAC a-fd install"]);
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
}

#[test]
fn label_modes_and_their_divergences() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None);
    for id in 1..=4 {
        fx.label(id, 0, Some("2020-01-01 00:00:00"));
    }
    fx.member(1, 1).member(1, 3);
    // D1: include-all on label 2 (not member) + exclude label 4 (not member): legacy OR.
    fx.profile("a-d1", 0, "d1", 1)
        .scope("a-d1", Some(2), false, true)
        .scope("a-d1", Some(4), true, false);
    // D2: mixed includes, member of neither 2 nor 4: batched drops the gate.
    fx.profile("a-d2", 0, "d2", 1)
        .scope("a-d2", Some(2), false, true)
        .scope("a-d2", Some(4), false, false);
    // D3: only a (1,1) row on a label the host is not in: legacy never desires.
    fx.profile("a-d3", 0, "d3", 1)
        .scope("a-d3", Some(2), true, true);
    // Two arms pass (include-all 1 and include-any 3): legacy lists the pair twice.
    fx.profile("a-two", 0, "two", 1)
        .scope("a-two", Some(1), false, true)
        .scope("a-two", Some(3), false, false);
    let o = run(&fx, Rules::default(), 5000);
    assert_eq!(o.legacy, set(&["H1 a-d1 install", "H1 a-two install"]));
    assert_eq!(o.legacy_duplicates, 1);
    // a-two has mixed includes too: batched drops its gate (D2) and installs it once.
    assert_eq!(
        o.batched,
        set(&["H1 a-d2 install", "H1 a-d3 install", "H1 a-two install"])
    );
    let aligned = run(&fx, Rules::default().aligned_with_legacy(), 5000);
    assert_eq!(aligned.batched, aligned.legacy);
}

#[test]
fn duplicate_uuid_across_a_window_boundary() {
    let fx = Fixture::new();
    // Windows of 2 over A, B1, B2, C: the pair (B,id 2) / (B,id 3) straddles the boundary.
    fx.mac(1, "A", None)
        .mac(2, "B", None)
        .host(3, "B", "darwin", None)
        .mac(4, "C", None);
    fx.profile("a1", 0, "P", 1);
    let o = run(&fx, Rules::default(), 2);
    // Legacy collapses the two rows; batched visits A, B(2), then skips B(3) (uuid > 'B').
    let want = set(&["A a1 install", "B a1 install", "C a1 install"]);
    assert_eq!(o.legacy, want);
    assert_eq!(o.batched, want);
    let pass = batched::full_pass(
        &fx.conn,
        &BatchedConfig {
            batch_size: 2,
            rules: Rules::default(),
            variant: Default::default(),
        },
    )
    .unwrap();
    assert!(
        !pass.visited.contains(&3),
        "the second row of B is skipped (spec §6 D6)"
    );
    assert_eq!(pass.ticks.len(), 2);
}

#[test]
fn exact_multiple_of_the_batch_size_takes_one_more_empty_tick() {
    let fx = Fixture::new();
    for i in 1..=6 {
        fx.mac(i, &format!("H{i}"), None);
    }
    assert_eq!(
        run(&fx, Rules::default(), 3).ticks,
        3,
        "6 hosts / 3 = 2 ticks + 1 empty"
    );
    assert_eq!(run(&fx, Rules::default(), 4).ticks, 2, "ceil(6/4) = 2");
    assert_eq!(run(&fx, Rules::default(), 10).ticks, 1);
}

#[test]
fn d7_requires_host_mdm_enrolled_when_on() {
    let fx = Fixture::new();
    fx.mac(1, "H1", None).mac(2, "H2", None).unenrolled_mdm(2);
    fx.profile("a1", 0, "P", 1);
    let o = run(&fx, Rules::default(), 5000);
    assert_eq!(
        o.batched, o.legacy,
        "D7 off (as shipped): enrolled = 0 is still eligible"
    );
    let on = run(
        &fx,
        Rules {
            d7_require_enrolled: true,
            ..Rules::default()
        },
        5000,
    );
    assert_eq!(on.batched, set(&["H1 a1 install"]));
}

/// `compare`'s class of each divergent pair: `(host, profile, class)`.
fn classes_of(fx: &Fixture) -> Vec<(String, String, String)> {
    use reconsim::analysis::equivalence::{Classifier, compare};
    let cfg = BatchedConfig {
        batch_size: 10,
        rules: Rules::default(),
        variant: Default::default(),
    };
    let pass = batched::full_pass(&fx.conn, &cfg).expect("pass");
    let l = reconsim::paths::legacy::run(&fx.conn, LegacySql::Tuned).expect("legacy");
    let mut all = l.installs;
    all.extend(l.removes);
    let profiles = batched::load_profiles(&fx.conn).expect("profiles");
    let mut c = Classifier::new(&fx.conn, cfg.rules, profiles, &pass.visited);
    let mut out: Vec<(String, String, String)> = compare(&mut c, &all, &pass.deltas)
        .expect("compare")
        .divergences
        .into_iter()
        .map(|d| (d.host_uuid, d.profile_uuid, d.class.to_string()))
        .collect();
    out.sort();
    out
}

fn triple(h: &str, p: &str, c: &str) -> (String, String, String) {
    (h.into(), p.into(), c.into())
}

/// Semantics §6: D6 counts *eligible* rows of the uuid. A second row on another platform is
/// listed by neither path, so the pair's real cause (here D8: an exclude label with no
/// creation time) names it.
#[test]
fn d6_counts_only_eligible_rows_of_the_uuid() {
    let fx = Fixture::new();
    fx.mac(1, "A", None).host(2, "A", "windows", None);
    fx.label(7, 0, None);
    fx.profile("p1", 0, "P", 1)
        .scope("p1", Some(7), true, false);
    assert_eq!(classes_of(&fx), [triple("A", "p1", "D8")]);
    // A second *eligible* row makes it D6, which comes before D8 in the fact order.
    fx.mac(3, "B", None).host(4, "B", "darwin", None);
    assert_eq!(
        classes_of(&fx),
        [triple("A", "p1", "D8"), triple("B", "p1", "D6")]
    );
}

/// Semantics §6: an exclude row whose `label_id` names no `labels` row (foreign keys
/// unenforced) has no creation time either: D8.
#[test]
fn an_exclude_label_id_naming_no_label_is_d8() {
    let fx = Fixture::new();
    fx.conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    fx.mac(1, "A", None);
    fx.profile("p1", 0, "P", 1)
        .scope("p1", Some(99), true, false);
    assert_eq!(fx.count("labels"), 0);
    assert_eq!(classes_of(&fx), [triple("A", "p1", "D8")]);
}

/// The fact order D5, D9, D6, D8: a pair of the uuid `''` is D9 even where its profile's
/// exclude label has no creation time (D8 holds too); a row of a host that is not eligible is
/// D5.
#[test]
fn facts_are_tried_in_the_order_d5_d9_d6_d8() {
    let fx = Fixture::new();
    fx.mac(1, "", None).mac(2, "A", None);
    fx.label(7, 0, None).label(8, 0, Some(T0)).member(1, 8);
    // p1: only the exclude label with no creation time. Legacy never desires it (D8); batched
    // installs it on A and never lists "".
    fx.profile("p1", 0, "P1", 1)
        .scope("p1", Some(7), true, false);
    // p2: include-any 8 (only "" is a member) and the same exclude: legacy's include-any arm
    // passes for "" (D9 and D8 both hold: D9 names it).
    fx.profile("p2", 0, "P2", 1)
        .scope("p2", Some(8), false, false)
        .scope("p2", Some(7), true, false);
    assert_eq!(
        classes_of(&fx),
        [triple("", "p2", "D9"), triple("A", "p1", "D8")]
    );
    // A stale row of a host that is not eligible: legacy removes it, batched never looks (D5).
    fx.host(3, "W", "windows", None)
        .row("W", "p1", Some("install"), Some("verified"), 1);
    assert_eq!(
        classes_of(&fx),
        [
            triple("", "p2", "D9"),
            triple("A", "p1", "D8"),
            triple("W", "p1", "D5")
        ]
    );
}
