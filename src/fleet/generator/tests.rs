//! Unit tests of the parent module.

use super::*;
use crate::fleet::summary::Summary;
use sha2::Sha256;

const QUICK: &str = include_str!("../../../scenarios/quick.toml");

fn quick() -> Scenario {
    Scenario::parse(QUICK, "quick.toml").unwrap()
}

fn generate(s: &Scenario) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    generate_into(&mut conn, s, &crate::support::progress::Silent).unwrap();
    conn
}

/// SHA-256 of every contract table's rows in primary-key order, one digest per table.
fn table_hashes(conn: &Connection) -> Vec<(String, String)> {
    crate::store::tables::contract()
        .map(|t| {
            let (table, cols) = (t.name, t.column_names().join(", "));
            let sql = format!("SELECT {cols} FROM {table} ORDER BY {cols}");
            let mut stmt = conn.prepare(&sql).unwrap();
            let n = stmt.column_count();
            let mut hasher = Sha256::new();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                for i in 0..n {
                    let v: rusqlite::types::Value = row.get(i).unwrap();
                    hasher.update(format!("{v:?}\u{1f}").as_bytes());
                }
                hasher.update(b"\x1e");
            }
            (table.to_string(), hex::encode(hasher.finalize()))
        })
        .collect()
}

#[test]
fn same_seed_gives_identical_tables() {
    let s = quick();
    assert_eq!(table_hashes(&generate(&s)), table_hashes(&generate(&s)));
}

#[test]
fn another_seed_changes_every_random_table() {
    let a = quick();
    let mut b = quick();
    b.run.seed += 1;
    let (ha, hb) = (table_hashes(&generate(&a)), table_hashes(&generate(&b)));
    for ((table, x), (_, y)) in ha.iter().zip(&hb) {
        assert_ne!(x, y, "table {table} did not change with the seed");
    }
}

#[test]
fn sections_use_independent_streams() {
    // Changing a current-state knob must not move the hosts or the labels.
    let a = quick();
    let mut b = quick();
    b.current.coverage = 0.5;
    let (ha, hb) = (table_hashes(&generate(&a)), table_hashes(&generate(&b)));
    let get = |h: &Vec<(String, String)>, t: &str| h.iter().find(|x| x.0 == t).unwrap().1.clone();
    for t in [
        "hosts",
        "labels",
        "label_membership",
        "mdm_apple_configuration_profiles",
    ] {
        assert_eq!(get(&ha, t), get(&hb, t), "{t}");
    }
    assert_ne!(
        get(&ha, "host_mdm_apple_profiles"),
        get(&hb, "host_mdm_apple_profiles")
    );
}

fn share(summary: &Summary, section: &str, metric: &str) -> f64 {
    let line = summary
        .lines
        .iter()
        .find(|l| l.section == section && l.metric == metric)
        .unwrap_or_else(|| panic!("no {section}/{metric}"));
    line.count as f64 / line.of.unwrap() as f64
}

fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.4}, want {want:.4} ± {tol}"
    );
}

#[test]
fn feature_rates_follow_the_scenario() {
    let mut s = quick();
    s.hosts.count = 6000;
    s.profiles.per_team = 150;
    s.hosts.duplicate_uuid_rate = 0.02;
    s.labels.avg_per_host = 6.0;
    let conn = generate(&s);
    let sum = Summary::collect(&conn).unwrap();
    let p = &s.hosts.platforms;
    let apple_darwin = share(&sum, "hosts", "platform darwin");
    assert_near("darwin", apple_darwin, p.darwin, 0.02);
    // (section, metric, wanted share, tolerance)
    let hosts = [
        ("platform ios", p.ios, 0.02),
        ("platform ipados", p.ipados, 0.02),
        ("no team", s.hosts.no_team_share, 0.02),
        (
            "extra rows of duplicated uuids",
            s.hosts.duplicate_uuid_rate / (1.0 + s.hosts.duplicate_uuid_rate),
            0.006,
        ),
        (
            "never reported labels (sentinel)",
            s.hosts.label_updated_at.sentinel_share,
            0.01,
        ),
        (
            "host_mdm.enrolled = 0 (D7)",
            s.hosts.mdm_unenrolled_share,
            0.01,
        ),
    ];
    for (metric, want, tol) in hosts {
        assert_near(metric, share(&sum, "hosts", metric), want, tol);
    }
    // Eligible = Apple × eligible enrollment kinds.
    let e = &s.hosts.enrollment;
    let apple = p.darwin + p.ios + p.ipados;
    assert_near(
        "eligible",
        share(&sum, "hosts", "eligible rows (spec §2)"),
        apple * (e.device + e.user_enrollment_device),
        0.02,
    );
    // Label modes over 750 profiles (the builtins count as "none").
    let builtin = share(&sum, "profiles", "Fleet's macOS-only profiles");
    for (name, share_of_others) in s.profiles.label_modes.named() {
        let want = if name == "none" {
            share_of_others * (1.0 - builtin) + builtin
        } else {
            share_of_others
        };
        assert_near(
            name,
            share(&sum, "profiles", &format!("mode {name}")),
            want,
            0.025,
        );
    }
    assert_eq!(sum.get("profiles", "mode other"), Some(0));
    for (metric, want, tol) in [
        ("secrets_updated_at set", s.profiles.secrets_share, 0.025),
        ("scope User", s.profiles.user_scope_share, 0.02),
    ] {
        assert_near(metric, share(&sum, "profiles", metric), want, tol);
    }
    for ((op, st), w) in s.current.status_op.cells() {
        let metric = format!("{} / {}", op.unwrap_or("NULL"), st.unwrap_or("NULL"));
        assert_near(&metric, share(&sum, "current rows", &metric), w, 0.01);
    }
    assert_near(
        "stale checksum",
        share(&sum, "current rows", "stale checksum"),
        s.current.stale_checksum_share,
        0.01,
    );
    // Memberships: hosts that reported get avg_per_host draws, minus broken and
    // not-yet-evaluated labels; so the mean is below the knob, but not far below.
    let hosts = sum.get("tables", "hosts").unwrap() as f64;
    let per_host = sum.get("labels", "memberships").unwrap() as f64 / hosts;
    assert!(
        per_host > 0.75 * s.labels.avg_per_host && per_host <= s.labels.avg_per_host,
        "memberships per host {per_host}"
    );
}

#[test]
fn some_hosts_reported_exactly_when_a_label_was_created() {
    let conn = generate(&quick());
    let ties: i64 = conn
        .query_row(
            "SELECT count(*) FROM hosts h WHERE EXISTS (SELECT 1 FROM labels l
               WHERE l.created_at = h.label_updated_at AND l.label_membership_type != 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(ties > 0, "no host reported at a label's creation time");
}

#[test]
fn timestamps_are_in_the_spec_format() {
    let conn = generate(&quick());
    let bad: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM hosts WHERE label_updated_at NOT GLOB
               '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]')
             + (SELECT count(*) FROM host_mdm_apple_profiles WHERE secrets_updated_at NOT GLOB
               '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
}

#[test]
fn values_have_the_shapes_fleet_uses() {
    let conn = generate(&quick());
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT count(*) FROM mdm_apple_configuration_profiles WHERE profile_uuid NOT LIKE 'a%'"),
        0
    );
    assert_eq!(q("SELECT count(*) FROM hosts WHERE uuid != upper(uuid)"), 0);
    assert_eq!(
        q("SELECT count(*) FROM mdm_apple_configuration_profiles WHERE length(checksum) != 16"),
        0
    );
    assert!(
        q("SELECT count(*) FROM mdm_apple_configuration_profiles WHERE identifier LIKE 'com.%.%'")
            > 0
    );
    // Hostile text is present (and was bound, not spliced).
    assert!(q("SELECT count(*) FROM hosts WHERE hostname LIKE '%''%'") > 0);
    // Profile label rows of deleted labels keep their name, lose their id.
    assert!(q("SELECT count(*) FROM mdm_configuration_profile_labels WHERE label_id IS NULL") > 0);
    assert_eq!(
        q(
            "SELECT count(*) FROM mdm_configuration_profile_labels l WHERE label_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM labels WHERE id = l.label_id)"
        ),
        0
    );
    // Current rows are stored in key order (spec §9): rowid order = (host_uuid, profile_uuid).
    assert_eq!(
        q(
            "SELECT count(*) FROM (SELECT host_uuid || '|' || profile_uuid AS k,
             lag(host_uuid || '|' || profile_uuid) OVER (ORDER BY rowid) AS prev
           FROM host_mdm_apple_profiles) WHERE prev >= k"
        ),
        0
    );
}

#[test]
fn refuses_to_overwrite_without_force_and_leaves_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    std::fs::write(&db, b"keep me").unwrap();
    let err = generate_file(&db, &quick(), false, &crate::support::progress::Silent).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), b"keep me");
    let listing: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(listing.len(), 1, "a temp file was left behind");
}

/// The quick fleet's tables, pinned: a change to the generator that moves any random draw (or
/// the order rows are produced in) changes one of these. Re-pin only on purpose, and say so.
#[test]
fn the_quick_fleet_is_pinned() {
    let got = table_hashes(&generate(&quick()));
    let printed: Vec<String> = got
        .iter()
        .map(|(t, h)| format!("(\"{t}\", \"{h}\"),"))
        .collect();
    assert_eq!(
        got.iter()
            .map(|(t, h)| (t.as_str(), h.as_str()))
            .collect::<Vec<_>>(),
        PINNED.to_vec(),
        "\n{}",
        printed.join("\n")
    );
}

const PINNED: [(&str, &str); 10] = [
    (
        "teams",
        "41495f2a8082f113b0820e8028fd75995436c220fbd059b960b0cd4bc88d73a8",
    ),
    (
        "hosts",
        "371304cac6dec37e2423cf1d68caafd5fab2fbefa08f2ad52f14ddf9de6f4667",
    ),
    (
        "nano_devices",
        "5a4121db1b9a79b0f4d9eb4c31a65478fe48754f3682c59b9f640e13100ac0fa",
    ),
    (
        "nano_enrollments",
        "5fb56b1727719cae7ca25d76e7a9ca65597e9500ba3a774c320fe29860f646c4",
    ),
    (
        "host_mdm",
        "0d7797dbabd23f0136758a3889ec51c1c79680e97a1b2af36b968010293c2c26",
    ),
    (
        "labels",
        "b4ebfd7c98d714801cd181f72770c77ce7d43562a56d380bb3fc76c889f62350",
    ),
    (
        "label_membership",
        "730e9acfb293b0b0de352a3dc0a868169ea15c65ef93e2af85bd346880172cc8",
    ),
    (
        "mdm_apple_configuration_profiles",
        "16ef59d2c4b420d1786d0b6cd1486e901fff12c6a144630228023b69c9514cef",
    ),
    (
        "mdm_configuration_profile_labels",
        "b8ffd76ea8f1445b4c3276a9fbdcd675ac457e9983b78e454d291329f46578df",
    ),
    (
        "host_mdm_apple_profiles",
        "6c821a62aba9e13bc28e6d739dc9e62decf5b5288327fd52ff5b074a32c1d4a8",
    ),
];

/// The current rows are streamed with the deleted hosts' rows drawn last: their rowids must
/// still be their places in key order (the batched path's range scans read the table in rowid
/// order as they walk the key).
#[test]
fn current_rows_rowids_follow_the_key() {
    let conn = generate(&quick());
    let (rows, off): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(rowid != rn) FROM (SELECT rowid, row_number() OVER
               (ORDER BY host_uuid, profile_uuid) AS rn FROM host_mdm_apple_profiles)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM host_mdm_apple_profiles
             WHERE host_uuid NOT IN (SELECT uuid FROM hosts)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(orphans > 0, "the quick fleet has deleted hosts' rows");
    assert_eq!((rows > 0, off), (true, 0));
}

/// The SQLite sink writes every row once, in the order given, whether a row falls in a full
/// statement or in the one-row tail, text, blobs and NULLs included, table after table.
#[test]
fn the_sqlite_sink_writes_every_row_in_order() {
    use insert::Sink as _;
    use rusqlite::types::ValueRef;
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL, s TEXT, b BLOB); CREATE TABLE u (n)")
        .unwrap();
    let tx = conn.transaction().unwrap();
    let rows: Vec<(i64, Option<String>, Vec<u8>)> = (0..2 * insert::ROWS_PER_INSERT as i64 + 5)
        .map(|n| {
            let s = (n % 5 != 0).then(|| format!("row {n}"));
            (n * 7 % 11, s, vec![n as u8; (n % 3) as usize])
        })
        .collect();
    {
        let mut sink = insert::SqliteSink::new(&tx);
        sink.begin("t", &["n", "s", "b"]).unwrap();
        for (n, s, b) in &rows {
            let s = s
                .as_deref()
                .map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes()));
            sink.row(&[ValueRef::Integer(*n), s, ValueRef::Blob(b)])
                .unwrap();
        }
        assert_eq!(sink.end().unwrap(), rows.len() as u64);
        sink.begin("u", &["n"]).unwrap();
        for n in 0..3 {
            sink.row(&[ValueRef::Integer(n)]).unwrap();
        }
        assert_eq!(sink.end().unwrap(), 3);
    }
    type Row = (i64, Option<String>, Vec<u8>);
    let got: Vec<Row> = tx
        .prepare("SELECT n, s, b FROM t ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, rows);
    let u: Vec<i64> = tx
        .prepare("SELECT n FROM u ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(u, [0, 1, 2]);
}

/// A write that fails while the producer thread is mid-stream ends the load with that error,
/// naming the table, instead of waiting on the producer (or the producer on it).
#[test]
fn a_failed_current_row_write_stops_the_producer_and_names_the_table() {
    let s = quick();
    let rows = generate(&s)
        .query_row("SELECT count(*) FROM host_mdm_apple_profiles", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    // Past the first hand-over, so the producer has more to send when the writer stops.
    let fail_at = 5_000;
    assert!(rows > fail_at, "the quick fleet has {rows} current rows");
    // Not TEMP: the generator's `temp_store` pragma would drop a temp trigger.
    let mut conn = Connection::open_in_memory().unwrap();
    schema::migrate_to(&mut conn, 1).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE written (n INTEGER NOT NULL);
         INSERT INTO written VALUES (0);
         CREATE TRIGGER stop BEFORE INSERT ON host_mdm_apple_profiles BEGIN
           UPDATE written SET n = n + 1;
           SELECT RAISE(FAIL, 'injected') WHERE (SELECT n FROM written) = {fail_at};
         END;"
    ))
    .unwrap();
    let err = generate_into(&mut conn, &s, &crate::support::progress::Silent).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("host_mdm_apple_profiles") && format!("{err:?}").contains("injected"),
        "{msg}: {err:?}"
    );
}
