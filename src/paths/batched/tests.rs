//! Unit tests of the parent module.

use super::*;
use crate::fleet::generator::generate_into;
use crate::fleet::scenario::Scenario;

/// The quick fleet written into `dir/quick.db`, its generating connection closed (it holds
/// the file exclusively), for tests that open the file themselves, twice if need be.
pub(crate) fn quick_fleet_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("quick.db");
    quick_fleet_into(Connection::open(&path).unwrap());
    path
}

/// The quick fleet, generated and ANALYZEd, in memory.
pub(crate) fn quick_fleet() -> Connection {
    quick_fleet_into(Connection::open_in_memory().unwrap())
}

/// The quick fleet generated into `conn`.
fn quick_fleet_into(mut conn: Connection) -> Connection {
    let s = Scenario::parse(include_str!("../../../scenarios/quick.toml"), "quick.toml").unwrap();
    generate_into(&mut conn, &s, &crate::support::progress::Silent).unwrap();
    conn
}

/// The eligible host rows (spec §2) of `conn`, duplicated uuids counted per row.
pub(crate) fn eligible_host_rows(conn: &Connection) -> u64 {
    conn.query_row(
        &format!(
            "SELECT count(*) FROM hosts h WHERE {}",
            crate::domain::eligibility::ELIGIBLE_HOST
        ),
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// The plan's detail lines, joined with " | ".
pub(crate) fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let n = stmt.parameter_count();
    let params: Vec<String> = (0..n).map(|_| "[]".to_string()).collect();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
}

// Pinned plans (spec §9: SQLite changes plans as data grows; these are the ones that
// matter for the batched path's cost).

#[test]
fn window_walks_the_uuid_index() {
    let p = plan(&quick_fleet(), &window_sql(&Rules::default()));
    assert!(
        p.starts_with("SEARCH h USING INDEX idx_hosts_uuid (uuid>?)"),
        "{p}"
    );
    assert!(!p.contains("TEMP B-TREE"), "the window must not sort: {p}");
}

#[test]
fn memberships_probe_the_primary_key_per_host() {
    let p = plan(&quick_fleet(), MEMBERSHIPS_SQL);
    assert!(p.contains("SEARCH lm USING PRIMARY KEY (host_id=?)"), "{p}");
}

#[test]
fn current_rows_scan_one_range_of_the_primary_key() {
    let p = plan(&quick_fleet(), CURRENT_ROWS_SQL);
    assert_eq!(
        p,
        "SEARCH host_mdm_apple_profiles USING INDEX \
         sqlite_autoindex_host_mdm_apple_profiles_1 (host_uuid>? AND host_uuid<?)",
        "one range scan in key order, no sort"
    );
}

#[test]
fn json_each_takes_a_full_window_of_5000_keys() {
    let conn = quick_fleet();
    let ids: Vec<i64> = (1..=5000).collect();
    let all: Vec<i64> = (1..=100).collect();
    let m = load_memberships(&conn, &ids, &all).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM label_membership WHERE host_id <= 5000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(m.len() as i64, n);
}

#[test]
fn tick_phases_are_timed_by_the_clock() {
    let conn = quick_fleet();
    let cfg = BatchedConfig {
        batch_size: 500,
        rules: Rules::default(),
        variant: Default::default(),
    };
    let clock = crate::domain::clock::FakeClock::stepping(Duration::from_millis(3));
    let mut cursor = crate::paths::cursor::MemoryCursor::default();
    let r = tick_with_clock(&conn, &mut cursor, &cfg, &clock);
    let names: Vec<&str> = r.timings.iter().map(|t| t.0).collect();
    assert_eq!(names, Phase::BATCHED.map(Phase::name));
    // Every phase reads the clock exactly twice: 3 ms each, exactly.
    assert!(
        r.timings.iter().all(|t| t.1 == Duration::from_millis(3)),
        "{:?}",
        r.timings
    );
}

#[test]
fn a_tick_writes_the_cursor_only_when_it_changes() {
    let conn = quick_fleet();
    let cfg = BatchedConfig {
        batch_size: 5000,
        rules: Rules::default(),
        variant: Default::default(),
    };
    let mut cursor = crate::paths::cursor::MemoryCursor::default();
    let r = tick(&conn, &mut cursor, &cfg);
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.pass_complete);
    assert_eq!(
        cursor.writes, 0,
        "N < B: next cursor is '' as before: no write"
    );
    let cfg = BatchedConfig {
        batch_size: 500,
        ..cfg
    };
    let r = tick(&conn, &mut cursor, &cfg);
    assert_eq!(r.visited.len(), 500);
    assert_eq!(cursor.writes, 1);
    assert_eq!(cursor.value, r.cursor_after);
    let r2 = tick(&conn, &mut cursor, &cfg);
    assert_eq!(r2.cursor_before, r.cursor_after);
    assert!(
        r2.cursor_after > r.cursor_after,
        "the cursor strictly increases"
    );
}

#[test]
fn the_strict_scanner_wants_a_time_typed_column() {
    let conn = quick_fleet();
    let plain = conn.prepare(&catalog_sql(Variant::Merged)).unwrap();
    assert!(strict_time_column(&plain, 4).is_ok());
    assert!(
        strict_time_column(&plain, 6).is_ok(),
        "secrets_updated_at is DATETIME"
    );
    let seed = conn.prepare(&catalog_sql(Variant::Seed)).unwrap();
    assert_eq!(
        strict_time_column(&seed, 4).unwrap_err().to_string(),
        "scan error on column index 4, name \"label_created_at\": unsupported scan, storing text into a timestamp"
    );
    // A label-free fleet never scans the column: B1 stays hidden (spec §8).
    conn.execute_batch("DELETE FROM mdm_configuration_profile_labels")
        .unwrap();
    assert!(load_profiles_for(&conn, Variant::Seed).is_ok());
}

#[test]
fn dedupe_windows_keep_the_highest_id_of_each_uuid() {
    let conn = quick_fleet();
    let dup: (String, i64) = conn
        .query_row(
            "SELECT uuid, max(id) FROM hosts GROUP BY uuid HAVING count(*) > 1 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let (hosts, raw) =
        load_window_for(&conn, "", 100_000, &Rules::default(), Variant::Latest).unwrap();
    let of: Vec<&Host> = hosts.iter().filter(|h| h.uuid == dup.0).collect();
    assert!(of.len() <= 1);
    if let Some(h) = of.first() {
        assert_eq!(h.id, dup.1);
    }
    assert!(raw > hosts.len(), "the raw page counts the duplicates");
}

/// The host uuids that hold current rows, in key order.
fn hosts_with_rows(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT DISTINCT host_uuid FROM host_mdm_apple_profiles ORDER BY host_uuid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn current_rows_of_a_window_are_exactly_its_hosts_rows() {
    let conn = quick_fleet();
    // Every third uuid that holds rows, plus uuids around them that hold none: the range scan
    // passes rows of hosts not asked for, which must be left out, and nothing else.
    let all = hosts_with_rows(&conn);
    assert!(
        all.len() > 30,
        "the quick fleet has rows for {} hosts",
        all.len()
    );
    let asked: Vec<&str> = all.iter().step_by(3).map(String::as_str).collect();
    let catalog = Catalog::new(load_profiles(&conn).unwrap(), &Rules::default());
    let got = load_current(&conn, &asked, &catalog).unwrap();
    let want: i64 = asked
        .iter()
        .map(|u| {
            conn.query_row(
                "SELECT count(*) FROM host_mdm_apple_profiles WHERE host_uuid = ?1",
                [u],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        })
        .sum();
    assert_eq!(got.len() as i64, want);
    for u in &asked {
        let (_, rows) = got.get(u).expect("every asked host with rows is there");
        assert!(rows.iter().all(|r| &*r.host_uuid == *u));
    }
    for u in all.iter().skip(1).step_by(3) {
        assert!(got.get(u).is_none(), "{u} was not asked for");
    }
    // Out of order: the same rows.
    let mut reversed = asked.clone();
    reversed.reverse();
    assert_eq!(
        load_current(&conn, &reversed, &catalog).unwrap().len(),
        got.len()
    );
    assert!(load_current(&conn, &[], &catalog).unwrap().is_empty());
}

/// The window decoder (byte merge, statics for the spec §1 values, catalog-shared uuids, groups
/// cut during the merge) reads exactly what the table holds, row for row in key order, values
/// outside the spec and profiles outside the catalog included; a value that is not UTF-8 in a window row is
/// the query error naming the phase.
#[test]
fn current_rows_decode_what_the_table_holds() {
    let conn = quick_fleet();
    conn.execute_batch(
        "UPDATE host_mdm_apple_profiles SET status = 'Pending ' WHERE rowid % 97 = 1;
         UPDATE host_mdm_apple_profiles SET operation_type = 'reinstall' WHERE rowid % 89 = 2;
         UPDATE host_mdm_apple_profiles SET status = NULL, operation_type = NULL,
                checksum = x'' WHERE rowid % 83 = 3;
         UPDATE host_mdm_apple_profiles SET profile_uuid = 'x-not-in-catalog-' || rowid
                WHERE rowid % 79 = 4;",
    )
    .unwrap();
    let catalog = Catalog::new(load_profiles(&conn).unwrap(), &Rules::default());
    let hosts = hosts_with_rows(&conn);
    let asked: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let got = load_current(&conn, &asked, &catalog).unwrap();

    // What each row holds, read with rusqlite's own typed getters (no code of the decoder).
    type Plain = (
        String,
        String,
        Option<String>,
        Option<String>,
        Vec<u8>,
        Option<String>,
    );
    let want: Vec<Plain> = conn
        .prepare(
            "SELECT host_uuid, profile_uuid, status, operation_type, checksum,
                    secrets_updated_at
             FROM host_mdm_apple_profiles ORDER BY host_uuid, profile_uuid",
        )
        .unwrap()
        .query_map([], |r| Plain::try_from(r))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    let by_uuid = catalog.by_uuid();
    let (mut odd_status, mut odd_op, mut nulls, mut foreign) = (0, 0, 0, 0);
    let mut want = want.iter();
    for u in &asked {
        let (g_uuid, g) = got.get(u).expect("every host with rows");
        for r in g {
            let w = want.next().expect("as many rows");
            let read: Plain = (
                r.host_uuid.to_string(),
                r.profile_uuid.to_string(),
                r.status.as_deref().map(str::to_string),
                r.operation_type.as_deref().map(str::to_string),
                r.checksum.to_vec(),
                r.secrets_updated_at.clone(),
            );
            assert_eq!(&read, w, "a row of {u}");
            assert!(Arc::ptr_eq(&r.host_uuid, g_uuid), "one uuid per host");
            match by_uuid.get(&*r.profile_uuid) {
                Some(&i) => assert!(Arc::ptr_eq(&r.profile_uuid, &catalog.entries[i].uuid)),
                None => foreign += 1,
            }
            odd_status += usize::from(r.status.as_deref() == Some("Pending "));
            odd_op += usize::from(r.operation_type.as_deref() == Some("reinstall"));
            nulls += usize::from(r.status.is_none() && r.checksum.is_empty());
        }
    }
    assert!(odd_status > 0 && odd_op > 0 && nulls > 0 && foreign > 0);

    // Bytes that are not UTF-8 in a status the window reads.
    conn.execute(
        "UPDATE host_mdm_apple_profiles SET status = CAST(x'ff70' AS TEXT) WHERE host_uuid = ?1",
        [asked[1]],
    )
    .unwrap();
    let err = load_current(&conn, &asked[..3], &catalog).unwrap_err();
    assert!(
        matches!(&err, BatchedError::Query { phase: "current rows", message }
            if message.contains("Conversion error")),
        "{err}"
    );
    // The same row outside the window is never read.
    assert!(load_current(&conn, &[asked[0], asked[2]], &catalog).is_ok());
}

/// The reads pass walks the batched pass's windows and returns exactly the rows its queries
/// give for them (counted here by separate SQL over the windows the batched pass visited), in
/// every window-ordering variant and with the D5 sweep.
#[test]
fn the_reads_pass_reads_the_batched_pass_windows_rows() {
    let conn = quick_fleet();
    for (variant, d5_remove) in [
        (Variant::Merged, false),
        (Variant::Dedupe, false),
        (Variant::Latest, true),
    ] {
        let rules = Rules {
            d5_remove,
            ..Rules::default()
        };
        let cfg = BatchedConfig {
            batch_size: 700,
            rules,
            variant,
        };
        let pass = full_pass(&conn, &cfg).unwrap();
        let clock = crate::domain::clock::FakeClock::stepping(Duration::from_millis(1));
        let reads = read_pass(&conn, &cfg, cfg.batch_size, &clock).unwrap();
        assert_eq!(reads.windows, pass.ticks.len(), "{variant:?}");
        // B5: `dedupe` counts a page after de-duplication, so its first page (with a
        // duplicated uuid) is short and ends the pass; the others page on.
        let pages = if variant.full_after_dedupe() { 1 } else { 3 };
        assert!(
            reads.windows >= pages,
            "{variant:?}: {} windows",
            reads.windows
        );
        let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> u64 {
            conn.query_row(sql, p, |r| r.get::<_, i64>(0)).unwrap() as u64
        };
        let catalog = count(
            &format!("SELECT count(*) FROM ({})", catalog_sql(variant)),
            &[],
        );
        let mut want = 0;
        let mut hosts = 0;
        for t in pass.ticks.iter().filter(|t| !t.visited.is_empty()) {
            // The window's raw rows: duplicated uuids included where the variant drops them.
            let (first, last) = (&t.visited_uuids[0], t.visited_uuids.last().unwrap());
            let raw = count(
                &format!(
                    "SELECT count(*) FROM hosts h WHERE h.uuid >= ?1 AND h.uuid <= ?2 AND {}",
                    crate::domain::eligibility::ELIGIBLE_HOST
                ),
                &[first, last],
            );
            let ids = serde_json::to_string(&t.visited).unwrap();
            let members = count(
                "SELECT count(*) FROM label_membership
                 WHERE host_id IN (SELECT h.id FROM hosts h WHERE h.uuid IN
                   (SELECT uuid FROM hosts WHERE id IN (SELECT value FROM json_each(?1))))",
                &[&ids],
            );
            let current = count(
                "SELECT count(*) FROM host_mdm_apple_profiles
                 WHERE host_uuid >= ?1 AND host_uuid <= ?2",
                &[first, last],
            );
            hosts += raw;
            want += raw + catalog + members + current;
        }
        if d5_remove {
            want += count(
                &format!("SELECT count(*) FROM ({})", ineligible_sql(&cfg.rules)),
                &[],
            );
        }
        assert_eq!(reads.hosts, hosts, "{variant:?}");
        assert_eq!(reads.rows, want, "{variant:?}");
        let phases: Vec<&str> = reads.timings.iter().map(|x| x.0).collect();
        let mut expected = vec!["window", "catalog", "memberships", "current_rows"];
        if d5_remove {
            expected.push("compute");
        }
        assert_eq!(phases, expected, "{variant:?}");
        // Four readings a window, and the sweep's: 1 ms each on the stepping clock.
        let window_ms = reads.timings[0].1.as_millis() as usize;
        assert_eq!(window_ms, reads.windows, "{variant:?}");
    }
}

/// At the page boundary the reads pass ends where the batched pass does: a window of exactly
/// the eligible hosts is full (an empty window follows), one host larger is short.
#[test]
fn the_reads_pass_ends_at_the_batched_pass_page_boundary() {
    let conn = quick_fleet();
    let eligible = eligible_host_rows(&conn) as usize;
    let clock = crate::domain::clock::FakeClock::stepping(Duration::from_millis(1));
    for (batch_size, windows) in [(eligible, 2), (eligible + 1, 1)] {
        let cfg = BatchedConfig {
            batch_size,
            rules: Rules::default(),
            variant: Variant::Merged,
        };
        let pass = full_pass(&conn, &cfg).unwrap();
        let reads = read_pass(&conn, &cfg, batch_size, &clock).unwrap();
        assert_eq!(pass.ticks.len(), windows, "{batch_size}");
        assert_eq!(reads.windows, windows, "{batch_size}");
        assert_eq!(reads.hosts, eligible as u64, "{batch_size}");
    }
}
