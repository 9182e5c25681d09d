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

/// The unit of `.hgrm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HgrmUnit {
    Us,
    #[default]
    Ms,
}

impl HgrmUnit {
    pub fn name(self) -> &'static str {
        match self {
            HgrmUnit::Us => "us",
            HgrmUnit::Ms => "ms",
        }
    }
}

impl std::str::FromStr for HgrmUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<HgrmUnit, String> {
        match s {
            "us" => Ok(HgrmUnit::Us),
            "ms" => Ok(HgrmUnit::Ms),
            other => Err(format!("{other:?}: expected us or ms")),
        }
    }
}

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
        Latency::from_bytes(&hex::decode(text).map_err(|e| e.to_string())?)
    }

    /// A histogram from its serialised bytes (V2, plain or compressed), in this crate's bounds.
    fn from_bytes(bytes: &[u8]) -> Result<Latency, String> {
        let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("{e:?}"))?;
        let mut l = Latency::new();
        l.h.add(&h).map_err(|e| format!("{e:?}"))?;
        Ok(l)
    }

    /// The histogram as HdrHistogram's interval logs carry one: the V2 encoding, compressed,
    /// in base64 (`summary.json`; any HdrHistogram library decodes it).
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        let mut buf = Vec::new();
        let _ = hdrhistogram::serialization::Serializer::serialize(
            &mut hdrhistogram::serialization::V2DeflateSerializer::new(),
            &self.h,
            &mut buf,
        );
        base64::engine::general_purpose::STANDARD.encode(buf)
    }

    /// The inverse of `to_base64`.
    pub fn from_base64(text: &str) -> Result<Latency, String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| e.to_string())?;
        Latency::from_bytes(&bytes)
    }

    /// A distribution-free 95 % confidence interval of the `q` quantile (µs): the values at
    /// the order statistics n·q ± 1.96·√(n·q·(1−q)) (normal approximation of the binomial).
    /// None without samples.
    pub fn quantile_ci(&self, q: f64) -> Option<(u64, u64)> {
        let n = self.h.len();
        if n == 0 {
            return None;
        }
        let half = 1.96 * (q * (1.0 - q) / n as f64).sqrt();
        Some((
            self.h.value_at_quantile((q - half).max(0.0)),
            self.h.value_at_quantile((q + half).min(1.0)),
        ))
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
    /// The percentile distribution in HdrHistogram's `.hgrm` text layout, values in
    /// milliseconds (as Java's default output ratio gives them).
    pub fn hgrm(&self) -> String {
        self.hgrm_in(HgrmUnit::Ms)
    }

    /// `.hgrm` with values in `unit`, said in a last `#[Unit …]` line (plotters skip `#` lines).
    /// The value column is as wide as the largest value needs, so a whitespace-led parser reads
    /// every row (at µs, an hour is 3,600,000,000.000: wider than Java's 12 characters).
    pub fn hgrm_in(&self, unit: HgrmUnit) -> String {
        let d = SIGFIG as usize;
        let scale = match unit {
            HgrmUnit::Us => 1.0,
            HgrmUnit::Ms => 1e3,
        };
        let width = format!("{:.d$}", self.h.max() as f64 / scale).len().max(11) + 1;
        let mut s = String::new();
        let _ = write!(
            s,
            "{:>width$} {:>14} {:>10} {:>14}\n\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        );
        let mut total = 0u64;
        if !self.h.is_empty() {
            for v in self.h.iter_quantiles(5) {
                total += v.count_since_last_iteration();
                let p = v.quantile_iterated_to();
                let value = v.value_iterated_to() as f64 / scale;
                if p < 1.0 {
                    let _ = writeln!(
                        s,
                        "{value:>width$.d$} {p:>2.12} {total:>10} {:>14.2}",
                        1.0 / (1.0 - p)
                    );
                } else {
                    let _ = writeln!(s, "{value:>width$.d$} {p:>2.12} {total:>10}");
                }
            }
        }
        let (mean, sd) = if self.h.is_empty() {
            (0.0, 0.0)
        } else {
            (self.h.mean() / scale, self.h.stdev() / scale)
        };
        let _ = writeln!(
            s,
            "#[Mean    = {mean:>12.d$}, StdDeviation   = {sd:>12.d$}]"
        );
        let _ = writeln!(
            s,
            "#[Max     = {:>12.d$}, Total count    = {:>12}]",
            self.h.max() as f64 / scale,
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
        let _ = writeln!(s, "#[Unit    = {:>12}]", unit.name());
        s
    }
}

/// Percentile summary CSV: `{group},phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us`,
/// then any extra columns, then `min_us,p95_us,stddev_us` (added later, hence last), one row
/// per (group value, phase, histogram), in the order given. `group` names the first
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
    // Added later, so at the end: readers by position keep working.
    head.extend_from_slice(&["min_us", "p95_us", "stddev_us"]);
    w.write_record(&head)?;
    for (g, phase, h, more) in rows {
        let r = h.row();
        let st = h.stats();
        let mut rec = vec![
            g.to_string(),
            phase.to_string(),
            r.count.to_string(),
            format!("{:.1}", r.mean_us),
            r.p50_us.to_string(),
            r.p90_us.to_string(),
            r.p99_us.to_string(),
            // Blank under 1,000 samples, where it would be the maximum under another name.
            st.p999_us.map(|v| v.to_string()).unwrap_or_default(),
            r.max_us.to_string(),
        ];
        rec.extend(more);
        let opt = |v: Option<String>| v.unwrap_or_default();
        rec.push(opt(st.min_us.map(|v| v.to_string())));
        rec.push(opt(st.p95_us.map(|v| v.to_string())));
        rec.push(opt(st.stddev_us.map(|v| format!("{v:.1}"))));
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
        let back = Latency::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back.row(), r);
        // 1..=1000: the median's interval is about ±31 order statistics wide.
        let (lo, hi) = h.quantile_ci(0.5).unwrap();
        assert!(
            (465..=475).contains(&lo) && (525..=535).contains(&hi),
            "{lo} {hi}"
        );
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
        let text = h.hgrm_in(HgrmUnit::Us);
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
        let last_value_line = lines[lines.len() - 5];
        assert_eq!(last_value_line, "     400.000 1.000000000000          4");
        assert_eq!(
            lines[lines.len() - 4],
            "#[Mean    =      250.000, StdDeviation   =      111.803]"
        );
        assert_eq!(
            lines[lines.len() - 3],
            "#[Max     =      400.000, Total count    =            4]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Buckets =           22, SubBuckets     =         2048]"
        );
        assert_eq!(lines[lines.len() - 1], "#[Unit    =           us]");
        // The default: milliseconds.
        let ms = h.hgrm();
        assert!(
            ms.lines().nth(2).unwrap().starts_with("       0.100 "),
            "{ms}"
        );
        assert!(ms.ends_with("#[Unit    =           ms]\n"));
    }

    #[test]
    fn every_row_of_a_wide_hgrm_starts_with_white_space() {
        // The common hdr-plot regex reads a row only after leading white space.
        let mut h = Latency::new();
        h.record(Duration::from_secs(3000));
        h.record(Duration::from_micros(5));
        for unit in [HgrmUnit::Us, HgrmUnit::Ms] {
            let text = h.hgrm_in(unit);
            let rows: Vec<&str> = text
                .lines()
                .skip(2)
                .take_while(|l| !l.starts_with('#'))
                .collect();
            assert!(!rows.is_empty());
            assert!(rows.iter().all(|r| r.starts_with(' ')), "{text}");
        }
    }

    #[test]
    fn empty_histogram_is_well_formed() {
        let h = Latency::new();
        assert_eq!(h.row().count, 0);
        assert!(h.hgrm().contains("Total count    =            0]"));
    }
}
