//! `reconsim report compare RUN_A RUN_B`: judge a run against a baseline;
//! `reconsim report identical RUN_A RUN_B`: the same results, timings aside.

use crate::cli::{EXIT_FINDING, EXIT_OK, ReportCompareArgs, ReportIdenticalArgs};
use crate::report::csv::write_atomic;
use crate::report::regression;
use std::io::Write;

pub fn compare(args: ReportCompareArgs) -> anyhow::Result<i32> {
    let threshold = regression::parse_threshold(&args.threshold)?;
    let mut metrics = args
        .metrics
        .iter()
        .map(|m| m.parse::<regression::Pct>())
        .collect::<Result<Vec<_>, _>>()?;
    metrics.sort_unstable();
    metrics.dedup();
    let (judged, baselines) = args.runs.split_last().expect("clap: at least two runs");
    let a = baselines
        .iter()
        .map(|d| regression::read_run(d))
        .collect::<Result<Vec<_>, _>>()?;
    let b = regression::read_run(judged)?;
    let rules = regression::Rules {
        threshold,
        min_delta_us: args.min_delta_us,
        metrics,
    };
    let deltas = regression::compare(&a, &b, &rules);
    let regressions = deltas.iter().filter(|d| d.regressed()).count();
    let judged_n = deltas.iter().filter(|d| d.judgement.judged()).count();
    let code = if regressions > 0 {
        EXIT_FINDING
    } else {
        EXIT_OK
    };
    if let Some(csv) = &args.csv {
        let bytes = regression::deltas_csv(&deltas)?;
        if csv.as_os_str() == "-" {
            // The CSV is the output: no table around it.
            std::io::stdout().lock().write_all(&bytes)?;
            return Ok(code);
        }
        write_atomic(csv, &bytes)?;
    }
    let mut o = std::io::stdout().lock();
    for (i, d) in baselines.iter().enumerate() {
        writeln!(o, "A{} = {}", i + 1, d.display())?;
    }
    writeln!(o, "B  = {}", judged.display())?;
    writeln!(
        o,
        "A: median of {} baseline run(s). B regresses where it exceeds A by more than\n\
         {:.0} %, {} and the baselines' spread, and its 95 % interval lies above A's.\n\
         convergence in virtual time; the maximum is never judged (one sample)",
        baselines.len(),
        threshold * 100.0,
        crate::support::units::human_us(args.min_delta_us as f64),
    )?;
    o.write_all(regression::deltas_text(&deltas).as_bytes())?;
    if regressions > 0 {
        writeln!(
            o,
            "{regressions} of {judged_n} judged metric(s) regressed past the allowance"
        )?;
    } else {
        writeln!(o, "no regression: {judged_n} metric(s) judged")?;
    }
    Ok(code)
}

pub fn identical(args: ReportIdenticalArgs) -> anyhow::Result<i32> {
    let diffs = crate::report::identity::differences(&args.run_a, &args.run_b)?;
    let mut o = std::io::stdout().lock();
    if diffs.is_empty() {
        writeln!(
            o,
            "identical, timings aside ({})",
            crate::report::identity::FILES.join(", ")
        )?;
        return Ok(EXIT_OK);
    }
    for d in &diffs {
        writeln!(o, "{d}")?;
    }
    Ok(EXIT_FINDING)
}
