//! Unit tests of the drain loop: the pure decisions, then whole ticks on a small fleet.

use super::*;
use crate::domain::clock::RealClock;
use crate::domain::variant::Variant;
use crate::paths::cursor::{CursorError, MemoryCursor};
use rusqlite::Connection;
use std::cell::Cell;

#[test]
fn the_cap_keeps_the_first_hosts_with_work() {
    // (work, delivered, cap) -> (kept, partial)
    let cases = [
        ((4, 0, Some(6)), (4, false)),
        ((4, 4, Some(6)), (2, true)),
        ((4, 2, Some(6)), (4, false)),
        ((0, 5, Some(6)), (0, false)),
        ((9, 0, None), (9, false)),
        ((9, 0, Some(0)), (9, false)), // C <= 0: no cap
    ];
    for ((work, delivered, cap), want) in cases {
        assert_eq!(
            keep(work, delivered, cap),
            want,
            "{work} {delivered} {cap:?}"
        );
    }
}

#[test]
fn a_tick_stops_at_the_first_reason_in_order() {
    use Stop::*;
    // (partial, page_full, cap, delivered, budget_spent) -> stop
    let cases = [
        ((true, false, Some(4), 4, true), Some(Partial)),
        ((false, false, Some(4), 4, true), Some(Wrapped)),
        ((false, true, Some(4), 4, true), Some(Cap)),
        ((false, true, Some(4), 3, true), Some(Budget)),
        ((false, true, Some(4), 3, false), None),
        ((false, true, None, 1_000, false), None),
    ];
    for ((partial, full, cap, delivered, spent), want) in cases {
        assert_eq!(stop_after(partial, full, cap, delivered, spent), want);
    }
}

/// `n` eligible darwin hosts `h01`…, no team, one label-free profile and no current rows: every
/// host has work (one install).
fn fleet(n: usize) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
    for i in 1..=n {
        let u = format!("h{i:02}");
        conn.execute_batch(&format!(
            "INSERT INTO hosts (id, uuid, platform, label_updated_at)
               VALUES ({i}, '{u}', 'darwin', '2026-06-01 10:00:00');
             INSERT INTO host_mdm (host_id, enrolled) VALUES ({i}, 1);
             INSERT INTO nano_devices (id, authenticate_at) VALUES ('{u}', '2026-06-01 10:00:00');
             INSERT INTO nano_enrollments (id, device_id, type, enabled)
               VALUES ('{u}:Device', '{u}', 'Device', 1);"
        ))
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier, name,
           checksum) VALUES ('p1', 0, 'com.p1', 'P1', x'01')",
    )
    .unwrap();
    conn
}

fn cfg() -> BatchedConfig {
    let mut rules = crate::domain::rules::Rules::default();
    Variant::Latest.preset(&mut rules);
    BatchedConfig {
        batch_size: 4,
        rules,
        variant: Variant::Latest,
    }
}

fn knobs(cap: Option<usize>, windows: u32) -> DrainKnobs {
    DrainKnobs {
        window: 4,
        cap,
        budget: Budget::Windows(windows),
    }
}

/// Runs one tick; returns the report and the windows handed to the writer (host uuids each).
fn run(
    conn: &Connection,
    cursor: &mut dyn CursorStore,
    k: DrainKnobs,
) -> (DrainReport, Vec<Vec<String>>) {
    let mut written = Vec::new();
    let r = tick(conn, cursor, &cfg(), &k, &RealClock::default(), &mut |d| {
        written.push(d.iter().map(|d| d.host_uuid.to_string()).collect());
        Ok(())
    });
    (r, written)
}

fn hosts(a: usize, b: usize) -> Vec<String> {
    (a..=b).map(|i| format!("h{i:02}")).collect()
}

#[test]
fn a_cap_hit_mid_window_keeps_the_cursor_at_the_last_delivered_host() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let (r, w) = run(&conn, &mut c, knobs(Some(6), 10));
    assert_eq!(r.stop, Some(Stop::Partial));
    assert_eq!(w, [hosts(1, 4), hosts(5, 6)]);
    assert_eq!((r.delivered, r.windows), (6, 2));
    // Visited: the hosts the tick passed, up to the last delivered one (h07, h08 were read
    // and are read again next tick).
    assert_eq!(r.tick.visited, (1..=6).collect::<Vec<i64>>());
    assert_eq!(c.value, "h06");
    assert_eq!(r.tick.cursor_after, "h06");
    // No host skipped: the next tick starts right after the last delivered one.
    let (r, w) = run(&conn, &mut c, knobs(Some(6), 10));
    assert_eq!(w[0], hosts(7, 10));
    assert_eq!(r.stop, Some(Stop::Wrapped));
    assert_eq!(c.value, "");
}

#[test]
fn a_cap_hit_at_a_window_boundary_stops_with_the_window_delivered() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let (r, w) = run(&conn, &mut c, knobs(Some(4), 10));
    assert_eq!(r.stop, Some(Stop::Cap));
    assert_eq!(w, [hosts(1, 4)]);
    assert_eq!(c.value, "h04");
}

#[test]
fn a_short_page_wraps_the_cursor_and_an_unchanged_cursor_is_not_written() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let (r, w) = run(&conn, &mut c, knobs(None, 10));
    assert_eq!(r.stop, Some(Stop::Wrapped));
    assert_eq!(w, [hosts(1, 4), hosts(5, 8), hosts(9, 10)]);
    assert_eq!((r.delivered, r.windows), (10, 3));
    assert!(r.tick.pass_complete);
    assert_eq!(
        (c.value.as_str(), c.writes),
        ("", 0),
        "entry \"\" = commit \"\""
    );
}

#[test]
fn the_window_budget_can_end_a_tick_after_the_first_window() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let (r, w) = run(&conn, &mut c, knobs(None, 1));
    assert_eq!(r.stop, Some(Stop::Budget));
    assert_eq!(w, [hosts(1, 4)]);
    assert_eq!(c.value, "h04");
}

/// Reads from `inner`, failing the `fail_at`-th window read.
struct FailingWindow<'a> {
    inner: &'a Connection,
    reads: Cell<u32>,
    fail_at: u32,
}

impl batched::Source for FailingWindow<'_> {
    fn window(
        &self,
        w: &batched::WindowRead<'_>,
    ) -> Result<(Vec<crate::domain::model::Host>, usize), batched::BatchedError> {
        self.reads.set(self.reads.get() + 1);
        if self.reads.get() == self.fail_at {
            return Err(batched::BatchedError::Tick("window: injected".into()));
        }
        self.inner.window(w)
    }
    fn profiles(
        &self,
        v: Variant,
    ) -> Result<Vec<crate::domain::model::Profile>, batched::BatchedError> {
        self.inner.profiles(v)
    }
    fn memberships(
        &self,
        h: &[i64],
        l: &[i64],
    ) -> Result<rustc_hash::FxHashSet<(i64, i64)>, batched::BatchedError> {
        self.inner.memberships(h, l)
    }
    fn current(
        &self,
        u: &[&str],
        c: &batched::Catalog,
    ) -> Result<batched::CurrentRows, batched::BatchedError> {
        self.inner.current(u, c)
    }
    fn ineligible_rows(
        &self,
        r: &crate::domain::rules::Rules,
    ) -> Result<Vec<crate::domain::model::CurrentRow>, batched::BatchedError> {
        self.inner.ineligible_rows(r)
    }
    fn host_rows(&self) -> Result<i64, batched::BatchedError> {
        self.inner.host_rows()
    }
}

#[test]
fn an_error_in_window_two_keeps_window_one_and_leaves_the_cursor() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let mut written: Vec<Delta> = Vec::new();
    {
        let src = FailingWindow {
            inner: &conn,
            reads: Cell::new(0),
            fail_at: 2,
        };
        let k = knobs(None, 10);
        let r = tick(&src, &mut c, &cfg(), &k, &RealClock::default(), &mut |d| {
            written.extend_from_slice(d);
            Ok(())
        });
        assert!(matches!(r.tick.outcome, Outcome::Error(ref e) if e.contains("injected")));
        assert_eq!(r.stop, None);
    }
    assert_eq!((c.value.as_str(), c.writes), ("", 0), "cursor unwritten");
    assert_eq!(written.len(), 4, "window 1 was delivered");
    // Window 1's writes stay; the next tick re-scans from "" and finds no work there.
    let mut n = 0;
    crate::paths::writer::apply(&conn, &written, || {
        n += 1;
        format!("cmd-{n}")
    })
    .unwrap();
    let (r, w) = run(&conn, &mut c, knobs(None, 10));
    assert_eq!(w, [hosts(5, 8), hosts(9, 10)]);
    assert_eq!(r.delivered, 6);
}

/// A cursor store whose writes fail.
struct BrokenWrites(String);

impl CursorStore for BrokenWrites {
    fn read(&mut self) -> Result<String, CursorError> {
        Ok(self.0.clone())
    }
    fn write(&mut self, _: &str) -> Result<(), CursorError> {
        Err(CursorError::Write("injected".into()))
    }
}

#[test]
fn a_failed_cursor_write_is_logged_and_swallowed_b3() {
    let conn = fleet(10);
    let mut c = BrokenWrites(String::new());
    let (r, _) = run(&conn, &mut c, knobs(Some(4), 10));
    assert!(matches!(r.tick.outcome, Outcome::Ok));
    assert!(
        r.tick
            .logged
            .as_deref()
            .is_some_and(|l| l.contains("cursor write failed"))
    );
    assert_eq!(r.tick.cursor_after, "", "the stored cursor did not move");
    // So the same hosts come again next tick.
    let (_, w) = run(&conn, &mut c, knobs(Some(4), 10));
    assert_eq!(w, [hosts(1, 4)]);
}

#[test]
fn a_failed_write_fails_the_tick_and_leaves_the_cursor() {
    let conn = fleet(10);
    let mut c = MemoryCursor::default();
    let mut calls = 0;
    let r = tick(
        &conn,
        &mut c,
        &cfg(),
        &knobs(None, 10),
        &RealClock::default(),
        &mut |_| {
            calls += 1;
            if calls == 2 {
                Err("disk full".into())
            } else {
                Ok(())
            }
        },
    );
    assert!(matches!(r.tick.outcome, Outcome::Error(ref e) if e == "write: disk full"));
    assert_eq!((c.value.as_str(), c.writes), ("", 0));
}

#[test]
fn budgets_parse_as_a_time_or_a_window_count() {
    let ok = [
        ("12s", Budget::WallClock(Duration::from_secs(12))),
        ("500ms", Budget::WallClock(Duration::from_millis(500))),
        ("2m", Budget::WallClock(Duration::from_secs(120))),
        ("0.5s", Budget::WallClock(Duration::from_millis(500))),
        ("windows:3", Budget::Windows(3)),
    ];
    for (text, want) in ok {
        assert_eq!(text.parse::<Budget>().unwrap(), want, "{text}");
    }
    for bad in [
        "",
        "12",
        "12x",
        "0s",
        "-1s",
        "windows:0",
        "windows:",
        "windows:x",
    ] {
        assert!(bad.parse::<Budget>().is_err(), "{bad}");
    }
}

#[test]
fn a_budget_prints_as_it_is_written() {
    for s in ["12s", "500ms", "windows:3", "1500ms"] {
        let b: Budget = s.parse().unwrap();
        assert_eq!(b.to_string(), s);
        assert_eq!(b.to_string().parse::<Budget>().unwrap(), b);
    }
    assert_eq!("2m".parse::<Budget>().unwrap().to_string(), "120s");
}

#[test]
fn a_streamed_pass_hands_over_what_the_collected_pass_keeps() {
    // 10 hosts, cap 3, window 4: the pass takes several ticks. `full_pass_each` hands each one
    // over and keeps nothing; in order, they hold exactly the collected pass's deltas.
    let conn = fleet(10);
    let k = knobs(Some(3), 2);
    let clock = RealClock::default();
    let pass = full_pass(&conn, &cfg(), &k, &clock, |_| {}).unwrap();
    let mut streamed = Vec::new();
    let ticks = full_pass_each(&conn, &cfg(), &k, &clock, |r| {
        streamed.extend(r.tick.deltas);
    })
    .unwrap();
    assert!(ticks >= 4, "{ticks} ticks");
    assert_eq!(ticks, pass.ticks.len());
    assert_eq!(streamed.len(), 10);
    assert_eq!(streamed, pass.deltas);
}
