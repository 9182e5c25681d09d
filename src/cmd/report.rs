//! `reconsim report compare RUN_A RUN_B`: judge a run against a baseline;
//! `reconsim report identical RUN_A RUN_B`: the same results, timings aside.

use crate::cli::{EXIT_FINDING, EXIT_OK, ReportCompareArgs, ReportIdenticalArgs};
use crate::regression;
use crate::report::write_atomic;
use std::io::Write;

pub fn compare(args: ReportCompareArgs) -> anyhow::Result<i32> {
    let threshold = regression::parse_threshold(&args.threshold)?;
    let a = regression::read_run(&args.run_a)?;
    let b = regression::read_run(&args.run_b)?;
    let deltas = regression::compare(&a, &b, threshold, args.min_delta_us);
    let regressions = deltas.iter().filter(|d| d.regressed).count();
    if let Some(csv) = &args.csv {
        let bytes = regression::deltas_csv(&deltas)?;
        if csv.as_os_str() == "-" {
            // The CSV is the output: no table around it.
            std::io::stdout().lock().write_all(&bytes)?;
            return Ok(if regressions > 0 {
                EXIT_FINDING
            } else {
                EXIT_OK
            });
        }
        write_atomic(csv, &bytes)?;
    }
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "A = {}\nB = {}\nthreshold {:.1}%, minimum delta {} µs (convergence rows: virtual time)",
        args.run_a.display(),
        args.run_b.display(),
        threshold * 100.0,
        args.min_delta_us
    )?;
    o.write_all(regression::deltas_text(&deltas).as_bytes())?;
    if regressions > 0 {
        writeln!(o, "{regressions} metric(s) regressed past the threshold")?;
        Ok(EXIT_FINDING)
    } else {
        writeln!(o, "no regression past the threshold")?;
        Ok(EXIT_OK)
    }
}

pub fn identical(args: ReportIdenticalArgs) -> anyhow::Result<i32> {
    let diffs = crate::identity::differences(&args.run_a, &args.run_b)?;
    let mut o = std::io::stdout().lock();
    if diffs.is_empty() {
        writeln!(
            o,
            "identical, timings aside ({})",
            crate::identity::FILES.join(", ")
        )?;
        return Ok(EXIT_OK);
    }
    for d in &diffs {
        writeln!(o, "{d}")?;
    }
    Ok(EXIT_FINDING)
}
