//! Latency histograms: HdrHistogram with one set of bounds everywhere (1 µs to 1 h, 3
//! significant digits), so any two merge without error; percentile rows for CSV summaries; and
//! the percentile-distribution text format that HdrHistogram's Java `outputPercentileDistribution`
//! prints (`.hgrm`), which existing plotters read.

use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::time::Duration;

/// Lowest discernible value, µs.
pub const LOWEST_US: u64 = 1;
/// Highest trackable value, µs (one hour); larger values saturate to it.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant value digits.
pub const SIGFIG: u8 = 3;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    h: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        Latency {
            h: Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
        }
    }

    /// Records a duration, rounded to whole µs (at least 1, at most one hour).
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(LOWEST_US, HIGHEST_US);
        self.h.saturating_record(us);
    }

    /// Adds another histogram's counts; same bounds, so it cannot fail.
    pub fn merge(&mut self, other: &Latency) {
        self.h
            .add(&other.h)
            .unwrap_or_else(|_| unreachable!("identical bounds always add"));
    }

    /// The histogram in HdrHistogram's V2 binary encoding, as hex (checkpoints).
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        let _ = hdrhistogram::serialization::Serializer::serialize(
            &mut hdrhistogram::serialization::V2Serializer::new(),
            &self.h,
            &mut buf,
        );
        hex::encode(buf)
    }

    /// The inverse of `encode`.
    pub fn decode(text: &str) -> Result<Latency, String> {
        let bytes = hex::decode(text).map_err(|e| e.to_string())?;
        let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("{e:?}"))?;
        let mut l = Latency::new();
        l.h.add(&h).map_err(|e| format!("{e:?}"))?;
        Ok(l)
    }

    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// count, mean, p50, p90, p99, p99.9, max (µs); zeros when empty.
    /// Every statistic `summary.json` reports (µs); None without samples, and p99.9 only from
    /// 1,000 samples (below that it is the maximum under another name).
    pub fn stats(&self) -> Stats {
        let n = self.h.len();
        let q = |x: f64, min: u64| (n >= min).then(|| self.h.value_at_quantile(x));
        Stats {
            count: n,
            min_us: (n > 0).then(|| self.h.min()),
            mean_us: (n > 0).then(|| self.h.mean()),
            stddev_us: (n > 0).then(|| self.h.stdev()),
            p50_us: q(0.5, 1),
            p90_us: q(0.9, 1),
            p95_us: q(0.95, 1),
            p99_us: q(0.99, 1),
            p999_us: q(0.999, 1000),
            max_us: (n > 0).then(|| self.h.max()),
        }
    }

    pub fn row(&self) -> Row {
        let q = |x: f64| self.h.value_at_quantile(x);
        Row {
            count: self.h.len(),
            mean_us: if self.h.is_empty() {
                0.0
            } else {
                self.h.mean()
            },
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: self.h.max(),
        }
    }

    /// The distribution in the text layout of Java's `outputPercentileDistribution` with 5
    /// ticks per half distance and a value unit scaling ratio of 1 (values in µs).
    pub fn hgrm(&self) -> String {
        let d = SIGFIG as usize;
        let mut s = String::new();
        let _ = write!(
            s,
            "{:>12} {:>14} {:>10} {:>14}\n\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        );
        let mut total = 0u64;
        if !self.h.is_empty() {
            for v in self.h.iter_quantiles(5) {
                total += v.count_since_last_iteration();
                let p = v.quantile_iterated_to();
                let value = v.value_iterated_to() as f64;
                if p < 1.0 {
                    let _ = writeln!(
                        s,
                        "{value:>12.d$} {p:>2.12} {total:>10} {:>14.2}",
                        1.0 / (1.0 - p)
                    );
                } else {
                    let _ = writeln!(s, "{value:>12.d$} {p:>2.12} {total:>10}");
                }
            }
        }
        let (mean, sd) = if self.h.is_empty() {
            (0.0, 0.0)
        } else {
            (self.h.mean(), self.h.stdev())
        };
        let _ = writeln!(
            s,
            "#[Mean    = {mean:>12.d$}, StdDeviation   = {sd:>12.d$}]"
        );
        let _ = writeln!(
            s,
            "#[Max     = {:>12.d$}, Total count    = {:>12}]",
            self.h.max() as f64,
            self.h.len()
        );
        // Sub-buckets: the power of two above 2 × 10^sigfig (2048 for 3 digits), as in Java.
        let sub_buckets = (2.0 * 10f64.powi(SIGFIG as i32)).log2().ceil().exp2() as u64;
        let _ = writeln!(
            s,
            "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
            self.h.buckets(),
            sub_buckets
        );
        s
    }
}

/// Percentile summary CSV: `{group},phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us`,
/// one row per (group value, phase, histogram), in the order given. `group` names the first
/// column (`what` for `measure`, `path` for `loadtest`).
pub fn summary_csv<'a>(
    group: &str,
    rows: impl IntoIterator<Item = (&'a str, &'a str, &'a Latency)>,
) -> csv::Result<Vec<u8>> {
    summary_csv_with(
        group,
        &[],
        rows.into_iter().map(|(g, p, h)| (g, p, h, Vec::new())),
    )
}

/// `summary_csv` with more columns after `max_us`: their headers, and each row's values.
pub fn summary_csv_with<'a>(
    group: &str,
    extra: &[&str],
    rows: impl IntoIterator<Item = (&'a str, &'a str, &'a Latency, Vec<String>)>,
) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec![
        group, "phase", "count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
    ];
    head.extend_from_slice(extra);
    w.write_record(&head)?;
    for (g, phase, h, more) in rows {
        let r = h.row();
        let mut rec = vec![
            g.to_string(),
            phase.to_string(),
            r.count.to_string(),
            format!("{:.1}", r.mean_us),
            r.p50_us.to_string(),
            r.p90_us.to_string(),
            r.p99_us.to_string(),
            r.p999_us.to_string(),
            r.max_us.to_string(),
        ];
        rec.extend(more);
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A histogram's statistics for `summary.json` (µs; None where the samples do not support it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub count: u64,
    pub min_us: Option<u64>,
    pub mean_us: Option<f64>,
    pub stddev_us: Option<f64>,
    pub p50_us: Option<u64>,
    pub p90_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub p999_us: Option<u64>,
    pub max_us: Option<u64>,
}

/// A summary row of a histogram (µs).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(x: u64) -> Duration {
        Duration::from_micros(x)
    }

    #[test]
    fn row_of_known_values_is_exact() {
        let mut h = Latency::new();
        for v in 1..=1000 {
            h.record(us(v));
        }
        let r = h.row();
        assert_eq!(r.count, 1000);
        assert_eq!(r.p50_us, 500);
        assert_eq!(r.p90_us, 900);
        assert_eq!(r.p99_us, 990);
        assert_eq!(r.p999_us, 999);
        assert_eq!(r.max_us, 1000);
        assert!((r.mean_us - 500.5).abs() < 0.01, "{}", r.mean_us);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Latency::new(), Latency::new(), Latency::new());
        for v in [3u64, 70, 9_000, 1_500_000] {
            a.record(us(v));
            all.record(us(v));
        }
        for v in [1u64, 250_000, 4_000_000_000] {
            b.record(us(v));
            all.record(us(v));
        }
        a.merge(&b);
        assert_eq!(a.row(), all.row());
        assert_eq!(a.hgrm(), all.hgrm());
        // Values beyond an hour saturate instead of failing.
        assert_eq!(all.row().max_us, Latency::new_max_equivalent());
    }

    impl Latency {
        fn new_max_equivalent() -> u64 {
            let mut h = Latency::new();
            h.record(Duration::from_secs(3600));
            h.row().max_us
        }
    }

    #[test]
    fn hgrm_has_java_layout() {
        let mut h = Latency::new();
        for v in [100u64, 200, 300, 400] {
            h.record(us(v));
        }
        let text = h.hgrm();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "     100.000 0.000000000000          1           1.00"
        );
        let last_value_line = lines[lines.len() - 4];
        assert_eq!(last_value_line, "     400.000 1.000000000000          4");
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =      250.000, StdDeviation   =      111.803]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =      400.000, Total count    =            4]"
        );
        assert_eq!(
            lines[lines.len() - 1],
            "#[Buckets =           22, SubBuckets     =         2048]"
        );
    }

    #[test]
    fn empty_histogram_is_well_formed() {
        let h = Latency::new();
        assert_eq!(h.row().count, 0);
        assert!(h.hgrm().contains("Total count    =            0]"));
    }
}
