//! `sweep`: full-pass time of each path against fleet size, and where the lines cross. A full
//! pass is what it takes each path to look at every eligible host once: one legacy diff, or
//! every batched tick of one pass (spec §4.1). Pure helpers here; `cmd::sweep` does the runs.

use crate::harness::loadtest::PathKind;

/// One (size, path) result.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Requested host count (before duplicates).
    pub hosts: u64,
    pub host_rows: u64,
    pub eligible: u64,
    pub path: PathKind,
    pub runs: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// Batched ticks per pass (legacy: 1).
    pub ticks: u64,
    /// Median over runs of legacy/batched measured in the same run (batched rows only).
    pub legacy_over_batched: Option<f64>,
    /// Largest peak resident set of the process over this path's runs, in MiB, each run's peak
    /// reset before it starts (None where /proc refuses the reset or the reading).
    pub peak_rss_mib: Option<f64>,
}

/// Median of a non-empty slice (mean of the middle two for even lengths).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Where legacy and batched full-pass times cross, interpolated linearly in log–log space
/// between the two sizes that bracket the sign change; None when one path is faster at every
/// size. Input: (hosts, legacy_s, batched_s) in increasing hosts.
pub fn crossover(points: &[(u64, f64, f64)]) -> Option<f64> {
    for w in points.windows(2) {
        let (n0, l0, b0) = w[0];
        let (n1, l1, b1) = w[1];
        let d0 = l0.ln() - b0.ln();
        let d1 = l1.ln() - b1.ln();
        if d0 == 0.0 {
            return Some(n0 as f64);
        }
        if d1 == 0.0 {
            return Some(n1 as f64);
        }
        if d0.signum() != d1.signum() {
            let t = d0 / (d0 - d1);
            let ln = (n0 as f64).ln() + t * ((n1 as f64).ln() - (n0 as f64).ln());
            return Some(ln.exp());
        }
    }
    None
}

/// A sentence about the crossover for summaries.
pub fn crossover_text(rows: &[SweepRow]) -> String {
    let mut points: Vec<(u64, f64, f64)> = Vec::new();
    let mut sizes: Vec<u64> = rows.iter().map(|r| r.hosts).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for n in sizes {
        let of = |p: PathKind| {
            rows.iter()
                .find(|r| r.hosts == n && r.path == p)
                .map(|r| r.median_s)
        };
        if let (Some(l), Some(b)) = (of(PathKind::Legacy), of(PathKind::Batched)) {
            points.push((n, l, b));
        }
    }
    if points.len() < 2 {
        return "crossover: needs both paths at two sizes or more".into();
    }
    match crossover(&points) {
        Some(n) => format!("crossover: the lines cross near {n:.0} hosts"),
        None => {
            let faster = if points[0].2 < points[0].1 {
                "batched"
            } else {
                "legacy"
            };
            format!(
                "crossover: none between {} and {} hosts ({faster} is faster at every size)",
                points[0].0,
                points[points.len() - 1].0
            )
        }
    }
}

/// `sweep.csv` bytes.
pub fn sweep_csv(rows: &[SweepRow], seed: u64) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "hosts",
        "host_rows",
        "eligible",
        "path",
        "runs",
        "median_s",
        "min_s",
        "max_s",
        "ticks_per_pass",
        "legacy_over_batched",
        "peak_rss_mib",
        "seed",
    ])?;
    for r in rows {
        w.write_record([
            r.hosts.to_string(),
            r.host_rows.to_string(),
            r.eligible.to_string(),
            r.path.name().to_string(),
            r.runs.to_string(),
            format!("{:.4}", r.median_s),
            format!("{:.4}", r.min_s),
            format!("{:.4}", r.max_s),
            r.ticks.to_string(),
            r.legacy_over_batched
                .map(|x| format!("{x:.2}"))
                .unwrap_or_default(),
            r.peak_rss_mib
                .map(|x| format!("{x:.0}"))
                .unwrap_or_default(),
            seed.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn crossover_interpolates_in_log_space() {
        // legacy/batched = 1/10 at 1,000 hosts and 10 at 100,000: equal at 10,000.
        let x = crossover(&[(1_000, 1.0, 10.0), (100_000, 100.0, 10.0)]).unwrap();
        assert!((x - 10_000.0).abs() < 1e-6, "{x}");
        assert_eq!(crossover(&[(1_000, 2.0, 1.0), (10_000, 20.0, 10.0)]), None);
    }

    /// Rows at 1,000 and 10,000 hosts, legacy slower at both; min/max ±10 % of the median.
    pub(crate) fn rows() -> Vec<SweepRow> {
        let row = |hosts, path, s: f64| SweepRow {
            hosts,
            host_rows: hosts,
            eligible: hosts,
            path,
            runs: 1,
            median_s: s,
            min_s: s * 0.9,
            max_s: s * 1.1,
            ticks: 1,
            legacy_over_batched: None,
            peak_rss_mib: Some(100.0),
        };
        vec![
            row(1000, PathKind::Legacy, 0.1),
            row(1000, PathKind::Batched, 0.05),
            row(10000, PathKind::Legacy, 2.0),
            row(10000, PathKind::Batched, 0.3),
        ]
    }

    #[test]
    fn the_crossover_text_says_when_there_is_none() {
        assert_eq!(
            crossover_text(&rows()),
            "crossover: none between 1000 and 10000 hosts (batched is faster at every size)"
        );
    }
}
