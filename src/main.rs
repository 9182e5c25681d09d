//! Thin binary: parse, run the library, print the error chain, map to an exit code
//! (0 ok, 1 finding, 2 error).

use clap::Parser;
use reconsim::cli::{Cli, EXIT_ERROR};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version: print, exit 0
        Err(e) => {
            // One line, like every other error: clap's first line names the argument at fault.
            // Lines up to the first blank one (a list of missing arguments), joined.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see --help)", first.join(" "));
            std::process::exit(EXIT_ERROR);
        }
    };
    let code = match reconsim::cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed stdout pipe (`reconsim ... | head`) is not an error worth a message.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                0
            } else {
                eprintln!("error: {err:#}");
                EXIT_ERROR
            }
        }
    };
    std::process::exit(code);
}
