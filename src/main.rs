//! precheck: git hooks and pre-commit checks, run concurrently under a memory
//! cap. `main` parses the command line, dispatches the command, and turns
//! its verdict into the process's exit status (see `exit`); errors print
//! their whole chain.
//!
//! Boundaries the compiler holds: only the report writes to the terminal
//! (std's print macros are denied; `clippy.toml` disallows taking stdout or
//! stderr outside `report`), and every `unsafe` block says why it is sound.

#![deny(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::undocumented_unsafe_blocks
)]

mod builtins;
mod cli;
mod commands;
mod config;
mod env;
mod exec;
mod exit;
mod fault;
mod fsutil;
mod identify;
mod outcome;
mod parallel;
mod pipeline;
mod plan;
mod reads;
mod report;
mod shard;
mod store;
mod sys;
mod units;
mod worktree;

use std::io::Write;

use clap::Parser;

/// What git starts through an installed shim, `precheck shim PATH ARGS…`
/// (the shim's `#!` line): a fixed shape, read without building clap's
/// whole command tree (a fifth of a millisecond of every hook). Anything
/// else, or a shape clap would read differently, goes to clap.
fn shim_command() -> Option<cli::Cli> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "shim" {
        return None;
    }
    let path = args
        .next()
        .filter(|p| !p.as_encoded_bytes().starts_with(b"-"))?;
    let args = args
        .map(|a| a.into_string().ok())
        .collect::<Option<Vec<_>>>()?;
    Some(cli::Cli {
        config: None,
        quiet: false,
        verbose: false,
        command: cli::Command::Shim(cli::ShimArgs {
            path: path.into(),
            args,
        }),
    })
}

fn main() -> std::process::ExitCode {
    // NO_COLOR wins over CLICOLOR_FORCE (console already honours both alone).
    if std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let cli = shim_command().unwrap_or_else(cli::Cli::parse);
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
                let _ = report::stdout().flush();
                report::errln!("{} {err:#}", console::style("error:").red().bold());
                if err
                    .chain()
                    .filter_map(|e| e.downcast_ref::<std::io::Error>())
                    .any(|e| matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)))
                {
                    report::errln!("hint: free some space on that disk (or quota), then run again");
                }
                exit::Exit::Usage
            }
        }
    };
    exit.into()
}
