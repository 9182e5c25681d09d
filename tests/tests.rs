//! The one integration-test binary: drives the real `reconsim` CLI in fresh temp dirs and
//! checks exit codes, stderr wording and outputs.

mod suite;
mod util;

use util::{Workdir, expect_error, scenario, scenario_text};

fn generate(wd: &Workdir, db: &str, extra: &[&str]) {
    let quick = scenario("quick.toml");
    let mut args = vec!["generate", "--scenario", &quick, "--db", db];
    args.extend_from_slice(extra);
    wd.cmd(&args).assert().success();
}

#[test]
fn schema_prints_every_migration() {
    let wd = Workdir::new();
    let out = wd.cmd(&["schema"]).output().unwrap();
    assert!(out.status.success());
    let ddl = String::from_utf8(out.stdout).unwrap();
    assert!(ddl.contains("-- migration 1 (PRAGMA user_version = 1)"));
    assert!(ddl.contains("CREATE TABLE host_mdm_apple_profiles"));
    assert!(ddl.contains("CREATE INDEX idx_label_membership_label_id"));
    // The MySQL dialect: Fleet's column types and the SET NULL that breaks label rows.
    let out = wd.cmd(&["schema", "--mysql"]).output().unwrap();
    let ddl = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "label_updated_at TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00'",
        "secrets_updated_at DATETIME(6) NULL",
        "checksum           BINARY(16) NOT NULL",
        "REFERENCES labels (id) ON DELETE SET NULL",
        "ON DELETE CASCADE",
        "COLLATE=utf8mb4_unicode_ci",
    ] {
        assert!(ddl.contains(needle), "{needle}: {ddl}");
    }
}

#[test]
fn generate_prints_seed_and_summary() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let out = wd
        .cmd(&[
            "generate",
            "--scenario",
            &quick,
            "--db",
            "f.db",
            "--seed",
            "7",
            "--hosts",
            "300",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("seed 7, 300 hosts"), "{stdout}");
    for needle in [
        "tables",
        "host_mdm_apple_profiles",
        "mode include_any_exclude",
        "install / verified",
    ] {
        assert!(stdout.contains(needle), "missing {needle}: {stdout}");
    }
    assert_eq!(wd.listing(), vec!["f.db"]);
}

#[test]
fn same_seed_gives_byte_identical_databases() {
    let wd = Workdir::new();
    generate(&wd, "a.db", &["--quiet"]);
    generate(&wd, "b.db", &["--quiet"]);
    generate(&wd, "c.db", &["--quiet", "--seed", "43"]);
    let a = std::fs::read(wd.path("a.db")).unwrap();
    assert!(
        a == std::fs::read(wd.path("b.db")).unwrap(),
        "same seed, different bytes"
    );
    assert!(
        a != std::fs::read(wd.path("c.db")).unwrap(),
        "another seed, same bytes"
    );
}

#[test]
fn inspect_matches_generate_summary() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let gen_out = wd
        .cmd(&["generate", "--scenario", &quick, "--db", "f.db"])
        .output()
        .unwrap();
    let gen_stdout = String::from_utf8(gen_out.stdout).unwrap();
    let summary = gen_stdout.split_once('\n').unwrap().1;
    let out = wd.cmd(&["inspect", "--db", "f.db"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), summary);
}

#[test]
fn generate_refuses_to_overwrite_without_force() {
    let wd = Workdir::new();
    wd.write("f.db", "precious");
    let quick = scenario("quick.toml");
    let line = expect_error(wd.cmd(&["generate", "--scenario", &quick, "--db", "f.db"]));
    assert_eq!(
        line,
        "error: --db f.db already exists (pass --force to overwrite it)"
    );
    assert_eq!(
        std::fs::read_to_string(wd.path("f.db")).unwrap(),
        "precious"
    );
    wd.cmd(&[
        "generate",
        "--scenario",
        &quick,
        "--db",
        "f.db",
        "--force",
        "-q",
    ])
    .assert()
    .success();
    assert_eq!(wd.listing(), vec!["f.db"]);
}

#[test]
fn unwritable_db_path_is_named() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let line =
        expect_error(wd.cmd(&["generate", "--scenario", &quick, "--db", "no-such-dir/f.db"]));
    assert!(
        line.starts_with("error: --db no-such-dir/f.db: cannot write:"),
        "{line}"
    );
    assert!(wd.listing().is_empty());
}

#[test]
fn missing_scenario_file_is_named() {
    let wd = Workdir::new();
    let line = expect_error(wd.cmd(&["generate", "--scenario", "nope.toml", "--db", "f.db"]));
    assert!(
        line.starts_with("error: scenario nope.toml: cannot read:"),
        "{line}"
    );
    assert!(wd.listing().is_empty());
}

/// Writes a broken variant of quick.toml, runs generate, and returns the error line.
fn bad_scenario(from: &str, to: &str) -> String {
    let wd = Workdir::new();
    let text = scenario_text("quick.toml");
    assert!(
        text.contains(from),
        "fixture text {from:?} not in quick.toml"
    );
    wd.write("s.toml", &text.replacen(from, to, 1));
    let line = expect_error(wd.cmd(&["generate", "--scenario", "s.toml", "--db", "f.db"]));
    assert_eq!(wd.listing(), vec!["s.toml"], "something was left behind");
    line
}

#[test]
fn malformed_toml_names_file_and_line() {
    let line = bad_scenario("[hosts]", "[hosts");
    let n = scenario_text("quick.toml")
        .lines()
        .position(|l| l.starts_with("[hosts]"))
        .unwrap()
        + 1;
    assert!(
        line.starts_with(&format!("error: scenario s.toml:{n}:")),
        "{line}"
    );
}

#[test]
fn unknown_key_is_named() {
    let line = bad_scenario("teams = 4", "teams = 4\nteam_count = 4");
    assert!(
        line.contains("key `hosts`") || line.contains("hosts"),
        "{line}"
    );
    assert!(line.contains("unknown field `team_count`"), "{line}");
}

#[test]
fn rate_outside_unit_interval_is_named() {
    let line = bad_scenario("no_team_share = 0.2", "no_team_share = -0.1");
    assert_eq!(
        line,
        "error: scenario s.toml: key `hosts.no_team_share`: rate -0.1 is outside [0, 1]"
    );
}

#[test]
fn zero_count_is_named() {
    let line = bad_scenario("per_team = 25", "per_team = 0");
    assert_eq!(
        line,
        "error: scenario s.toml: key `profiles.per_team`: 0 must be greater than 0"
    );
}

#[test]
fn negative_count_is_named() {
    let line = bad_scenario("count = 2000", "count = -2000");
    assert!(line.starts_with("error: scenario s.toml:"), "{line}");
    assert!(line.contains("hosts.count"), "{line}");
}

#[test]
fn shares_not_summing_to_one_are_named() {
    let line = bad_scenario("none = 0.55", "none = 0.65");
    assert_eq!(
        line,
        "error: scenario s.toml: key `profiles.label_modes`: shares sum to 1.1, not 1"
    );
}

#[test]
fn zero_hosts_flag_is_rejected() {
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let out = wd
        .cmd(&[
            "generate",
            "--scenario",
            &quick,
            "--db",
            "f.db",
            "--hosts",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hosts"));
    assert!(wd.listing().is_empty());
}

#[test]
fn inspect_names_the_missing_table() {
    let wd = Workdir::new();
    generate(&wd, "f.db", &["-q"]);
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    conn.execute_batch("DROP TABLE nano_devices").unwrap();
    drop(conn);
    let line = expect_error(wd.cmd(&["inspect", "--db", "f.db"]));
    assert_eq!(
        line,
        "error: schema contract (spec §1): missing table `nano_devices`"
    );
}

#[test]
fn inspect_names_the_missing_column() {
    let wd = Workdir::new();
    generate(&wd, "f.db", &["-q"]);
    let conn = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    conn.execute_batch("ALTER TABLE labels DROP COLUMN created_at")
        .unwrap();
    drop(conn);
    let line = expect_error(wd.cmd(&["inspect", "--db", "f.db"]));
    assert_eq!(
        line,
        "error: schema contract (spec §1): table `labels` has no column `created_at`"
    );
}

#[test]
fn inspect_rejects_a_file_that_is_not_sqlite() {
    let wd = Workdir::new();
    wd.write(
        "junk.db",
        "this is not a database, just some text long enough to matter......",
    );
    let line = expect_error(wd.cmd(&["inspect", "--db", "junk.db"]));
    assert!(line.starts_with("error: database junk.db:"), "{line}");
    let line = expect_error(wd.cmd(&["inspect", "--db", "absent.db"]));
    assert_eq!(line, "error: database absent.db does not exist");
    assert_eq!(wd.listing(), vec!["junk.db"]);
}

#[test]
fn inspect_accepts_a_hand_written_contract_database() {
    let wd = Workdir::new();
    let conn = rusqlite::Connection::open(wd.path("hand.db")).unwrap();
    conn.execute_batch(&reconsim::store::schema::migration_tables())
        .unwrap();
    conn.execute_batch(
        "ALTER TABLE hosts ADD COLUMN extra TEXT; CREATE TABLE unrelated (x);
         INSERT INTO hosts (id, uuid, platform) VALUES (1, 'U1', 'darwin');",
    )
    .unwrap();
    drop(conn);
    let out = wd.cmd(&["inspect", "--db", "hand.db"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("platform darwin")
    );
}
