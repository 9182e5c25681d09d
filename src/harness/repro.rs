//! `reconsim repro`: run a bug scenario (spec §8) and say whether what its `[expect]` section
//! describes happened, with the evidence: ticks, cursor values, errors, findings.
//!
//! A run generates the scenario's fleet in memory, runs the batched path of its variant tick
//! after tick with the cursor in the database and the scenario's `[faults]`, under the liveness
//! monitor, then counts the pairs B6 withholds (desired once only dynamic labels are
//! timing-checked, not desired now). The writer does not run: liveness is the reconciler's.

use crate::analysis::convergence::{self, Scope, Semantics, Target};
use crate::analysis::liveness::{Finding, Monitor};
use crate::analysis::names::FindingKind;
use crate::backends::store::Store;
use crate::domain::clock::RealClock;
use crate::fleet::scenario::{Expect, Scenario};
use crate::harness::error::{HarnessError, Result};
use crate::harness::faults::{FaultPlan, FaultyCursor};
use crate::paths::batched::{self, BatchedConfig, Outcome};
use crate::paths::cursor::CursorStore;
use rusqlite::Connection;

/// `(name, the text of scenarios/bugs/NAME.toml)` for each name.
macro_rules! bug_scenarios {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../scenarios/bugs/", $name, ".toml")))),*]
    };
}

/// The bug catalog, built into the binary: (name, scenario text).
pub const CATALOG: [(&str, &str); 14] = bug_scenarios!(
    "b1", "b1-fixed", "b2", "b2-fixed", "b3", "b3-fixed", "b3-loud", "b3-drain", "b4", "b4-fixed",
    "b5", "b5-fixed", "b6", "b6-fixed",
);

/// One tick as the evidence shows it.
#[derive(Debug, Clone)]
pub struct TickLine {
    pub tick: u32,
    pub cursor_before: String,
    pub cursor_after: String,
    pub visited: usize,
    pub outcome: String,
    pub message: String,
}

/// One expectation and whether it held.
#[derive(Debug, Clone)]
pub struct Check {
    pub key: String,
    pub held: bool,
    pub observed: String,
}

/// What a repro run saw.
#[derive(Debug, Clone)]
pub struct ReproOutcome {
    pub reproduced: bool,
    pub checks: Vec<Check>,
    pub ticks: Vec<TickLine>,
    pub findings: Vec<Finding>,
    pub vitals_withheld: u64,
    /// The same for legacy (always B6).
    pub legacy_vitals_withheld: u64,
}

/// Pairs desired once B6 is fixed but not under `rules` (0 when `rules` fix it already).
pub fn vitals_withheld(conn: &Connection, rules: crate::domain::rules::Rules) -> Result<u64> {
    withheld_by_b6(conn, Semantics::batched(rules))
}

/// The same count for legacy, which always carries B6 (spec §8), judged by the handlers with
/// legacy's rules (spec §6 D1–D5 aligned, D7 off).
pub fn legacy_vitals_withheld(conn: &Connection) -> Result<u64> {
    withheld_by_b6(
        conn,
        Semantics::legacy(crate::domain::rules::Rules::default()),
    )
}

fn withheld_by_b6(conn: &Connection, sem: Semantics) -> Result<u64> {
    let rules = sem.rules;
    if rules.b6_fixed {
        return Ok(0);
    }
    let scope = Scope {
        profiles: batched::load_profiles(conn)?
            .into_iter()
            .map(|p| p.uuid)
            .collect(),
        ..Scope::default()
    };
    let now = convergence::evaluate(conn, &scope, &sem)?;
    let fixed = convergence::evaluate(
        conn,
        &scope,
        &Semantics {
            rules: crate::domain::rules::Rules {
                b6_fixed: true,
                ..rules
            },
            ..sem
        },
    )?;
    let desired = |t: Option<&Target>| matches!(t, Some(Target::Install { .. }));
    Ok(fixed
        .targets
        .iter()
        .filter(|(k, t)| desired(Some(t)) && !desired(now.targets.get(*k)))
        .count() as u64)
}

/// Runs a bug scenario on SQLite in memory, the cursor in the database.
pub fn run(s: &Scenario) -> Result<ReproOutcome> {
    let conn = fleet(s)?;
    run_on(s, &conn, &conn, None)
}

/// The scenario's fleet, generated in memory.
pub fn fleet(s: &Scenario) -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    crate::fleet::generator::generate_into(&mut conn, s, &crate::support::progress::Silent)?;
    Ok(conn)
}

/// Runs a bug scenario whose fleet `conn` holds (`fleet`): the batched ticks read from
/// `store` (`conn` itself, or a server the fleet was loaded into; `conn` stays the monitor's
/// facts, the fleet does not change), the cursor in `cursor` when given, else in `store`'s
/// database; either is set to "" first (a scenario starts a fresh pass).
pub fn run_on(
    s: &Scenario,
    conn: &Connection,
    store: &dyn Store,
    cursor: Option<&mut dyn CursorStore>,
) -> Result<ReproOutcome> {
    let expect = s.expect.clone().unwrap_or_default();
    let src = store.source();
    let mut own;
    let store: &mut dyn CursorStore = match cursor {
        Some(c) => c,
        None => {
            own = store.cursor()?;
            own.as_mut()
        }
    };
    store.write("")?;
    let mut rules = s
        .rules
        .rules()
        .map_err(|(k, m)| HarnessError::Refused(format!("scenario key `{k}`: {m}")))?;
    s.run.variant.preset(&mut rules);
    let cfg = BatchedConfig {
        batch_size: s.run.batch_size as usize,
        rules,
        variant: s.run.variant,
    };
    let plan = FaultPlan::new(s.run.seed, s.faults.clone());
    let drain = if cfg.variant.drains() {
        Some(
            s.drain
                .knobs()
                .map_err(|e| HarnessError::Refused(format!("scenario key `drain.budget`: {e}")))?,
        )
    } else {
        None
    };
    // A drain run's monitor judges passes in window reads (`Monitor::for_drain`).
    let mut monitor = match &drain {
        Some(knobs) => Monitor::for_drain(knobs, rules, cfg.variant, 3),
        None => Monitor::new(cfg.batch_size, rules, cfg.variant, 3),
    };
    let listed = monitor.listed_rows(conn)?.1;
    let ticks = expect
        .ticks
        .unwrap_or_else(|| 3 * monitor.pass_ticks(listed));
    let clock = RealClock::default();
    let mut lines = Vec::new();
    for tick in 0..ticks {
        let mut cursor = FaultyCursor {
            inner: &mut *store,
            plan: &plan,
            tick,
        };
        let inject = |phase: &'static str| plan.phase_error(phase, tick);
        // Under drain, one drain tick (nothing is written: the writer does not run in repro).
        let (r, windows) = match &drain {
            Some(knobs) => {
                let no_writer = &mut |_: &[crate::domain::model::Delta]| Ok(());
                let d = crate::paths::drain::tick_with_faults(
                    src,
                    &mut cursor,
                    &cfg,
                    knobs,
                    &clock,
                    &inject,
                    no_writer,
                );
                (d.tick, d.windows)
            }
            None => (
                batched::tick_with_faults(src, &mut cursor, &cfg, &clock, &inject),
                1,
            ),
        };
        monitor.observe_windows(conn, tick, &r, windows)?;
        let (outcome, message) = match &r.outcome {
            Outcome::Ok => ("ok", r.logged.clone().unwrap_or_default()),
            Outcome::Empty => ("empty", String::new()),
            Outcome::Error(e) => ("error", e.clone()),
        };
        lines.push(TickLine {
            tick,
            cursor_before: r.cursor_before,
            cursor_after: r.cursor_after,
            visited: r.visited.len(),
            outcome: outcome.to_string(),
            message,
        });
    }
    let vitals = vitals_withheld(conn, rules)?;
    let legacy_vitals = legacy_vitals_withheld(conn)?;
    let checks = check(&expect, &lines, &monitor.findings, vitals);
    Ok(ReproOutcome {
        reproduced: checks.iter().all(|c| c.held),
        checks,
        ticks: lines,
        findings: monitor.findings,
        vitals_withheld: vitals,
        legacy_vitals_withheld: legacy_vitals,
    })
}

/// Judges every expectation that is set.
pub fn check(e: &Expect, ticks: &[TickLine], findings: &[Finding], vitals: u64) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |key: &str, held: bool, observed: String| {
        out.push(Check {
            key: key.to_string(),
            held,
            observed,
        })
    };
    let has = |k: FindingKind| findings.iter().any(|f| f.kind == k);
    let max = |k: FindingKind| {
        findings
            .iter()
            .filter(|f| f.kind == k)
            .map(|f| f.count)
            .max()
            .unwrap_or(0)
    };
    if let Some(text) = &e.error_contains {
        let hit = ticks.iter().find(|t| t.message.contains(text.as_str()));
        push(
            "error_contains",
            hit.is_some(),
            hit.map_or("no tick error contains it".into(), |t| {
                format!("tick {}: {}", t.tick, t.message)
            }),
        );
    }
    for (key, want, kind) in [
        ("stuck_cursor", e.stuck_cursor, FindingKind::StuckCursor),
        (
            "cursor_not_advancing",
            e.cursor_not_advancing,
            FindingKind::CursorNotAdvancing,
        ),
        ("early_wrap", e.early_wrap, FindingKind::EarlyWrap),
    ] {
        if let Some(want) = want {
            push(key, has(kind) == want, format!("{}", has(kind)));
        }
    }
    for (key, min, kind) in [
        (
            "starved_hosts_min",
            e.starved_hosts_min,
            FindingKind::StarvedHosts,
        ),
        (
            "skipped_hosts_min",
            e.skipped_hosts_min,
            FindingKind::SkippedHosts,
        ),
    ] {
        if let Some(min) = min {
            push(
                key,
                max(kind) >= min,
                format!("{} (largest count)", max(kind)),
            );
        }
    }
    if let Some(min) = e.vitals_withheld_min {
        push("vitals_withheld_min", vitals >= min, vitals.to_string());
    }
    if let Some(most) = e.vitals_withheld_max {
        push("vitals_withheld_max", vitals <= most, vitals.to_string());
    }
    if let Some(want) = &e.findings {
        let mut seen: Vec<&str> = findings.iter().map(|f| f.kind.name()).collect();
        seen.sort_unstable();
        seen.dedup();
        let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
        want.sort_unstable();
        want.dedup();
        push("findings", seen == want, format!("{seen:?}"));
    }
    out
}

/// The scenario of a catalog name, or of a file path.
pub fn load(name_or_file: &str) -> Result<(String, Scenario)> {
    if let Some((name, text)) = CATALOG.iter().find(|(n, _)| *n == name_or_file) {
        let s = Scenario::parse(text, &format!("scenarios/bugs/{name}.toml"))?;
        return Ok((name.to_string(), s));
    }
    let path = std::path::Path::new(name_or_file);
    if !path.exists() {
        return Err(HarnessError::Refused(format!(
            "repro: {name_or_file:?} is neither a catalog entry ({}) nor a file",
            CATALOG.map(|c| c.0).join(", ")
        )));
    }
    let s = Scenario::load(path)?;
    if s.expect.is_none() {
        return Err(HarnessError::Refused(format!(
            "scenario {name_or_file}: no [expect] section: nothing to check"
        )));
    }
    Ok((name_or_file.to_string(), s))
}

/// The evidence as text: expectations, ticks (the first ten and the last two), findings.
pub fn report(name: &str, s: &Scenario, o: &ReproOutcome) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let summary = s.expect.as_ref().map(|e| e.summary.as_str()).unwrap_or("");
    let _ = writeln!(
        t,
        "{} {name}: {summary}",
        if o.reproduced {
            "REPRODUCED"
        } else {
            "NOT REPRODUCED"
        }
    );
    let _ = writeln!(
        t,
        "  variant {}, batch size {}, seed {}, {} ticks",
        s.run.variant,
        s.run.batch_size,
        s.run.seed,
        o.ticks.len()
    );
    for c in &o.checks {
        let _ = writeln!(
            t,
            "  [{}] {}: {}",
            if c.held { "ok" } else { "FAILED" },
            c.key,
            c.observed
        );
    }
    let _ = writeln!(
        t,
        "  ticks (cursor before -> after, rows visited, outcome):"
    );
    let n = o.ticks.len();
    for (i, l) in o.ticks.iter().enumerate() {
        if i == 10 && n > 12 {
            let _ = writeln!(t, "    …");
        }
        if i >= 10 && i + 2 < n {
            continue;
        }
        let _ = writeln!(
            t,
            "    {:>3}  {:?} -> {:?}  {:>5}  {}{}",
            l.tick,
            l.cursor_before,
            l.cursor_after,
            l.visited,
            l.outcome,
            if l.message.is_empty() {
                String::new()
            } else {
                format!(": {}", l.message)
            }
        );
    }
    let _ = writeln!(t, "  findings:");
    if o.findings.is_empty() {
        let _ = writeln!(t, "    none");
    }
    for f in &o.findings {
        let _ = writeln!(
            t,
            "    tick {:>3} {} ({}): {}",
            f.tick, f.kind, f.count, f.detail
        );
        if !f.sample.is_empty() {
            let _ = writeln!(t, "             e.g. {}", f.sample);
        }
    }
    let _ = writeln!(
        t,
        "  B6 pairs withheld (host-vitals timing): {} on this version, {} on legacy",
        o.vitals_withheld, o.legacy_vitals_withheld
    );
    t
}
