//! Issue 6: the MySQL-compatible backend and the Redis cursor, against real servers.
//!
//! The servers come from the environment: `RECONSIM_TEST_MYSQL`
//! (`mysql://USER:PASS@HOST:PORT/DB`; the user must be able to create databases named
//! `reconsim_t_*`) and `RECONSIM_TEST_REDIS` (`redis://HOST:PORT`). Unset, each test prints
//! why it skips and passes; `RECONSIM_REQUIRE_BACKENDS=1` (set by `.ci/run`) turns a missing
//! URL into a failure, so CI cannot skip them. `scripts/servers.sh start` starts both.

use crate::util::{Workdir, expect_error, scenario};
use mysql::prelude::Queryable;
use reconsim::analysis::names::FindingKind;
use reconsim::backends::mysqldb::{self, MyDb};
use reconsim::domain::variant::Variant;
use reconsim::paths::batched::{self, BatchedConfig, Outcome, Source};

pub fn server(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("RECONSIM_REQUIRE_BACKENDS").is_err(),
                "{var} is unset but RECONSIM_REQUIRE_BACKENDS is set: {test} must run"
            );
            // Straight to stderr, past the harness's capture: a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping {test}: {var} is unset (start the servers: scripts/servers.sh start)"
            );
            None
        }
    }
}

/// The quick scenario's fleet, in memory.
fn quick_fleet() -> rusqlite::Connection {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let s = reconsim::fleet::scenario::Scenario::parse(
        include_str!("../../scenarios/quick.toml"),
        "quick.toml",
    )
    .unwrap();
    reconsim::fleet::generator::generate_into(&mut conn, &s, &reconsim::support::progress::Silent)
        .unwrap();
    conn
}

/// A fresh, empty database `reconsim_t_<name>` on the test server; returns its URL.
fn fresh_db(base: &str, name: &str) -> String {
    let db = format!("reconsim_t_{name}");
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(base).unwrap()).unwrap();
    conn.query_drop(format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    conn.query_drop(format!("CREATE DATABASE {db}")).unwrap();
    let (head, _) = base.rsplit_once('/').unwrap();
    format!("{head}/{db}")
}

fn tables(url: &str) -> Vec<String> {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    conn.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")
        .unwrap()
}

/// A command's stdout lines, sorted, after asserting it succeeded.
fn sorted_stdout(out: std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Done when (issue 6): the same scenario on both backends gives the same deltas, per path,
/// and `compare` on the server says so and agrees with its SQLite copy.
#[test]
fn same_fleet_same_deltas_on_sqlite_and_mysql() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "same_fleet_same_deltas") else {
        return;
    };
    let url = fresh_db(&base, "same");
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let backend = format!("--backend={url}");
    for target in ["--db=f.db".to_string(), backend.clone()] {
        wd.cmd(&[
            "generate",
            "--scenario",
            &quick,
            "--hosts",
            "700",
            &target,
            "-q",
        ])
        .assert()
        .success();
    }
    for path in ["legacy", "batched"] {
        for form in ["tuned", "as-written"] {
            if path == "batched" && form == "as-written" {
                continue;
            }
            let lite = sorted_stdout(
                wd.cmd(&[
                    "diff",
                    "--db",
                    "f.db",
                    "--path",
                    path,
                    "--legacy-sql",
                    form,
                    "-q",
                ])
                .output()
                .unwrap(),
            );
            let my = sorted_stdout(
                wd.cmd(&["diff", &backend, "--path", path, "--legacy-sql", form, "-q"])
                    .output()
                    .unwrap(),
            );
            assert!(lite.len() > 100, "{path}: too few deltas to mean anything");
            assert_eq!(lite, my, "{path} ({form}) differs between SQLite and MySQL");
        }
    }
    // After the same rules, the paths agree up to D6 on both backends.
    let out = wd
        .cmd(&[
            "compare",
            &backend,
            "--align-with-legacy",
            "-q",
            "--out-dir",
            "c",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("legacy identical, batched identical"),
        "{text}"
    );
    assert!(text.contains("engine: mysql "), "{text}");
    let lite = wd
        .cmd(&[
            "compare",
            "--db",
            "f.db",
            "--align-with-legacy",
            "-q",
            "--out-dir",
            "d",
        ])
        .output()
        .unwrap();
    let class_lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("equivalence") || l.starts_with("  D"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        class_lines(&text),
        class_lines(&String::from_utf8(lite.stdout).unwrap())
    );
}

/// Fleet's column types, keys and the ON DELETE SET NULL that makes a label row broken.
#[test]
fn mysql_schema_has_fleet_types_and_set_null() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "mysql_schema_has_fleet_types") else {
        return;
    };
    let url = fresh_db(&base, "types");
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let out = sorted_stdout(
        wd.cmd(&[
            "generate",
            "--scenario",
            &quick,
            "--hosts",
            "200",
            "--backend",
            &url,
            "--load-method",
            "insert",
        ])
        .output()
        .unwrap(),
    );
    assert!(
        out.iter().any(|l| l.contains("rows/s by multi-row INSERT")),
        "{out:?}"
    );
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let ty = |conn: &mut mysql::Conn, t: &str, c: &str| -> String {
        conn.exec_first(
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            (t, c),
        )
        .unwrap()
        .unwrap()
    };
    assert_eq!(ty(&mut conn, "hosts", "label_updated_at"), "timestamp");
    assert_eq!(ty(&mut conn, "labels", "created_at"), "timestamp");
    assert_eq!(
        ty(
            &mut conn,
            "mdm_apple_configuration_profiles",
            "secrets_updated_at"
        ),
        "datetime(6)"
    );
    assert_eq!(
        ty(&mut conn, "host_mdm_apple_profiles", "checksum"),
        "binary(16)"
    );
    assert_eq!(
        ty(&mut conn, "mdm_configuration_profile_labels", "exclude"),
        "tinyint(1)"
    );
    assert_eq!(ty(&mut conn, "hosts", "uuid"), "varchar(255)");
    let rule: String = conn
        .query_first(
            "SELECT DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = 'labels'",
        )
        .unwrap()
        .unwrap();
    assert_eq!(rule, "SET NULL");
    // Deleting a referenced label really breaks its rows (label_id NULL), as in Fleet.
    let label: u64 = conn
        .query_first(
            "SELECT label_id FROM mdm_configuration_profile_labels WHERE label_id IS NOT NULL LIMIT 1",
        )
        .unwrap()
        .unwrap();
    let before: u64 = conn
        .query_first("SELECT COUNT(*) FROM mdm_configuration_profile_labels WHERE label_id IS NULL")
        .unwrap()
        .unwrap();
    conn.exec_drop("DELETE FROM labels WHERE id = ?", (label,))
        .unwrap();
    let after: u64 = conn
        .query_first("SELECT COUNT(*) FROM mdm_configuration_profile_labels WHERE label_id IS NULL")
        .unwrap()
        .unwrap();
    assert!(after > before, "ON DELETE SET NULL did not break the rows");
}

/// Done when (issue 6): B1 through the server's own type coercion.
#[test]
fn b1_reproduces_on_mariadb_through_server_metadata() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "b1_reproduces_on_mariadb") else {
        return;
    };
    let url = fresh_db(&base, "b1");
    let my = MyDb::connect(&url).unwrap();
    let conn = quick_fleet();
    mysqldb::load_from_sqlite(&my, &conn, &reconsim::support::progress::Silent).unwrap();
    // Plain column: the server types it TIMESTAMP, and the catalog loads.
    let merged = my.profiles(Variant::Merged).unwrap();
    assert_eq!(merged, conn.profiles(Variant::Merged).unwrap());
    // COALESCE: the server types it a string; the strict scanner refuses, naming column 4.
    let err = my.profiles(Variant::Seed).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "scan error on column index 4, name \"label_created_at\": unsupported scan, \
             storing driver.Value type []uint8 into type *time.Time"
        ),
        "{err}"
    );
    assert!(err.contains("MYSQL_TYPE_VAR_STRING"), "{err}");
    // The catalog entry end to end: REPRODUCED, and its fixed twin clean.
    let wd = Workdir::new();
    // --force: this test loaded a fleet there above.
    let out = wd
        .cmd(&["repro", "b1", "--backend", &url, "--force"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("REPRODUCED b1"), "{text}");
    assert!(text.contains("MYSQL_TYPE_VAR_STRING"), "{text}");
    assert!(text.contains("backend: mysql://"), "{text}");
    // The fleet b1 loaded stays unless the user asks, in so many words, to replace it.
    let line = expect_error(wd.cmd(&["repro", "b1-fixed", "--backend", &url]));
    assert!(
        line.contains("already holds a reconsim fleet (pass --force"),
        "{line}"
    );
    let out = wd
        .cmd(&["repro", "b1-fixed", "--backend", &url, "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Done when (issue 6): the cursor in Redis outlives the process; no TTL.
#[test]
fn redis_cursor_survives_a_restart_of_reconsim() {
    let Some(redis_url) = server("RECONSIM_TEST_REDIS", "redis_cursor_survives") else {
        return;
    };
    // Its own Redis database (the key is Fleet's, fixed): tests run in parallel.
    let redis_url = format!("{}/1", redis_url.trim_end_matches('/'));
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    wd.cmd(&["generate", "--scenario", &quick, "--db", "f.db", "-q"])
        .assert()
        .success();
    let tick = |extra: &[&str]| -> String {
        let mut args = vec![
            "tick",
            "--db",
            "f.db",
            "--cursor",
            &redis_url,
            "--batch-size",
            "300",
        ];
        args.extend_from_slice(extra);
        let out = wd.cmd(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let cursor_after = |text: &str| -> String {
        let last = text.lines().last().unwrap();
        last.split(" -> ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    // Fleet's key as a real Fleet would have it: reconsim must leave it alone.
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("mdm:apple:recon_cursor")
        .arg("FLEETS-OWN")
        .query(&mut c)
        .unwrap();
    let first = tick(&["--reset-cursor", "--ticks", "2"]);
    assert!(first.contains("tick 1: cursor \"\" -> "), "{first}");
    let at = cursor_after(&first);
    assert_ne!(at, "\"\"");
    // A new process starts where the last one stopped.
    let second = tick(&["--ticks", "1"]);
    assert!(
        second.contains(&format!("tick 1: cursor {at} -> ")),
        "{first}\n{second}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(reconsim::paths::cursor::DEFAULT_REDIS_KEY)
        .query(&mut c)
        .unwrap();
    assert_eq!(ttl, -1, "the cursor key must have no TTL");
    let stored: String = redis::cmd("GET")
        .arg(reconsim::paths::cursor::DEFAULT_REDIS_KEY)
        .query(&mut c)
        .unwrap();
    assert_eq!(format!("{stored:?}"), cursor_after(&second));
    // Fleet's own key is untouched unless named in so many words.
    let fleet: String = redis::cmd("GET")
        .arg("mdm:apple:recon_cursor")
        .query(&mut c)
        .unwrap();
    assert_eq!(fleet, "FLEETS-OWN", "reconsim moved Fleet's cursor");
    tick(&["--cursor-key", "mdm:apple:recon_cursor", "--ticks", "1"]);
    let fleet: String = redis::cmd("GET")
        .arg("mdm:apple:recon_cursor")
        .query(&mut c)
        .unwrap();
    assert_ne!(fleet, "FLEETS-OWN", "--cursor-key names the key written");
}

/// A Redis of our own, on a free port, that the test can stop and start.
struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = OwnRedis {
            port,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        r.up();
        r
    }
    fn up(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
            ])
            .current_dir(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (install it, or run scripts/servers.sh start)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server did not start");
    }
    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
    }
}

/// Redis stopped mid-run (issue 6): reads fail → every tick starts from "" (spec §4.1 step 1);
/// writes fail → swallowed by `merged` (B3) and failing the tick in `latest`; the liveness
/// monitor sees the cursor stop advancing; a restarted Redis lets the pass go on.
#[test]
fn redis_stopped_mid_run_feeds_the_liveness_monitor() {
    if server("RECONSIM_TEST_REDIS", "redis_stopped_mid_run").is_none() {
        return;
    }
    let mut redis = OwnRedis::start();
    let conn = quick_fleet();
    for variant in [Variant::Merged, Variant::Latest] {
        let mut rules = reconsim::domain::rules::Rules::default();
        variant.preset(&mut rules);
        let cfg = BatchedConfig {
            batch_size: 300,
            rules,
            variant,
        };
        let mut cursor = reconsim::backends::rediscursor::RedisCursor::connect(
            &redis.url(),
            reconsim::paths::cursor::DEFAULT_REDIS_KEY,
        )
        .unwrap();
        cursor.reset().unwrap();
        let mut monitor = reconsim::analysis::liveness::Monitor::new(300, rules, variant, 3);
        let t1 = batched::tick(&conn, &mut cursor, &cfg);
        assert_eq!(t1.outcome, Outcome::Ok);
        monitor.observe(&conn, 0, &t1).unwrap();
        assert!(!t1.cursor_after.is_empty());
        redis.down();
        let mut seen = Vec::new();
        for tick in 1..12 {
            let r = batched::tick(&conn, &mut cursor, &cfg);
            assert_eq!(
                r.cursor_before, "",
                "a read error restarts from the beginning"
            );
            monitor.observe(&conn, tick, &r).unwrap();
            seen.push(r);
        }
        match variant {
            Variant::Latest => assert!(
                seen.iter()
                    .all(|r| matches!(&r.outcome, Outcome::Error(e) if e.contains("Redis"))),
                "latest fails the tick on a cursor write error"
            ),
            _ => assert!(
                seen.iter()
                    .all(|r| r.outcome == Outcome::Ok && r.logged.is_some()),
                "merged logs the write error and reports success (B3)"
            ),
        }
        assert!(
            monitor.findings.iter().any(|f| matches!(
                f.kind,
                FindingKind::CursorNotAdvancing | FindingKind::StuckCursor
            )),
            "{variant}: {:?}",
            monitor.findings
        );
        assert!(cursor.errors >= 22, "{}", cursor.errors);
        redis.up();
        let r = batched::tick(&conn, &mut cursor, &cfg);
        assert_eq!(r.outcome, Outcome::Ok);
        let r2 = batched::tick(&conn, &mut cursor, &cfg);
        assert_eq!(
            r2.cursor_before, r.cursor_after,
            "the pass goes on once Redis is back"
        );
    }
}

/// Bad input (issue 6): one line, exit 2, nothing left behind.
#[test]
fn unreachable_wrong_or_foreign_servers_get_one_line() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "bad_servers") else {
        return;
    };
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let (head, _) = base.rsplit_once('/').unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("mysql://u:p@127.0.0.1:{port}/reconsim");
    let line = expect_error(wd.cmd(&["diff", "--backend", &closed, "--path", "batched"]));
    assert!(line.contains("cannot connect to 127.0.0.1:"), "{line}");
    assert!(
        !line.contains(":p@"),
        "the password must not be shown: {line}"
    );
    // Wrong password.
    let user = head.split("//").nth(1).unwrap().split(':').next().unwrap();
    let host = head.rsplit_once('@').unwrap().1;
    let wrong = format!("mysql://{user}:definitely-wrong@{host}/reconsim");
    let line = expect_error(wd.cmd(&["generate", "--scenario", &quick, "--backend", &wrong]));
    assert!(line.contains("the server refused the login"), "{line}");
    // A server that is not MySQL: a listener that never speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = silent.local_addr().unwrap().port();
    let line = expect_error(wd.cmd(&[
        "compare",
        "--backend",
        &format!("mysql://u:p@127.0.0.1:{p}/x"),
    ]));
    assert!(line.contains("is not a MySQL-compatible server"), "{line}");
    // A database without the contract tables.
    let empty = fresh_db(&base, "empty");
    let line = expect_error(wd.cmd(&["diff", "--backend", &empty, "--path", "legacy"]));
    assert!(line.contains("has no table teams (spec §1)"), "{line}");
    // A database holding someone else's table: generate refuses and leaves it as it was.
    let foreign = fresh_db(&base, "foreign");
    mysql::Conn::new(mysql::Opts::from_url(&foreign).unwrap())
        .unwrap()
        .query_drop("CREATE TABLE hosts (id INT PRIMARY KEY)")
        .unwrap();
    let line = expect_error(wd.cmd(&["generate", "--scenario", &quick, "--backend", &foreign]));
    assert!(line.contains("already has table hosts"), "{line}");
    assert_eq!(tables(&foreign), vec!["hosts"]);
    // A Redis URL that points at the MySQL server: one line too.
    let mysql_hostport = head.rsplit_once('@').unwrap().1;
    let line = expect_error(wd.cmd(&[
        "repro",
        "b1",
        "--cursor",
        &format!("redis://{mysql_hostport}"),
    ]));
    assert!(line.contains("cannot reach Redis"), "{line}");
    // A malformed backend.
    let line = expect_error(wd.cmd(&["diff", "--backend", "postgres://x", "--path", "legacy"]));
    assert!(line.contains("expected sqlite:PATH"), "{line}");
    assert!(line.contains("mysql://USER:PASS@HOST:PORT/DB"), "{line}");
    assert!(wd.listing().is_empty(), "{:?}", wd.listing());
}

/// A load that fails half-way drops what it created (issue 6: no partial load).
#[test]
fn a_failed_load_leaves_nothing_behind() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "failed_load") else {
        return;
    };
    let url = fresh_db(&base, "partial");
    let my = MyDb::connect(&url).unwrap();
    let conn = quick_fleet();
    // A value MySQL's INT UNSIGNED refuses, in a table loaded late.
    conn.execute_batch("INSERT INTO label_membership (label_id, host_id) VALUES (1, -5)")
        .unwrap();
    let err = mysqldb::load_from_sqlite(&my, &conn, &reconsim::support::progress::Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("loading table label_membership"), "{err}");
    assert!(tables(&url).is_empty(), "left behind: {:?}", tables(&url));
}

/// One `measure` run over both backends: per-phase histograms of each and in-run ratios.
#[test]
fn measure_times_both_backends_in_one_run() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "measure_both") else {
        return;
    };
    let url = fresh_db(&base, "measure");
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    for target in ["--db=f.db".to_string(), format!("--backend={url}")] {
        wd.cmd(&[
            "generate",
            "--scenario",
            &quick,
            "--hosts",
            "400",
            &target,
            "-q",
        ])
        .assert()
        .success();
    }
    let out = wd
        .cmd(&[
            "measure",
            "--backend",
            "sqlite:f.db",
            "--backend",
            &url,
            "--runs",
            "1",
            "--out-dir",
            "m",
            "-q",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "mysql.legacy/sqlite.legacy",
        "mysql.batched/sqlite.batched",
        "sqlite.legacy/sqlite.batched",
        "database: mysql://",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let csv = std::fs::read_to_string(wd.path("m/summary.csv")).unwrap();
    assert!(csv.contains("mysql.batched,current_rows,"), "{csv}");
    assert!(wd.path("m/mysql.legacy-total.hgrm").exists());
    // Another fleet on one of them is refused.
    wd.cmd(&[
        "generate",
        "--scenario",
        &quick,
        "--hosts",
        "300",
        "--db",
        "g.db",
        "-q",
    ])
    .assert()
    .success();
    let line = expect_error(wd.cmd(&[
        "measure",
        "--backend",
        "sqlite:g.db",
        "--backend",
        &url,
        "--runs",
        "1",
    ]));
    assert!(line.contains("holds another fleet"), "{line}");
}

/// Issue 6's side-by-side loadtest: one run per backend in one folder, the same decisions tick
/// by tick (the server reads what SQLite holds), one page and one CSV comparing them.
#[test]
fn loadtest_runs_side_by_side_on_two_backends() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "loadtest_side_by_side") else {
        return;
    };
    let url = fresh_db(&base, "lt");
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    sorted_stdout(
        wd.cmd(&[
            "loadtest",
            "--scenario",
            &quick,
            "--backend",
            "sqlite",
            "--backend",
            &url,
            "--ticks",
            "5",
            "--out",
            "run",
            "-q",
        ])
        .output()
        .unwrap(),
    ); // asserts success
    let decisions = |dir: &str| -> Vec<String> {
        let text = std::fs::read_to_string(wd.path(&format!("run/{dir}/ticks.csv"))).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head = r.headers().unwrap().clone();
        let col = |n: &str| head.iter().position(|h| h == n).unwrap();
        let cols = [
            "path",
            "tick",
            "cursor_before",
            "cursor_after",
            "hosts",
            "installs",
            "removes",
            "outcome",
        ]
        .map(col);
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                cols.iter()
                    .map(|&i| rec[i].to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    let (lite, my) = (decisions("sqlite"), decisions("mysql"));
    assert_eq!(lite.len(), 10);
    assert_eq!(lite, my, "the two backends decided differently");
    let csv = std::fs::read_to_string(wd.path("run/backends.csv")).unwrap();
    for needle in [
        "backend,path,phase,group,count,min_us,p50_us,",
        "sqlite,legacy,desired,reconciler,5,",
        "mysql,legacy,desired,reconciler,5,",
        "mysql,batched,current_rows,reconciler,5,",
        "mysql,batched,replicate,harness,",
    ] {
        assert!(csv.contains(needle), "{needle}: {csv}");
    }
    let html = std::fs::read_to_string(wd.path("run/report.html")).unwrap();
    assert!(html.contains("MySQL server") && html.contains("mysql/report.html"));
    assert!(!html.contains("<script"), "self-contained, no script");
    crate::util::browser::assert_clean(&wd.path("run/report.html"), 1040, 0);
    let manifest = std::fs::read_to_string(wd.path("run/mysql/manifest.json")).unwrap();
    assert!(manifest.contains("\"server_version\""), "{manifest}");
    let (_, pw) = base
        .split_once("://")
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0
        .split_once(':')
        .unwrap();
    assert!(
        !manifest.contains(&format!(":{pw}@")),
        "the password leaked into the manifest"
    );
    assert!(
        !wd.path("run/mysql/state").exists(),
        "state/ must go when the run ends"
    );
}

/// The conformance suite's second backend (style: one suite, every implementation): the
/// fixture loaded into a fresh database on the test server, dropped again when the value is.
/// None when no server is configured.
pub struct ServerFleet {
    pub my: MyDb,
    db: String,
}

impl Drop for ServerFleet {
    fn drop(&mut self) {
        let _ = self.my.exec(&format!("DROP DATABASE {}", self.db));
    }
}

pub fn on_mysql(conn: &rusqlite::Connection, test: &str) -> Option<ServerFleet> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    static SAID: AtomicBool = AtomicBool::new(false);
    if std::env::var("RECONSIM_TEST_MYSQL").is_err()
        && std::env::var("RECONSIM_REQUIRE_BACKENDS").is_err()
        && SAID.swap(true, Ordering::Relaxed)
    {
        return None; // the skip was said once; every fixture skips alike
    }
    let base = server("RECONSIM_TEST_MYSQL", test)?;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let url = fresh_db(&base, &format!("conf_{}_{n}", std::process::id()));
    let my = MyDb::connect(&url).unwrap();
    mysqldb::load_from_sqlite(&my, conn, &reconsim::support::progress::Silent).unwrap();
    let db = url.rsplit_once('/').unwrap().1.to_string();
    Some(ServerFleet { my, db })
}

/// One cursor conformance suite over every `CursorStore`: starts at "", keeps the last value
/// written (empty included), and a second handle on the same store reads it back.
#[test]
fn every_cursor_store_behaves_alike() {
    use reconsim::backends::store::Store;
    use reconsim::paths::cursor::{CursorStore, FileCursor, MemoryCursor};
    let dir = tempfile::tempdir().unwrap();
    let lite = rusqlite::Connection::open(dir.path().join("c.db")).unwrap();
    let conn = quick_fleet();
    let fleet = on_mysql(&conn, "every_cursor_store_behaves_alike");
    let redis_url = server("RECONSIM_TEST_REDIS", "every_cursor_store_behaves_alike");
    type Open<'a> = Box<dyn Fn() -> Box<dyn CursorStore + 'a> + 'a>;
    let file = dir.path().join("cursor.txt");
    let key = format!("reconsim:test:conformance:{}", std::process::id());
    let mut stores: Vec<(&str, Open<'_>)> = vec![
        ("sqlite", Box::new(|| lite.cursor().unwrap())),
        (
            "file",
            Box::new(|| Box::new(FileCursor { path: file.clone() })),
        ),
    ];
    if let Some(s) = &fleet {
        stores.push(("mysql", Box::new(|| Store::cursor(&s.my).unwrap())));
    }
    if let Some(url) = &redis_url {
        let mut r = reconsim::backends::rediscursor::RedisCursor::connect(url, &key).unwrap();
        r.reset().unwrap();
        stores.push((
            "redis",
            Box::new(|| {
                Box::new(reconsim::backends::rediscursor::RedisCursor::connect(url, &key).unwrap())
            }),
        ));
    }
    let mut memory = MemoryCursor::default();
    assert_eq!(memory.read().unwrap(), "");
    for (name, open) in &stores {
        let mut a = open();
        assert_eq!(a.read().unwrap(), "", "{name}: a new store starts at \"\"");
        for value in ["uuid-0042", "", "uuid-9999"] {
            a.write(value).unwrap();
            assert_eq!(a.read().unwrap(), value, "{name}: reads what it wrote");
            assert_eq!(
                open().read().unwrap(),
                value,
                "{name}: a second handle agrees"
            );
        }
    }
    let names: Vec<&str> = stores.iter().map(|s| s.0).collect();
    if std::env::var("RECONSIM_REQUIRE_BACKENDS").is_ok() {
        assert_eq!(names, ["sqlite", "file", "mysql", "redis"]);
    }
}

/// The loadtest's replication (issue 6, `reconsim::backends::mirror`): after inserts, updates and
/// deletes in SQLite (cascades included), the server holds exactly the same rows.
#[test]
fn the_mirror_replays_every_change() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "the_mirror_replays_every_change") else {
        return;
    };
    let conn = quick_fleet();
    let url = fresh_db(&base, "mirror");
    let mut m = reconsim::backends::mirror::Mirror::setup(
        &url,
        "p",
        &conn,
        &reconsim::support::progress::Silent,
    )
    .unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         UPDATE hosts SET label_updated_at = '2031-01-01 00:00:00', team_id = NULL WHERE id % 7 = 0;
         DELETE FROM label_membership WHERE host_id % 5 = 0;
         INSERT OR IGNORE INTO label_membership (label_id, host_id)
           SELECT l.id, h.id FROM labels l, hosts h WHERE h.id % 11 = 0 AND l.id % 3 = 0;
         DELETE FROM labels WHERE id IN (SELECT label_id FROM mdm_configuration_profile_labels
                                          WHERE label_id IS NOT NULL LIMIT 3);
         DELETE FROM mdm_apple_configuration_profiles
          WHERE profile_uuid IN (SELECT apple_profile_uuid FROM mdm_configuration_profile_labels LIMIT 2);
         UPDATE host_mdm_apple_profiles SET status = 'verified', secrets_updated_at = '2030-05-05 05:05:05.123456'
          WHERE rowid % 9 = 0;
         DELETE FROM host_mdm_apple_profiles WHERE rowid % 13 = 0;
         INSERT INTO teams (id, name) VALUES (999, 'Zürich ''quoted'' \\ team');",
    )
    .unwrap();
    let replayed = m.sync(&conn).unwrap();
    assert!(replayed > 100, "{replayed}");
    assert_eq!(m.sync(&conn).unwrap(), 0, "a second sync has nothing left");
    let copy = mysqldb::copy_to_sqlite(&m.db, true).unwrap();
    assert_same_rows(&copy, &conn);
}

/// Every spec §1 table of `a` and `b`, row by row in key order, must be equal.
fn assert_same_rows(a: &rusqlite::Connection, b: &rusqlite::Connection) {
    for t in reconsim::store::tables::contract() {
        let (table, keys, cols) = (t.name, t.primary, t.column_names().join(", "));
        let dump = |c: &rusqlite::Connection| -> Vec<String> {
            let mut st = c
                .prepare(&format!(
                    "SELECT {cols} FROM {table} ORDER BY {}",
                    keys.join(", ")
                ))
                .unwrap();
            let n = st.column_count();
            st.query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        assert_eq!(dump(a), dump(b), "{table} differs on the server");
    }
}

/// `generate --backend` streams the rows to the server as it makes them (issue 15), by either
/// method: the server ends with exactly the rows `generate --db` writes, and the summary it
/// prints, counted on the server, is the SQLite file's line for line.
#[test]
fn generate_streams_the_same_fleet_into_the_server() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "generate_streams") else {
        return;
    };
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let run = |target: &str, method: &str| -> Vec<String> {
        let out = wd
            .cmd(&[
                "generate",
                "--scenario",
                &quick,
                "--hosts",
                "600",
                target,
                "--load-method",
                method,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let lite = run("--db=f.db", "infile");
    let file = rusqlite::Connection::open(wd.path("f.db")).unwrap();
    for (method, said) in [
        ("infile", "rows/s by LOAD DATA LOCAL INFILE"),
        ("insert", "rows/s by multi-row INSERT"),
    ] {
        let url = fresh_db(&base, &format!("stream_{method}"));
        let mine = run(&format!("--backend={url}"), method);
        assert!(mine[0].contains(said), "{}", mine[0]);
        assert!(
            mine[0].contains("streamed as they were made"),
            "{}",
            mine[0]
        );
        assert!(lite.len() > 40, "{lite:?}");
        assert_eq!(lite[1..], mine[1..], "the summaries differ ({method})");
        let my = MyDb::connect(&url).unwrap();
        assert_same_rows(&mysqldb::copy_to_sqlite(&my, true).unwrap(), &file);
        // `inspect` on the server prints the same summary.
        let inspected = sorted_stdout(wd.cmd(&["inspect", "--backend", &url]).output().unwrap());
        let mut want = lite[1..].to_vec();
        want.sort();
        assert_eq!(inspected, want, "inspect --backend ({method})");
    }
}

/// Both loaders (issue 6: `LOAD DATA LOCAL INFILE`, and the multi-row INSERTs it falls back
/// to) put exactly the generated rows on the server, awkward text included.
#[test]
fn both_loaders_put_the_same_rows_on_the_server() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "both_loaders") else {
        return;
    };
    let conn = quick_fleet();
    conn.execute_batch(
        "INSERT INTO teams (id, name) VALUES (990, 'tab\there, newline\nthere, back\\slash ''q'' ünï');
         UPDATE hosts SET hostname = 'cr\rhost' WHERE id = 1;",
    )
    .unwrap();
    for (name, method) in [
        ("infile", mysqldb::LoadMethod::Infile),
        ("insert", mysqldb::LoadMethod::Insert),
    ] {
        let url = fresh_db(&base, &format!("load_{name}"));
        let my = MyDb::connect(&url).unwrap();
        let stats = mysqldb::load_from_sqlite_with(
            &my,
            &conn,
            &reconsim::support::progress::Silent,
            method,
        )
        .unwrap();
        let want = if method == mysqldb::LoadMethod::Infile {
            "LOAD DATA LOCAL INFILE"
        } else {
            "multi-row INSERT"
        };
        assert_eq!(stats.method, want);
        assert_same_rows(&mysqldb::copy_to_sqlite(&my, true).unwrap(), &conn);
    }
}

/// `loadtest --cursor redis://…` (issue 6): the batched path's cursor lives in Redis, tick after
/// tick, and the manifest says so.
#[test]
fn loadtest_keeps_the_batched_cursor_in_redis() {
    let Some(redis_url) = server("RECONSIM_TEST_REDIS", "loadtest_keeps_the_cursor_in_redis")
    else {
        return;
    };
    let redis_url = format!("{}/2", redis_url.trim_end_matches('/'));
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    let run_into = |out: &'static str| {
        wd.cmd(&[
            "loadtest",
            "--scenario",
            &quick,
            "--paths",
            "batched",
            "--cursor",
            &redis_url,
            "--ticks",
            "6",
            "--out",
            out,
            "-q",
        ])
    };
    sorted_stdout(run_into("run").output().unwrap()); // asserts success
    let text = std::fs::read_to_string(wd.path("run/ticks.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let (before, after) = (3, 4); // cursor_before, cursor_after
    for w in rows.windows(2) {
        assert_eq!(w[0][after], w[1][before], "the cursor chain broke");
    }
    assert!(
        rows.iter().any(|r| !r[after].is_empty()),
        "the cursor never moved"
    );
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let stored: String = redis::cmd("GET")
        .arg(reconsim::paths::cursor::DEFAULT_REDIS_KEY)
        .query(&mut c)
        .unwrap();
    assert_eq!(stored, rows.last().unwrap()[after].to_string());
    let manifest = std::fs::read_to_string(wd.path("run/manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"cursor\": \"{redis_url}\"")),
        "{manifest}"
    );
    // Killed mid-run and resumed (issue 11): the key is set back to the cursor the record
    // holds, so the run ends identical to the uninterrupted one, cursor chain included.
    let crashed = run_into("killed")
        .env("RECONSIM_CRASH_AFTER", "14")
        .output()
        .unwrap();
    assert_eq!(crashed.status.code(), None, "the run was not killed");
    let resumed = wd
        .cmd(&["loadtest", "--resume", "killed", "-q"])
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0));
    let same = wd
        .cmd(&["report", "identical", "run", "killed"])
        .output()
        .unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
}

/// Issue 11: TLS by `ssl-mode` (managed servers require it), a read-only account (the tuned
/// legacy SQL needs temporary tables: the error names the privilege and the alternative), and
/// the server URL and password from the environment instead of the command line.
#[test]
fn tls_a_read_only_account_and_credentials_from_the_environment() {
    let Some(base) = server("RECONSIM_TEST_MYSQL", "tls_read_only") else {
        return;
    };
    let url = fresh_db(&base, "tls");
    let wd = Workdir::new();
    let quick = scenario("quick.toml");
    wd.cmd(&[
        "generate",
        "--scenario",
        &quick,
        "--hosts",
        "300",
        "--backend",
        &url,
        "-q",
    ])
    .assert()
    .success();
    // Plain, then encrypted without and with checking the certificate.
    let plain = reconsim::backends::mysqldb::MyDb::connect(&url).unwrap();
    assert_eq!(plain.session_cipher().unwrap(), "");
    let required =
        reconsim::backends::mysqldb::MyDb::connect(&format!("{url}?ssl-mode=REQUIRED")).unwrap();
    assert_ne!(
        required.session_cipher().unwrap(),
        "",
        "REQUIRED must encrypt"
    );
    if let Ok(ca) = std::env::var("RECONSIM_TEST_MYSQL_CA") {
        let verified = reconsim::backends::mysqldb::MyDb::connect(&format!(
            "{url}?ssl-mode=VERIFY_CA&ssl-ca={ca}"
        ))
        .unwrap();
        assert_ne!(verified.session_cipher().unwrap(), "");
    }
    let line = expect_error(wd.cmd(&[
        "diff",
        "--backend",
        &format!("{url}?ssl-mode=SOMETIMES"),
        "--path",
        "legacy",
    ]));
    assert!(line.contains("ssl-mode"), "{line}");

    // A read-only account, its password from MYSQL_PWD.
    let ro = url.replace("reconsim:reconsim@", "reconsim_ro@");
    let mut c = wd.cmd(&["diff", "--backend", &ro, "--path", "legacy"]);
    c.env("MYSQL_PWD", "reconsim");
    let line = expect_error(c);
    assert!(line.contains("CREATE TEMPORARY TABLES privilege"), "{line}");
    assert!(line.contains("--legacy-sql as-written"), "{line}");
    assert!(!line.contains(":reconsim@"), "password shown: {line}");
    // The backend itself from RECONSIM_BACKEND: nothing secret on the command line.
    let out = wd
        .cmd(&["diff", "--path", "legacy", "--legacy-sql", "as-written"])
        .env("RECONSIM_BACKEND", &ro)
        .env("MYSQL_PWD", "reconsim")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("host_uuid,profile_uuid,operation"));
}
