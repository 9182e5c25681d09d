//! Thin binary: parse, run the library, print the error chain, map to an exit code
//! (0 ok, 1 finding, 2 error).

use clap::Parser;
use reconsim::cli::{Cli, EXIT_ERROR};

fn main() {
    // Before anything opens SQLite: SQLite refuses it once initialised (the debug build, which
    // the integration tests run, says so if that ever changes).
    let skipped = reconsim::support::sqlite::skip_memory_statistics();
    debug_assert!(skipped, "SQLite was initialised before main set it up");
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
    stop_cleanly_on_signals();
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
                eprintln!("error: {}", one_line(&err));
                EXIT_ERROR
            }
        }
    };
    std::process::exit(code);
}

/// The error and its causes on one line, each cause once: a cause whose text the line already
/// holds (a message that quotes its source) is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    line
}

/// SIGINT and SIGTERM: remove this process's temp files and exit with 128 + the signal (130,
/// 143). Everything else the tool writes is safe to stop at any instant: result files appear
/// whole or not at all, and a loadtest's databases hold only committed steps, so the run goes
/// on with `loadtest --resume`.
fn stop_cleanly_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            reconsim::support::files::remove_registered();
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!("reconsim: stopped by {name}; temp files removed");
            std::process::exit(128 + sig);
        }
    });
}
