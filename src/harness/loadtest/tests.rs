//! Unit tests of the parent module.

use super::*;

fn quick() -> Scenario {
    Scenario::parse(include_str!("../../../scenarios/quick.toml"), "quick.toml").unwrap()
}

#[test]
fn churn_is_a_function_of_seed_and_tick() {
    let s = quick();
    let u = Universe {
        host_ids: (1..=100).collect(),
        label_ids: (1..=10).collect(),
        profiles: vec!["a1".into(), "a2".into()],
        teams: vec![1, 2],
        eligible: 90,
    };
    assert_eq!(events(&s, &u, 3), events(&s, &u, 3));
    assert_ne!(events(&s, &u, 3), events(&s, &u, 4));
    // Rates per virtual minute over a 30 s interval: 10 flips and 20 reports per tick.
    let e = events(&s, &u, 0);
    let flips = e.iter().filter(|x| matches!(x, Event::Flip { .. })).count();
    let reports = e
        .iter()
        .filter(|x| matches!(x, Event::Report { .. }))
        .count();
    assert_eq!((flips, reports), (10, 20));
}

#[test]
fn fractional_rates_keep_their_mean() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n: usize = (0..10_000).map(|_| count(&mut rng, 0.5, 30)).sum();
    assert!((n as f64 / 10_000.0 - 0.25).abs() < 0.02, "{n}");
}

#[test]
fn a_membership_flip_toggles() {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
    let flip = [Event::Flip { host: 1, label: 2 }];
    conn.execute("INSERT INTO labels (id, name) VALUES (2, 'l2')", [])
        .unwrap();
    apply_events(&mut conn, &flip, 0, 0).unwrap();
    let n = |c: &Connection| -> i64 {
        c.query_row("SELECT count(*) FROM label_membership", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(n(&conn), 1);
    apply_events(&mut conn, &flip, 0, 1).unwrap();
    assert_eq!(n(&conn), 0);
}

fn config(s: &Scenario, ticks: u32) -> LoadtestConfig {
    LoadtestConfig {
        cursor_url: None,
        cursor_key: String::new(),
        scenario: s.clone(),
        paths: vec![approach::RunPath::plain(PathKind::Batched)],
        ticks,
        legacy_sql: LegacySql::Tuned,
        batched: BatchedConfig {
            batch_size: s.run.batch_size as usize,
            rules: Rules::default(),
            variant: Default::default(),
        },
        concurrent_churn: false,
        warmup_ticks: 0,
        reference_harness: false,
    }
}

#[test]
fn a_fake_clock_gives_exact_phase_and_tick_figures() {
    let s = quick();
    let conn = crate::paths::batched::tests::quick_fleet();
    let u = Universe::load(&conn).unwrap();
    let clock = crate::domain::clock::FakeClock::stepping(Duration::from_micros(100));
    let cfg = config(&s, 3);
    let setup = record::Setup {
        format: record::FORMAT,
        universe: u.clone(),
        ticks: 3,
    };
    record::init(&conn, ":memory:", &setup, "batched").unwrap();
    let dbs = vec![(
        approach::RunPath::plain(PathKind::Batched),
        conn,
        PathBuf::from(":memory:"),
    )];
    let r = run(dbs, &cfg, &u, &clock, |_| Ok(())).unwrap();
    let run = &r.runs[0].1;
    // Every phase reads the clock twice: one 100 µs step.
    for phase in [
        "cursor_read",
        "window",
        "catalog",
        "memberships",
        "current_rows",
    ] {
        let row = run.hist[phase].row();
        assert_eq!(
            (row.count, row.p50_us, row.max_us),
            (3, 100, 100),
            "{phase}"
        );
    }
    // A full-window tick: cursor read, five phases, cursor write and the writer, each two
    // clock reads, plus the tick's own end: 17 steps; then the step's COMMIT, which
    // carries the writer's rows (one step), is added to the tick and to the writer.
    let ticks: Vec<u64> = run.ticks.iter().map(|t| t.duration_us).collect();
    assert_eq!(ticks, vec![1800, 1800, 1800]);
    let row = run.hist["tick"].row();
    assert_eq!((row.p50_us, row.p99_us, row.max_us), (1800, 1800, 1800));
    assert!((row.mean_us - 1800.0).abs() < 1e-9);
    let write = run.hist["write"].row();
    assert_eq!((write.count, write.p50_us), (3, 200));
}

fn tiny() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
    conn.execute_batch(
        "INSERT INTO teams (id, name) VALUES (1, 't1');
         INSERT INTO hosts (id, uuid, platform, team_id) VALUES (1, 'H1', 'darwin', NULL);
         INSERT INTO nano_devices (id, authenticate_at) VALUES ('H1', '2026-01-01 00:00:00');
         INSERT INTO nano_enrollments (id, device_id, type) VALUES ('H1', 'H1', 'Device');
         INSERT INTO labels (id, name, created_at) VALUES (7, 'l7', '2026-01-01 00:00:00');
         INSERT INTO label_membership (label_id, host_id) VALUES (7, 1);
         INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier, name, checksum)
           VALUES ('a1', 0, 'i1', 'n1', x'01');
         INSERT INTO mdm_configuration_profile_labels (apple_profile_uuid, label_name, label_id)
           VALUES ('a1', 'l7', 7);",
    )
    .unwrap();
    conn
}

fn one(conn: &Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| format!("{v:?}"))
        .unwrap()
}

#[test]
fn every_event_kind_changes_what_it_names() {
    let mut c = tiny();
    let now = 1_780_000_000; // 2026-05-28 20:26:40
    let at = |c: &mut Connection, e: Event| apply_events(c, &[e], now, 5).unwrap();
    at(&mut c, Event::Report { host: 1 });
    assert_eq!(
        one(&c, "SELECT label_updated_at FROM hosts WHERE id = 1"),
        "Text(\"2026-05-28 20:26:40\")"
    );
    at(
        &mut c,
        Event::Transfer {
            host: 1,
            team: Some(1),
        },
    );
    assert_eq!(
        one(&c, "SELECT team_id FROM hosts WHERE id = 1"),
        "Integer(1)"
    );
    at(
        &mut c,
        Event::Secrets {
            profile: "a1".into(),
        },
    );
    assert_eq!(
        one(
            &c,
            "SELECT secrets_updated_at FROM mdm_apple_configuration_profiles"
        ),
        "Text(\"2026-05-28 20:26:40.000000\")"
    );
    let before = one(
        &c,
        "SELECT hex(checksum) FROM mdm_apple_configuration_profiles",
    );
    at(
        &mut c,
        Event::Edit {
            profile: "a1".into(),
        },
    );
    assert_ne!(
        one(
            &c,
            "SELECT hex(checksum) FROM mdm_apple_configuration_profiles"
        ),
        before
    );
    at(
        &mut c,
        Event::NewLabel {
            name: "fresh".into(),
            profile: "a1".into(),
            members: vec![1],
        },
    );
    assert_eq!(
        one(
            &c,
            "SELECT created_at || '/' || label_membership_type FROM labels WHERE name = 'fresh'"
        ),
        "Text(\"2026-05-28 20:26:40/0\")"
    );
    assert_eq!(
        one(
            &c,
            "SELECT exclude FROM mdm_configuration_profile_labels WHERE label_name = 'fresh'"
        ),
        "Integer(1)"
    );
    at(&mut c, Event::DeleteLabel { label: 7 });
    assert_eq!(
        one(
            &c,
            "SELECT label_id FROM mdm_configuration_profile_labels WHERE label_name = 'l7'"
        ),
        "Null",
        "the profile row goes broken"
    );
    assert_eq!(
        one(
            &c,
            "SELECT count(*) FROM label_membership WHERE label_id = 7"
        ),
        "Integer(0)"
    );
    at(
        &mut c,
        Event::AddProfile {
            uuid: "a2".into(),
            team: 1,
        },
    );
    assert_eq!(
        one(
            &c,
            "SELECT team_id FROM mdm_apple_configuration_profiles WHERE profile_uuid = 'a2'"
        ),
        "Integer(1)"
    );
    at(
        &mut c,
        Event::DeleteProfile {
            profile: "a1".into(),
        },
    );
    assert_eq!(
        one(&c, "SELECT count(*) FROM mdm_configuration_profile_labels"),
        "Integer(0)"
    );
    assert_eq!(
        one(&c, "SELECT count(*) FROM mdm_apple_configuration_profiles"),
        "Integer(1)"
    );
    at(&mut c, Event::ToggleEnrollment { host: 1 });
    assert_eq!(
        one(&c, "SELECT enabled FROM nano_enrollments"),
        "Integer(0)"
    );
    at(&mut c, Event::Duplicate { host: 1 });
    assert_eq!(
        one(&c, "SELECT count(*) FROM hosts WHERE uuid = 'H1'"),
        "Integer(2)"
    );
    // Events naming rows that are gone do nothing.
    at(&mut c, Event::Flip { host: 1, label: 7 });
    at(
        &mut c,
        Event::NewLabel {
            name: "late".into(),
            profile: "a1".into(),
            members: vec![1],
        },
    );
    assert_eq!(
        one(&c, "SELECT count(*) FROM labels WHERE name = 'late'"),
        "Integer(0)"
    );
}

#[test]
fn the_scope_names_the_hosts_and_profiles_events_touch() {
    let c = tiny();
    let scope = scope_of(
        &c,
        &[
            Event::Report { host: 1 },
            Event::Edit {
                profile: "a9".into(),
            },
            Event::DeleteLabel { label: 7 },
            Event::Report { host: 99 },
        ],
    )
    .unwrap();
    assert_eq!(scope.hosts.into_iter().collect::<Vec<_>>(), vec!["H1"]);
    assert_eq!(
        scope.profiles.into_iter().collect::<Vec<_>>(),
        vec!["a1", "a9"]
    );
}

#[test]
fn churn_stops_after_churn_ticks() {
    let mut s = quick();
    s.loadtest.churn_ticks = Some(2);
    let u = Universe {
        host_ids: (1..=100).collect(),
        label_ids: (1..=10).collect(),
        profiles: vec!["a1".into()],
        teams: vec![1],
        eligible: 90,
    };
    assert!(!events(&s, &u, 1).is_empty());
    assert!(events(&s, &u, 2).is_empty());
}

#[test]
fn the_busy_counter_counts_lock_waits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let mut a = Connection::open(&db).unwrap();
    a.pragma_update(None, "journal_mode", "WAL").unwrap();
    a.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let mut b = Connection::open(&db).unwrap();
    let counter = BusyCounter::install(&mut b).unwrap();
    assert_eq!(counter.read(), (0, 0));
    // `a` holds the write lock for 60 ms while `b` writes.
    let tx = a
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
    let writer = std::thread::spawn(move || {
        b.execute("INSERT INTO t VALUES (2)", []).unwrap();
        b
    });
    // Held 60 ms from the first wait on (on a loaded machine the writer thread can start late).
    let start = std::time::Instant::now();
    while counter.read().0 == 0 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(60));
    tx.commit().unwrap();
    let b = writer.join().unwrap();
    let (retries, waited_us) = counter.read();
    // Each retry sleeps 1 ms or more (more when the machine is loaded): at least a few
    // retries, and at least most of the 60 ms the lock was held after the first.
    assert!(retries >= 2, "{retries}");
    assert!(waited_us >= 40_000, "{waited_us}");
    let n: i64 = b
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_path_database_keeps_its_journal_and_a_copy_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("fleet.db");
    Connection::open(&base)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    let journal = |p: &Path| {
        let mut s = p.as_os_str().to_os_string();
        s.push("-journal");
        PathBuf::from(s)
    };
    let mode = |c: &Connection| -> String {
        c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    // The copy (written under a temporary name, then renamed) deletes its journal at commit.
    let tmp = dir.path().join(".copy.tmp");
    let copy = copy_fleet(&base, &tmp).unwrap();
    assert_eq!(mode(&copy), "delete");
    copy.execute("INSERT INTO t VALUES (2)", []).unwrap();
    assert!(!journal(&tmp).exists());
    drop(copy);
    let placed = dir.path().join("batched.db");
    std::fs::rename(&tmp, &placed).unwrap();
    // In its place, the run keeps the journal file between commits, its header zeroed: not
    // hot, so a reopen keeps every committed row.
    let conn = open_path_db(&placed).unwrap();
    assert_eq!(mode(&conn), "persist");
    conn.execute("INSERT INTO t VALUES (3)", []).unwrap();
    assert!(journal(&placed).exists());
    // The manifest names what the connection runs with (a value SQLite cuts, as it cut a
    // 4 GiB mapping, reads back otherwise).
    for p in path_db_pragmas() {
        let (k, v) = p.split_once('=').unwrap();
        let set: String = conn
            .query_row(&format!("PRAGMA {k}"), [], |r| {
                r.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap();
        let want = match (k, v) {
            ("synchronous", "OFF") => "0",
            ("temp_store", "MEMORY") => "2",
            (_, v) => v,
        };
        assert!(set.eq_ignore_ascii_case(want), "{k}: {set} against {v}");
    }
    drop(conn);
    let again = open_path_db(&placed).unwrap();
    let rows: i64 = again
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);
}

#[test]
fn the_ticks_header_names_the_tick_row_fields_in_order() {
    let row = TickRow {
        path: "drain".into(),
        tick: 1,
        virtual_time_s: 30,
        cursor_before: String::new(),
        cursor_after: "A".into(),
        hosts: 2,
        installs: 3,
        removes: 0,
        duration_us: 9,
        outcome: TickOutcome::Ok,
        error: String::new(),
        rows_read: 4,
        busy_retries: 0,
        windows: 2,
        stop: "cap".into(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(&row).unwrap();
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, TICK_COLUMNS.join(","));
    let ours = String::from_utf8(
        ticks_csv(&[(
            approach::RunPath::plain(PathKind::Drain),
            PathRun {
                ticks: vec![row],
                ..PathRun::default()
            },
        )])
        .unwrap(),
    )
    .unwrap();
    assert_eq!(ours, text);
}

#[test]
fn scripted_events_happen_at_their_tick_whatever_the_churn() {
    let text = format!(
        "{}\n{}",
        include_str!("../../../scenarios/quick.toml")
            .replace("# churn_ticks = 20", "churn_ticks = 1"),
        r#"
[[loadtest.events]]
at_tick = 3
kind = "add-profiles"
count = 2

[[loadtest.events]]
at_tick = 3
kind = "move-team"
from_team = 1
to_team = 0
hosts = 5

[[loadtest.events]]
at_tick = 4
kind = "exclude-label"
share = 0.5
"#
    );
    let s = Scenario::parse(&text, "scripted.toml").unwrap();
    let u = Universe {
        host_ids: (1..=1000).collect(),
        label_ids: (1..=10).collect(),
        profiles: vec!["a1".into(), "a2".into()],
        teams: vec![1, 2],
        eligible: 900,
    };
    assert!(events(&s, &u, 2).is_empty(), "churn over, nothing scripted");
    let at3 = events(&s, &u, 3);
    // Two profiles in no team and in each of the two teams, then the transfer.
    let adds: Vec<i64> = at3
        .iter()
        .filter_map(|e| match e {
            Event::AddProfile { team, .. } => Some(*team),
            _ => None,
        })
        .collect();
    assert_eq!(adds, vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(
        at3.last(),
        Some(&Event::MoveTeam {
            from: Some(1),
            to: None,
            limit: Some(5)
        })
    );
    let at4 = events(&s, &u, 4);
    let [Event::NewLabel { members, .. }] = &at4[..] else {
        panic!("one new label: {at4:?}")
    };
    assert!((400..600).contains(&members.len()), "{}", members.len());
    assert_eq!(at4, events(&s, &u, 4), "the same from the seed");
    // The move applies to the lowest ids of the team, and the scope names them.
    let mut c = tiny();
    c.execute_batch(
        "INSERT INTO hosts (id, uuid, platform, team_id) VALUES (2, 'H2', 'darwin', 1), (3, 'H3', 'darwin', 1);",
    )
    .unwrap();
    let mv = Event::MoveTeam {
        from: Some(1),
        to: None,
        limit: Some(1),
    };
    let scope = scope_of(&c, std::slice::from_ref(&mv)).unwrap();
    assert_eq!(scope.hosts.into_iter().collect::<Vec<_>>(), vec!["H2"]);
    apply_events(&mut c, &[mv], 1_780_000_000, 3).unwrap();
    assert_eq!(
        one(
            &c,
            "SELECT group_concat(id) FROM hosts WHERE team_id IS NULL"
        ),
        "Text(\"1,2\")"
    );
}

#[test]
fn a_scripted_event_with_a_key_of_another_kind_is_named() {
    let bad = |extra: &str| {
        let text = format!(
            "{}\n[[loadtest.events]]\nat_tick = 1\n{extra}\n",
            include_str!("../../../scenarios/quick.toml")
        );
        Scenario::parse(&text, "s.toml").unwrap_err().to_string()
    };
    let e = bad("kind = \"move-team\"\nfrom_team = 1\nto_team = 2\nshare = 0.5");
    assert!(
        e.contains("loadtest.events[0].share") && e.contains("takes no `share`"),
        "{e}"
    );
    let e = bad("kind = \"add-profiles\"");
    assert!(
        e.contains("loadtest.events[0].count") && e.contains("needs `count`"),
        "{e}"
    );
    let e = bad("kind = \"move-team\"\nfrom_team = 1\nto_team = 40");
    assert!(
        e.contains("loadtest.events[0].to_team") && e.contains("does not exist"),
        "{e}"
    );
    let e = bad("kind = \"exclude-label\"\nshare = 1.5");
    assert!(e.contains("loadtest.events[0].share"), "{e}");
    let e = bad("kind = \"explode\"");
    assert!(e.contains("explode"), "{e}");
}

#[test]
fn a_path_database_of_another_path_is_refused_by_name() {
    let s = quick();
    let conn = crate::paths::batched::tests::quick_fleet();
    let u = Universe::load(&conn).unwrap();
    let clock = crate::domain::clock::FakeClock::stepping(Duration::from_micros(100));
    let cfg = config(&s, 1);
    let setup = record::Setup {
        format: record::FORMAT,
        universe: u.clone(),
        ticks: 1,
    };
    record::init(&conn, "d.db", &setup, "drain-2").unwrap();
    let dbs = vec![(
        approach::RunPath::plain(PathKind::Batched),
        conn,
        PathBuf::from("d.db"),
    )];
    let e = run(dbs, &cfg, &u, &clock, |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "d.db: holds the record of the drain-2 path");
}

#[test]
fn only_profiles_whose_events_change_their_payload_alone_are_evaluated_once() {
    let conn = crate::paths::batched::tests::quick_fleet();
    let profiles = batched::load_profiles(&conn).unwrap();
    let by_team = |team: i64| -> Vec<&Profile> {
        profiles
            .iter()
            .filter(|p| p.team_id == team && p.refs.iter().all(|r| r.label_id.is_some()))
            .collect()
    };
    let (t1, t2, t3) = (by_team(1), by_team(2), by_team(3));
    // A team-3 profile's label that no team-1 profile references (a deletion scopes every
    // profile that references the label, whatever its team).
    let in_team_1 = |l: i64| {
        t1.iter()
            .any(|p| p.refs.iter().any(|r| r.label_id == Some(l)))
    };
    let (labelled, label) = t3
        .iter()
        .find_map(|p| {
            p.refs
                .iter()
                .filter_map(|r| r.label_id)
                .find(|&l| !in_team_1(l))
                .map(|l| (*p, l))
        })
        .expect("a team-3 profile with a label no team-1 profile has");
    let edit = |p: &Profile| Event::Edit {
        profile: p.uuid.clone(),
    };
    let events = vec![
        // Team 1: an edit and a secrets update of two profiles, nothing else there.
        edit(t1[0]),
        Event::Secrets {
            profile: t1[1].uuid.clone(),
        },
        // Team 2: an edited profile that also gets a new label, and an edited one beside it.
        edit(t2[0]),
        Event::NewLabel {
            name: "n".into(),
            profile: t2[0].uuid.clone(),
            members: vec![],
        },
        edit(t2[1]),
        // Team 3: an edited profile whose label is deleted.
        edit(labelled),
        Event::DeleteLabel { label },
        // A profile the database does not hold.
        Event::Edit {
            profile: "gone".into(),
        },
    ];
    let scope = scope_of(&conn, &events).unwrap();
    let once = churn::payload_only(&conn, &events, &scope).unwrap();
    let mut got: Vec<&str> = once.keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = vec![t1[0].uuid.as_str(), t1[1].uuid.as_str()];
    want.sort_unstable();
    assert_eq!(got, want);
    // With the checksum and secrets the profile has before the events.
    assert_eq!(
        once[&t1[0].uuid],
        (t1[0].checksum.clone(), t1[0].secrets_updated_at.clone())
    );
}

#[test]
fn kept_host_rows_evaluate_as_the_tables_after_host_events() {
    // Churn reading profiles' teams from the kept host rows (`HostFacts`) must find the scopes
    // and desired states that reading the tables finds, also after events changed hosts of a
    // kept team: moved out of it and into it, unenrolled, duplicated.
    let (mut kept, mut read) = (
        crate::paths::batched::tests::quick_fleet(),
        crate::paths::batched::tests::quick_fleet(),
    );
    let sem = Semantics::batched(Rules::default());
    let mut facts = convergence::HostFacts::new(sem);
    let profiles = batched::load_profiles(&kept).unwrap();
    let of_team =
        |t: i64| -> Vec<&Profile> { profiles.iter().filter(|p| p.team_id == t).collect() };
    let (t1, t2) = (of_team(1), of_team(2));
    // A label-less team-1 profile: every listed host of team 1 wants it.
    let open1 = t1
        .iter()
        .find(|p| p.refs.is_empty())
        .expect("a label-less team-1 profile");
    let listed = |t: i64| -> Vec<i64> {
        kept.prepare(&format!(
            "SELECT h.id FROM hosts h WHERE h.team_id = ?1 AND {ELIGIBLE_HOST} ORDER BY h.id"
        ))
        .unwrap()
        .query_map([t], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let (h1, h2) = (listed(1), listed(2));
    let uuid = |id: i64| -> String {
        kept.query_row("SELECT uuid FROM hosts WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    let (out_of_1, into_1) = (uuid(h1[0]), uuid(h2[0]));
    let rounds = [
        // Teams 1 and 2 read into the kept rows (an edit evaluated once, a deletion twice).
        vec![
            Event::Edit {
                profile: t1[0].uuid.clone(),
            },
            Event::DeleteProfile {
                profile: t2[0].uuid.clone(),
            },
        ],
        // Hosts of both kept teams change, beside a profile of team 2.
        vec![
            Event::Transfer {
                host: h1[0],
                team: Some(2),
            },
            Event::Transfer {
                host: h2[0],
                team: Some(1),
            },
            Event::ToggleEnrollment { host: h1[1] },
            Event::Duplicate { host: h1[2] },
            Event::MoveTeam {
                from: Some(2),
                to: None,
                limit: Some(3),
            },
            Event::DeleteProfile {
                profile: t2[1].uuid.clone(),
            },
        ],
        // The kept teams alone, after those changes.
        vec![
            Event::DeleteProfile {
                profile: open1.uuid.clone(),
            },
            Event::AddProfile {
                uuid: "added-2".into(),
                team: 2,
            },
        ],
    ];
    let mut last = None;
    for (k, evs) in rounds.iter().enumerate() {
        let k = k as u32;
        let a = churn_step(
            &mut kept,
            evs,
            &sem,
            1_780_000_000,
            k,
            false,
            Some(&mut facts),
        )
        .unwrap();
        let b = churn_step(&mut read, evs, &sem, 1_780_000_000, k, false, None).unwrap();
        assert_eq!(a.0, b.0, "round {k}: scope");
        for (x, y, what) in [(&a.1, &b.1, "before"), (&a.2, &b.2, "after")] {
            assert_eq!(x.targets, y.targets, "round {k}: targets {what}");
            assert_eq!(x.unlisted, y.unlisted, "round {k}: unlisted {what}");
        }
        last = Some(a);
    }
    // Not vacuous: the last round read team 1 from the kept rows alone, and found the host that
    // moved in and not the one that moved out.
    let (scope, before, _) = last.unwrap();
    assert!(scope.hosts.is_empty());
    let wants = |h: &str| {
        before
            .targets
            .contains_key(&(h.to_string(), open1.uuid.clone()))
    };
    assert!(wants(&into_1) && !wants(&out_of_1));
}
