//! precheck: git hooks and pre-commit checks, run concurrently under a memory
//! cap. `main` parses the command line, calls the app, and turns the result
//! into an exit status (see `exit`); errors print their whole chain.

/// Writes a line to stderr, ignoring a closed or failing stream: what
/// precheck can print never decides a verdict or stops a run.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Writes a line to stdout, ignoring a closed or failing stream.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cli;
mod commands;
mod config;
mod env;
mod exec;
mod exit;
mod fault;
mod fsutil;
mod outcome;
mod pipeline;
mod plan;
mod report;
mod shard;
mod store;
mod sys;
mod units;
mod worktree;

use std::io::Write;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // NO_COLOR wins over CLICOLOR_FORCE (console already honours both alone).
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let cli = cli::Cli::parse();
    let exit = match commands::dispatch(cli) {
        Ok(exit) => exit,
        Err(err) => {
            // A closed pipe (`precheck list | head`) is not an error.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                exit::Exit::Passed
            } else {
                let _ = std::io::stdout().flush();
                eprintln!("{} {err:#}", console::style("error:").red().bold());
                exit::Exit::Usage
            }
        }
    };
    exit.into()
}
