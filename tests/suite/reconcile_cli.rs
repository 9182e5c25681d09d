//! `diff` and `compare` through the real binary: headers, sort order, exit codes, bad input.

use crate::util::{Workdir, expect_error, scenario};

fn generate(wd: &Workdir, name: &str, db: &str) {
    let s = scenario(name);
    wd.cmd(&["generate", "--scenario", &s, "--db", db, "-q"])
        .assert()
        .success();
}

fn stdout(mut cmd: assert_cmd::Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn diff_writes_sorted_deduplicated_csv_for_both_paths() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    for path in ["legacy", "batched"] {
        let text = stdout(wd.cmd(&["diff", "--db", "f.db", "--path", path]), 0);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("host_uuid,profile_uuid,operation"));
        let rows: Vec<&str> = lines.collect();
        assert!(rows.len() > 100, "{path}: {} rows", rows.len());
        let mut sorted = rows.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(rows, sorted, "{path}: not sorted and de-duplicated");
        assert!(
            rows.iter()
                .all(|r| r.ends_with(",install") || r.ends_with(",remove"))
        );
    }
    // --out FILE writes the same bytes, atomically.
    let text = stdout(wd.cmd(&["diff", "--db", "f.db", "--path", "legacy"]), 0);
    wd.cmd(&["diff", "--db", "f.db", "--path", "legacy", "--out", "l.csv"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(wd.path("l.csv")).unwrap(), text);
}

#[test]
fn legacy_forms_give_identical_output() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let a = stdout(
        wd.cmd(&[
            "diff",
            "--db",
            "f.db",
            "--path",
            "legacy",
            "--legacy-sql",
            "as-written",
        ]),
        0,
    );
    let b = stdout(
        wd.cmd(&[
            "diff",
            "--db",
            "f.db",
            "--path",
            "legacy",
            "--legacy-sql",
            "tuned",
        ]),
        0,
    );
    assert_eq!(a, b);
}

#[test]
fn compare_exits_1_and_explains_every_divergence() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let out = stdout(wd.cmd(&["compare", "--db", "f.db", "--out-dir", "cmp"]), 1);
    assert!(out.contains("seed: 42"), "{out}");
    assert!(
        out.contains("equivalence: diverges only in known classes: "),
        "{out}"
    );
    assert!(!out.contains("unexplained"), "{out}");
    let csv = std::fs::read_to_string(wd.path("cmp/divergences.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "host_uuid,profile_uuid,legacy_op,batched_op,class,legacy_why,batched_why,current_row"
        )
    );
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let mut classes = std::collections::BTreeSet::new();
    let mut per_class = std::collections::BTreeMap::<String, usize>::new();
    let mut last: Option<(String, String)> = None;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        // Streamed in strictly increasing (host_uuid, profile_uuid) order, one row a pair.
        let key = (rec[0].to_string(), rec[1].to_string());
        assert!(last.as_ref() < Some(&key), "{last:?} then {key:?}");
        last = Some(key);
        *per_class.entry(rec[4].to_string()).or_default() += 1;
        assert_ne!(rec[2].to_string(), rec[3].to_string());
        // One value per cell: each side's reason, then the current row.
        assert!(!rec[5].is_empty() && !rec[6].is_empty(), "{rec:?}");
        assert!(
            rec[7] == *"none" || rec[7].matches('/').count() == 1,
            "{rec:?}"
        );
        classes.insert(rec[4].to_string());
    }
    for c in ["D1", "D2", "D3", "D4", "D5", "D6", "D8", "D9"] {
        assert!(classes.contains(c), "class {c} missing from {classes:?}");
    }
    // The summary's counts are the file's rows, class by class.
    let total: usize = per_class.values().sum();
    assert!(
        out.contains(&format!(": {total} divergent pairs (")),
        "{out}"
    );
    for (class, n) in &per_class {
        assert!(
            out.contains(&format!("  {class:<12} {n}\n")),
            "{class} {n}: {out}"
        );
    }
    assert!(wd.path("cmp/summary.txt").exists());
    // Nothing half-written left beside the results.
    let names: Vec<String> = std::fs::read_dir(wd.path("cmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn compare_side_by_side_writes_what_one_connection_writes() {
    // Two connections (the default on an SQLite file) and one (`--sequential`): the same
    // divergences, byte for byte, and the same summary but for the times; both exit 1.
    let wd = Workdir::new();
    generate(&wd, "quick.toml", "f.db");
    let two = stdout(wd.cmd(&["compare", "--db", "f.db", "--out", "two"]), 1);
    let one = stdout(
        wd.cmd(&["compare", "--db", "f.db", "--out", "one", "--sequential"]),
        1,
    );
    let csv = |d: &str| std::fs::read(wd.path(&format!("{d}/divergences.csv"))).unwrap();
    assert!(csv("one").len() > 200_000, "{}", csv("one").len());
    assert!(csv("one") == csv("two"), "divergences.csv differs");
    let untimed = |s: &str| {
        s.lines()
            .take_while(|l| !l.starts_with("timings"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    assert!(one.contains("liveness: "), "{one}");
    assert_eq!(untimed(&one), untimed(&two));
    assert!(
        two.contains("timings (ms, side by side on two connections"),
        "{two}"
    );
    assert!(!one.contains("side by side"), "{one}");
    // compare's own page cache (the legacy diff's sorts are sized from it), unless given.
    assert!(
        two.contains(
            "  reads: page cache 64 MiB (second connection 64 MiB), memory map 2047 MiB\n"
        ),
        "{two}"
    );
    assert!(
        one.contains("  reads: page cache 64 MiB, memory map 2047 MiB\n"),
        "{one}"
    );
    let given = stdout(
        wd.cmd(&[
            "compare",
            "--db",
            "f.db",
            "--out",
            "given",
            "--cache-mib",
            "16",
            "--mmap-mib",
            "0",
        ]),
        1,
    );
    assert!(
        given.contains("  reads: page cache 16 MiB (second connection 16 MiB), memory map 0 MiB\n"),
        "{given}"
    );
    // More than SQLite maps is refused, not cut silently.
    let out = wd
        .cmd(&[
            "compare",
            "--db",
            "f.db",
            "--out",
            "more",
            "--mmap-mib",
            "4096",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--mmap-mib") && err.contains("more than SQLite maps (2047 MiB"),
        "{err}"
    );
    assert!(!wd.path("more").exists());
}

#[test]
fn compare_aligned_leaves_only_fact_classes() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    wd.cmd(&[
        "compare",
        "--db",
        "f.db",
        "--out-dir",
        "cmp",
        "--align-with-legacy",
    ])
    .assert()
    .code(1);
    let csv = std::fs::read_to_string(wd.path("cmp/divergences.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    for rec in rdr.records() {
        let rec = rec.unwrap();
        assert!(["D6", "D8", "D9"].contains(&&rec[4]), "{:?}", rec);
    }
}

#[test]
fn compare_exits_0_on_an_equivalent_fleet() {
    let wd = Workdir::new();
    let text = crate::util::scenario_text("quick.toml");
    // No feature that makes the paths differ: no labels, no secrets, all hosts eligible.
    let text = text
        .replace("duplicate_uuid_rate = 0.005", "duplicate_uuid_rate = 0.0")
        .replace("none = 0.55", "none = 1.0")
        .replace("include_all = 0.08", "include_all = 0.0")
        .replace("include_any = 0.10", "include_any = 0.0")
        .replace("exclude_any = 0.12", "exclude_any = 0.0")
        .replace("include_all_exclude = 0.04", "include_all_exclude = 0.0")
        .replace("include_any_exclude = 0.05", "include_any_exclude = 0.0")
        .replace("mixed_include = 0.04", "mixed_include = 0.0")
        .replace("exclude_require_all = 0.02", "exclude_require_all = 0.0")
        .replace("secrets_share = 0.1", "secrets_share = 0.0")
        .replace(
            "ineligible_host_rows_share = 0.3",
            "ineligible_host_rows_share = 0.0",
        )
        .replace("deleted_hosts = 3", "deleted_hosts = 0");
    wd.write("eq.toml", &text);
    wd.cmd(&["generate", "--scenario", "eq.toml", "--db", "f.db", "-q"])
        .assert()
        .success();
    let out = stdout(wd.cmd(&["compare", "--db", "f.db", "--out-dir", "cmp"]), 0);
    assert!(out.contains("equivalence: identical\n"), "{out}");
    let csv = std::fs::read_to_string(wd.path("cmp/divergences.csv")).unwrap();
    assert_eq!(
        csv,
        "host_uuid,profile_uuid,legacy_op,batched_op,class,legacy_why,batched_why,current_row\n"
    );
}

#[test]
fn unknown_rule_is_rejected() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let line = expect_error(wd.cmd(&[
        "diff", "--db", "f.db", "--path", "batched", "--rule", "d9=on",
    ]));
    assert_eq!(
        line,
        "error: --rule \"d9=on\": unknown rule \"d9\" (known: d1, d2, d3, d4, d5, d7)"
    );
}

#[test]
fn a_rule_changes_the_batched_output() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let a = stdout(wd.cmd(&["diff", "--db", "f.db", "--path", "batched"]), 0);
    let b = stdout(
        wd.cmd(&[
            "diff",
            "--db",
            "f.db",
            "--path",
            "batched",
            "--rule",
            "d5=remove",
        ]),
        0,
    );
    assert!(b.lines().count() > a.lines().count());
}

#[test]
fn a_database_missing_a_contract_table_is_named() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    conn.execute_batch("DROP TABLE label_membership").unwrap();
    drop(conn);
    for cmd in [
        vec!["diff", "--db", "f.db", "--path", "legacy"],
        vec!["compare", "--db", "f.db", "--out-dir", "cmp"],
    ] {
        let line = expect_error(wd.cmd(&cmd));
        assert_eq!(
            line,
            "error: schema contract (spec §1): missing table `label_membership`"
        );
    }
    assert!(!wd.path("cmp/divergences.csv").exists());
}

#[test]
fn a_malformed_timestamp_names_table_column_and_row() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    conn.execute_batch("UPDATE hosts SET label_updated_at = '2026-06-01T10:00:00Z' WHERE id = 17")
        .unwrap();
    drop(conn);
    for path in ["legacy", "batched"] {
        let line = expect_error(wd.cmd(&["diff", "--db", "f.db", "--path", path]));
        assert_eq!(
            line,
            "error: table `hosts`, column `label_updated_at`, host id 17: \
             \"2026-06-01T10:00:00Z\" is not a `YYYY-MM-DD HH:MM:SS` timestamp (spec §1)"
        );
    }
}

#[test]
fn diff_works_on_a_hand_written_database() {
    let wd = Workdir::new();
    let conn = rusqlite::Connection::open(wd.path("hand.db")).unwrap();
    conn.execute_batch(&reconsim::store::schema::migration_tables())
        .unwrap();
    conn.execute_batch(
        "INSERT INTO hosts (id, uuid, platform) VALUES (1, 'U1', 'darwin');
         INSERT INTO nano_devices VALUES ('U1', '2026-01-01 00:00:00');
         INSERT INTO nano_enrollments (id, device_id, type) VALUES ('U1', 'U1', 'Device');
         INSERT INTO mdm_apple_configuration_profiles (profile_uuid, identifier, name, checksum)
           VALUES ('a1', 'com.x', 'X', x'01');",
    )
    .unwrap();
    drop(conn);
    for path in ["legacy", "batched"] {
        let text = stdout(wd.cmd(&["diff", "--db", "hand.db", "--path", path]), 0);
        assert_eq!(
            text, "host_uuid,profile_uuid,operation\nU1,a1,install\n",
            "{path}"
        );
    }
}

#[test]
fn measure_writes_runs_and_summary() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "f.db");
    let out = stdout(
        wd.cmd(&["measure", "--db", "f.db", "--runs", "2", "--out-dir", "m"]),
        0,
    );
    assert!(out.contains("seed: 42"), "{out}");
    assert!(
        out.contains("median in-run ratios: legacy/batched"),
        "{out}"
    );
    let csv = std::fs::read_to_string(wd.path("m/runs.csv")).unwrap();
    assert!(
        csv.starts_with("run,what,phase,duration_ms\n1,floor,total,"),
        "{csv}"
    );
    for needle in [
        "2,legacy,desired,",
        "2,batched,current_rows,",
        "2,batched,total,",
    ] {
        assert!(csv.contains(needle), "{needle} missing: {csv}");
    }
    assert_eq!(
        std::fs::read_to_string(wd.path("m/summary.txt")).unwrap(),
        out
    );
    let once = |only: &str, out: &str| {
        stdout(
            wd.cmd(&[
                "measure",
                "--db",
                "f.db",
                "--runs",
                "1",
                "--only",
                only,
                "--out-dir",
                out,
            ]),
            0,
        )
    };
    let only = once("batched", "b");
    assert!(!only.contains("legacy   total"), "{only}");
    assert!(only.contains("batched  total"), "{only}");
    // The default set leaves the reads pass out; named, it is timed and its ratios printed.
    assert!(!out.contains("reads"), "{out}");
    let reads = once("floor,batched,reads", "r");
    for needle in [
        "  reads    current_rows",
        "  reads    total",
        "reads/floor ",
        "batched/reads ",
    ] {
        assert!(reads.contains(needle), "{needle} missing: {reads}");
    }
    // On a server it is refused before anything is opened or written.
    let refused = wd
        .cmd(&[
            "measure",
            "--backend",
            "mysql://u:p@127.0.0.1:1/fleet",
            "--only",
            "reads",
            "--out",
            "s",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        err.contains("--only reads") && err.contains("SQLite only"),
        "{err}"
    );
    assert!(!wd.path("s").exists());
}

#[test]
fn scenario_rules_are_the_default_and_the_command_line_overrides_them() {
    let wd = Workdir::new();
    generate(&wd, "edge-cases.toml", "plain.db");
    let text =
        crate::util::scenario_text("edge-cases.toml").replace("d5 = \"ignore\"", "d5 = \"remove\"");
    wd.write("d5.toml", &text);
    wd.cmd(&["generate", "--scenario", "d5.toml", "--db", "d5.db", "-q"])
        .assert()
        .success();
    let plain = stdout(
        wd.cmd(&["diff", "--db", "plain.db", "--path", "batched"]),
        0,
    );
    let d5 = stdout(wd.cmd(&["diff", "--db", "d5.db", "--path", "batched"]), 0);
    assert!(
        d5.lines().count() > plain.lines().count(),
        "the scenario's d5=remove applies"
    );
    let back = stdout(
        wd.cmd(&[
            "diff",
            "--db",
            "d5.db",
            "--path",
            "batched",
            "--rule",
            "d5=ignore",
        ]),
        0,
    );
    assert_eq!(back, plain, "--rule overrides the scenario");
    let out = stdout(wd.cmd(&["compare", "--db", "d5.db", "--out-dir", "c"]), 1);
    assert!(
        out.contains("rules: d1=and,d2=drop,d3=exclude,d4=install,d5=remove,d7=off"),
        "{out}"
    );
}

/// `tick` (issue 6): the cursor lives in the database, so a second process continues the
/// pass where the first stopped, and a full pass covers every eligible host once; a failing
/// tick (B1 under `seed`) exits 1 with the scan error on its line.
#[test]
fn tick_continues_across_processes_and_reports_failures() {
    let wd = Workdir::new();
    generate(&wd, "quick.toml", "f.db");
    let run = |extra: &[&str], code| {
        let mut args = vec!["tick", "--db", "f.db", "--batch-size", "700"];
        args.extend_from_slice(extra);
        stdout(wd.cmd(&args), code)
    };
    let first = run(&["--ticks", "1"], 0);
    let line = first.lines().nth(1).unwrap();
    assert!(line.starts_with("tick 1: cursor \"\" -> \""), "{first}");
    let after = line
        .split(" -> ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let second = run(&["--ticks", "2"], 0);
    assert!(
        second.contains(&format!("tick 1: cursor {after} -> ")),
        "{first}\n{second}"
    );
    assert!(second.contains("(pass complete)"), "{second}");
    let hosts: usize = [first.as_str(), second.as_str()]
        .iter()
        .flat_map(|t| t.lines().skip(1))
        .map(|l| {
            l.split(", ")
                .nth(1)
                .unwrap()
                .trim_end_matches(" hosts")
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    // One pass lists every eligible host row once (spec §4.1), the uuid '' excepted (D9).
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    let listed: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM hosts h WHERE h.uuid > '' AND {}",
                reconsim::domain::eligibility::ELIGIBLE_HOST
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hosts as i64, listed);
    let again = run(&["--reset-cursor"], 0);
    assert!(again.contains("tick 1: cursor \"\" -> "), "{again}");
    let failed = run(&["--variant", "seed", "--reset-cursor"], 1);
    assert!(
        failed.contains("error: scan error on column index 4, name \"label_created_at\""),
        "{failed}"
    );
    let line = expect_error(wd.cmd(&["tick", "--db", "f.db", "--cursor", "memcached://x"]));
    assert!(
        line.contains("expected db, file:PATH or redis://HOST:PORT"),
        "{line}"
    );
}

/// `--variant drain` (semantics §10) in `diff`, `compare` and `tick`: a drain pass delivers the
/// same deltas as `latest`'s one window a tick, whatever the knobs; `tick` reports the loop.
#[test]
fn drain_runs_in_diff_compare_and_tick() {
    let wd = Workdir::new();
    generate(&wd, "quick.toml", "f.db");
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "--db", "f.db", "--path", "batched", "--out", "-"];
        args.extend_from_slice(extra);
        stdout(wd.cmd(&args), 0)
    };
    let latest = diff(&["--variant", "latest"]);
    assert!(latest.lines().count() > 100, "{latest}");
    for knobs in [
        &["--variant", "drain"][..],
        &[
            "--variant",
            "drain",
            "--window",
            "7",
            "--cap",
            "5",
            "--budget",
            "windows:2",
        ],
        &[
            "--variant",
            "drain",
            "--window",
            "300",
            "--cap",
            "0",
            "--budget",
            "1ms",
        ],
    ] {
        assert_eq!(diff(knobs), latest, "{knobs:?}");
    }
    // compare: the same divergences as latest, the knobs said, liveness not judged.
    let cmp = |extra: &[&str], out: &str| {
        let mut args = vec!["compare", "--db", "f.db", "--out", out];
        args.extend_from_slice(extra);
        wd.cmd(&args).output().unwrap()
    };
    let a = cmp(&["--variant", "latest"], "a");
    let b = cmp(
        &["--variant", "drain", "--cap", "9", "--budget", "windows:3"],
        "b",
    );
    assert_eq!(a.status.code(), b.status.code());
    let text = String::from_utf8_lossy(&b.stdout);
    assert!(
        text.contains("drain: window 2000, cap 9, budget windows:3"),
        "{text}"
    );
    assert!(text.contains("liveness: not judged"), "{text}");
    assert_eq!(
        std::fs::read(wd.path("a/divergences.csv")).unwrap(),
        std::fs::read(wd.path("b/divergences.csv")).unwrap()
    );
    // tick: the cap cuts the first window; the next tick continues after the last delivered
    // host, across processes (the cursor in a file).
    let tick = || {
        stdout(
            wd.cmd(&[
                "tick",
                "--db",
                "f.db",
                "--cursor",
                "file:c.txt",
                "--variant",
                "drain",
                "--window",
                "50",
                "--cap",
                "3",
                "--budget",
                "windows:4",
            ]),
            0,
        )
    };
    let first = tick();
    assert!(
        first.contains("1 windows, 3 hosts with work, stopped: partial"),
        "{first}"
    );
    let cursor = std::fs::read_to_string(wd.path("c.txt")).unwrap();
    let second = tick();
    assert!(
        second.contains(&format!("tick 1: cursor {:?} -> ", cursor.trim())),
        "{second}"
    );
}

/// The commands that do not run the drain loop yet refuse it in one line, before creating
/// anything; a malformed budget is named.
#[test]
fn drain_is_refused_where_it_does_not_run_yet() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let line = expect_error(wd.cmd(&[
        "loadtest",
        "--scenario",
        &quick,
        "--variant",
        "drain",
        "--out",
        "r",
        "-q",
    ]));
    assert!(
        line.contains("in a loadtest the drain loop is a path of its own")
            && line.contains("--approach drain"),
        "{line}"
    );
    assert!(!wd.path("r").exists(), "nothing created");
    generate(&wd, "quick.toml", "f.db");
    let line = expect_error(wd.cmd(&["shrink", "--db", "f.db", "--variant", "drain", "-q"]));
    assert!(line.contains("`shrink` does not run"), "{line}");
    // measure times a drain pass (its ticks' phases summed over their windows).
    wd.cmd(&[
        "measure",
        "--db",
        "f.db",
        "--variant",
        "drain",
        "--runs",
        "1",
        "--only",
        "batched",
        "--cap",
        "0",
        "--budget",
        "windows:2",
        "--out",
        "m",
        "-q",
    ])
    .assert()
    .success();
    let runs = std::fs::read_to_string(wd.path("m/runs.csv")).unwrap();
    assert!(
        runs.contains("batched,window,") && runs.contains("batched,total,"),
        "{runs}"
    );
    let line = expect_error(wd.cmd(&[
        "diff", "--db", "f.db", "--path", "batched", "--budget", "12x",
    ]));
    assert!(
        line.contains("--budget") && line.contains("windows:K"),
        "{line}"
    );
}
