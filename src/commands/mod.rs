//! The commands: one file per command family. Each parses nothing (clap did),
//! opens the repository through the snapshot (which recovers first), and
//! hands a run to the pipeline or reads the store.

pub mod ci;
pub mod doctor;
pub mod import;
pub mod init;
pub mod install;
pub mod list;
pub mod mcp;
pub mod run;
pub mod services;
pub mod tasks;

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::{CiCommand, Cli, Command, FileArgs};
use crate::config::{self, Config};
use crate::env;
use crate::exit::Exit;
use crate::pipeline::{Change, Verbosity};
use crate::plan::{Facts, Selection};
use crate::worktree::git::Repo;
use crate::worktree::snapshot;

/// Runs the command the user asked for; its verdict is the exit status.
pub fn dispatch(cli: Cli) -> Result<Exit> {
    let out = Verbosity {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Run(args) => run::run(cli.config, args, out),
        Command::List(args) => list::list(cli.config, args),
        Command::Init(args) => init::init(args.force),
        Command::Install(args) => install::install(cli.config, args),
        Command::Uninstall(args) => install::uninstall(args),
        Command::Hook(args) => run::hook(cli.config, args, out),
        Command::Shim(args) => run::shim(cli.config, args, out),
        Command::Up(args) => services::up(cli.config, args),
        Command::Down(args) => services::down(&snapshot::open_repo()?, args),
        Command::Tasks(args) => tasks::tasks(&snapshot::open_repo()?, args),
        Command::Log(args) => tasks::log(&snapshot::open_repo()?, args),
        Command::Wait(args) => tasks::wait(&snapshot::open_repo()?, args),
        Command::Kill(args) => tasks::kill(&snapshot::open_repo()?, args),
        Command::Clean(args) => tasks::clean(&snapshot::open_repo()?, args),
        Command::Ci(CiCommand::Matrix(args)) => ci::matrix(cli.config, args),
        Command::Import(args) => import::import(&snapshot::open_repo()?, args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "precheck",
                &mut crate::report::stdout(),
            );
            Ok(Exit::Passed)
        }
        Command::Doctor => doctor::doctor(cli.config),
        Command::Mcp(args) => mcp::serve(args.dir),
    }
}

/// Warns once about names in `PRECHECK_SKIP` that are no check, listing
/// the checks there are.
pub fn warn_unknown_skips(config: &Config, sel: &Selection) {
    let unknown: Vec<String> = sel
        .skip
        .iter()
        .filter(|s| !config.checks.iter().any(|c| &c.name == *s))
        .map(|u| format!("`{u}`"))
        .collect();
    if unknown.is_empty() {
        return;
    }
    let names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
    crate::report::errln!(
        "{} {} names no check called {}; the checks are: {}",
        console::style("warning:").yellow().bold(),
        env::SKIP,
        unknown.join(", "),
        names.join(", ")
    );
}

pub fn selection(repo: &Repo, names: Vec<String>, hook: String) -> Selection {
    let skip = std::env::var(env::SKIP)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let facts = Facts {
        merging: repo.merging(),
        rebasing: repo.rebasing(),
        branch: repo.branch(),
        env: std::env::vars_os()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect(),
    };
    Selection {
        names,
        hook,
        skip,
        facts,
    }
}

/// checks.toml (or the file `path` names) with the local file laid over it.
pub fn load_config(repo: &Repo, path: Option<PathBuf>) -> Result<Config> {
    let path = path.unwrap_or_else(|| repo.root().join("checks.toml"));
    let config = config::load(&display_path(&path), Some(&local_path(repo)))?;
    warn_tracked_local(repo, &config);
    Ok(config)
}

/// Where the local file is: at the root of the work tree, as the user
/// would write it from here.
pub fn local_path(repo: &Repo) -> PathBuf {
    display_path(&repo.root().join(config::LOCAL_FILE))
}

/// Is the local file tracked (so that it is everyone's, not the user's)?
pub fn local_is_tracked(repo: &Repo) -> bool {
    repo.index_blob(Path::new(config::LOCAL_FILE))
        .ok()
        .flatten()
        .is_some()
}

/// Warns when the config has a local layer that git tracks: precheck reads
/// it from the work tree all the same, but it is meant to stay one
/// developer's.
pub fn warn_tracked_local(repo: &Repo, config: &Config) {
    if config.local.is_some() && local_is_tracked(repo) {
        crate::report::errln!(
            "{} {} is tracked by git, so everyone gets it; it is meant to be yours alone: `git rm --cached {}` and add it to .gitignore",
            console::style("warning:").yellow().bold(),
            config::LOCAL_FILE,
            config::LOCAL_FILE
        );
    }
}

/// A path as the user would write it from here: relative when below the
/// current directory.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// What the change is, from the command line.
pub fn change_of(repo: &Repo, args: &FileArgs) -> Result<Change> {
    if args.all {
        return Ok(Change::All);
    }
    if let (Some(from), Some(to)) = (&args.from_ref, &args.to_ref) {
        return Ok(Change::Range(from.clone(), to.clone()));
    }
    if args.files.is_empty() {
        return Ok(Change::Staged);
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let files = args
        .files
        .iter()
        .map(|f| {
            let abs = normalize(&cwd.join(f));
            abs.strip_prefix(repo.root())
                .map(Path::to_path_buf)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--files: `{}` is outside the repository at {}",
                        f.display(),
                        repo.root().display()
                    )
                })
        })
        .collect::<Result<_>>()?;
    Ok(Change::Files(files))
}

/// Removes `.` and `..` without touching the file system (the file may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
