//! Thresholds (issue 12): pass/fail checks on a run's verdict, k6-style, written as
//! `METRIC OP VALUE` in a scenario's `[thresholds] checks` or with `loadtest --threshold`:
//!
//! - `METRIC`: `[PATH.]tick.{p50,p90,p95,p99,max,mean}`, `[PATH.]convergence.{p50,p95,max}`,
//!   `[PATH.]failed_ticks`, `[PATH.]overruns`, `[PATH.]open_share`, `[PATH.]findings`, or
//!   `equivalence`; without `PATH.` a check applies to every path of the run;
//! - `OP`: `<`, `<=`, `>`, `>=`, `==`, `!=`;
//! - `VALUE`: a duration (`250ms`, `5s`, `10m`, `1h`, `800us`), a share (`5%`), a number, or for
//!   `equivalence` one of `identical`, `known` (diverges only in known classes), `unexplained`.
//!
//! Pure parsing and comparison; `verdict` evaluates a check against a run.

use serde::{Deserialize, Serialize};

/// A parsed check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The text as written.
    pub text: String,
    /// `legacy`, `batched`, or None: every path.
    pub path: Option<String>,
    pub metric: Metric,
    pub op: Cmp,
    /// Durations in µs, shares as fractions; equivalence words as 0 (identical), 1 (known), 2
    /// (unexplained).
    pub value: f64,
}

/// What a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    TickP50,
    TickP90,
    TickP95,
    TickP99,
    TickMax,
    TickMean,
    ConvergenceP50,
    ConvergenceP95,
    ConvergenceMax,
    FailedTicks,
    Overruns,
    OpenShare,
    Findings,
    Equivalence,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Cmp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// The equivalence words, in order of how far two approaches differ.
pub const EQUIVALENCE_WORDS: [&str; 3] = ["identical", "known", "unexplained"];

impl Metric {
    fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "tick.p50" => Metric::TickP50,
            "tick.p90" => Metric::TickP90,
            "tick.p95" => Metric::TickP95,
            "tick.p99" => Metric::TickP99,
            "tick.max" => Metric::TickMax,
            "tick.mean" => Metric::TickMean,
            "convergence.p50" => Metric::ConvergenceP50,
            "convergence.p95" => Metric::ConvergenceP95,
            "convergence.max" => Metric::ConvergenceMax,
            "failed_ticks" => Metric::FailedTicks,
            "overruns" => Metric::Overruns,
            "open_share" => Metric::OpenShare,
            "findings" => Metric::Findings,
            "equivalence" => Metric::Equivalence,
            _ => return None,
        })
    }

    /// What kind of value the metric takes.
    fn unit(self) -> Unit {
        match self {
            Metric::TickP50
            | Metric::TickP90
            | Metric::TickP95
            | Metric::TickP99
            | Metric::TickMax
            | Metric::TickMean
            | Metric::ConvergenceP50
            | Metric::ConvergenceP95
            | Metric::ConvergenceMax => Unit::Duration,
            Metric::FailedTicks | Metric::Overruns | Metric::Findings => Unit::Count,
            Metric::OpenShare => Unit::Share,
            Metric::Equivalence => Unit::Word,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Duration,
    Count,
    Share,
    Word,
}

/// A duration as µs: `800us`, `250ms`, `5s`, `10m`/`10min`, `1h`.
fn duration_us(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite() && *x >= 0.0)?;
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(n * scale)
}

const OPS: [(&str, Cmp); 6] = [
    ("<=", Cmp::Le),
    (">=", Cmp::Ge),
    ("==", Cmp::Eq),
    ("!=", Cmp::Ne),
    ("<", Cmp::Lt),
    (">", Cmp::Gt),
];

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Threshold, String> {
        let (at, sym, op) = OPS
            .iter()
            .filter_map(|(sym, op)| text.find(sym).map(|i| (i, *sym, *op)))
            .min_by_key(|(i, sym, _)| (*i, std::cmp::Reverse(sym.len())))
            .ok_or_else(|| format!("{text:?}: no comparison (<, <=, >, >=, ==, !=)"))?;
        let (left, right) = (text[..at].trim(), text[at + sym.len()..].trim());
        let (path, name) = match left.split_once('.') {
            Some((p @ ("legacy" | "batched"), rest)) => (Some(p.to_string()), rest),
            _ => (None, left),
        };
        let metric = Metric::parse(name).ok_or_else(|| {
            format!(
                "{text:?}: unknown metric {left:?} (tick.p50|p90|p95|p99|max|mean, \
                 convergence.p50|p95|max, failed_ticks, overruns, open_share, findings, \
                 equivalence; optionally after legacy. or batched.)"
            )
        })?;
        if metric == Metric::Equivalence && path.is_some() {
            return Err(format!(
                "{text:?}: equivalence is between paths, not of one path"
            ));
        }
        let bad = |what: &str| format!("{text:?}: {right:?} is not {what}");
        let value = match metric.unit() {
            Unit::Duration => {
                duration_us(right).ok_or_else(|| bad("a duration (250ms, 5s, 10m)"))?
            }
            Unit::Share => match right.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
                None => right.parse::<f64>(),
            }
            .ok()
            .filter(|x| (0.0..=1.0).contains(x))
            .ok_or_else(|| bad("a share (5% or 0.05)"))?,
            Unit::Count => right
                .parse::<u64>()
                .map(|x| x as f64)
                .map_err(|_| bad("a whole number"))?,
            Unit::Word => {
                if !matches!(op, Cmp::Eq | Cmp::Ne) {
                    return Err(format!("{text:?}: equivalence takes == or !="));
                }
                EQUIVALENCE_WORDS
                    .iter()
                    .position(|w| *w == right)
                    .map(|i| i as f64)
                    .ok_or_else(|| bad("identical, known or unexplained"))?
            }
        };
        Ok(Threshold {
            text: text.trim().to_string(),
            path,
            metric,
            op,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        s.parse().unwrap()
    }

    #[test]
    fn checks_parse_into_metric_op_and_value() {
        let a = t("batched.tick.p99 < 5s");
        assert_eq!(
            (a.path.as_deref(), a.metric, a.op, a.value),
            (Some("batched"), Metric::TickP99, Cmp::Lt, 5e6)
        );
        let b = t("convergence.p95<=10m");
        assert_eq!(
            (b.path, b.metric, b.op, b.value),
            (None, Metric::ConvergenceP95, Cmp::Le, 600e6)
        );
        assert_eq!(t("open_share < 5%").value, 0.05);
        assert_eq!(t("legacy.failed_ticks == 0").value, 0.0);
        let e = t("equivalence != unexplained");
        assert_eq!(
            (e.metric, e.op, e.value),
            (Metric::Equivalence, Cmp::Ne, 2.0)
        );
        assert_eq!(t("tick.max >= 250ms").op, Cmp::Ge);
        assert_eq!(t("tick.mean > 800us").value, 800.0);
    }

    #[test]
    fn bad_checks_say_what_is_wrong() {
        for (text, says) in [
            ("batched.tick.p99 5s", "no comparison"),
            ("batched.tick.p42 < 5s", "unknown metric"),
            ("tick.p99 < 5 parsecs", "is not a duration"),
            ("open_share < 150%", "is not a share"),
            ("failed_ticks == 0.5", "is not a whole number"),
            ("equivalence < known", "takes == or !="),
            ("batched.equivalence == identical", "between paths"),
            ("equivalence == same", "identical, known or unexplained"),
        ] {
            let e = text.parse::<Threshold>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn comparisons_hold_as_written() {
        assert!(Cmp::Lt.holds(1.0, 2.0) && !Cmp::Lt.holds(2.0, 2.0));
        assert!(Cmp::Le.holds(2.0, 2.0) && Cmp::Ge.holds(2.0, 2.0));
        assert!(Cmp::Ne.holds(0.0, 2.0) && !Cmp::Eq.holds(0.0, 2.0));
    }
}
