//! `report compare`: judge a run against one or more baseline runs of the same scenario.
//!
//! Each run's `summary.json` is read (`summary.csv` for runs made before it existed). Per path ×
//! phase and per chosen percentile (p50 by default), the baseline is the median of the baseline
//! runs' values and its spread their range. A metric *regresses* when the judged run's value
//! exceeds the baseline by more than every allowance at once (the relative threshold, the
//! absolute noise floor, the spread the baselines showed among themselves) *and* its 95 %
//! confidence interval lies wholly above every baseline's (from the histograms `summary.json`
//! carries; a run without them counts its value as the interval). A metric is
//! judged only where every run has enough samples to estimate the percentile (at least five
//! samples beyond it: p50 needs 10, p99 needs 500), and never for harness phases or the
//! maximum (one sample). Every row says why it was or was not judged. Pure: files in, rows out.

use crate::support::histogram::Stats;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// Errors naming the run folder, file or argument at fault.
#[derive(Debug, thiserror::Error)]
pub enum RegressionError {
    #[error("{0}: not a loadtest run folder (no summary.json or summary.csv with manifest.json)")]
    NotARun(String),
    #[error("{file}: {message}")]
    BadSummary { file: String, message: String },
    #[error("--threshold {0:?}: expected a percentage such as 10% or a fraction such as 0.1")]
    BadThreshold(String),
    #[error("--metric {0:?}: expected one of p50, p90, p95, p99, p99.9")]
    BadMetric(String),
}

/// `10%` → 0.1, `0.1` → 0.1; negative or non-finite values are refused.
pub fn parse_threshold(s: &str) -> Result<f64, RegressionError> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| RegressionError::BadThreshold(s.to_string()))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(RegressionError::BadThreshold(s.to_string()));
    }
    Ok(v)
}

/// A percentile `report compare` can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pct {
    P50,
    P90,
    P95,
    P99,
    P999,
}

impl Pct {
    pub const ALL: [Pct; 5] = [Pct::P50, Pct::P90, Pct::P95, Pct::P99, Pct::P999];

    pub fn name(self) -> &'static str {
        match self {
            Pct::P50 => "p50",
            Pct::P90 => "p90",
            Pct::P95 => "p95",
            Pct::P99 => "p99",
            Pct::P999 => "p99.9",
        }
    }

    fn quantile(self) -> f64 {
        match self {
            Pct::P50 => 0.5,
            Pct::P90 => 0.9,
            Pct::P95 => 0.95,
            Pct::P99 => 0.99,
            Pct::P999 => 0.999,
        }
    }

    /// Samples a run needs for this percentile to be judged: five beyond it.
    pub fn min_samples(self) -> u64 {
        (5.0 / (1.0 - self.quantile())).round() as u64
    }

    fn of(self, s: &Stats) -> Option<u64> {
        match self {
            Pct::P50 => s.p50_us,
            Pct::P90 => s.p90_us,
            Pct::P95 => s.p95_us,
            Pct::P99 => s.p99_us,
            Pct::P999 => s.p999_us,
        }
    }
}

impl std::str::FromStr for Pct {
    type Err = RegressionError;
    fn from_str(s: &str) -> Result<Pct, RegressionError> {
        let t = s.trim().to_ascii_lowercase();
        Pct::ALL
            .into_iter()
            .find(|p| p.name() == t || (t == "p999" && *p == Pct::P999))
            .ok_or_else(|| RegressionError::BadMetric(s.to_string()))
    }
}

/// One path × phase of a run: its group (`reconciler`, `harness`, `virtual`) and statistics.
#[derive(Debug, Clone)]
pub struct PhaseRow {
    pub group: String,
    pub stats: Stats,
    /// The distribution, where the summary carries it.
    pub hist: Option<crate::support::histogram::Latency>,
}

impl PhaseRow {
    /// The 95 % confidence interval of a percentile; the point value without a histogram.
    fn ci(&self, p: Pct) -> Option<(u64, u64)> {
        match &self.hist {
            Some(h) => h.quantile_ci(p.quantile()),
            None => p.of(&self.stats).map(|v| (v, v)),
        }
    }
}

/// A run's phases by (path, phase).
pub type RunStats = BTreeMap<(String, String), PhaseRow>;

/// Reads a run folder: `summary.json`, or `summary.csv` in a run from before it.
pub fn read_run(dir: &Path) -> Result<RunStats, RegressionError> {
    let json = dir.join("summary.json");
    if json.is_file() {
        let s = crate::report::verdict::Summary::read(&json).map_err(|message| {
            RegressionError::BadSummary {
                file: json.display().to_string(),
                message,
            }
        })?;
        return s
            .phases
            .into_iter()
            .map(|p| {
                let hist = match &p.histogram {
                    Some(t) => Some(crate::support::histogram::Latency::from_base64(t).map_err(
                        |e| RegressionError::BadSummary {
                            file: json.display().to_string(),
                            message: format!("{} {}: histogram: {e}", p.path.name(), p.phase),
                        },
                    )?),
                    None => None,
                };
                Ok((
                    (p.path.name().to_string(), p.phase),
                    PhaseRow {
                        group: p.group,
                        stats: p.stats,
                        hist,
                    },
                ))
            })
            .collect::<Result<_, RegressionError>>();
    }
    let csv = dir.join("summary.csv");
    if !csv.is_file() || !dir.join("manifest.json").is_file() {
        return Err(RegressionError::NotARun(dir.display().to_string()));
    }
    let bytes = std::fs::read(&csv).map_err(|e| RegressionError::BadSummary {
        file: csv.display().to_string(),
        message: e.to_string(),
    })?;
    parse_summary_csv(&bytes).map_err(|message| RegressionError::BadSummary {
        file: csv.display().to_string(),
        message,
    })
}

/// Parses the `summary.csv` of a loadtest (its `path`, `phase`, `count` and `p*_us` columns).
pub fn parse_summary_csv(bytes: &[u8]) -> Result<RunStats, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| format!("no column `{name}`"));
    let (path, phase) = (need("path")?, need("phase")?);
    need("count")?;
    let mut out = RunStats::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let num = |name: &str| -> Result<Option<u64>, String> {
            let Some(c) = col(name) else { return Ok(None) };
            let v = rec.get(c).unwrap_or("");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| format!("row {}: column `{name}`: {v:?} is not a number", i + 2))
        };
        let n = num("count")?.unwrap_or(0);
        let phase = rec.get(phase).unwrap_or("").to_string();
        let stats = Stats {
            count: n,
            min_us: num("min_us")?,
            mean_us: None,
            stddev_us: None,
            p50_us: num("p50_us")?,
            p90_us: num("p90_us")?,
            p95_us: num("p95_us")?,
            p99_us: num("p99_us")?,
            p999_us: num("p999_us")?.filter(|_| n >= 1000),
            max_us: num("max_us")?,
        };
        out.insert(
            (rec.get(path).unwrap_or("").to_string(), phase.clone()),
            PhaseRow {
                group: crate::report::verdict::phase_group(&phase).to_string(),
                stats,
                hist: None,
            },
        );
    }
    Ok(out)
}

/// Why a metric was or was not judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// Judged: grew past every allowance.
    Regressed { allowance_us: u64 },
    /// Judged: within the allowance (or faster).
    Within { allowance_us: u64 },
    /// Judged: grew past the allowance, but the confidence intervals overlap (noise).
    Overlap { allowance_us: u64 },
    /// A harness phase: it measures the simulated world, not a reconciler.
    Harness,
    /// In some runs only.
    Missing,
    /// Some run has fewer samples than the percentile needs.
    TooFewSamples { have: u64, need: u64 },
}

impl Judgement {
    pub fn judged(&self) -> bool {
        matches!(
            self,
            Judgement::Regressed { .. } | Judgement::Within { .. } | Judgement::Overlap { .. }
        )
    }
}

impl fmt::Display for Judgement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::support::units::human_us;
        match self {
            Judgement::Regressed { allowance_us } => {
                write!(f, "REGRESSION > +{}", human_us(*allowance_us as f64))
            }
            Judgement::Within { allowance_us } => {
                write!(f, "ok ≤ +{}", human_us(*allowance_us as f64))
            }
            Judgement::Overlap { .. } => f.write_str("ok: 95 % CIs overlap"),
            Judgement::Harness => f.write_str("n/a: harness phase"),
            Judgement::Missing => f.write_str("n/a: not in every run"),
            Judgement::TooFewSamples { have, need } => write!(f, "n/a: {have} samples < {need}"),
        }
    }
}

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub path: String,
    pub phase: String,
    pub metric: Pct,
    /// The baseline: the median of the baseline runs' values.
    pub a: Option<u64>,
    /// The baseline runs' range (max − min); 0 with one baseline.
    pub a_spread: u64,
    pub b: Option<u64>,
    /// (b − a) / a; None when a side is missing or a = 0.
    pub change: Option<f64>,
    pub judgement: Judgement,
}

impl Delta {
    pub fn regressed(&self) -> bool {
        matches!(self.judgement, Judgement::Regressed { .. })
    }
}

/// How `compare` judges.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Largest accepted relative growth.
    pub threshold: f64,
    /// Growths up to this many µs are noise.
    pub min_delta_us: u64,
    /// The percentiles judged.
    pub metrics: Vec<Pct>,
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// Compares `b` against the baselines `a` for every (path, phase) in any run.
pub fn compare(a: &[RunStats], b: &RunStats, rules: &Rules) -> Vec<Delta> {
    let keys: BTreeSet<&(String, String)> =
        a.iter().flat_map(|r| r.keys()).chain(b.keys()).collect();
    let mut keys: Vec<&(String, String)> = keys.into_iter().collect();
    // Reconciler phases first, then virtual time, then the harness.
    let group_of = |k: &(String, String)| {
        a.iter()
            .find_map(|r| r.get(k))
            .or_else(|| b.get(k))
            .map_or("harness".to_string(), |r| r.group.clone())
    };
    keys.sort_by_key(|k| {
        (
            k.0.clone(),
            crate::report::verdict::group_rank(&group_of(k)),
            k.1.clone(),
        )
    });
    let mut out = Vec::new();
    for key in keys {
        let group = group_of(key);
        let rows_a: Vec<Option<&PhaseRow>> = a.iter().map(|r| r.get(key)).collect();
        let row_b = b.get(key);
        for &metric in &rules.metrics {
            let mut va: Vec<u64> = rows_a
                .iter()
                .filter_map(|r| r.and_then(|r| metric.of(&r.stats)))
                .collect();
            let vb = row_b.and_then(|r| metric.of(&r.stats));
            let spread = match (va.iter().min(), va.iter().max()) {
                (Some(lo), Some(hi)) => hi - lo,
                _ => 0,
            };
            let base = (!va.is_empty()).then(|| median(&mut va));
            let change = match (base, vb) {
                (Some(x), Some(y)) if x > 0 => Some((y as f64 - x as f64) / x as f64),
                _ => None,
            };
            let have = rows_a
                .iter()
                .map(|r| r.map_or(0, |r| r.stats.count))
                .chain(std::iter::once(row_b.map_or(0, |r| r.stats.count)))
                .min()
                .unwrap_or(0);
            let judgement = if group == "harness" {
                Judgement::Harness
            } else if rows_a.iter().any(Option::is_none) || row_b.is_none() {
                Judgement::Missing
            } else if have < metric.min_samples() {
                Judgement::TooFewSamples {
                    have,
                    need: metric.min_samples(),
                }
            } else {
                match (base, vb) {
                    (Some(x), Some(y)) => {
                        let allowance_us = ((rules.threshold * x as f64).ceil() as u64)
                            .max(rules.min_delta_us)
                            .max(spread);
                        // B's interval wholly above every baseline's?
                        let a_hi = rows_a
                            .iter()
                            .filter_map(|r| r.and_then(|r| r.ci(metric)))
                            .map(|c| c.1)
                            .max()
                            .unwrap_or(x);
                        let b_lo = row_b.and_then(|r| r.ci(metric)).map_or(y, |c| c.0);
                        if y > x && y - x > allowance_us && b_lo > a_hi {
                            Judgement::Regressed { allowance_us }
                        } else if y > x && y - x > allowance_us {
                            Judgement::Overlap { allowance_us }
                        } else {
                            Judgement::Within { allowance_us }
                        }
                    }
                    _ => Judgement::Missing,
                }
            };
            out.push(Delta {
                path: key.0.clone(),
                phase: key.1.clone(),
                metric,
                a: base,
                a_spread: spread,
                b: vb,
                change,
                judgement,
            });
        }
    }
    out
}

/// The comparison as CSV, one row per path × phase × metric (µs):
/// `path,phase,metric,a_us,a_spread_us,b_us,change_pct,judged,regressed,allowance_us,reason`.
pub fn deltas_csv(deltas: &[Delta]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "phase",
        "metric",
        "a_us",
        "a_spread_us",
        "b_us",
        "change_pct",
        "judged",
        "regressed",
        "allowance_us",
        "reason",
    ])?;
    for d in deltas {
        let allowance = match d.judgement {
            Judgement::Regressed { allowance_us }
            | Judgement::Within { allowance_us }
            | Judgement::Overlap { allowance_us } => allowance_us.to_string(),
            _ => String::new(),
        };
        w.write_record([
            d.path.clone(),
            d.phase.clone(),
            d.metric.name().to_string(),
            d.a.map(|v| v.to_string()).unwrap_or_default(),
            d.a_spread.to_string(),
            d.b.map(|v| v.to_string()).unwrap_or_default(),
            d.change
                .map(|c| format!("{:.1}", c * 100.0))
                .unwrap_or_default(),
            d.judgement.judged().to_string(),
            d.regressed().to_string(),
            allowance,
            d.judgement.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The comparison as a text table of at most 80 columns, each row saying how it was judged.
pub fn deltas_text(deltas: &[Delta]) -> String {
    use crate::support::units::human_us;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<7} {:<14} {:<5} {:>9} {:>9} {:>7}  judgement",
        "path", "phase", "pct", "A", "B", "change"
    );
    for d in deltas {
        let v = |x: Option<u64>| x.map_or("-".to_string(), |v| human_us(v as f64));
        let phase = if d.phase.chars().count() > 14 {
            d.phase.chars().take(13).collect::<String>() + "…"
        } else {
            d.phase.clone()
        };
        let _ = writeln!(
            o,
            "{:<7} {:<14} {:<5} {:>9} {:>9} {:>7}  {}",
            d.path,
            phase,
            d.metric.name(),
            v(d.a),
            v(d.b),
            d.change
                .map_or("-".to_string(), |c| format!("{:+.0}%", c * 100.0)),
            d.judgement
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(count: u64, p50: u64) -> Stats {
        Stats {
            count,
            min_us: Some(1),
            mean_us: None,
            stddev_us: None,
            p50_us: Some(p50),
            p90_us: Some(p50 * 2),
            p95_us: Some(p50 * 2),
            p99_us: Some(p50 * 3),
            p999_us: None,
            max_us: Some(p50 * 4),
        }
    }

    fn run(rows: &[(&str, &str, u64, u64)]) -> RunStats {
        rows.iter()
            .map(|&(path, phase, count, p50)| {
                (
                    (path.to_string(), phase.to_string()),
                    PhaseRow {
                        group: crate::report::verdict::phase_group(phase).to_string(),
                        stats: stats(count, p50),
                        hist: None,
                    },
                )
            })
            .collect()
    }

    fn rules(metrics: &[Pct]) -> Rules {
        Rules {
            threshold: 0.10,
            min_delta_us: 1000,
            metrics: metrics.to_vec(),
        }
    }

    fn find<'a>(d: &'a [Delta], phase: &str, m: Pct) -> &'a Delta {
        d.iter()
            .find(|x| x.phase == phase && x.metric == m)
            .unwrap()
    }

    #[test]
    fn thresholds_and_metrics_parse() {
        assert_eq!(parse_threshold("10%").unwrap(), 0.1);
        assert_eq!(parse_threshold(" 0.25 ").unwrap(), 0.25);
        assert!(parse_threshold("ten").is_err());
        assert!(parse_threshold("-5%").is_err());
        assert_eq!("P99".parse::<Pct>().unwrap(), Pct::P99);
        assert_eq!("p99.9".parse::<Pct>().unwrap(), Pct::P999);
        assert!("p42".parse::<Pct>().is_err());
        let need: Vec<u64> = Pct::ALL.iter().map(|p| p.min_samples()).collect();
        assert_eq!(need, [10, 50, 100, 500, 5000]);
    }

    #[test]
    fn growth_past_threshold_and_floor_regresses() {
        let a = run(&[("batched", "tick", 100, 100_000)]);
        let grew = run(&[("batched", "tick", 100, 111_000)]);
        let d = compare(std::slice::from_ref(&a), &grew, &rules(&[Pct::P50]));
        assert!(find(&d, "tick", Pct::P50).regressed(), "+11 % > 10 %");
        assert!((find(&d, "tick", Pct::P50).change.unwrap() - 0.11).abs() < 1e-9);
        let near = run(&[("batched", "tick", 100, 109_000)]);
        let d = compare(std::slice::from_ref(&a), &near, &rules(&[Pct::P50]));
        assert_eq!(
            find(&d, "tick", Pct::P50).judgement,
            Judgement::Within {
                allowance_us: 10_000
            }
        );
        // A tiny phase: +100 % but 50 µs is under the 1 ms noise floor.
        let tiny_a = run(&[("batched", "cursor_read", 100, 50)]);
        let tiny_b = run(&[("batched", "cursor_read", 100, 100)]);
        let d = compare(&[tiny_a], &tiny_b, &rules(&[Pct::P50]));
        assert!(!d[0].regressed() && d[0].judgement.judged());
    }

    #[test]
    fn percentiles_need_samples_and_max_is_never_judged() {
        let a = run(&[("batched", "tick", 8, 100_000)]);
        let b = run(&[("batched", "tick", 8, 900_000)]);
        let d = compare(&[a], &b, &rules(&[Pct::P50]));
        assert_eq!(
            d[0].judgement,
            Judgement::TooFewSamples { have: 8, need: 10 }
        );
        let a = run(&[("batched", "tick", 200, 100_000)]);
        let b = run(&[("batched", "tick", 200, 900_000)]);
        let d = compare(&[a], &b, &rules(&[Pct::P50, Pct::P99]));
        assert!(find(&d, "tick", Pct::P50).regressed());
        assert_eq!(
            find(&d, "tick", Pct::P99).judgement,
            Judgement::TooFewSamples {
                have: 200,
                need: 500
            }
        );
    }

    #[test]
    fn several_baselines_widen_the_allowance_by_their_spread() {
        let a: Vec<RunStats> = [100_000, 140_000, 120_000]
            .iter()
            .map(|&p| run(&[("batched", "tick", 50, p)]))
            .collect();
        // Median 120 ms, spread 40 ms: 155 ms is +29 % but within the spread.
        let d = compare(
            &a,
            &run(&[("batched", "tick", 50, 155_000)]),
            &rules(&[Pct::P50]),
        );
        assert_eq!(d[0].a, Some(120_000));
        assert_eq!(d[0].a_spread, 40_000);
        assert!(!d[0].regressed());
        let d = compare(
            &a,
            &run(&[("batched", "tick", 50, 161_000)]),
            &rules(&[Pct::P50]),
        );
        assert!(d[0].regressed());
    }

    #[test]
    fn overlapping_intervals_are_noise_not_regression() {
        use crate::support::histogram::Latency;
        use std::time::Duration;
        let hist = |vals: &[u64]| {
            let mut h = Latency::new();
            for &v in vals {
                h.record(Duration::from_micros(v));
            }
            h
        };
        let row = |h: Latency| PhaseRow {
            group: "reconciler".into(),
            stats: h.stats(),
            hist: Some(h),
        };
        let key = ("batched".to_string(), "tick".to_string());
        // Spread-out ticks: B's median +40 %, but its interval overlaps A's.
        let a: Vec<u64> = (0..20).map(|i| 10_000 + i * 1_000).collect();
        let b: Vec<u64> = (0..20).map(|i| 14_000 + i * 1_000).collect();
        let ra: RunStats = [(key.clone(), row(hist(&a)))].into();
        let rb: RunStats = [(key.clone(), row(hist(&b)))].into();
        let d = compare(std::slice::from_ref(&ra), &rb, &rules(&[Pct::P50]));
        assert!(
            matches!(d[0].judgement, Judgement::Overlap { .. }),
            "{:?}",
            d[0]
        );
        // Twice as slow throughout: the intervals part.
        let b: Vec<u64> = a.iter().map(|v| v * 2).collect();
        let rb: RunStats = [(key, row(hist(&b)))].into();
        let d = compare(&[ra], &rb, &rules(&[Pct::P50]));
        assert!(d[0].regressed(), "{:?}", d[0]);
    }

    #[test]
    fn harness_phases_and_one_sided_phases_are_listed_not_judged() {
        let a = run(&[
            ("batched", "devices", 100, 10),
            ("batched", "window", 100, 10),
        ]);
        let b = run(&[("batched", "devices", 100, 99_000)]);
        let d = compare(&[a], &b, &rules(&[Pct::P50]));
        assert_eq!(find(&d, "devices", Pct::P50).judgement, Judgement::Harness);
        assert_eq!(find(&d, "window", Pct::P50).judgement, Judgement::Missing);
        // Reconciler phases come first.
        assert_eq!(d[0].phase, "window");
    }

    #[test]
    fn old_summary_csv_is_read_with_its_counts() {
        let csv = "path,phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us,clock\n\
                   batched,tick,4,10.0,100,100,200,200,300,wall\n";
        let r = parse_summary_csv(csv.as_bytes()).unwrap();
        let row = &r[&("batched".to_string(), "tick".to_string())];
        assert_eq!(row.stats.count, 4);
        assert_eq!(row.stats.p50_us, Some(100));
        assert_eq!(row.stats.p999_us, None, "4 samples support no p99.9");
        let e = parse_summary_csv(csv.replace(",300,", ",x,").as_bytes()).unwrap_err();
        assert_eq!(e, "row 2: column `max_us`: \"x\" is not a number");
    }
}
