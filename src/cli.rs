//! The command line: clap derive types only, no logic.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config;
use crate::report::{Format, TextFormat};

/// Git hooks and pre-commit checks, run concurrently under a memory cap.
#[derive(Parser, Debug)]
#[command(name = "precheck", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  precheck init && precheck install   # set up a repository\n  precheck run                        # the pre-commit checks on the staged files\n  precheck run --all --format json    # everything, for scripts and agents\n  precheck run --all --background     # keep working; then precheck tasks, log, wait\n\nExit status: 0 all checks passed, 1 a check failed, 2 usage, config or \
environment error, 124 wait timed out, 130 interrupted (SIGINT), 143 terminated (SIGTERM), \
129 hung up (SIGHUP)."
)]
pub struct Cli {
    /// The checks file (default: checks.toml at the repository root)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print only failures and the summary
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more: why each check runs or is skipped, before running
    #[arg(short, long, global = true)]
    pub verbose: bool,

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
    /// Install git hook shims (default: the hooks checks.toml uses)
    #[command(
        after_help = "Examples:\n  precheck install\n  precheck install --hook pre-commit --hook pre-push\n\nAn existing hook that is not precheck's is kept as HOOK.legacy and run first."
    )]
    Install(InstallArgs),
    /// Remove precheck's hook shims and put back the hooks they replaced
    #[command(
        after_help = "Examples:\n  precheck uninstall\n  precheck uninstall --hook pre-push"
    )]
    Uninstall(UninstallArgs),
    /// Run the checks of a git hook (what the installed shims call)
    #[command(
        after_help = "Examples:\n  precheck hook pre-commit\n  precheck hook commit-msg .git/COMMIT_EDITMSG"
    )]
    Hook(HookArgs),

    /// Run by an installed hook shim (its `#!` line): the shim's path and git's arguments
    #[command(hide = true)]
    Shim(ShimArgs),
    /// Start services in the background and wait until they are ready
    #[command(
        after_help = "Examples:\n  precheck up              # every service in checks.toml\n  precheck up web api\n  precheck up --format json\n\nA service keeps running after the command returns (and after the terminal closes) until `precheck down` or `precheck kill SERVICE`; runs whose checks need it use it and leave it running."
    )]
    Up(UpArgs),
    /// Stop services that `precheck up` started (the whole process tree)
    #[command(
        after_help = "Examples:\n  precheck down            # every running service\n  precheck down web"
    )]
    Down(DownArgs),
    /// Running and recent runs, newest first
    #[command(
        visible_alias = "ps",
        after_help = "Examples:\n  precheck tasks\n  precheck ps --format json"
    )]
    Tasks(TasksArgs),
    /// A check's output, or a run's checks and the failing ones' last lines
    #[command(
        after_help = "Examples:\n  precheck log                 # the latest run's checks\n  precheck log test -f         # follow test's output until it ends\n  precheck log lint --run ID --tail 50"
    )]
    Log(LogArgs),
    /// Wait until runs end; exit with their status
    #[command(
        after_help = "Examples:\n  precheck wait                       # every run still going, else the latest\n  precheck wait --run ID --timeout 10m"
    )]
    Wait(WaitArgs),
    /// Serve the Model Context Protocol on stdio, for coding agents
    #[command(
        after_help = "Register it with an MCP-capable agent as the stdio command `precheck mcp` (started in the repository) or `precheck mcp DIR`.\nTools: run, tasks, wait, log, kill, list (see the README)."
    )]
    Mcp(McpArgs),
    /// Stop a run, or one of its checks (the whole process tree)
    #[command(
        after_help = "Examples:\n  precheck kill                # the latest running run\n  precheck kill test --run ID  # one check of a run"
    )]
    Kill(KillArgs),
    /// Remove finished runs' records and logs (and, with --cache, cached passes)
    #[command(after_help = "Examples:\n  precheck clean\n  precheck clean --cache")]
    Clean(CleanArgs),
    /// For CI: print the checks as a job matrix
    #[command(subcommand)]
    Ci(CiCommand),
    /// Translate .pre-commit-config.yaml or lefthook.yml into checks.toml
    #[command(
        after_help = "Examples:\n  precheck import                         # whichever of the two the repository has\n  precheck import --from lefthook.yml --force"
    )]
    Import(ImportArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  precheck completions bash > ~/.local/share/bash-completion/completions/precheck\n  precheck completions zsh > ~/.zfunc/_precheck\n  precheck completions fish > ~/.config/fish/completions/precheck.fish"
    )]
    Completions(CompletionsArgs),
    /// Check the set-up: config, programs, hooks, leftovers, cache
    #[command(after_help = "Examples:\n  precheck doctor")]
    Doctor,
}

#[derive(Subcommand, Debug)]
pub enum CiCommand {
    /// The checks as JSON for a GitHub Actions or GitLab job matrix
    #[command(
        after_help = "Examples:\n  precheck ci matrix --all --shards 4\n\nEach entry's shard is what `precheck run --shard K/N` runs."
    )]
    Matrix(MatrixArgs),
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    #[command(flatten)]
    pub files: FileArgs,

    /// How many jobs (default: one per group of checks joined by `needs`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub shards: Option<u32>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to translate (default: .pre-commit-config.yaml, else lefthook.yml, at the root)
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,

    /// Overwrite an existing checks.toml
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct TasksArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Services to start (default: every service in checks.toml)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// The memory cap the services' `memory` counts against (like 8GiB or 60%)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct DownArgs {
    /// Services to stop (default: every running service)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// The check whose output to show (default: a summary of the run's
    /// checks), or a service `precheck up` started
    #[arg(value_name = "CHECK")]
    pub check: Option<String>,

    /// The run (default: the latest)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// Keep printing new output until the check ends
    #[arg(short, long)]
    pub follow: bool,

    /// Only the last N lines
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,

    /// Output format (json: the run's and checks' metadata, not the output)
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Runs to wait for (repeatable; default: every run still going, else the latest)
    #[arg(long = "run", value_name = "ID")]
    pub runs: Vec<String>,

    /// Give up after this long (like 90s, 10m; 0 looks once), exit 124
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Return when the first of the runs ends (its verdict is the exit status)
    #[arg(long)]
    pub any: bool,

    /// Lines of each check's log in the JSON output
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub tail: usize,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct McpArgs {
    /// The repository to serve (default: the current directory)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Also empty the result cache
    #[arg(long)]
    pub cache: bool,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Stop only this check (default: the whole run), or a service
    /// `precheck up` started
    #[arg(value_name = "CHECK")]
    pub check: Option<String>,

    /// The run (default: the latest running run)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// A hook to install (repeatable); default: every hook checks.toml uses
    #[arg(long = "hook", value_name = "NAME", value_parser = installable_hook(), hide_possible_values = true)]
    pub hooks: Vec<String>,

    /// Rewrite precheck's shims even when up to date; keep a foreign hook as HOOK.legacy.N when HOOK.legacy exists
    #[arg(long)]
    pub force: bool,

    /// Write shell-script shims, which look for precheck on PATH when it is no longer where it was installed from (one process more per hook)
    #[arg(long)]
    pub shell: bool,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// A hook to uninstall (repeatable); default: every precheck hook
    #[arg(long = "hook", value_name = "NAME", value_parser = installable_hook(), hide_possible_values = true)]
    pub hooks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct HookArgs {
    /// The hook's name: pre-commit, commit-msg, pre-push, …
    #[arg(value_parser = hook_name(), hide_possible_values = true)]
    pub name: String,

    /// The arguments git gives the hook
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ShimArgs {
    /// The shim git started
    pub path: std::path::PathBuf,

    /// The arguments git gives the hook
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
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

    /// The files changed from the merge base of REF and --to-ref (as in a pull request)
    #[arg(long, value_name = "REF", requires = "to_ref", conflicts_with_all = ["all", "files"])]
    pub from_ref: Option<String>,

    /// With --from-ref: the newer end of the range
    #[arg(long, value_name = "REF", requires = "from_ref")]
    pub to_ref: Option<String>,

    /// Run the checks of this hook (pre-commit, pre-push, commit-msg, manual, …)
    #[arg(long, default_value = "pre-commit", value_name = "NAME", value_parser = hook_name(), hide_possible_values = true)]
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

    /// On staged files, run on the work tree as it is instead of setting unstaged changes aside
    #[arg(long)]
    pub no_stash: bool,

    /// On staged files, also set untracked (not ignored) files aside, or show them (overrides settings.untracked)
    #[arg(long, value_name = "MODE", value_parser = ["show", "hide"],
          conflicts_with_all = ["all", "files", "from_ref", "no_stash", "background"])]
    pub untracked: Option<String>,

    /// Start the run detached and return at once; prints its id on stdout (implies --no-stash)
    #[arg(long)]
    pub background: bool,

    /// Run every check, even those with a cached pass for the same inputs
    #[arg(long)]
    pub no_cache: bool,

    /// Output format: human, json, or junit (JUnit XML for CI)
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Run only the K-th of N shards (checks joined by `needs` stay together)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::Shard>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub files: FileArgs,

    /// List the built-in checks (`run = "builtin:NAME"`) and their arguments instead
    #[arg(long)]
    pub builtins: bool,

    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Overwrite an existing checks.toml
    #[arg(long)]
    pub force: bool,
}

/// A hook precheck can run checks for: any of git's, or `manual`. A typo is
/// refused by clap, with the closest name suggested.
fn hook_name() -> clap::builder::PossibleValuesParser {
    names(config::GIT_HOOKS.iter().chain(&["manual"]))
}

/// A hook precheck installs a shim for (`manual` is run by hand).
fn installable_hook() -> clap::builder::PossibleValuesParser {
    names(config::HOOKS.iter().filter(|h| **h != "manual"))
}

fn names<'a>(names: impl Iterator<Item = &'a &'static str>) -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(names.map(|n| clap::builder::PossibleValue::new(*n)))
}
