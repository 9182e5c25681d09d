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
                            message: format!("{} {}: histogram: {e}", p.path.as_str(), p.phase),
                        },
                    )?),
                    None => None,
                };
                Ok((
                    (p.path.as_str().to_string(), p.phase),
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
mod tests;
