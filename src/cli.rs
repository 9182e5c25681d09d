//! Command-line arguments (clap types stop here; `cmd` turns them into checked configs).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes (documented in README.md and docs/verdict.md): 0 ok, 1 finding, 2 error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDING: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// `--version`: the crate version and the git commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RECONSIM_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "reconsim",
    version = VERSION,
    about = "Fleet's Apple profile reconciler, rebuilt on SQLite"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the DDL of the spec §1 schema (every migration, in order).
    Schema(SchemaArgs),
    /// Generate a synthetic fleet from a scenario file into a new SQLite database.
    Generate(GenerateArgs),
    /// Print the fleet summary (rows per table, counts per feature) of any contract database.
    Inspect(InspectArgs),
    /// Run one path over a database and write its deltas as CSV.
    Diff(DiffArgs),
    /// Run both paths on one snapshot, compare them and explain every divergence.
    Compare(CompareArgs),
    /// Time the floor scan, the legacy diff and a batched pass, several runs, into a results folder.
    Measure(MeasureArgs),
    /// Cron ticks over virtual time with devices and churn, both paths, into a results folder:
    /// per-phase histograms, convergence latency, state equivalence, CSV/.hgrm/HTML reports.
    Loadtest(LoadtestArgs),
    /// Work on results folders (`report compare RUN_A RUN_B`).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Full-pass time of each path against fleet size (sweep.csv, sweep.svg, crossover).
    Sweep(SweepArgs),
    /// Run a bug scenario (spec §8) and say REPRODUCED (exit 0) or NOT REPRODUCED (exit 1).
    Repro(ReproArgs),
    /// Run batched ticks as Fleet's cron does, the cursor in a store that outlives the process
    /// (the database, or Redis as in Fleet); deltas are computed and counted, not written.
    Tick(TickArgs),
    /// Delta-debug a database showing a divergence down to a minimal repro (repro.sql,
    /// repro.db, repro.toml).
    Shrink(ShrinkArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ShrinkArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// The divergence class to keep (`unexplained`, `D1`, `D1+D4`, …).
    #[arg(long, default_value = "unexplained")]
    pub class: String,
    /// Directory for repro.sql, repro.db and repro.toml (created if missing); `--out-dir` is
    /// the older spelling.
    #[arg(long = "out", alias = "out-dir", default_value = "repro")]
    pub out_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ReproArgs {
    /// A catalog name (`b1` … `b6`, `b1-fixed` …) or a scenario file with an [expect] section.
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the catalog, one line each.
    #[arg(long)]
    pub list: bool,
    /// Run the batched ticks on a MySQL-compatible server: `mysql://USER:PASS@HOST:PORT/DB`
    /// (the scenario's fleet is loaded there first; a fleet reconsim loaded before is replaced
    /// only with --force). Default: SQLite in memory.
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<crate::backends::backend::Backend>,
    /// With --backend: replace a fleet reconsim loaded there before.
    #[arg(long, requires = "backend")]
    pub force: bool,
    /// Keep the cursor in Redis (`redis://HOST:PORT`, at --cursor-key, reset to "" first)
    /// instead of the database.
    #[arg(long, value_name = "URL")]
    pub cursor: Option<String>,
    /// The Redis key of the cursor (Fleet's own is `mdm:apple:recon_cursor`).
    #[arg(long, default_value = crate::paths::cursor::DEFAULT_REDIS_KEY, value_name = "KEY")]
    pub cursor_key: String,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The MySQL schema instead (Fleet's column types; what `generate --backend mysql://`
    /// creates), indexes last.
    #[arg(long)]
    pub mysql: bool,
}

#[derive(Debug, clap::Args)]
pub struct TickArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// Ticks to run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub ticks: u32,
    /// Where the cursor lives: `db` (table `reconsim_cursor` of the database; only in a
    /// database reconsim generated, it never writes into another), `file:PATH` (a file of its
    /// own) or `redis://HOST:PORT[/N]` (at --cursor-key, no TTL, as in Fleet).
    #[arg(long, default_value = "db", value_name = "db|file:PATH|URL")]
    pub cursor: String,
    /// The Redis key of the cursor. Fleet's own key, `mdm:apple:recon_cursor`, moves the
    /// cursor of a real Fleet cron sharing that Redis: give it only on purpose.
    #[arg(long, default_value = crate::paths::cursor::DEFAULT_REDIS_KEY, value_name = "KEY")]
    pub cursor_key: String,
    /// Set the cursor to "" before the first tick (a fresh pass).
    #[arg(long)]
    pub reset_cursor: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Judge a loadtest run (the last RUN) against baseline runs: p50 per path × phase by
    /// default, each metric only where the samples support it; exit 1 when one regressed.
    Compare(ReportCompareArgs),
    /// Whether two loadtest runs have the same results, timings aside (a resumed run and the
    /// uninterrupted one, two runs of one seed): exit 0 identical, 1 not, naming each file
    /// that differs and its first differing row.
    Identical(ReportIdenticalArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReportIdenticalArgs {
    pub run_a: PathBuf,
    pub run_b: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ReportCompareArgs {
    /// Run folders: one or more baselines (repeated runs of the same commit and seed, whose
    /// spread widens the allowance), then the run to judge, last.
    #[arg(required = true, num_args = 2.., value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// Largest accepted growth of a metric, as `10%` or `0.1`.
    #[arg(long, default_value = "10%")]
    pub threshold: String,
    /// Noise floor: growths up to this many µs never count as regressions.
    #[arg(long, default_value_t = 1000)]
    pub min_delta_us: u64,
    /// Percentiles to judge (p50, p90, p95, p99, p99.9), comma-separated or repeated; each
    /// only where every run has enough samples for it.
    #[arg(long = "metric", value_delimiter = ',', default_value = "p50")]
    pub metrics: Vec<String>,
    /// Also write the comparison as CSV to this file (`-`: stdout, instead of the table).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// The paths, legacy SQL form and seed of `loadtest` and `sweep`.
#[derive(Debug, clap::Args)]
pub struct PathRunArgs {
    /// Paths to run, comma-separated [default: the scenario's [[approaches]], else
    /// legacy,batched].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub paths: Vec<crate::harness::loadtest::PathKind>,
    /// An approach to run, with its knobs, in place of --paths (repeat it; a second of a kind
    /// is named `drain-2`; a first legacy path is the baseline the others' states are compared with):
    /// `legacy`, `batched[:enroll-path=on]`,
    /// `drain[:window=W,cap=C,budget=12s|windows:K,enroll-path=on]` (the drain knobs default
    /// to the scenario's [drain]).
    #[arg(
        long = "approach",
        value_name = "KIND[:KNOB=V,…]",
        conflicts_with = "paths"
    )]
    pub approaches: Vec<crate::harness::loadtest::approach::Approach>,
    /// Which legacy SQL runs.
    #[arg(long, value_enum, default_value_t = crate::paths::legacy::LegacySql::Tuned)]
    pub legacy_sql: crate::paths::legacy::LegacySql,
    /// Seed (overrides the scenario's run.seed).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl PathRunArgs {
    /// The paths, each once, legacy first (legacy and batched when none is given).
    pub fn paths(&self) -> Vec<crate::harness::loadtest::PathKind> {
        use crate::harness::loadtest::PathKind;
        let mut paths = self.paths.clone();
        if paths.is_empty() {
            paths = vec![PathKind::Legacy, PathKind::Batched];
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// The approaches to run: `--approach` as given, else `--paths`' paths with no knobs, else
    /// `scenario` (a scenario's `[[approaches]]`, when it has some), else legacy and batched.
    pub fn approaches_or(
        &self,
        scenario: Vec<crate::harness::loadtest::approach::Approach>,
    ) -> Vec<crate::harness::loadtest::approach::Approach> {
        if self.approaches.is_empty() && self.paths.is_empty() && !scenario.is_empty() {
            return scenario;
        }
        self.approaches()
    }

    /// The approaches to run: `--approach` as given, else `--paths`' paths with no knobs.
    pub fn approaches(&self) -> Vec<crate::harness::loadtest::approach::Approach> {
        if !self.approaches.is_empty() {
            return self.approaches.clone();
        }
        self.paths()
            .into_iter()
            .map(|kind| crate::harness::loadtest::approach::Approach {
                kind,
                knobs: Vec::new(),
            })
            .collect()
    }
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario TOML file (its host count is replaced by each size).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Fleet sizes (host rows before duplicates), comma-separated (with --vary: the scenario's
    /// count when absent).
    #[arg(long, value_delimiter = ',', required_unless_present = "vary", value_parser = clap::value_parser!(u64).range(1..))]
    pub hosts: Vec<u64>,
    #[command(flatten)]
    pub run: PathRunArgs,
    /// A knob sweep of the drain approach: `window=1000,2000`, `cap=500,2000,8000`,
    /// `budget=12s,windows:4` (repeat for each knob); one loadtest per combination and size.
    #[arg(long, value_name = "KNOB=V1,V2,…")]
    pub vary: Vec<String>,
    /// Knob sweep: measured ticks of each combination's loadtest.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub ticks: u32,
    /// Knob sweep: unrecorded ticks before the measured ones.
    #[arg(long, default_value_t = 2)]
    pub warmup_ticks: u32,
    /// Runs per size and path (medians are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// MiB of each fleet file SQLite may memory-map for reads, at most 2047 (SQLite's limit).
    /// 0 (plain reads) by default, so that the peak RSS column counts the process's own
    /// memory, not mapped file pages.
    #[arg(long, default_value_t = 0, value_parser = mmap_mib)]
    pub mmap_mib: u64,
    /// MiB of SQLite page cache for the connection the passes read through.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_mib: u64,
    /// Results folder [default: results/<UTC time>-sweep-<scenario>]; must be missing or
    /// empty unless --force
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write into an existing, non-empty --out folder, replacing its sweep.csv, sweep.svg and
    /// sweep.txt
    #[arg(long)]
    pub force: bool,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct LoadtestArgs {
    /// Scenario TOML file.
    #[arg(long, required_unless_present = "resume")]
    pub scenario: Option<PathBuf>,
    /// Continue a run that stopped (a crash, a kill) from its last checkpoint; the run folder's
    /// `state/` holds its databases and checkpoint. Other options are taken from the run.
    #[arg(long, value_name = "DIR", conflicts_with = "scenario")]
    pub resume: Option<PathBuf>,
    /// Reuse this generated database instead of generating the scenario's fleet.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Where the reconcilers read: `sqlite` (default: each path's own SQLite copy) or
    /// `mysql://USER:PASS@HOST:PORT/DB` (databases DB_legacy and DB_batched on the server,
    /// loaded with the run's fleet; writer, devices and churn write the SQLite copies, which are
    /// replicated to the server before every tick). Given twice, the loadtest runs once per
    /// backend on the same fleet, in `sqlite/` and `mysql/` under the run folder, and the
    /// folder's `report.html` and `backends.csv` put them side by side.
    #[arg(long, value_name = "BACKEND")]
    pub backend: Vec<crate::backends::backend::Backend>,
    /// Keep the batched path's cursor in Redis (`redis://HOST:PORT`, at --cursor-key, reset
    /// to "" when a run starts, kept across `--resume`) instead of the path's database.
    #[arg(long, value_name = "URL")]
    pub cursor: Option<String>,
    /// The Redis key of the cursor (Fleet's own is `mdm:apple:recon_cursor`).
    #[arg(long, default_value = crate::paths::cursor::DEFAULT_REDIS_KEY, value_name = "KEY")]
    pub cursor_key: String,
    /// Results folder [default: results/<UTC time>-<scenario>-<seed>]; must be missing or
    /// empty unless --force.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Empty an existing --out folder first (refused while another run holds it).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Ticks per path [default: one full batched pass plus two]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub ticks: Option<u32>,
    #[command(flatten)]
    pub run: PathRunArgs,
    /// The batched path's version (spec §8) [default: the scenario's `run.variant`, else merged].
    #[arg(long, value_enum)]
    pub variant: Option<crate::domain::variant::Variant>,
    /// Unrecorded ticks before the measured ones (reconciler, writer and devices; no churn),
    /// so that measurement starts from a converged fleet: one full batched pass converges a
    /// generated one.
    #[arg(long, default_value_t = 0)]
    pub warmup_ticks: u32,
    /// Write churn from a concurrent task while ticks run (WAL databases), measuring lock
    /// waits (`busy_retries`, `busy_wait`) and their effect on tick latency. Deltas then depend
    /// on thread timing: not reproducible tick by tick.
    #[arg(long)]
    pub concurrent_churn: bool,
    /// The harness's slower reference form: devices ask every pending and verifying row each
    /// tick, the convergence check reads every open sample, and churn evaluates every scoped
    /// profile before and after its events (by default devices answer from a command inbox
    /// filed by due tick, the check reads only the pairs written since the last, and a profile
    /// only edited is evaluated once). The same results either way; for checking the fast form.
    #[arg(long)]
    pub reference_harness: bool,
    /// A pass/fail check on the run's verdict, `METRIC OP VALUE` (repeatable; added to the
    /// scenario's `[thresholds] checks`), e.g. `batched.tick.p99 < 5s`, `convergence.p95 <
    /// 10m`, `open_share < 5%`, `failed_ticks == 0`, `equivalence != unexplained`. A failed
    /// check exits 1.
    #[arg(long = "threshold", value_name = "CHECK")]
    pub thresholds: Vec<String>,
    /// The unit of the `.hgrm` files' values (said in their last line).
    #[arg(long, default_value = "ms", value_name = "us|ms")]
    pub hgrm_unit: crate::support::histogram::HgrmUnit,
    /// No progress display and no summary on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// Number of runs (medians are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Results folder [default: results/<UTC time>-measure-<db name>]; `--out-dir` is the
    /// older spelling.
    #[arg(long = "out", alias = "out-dir")]
    pub out_dir: Option<PathBuf>,
    /// Time only these (comma-separated or repeated, e.g. `floor,batched`: a ratio of the two
    /// in one run without the legacy diff) [default: floor, legacy, batched; `reads` only when
    /// named]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<crate::harness::measure::What>,
}

/// The environment variable that names a backend when neither `--db` nor `--backend` does, so
/// a server URL with its password need not stand on the command line (or in shell history).
pub const BACKEND_ENV: &str = "RECONSIM_BACKEND";

/// The backend `RECONSIM_BACKEND` names; an error saying what is missing when it is unset.
pub fn env_backend() -> anyhow::Result<crate::backends::backend::Backend> {
    match std::env::var(BACKEND_ENV) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|e| anyhow::anyhow!("{BACKEND_ENV}: {e}")),
        _ => anyhow::bail!("--db PATH or --backend BACKEND is required (or set {BACKEND_ENV})"),
    }
}

/// Options shared by the commands that run the reconcilers.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Database file (any SQLite file that meets the spec §1 contract); the same as
    /// `--backend sqlite:PATH`. Without --db and --backend: the RECONSIM_BACKEND variable.
    #[arg(long, conflicts_with = "backend")]
    pub db: Option<PathBuf>,
    /// Where the fleet lives: `sqlite:PATH` or `mysql://USER:PASS@HOST:PORT/DB` (a database
    /// that `generate --backend` loaded, or any with the spec §1 tables). `measure` takes it
    /// more than once to time the same fleet on several backends in one run.
    #[arg(long, value_name = "BACKEND")]
    pub backend: Vec<crate::backends::backend::Backend>,
    /// Hosts per batched window [default: the scenario's, recorded in a database reconsim
    /// generated; else 5000, Fleet's]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,
    /// A switchable rule of spec §6, NAME=VALUE: d1=and|or, d2=drop|or, d3=exclude|ignore,
    /// d4=install|skip, d5=ignore|remove, d7=off|on. Repeatable; applied over the scenario's
    /// rules (recorded in a generated database) and after --align-with-legacy.
    #[arg(long = "rule", value_name = "NAME=VALUE")]
    pub rules: Vec<String>,
    /// Flip D1–D5 to legacy's behaviour.
    #[arg(long)]
    pub align_with_legacy: bool,
    /// The batched path's version (spec §8) [default: the scenario's, recorded in a database
    /// reconsim generated; else merged]. Its presets apply before --align-with-legacy and
    /// --rule.
    #[arg(long, value_enum)]
    pub variant: Option<crate::domain::variant::Variant>,
    /// Inject a deliberate bug into the batched path (oracle sensitivity; see docs/methodology.md).
    #[arg(long, value_enum, value_name = "NAME")]
    pub mutate: Option<crate::domain::mutants::Mutant>,
    /// `--variant drain`: host rows per window read (W; Fleet's 2,000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub window: u32,
    /// `--variant drain`: hosts with work delivered per tick at most (C; Fleet's 2,000; 0 =
    /// no cap).
    #[arg(long, default_value_t = 2000)]
    pub cap: u32,
    /// `--variant drain`: the scan budget per tick, wall clock as Fleet (`12s`, `500ms`) or
    /// deterministic (`windows:K`, at most K window reads).
    #[arg(long, default_value = "12s", value_name = "TIME|windows:K")]
    pub budget: crate::paths::drain::Budget,
    /// Which legacy SQL runs: Fleet's shape, or the same semantics tuned for SQLite.
    #[arg(long, value_enum, default_value_t = crate::paths::legacy::LegacySql::Tuned)]
    pub legacy_sql: crate::paths::legacy::LegacySql,
    /// MiB of the database file SQLite may memory-map for reads (0: plain reads; at most
    /// 2047, SQLite's limit). Mapped pages count in the process's RSS though they are the OS's
    /// file cache.
    #[arg(long, default_value_t = crate::support::sqlite::MAX_MMAP_MIB, value_parser = mmap_mib)]
    pub mmap_mib: u64,
    /// MiB of SQLite page cache for the snapshot connection [default: 256; `compare`: 64, as
    /// SQLite sizes the legacy diff's in-memory sorts from it (docs/methodology.md)].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_mib: Option<u64>,
    /// No progress display on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--cache-mib` when not given: the snapshot connection's page cache, MiB.
pub const CACHE_MIB: u64 = 256;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// Which path to run.
    #[arg(long, value_enum)]
    pub path: crate::harness::loadtest::PathKind,
    /// Output CSV file, or - for stdout.
    #[arg(long, default_value = "-")]
    pub out: String,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// Directory for divergences.csv and summary.txt (created if missing); `--out-dir` is the
    /// older spelling.
    #[arg(long = "out", alias = "out-dir", default_value = ".")]
    pub out_dir: PathBuf,
    /// Run everything on one connection, one step after another. By default a local SQLite
    /// file gets a second connection on the same snapshot: the value check, the batched pass
    /// and its liveness replay run beside the legacy diff, and half the divergences are
    /// classified on it (the output is the same; the phases' times then overlap).
    #[arg(long)]
    pub sequential: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Scenario TOML file.
    #[arg(long)]
    pub scenario: PathBuf,
    /// Database file to create (the same as `--backend sqlite:PATH`). Without --db and
    /// --backend: the RECONSIM_BACKEND variable.
    #[arg(long, conflicts_with = "backend")]
    pub db: Option<PathBuf>,
    /// Where to put the fleet: `sqlite:PATH`, or `mysql://USER:PASS@HOST:PORT/DB` (streamed
    /// into that database as it is made, the database created if missing; it must hold no
    /// spec §1 table, or a fleet reconsim loaded before, which is replaced with --force).
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<crate::backends::backend::Backend>,
    /// How a MySQL load sends rows: `infile` (LOAD DATA LOCAL INFILE, falling back to INSERTs
    /// when the server refuses it) or `insert` (multi-row INSERTs only).
    #[arg(long, value_enum, default_value_t = crate::backends::mysqldb::LoadMethod::Infile)]
    pub load_method: crate::backends::mysqldb::LoadMethod,
    /// Seed (overrides the scenario's run.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Host count (overrides the scenario's hosts.count).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub hosts: Option<u64>,
    /// Overwrite an existing database.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Database file (any SQLite file that meets the spec §1 contract); the same as
    /// `--backend sqlite:PATH`. Without --db and --backend: the RECONSIM_BACKEND variable.
    #[arg(long, conflicts_with = "backend")]
    pub db: Option<PathBuf>,
    /// The database to summarise: `sqlite:PATH`, or `mysql://USER:PASS@HOST:PORT/DB` (read
    /// only: the summary's queries run on the server).
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<crate::backends::backend::Backend>,
}

impl ReconcileArgs {
    /// `--cache-mib`, else `default` (`CACHE_MIB` for every command but `compare`).
    pub fn cache_mib_or(&self, default: u64) -> u64 {
        self.cache_mib.unwrap_or(default)
    }

    /// The drain loop's knobs (`--window`, `--cap`, `--budget`).
    pub fn drain_knobs(&self) -> crate::paths::drain::DrainKnobs {
        crate::paths::drain::DrainKnobs {
            window: self.window as usize,
            cap: (self.cap > 0).then_some(self.cap as usize),
            budget: self.budget,
        }
    }

    /// Every backend given: `--backend`s, else `--db` as an SQLite file.
    pub fn backends(&self) -> anyhow::Result<Vec<crate::backends::backend::Backend>> {
        Ok(match &self.db {
            Some(db) if self.backend.is_empty() => {
                vec![crate::backends::backend::Backend::Sqlite(db.clone())]
            }
            None if self.backend.is_empty() => vec![env_backend()?],
            _ => self.backend.clone(),
        })
    }

    /// The one backend of a command that takes one.
    pub fn one_backend(&self, command: &str) -> anyhow::Result<crate::backends::backend::Backend> {
        let all = self.backends()?;
        if let Some(b) = all
            .iter()
            .find(|b| matches!(b, crate::backends::backend::Backend::Sqlite(p) if p.as_os_str().is_empty()))
        {
            anyhow::bail!("--backend {b}: `{command}` needs the file: sqlite:PATH");
        }
        match all.as_slice() {
            [one] => Ok(one.clone()),
            _ => anyhow::bail!(
                "--backend: `{command}` takes one backend, got {} (only measure takes several)",
                all.len()
            ),
        }
    }

    /// The SQLite file, for commands that run on SQLite only.
    pub fn sqlite_db(&self, command: &str) -> anyhow::Result<PathBuf> {
        match self.one_backend(command)? {
            crate::backends::backend::Backend::Sqlite(p) => Ok(p),
            b => anyhow::bail!(
                "--backend {b}: `{command}` runs on SQLite only (use --db PATH); generate, diff, compare, measure, \
                 tick, repro and loadtest take a MySQL backend"
            ),
        }
    }
}

/// `clap::ValueEnum` for a library enum: the library knows nothing of clap, so the command line's
/// names and help for its enums are given here, one line a value.
macro_rules! value_enum {
    ($ty:ty { $($v:expr => $name:literal $(: $help:literal)?),* $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($v),*]
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                let all: &[($ty, clap::builder::PossibleValue)] = &[$((
                    $v,
                    clap::builder::PossibleValue::new($name)$(.help($help))?,
                )),*];
                all.iter().find(|(v, _)| v == self).map(|(_, p)| p.clone())
            }
        }
    };
}

value_enum!(crate::harness::loadtest::PathKind {
    crate::harness::loadtest::PathKind::Legacy => "legacy",
    crate::harness::loadtest::PathKind::Batched => "batched",
    crate::harness::loadtest::PathKind::Drain => "drain",
});

value_enum!(crate::harness::measure::What {
    crate::harness::measure::What::Floor => "floor",
    crate::harness::measure::What::Legacy => "legacy",
    crate::harness::measure::What::Batched => "batched",
    crate::harness::measure::What::Reads => "reads":
        "The batched pass's queries alone: same windows, values touched, nothing decoded or decided (SQLite; only when named)",
});

value_enum!(crate::paths::legacy::LegacySql {
    crate::paths::legacy::LegacySql::AsWritten => "as-written":
        "Fleet's shape, for fidelity (does not finish at 100k hosts)",
    crate::paths::legacy::LegacySql::Tuned => "tuned":
        "Same semantics, restructured so SQLite can run it at scale",
});

value_enum!(crate::backends::mysqldb::LoadMethod {
    crate::backends::mysqldb::LoadMethod::Infile => "infile":
        "LOAD DATA LOCAL INFILE, falling back to INSERTs if the server refuses it",
    crate::backends::mysqldb::LoadMethod::Insert => "insert": "Multi-row INSERTs only",
});

value_enum!(crate::domain::variant::Variant {
    crate::domain::variant::Variant::Seed => "seed": "The first draft: B1, B3, B4",
    crate::domain::variant::Variant::Merged => "merged":
        "The catalog selects lbl.created_at itself: B3, B4",
    crate::domain::variant::Variant::Dedupe => "dedupe":
        "Window ordered uuid, id DESC, de-duplicated by uuid: B3, B5",
    crate::domain::variant::Variant::Latest => "latest": "Every fix: none of B1–B6",
    crate::domain::variant::Variant::Drain => "drain":
        "Fleet's current design: latest in a drain loop (--window, --cap, --budget); B3",
});

value_enum!(crate::domain::mutants::Mutant {
    crate::domain::mutants::Mutant::WindowOffByOne => "window-off-by-one":
        "A full window's last host is not processed, though the cursor moves past it",
    crate::domain::mutants::Mutant::CursorGe => "cursor-ge":
        "The window lists uuid >= cursor instead of >",
    crate::domain::mutants::Mutant::NoBrokenCheck => "no-broken-check":
        "The broken-label check is gone",
    crate::domain::mutants::Mutant::TimingLe => "timing-le":
        "The timing rule uses <=: a host that reported exactly at the label's creation is not evaluated yet",
    crate::domain::mutants::Mutant::AnyAsAll => "any-as-all":
        "Include-any profiles are treated as include-all",
});

/// `--mmap-mib`: refused above what SQLite maps (it would cut a larger size silently).
fn mmap_mib(s: &str) -> Result<u64, String> {
    let max = crate::support::sqlite::MAX_MMAP_MIB;
    let n: u64 = s.parse().map_err(|e| format!("{e}"))?;
    if n > max {
        return Err(format!(
            "{n} MiB is more than SQLite maps ({max} MiB, its SQLITE_MAX_MMAP_SIZE)"
        ));
    }
    Ok(n)
}
