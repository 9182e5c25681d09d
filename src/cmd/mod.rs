//! One module per subcommand: thin `run` functions that check arguments and call the domain
//! modules. Each returns the process exit code or an error (exit 2).

pub mod compare;
pub mod diff;
pub mod generate;
pub mod inspect;
pub mod loadtest;
pub mod measure;
pub mod report;
pub mod repro;
pub mod shrink;
pub mod sweep;
pub mod tick;

use crate::cli::{Cli, Command, EXIT_OK};

/// Runs the parsed command line; the error chain is printed by `main` with exit code 2.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Schema(args) => {
            use std::io::Write;
            let ddl = if args.mysql {
                crate::backends::mysqldb::ddl()
            } else {
                crate::store::schema::ddl()
            };
            write!(std::io::stdout().lock(), "{ddl}")?;
            Ok(EXIT_OK)
        }
        Command::Generate(args) => generate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Measure(args) => measure::run(args),
        Command::Loadtest(args) => loadtest::run(args),
        Command::Report(crate::cli::ReportCommand::Compare(args)) => report::compare(args),
        Command::Report(crate::cli::ReportCommand::Identical(args)) => report::identical(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Repro(args) => repro::run(args),
        Command::Shrink(args) => shrink::run(args),
        Command::Tick(args) => tick::run(args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut cmd = crate::cli::Cli::command();
            // Into memory first: the generator panics on a closed pipe, write_all returns it.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "reconsim", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(EXIT_OK)
        }
    }
}

/// The checked batched configuration of the reconcile options. The batch size and the rules
/// default to the scenario's, recorded in a generated database (`reconsim_meta`), else to
/// Fleet's 5,000 and the shipped rules; `--align-with-legacy` then `--rule` apply on top.
/// `drain` runs in `diff`, `compare` and `tick`; the other commands refuse it in one line
/// until they run the drain loop (issue 14).
pub fn refuse_drain(variant: crate::domain::variant::Variant, command: &str) -> anyhow::Result<()> {
    if variant.drains() {
        anyhow::bail!(
            "variant drain: `{command}` does not run the drain loop yet (diff, compare and tick do)"
        );
    }
    Ok(())
}

pub fn batched_config(
    args: &crate::cli::ReconcileArgs,
    conn: &rusqlite::Connection,
) -> anyhow::Result<crate::paths::batched::BatchedConfig> {
    // Base: the scenario's rules recorded in a generated database, else the defaults.
    let mut rules = match crate::store::meta::get(conn, "rules") {
        Some(text) => text
            .parse::<crate::domain::rules::Rules>()
            .map_err(|e| anyhow::anyhow!("reconsim_meta key `rules`: {e}"))?,
        None => crate::domain::rules::Rules::default(),
    };
    let variant = match args.variant {
        Some(v) => v,
        None => match crate::store::meta::get(conn, "variant") {
            Some(text) => text
                .parse()
                .map_err(|e| anyhow::anyhow!("reconsim_meta key `variant`: {e}"))?,
            None => crate::domain::variant::Variant::default(),
        },
    };
    variant.preset(&mut rules);
    if args.align_with_legacy {
        rules = rules.aligned_with_legacy();
    }
    for r in &args.rules {
        rules.apply(r).map_err(anyhow::Error::msg)?;
    }
    rules.mutant = args.mutate;
    Ok(crate::paths::batched::BatchedConfig {
        batch_size: args
            .batch_size
            .map(|b| b as usize)
            .or_else(|| crate::store::meta::get(conn, "batch_size").and_then(|b| b.parse().ok()))
            .filter(|b| *b > 0)
            .unwrap_or(5000),
        rules,
        variant,
    })
}

/// A spinner with a message on stderr for long work (hidden when stderr is not a terminal, or
/// with `--quiet`).
pub fn spinner(quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A progress bar of `len` steps with a message on stderr (hidden with `--quiet`).
pub fn bar(quiet: bool, len: u64) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            // `wide_msg` takes what the terminal has left and cuts the rest: one line at 80
            // columns.
            "[{elapsed_precise}] {bar:20} {pos}/{len} eta {eta} {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A scenario file's name without its extension, for results folder names.
pub fn scenario_name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into())
}

/// `--out` when given, else `results/<UTC time>-<suffix>`; created, and named on failure.
pub fn results_dir(
    out: Option<&std::path::Path>,
    suffix: &str,
    force: bool,
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    if let Some(dir) = out
        && !force
        && std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some())
    {
        anyhow::bail!(
            "--out {}: exists and is not empty (give --force to write into it, replacing the \
             files of the same names)",
            dir.display()
        );
    }
    let dir = out.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
        format!(
            "results/{}-{suffix}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        )
        .into()
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("--out {}", dir.display()))?;
    Ok(dir)
}

/// The snapshot of a reconcile command's one backend (`--db` or `--backend`). On a server,
/// `copy` copies the contract tables into memory (the classifier and the liveness monitor read
/// them); without it, only `reconsim_meta`.
pub fn open_snapshot(
    common: &crate::cli::ReconcileArgs,
    command: &str,
    copy: bool,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<crate::backends::snapshot::Snapshot> {
    Ok(crate::backends::snapshot::Snapshot::open_backend(
        &common.one_backend(command)?,
        common.mmap_mib,
        common.cache_mib_or(crate::cli::CACHE_MIB),
        copy,
        progress,
    )?)
}

/// The library's progress, shown on an indicatif bar.
impl crate::support::progress::Progress for indicatif::ProgressBar {
    fn set_length(&self, total: u64) {
        indicatif::ProgressBar::set_length(self, total)
    }
    fn set_position(&self, done: u64) {
        indicatif::ProgressBar::set_position(self, done)
    }
    fn inc(&self, delta: u64) {
        indicatif::ProgressBar::inc(self, delta)
    }
    fn set_message(&self, message: String) {
        indicatif::ProgressBar::set_message(self, message)
    }
}
