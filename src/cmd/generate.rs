//! `reconsim generate`: scenario + seed → a new database file (or a MySQL database), then the
//! summary.

use crate::backends::backend::Backend;
use crate::cli::{EXIT_OK, GenerateArgs};
use crate::fleet::generator::{self, GenerateOptions};
use crate::fleet::scenario::Scenario;
use crate::fleet::summary::Summary;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

fn bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:20} {pos}/{len} rows {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let scenario = Scenario::load(&args.scenario)?;
    let opts = GenerateOptions {
        seed: args.seed,
        hosts: args.hosts,
        force: args.force,
    };
    let scenario = generator::effective_scenario(&scenario, &opts);
    let backend = match (&args.backend, &args.db) {
        (Some(b), _) => b.clone(),
        (None, Some(db)) => Backend::Sqlite(db.clone()),
        (None, None) => crate::cli::env_backend()?,
    };
    let mut out = std::io::stdout().lock();
    let progress = bar(args.quiet);
    match &backend {
        Backend::Sqlite(db) => {
            let stats = generator::generate_file(db, &scenario, opts.force, &progress)?;
            if args.quiet {
                progress.finish_and_clear();
                return Ok(EXIT_OK);
            }
            // One scan of every table: seconds at 100k hosts, about a minute at a million.
            progress.set_message("summarising the fleet (one scan of every table)");
            let conn = crate::store::schema::open_contract_db(db)?;
            let summary = Summary::collect(&conn).context("summarising the new database")?;
            progress.finish_and_clear();
            let secs = stats.total_time().as_secs_f64();
            writeln!(
                out,
                "generated {} (scenario {}, seed {}, {} hosts): {} rows in {:.2} s ({:.0} rows/s; \
                 build {:.2} s, insert {:.2} s, index {:.2} s, analyze {:.2} s)",
                db.display(),
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
        }
        Backend::Mysql(url) => {
            // Connect first: a bad URL or server fails before any generation work. The
            // database is created when missing, as generate creates an SQLite file.
            let name = url
                .rsplit_once('/')
                .map(|(_, d)| d.split('?').next().unwrap_or(d).to_string())
                .unwrap_or_default();
            if !name.is_empty() {
                crate::backends::mysqldb::MyDb::create_database(url, &name)?;
            }
            let my = crate::backends::mysqldb::MyDb::connect(url)?;
            my.refuse_existing_fleet(args.force)?;
            let (gen_stats, load) =
                generator::generate_to_server(&my, &scenario, args.load_method, &progress)?;
            if args.quiet {
                progress.finish_and_clear();
                return Ok(EXIT_OK);
            }
            // Counted on the server: one scan of every table.
            progress.set_message("summarising the fleet (one scan of every table)");
            let summary = Summary::collect_server(&my).context("summarising the fleet")?;
            progress.finish_and_clear();
            let rows = gen_stats.total_rows();
            let secs = (gen_stats.build + gen_stats.insert).as_secs_f64();
            writeln!(
                out,
                "generated {} (scenario {}, seed {}, {} hosts; {}): {} rows streamed as they were \
                 made in {:.2} s ({:.0} rows/s by {}; build {:.2} s), indexes + ANALYZE {:.2} s",
                backend,
                args.scenario.display(),
                gen_stats.seed,
                scenario.hosts.count,
                my.version,
                rows,
                secs,
                rows as f64 / secs.max(1e-9),
                load.method,
                gen_stats.build.as_secs_f64(),
                load.index.as_secs_f64(),
            )?;
            write!(out, "{}", summary.render())?;
        }
    }
    Ok(EXIT_OK)
}
