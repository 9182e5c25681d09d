//! One module per subcommand: thin `run` functions that check arguments and call the domain
//! modules. Each returns the process exit code or an error (exit 2).

pub mod generate;
pub mod inspect;

use crate::cli::{Cli, Command, EXIT_OK};

/// Runs the parsed command line; the error chain is printed by `main` with exit code 2.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Schema => {
            use std::io::Write;
            write!(std::io::stdout().lock(), "{}", crate::schema::ddl())?;
            Ok(EXIT_OK)
        }
        Command::Generate(args) => generate::run(args),
        Command::Inspect(args) => inspect::run(args),
    }
}
