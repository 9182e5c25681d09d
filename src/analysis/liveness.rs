//! The cursor liveness monitor of every batched run (issue 5; spec §4.1, §8): per pass, each
//! host row the window should list is visited exactly once, the cursor strictly increases, and
//! a pass takes ceil(N/B) ticks (+1 when N is a multiple of B). What breaks those becomes a
//! finding:
//!
//! | kind | when | bug it shows |
//! |---|---|---|
//! | `stuck_cursor` | the cursor unchanged for K ticks in a row while the ticks fail | B2 (after B1 or any persistent error) |
//! | `cursor_not_advancing` | a tick succeeded on a full page but the cursor did not move | B3 (a swallowed cursor write) |
//! | `starved_hosts` | listed host rows not visited in the last full pass worth of ticks | B2, B3, B5 |
//! | `skipped_hosts` | a pass completed without visiting rows it should have listed | B4 (a duplicate uuid split by a page boundary), B5 |
//! | `early_wrap` | a pass completed in fewer ticks than ceil(N/B) | B5; under `seed` and `merged`, B4 (the skipped row shortens the pass) |
//!
//! | `revisited_hosts` | a host row visited twice within one pass | B3 |
//!
//! A `skipped_hosts` or `early_wrap` detail names the bug by the variant that carries it (B4 in
//! `seed` and `merged`, B5 in `dedupe`, none in `latest`).
//!
//! A drain run (spec §10, `Monitor::for_drain`) reads many windows per tick: a host counts as
//! visited when the tick's committed cursor passed it (hosts read after the cap's last kept
//! host are read again next tick, not revisits), an early wrap is judged in window reads
//! (ceil(N/W)), and starvation over ceil(N / min(W, C)) + 1 ticks, the longest a pass can take
//! when every tick passes at least a window or the cap's hosts.
//!
//! "Should list" is the window's own definition: eligible (spec §2), `host_mdm.enrolled = 1`
//! under D7, uuid not `''` (never listed, D9), and for the de-duplicating versions only the
//! highest id of each uuid.

use crate::analysis::names::FindingKind;
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::rules::Rules;
use crate::domain::variant::Variant;
use crate::paths::batched::TickReport;
use rusqlite::Connection;
use rustc_hash::FxHashMap;

/// One finding (a row of `findings.csv`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub tick: u32,
    pub kind: FindingKind,
    /// Hosts concerned (or ticks, for `stuck_cursor`).
    pub count: u64,
    pub detail: String,
    /// Up to five host uuids (with row ids).
    pub sample: String,
}

/// Watches one batched path's ticks. Its state is saved with each loadtest step (serde) so a
/// resumed run continues the monitor instead of restarting it; the configuration fields are
/// not saved (`restore` keeps the running monitor's). The two listed-host maps (a fleet's
/// worth of uuids, replaced only at pass and starvation-window boundaries) are saved apart,
/// through `listed_maps` and `restore_listed`, so that a step which did not replace them does not
/// write them again; `listed_version` tells which steps did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Monitor {
    #[serde(skip)]
    batch: usize,
    #[serde(skip)]
    rules: Rules,
    #[serde(skip)]
    variant: Variant,
    /// Ticks of failure with an unchanged cursor before `stuck_cursor` (K).
    #[serde(skip)]
    stuck_after: u32,
    /// A drain run (spec §10): its window size W. A pass is then judged in window reads, not
    /// ticks (a tick reads many windows).
    #[serde(skip)]
    drain_window: Option<usize>,
    /// Window reads in the pass in progress (drain).
    #[serde(default)]
    pass_windows: u32,
    fail_streak: u32,
    stuck_reported: bool,
    /// The pass in progress: its first tick, the rows expected at its start, visits.
    pass_start: u32,
    #[serde(skip)]
    expected: FxHashMap<i64, String>,
    /// Rows the window query returns over a pass (before any de-duplication): the pages.
    expected_rows: usize,
    visits: FxHashMap<i64, u32>,
    last_visit: FxHashMap<i64, u32>,
    first_tick: Option<u32>,
    /// The first pass began mid-pass (the cursor was not `""`): its end is not judged.
    partial: bool,
    /// Rows listed at the start of the current starvation window, and its first tick.
    #[serde(skip)]
    window_listed: FxHashMap<i64, String>,
    /// Bumped each time `expected` or `window_listed` is replaced.
    #[serde(default)]
    listed_version: u64,
    window_origin: u32,
    pub findings: Vec<Finding>,
}

/// The monitor's listed-host maps as saved (see `Monitor::listed_maps`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ListedRef<'a> {
    pub version: u64,
    pub expected: &'a FxHashMap<i64, String>,
    pub window_listed: &'a FxHashMap<i64, String>,
}

/// The monitor's listed-host maps as read back (see `Monitor::restore_listed`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Listed {
    pub version: u64,
    pub expected: FxHashMap<i64, String>,
    pub window_listed: FxHashMap<i64, String>,
}

/// (id, uuid) rows in uuid order, then id.
fn sorted(mut rows: Vec<(i64, String)>) -> Vec<(i64, String)> {
    rows.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    rows
}

fn sample(rows: &[(i64, String)]) -> String {
    rows.iter()
        .take(5)
        .map(|(id, u)| format!("{u} (id {id})"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Monitor {
    pub fn new(batch: usize, rules: Rules, variant: Variant, stuck_after: u32) -> Monitor {
        Monitor {
            batch: batch.max(1),
            rules,
            variant,
            stuck_after: stuck_after.max(1),
            drain_window: None,
            pass_windows: 0,
            fail_streak: 0,
            stuck_reported: false,
            pass_start: 0,
            expected: FxHashMap::default(),
            expected_rows: 0,
            visits: FxHashMap::default(),
            last_visit: FxHashMap::default(),
            first_tick: None,
            partial: false,
            window_listed: FxHashMap::default(),
            listed_version: 0,
            window_origin: 0,
            findings: Vec::new(),
        }
    }

    /// The monitor of a drain run (spec §10). Every successful tick passes at least
    /// min(W, C) hosts (a full window, or the cap's hosts), so a pass takes at most
    /// ceil(N / min(W, C)) + 1 ticks: the starvation window. An early wrap is judged in window
    /// reads: a pass over N rows reads at least ceil(N / W) windows.
    pub fn for_drain(
        knobs: &crate::paths::drain::DrainKnobs,
        rules: Rules,
        variant: Variant,
        stuck_after: u32,
    ) -> Monitor {
        let w = knobs.window.max(1);
        let per_tick = knobs.cap.filter(|&c| c > 0).map_or(w, |c| c.min(w));
        Monitor {
            drain_window: Some(w),
            ..Monitor::new(per_tick, rules, variant, stuck_after)
        }
    }

    /// How many times the listed-host maps have been replaced (0: never, both empty).
    pub fn listed_version(&self) -> u64 {
        self.listed_version
    }

    /// The listed-host maps, to save apart from the rest of the state.
    pub fn listed_maps(&self) -> ListedRef<'_> {
        ListedRef {
            version: self.listed_version,
            expected: &self.expected,
            window_listed: &self.window_listed,
        }
    }

    /// Puts back the listed-host maps saved with the state `restore` brought back; refuses
    /// maps of another version (saved by another step).
    pub fn restore_listed(&mut self, saved: Listed) -> Result<(), String> {
        if saved.version != self.listed_version {
            return Err(format!(
                "listed hosts of version {}, the monitor's state is at version {}",
                saved.version, self.listed_version
            ));
        }
        self.expected = saved.expected;
        self.window_listed = saved.window_listed;
        Ok(())
    }

    /// Continues from a saved monitor's state, keeping this one's configuration.
    pub fn restore(&mut self, saved: Monitor) {
        *self = Monitor {
            batch: self.batch,
            rules: self.rules,
            variant: self.variant,
            stuck_after: self.stuck_after,
            drain_window: self.drain_window,
            ..saved
        };
    }

    /// The host rows the window should list now (id → uuid), and how many rows the window
    /// query returns over a pass before de-duplication (what the pages consume).
    pub fn listed_rows(
        &self,
        conn: &Connection,
    ) -> rusqlite::Result<(FxHashMap<i64, String>, usize)> {
        let d7 = crate::domain::eligibility::enrolled_clause(&self.rules);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT h.id, h.uuid FROM hosts h
             WHERE h.uuid > '' AND {ELIGIBLE_HOST}{d7} ORDER BY h.uuid, h.id DESC"
        ))?;
        let mut out = FxHashMap::default();
        let mut rows = 0;
        let mut last: Option<String> = None;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, uuid) = row?;
            rows += 1;
            if self.variant.dedupes_window() && last.as_deref() == Some(uuid.as_str()) {
                continue;
            }
            last = Some(uuid.clone());
            out.insert(id, uuid);
        }
        Ok((out, rows))
    }

    /// The host rows the window should list now: id → uuid.
    pub fn listed(&self, conn: &Connection) -> rusqlite::Result<FxHashMap<i64, String>> {
        Ok(self.listed_rows(conn)?.0)
    }

    /// A finding about host rows (none when `rows` is empty): their count and five of them.
    fn hosts_finding(
        &mut self,
        tick: u32,
        kind: FindingKind,
        rows: &[(i64, String)],
        detail: String,
    ) {
        if !rows.is_empty() {
            self.findings.push(Finding {
                tick,
                kind,
                count: rows.len() as u64,
                detail,
                sample: sample(rows),
            });
        }
    }

    /// Ticks a pass over `n` rows takes (spec §4.1).
    pub fn pass_ticks(&self, n: usize) -> u32 {
        (n / self.batch + 1) as u32
    }

    /// Observes one tick (after it ran).
    pub fn observe(
        &mut self,
        conn: &Connection,
        tick: u32,
        r: &TickReport,
    ) -> rusqlite::Result<()> {
        self.observe_windows(conn, tick, r, 1)
    }

    /// Observes one tick that read `windows` windows (a drain tick; 1 for a batched one).
    pub fn observe_windows(
        &mut self,
        conn: &Connection,
        tick: u32,
        r: &TickReport,
        windows: u32,
    ) -> rusqlite::Result<()> {
        self.pass_windows += windows;
        if self.first_tick.is_none() {
            self.first_tick = Some(tick);
            self.pass_start = tick;
            (self.expected, self.expected_rows) = self.listed_rows(conn)?;
            self.window_listed = self.expected.clone();
            self.listed_version += 1;
            self.window_origin = tick;
            self.partial = !r.cursor_before.is_empty();
        }
        let failed = matches!(r.outcome, crate::paths::batched::Outcome::Error(_));
        // stuck_cursor: K failing ticks in a row at the same cursor.
        if failed && r.cursor_after == r.cursor_before {
            self.fail_streak += 1;
            if self.fail_streak >= self.stuck_after && !self.stuck_reported {
                self.stuck_reported = true;
                let crate::paths::batched::Outcome::Error(e) = &r.outcome else {
                    unreachable!("failed ticks carry an error")
                };
                self.findings.push(Finding {
                    tick,
                    kind: FindingKind::StuckCursor,
                    count: self.fail_streak as u64,
                    detail: format!(
                        "cursor {:?} unchanged for {} failing ticks: {e}",
                        r.cursor_before, self.fail_streak
                    ),
                    sample: String::new(),
                });
            }
        } else {
            self.fail_streak = 0;
            self.stuck_reported = false;
        }
        // Visits.
        let mut revisited = Vec::new();
        for &id in &r.visited {
            let n = self.visits.entry(id).or_default();
            *n += 1;
            if *n == 2 {
                revisited.push((id, self.expected.get(&id).cloned().unwrap_or_default()));
            }
            self.last_visit.insert(id, tick);
        }
        let detail = format!(
            "{} host rows visited a second time in the pass that began at tick {}",
            revisited.len(),
            self.pass_start
        );
        self.hosts_finding(tick, FindingKind::RevisitedHosts, &revisited, detail);
        // cursor_not_advancing: a successful full page that left the cursor in place.
        if !failed && !r.visited.is_empty() && r.cursor_after == r.cursor_before && !r.pass_complete
        {
            self.findings.push(Finding {
                tick,
                kind: FindingKind::CursorNotAdvancing,
                count: r.visited.len() as u64,
                detail: format!(
                    "tick succeeded but the cursor stayed at {:?}{}",
                    r.cursor_before,
                    r.logged
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                ),
                sample: String::new(),
            });
        }
        if r.pass_complete && !failed {
            self.end_pass(conn, tick)?;
        }
        // starved_hosts: every full pass worth of ticks since the monitor started (or since
        // the partial first pass ended: visits before the monitor are unknown).
        let first = self.window_origin;
        let window = self.pass_ticks(self.expected_rows);
        if !self.partial && tick >= first && (tick - first + 1).is_multiple_of(window) {
            // Rows listed both when the window began and now (a row that became eligible
            // meanwhile has had less than a pass to be reached).
            let listed = self.listed(conn)?;
            let since = tick + 1 - window;
            let starved = sorted(
                listed
                    .iter()
                    .filter(|(id, _)| self.window_listed.contains_key(id))
                    .filter(|(id, _)| self.last_visit.get(id).is_none_or(|&t| t < since))
                    .map(|(id, u)| (*id, u.clone()))
                    .collect(),
            );
            self.window_listed = listed;
            self.listed_version += 1;
            let detail = format!(
                "{} listed host rows not visited in ticks {since}–{tick} (a full pass is {window} ticks)",
                starved.len()
            );
            self.hosts_finding(tick, FindingKind::StarvedHosts, &starved, detail);
        }
        Ok(())
    }

    fn end_pass(&mut self, conn: &Connection, tick: u32) -> rusqlite::Result<()> {
        let (now, now_rows) = self.listed_rows(conn)?;
        if std::mem::take(&mut self.partial) {
            // Began mid-pass (after a warm-up): nothing to judge yet.
            self.pass_windows = 0;
            self.pass_start = tick + 1;
            self.window_origin = tick + 1;
            self.window_listed = now.clone();
            self.expected = now;
            self.expected_rows = now_rows;
            self.listed_version += 1;
            self.visits.clear();
            return Ok(());
        }
        let skipped = sorted(
            self.expected
                .iter()
                .filter(|(id, _)| now.contains_key(id) && !self.visits.contains_key(id))
                .map(|(id, u)| (*id, u.clone()))
                .collect(),
        );
        let detail = format!(
            "the pass of ticks {}–{tick} ended without visiting {} listed host rows{}",
            self.pass_start,
            skipped.len(),
            cause(self.variant)
        );
        self.hosts_finding(tick, FindingKind::SkippedHosts, &skipped, detail);
        // Batched: ticks of one window; drain: window reads.
        let (took, per, unit) = match self.drain_window {
            Some(w) => (std::mem::take(&mut self.pass_windows), w, "window read(s)"),
            None => (tick - self.pass_start + 1, self.batch, "tick(s)"),
        };
        let want = (self.expected_rows / per + 1) as u32;
        // A pass that ends with an empty read takes want reads; one whose last page was short
        // ends a read earlier. Fewer than that is an early wrap.
        let minimum = if self.expected_rows.is_multiple_of(per) {
            want
        } else {
            want - 1
        };
        if took < minimum.max(1) {
            self.findings.push(Finding {
                tick,
                kind: FindingKind::EarlyWrap,
                count: took as u64,
                detail: format!(
                    "the pass of ticks {}–{tick} wrapped after {took} {unit}; {} listed rows at {per} a window need {minimum}{}",
                    self.pass_start,
                    self.expected_rows,
                    cause(self.variant)
                ),
                sample: String::new(),
            });
        }
        self.pass_start = tick + 1;
        self.expected = now;
        self.expected_rows = now_rows;
        self.listed_version += 1;
        self.visits.clear();
        Ok(())
    }
}

/// The bug of semantics §8 behind a skipped host or an early wrap, named by the variant that
/// carries it: B4 (the cursor is the uuid alone, so the second row of a uuid split by a page
/// boundary is skipped, and the pass may end a tick early) in `seed` and `merged`, B5 (a page
/// that de-duplication made short wraps the cursor) in `dedupe`; none in `latest`.
fn cause(variant: Variant) -> String {
    let carried = variant.carries();
    let bug = ["B5", "B4"].into_iter().find(|b| carried.contains(b));
    match bug {
        Some("B4") => format!(" (B4 in {variant}: a duplicate uuid split by a page boundary)"),
        Some(b) => format!(" ({b} in {variant}: a page made short by de-duplication wrapped)"),
        None => format!(" (no bug {variant} carries explains it)"),
    }
}

/// `findings.csv` bytes: `path,tick,kind,count,detail,sample`.
pub fn findings_csv(rows: &[(&str, &Finding)]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["path", "tick", "kind", "count", "detail", "sample"])?;
    for (path, f) in rows {
        w.write_record([
            path.to_string(),
            f.tick.to_string(),
            f.kind.to_string(),
            f.count.to_string(),
            f.detail.clone(),
            f.sample.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Replays a finished pass's ticks through a fresh monitor (the snapshot it ran on unchanged):
/// the liveness check of `diff` and `compare`.
pub fn replay(
    conn: &Connection,
    cfg: &crate::paths::batched::BatchedConfig,
    ticks: &[TickReport],
) -> rusqlite::Result<Vec<Finding>> {
    let mut m = Monitor::new(cfg.batch_size, cfg.rules, cfg.variant, 3);
    for (i, t) in ticks.iter().enumerate() {
        m.observe(conn, i as u32, t)?;
    }
    Ok(m.findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::paths::drain::{self, Budget, DrainKnobs};

    fn drain_setup(
        cap: Option<usize>,
        windows: u32,
    ) -> (DrainKnobs, crate::paths::batched::BatchedConfig) {
        let knobs = DrainKnobs {
            window: 200,
            cap,
            budget: Budget::Windows(windows),
        };
        (knobs, config(Variant::Drain, 200))
    }

    /// A batched configuration of `variant` (its rule preset) and batch size.
    fn config(variant: Variant, batch_size: usize) -> crate::paths::batched::BatchedConfig {
        let mut rules = Rules::default();
        variant.preset(&mut rules);
        crate::paths::batched::BatchedConfig {
            batch_size,
            rules,
            variant,
        }
    }

    #[test]
    fn drain_passes_under_a_cap_are_judged_per_pass_without_findings() {
        // A cap of 50 hosts a tick and no writer: every tick reads past the cap's last host
        // and stops there; the hosts read after it are read again next tick, not revisited.
        let conn = crate::paths::batched::tests::quick_fleet();
        let (knobs, cfg) = drain_setup(Some(50), 3);
        let mut m = Monitor::for_drain(&knobs, cfg.rules, cfg.variant, 3);
        let mut cursor = crate::paths::cursor::MemoryCursor::default();
        let clock = crate::domain::clock::RealClock::default();
        let (mut passes, mut tick, mut partial) = (0, 0, 0);
        while passes < 2 && tick < 500 {
            let r = drain::tick(&conn, &mut cursor, &cfg, &knobs, &clock, &mut |_| Ok(()));
            partial += usize::from(r.stop == Some(drain::Stop::Partial));
            m.observe_windows(&conn, tick, &r.tick, r.windows).unwrap();
            passes += usize::from(r.tick.pass_complete);
            tick += 1;
        }
        assert_eq!(passes, 2);
        assert!(partial > 10, "the cap cut {partial} ticks");
        assert!(m.findings.is_empty(), "{:?}", m.findings);
    }

    #[test]
    fn a_drain_pass_is_timed_in_window_reads() {
        // No cap and room for every window: one tick is a whole pass. Counted in its window
        // reads it is a full pass; said to be one read, it wrapped early.
        let conn = crate::paths::batched::tests::quick_fleet();
        let (knobs, cfg) = drain_setup(None, 100);
        let clock = crate::domain::clock::RealClock::default();
        let pass = |m: &mut Monitor, claimed: Option<u32>| {
            let mut cursor = crate::paths::cursor::MemoryCursor::default();
            for tick in 0..2 {
                let r = drain::tick(&conn, &mut cursor, &cfg, &knobs, &clock, &mut |_| Ok(()));
                assert!(r.tick.pass_complete && r.windows > 5, "{}", r.windows);
                m.observe_windows(&conn, tick, &r.tick, claimed.unwrap_or(r.windows))
                    .unwrap();
            }
        };
        let mut honest = Monitor::for_drain(&knobs, cfg.rules, cfg.variant, 3);
        pass(&mut honest, None);
        assert!(honest.findings.is_empty(), "{:?}", honest.findings);
        let mut short = Monitor::for_drain(&knobs, cfg.rules, cfg.variant, 3);
        pass(&mut short, Some(1));
        let f = short
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::EarlyWrap)
            .expect("an early wrap");
        assert!(
            f.detail.contains("wrapped after 1 window read(s)"),
            "{}",
            f.detail
        );
    }

    #[test]
    fn a_monitor_saved_with_its_listed_maps_apart_continues_as_the_uninterrupted_one() {
        // The seed variant (B4) skips duplicate uuids split by a page boundary: its findings
        // come from the listed maps, so a restore that lost them would not reproduce them.
        let conn = crate::paths::batched::tests::quick_fleet();
        let cfg = config(Variant::Seed, 70);
        let new = || Monitor::new(cfg.batch_size, cfg.rules, cfg.variant, 3);
        let mut cursor = crate::paths::cursor::MemoryCursor::default();
        let reports: Vec<TickReport> = (0..40)
            .map(|_| crate::paths::batched::tick(&conn, &mut cursor, &cfg))
            .collect();
        let mut whole = new();
        let mut saved = None;
        for (tick, r) in reports.iter().enumerate() {
            whole.observe(&conn, tick as u32, r).unwrap();
            if tick == 24 {
                let state = serde_json::to_string(&whole).unwrap();
                let listed = serde_json::to_string(&whole.listed_maps()).unwrap();
                // The uuids are in the listed maps, not in the state saved each step.
                assert!(
                    listed.len() > 10 * state.len(),
                    "{} {}",
                    listed.len(),
                    state.len()
                );
                saved = Some((state, listed));
            }
        }
        assert!(!whole.findings.is_empty(), "the seed variant skips hosts");
        let (state, listed) = saved.expect("saved at tick 24");
        let mut resumed = new();
        resumed.restore(serde_json::from_str(&state).unwrap());
        resumed
            .restore_listed(serde_json::from_str(&listed).unwrap())
            .unwrap();
        for (tick, r) in reports.iter().enumerate().skip(25) {
            resumed.observe(&conn, tick as u32, r).unwrap();
        }
        assert_eq!(resumed.findings, whole.findings);
        // As values: a map's order in JSON is its hash table's, not its contents'.
        let value = serde_json::to_value::<&Monitor>;
        assert_eq!(value(&resumed).unwrap(), value(&whole).unwrap());
        assert_eq!(
            serde_json::to_value(resumed.listed_maps()).unwrap(),
            serde_json::to_value(whole.listed_maps()).unwrap()
        );
        // Maps of another version are refused.
        let mut stale = new();
        stale.restore(serde_json::from_str(&state).unwrap());
        let mut old: Listed = serde_json::from_str(&listed).unwrap();
        old.version -= 1;
        let e = stale.restore_listed(old).unwrap_err();
        assert!(e.contains("the monitor's state is at version"), "{e}");
    }

    #[test]
    fn a_skip_or_early_wrap_names_the_bug_its_variant_carries() {
        assert!(cause(Variant::Merged).contains("B4 in merged"));
        assert!(cause(Variant::Seed).contains("B4 in seed"));
        assert!(cause(Variant::Dedupe).contains("B5 in dedupe"));
        assert_eq!(
            cause(Variant::Latest),
            " (no bug latest carries explains it)"
        );
    }
}
