//! Command-line arguments (clap types stop here; `cmd` turns them into checked configs).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes (documented in the README): 0 ok, 1 finding, 2 error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDING: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "reconsim",
    version,
    about = "Fleet's Apple profile reconciler, rebuilt on SQLite"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the DDL of the spec §1 schema (every migration, in order).
    Schema,
    /// Generate a synthetic fleet from a scenario file into a new SQLite database.
    Generate(GenerateArgs),
    /// Print the fleet summary (rows per table, counts per feature) of any contract database.
    Inspect(InspectArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Scenario TOML file.
    #[arg(long)]
    pub scenario: PathBuf,
    /// Database file to create.
    #[arg(long)]
    pub db: PathBuf,
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
    /// Database file (any SQLite file that meets the spec §1 contract).
    #[arg(long)]
    pub db: PathBuf,
}
