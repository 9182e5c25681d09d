//! `reconsim repro` and the batched versions of spec §8 through the real binary: every catalog
//! entry reproduces (bugs) or runs clean as expected (fixed twins); bad input exits 2.

use crate::util::{Workdir, expect_error, scenario, scenario_text};

const CATALOG: [&str; 14] = [
    "b1", "b1-fixed", "b2", "b2-fixed", "b3", "b3-fixed", "b3-loud", "b3-drain", "b4", "b4-fixed",
    "b5", "b5-fixed", "b6", "b6-fixed",
];

#[test]
fn repro_list_shows_six_bugs_and_their_twins() {
    let wd = Workdir::new();
    let out = wd.cmd(&["repro", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, CATALOG);
    for b in 1..=6 {
        assert!(text.contains(&format!("B{b} ")), "B{b} missing: {text}");
    }
}

#[test]
fn every_fixed_twin_is_clean() {
    for name in CATALOG.iter().filter(|n| n.ends_with("-fixed")) {
        let text = std::fs::read_to_string(scenario(&format!("bugs/{name}.toml"))).unwrap();
        assert!(
            text.contains("findings = []"),
            "{name} does not expect a clean run"
        );
        assert!(!text.contains("[faults]"), "{name} injects a fault");
    }
}

#[test]
fn every_catalog_entry_reproduces() {
    let wd = Workdir::new();
    for name in CATALOG {
        let out = wd.cmd(&["repro", name]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}:\n{text}");
        assert!(text.starts_with(&format!("REPRODUCED {name}: ")), "{text}");
        assert!(!text.contains("[FAILED]"), "{text}");
    }
}

#[test]
fn b1_shows_fleets_error_and_a_stuck_cursor() {
    let wd = Workdir::new();
    let out = wd.cmd(&["repro", "b1"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "scan error on column index 4, name \"label_created_at\": unsupported scan, storing text into a timestamp"
        ),
        "{text}"
    );
    assert!(text.contains("stuck_cursor"), "{text}");
}

/// Runs `repro` on a scenario file written from `text`, asserts its exit code, returns stdout.
fn repro_file(wd: &Workdir, name: &str, text: &str, code: i32) -> String {
    let f = wd.write(name, text);
    let out = wd.cmd(&["repro", f.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    stdout
}

#[test]
fn a_wrong_expectation_is_not_reproduced_and_exits_1() {
    let wd = Workdir::new();
    // b1-fixed's fleet, expecting B1's error: it does not happen.
    let text = std::fs::read_to_string(scenario("bugs/b1-fixed.toml"))
        .unwrap()
        .replace("findings = []", "error_contains = \"unsupported scan\"");
    let stdout = repro_file(&wd, "wrong.toml", &text, 1);
    assert!(stdout.starts_with("NOT REPRODUCED"), "{stdout}");
    assert!(stdout.contains("[FAILED] error_contains"), "{stdout}");
}

#[test]
fn the_seed_variant_fails_diff_with_the_scan_error_and_latest_runs() {
    let wd = Workdir::new();
    wd.cmd(&[
        "generate",
        "--scenario",
        &scenario("quick.toml"),
        "--db",
        "q.db",
        "-q",
    ])
    .assert()
    .success();
    let line = expect_error(wd.cmd(&[
        "diff",
        "--db",
        "q.db",
        "--path",
        "batched",
        "--variant",
        "seed",
        "-q",
    ]));
    assert!(line.contains("unsupported scan"), "{line}");
    wd.cmd(&[
        "diff",
        "--db",
        "q.db",
        "--path",
        "batched",
        "--variant",
        "latest",
        "-q",
        "--out",
        "l.csv",
    ])
    .assert()
    .success();
}

#[test]
fn bad_variant_expect_and_fault_names_are_refused() {
    let wd = Workdir::new();
    let line = expect_error(wd.cmd(&["repro", "b1", "--bogus"]));
    assert!(line.contains("--bogus"), "{line}");
    let line = expect_error(wd.cmd(&[
        "loadtest",
        "--scenario",
        &scenario("quick.toml"),
        "--variant",
        "newest",
    ]));
    assert!(line.contains("newest"), "{line}");
    let quick = scenario_text("quick.toml");
    let f = wd.write(
        "e.toml",
        &format!("{quick}\n[expect]\nsummary = \"x\"\nstuck = true\n"),
    );
    let line = expect_error(wd.cmd(&["repro", f.to_str().unwrap()]));
    assert!(line.contains("stuck"), "{line}");
    let f = wd.write(
        "f.toml",
        &format!("{quick}\n[[faults.error]]\nphase = \"windows\"\ntick = 1\n"),
    );
    let line = expect_error(wd.cmd(&["repro", f.to_str().unwrap()]));
    assert!(
        line.contains("faults.error[0].phase") && line.contains("windows"),
        "{line}"
    );
    let f = wd.write("n.toml", &quick);
    let line = expect_error(wd.cmd(&["repro", f.to_str().unwrap()]));
    assert!(line.contains("no [expect] section"), "{line}");
    let f = wd.write(
        "v.toml",
        &quick.replace("[run]", "[run]\nvariant = \"newest\""),
    );
    let line = expect_error(wd.cmd(&["repro", f.to_str().unwrap()]));
    assert!(line.contains("variant"), "{line}");
}

/// The edge-case fleet as `e.db` in the workdir.
fn generate_edge_cases(wd: &Workdir) {
    wd.cmd(&[
        "generate",
        "--scenario",
        &scenario("edge-cases.toml"),
        "--db",
        "e.db",
        "-q",
    ])
    .assert()
    .success();
}

/// Unexplained pairs and liveness findings of one `compare` summary.
fn caught(summary: &str) -> (u64, String) {
    let unexplained = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("unexplained"))
        .map_or(0, |n| n.trim().parse().unwrap());
    let liveness = summary
        .lines()
        .find_map(|l| l.strip_prefix("liveness: "))
        .unwrap_or("")
        .to_string();
    (unexplained, liveness)
}

#[test]
fn compare_catches_every_mutant_on_the_edge_case_fleet() {
    let wd = Workdir::new();
    generate_edge_cases(&wd);
    let run = |extra: &[&str]| -> String {
        let mut args = vec![
            "compare",
            "--db",
            "e.db",
            "--align-with-legacy",
            "-q",
            "--out-dir",
            "c",
        ];
        args.extend_from_slice(extra);
        let out = wd.cmd(&args).output().unwrap();
        assert!(out.status.code().unwrap() <= 1, "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The unmutated path: every divergence explained by a fact, no liveness finding.
    let (base_unexplained, base_liveness) = caught(&run(&[]));
    assert_eq!(base_unexplained, 0);
    assert!(base_liveness.starts_with("no finding"), "{base_liveness}");
    let mutants = [
        "window-off-by-one",
        "cursor-ge",
        "no-broken-check",
        "timing-le",
        "any-as-all",
    ];
    let mut killed = Vec::new();
    for m in mutants {
        let summary = run(&["--mutate", m]);
        assert!(summary.contains(&format!("mutant: {m}")), "{summary}");
        let (unexplained, liveness) = caught(&summary);
        if unexplained > 0 || !liveness.starts_with("no finding") {
            killed.push(m);
        }
    }
    assert_eq!(killed, mutants, "kill rate below 100 %");
}

#[test]
fn shrink_reduces_a_seeded_divergence_to_a_handful_of_rows() {
    let wd = Workdir::new();
    generate_edge_cases(&wd);
    let out = wd
        .cmd(&[
            "shrink",
            "--db",
            "e.db",
            "--class",
            "D1",
            "--out-dir",
            "r",
            "-q",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let sql = std::fs::read_to_string(wd.path("r/repro.sql")).unwrap();
    let rows = sql.lines().filter(|l| l.starts_with("INSERT")).count();
    assert!((1..=10).contains(&rows), "{rows} rows:\n{sql}");
    let toml = std::fs::read_to_string(wd.path("r/repro.toml")).unwrap();
    assert!(toml.contains("class = \"D1\""), "{toml}");
    // The one-line command shows the divergence on the minimal database.
    let command = stdout
        .lines()
        .find_map(|l| l.strip_prefix("show it: reconsim "))
        .unwrap();
    let args: Vec<&str> = command.split_whitespace().collect();
    let shown = wd.cmd(&args).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(shown.status.code(), Some(1), "{text}");
    assert!(
        text.contains("equivalence: diverges only in known classes: 1 divergent pairs"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.trim() == "D1           1"), "{text}");
    // No divergence of the class: one line, exit 2.
    let line = expect_error(wd.cmd(&["shrink", "--db", "e.db", "--out-dir", "r2", "-q"]));
    assert!(
        line.contains("no divergent pair of class \"unexplained\""),
        "{line}"
    );
}

#[test]
fn a_failing_cursor_read_restarts_every_tick_from_the_beginning() {
    let wd = Workdir::new();
    // b2-fixed's clean fleet, with cursor reads failing from tick 2: a read error means "start
    // from the beginning" (spec §4.1), so the first window comes back and later hosts starve.
    let text = std::fs::read_to_string(scenario("bugs/b2-fixed.toml"))
        .unwrap()
        .replace(
            "[expect]",
            "[faults]\ncursor_read_fail_from_tick = 2\n\n[expect]",
        )
        .replace("findings = []", "starved_hosts_min = 1");
    let stdout = repro_file(&wd, "read.toml", &text, 0);
    // From tick 2 on every tick reads "" and visits the first window again.
    assert!(stdout.contains("\n      3  \"\" -> "), "{stdout}");
    assert!(stdout.contains("revisited_hosts"), "{stdout}");
}

#[test]
fn unknown_mutant_names_are_refused() {
    let wd = Workdir::new();
    let line = expect_error(wd.cmd(&["compare", "--db", "x.db", "--mutate", "window-off-by-two"]));
    assert!(line.contains("window-off-by-two"), "{line}");
}

#[test]
fn b6_shows_in_legacy_even_when_latest_fixes_it() {
    let wd = Workdir::new();
    let out = wd.cmd(&["repro", "b6-fixed"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("B6 pairs withheld"))
        .unwrap();
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 2, "{line}");
    assert_eq!(n[0], 0, "latest withholds nothing: {line}");
    assert!(n[1] > 0, "legacy carries B6: {line}");
}
