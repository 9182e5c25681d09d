//! `reconsim generate`: scenario + seed → a new database file, then the summary.

use crate::cli::{EXIT_OK, GenerateArgs};
use crate::generator::{self, GenerateOptions};
use crate::scenario::Scenario;
use crate::summary::Summary;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let scenario = Scenario::load(&args.scenario)?;
    let opts = GenerateOptions {
        seed: args.seed,
        hosts: args.hosts,
        force: args.force,
    };
    let scenario = generator::effective_scenario(&scenario, &opts);
    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rows {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let stats = generator::generate_file(&args.db, &scenario, opts.force, &progress)?;
    progress.finish_and_clear();
    if args.quiet {
        return Ok(EXIT_OK);
    }
    let conn = crate::schema::open_contract_db(&args.db)?;
    let summary = Summary::collect(&conn).context("summarising the new database")?;
    let secs = stats.total_time().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "generated {} (scenario {}, seed {}, {} hosts): {} rows in {:.2} s ({:.0} rows/s; \
         build {:.2} s, insert {:.2} s, index {:.2} s, analyze {:.2} s)",
        args.db.display(),
        args.scenario.display(),
        stats.seed,
        scenario.hosts.count,
        stats.total_rows(),
        secs,
        stats.total_rows() as f64 / secs.max(1e-9),
        stats.build.as_secs_f64(),
        stats.insert.as_secs_f64(),
        stats.index.as_secs_f64(),
        stats.analyze.as_secs_f64(),
    )?;
    write!(out, "{}", summary.render())?;
    Ok(EXIT_OK)
}
