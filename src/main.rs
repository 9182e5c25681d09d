//! Thin binary: parse, run the library, print the error chain, map to an exit code
//! (0 ok, 1 finding, 2 error).

use clap::Parser;
use reconsim::cli::{Cli, EXIT_ERROR};

fn main() {
    let cli = Cli::parse();
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
