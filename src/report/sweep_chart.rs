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

#[cfg(test)]
mod tests {
    use super::*;

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
