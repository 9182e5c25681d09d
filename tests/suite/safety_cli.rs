//! Issue 11 through the real binary: scenarios that cannot fit are refused naming their key,
//! bad data in a database is one line naming table, column and row for every command that
//! reads it, foreign databases are not written, `generate` never replaces or corrupts a file
//! it should not, and a signal leaves no temp file.

use crate::util::{Workdir, expect_error, scenario, scenario_text};

/// Writes quick.toml with `from` replaced by `to`, runs generate, returns the error line and
/// checks nothing but the scenario was left.
fn refused(from: &str, to: &str) -> String {
    let wd = Workdir::new();
    let text = scenario_text("quick.toml");
    assert!(text.contains(from), "{from:?} not in quick.toml");
    wd.write("s.toml", &text.replacen(from, to, 1));
    let line = expect_error(wd.cmd(&["generate", "--scenario", "s.toml", "--db", "f.db"]));
    assert_eq!(wd.listing(), vec!["s.toml"], "something was left behind");
    line
}

#[test]
fn scenarios_that_cannot_fit_are_refused_naming_the_key() {
    for (from, to, key) in [
        ("count = 2000 ", "count = 1000000000000 ", "hosts.count"),
        ("teams = 4 ", "teams = 4294967295 ", "hosts.teams"),
        (
            "membership_flips_per_min = 20 ",
            "membership_flips_per_min = 1e300 ",
            "loadtest.membership_flips_per_min",
        ),
        (
            "now = \"2026-06-01 12:00:00\"",
            "now = \"0000-01-01 00:00:00\"",
            "run.now",
        ),
        (
            "now = \"2026-06-01 12:00:00\"",
            "now = \"9999-12-31 00:00:00\"",
            "run.now",
        ),
        (
            "max_age_hours = 24 ",
            "max_age_hours = 4294967295 ",
            "hosts.label_updated_at.max_age_hours",
        ),
    ] {
        let line = refused(from, to);
        assert!(line.contains(&format!("key `{key}`")), "{to}: {line}");
    }
    let line = refused("[loadtest]", "[faults]\nbusy_write_ms = 20\n\n[loadtest]");
    assert!(
        line.contains("key `faults.busy_write_ms`: needs `busy_write_probability`"),
        "{line}"
    );
}

#[test]
fn a_fleet_larger_than_memory_is_refused_saying_what_it_needs() {
    // Within the supported bound but past this machine's memory (24 GiB: ~1M hosts fit).
    let line = refused("count = 2000 ", "count = 19000000 ");
    assert!(
        line.contains("hosts.count = 19000000: generating it needs about"),
        "{line}"
    );
    assert!(line.contains("GiB available here"), "{line}");
}

#[test]
fn a_fifo_or_folder_as_scenario_is_refused_not_waited_on() {
    let wd = Workdir::new();
    std::fs::create_dir(wd.path("dir.toml")).unwrap();
    let line = expect_error(wd.cmd(&["generate", "--scenario", "dir.toml", "--db", "f.db"]));
    assert_eq!(
        line,
        "error: scenario dir.toml: not a regular file (a folder)"
    );
    let fifo = wd.path("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let line = expect_error(wd.cmd(&["loadtest", "--scenario", "fifo.toml", "--out", "r"]));
    assert_eq!(
        line,
        "error: scenario fifo.toml: not a regular file (a FIFO)"
    );
    assert!(!wd.path("r").exists());
}

/// A generated quick fleet in `f.db`, then `sql` run on it.
fn broken_fleet(wd: &Workdir, sql: &str) {
    wd.cmd(&[
        "generate",
        "--scenario",
        &scenario("quick.toml"),
        "--db",
        "f.db",
        "-q",
    ])
    .assert()
    .success();
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn bad_values_in_a_database_are_one_line_for_diff_compare_and_tick() {
    for (sql, expect) in [
        (
            "UPDATE host_mdm_apple_profiles SET status = 'sent' WHERE rowid = (SELECT min(rowid) FROM host_mdm_apple_profiles)",
            "table `host_mdm_apple_profiles`, column `status`, host_uuid '",
        ),
        (
            "UPDATE host_mdm_apple_profiles SET operation_type = 'wipe' WHERE rowid = (SELECT min(rowid) FROM host_mdm_apple_profiles)",
            "column `operation_type`",
        ),
        (
            "UPDATE mdm_apple_configuration_profiles SET checksum = 'abc' WHERE rowid = (SELECT min(rowid) FROM mdm_apple_configuration_profiles)",
            "table `mdm_apple_configuration_profiles`, column `checksum`",
        ),
        (
            "UPDATE host_mdm SET enrolled = 'yes' WHERE host_id = (SELECT min(host_id) FROM host_mdm)",
            "table `host_mdm`, column `enrolled`, host_id ",
        ),
        (
            "UPDATE mdm_configuration_profile_labels SET exclude = 'no' WHERE id = (SELECT min(id) FROM mdm_configuration_profile_labels)",
            "table `mdm_configuration_profile_labels`, column `exclude`, id ",
        ),
        (
            "UPDATE hosts SET label_updated_at = 'yesterday' WHERE id = 1",
            "table `hosts`, column `label_updated_at`, host id 1",
        ),
    ] {
        let wd = Workdir::new();
        broken_fleet(&wd, sql);
        for args in [
            &["diff", "--db", "f.db", "--path", "batched"][..],
            &["compare", "--db", "f.db", "--out-dir", "cmp"][..],
            &[
                "compare",
                "--db",
                "f.db",
                "--out-dir",
                "cmp",
                "--sequential",
            ][..],
            &["tick", "--db", "f.db"][..],
        ] {
            let line = expect_error(wd.cmd(args));
            assert!(line.contains(expect), "{args:?}: {line}");
        }
        assert!(
            !wd.path("cmp").exists(),
            "compare created its folder before failing"
        );
    }
}

#[test]
fn tick_never_writes_into_a_database_reconsim_did_not_generate() {
    let wd = Workdir::new();
    broken_fleet(&wd, "DROP TABLE reconsim_meta");
    let line = expect_error(wd.cmd(&["tick", "--db", "f.db"]));
    assert!(line.contains("was not generated by reconsim"), "{line}");
    assert!(line.contains("--cursor file:PATH"), "{line}");
    let before = std::fs::read(wd.path("f.db")).unwrap();
    for _ in 0..2 {
        wd.cmd(&[
            "tick",
            "--db",
            "f.db",
            "--cursor",
            "file:cursor.txt",
            "--batch-size",
            "500",
        ])
        .assert()
        .success();
    }
    assert_eq!(
        std::fs::read(wd.path("f.db")).unwrap(),
        before,
        "the database was written"
    );
    let cursor = std::fs::read_to_string(wd.path("cursor.txt")).unwrap();
    assert!(cursor.len() > 2, "the cursor moved: {cursor:?}");
}

#[test]
fn generate_never_replaces_a_file_without_force_and_force_drops_a_stale_journal() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    wd.cmd(&["generate", "--scenario", &quick, "--db", "g.db", "-q"])
        .assert()
        .success();
    let line = expect_error(wd.cmd(&["generate", "--scenario", &quick, "--db", "g.db"]));
    assert!(line.contains("already exists"), "{line}");
    // A hot journal from an earlier crash beside the file: --force must not replay it into
    // the new database.
    std::fs::write(wd.path("g.db-journal"), vec![0xd9u8; 4096]).unwrap();
    wd.cmd(&[
        "generate",
        "--scenario",
        &quick,
        "--db",
        "g.db",
        "--force",
        "-q",
    ])
    .assert()
    .success();
    assert!(!wd.path("g.db-journal").exists());
    wd.cmd(&["inspect", "--db", "g.db"]).assert().success();
    // Two generates racing for one new file: exactly one wins.
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("reconsim"))
            .current_dir(wd.dir.path())
            .args(["generate", "--scenario", &quick, "--db", "race.db", "-q"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let codes =
        [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()].map(|o| o.status.code());
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "both or neither won: {codes:?}"
    );
    assert!(codes.contains(&Some(2)), "{codes:?}");
    assert!(
        wd.listing().iter().all(|n| !n.contains(".tmp-")),
        "{:?}",
        wd.listing()
    );
}

#[test]
fn sigterm_and_sigint_remove_temp_files_and_exit_143_and_130() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let wd = Workdir::new();
        let text = scenario_text("quick.toml").replace("count = 2000 ", "count = 200000 ");
        wd.write("big.toml", &text);
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reconsim"))
            .current_dir(wd.dir.path())
            .args(["generate", "--scenario", "big.toml", "--db", "g.db", "-q"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once the temp database exists, the generator is busy filling it.
        let t0 = std::time::Instant::now();
        while !wd.listing().iter().any(|n| n.contains(".tmp-")) && t0.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "SIG{signal}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("stopped by SIG{signal}")));
        assert_eq!(
            wd.listing(),
            vec!["big.toml"],
            "SIG{signal} left files behind"
        );
    }
}

#[test]
fn errors_name_each_cause_once_and_result_files_are_readable() {
    let wd = Workdir::new();
    // An OS error: once, not twice.
    let line = expect_error(wd.cmd(&["generate", "--scenario", "nope.toml", "--db", "f.db"]));
    assert_eq!(
        line.matches("No such file or directory").count(),
        1,
        "{line}"
    );
    // A missing --db names the alternatives.
    let line = expect_error(wd.cmd(&["diff", "--path", "legacy"]));
    assert!(
        line.contains("--db PATH or --backend BACKEND is required"),
        "{line}"
    );
    // report compare: a broken summary.json, and a CSV target that cannot be written named as such.
    wd.cmd(&[
        "loadtest",
        "--scenario",
        &scenario("quick.toml"),
        "--ticks",
        "1",
        "--out",
        "a",
        "-q",
    ])
    .assert()
    .success();
    let line = expect_error(wd.cmd(&["report", "compare", "a", "a", "--csv", "/missing/x.csv"]));
    assert!(line.contains("/missing/x.csv"), "{line}");
    assert!(!line.contains(".tmp-"), "{line}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(wd.path("a/summary.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(
        mode & 0o044,
        0,
        "result files must be readable by others: {mode:o}"
    );
    std::fs::write(wd.path("a/summary.json"), "[1, 2").unwrap();
    let line = expect_error(wd.cmd(&["report", "compare", "a", "a"]));
    assert!(line.contains("a/summary.json: "), "{line}");
    let line = expect_error(wd.cmd(&["shrink", "--db", "x.db", "--class", "bogus"]));
    assert!(
        line.contains("--class \"bogus\": not a divergence class"),
        "{line}"
    );
}
