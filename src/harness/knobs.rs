//! The knob sweep (issue 14): one short loadtest of the drain path per combination of its
//! knobs (window W, cap C, budget T) on one generated fleet, each combination's tick latency,
//! overruns, convergence and writer load in a row of `sweep.csv`, and the Pareto front of tick
//! p99 against convergence p95 (the settings no other setting beats on both).

use crate::analysis::convergence::SampleOutcome;
use crate::harness::loadtest::PathRun;
use crate::paths::drain::DrainKnobs;

/// One combination's figures (a row of a knob sweep's `sweep.csv`; times in seconds, the
/// convergence in virtual seconds).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnobRow {
    pub hosts: u64,
    pub window: usize,
    /// 0 = no cap.
    pub cap: usize,
    pub budget: String,
    pub ticks: usize,
    pub tick_p50_s: f64,
    pub tick_p99_s: f64,
    pub tick_max_s: f64,
    /// Ticks longer than the interval.
    pub overruns: u64,
    pub convergence_p50_s: Option<f64>,
    pub convergence_p95_s: Option<f64>,
    pub convergence_max_s: Option<f64>,
    /// Share of convergence samples still open when the run ended.
    pub open_share: f64,
    /// Rows the writer wrote a tick, on average (installs + removes).
    pub writer_rows_per_tick: f64,
    /// On the Pareto front of (tick p99, convergence p95).
    pub pareto: bool,
}

/// Every combination of the given values, over the defaults for a knob not varied, in the
/// order window, cap, budget (each in the order given).
pub fn combinations(
    windows: &[usize],
    caps: &[usize],
    budgets: &[crate::paths::drain::Budget],
    base: &DrainKnobs,
) -> Vec<DrainKnobs> {
    let or = |v: &[usize], d: usize| if v.is_empty() { vec![d] } else { v.to_vec() };
    let budgets = if budgets.is_empty() {
        vec![base.budget]
    } else {
        budgets.to_vec()
    };
    let mut out = Vec::new();
    for w in or(windows, base.window) {
        for c in or(caps, base.cap.unwrap_or(0)) {
            for &b in &budgets {
                out.push(DrainKnobs {
                    window: w,
                    cap: (c > 0).then_some(c),
                    budget: b,
                });
            }
        }
    }
    out
}

/// A combination's row from its run (`pareto` is set by `mark_pareto`).
pub fn row(hosts: u64, knobs: &DrainKnobs, run: &PathRun, interval_s: u32) -> KnobRow {
    let mut ticks: Vec<f64> = run
        .ticks
        .iter()
        .map(|t| t.duration_us as f64 / 1e6)
        .collect();
    ticks.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| -> Option<f64> {
        (!v.is_empty()).then(|| v[((v.len() - 1) as f64 * p).round() as usize])
    };
    let mut conv: Vec<f64> = run
        .samples
        .iter()
        .filter_map(|s| s.latency_s())
        .map(|s| s as f64)
        .collect();
    conv.sort_by(f64::total_cmp);
    let open = run
        .samples
        .iter()
        .filter(|s| s.outcome == SampleOutcome::Open)
        .count();
    let written: u64 = run.ticks.iter().map(|t| t.installs + t.removes).sum();
    KnobRow {
        hosts,
        window: knobs.window,
        cap: knobs.cap.unwrap_or(0),
        budget: knobs.budget.to_string(),
        ticks: ticks.len(),
        tick_p50_s: q(&ticks, 0.5).unwrap_or(0.0),
        tick_p99_s: q(&ticks, 0.99).unwrap_or(0.0),
        tick_max_s: ticks.last().copied().unwrap_or(0.0),
        overruns: ticks.iter().filter(|&&t| t > interval_s as f64).count() as u64,
        convergence_p50_s: q(&conv, 0.5),
        convergence_p95_s: q(&conv, 0.95),
        convergence_max_s: conv.last().copied(),
        open_share: if run.samples.is_empty() {
            0.0
        } else {
            open as f64 / run.samples.len() as f64
        },
        writer_rows_per_tick: if ticks.is_empty() {
            0.0
        } else {
            written as f64 / ticks.len() as f64
        },
        pareto: false,
    }
}

/// Marks the rows no other row of the same fleet size beats on both tick p99 and convergence
/// p95 (lower is better; a row without converged samples is never on the front).
pub fn mark_pareto(rows: &mut [KnobRow]) {
    let point = |r: &KnobRow| r.convergence_p95_s.map(|c| (r.hosts, r.tick_p99_s, c));
    let points: Vec<Option<(u64, f64, f64)>> = rows.iter().map(point).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.pareto = points[i].is_some_and(|(n, t, c)| {
            !points.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.is_some_and(|(on, ot, oc)| {
                        on == n && ot <= t && oc <= c && (ot < t || oc < c)
                    })
            })
        });
    }
}

/// `sweep.csv` bytes of a knob sweep: `KnobRow`'s fields as columns.
pub fn knob_csv(rows: &[KnobRow]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The combinations on the front, one a line, for `sweep.txt`.
pub fn front_text(rows: &[KnobRow], interval_s: u32) -> String {
    let mut front: Vec<&KnobRow> = rows.iter().filter(|r| r.pareto).collect();
    front.sort_by(|a, b| a.tick_p99_s.total_cmp(&b.tick_p99_s));
    let mut o = format!(
        "Pareto front (tick p99 against convergence p95; {} of {} combinations):\n",
        front.len(),
        rows.len()
    );
    for r in front {
        o.push_str(&format!(
            "  window {} cap {} budget {}: tick p99 {:.3} s{}, convergence p95 {} s\n",
            r.window,
            r.cap,
            r.budget,
            r.tick_p99_s,
            if r.tick_p99_s > interval_s as f64 {
                format!(" (over the {interval_s} s interval)")
            } else {
                String::new()
            },
            r.convergence_p95_s
                .map_or("-".into(), |c| format!("{c:.0}"))
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::drain::Budget;

    fn r(t: f64, c: Option<f64>) -> KnobRow {
        KnobRow {
            hosts: 1,
            window: 1,
            cap: 0,
            budget: "windows:1".into(),
            ticks: 1,
            tick_p50_s: t,
            tick_p99_s: t,
            tick_max_s: t,
            overruns: 0,
            convergence_p50_s: c,
            convergence_p95_s: c,
            convergence_max_s: c,
            open_share: 0.0,
            writer_rows_per_tick: 0.0,
            pareto: false,
        }
    }

    #[test]
    fn the_front_holds_the_rows_nothing_beats_on_both() {
        let mut rows = vec![
            r(1.0, Some(90.0)),
            r(2.0, Some(30.0)),
            r(3.0, Some(60.0)), // beaten by (2, 30)
            r(0.5, None),       // nothing converged: never on the front
            r(2.0, Some(30.0)), // a tie: neither beats the other
            r(5.0, Some(10.0)),
        ];
        mark_pareto(&mut rows);
        let front: Vec<bool> = rows.iter().map(|r| r.pareto).collect();
        assert_eq!(front, vec![true, true, false, false, true, true]);
        let text = front_text(&rows, 4);
        assert!(
            text.contains("4 of 6") && text.contains("(over the 4 s interval)"),
            "{text}"
        );
    }

    #[test]
    fn combinations_vary_what_is_given_over_the_defaults() {
        let base = DrainKnobs::default();
        let all = combinations(&[1000, 2000], &[0, 500], &[], &base);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].cap, None);
        assert_eq!(
            all[2],
            DrainKnobs {
                window: 2000,
                cap: None,
                budget: base.budget
            }
        );
        let one = combinations(&[], &[], &[Budget::Windows(3)], &base);
        assert_eq!(
            one,
            vec![DrainKnobs {
                budget: Budget::Windows(3),
                ..base
            }]
        );
    }
}
