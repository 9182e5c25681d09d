//! `report compare`: two loadtest runs side by side. Reads each run's `summary.csv` and judges
//! RUN_B against RUN_A per path × phase on p50, p99 and max (wall µs; `convergence` in virtual
//! µs). A metric regresses when it grew by more than the threshold and by at least the minimum
//! delta. Pure: summary bytes in, rows and text out.

use std::collections::BTreeMap;
use std::path::Path;

/// Errors naming the run folder or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum RegressionError {
    #[error("{0}: not a loadtest run folder (no summary.csv and manifest.json)")]
    NotARun(String),
    #[error("{file}: {message}")]
    BadSummary { file: String, message: String },
    #[error("--threshold {0:?}: expected a percentage such as 10% or a fraction such as 0.1")]
    BadThreshold(String),
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

/// Phases of the simulated world (devices, churn, convergence checks): listed, never judged,
/// since they measure the harness, not a reconciler.
pub const HARNESS_PHASES: [&str; 3] = ["devices", "churn", "convergence_check"];

/// Metrics of one (path, phase) row: p50, p99, max (µs).
pub type Metrics = [u64; 3];

/// The metric names, in `Metrics` order.
pub const METRICS: [&str; 3] = ["p50_us", "p99_us", "max_us"];

/// Reads a run folder's summary: (path, phase) → metrics.
pub fn read_run(dir: &Path) -> Result<BTreeMap<(String, String), Metrics>, RegressionError> {
    let summary = dir.join("summary.csv");
    if !summary.is_file() || !dir.join("manifest.json").is_file() {
        return Err(RegressionError::NotARun(dir.display().to_string()));
    }
    let file = summary.display().to_string();
    let bad = |message: String| RegressionError::BadSummary {
        file: file.clone(),
        message,
    };
    // The manifest must be one, too: a run folder with a broken manifest is no baseline.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).map_err(|e| RegressionError::BadSummary {
        file: manifest.display().to_string(),
        message: e.to_string(),
    })?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| RegressionError::BadSummary {
            file: manifest.display().to_string(),
            message: "not a JSON object (a loadtest manifest)".into(),
        })?;
    let bytes = std::fs::read(&summary).map_err(|e| bad(e.to_string()))?;
    parse_summary(&bytes).map_err(bad)
}

/// Parses `summary.csv` bytes (the loadtest's columns).
pub fn parse_summary(bytes: &[u8]) -> Result<BTreeMap<(String, String), Metrics>, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no column `{name}`"))
    };
    let (path, phase) = (col("path")?, col("phase")?);
    let idx = [col(METRICS[0])?, col(METRICS[1])?, col(METRICS[2])?];
    let mut out = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let mut m = [0u64; 3];
        for (k, &c) in idx.iter().enumerate() {
            let v = rec.get(c).unwrap_or("");
            m[k] = v.parse().map_err(|_| {
                format!(
                    "row {}: column `{}`: {v:?} is not a number",
                    i + 2,
                    METRICS[k]
                )
            })?;
        }
        out.insert(
            (
                rec.get(path).unwrap_or("").to_string(),
                rec.get(phase).unwrap_or("").to_string(),
            ),
            m,
        );
    }
    Ok(out)
}

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub path: String,
    pub phase: String,
    pub metric: &'static str,
    pub a: Option<u64>,
    pub b: Option<u64>,
    /// (b − a) / a; None when a side is missing or a = 0.
    pub change: Option<f64>,
    pub regressed: bool,
}

/// Compares every metric of every (path, phase) in either run.
pub fn compare(
    a: &BTreeMap<(String, String), Metrics>,
    b: &BTreeMap<(String, String), Metrics>,
    threshold: f64,
    min_delta_us: u64,
) -> Vec<Delta> {
    let keys: std::collections::BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        for (k, metric) in METRICS.iter().enumerate() {
            let (va, vb) = (a.get(key).map(|m| m[k]), b.get(key).map(|m| m[k]));
            let change = match (va, vb) {
                (Some(x), Some(y)) if x > 0 => Some((y as f64 - x as f64) / x as f64),
                _ => None,
            };
            let judged = !HARNESS_PHASES.contains(&key.1.as_str());
            let regressed = judged
                && match (va, vb) {
                    (Some(x), Some(y)) => {
                        y > x
                            && y - x >= min_delta_us
                            && (x == 0 || (y - x) as f64 > threshold * x as f64)
                    }
                    _ => false,
                };
            out.push(Delta {
                path: key.0.clone(),
                phase: key.1.clone(),
                metric,
                a: va,
                b: vb,
                change,
                regressed,
            });
        }
    }
    out
}

/// The comparison as CSV: path,phase,metric,a_us,b_us,change_pct,regressed.
pub fn deltas_csv(deltas: &[Delta]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "phase",
        "metric",
        "a_us",
        "b_us",
        "change_pct",
        "regressed",
    ])?;
    for d in deltas {
        w.write_record([
            d.path.clone(),
            d.phase.clone(),
            d.metric.to_string(),
            d.a.map(|v| v.to_string()).unwrap_or_default(),
            d.b.map(|v| v.to_string()).unwrap_or_default(),
            d.change
                .map(|c| format!("{:.1}", c * 100.0))
                .unwrap_or_default(),
            d.regressed.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The comparison as a text table, regressions marked.
pub fn deltas_text(deltas: &[Delta]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<8} {:<18} {:<7} {:>12} {:>12} {:>9}",
        "path", "phase", "metric", "A µs", "B µs", "change"
    );
    for d in deltas {
        let v = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
        let _ = writeln!(
            o,
            "{:<8} {:<18} {:<7} {:>12} {:>12} {:>9}{}",
            d.path,
            d.phase,
            d.metric.trim_end_matches("_us"),
            v(d.a),
            v(d.b),
            d.change
                .map_or("-".to_string(), |c| format!("{:+.1}%", c * 100.0)),
            if d.regressed {
                "  REGRESSION"
            } else if HARNESS_PHASES.contains(&d.phase.as_str()) {
                "  (harness, not judged)"
            } else {
                ""
            }
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "path,phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us,clock,rows_per_s
batched,tick,4,10.0,100,100,200,200,300,wall,5
batched,window,4,1.0,10,10,20,20,30,wall,
";

    #[test]
    fn thresholds_parse_as_percent_or_fraction() {
        assert_eq!(parse_threshold("10%").unwrap(), 0.1);
        assert_eq!(parse_threshold(" 0.25 ").unwrap(), 0.25);
        assert!(parse_threshold("ten").is_err());
        assert!(parse_threshold("-5%").is_err());
    }

    #[test]
    fn growth_past_the_threshold_regresses() {
        let a = parse_summary(A.as_bytes()).unwrap();
        let b = parse_summary(
            A.replace(
                "batched,tick,4,10.0,100,100,200",
                "batched,tick,4,10.0,111,100,210",
            )
            .as_bytes(),
        )
        .unwrap();
        let d = compare(&a, &b, 0.10, 0);
        let of = |phase: &str, m: &str| {
            d.iter()
                .find(|x| x.phase == phase && x.metric == m)
                .unwrap()
        };
        assert!(of("tick", "p50_us").regressed, "+11% > 10%");
        assert!(!of("tick", "p99_us").regressed, "+5%");
        assert!(!of("window", "max_us").regressed);
        assert!((of("tick", "p50_us").change.unwrap() - 0.11).abs() < 1e-9);
        // The minimum delta keeps an 11 µs growth from counting.
        assert!(!compare(&a, &b, 0.10, 20).iter().any(|x| x.regressed));
    }

    #[test]
    fn harness_phases_are_never_judged() {
        let a = parse_summary(A.replace("window", "devices").as_bytes()).unwrap();
        let b = parse_summary(A.replace("window,4,1.0,10", "devices,4,1.0,99").as_bytes()).unwrap();
        assert!(compare(&a, &b, 0.0, 0).iter().all(|d| !d.regressed));
    }

    #[test]
    fn a_phase_in_one_run_only_is_listed_not_judged() {
        let a = parse_summary(A.as_bytes()).unwrap();
        let mut b = a.clone();
        b.remove(&("batched".to_string(), "window".to_string()));
        let d = compare(&a, &b, 0.0, 0);
        let w: Vec<&Delta> = d.iter().filter(|x| x.phase == "window").collect();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|x| x.b.is_none() && !x.regressed));
    }

    #[test]
    fn a_bad_number_names_row_and_column() {
        let e = parse_summary(A.replace("300,wall,5", "x,wall,5").as_bytes()).unwrap_err();
        assert_eq!(e, "row 2: column `max_us`: \"x\" is not a number");
    }
}
