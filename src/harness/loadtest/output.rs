//! What a loadtest writes: the harness's cost outside the ticks, the text summary, and the
//! CSV files (`ticks.csv`, `convergence.csv`, `equivalence.csv`, `summary.csv`).

use super::*;

/// Where the wall time outside the measured ticks went: (part, seconds), then the share of
/// the wall time outside the ticks. Parts: `devices`, `churn`, `convergence_check` and
/// `liveness` (the cursor liveness monitor; summed over paths), `equivalence` (state
/// comparisons), `checkpoint` (storing the steps: run records, and the COMMIT of each step but
/// the tick's own), `replicate`, `setup` (before the warm-up: the records read back, the
/// devices' inbox filed), `other` (the rest, timed by nothing: bookkeeping between phases).
/// In the concurrency mode churn overlaps the ticks and is not subtracted. The warm-up is not
/// part of the run.
pub fn harness_breakdown(
    result: &LoadtestResult,
    wall: Duration,
    concurrent: bool,
) -> (Vec<(&'static str, f64)>, f64) {
    let sum = |phase: &str| -> Duration {
        result
            .runs
            .iter()
            .filter_map(|(_, r)| r.totals.get(phase))
            .sum()
    };
    let ticks = sum("tick");
    let wall_s = wall.saturating_sub(result.warmup_time).as_secs_f64();
    let mut parts = vec![
        ("devices", sum("devices").as_secs_f64()),
        (
            "churn",
            if concurrent {
                0.0
            } else {
                sum("churn").as_secs_f64()
            },
        ),
        ("convergence_check", sum("convergence_check").as_secs_f64()),
        ("liveness", sum("liveness").as_secs_f64()),
        ("equivalence", result.equivalence_time.as_secs_f64()),
        ("checkpoint", result.checkpoint_time.as_secs_f64()),
        ("replicate", sum("replicate").as_secs_f64()),
        ("setup", result.setup_time.as_secs_f64()),
    ];
    let listed: f64 = parts.iter().map(|p| p.1).sum();
    parts.push(("other", (wall_s - ticks.as_secs_f64() - listed).max(0.0)));
    let share = if wall_s > 0.0 {
        (1.0 - ticks.as_secs_f64() / wall_s).max(0.0)
    } else {
        0.0
    };
    (parts, share)
}

/// The one-screen summary printed at the end of a loadtest.
pub fn text_summary(
    result: &LoadtestResult,
    head: &str,
    interval_s: u32,
    harness: &(Vec<(&'static str, f64)>, f64),
) -> String {
    use crate::support::units::{human_s, human_us, thousands};
    use std::fmt::Write;
    let mut o = String::new();
    o.push_str(&crate::support::units::wrap(head, "", "  "));
    let _ = writeln!(
        o,
        "  {:<8} {:>10} {:>10} {:>10} {:>7} {:>8}",
        "path", "tick p50", "tick p99", "tick max", "failed", "overruns"
    );
    for (path, run) in &result.runs {
        let st = run.hist.get("tick").map(|h| h.stats());
        let t = |f: fn(&crate::support::histogram::Stats) -> Option<u64>| {
            st.as_ref()
                .and_then(f)
                .map_or("-".into(), |us| human_us(us as f64))
        };
        let _ = writeln!(
            o,
            "  {:<8} {:>10} {:>10} {:>10} {:>7} {:>8}",
            path.name(),
            t(|s| s.p50_us),
            t(|s| s.p99_us),
            t(|s| s.max_us),
            run.ticks
                .iter()
                .filter(|t| t.outcome == TickOutcome::Error)
                .count(),
            run.ticks
                .iter()
                .filter(|t| t.duration_us > interval_s as u64 * 1_000_000)
                .count()
        );
    }
    let _ = writeln!(
        o,
        "  {:<8} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8}",
        "path", "installs", "removes", "conv p50", "conv max", "open", "failed"
    );
    for (path, run) in &result.runs {
        let mut lat: Vec<u64> = run.samples.iter().filter_map(|s| s.latency_s()).collect();
        lat.sort_unstable();
        let q = |p: f64| -> String {
            if lat.is_empty() {
                "-".into()
            } else {
                human_s(lat[((lat.len() - 1) as f64 * p).round() as usize])
            }
        };
        let n = |o: SampleOutcome| {
            thousands(run.samples.iter().filter(|s| s.outcome == o).count() as u64)
        };
        let _ = writeln!(
            o,
            "  {:<8} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8}",
            path.name(),
            thousands(run.ticks.iter().map(|t| t.installs).sum()),
            thousands(run.ticks.iter().map(|t| t.removes).sum()),
            q(0.5),
            q(1.0),
            n(SampleOutcome::Open),
            n(SampleOutcome::Failed)
        );
    }
    let events: Vec<String> = result
        .events
        .iter()
        .map(|(k, v)| format!("{k} {}", thousands(*v)))
        .collect();
    let line =
        |o: &mut String, text: &str| o.push_str(&crate::support::units::wrap(text, "  ", "    "));
    line(
        &mut o,
        &format!(
            "churn: {}",
            if events.is_empty() {
                "none".into()
            } else {
                events.join(", ")
            }
        ),
    );
    for (path, run) in &result.runs {
        if !path.paged() {
            continue;
        }
        line(
            &mut o,
            &format!(
                "cursor liveness{}: {}",
                if path.name() == "batched" {
                    String::new()
                } else {
                    format!(" ({path})")
                },
                liveness_text(&run.findings)
            ),
        );
    }
    let parts: Vec<String> = harness
        .0
        .iter()
        .map(|(k, v)| format!("{k} {v:.1} s"))
        .collect();
    if harness.1.is_nan() {
        line(
            &mut o,
            &format!(
                "outside the measured ticks: n/a (a resumed run; {})",
                parts.join(", ")
            ),
        );
    } else {
        // The wall time, back from the share: ticks / (1 - share) = what the parts add to.
        let outside: f64 = harness.0.iter().map(|p| p.1).sum();
        let wall = outside / harness.1.max(1e-9);
        let other = harness
            .0
            .iter()
            .find(|p| p.0 == "other")
            .map_or(0.0, |p| p.1);
        line(
            &mut o,
            &format!(
                "outside the measured ticks: {:.1}% of the wall time ({}); timed by no phase: {:.1}%",
                harness.1 * 100.0,
                parts.join(", "),
                100.0 * other / wall.max(1e-9)
            ),
        );
    }
    o
}

/// The liveness findings in one line: `no finding`, or counts per kind and the first detail.
pub fn liveness_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no finding (every listed host visited once a pass, the cursor moving)".into();
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *counts.entry(f.kind.name()).or_default() += 1;
    }
    let kinds: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    format!(
        "{}; first: tick {} {}",
        kinds.join(", "),
        findings[0].tick,
        findings[0].detail
    )
}

/// `ticks.csv` bytes.
pub fn ticks_csv(runs: &[(approach::RunPath, PathRun)]) -> csv::Result<Vec<u8>> {
    // The columns are `TickRow`'s fields in order (docs/outputs.md); a run with no tick still
    // gets its header.
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(TICK_COLUMNS)?;
    for (_, run) in runs {
        for t in &run.ticks {
            w.serialize(t)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The header of `ticks.csv`: `TickRow`'s fields (a test checks they agree).
pub const TICK_COLUMNS: [&str; 15] = [
    "path",
    "tick",
    "virtual_time_s",
    "cursor_before",
    "cursor_after",
    "hosts",
    "installs",
    "removes",
    "duration_us",
    "outcome",
    "error",
    "rows_read",
    "busy_retries",
    "windows",
    "stop",
];

/// `convergence.csv` bytes: one row per sample.
pub fn convergence_csv(runs: &[(approach::RunPath, PathRun)]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "host_uuid",
        "profile_uuid",
        "target",
        "event_tick",
        "event_virtual_time_s",
        "outcome",
        "end_virtual_time_s",
        "latency_s",
    ])?;
    for (path, run) in runs {
        for s in &run.samples {
            w.write_record([
                path.name().to_string(),
                s.host_uuid.clone(),
                s.profile_uuid.clone(),
                s.want.name().to_string(),
                s.event_tick.to_string(),
                s.event_s.to_string(),
                s.outcome.to_string(),
                s.end_s.map(|e| e.to_string()).unwrap_or_default(),
                s.latency_s().map(|e| e.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `equivalence.csv` bytes: per pass boundary, one row per class.
pub fn equivalence_csv(rows: &[EqRow]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "pass_start_tick",
        "tick",
        "virtual_time_s",
        "class",
        "pairs",
        "sample_host_uuid",
        "sample_profile_uuid",
        "legacy_op",
        "legacy_status",
        "legacy_checksum",
        "batched_op",
        "batched_status",
        "batched_checksum",
        "legacy_why",
        "batched_why",
        "current_row",
    ])?;
    for r in rows {
        w.write_record([
            r.path.to_string(),
            r.pass_start_tick.to_string(),
            r.tick.to_string(),
            r.virtual_time_s.to_string(),
            r.class.clone(),
            r.pairs.to_string(),
            r.sample_host_uuid.clone(),
            r.sample_profile_uuid.clone(),
            r.legacy.op.clone(),
            r.legacy.status.clone(),
            r.legacy.checksum.clone(),
            r.batched.op.clone(),
            r.batched.status.clone(),
            r.batched.checksum.clone(),
            r.explanation.legacy.clone(),
            r.explanation.batched.clone(),
            r.explanation.current_row.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `summary.csv` bytes: `path,phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us`, then
/// `clock` (`wall`, or `virtual` for `convergence`, whose values are virtual µs) and
/// `rows_per_s` (on `tick` rows: rows the queries returned per second of tick time).
pub fn summary_csv(runs: &[(approach::RunPath, PathRun)]) -> csv::Result<Vec<u8>> {
    let rows = runs.iter().flat_map(|(path, run)| {
        run.hist.iter().map(move |(phase, h)| {
            let rows_per_s = if phase == "tick" {
                let rows: u64 = run.ticks.iter().map(|t| t.rows_read).sum();
                let us: u64 = run.ticks.iter().map(|t| t.duration_us).sum();
                if us > 0 {
                    format!("{:.0}", rows as f64 * 1e6 / us as f64)
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            let clock = if phase == "convergence" {
                "virtual"
            } else {
                "wall"
            };
            (
                path.name(),
                phase.as_str(),
                h,
                vec![clock.to_string(), rows_per_s],
            )
        })
    });
    crate::support::histogram::summary_csv_with("path", &["clock", "rows_per_s"], rows)
}
