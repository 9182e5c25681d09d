//! Repeated timing of the three things worth comparing on one snapshot: the floor (one plain
//! scan of every row the batched pass must read), the legacy diff, and a full batched pass;
//! and, when asked, a fourth: the batched pass's queries alone (`reads`, SQLite only).
//! Results are evidence: every run's phases go to `runs.csv`, medians and in-run ratios to
//! `summary.txt` (ratios are taken inside each run, then their median, since this machine is
//! shared and noisy).

use crate::backends::store::Store;
use crate::domain::clock::Clock;
use crate::harness::error::Result;
use crate::paths::batched::{BatchedConfig, TickReport, full_pass_with_clock};
use crate::paths::drain::{self, DrainKnobs};
use crate::paths::legacy::LegacySql;
use crate::support::histogram::Latency;
use std::collections::BTreeMap;
use std::time::Duration;

/// What to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Floor,
    Legacy,
    Batched,
    /// The batched pass's queries alone (`batched::read_pass`): timed only when asked.
    Reads,
}

/// Whether a run given `only` times `w`: every one named, or with none named all but `reads`.
pub fn wanted(only: &[What], w: What) -> bool {
    only.contains(&w) || (only.is_empty() && w != What::Reads)
}

/// One measured run: (what, phase, duration) rows.
pub type Run = Vec<(String, String, Duration)>;

/// Latency histograms per (what, phase), over all runs: one sample per run for the floor and
/// the legacy phases, one sample per tick for the batched phases (`tick` = a whole tick).
pub type Histograms = BTreeMap<(String, String), Latency>;

fn record(h: &mut Histograms, what: &str, phase: &str, d: Duration) {
    h.entry((what.to_string(), phase.to_string()))
        .or_default()
        .record(d);
}

/// Times floor, legacy and batched once each (or only `only`) on a backend, the `what` names
/// prefixed (`""`, or `mysql.` when several backends are compared). The batched pass keeps no deltas, only per-phase times.
/// What `run_once` times: the legacy form, the batched configuration (and the drain knobs
/// under `drain`), and `only` those of the three when any are given.
#[derive(Debug, Clone, Copy)]
pub struct Measured<'a> {
    pub form: LegacySql,
    pub cfg: &'a BatchedConfig,
    pub knobs: &'a DrainKnobs,
    pub only: &'a [What],
}

pub fn run_once(
    store: &dyn Store,
    prefix: &str,
    what: &Measured<'_>,
    hist: &mut Histograms,
    clock: &dyn Clock,
) -> Result<Run> {
    let Measured {
        form,
        cfg,
        knobs,
        only,
    } = *what;
    let wants = |w: What| wanted(only, w);
    let (floor_w, legacy_w, batched_w, reads_w) = (
        format!("{}floor", prefix),
        format!("{}legacy", prefix),
        format!("{}batched", prefix),
        format!("{}reads", prefix),
    );
    let mut out: Run = Vec::new();
    if wants(What::Floor) {
        let t = clock.now();
        store.floor()?;
        out.push((floor_w.clone(), "total".into(), clock.since(t)));
        record(hist, &floor_w, "total", clock.since(t));
    }
    if wants(What::Legacy) {
        let t = clock.now();
        let l = store.legacy(form, clock)?;
        let legacy_total = clock.since(t);
        for (phase, d) in &l.timings {
            out.push((legacy_w.clone(), phase.to_string(), *d));
            record(hist, &legacy_w, phase, *d);
        }
        out.push((legacy_w.clone(), "total".into(), legacy_total));
        record(hist, &legacy_w, "total", legacy_total);
    }
    if wants(What::Batched) {
        let t = clock.now();
        let mut phases: Vec<(&'static str, Duration)> = Vec::new();
        let mut slowest = Duration::ZERO;
        let mut on_tick = |tick: &TickReport| {
            let whole: Duration = tick.timings.iter().map(|x| x.1).sum();
            slowest = slowest.max(whole);
            record(hist, &batched_w, "tick", whole);
            for &(name, d) in &tick.timings {
                record(hist, &batched_w, name, d);
                match phases.iter_mut().find(|(n, _)| *n == name) {
                    Some(x) => x.1 += d,
                    None => phases.push((name, d)),
                }
            }
        };
        // Under drain, a pass of drain ticks (no writer), each tick's phases summed over its
        // windows.
        if cfg.variant.drains() {
            // Each tick is dropped as it ends, as the batched pass drops its reports: the pass
            // does not keep a fleet's deltas in memory (that made the drain pass larger than
            // the batched one, by the harness's doing).
            drain::full_pass_each(store.source(), cfg, knobs, clock, |r| on_tick(&r.tick))?;
        } else {
            full_pass_with_clock(store.source(), cfg, clock, |tick| on_tick(&tick))?;
        }
        let batched_total = clock.since(t);
        for (phase, d) in phases {
            out.push((batched_w.clone(), phase.to_string(), d));
        }
        out.push((batched_w.clone(), "per_tick_max".into(), slowest));
        out.push((batched_w, "total".into(), batched_total));
    }
    if wants(What::Reads) {
        // The windows the batched pass (or the drain pass) reads.
        let window = if cfg.variant.drains() {
            knobs.window
        } else {
            cfg.batch_size
        };
        let t = clock.now();
        let r = store.reads(cfg, window, clock)?;
        let reads_total = clock.since(t);
        for (phase, d) in r.timings {
            out.push((reads_w.clone(), phase.to_string(), d));
        }
        out.push((reads_w.clone(), "total".into(), reads_total));
        record(hist, &reads_w, "total", reads_total);
    }
    Ok(out)
}

/// `summary.csv`: what,phase,count,mean_us,p50_us,p90_us,p99_us,p999_us,max_us.
pub fn summary_csv(hist: &Histograms) -> csv::Result<Vec<u8>> {
    crate::support::histogram::summary_csv(
        "what",
        hist.iter().map(|((w, p), h)| (w.as_str(), p.as_str(), h)),
    )
}

/// The median of some durations (upper median for even counts).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// `runs.csv`: run,what,phase,duration_ms.
pub fn runs_csv(runs: &[Run]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["run", "what", "phase", "duration_ms"])?;
    for (i, run) in runs.iter().enumerate() {
        for (what, phase, d) in run {
            w.write_record([
                (i + 1).to_string(),
                what.to_string(),
                phase.clone(),
                format!("{:.3}", d.as_secs_f64() * 1e3),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

fn total(run: &Run, what: &str) -> Duration {
    run.iter()
        .find(|(w, p, _)| w == what && p == "total")
        .map(|x| x.2)
        .unwrap_or_default()
}

/// Medians per (what, phase), then the in-run ratios' medians.
pub fn summary(runs: &[Run]) -> String {
    let mut keys: Vec<(&str, String)> = Vec::new();
    for run in runs {
        for (w, p, _) in run {
            if !keys.iter().any(|(a, b)| a == w && b == p) {
                keys.push((w.as_str(), p.clone()));
            }
        }
    }
    let mut s = String::from("median over runs (ms):\n");
    for (w, p) in &keys {
        let v: Vec<Duration> = runs
            .iter()
            .filter_map(|r| r.iter().find(|(a, b, _)| a == w && b == p).map(|x| x.2))
            .collect();
        s.push_str(&format!(
            "  {w:<8} {p:<14} {:>12.1}\n",
            median(v).as_secs_f64() * 1e3
        ));
    }
    let ratio = |a: &str, b: &str| {
        let mut v: Vec<f64> = runs
            .iter()
            .map(|r| total(r, a).as_secs_f64() / total(r, b).as_secs_f64().max(1e-9))
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let has = |w: &str| runs.iter().all(|r| total(r, w) > Duration::ZERO);
    let mut ratios = Vec::new();
    // Per backend prefix ("" alone, or "sqlite." and "mysql."), then across backends.
    let mut prefixes: Vec<&str> = keys
        .iter()
        .map(|(w, _)| w.rsplit_once('.').map_or("", |(p, _)| &w[..p.len() + 1]))
        .collect();
    prefixes.dedup();
    for pre in &prefixes {
        for (a, b) in [
            ("legacy", "batched"),
            ("batched", "floor"),
            ("legacy", "floor"),
            ("reads", "floor"),
            ("batched", "reads"),
        ] {
            let (a, b) = (format!("{pre}{a}"), format!("{pre}{b}"));
            if has(&a) && has(&b) {
                ratios.push(format!("{a}/{b} {:.2}", ratio(&a, &b)));
            }
        }
    }
    for (i, x) in prefixes.iter().enumerate() {
        for y in &prefixes[i + 1..] {
            for what in ["floor", "legacy", "batched"] {
                let (a, b) = (format!("{y}{what}"), format!("{x}{what}"));
                if has(&a) && has(&b) {
                    ratios.push(format!("{a}/{b} {:.2}", ratio(&a, &b)));
                }
            }
        }
    }
    if !ratios.is_empty() {
        s.push_str(&format!("median in-run ratios: {}\n", ratios.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn medians_and_in_run_ratios_are_exact() {
        let run = |f, l, b| -> Run {
            vec![
                ("floor".into(), "total".into(), ms(f)),
                ("legacy".into(), "total".into(), ms(l)),
                ("batched".into(), "total".into(), ms(b)),
            ]
        };
        let runs = vec![run(10, 100, 20), run(30, 300, 20), run(10, 50, 50)];
        let s = summary(&runs);
        assert!(
            s.contains("  floor    total                  10.0\n"),
            "{s}"
        );
        assert!(
            s.contains("  legacy   total                 100.0\n"),
            "{s}"
        );
        // In-run legacy/batched: 5, 15, 1 -> median 5 (not 100/20 of the medians... same here).
        assert!(
            s.contains("legacy/batched 5.00, batched/floor 2.00, legacy/floor 10.00"),
            "{s}"
        );
        let csv = String::from_utf8(runs_csv(&runs[..1]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "run,what,phase,duration_ms\n1,floor,total,10.000\n1,legacy,total,100.000\n1,batched,total,20.000\n"
        );
    }

    #[test]
    fn run_once_times_every_phase_through_the_clock() {
        let conn = crate::paths::batched::tests::quick_fleet();
        let cfg = BatchedConfig {
            batch_size: 1000,
            rules: crate::domain::rules::Rules::default(),
            variant: Default::default(),
        };
        let clock = crate::domain::clock::FakeClock::stepping(ms(1));
        let mut hist = Histograms::new();
        let knobs = DrainKnobs::default();
        let what = Measured {
            form: LegacySql::Tuned,
            cfg: &cfg,
            knobs: &knobs,
            only: &[],
        };
        let run = run_once(&conn, "", &what, &mut hist, &clock).unwrap();
        let get = |w: &str, p: &str| run.iter().find(|x| x.0 == w && x.1 == p).unwrap().2;
        assert_eq!(get("floor", "total"), ms(1));
        // Legacy: three phases of 1 ms each, read between the outer two readings: 7 ms.
        assert_eq!(get("legacy", "install"), ms(1));
        assert_eq!(get("legacy", "total"), ms(7));
        // Batched: ceil(eligible / 1,000) ticks (not a multiple here), 7 phases of 1 ms each.
        let eligible = crate::paths::batched::tests::eligible_host_rows(&conn);
        assert_ne!(eligible % 1000, 0);
        let n = eligible.div_ceil(1000);
        assert_eq!(get("batched", "window"), ms(n));
        assert_eq!(get("batched", "per_tick_max"), ms(7));
        let ticks = &hist[&("batched".to_string(), "tick".to_string())];
        assert_eq!(ticks.row().count, n);
        // HdrHistogram reports the highest value equivalent to 7,000 µs at 3 digits.
        assert!(
            (7000..=7007).contains(&ticks.row().max_us),
            "{}",
            ticks.row().max_us
        );
    }

    #[test]
    fn floor_reads_every_row_of_the_three_tables() {
        let conn = crate::paths::batched::tests::quick_fleet();
        let want: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM hosts) + (SELECT count(*) FROM label_membership)
                      + (SELECT count(*) FROM host_mdm_apple_profiles)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(conn.floor().unwrap() as i64, want);
    }
}
