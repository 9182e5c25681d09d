//! The verdict of a loadtest (issue 12): one computed answer per run — per path, the tick
//! against the cron interval, failed ticks, convergence with the share still open, liveness
//! findings; the equivalence of the paths in three words; the thresholds; a one-line answer
//! and the exit code a CI job can rely on. The same value feeds stdout, `report.html` and
//! `summary.json`, so the three never disagree. Pure: built from a `LoadtestResult`.

use crate::fleet::threshold::{EQUIVALENCE_WORDS, Metric, Threshold};
use crate::harness::loadtest::{EqRow, LoadtestResult};
use crate::support::histogram::Stats;
use crate::support::units::{human_s, human_us, thousands, wrap};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the approaches' states compare, in the words used everywhere (`compare` too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "word", rename_all = "snake_case")]
pub enum Equivalence {
    /// One path ran: nothing to compare.
    NotCompared,
    /// No batched pass ended within the run: no comparison was made.
    NoBoundary,
    /// No pair differs.
    Identical { boundaries: u32 },
    /// Pairs differ, each in a known class (with the pairs of each, summed over boundaries).
    Known {
        boundaries: u32,
        classes: BTreeMap<String, u64>,
    },
    /// Some pair differs for no known reason.
    Unexplained {
        boundaries: u32,
        pairs: u64,
        classes: BTreeMap<String, u64>,
    },
}

impl Equivalence {
    /// From the state comparison's rows (`equivalence.csv`).
    pub fn of_rows(rows: &[EqRow], compared: bool) -> Equivalence {
        if !compared {
            return Equivalence::NotCompared;
        }
        let boundaries = rows
            .iter()
            .map(|r| r.tick)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u32;
        if boundaries == 0 {
            return Equivalence::NoBoundary;
        }
        let mut classes = BTreeMap::new();
        for r in rows.iter().filter(|r| r.class != "equal") {
            *classes.entry(r.class.clone()).or_default() += r.pairs;
        }
        Equivalence::of_classes(boundaries, classes)
    }

    /// From differing pairs per class (`compare`'s classes, or the loadtest's).
    pub fn of_classes(boundaries: u32, mut classes: BTreeMap<String, u64>) -> Equivalence {
        classes.retain(|_, n| *n > 0);
        match classes.get("unexplained") {
            Some(&pairs) => Equivalence::Unexplained {
                boundaries,
                pairs,
                classes,
            },
            None if classes.is_empty() => Equivalence::Identical { boundaries },
            None => Equivalence::Known {
                boundaries,
                classes,
            },
        }
    }

    /// The word: `identical`, `diverges only in known classes`, `unexplained`.
    pub fn word(&self) -> &'static str {
        match self {
            Equivalence::NotCompared => "not compared (one path, or the first path is not legacy)",
            Equivalence::NoBoundary => "not compared (no batched pass ended: raise --ticks)",
            Equivalence::Identical { .. } => "identical",
            Equivalence::Known { .. } => "diverges only in known classes",
            Equivalence::Unexplained { .. } => "unexplained",
        }
    }

    /// The rank a threshold compares (`threshold::EQUIVALENCE_WORDS`); None: not compared.
    fn rank(&self) -> Option<f64> {
        match self {
            Equivalence::Identical { .. } => Some(0.0),
            Equivalence::Known { .. } => Some(1.0),
            Equivalence::Unexplained { .. } => Some(2.0),
            _ => None,
        }
    }

    /// The word with its evidence, one line.
    pub fn text(&self) -> String {
        let list = |c: &BTreeMap<String, u64>| {
            c.iter()
                .map(|(k, n)| format!("{k} {}", thousands(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let at = |b: u32| format!("{b} pass boundar{}", if b == 1 { "y" } else { "ies" });
        match self {
            Equivalence::Identical { boundaries } => format!("identical at {}", at(*boundaries)),
            Equivalence::Known {
                boundaries,
                classes,
            } => format!(
                "diverges only in known classes at {}: {} (pairs, summed)",
                at(*boundaries),
                list(classes)
            ),
            Equivalence::Unexplained {
                boundaries,
                pairs,
                classes,
            } => format!(
                "unexplained: {} pair(s) at {} ({})",
                thousands(*pairs),
                at(*boundaries),
                list(classes)
            ),
            other => other.word().to_string(),
        }
    }
}

/// A failed tick: when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstError {
    pub tick: u32,
    pub error: String,
}

/// Convergence of one path (virtual seconds; percentiles of the converged samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceVerdict {
    pub samples: u64,
    pub converged: u64,
    pub failed: u64,
    pub superseded: u64,
    pub open: u64,
    /// Open samples over all samples: changes the run ended before reaching.
    pub open_share: f64,
    pub p50_s: Option<u64>,
    pub p95_s: Option<u64>,
    pub max_s: Option<u64>,
}

/// One path's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathVerdict {
    /// The path's name (`legacy`, `batched`, `drain`, `drain-2`, …).
    pub path: String,
    pub ticks: u64,
    /// The tick (reconciler + writer), µs.
    pub tick: Stats,
    /// Ticks longer than the cron interval.
    pub overruns: u64,
    pub failed_ticks: u64,
    pub first_error: Option<FirstError>,
    pub convergence: ConvergenceVerdict,
    /// Liveness findings by kind (batched).
    pub findings: BTreeMap<String, u64>,
}

/// One threshold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub check: String,
    pub passed: bool,
    /// What was measured, per path where the check is per path (human units).
    pub measured: String,
}

/// The verdict of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub interval_s: u32,
    pub paths: Vec<PathVerdict>,
    pub equivalence: Equivalence,
    pub thresholds: Vec<ThresholdResult>,
    /// The one-line answer.
    pub answer: String,
    /// What makes the run a finding (exit 1); empty: exit 0.
    pub failures: Vec<String>,
    /// Failed ticks and findings the scenario's `[expect]` says are expected (bug scenarios).
    pub expected_failures: bool,
    pub exit_code: i32,
}

fn path_verdict(
    path: String,
    run: &crate::harness::loadtest::PathRun,
    interval_s: u32,
) -> PathVerdict {
    let tick = run
        .hist
        .get("tick")
        .map(|h| h.stats())
        .unwrap_or_else(|| crate::support::histogram::Latency::new().stats());
    let failed: Vec<&crate::harness::loadtest::TickRow> = run
        .ticks
        .iter()
        .filter(|t| t.outcome == crate::harness::loadtest::TickOutcome::Error)
        .collect();
    let mut lat: Vec<u64> = run.samples.iter().filter_map(|s| s.latency_s()).collect();
    lat.sort_unstable();
    let q = |p: f64| -> Option<u64> {
        (!lat.is_empty()).then(|| lat[((lat.len() - 1) as f64 * p).round() as usize])
    };
    use crate::analysis::convergence::SampleOutcome as S;
    let count = |o: S| run.samples.iter().filter(|s| s.outcome == o).count() as u64;
    let samples = run.samples.len() as u64;
    let open = count(S::Open);
    let mut findings = BTreeMap::new();
    for f in &run.findings {
        *findings.entry(f.kind.to_string()).or_default() += 1;
    }
    PathVerdict {
        path,
        ticks: run.ticks.len() as u64,
        tick,
        overruns: run
            .ticks
            .iter()
            .filter(|t| t.duration_us > interval_s as u64 * 1_000_000)
            .count() as u64,
        failed_ticks: failed.len() as u64,
        first_error: failed.first().map(|t| FirstError {
            tick: t.tick,
            error: t.error.clone(),
        }),
        convergence: ConvergenceVerdict {
            samples,
            converged: count(S::Converged),
            failed: count(S::Failed),
            superseded: count(S::Superseded),
            open,
            open_share: if samples == 0 {
                0.0
            } else {
                open as f64 / samples as f64
            },
            p50_s: q(0.5),
            p95_s: q(0.95),
            max_s: q(1.0),
        },
        findings,
    }
}

/// A metric's value for one path (durations µs); None where there is none (no samples).
fn metric_value(p: &PathVerdict, m: Metric) -> Option<f64> {
    let us = |s: Option<u64>| s.map(|x| x as f64);
    let conv = |s: Option<u64>| s.map(|x| x as f64 * 1e6);
    match m {
        Metric::TickP50 => us(p.tick.p50_us),
        Metric::TickP90 => us(p.tick.p90_us),
        Metric::TickP95 => us(p.tick.p95_us),
        Metric::TickP99 => us(p.tick.p99_us),
        Metric::TickMax => us(p.tick.max_us),
        Metric::TickMean => p.tick.mean_us,
        Metric::ConvergenceP50 => conv(p.convergence.p50_s),
        Metric::ConvergenceP95 => conv(p.convergence.p95_s),
        Metric::ConvergenceMax => conv(p.convergence.max_s),
        Metric::FailedTicks => Some(p.failed_ticks as f64),
        Metric::Overruns => Some(p.overruns as f64),
        Metric::OpenShare => Some(p.convergence.open_share),
        Metric::Findings => Some(p.findings.values().sum::<u64>() as f64),
        Metric::Equivalence => None,
    }
}

fn shown(m: Metric, v: f64) -> String {
    match m {
        Metric::OpenShare => format!("{:.1} %", v * 100.0),
        Metric::FailedTicks | Metric::Overruns | Metric::Findings => thousands(v as u64),
        Metric::Equivalence => EQUIVALENCE_WORDS[v as usize].to_string(),
        _ => human_us(v),
    }
}

fn evaluate(t: &Threshold, paths: &[PathVerdict], eq: &Equivalence) -> ThresholdResult {
    if t.metric == Metric::Equivalence {
        let (passed, measured) = match eq.rank() {
            Some(r) => (t.op.holds(r, t.value), shown(t.metric, r)),
            None => (false, eq.word().to_string()),
        };
        return ThresholdResult {
            check: t.text.clone(),
            passed,
            measured,
        };
    }
    let chosen: Vec<&PathVerdict> = paths
        .iter()
        .filter(|p| t.path.as_deref().is_none_or(|n| n == p.path.as_str()))
        .collect();
    if chosen.is_empty() {
        return ThresholdResult {
            check: t.text.clone(),
            passed: false,
            measured: format!("no {} path in this run", t.path.as_deref().unwrap_or("")),
        };
    }
    let mut passed = true;
    let mut parts = Vec::new();
    for p in chosen {
        match metric_value(p, t.metric) {
            Some(v) => {
                passed &= t.op.holds(v, t.value);
                parts.push(format!("{} {}", p.path.as_str(), shown(t.metric, v)));
            }
            None => {
                passed = false;
                parts.push(format!("{} n/a (no samples)", p.path.as_str()));
            }
        }
    }
    ThresholdResult {
        check: t.text.clone(),
        passed,
        measured: parts.join(", "),
    }
}

/// The one-line answer: failures first, then the first path against each other one (or one
/// path on its own), then what the run left open.
fn answer(paths: &[PathVerdict], interval_s: u32) -> String {
    let mut parts = Vec::new();
    for p in paths.iter().filter(|p| p.failed_ticks > 0) {
        parts.push(format!(
            "{}: {} of {} ticks FAILED",
            p.path.as_str(),
            p.failed_ticks,
            p.ticks
        ));
    }
    for p in paths.iter().filter(|p| p.overruns > 0) {
        parts.push(format!(
            "{}: {} tick(s) overran the {interval_s} s interval",
            p.path.as_str(),
            p.overruns
        ));
    }
    // How many times faster or slower `a` is than `b`; None within 5 % (as fast).
    let ratio = |a: f64, b: f64| -> Option<(f64, &'static str)> {
        let (a, b) = (a.max(1.0), b.max(1.0));
        if (a / b - 1.0).abs() < 0.05 {
            None
        } else if a < b {
            Some((b / a, "faster"))
        } else {
            Some((a / b, "slower"))
        }
    };
    // A path whose every tick failed has no speed worth comparing.
    let all_failed = |p: &PathVerdict| p.ticks > 0 && p.failed_ticks == p.ticks;
    if let Some(b) = paths.first() {
        for p in paths.iter().skip(1) {
            let mut s = Vec::new();
            if let (Some(x), Some(y), false) =
                (p.tick.p50_us, b.tick.p50_us, all_failed(p) || all_failed(b))
            {
                let (x, y) = (x as f64, y as f64);
                s.push(match ratio(x, y) {
                    None => format!("ticks as fast (p50 {})", human_us(x)),
                    Some((r, word)) => format!(
                        "{r:.1}× {word} ticks (p50 {} vs {})",
                        human_us(x),
                        human_us(y)
                    ),
                });
            }
            if let (Some(x), Some(y)) = (p.convergence.p95_s, b.convergence.p95_s) {
                s.push(match ratio(x as f64, y as f64) {
                    None => format!("converges as fast (p95 {})", human_s(x)),
                    Some((r, word)) => format!(
                        "converges {r:.1}× {word} (p95 {} vs {})",
                        human_s(x),
                        human_s(y)
                    ),
                });
            }
            if !s.is_empty() {
                parts.push(format!(
                    "{} vs {}: {}",
                    p.path.as_str(),
                    b.path.as_str(),
                    s.join(", ")
                ));
            }
        }
    }
    if let [p] = paths {
        let mut s = Vec::new();
        if let (Some(a), Some(b), false) = (p.tick.p50_us, p.tick.max_us, all_failed(p)) {
            s.push(format!(
                "ticks p50 {}, max {} against the {interval_s} s interval",
                human_us(a as f64),
                human_us(b as f64)
            ));
        }
        if let Some(c) = p.convergence.p95_s {
            s.push(format!("converges p95 {}", human_s(c)));
        }
        if !s.is_empty() {
            parts.push(format!("{}: {}", p.path.as_str(), s.join(", ")));
        }
    }
    for p in paths.iter().filter(|p| p.convergence.open_share >= 0.05) {
        parts.push(format!(
            "{}: {:.0} % of changes still open at the end of the run — raise --ticks",
            p.path.as_str(),
            p.convergence.open_share * 100.0
        ));
    }
    parts.join("; ")
}

/// The verdict of a run. `expected`: the scenario's `[expect]` says failed ticks and liveness
/// findings are what it reproduces, so they do not fail the run (thresholds still do).
pub fn verdict(
    result: &LoadtestResult,
    interval_s: u32,
    thresholds: &[Threshold],
    expected: bool,
) -> Verdict {
    let paths: Vec<PathVerdict> = result
        .runs
        .iter()
        .map(|(k, r)| path_verdict(k.name.clone(), r, interval_s))
        .collect();
    let paths_run: Vec<crate::harness::loadtest::approach::RunPath> =
        result.runs.iter().map(|(p, _)| p.clone()).collect();
    let equivalence = Equivalence::of_rows(
        &result.equivalence,
        crate::harness::loadtest::compares(&paths_run),
    );
    let thresholds: Vec<ThresholdResult> = thresholds
        .iter()
        .map(|t| evaluate(t, &paths, &equivalence))
        .collect();
    let mut failures = Vec::new();
    for t in thresholds.iter().filter(|t| !t.passed) {
        failures.push(format!(
            "threshold failed: {} (measured {})",
            t.check, t.measured
        ));
    }
    if !expected {
        for p in &paths {
            if let Some(e) = &p.first_error {
                failures.push(format!(
                    "{}: {} failed tick(s), the first at tick {}: {}",
                    p.path.as_str(),
                    p.failed_ticks,
                    e.tick,
                    e.error
                ));
            }
            if !p.findings.is_empty() {
                let kinds: Vec<String> = p
                    .findings
                    .iter()
                    .map(|(k, n)| format!("{k} ×{n}"))
                    .collect();
                failures.push(format!(
                    "{}: liveness findings: {}",
                    p.path.as_str(),
                    kinds.join(", ")
                ));
            }
        }
    }
    Verdict {
        interval_s,
        answer: answer(&paths, interval_s),
        exit_code: if failures.is_empty() { 0 } else { 1 },
        paths,
        equivalence,
        thresholds,
        failures,
        expected_failures: expected,
    }
}

/// Which phases measure the reconciler, which the simulated world (harness), which virtual
/// time.
pub fn phase_group(phase: &str) -> &'static str {
    match phase {
        "devices" | "churn" | "convergence_check" | "liveness" | "replicate" | "busy_wait" => {
            "harness"
        }
        "convergence" => "virtual",
        _ => "reconciler",
    }
}

/// Reading order of the phase groups: reconciler, then virtual time, then the harness.
pub fn group_rank(group: &str) -> u8 {
    match group {
        "reconciler" => 0,
        "virtual" => 1,
        _ => 2,
    }
}

/// One path × phase of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// The path's name.
    pub path: String,
    pub phase: String,
    /// `reconciler`, `harness` or `virtual` (convergence, in virtual time).
    pub group: String,
    pub stats: Stats,
    /// The whole distribution: HdrHistogram V2, compressed, base64 (as HdrHistogram's interval
    /// logs carry it), so a reader can take any percentile or its confidence interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// `summary.json`: the verdict and every path × phase, for CI and `report compare`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Bumped on any change a reader must know of.
    pub schema_version: u32,
    pub reconsim_version: String,
    pub scenario: String,
    pub seed: u64,
    pub ticks: u32,
    pub verdict: Verdict,
    pub phases: Vec<PhaseStats>,
}

impl Summary {
    /// Reads a `summary.json`; the message says what is wrong (the caller names the file).
    pub fn read(file: &std::path::Path) -> Result<Summary, String> {
        let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        match v.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(n) if n == SCHEMA_VERSION as u64 => {}
            Some(n) => {
                return Err(format!(
                    "schema_version {n}; this reconsim reads version {SCHEMA_VERSION}"
                ));
            }
            None => return Err("no schema_version: not a reconsim summary.json".into()),
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

/// The current `summary.json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Where a path's rows go: by kind (legacy, batched, drain), then by name (`drain` before
/// `drain-2`).
pub fn path_rank(name: &str) -> (usize, usize, String) {
    use crate::harness::loadtest::PathKind;
    let (kind, nth) = match name.rsplit_once('-') {
        Some((k, n)) if n.parse::<usize>().is_ok() => (k, n.parse().unwrap_or(0)),
        _ => (name, 1),
    };
    let rank = PathKind::ALL
        .iter()
        .position(|k| k.name() == kind)
        .unwrap_or(PathKind::ALL.len());
    (rank, nth, name.to_string())
}

/// Every path × phase with its statistics, reconciler phases first.
pub fn phases(result: &LoadtestResult) -> Vec<PhaseStats> {
    let mut v: Vec<PhaseStats> = result
        .runs
        .iter()
        .flat_map(|(k, r)| {
            r.hist.iter().map(move |(phase, h)| PhaseStats {
                path: k.name.clone(),
                phase: phase.clone(),
                group: phase_group(phase).to_string(),
                stats: h.stats(),
                histogram: Some(h.to_base64()),
            })
        })
        .collect();
    v.sort_by_key(|p| (path_rank(&p.path), group_rank(&p.group)));
    v
}

/// The verdict as text for stdout (80 columns): the answer one part a line, equivalence,
/// thresholds, and why the exit code.
pub fn text(v: &Verdict) -> String {
    let mut o = String::from("verdict:\n");
    for part in v.answer.split("; ").filter(|p| !p.is_empty()) {
        o.push_str(&wrap(part, "  ", "    "));
    }
    o.push_str(&wrap(
        &format!("equivalence: {}", v.equivalence.text()),
        "  ",
        "    ",
    ));
    for t in &v.thresholds {
        o.push_str(&wrap(
            &format!(
                "threshold {}: {} (measured {})",
                if t.passed { "pass" } else { "FAIL" },
                t.check,
                t.measured
            ),
            "  ",
            "    ",
        ));
    }
    if v.failures.is_empty() {
        o.push_str(&wrap(
            &format!(
                "exit 0{}",
                if v.expected_failures {
                    " (failed ticks and findings are what this scenario expects)"
                } else {
                    ""
                }
            ),
            "  ",
            "    ",
        ));
    } else {
        for f in &v.failures {
            o.push_str(&wrap(&format!("exit 1: {f}"), "  ", "    "));
        }
    }
    o
}

#[cfg(test)]
mod tests;
