//! The command line: clap derive types only, no logic.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

/// Git hooks and pre-commit checks, run concurrently under a memory cap.
#[derive(Parser, Debug)]
#[command(name = "precheck", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 all checks passed, 1 a check failed, 2 usage, config or \
environment error, 130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP)."
)]
pub struct Cli {
    /// The checks file (default: checks.toml at the repository root)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run checks (default: the pre-commit checks, on the staged files)
    #[command(
        after_help = "Examples:\n  precheck run                  # pre-commit checks on the staged files\n  precheck run --all            # on every tracked file\n  precheck run lint test        # just these checks (and what they need)\n  precheck run --files a.rs b.rs\n  precheck run --all --format json -j 2 --memory 4GiB"
    )]
    Run(RunArgs),
    /// Show the checks as the scheduler sees them, and whether each would run now
    #[command(after_help = "Examples:\n  precheck list\n  precheck list --all --format json")]
    List(ListArgs),
    /// Write a starter checks.toml from what the repository holds
    #[command(
        after_help = "Examples:\n  precheck init\n  precheck init --force   # overwrite an existing checks.toml"
    )]
    Init(InitArgs),
}

/// Which files the change holds.
#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    /// Every tracked file instead of the staged ones
    #[arg(long, conflicts_with = "files")]
    pub all: bool,

    /// These files instead of the staged ones (relative to the current directory)
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Run the checks of this hook (pre-commit, pre-push, commit-msg, manual, …)
    #[arg(long, default_value = "pre-commit", value_name = "NAME")]
    pub hook: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Only these checks (and the checks they need)
    #[arg(value_name = "CHECK")]
    pub checks: Vec<String>,

    #[command(flatten)]
    pub files: FileArgs,

    /// Most checks at once (overrides settings.jobs)
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,

    /// Memory cap for checks running at once, like 6GiB or 75% (overrides settings.memory)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Stop at the first failure: start nothing more, stop what runs
    #[arg(long)]
    pub fail_fast: bool,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Print only failures and the summary
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub files: FileArgs,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Overwrite an existing checks.toml
    #[arg(long)]
    pub force: bool,
}
