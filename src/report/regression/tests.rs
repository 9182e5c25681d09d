//! Unit tests of the parent module.

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
