//! `sweep.svg`: the sweep's median full-pass time per path against fleet size, log–log, with
//! min–max whiskers over the runs. Pure: rows in, SVG text out.

use crate::harness::loadtest::PathKind;
use crate::harness::sweep::SweepRow;
use crate::report::charts::{Axes, Series, Style, line_chart};

/// `sweep.svg`: median full-pass time per path against hosts, log–log.
pub fn sweep_svg(rows: &[SweepRow]) -> String {
    let series: Vec<Series> = PathKind::ALL
        .iter()
        .copied()
        .filter_map(|p| {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.path == p)
                .map(|r| (r.hosts as f64, r.median_s))
                .collect();
            let whiskers = rows
                .iter()
                .filter(|r| r.path == p)
                .map(|r| (r.hosts as f64, r.min_s, r.max_s))
                .collect();
            (!points.is_empty()).then(|| Series {
                name: format!("{} (median; whiskers: min–max)", p.name()),
                color: crate::report::charts::color(p).into(),
                points,
                style: Style::Line,
                whiskers,
            })
        })
        .collect();
    line_chart(
        &series,
        &Axes {
            title: Some("Full-pass time against fleet size"),
            x_label: "hosts (log)",
            y_label: "full-pass time (s, log)",
            log_x: true,
            log_y: true,
            ..Axes::default()
        },
    )
}

/// A knob sweep's `sweep.svg`: tick p99 (wall time) against convergence p95 (virtual time),
/// every combination a cross, the Pareto front a line through its points, the interval a
/// dashed line.
pub fn knob_svg(rows: &[crate::harness::knobs::KnobRow], interval_s: u32) -> String {
    let point = |r: &crate::harness::knobs::KnobRow| {
        r.convergence_p95_s
            .map(|c| (c.max(1.0), (r.tick_p99_s * 1e6).max(1.0)))
    };
    let all: Vec<(f64, f64)> = rows.iter().filter_map(point).collect();
    let mut front: Vec<(f64, f64)> = rows.iter().filter(|r| r.pareto).filter_map(point).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    let series = vec![
        Series::new("every combination", "#7f8c8d", all, Style::Crosses),
        Series::new("Pareto front", "#1e8449", front, Style::Line),
    ];
    line_chart(
        &series,
        &Axes {
            title: Some("Drain knobs: tick p99 against convergence p95"),
            x_label: "convergence p95 (virtual time, log)",
            y_label: "tick p99 (wall time, log)",
            x_unit: crate::report::charts::Unit::Seconds,
            y_unit: crate::report::charts::Unit::Micros,
            log_x: true,
            log_y: true,
            hline: Some((interval_s as f64 * 1e6, format!("{interval_s} s interval"))),
            ..Axes::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_knob_chart_marks_the_front_and_the_interval() {
        let mut rows: Vec<crate::harness::knobs::KnobRow> = [(1.0, 90.0), (2.0, 30.0), (3.0, 60.0)]
            .iter()
            .map(|&(t, c)| crate::harness::knobs::KnobRow {
                hosts: 10,
                window: 100,
                cap: 0,
                budget: "12s".into(),
                ticks: 5,
                tick_p50_s: t,
                tick_p99_s: t,
                tick_max_s: t,
                overruns: 0,
                convergence_p50_s: Some(c),
                convergence_p95_s: Some(c),
                convergence_max_s: Some(c),
                open_share: 0.0,
                writer_rows_per_tick: 1.0,
                pareto: false,
            })
            .collect();
        crate::harness::knobs::mark_pareto(&mut rows);
        let svg = knob_svg(&rows, 30);
        assert!(svg.contains("30 s interval") && svg.contains("Pareto front"));
        // Two front points joined by one line, with a dot each.
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
    }

    #[test]
    fn the_chart_has_a_line_and_whiskers_per_path() {
        let rows = crate::harness::sweep::tests::rows();
        let svg = sweep_svg(&rows);
        // A line per path and a whisker per point.
        assert_eq!(svg.matches("<path ").count(), 2 + 4);
        assert!(svg.contains("Full-pass time against fleet size"));
        assert!(svg.contains(r##"fill="#fff""##) && svg.contains("sans-serif"));
        assert_eq!(svg.matches("<circle").count(), 4);
    }
}
