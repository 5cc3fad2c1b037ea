//! One short, straight-line function per subcommand, wiring the stages:
//! config → plan → scheduler → report. No stage is skipped or reordered here.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{
    CiCommand, Cli, Command, FileArgs, HookArgs, InstallArgs, ListArgs, MatrixArgs, RunArgs,
    UninstallArgs,
};
use crate::commands::{doctor, import, init, install, tasks};
use crate::config::{self, Config, MemoryCap};
use crate::exec::ledger::Ledger;
use crate::exec::scheduler::{self, Job, Outcome, Status, Tee};
use crate::exec::spawn;
use crate::plan::{self, Decision, Plan, Selection};
use crate::report::{self, Entry, Format, Reporter, Summary, Tail};
use crate::shard::{self, Shard};
use crate::store::cache::{self, Cache};
use crate::store::{history, runs};
use crate::sys::proc;
use crate::units::format_size;
use crate::worktree::fixes::{self, Files, Modified};
use crate::worktree::git::{self, Repo};
use crate::worktree::lock::{Attempt, Mode, TreeLock};
use crate::worktree::snapshot::{self, Snapshot};
use crate::{env, exit};

pub fn main(cli: Cli) -> Result<i32> {
    let out = Verbosity {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Run(args) => run(cli.config, args, out),
        Command::List(args) => list(cli.config, args),
        Command::Init(args) => init::init(args.force),
        Command::Install(args) => install(cli.config, args),
        Command::Uninstall(args) => uninstall(args),
        Command::Hook(args) => hook(cli.config, args, out),
        Command::Tasks(args) => tasks::tasks(&snapshot::open_repo()?, args),
        Command::Log(args) => tasks::log(&snapshot::open_repo()?, args),
        Command::Wait(args) => tasks::wait(&snapshot::open_repo()?, args),
        Command::Kill(args) => tasks::kill(&snapshot::open_repo()?, args),
        Command::Clean(args) => tasks::clean(&snapshot::open_repo()?, args),
        Command::Ci(CiCommand::Matrix(args)) => matrix(cli.config, args),
        Command::Import(args) => import::import(&snapshot::open_repo()?, args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "precheck",
                &mut std::io::stdout(),
            );
            Ok(exit::PASSED)
        }
        Command::Doctor => doctor::doctor(cli.config),
    }
}

/// `-q` and `-v`, for every command.
#[derive(Debug, Clone, Copy)]
pub struct Verbosity {
    pub quiet: bool,
    pub verbose: bool,
}

/// Share of the memory available at start used as the cap when none is set.
pub const DEFAULT_CAP_SHARE: f64 = 0.75;

/// Where the change's files come from.
enum Change {
    Staged,
    All,
    Files(Vec<PathBuf>),
    Range(String, String),
    Pushed(Vec<PathBuf>),
}

/// One run of checks, as `run` or a hook asks for it.
struct Request {
    /// What started the run: `run` or the hook's name.
    trigger: String,
    sel: Selection,
    change: Change,
    /// Set unstaged changes aside so checks see the staged content.
    stash: bool,
    /// Set untracked files aside too (with `stash`).
    hide_untracked: bool,
    /// Check this commit's content: its version of every file that differs
    /// is set aside in the work tree for the run.
    tip: Option<git2::Oid>,
    /// Stage the files that `stage_fixed` checks fixed.
    stage_fixes: bool,
    /// The commit message file, for `{msg}`.
    msg: Option<PathBuf>,
    /// What the hook was given (arguments, the message's bytes, the pushed
    /// refs), for the cache key.
    hook_inputs: Vec<u8>,
    /// Run every check, cached passes or not.
    no_cache: bool,
    jobs: Option<usize>,
    memory: Option<String>,
    fail_fast: bool,
    format: Format,
    out: Verbosity,
    /// Only this shard of the checks.
    shard: Option<Shard>,
}

/// Warns once about names in `PRECHECK_SKIP` that are no check, listing
/// the checks there are.
fn warn_unknown_skips(config: &Config, sel: &Selection) {
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
    eprintln!(
        "{} {} names no check called {}; the checks are: {}",
        console::style("warning:").yellow().bold(),
        env::SKIP,
        unknown.join(", "),
        names.join(", ")
    );
}

fn selection(names: Vec<String>, hook: String) -> Selection {
    let skip = std::env::var(env::SKIP)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Selection { names, hook, skip }
}

fn run(config_path: Option<PathBuf>, args: RunArgs, out: Verbosity) -> Result<i32> {
    config::known_hook(&args.files.hook)?;
    let repo = snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    if args.background {
        return tasks::start_background(&repo);
    }
    let change = change_of(&repo, &args.files)?;
    let staged = matches!(change, Change::Staged);
    let req = Request {
        trigger: "run".into(),
        sel: selection(args.checks, args.files.hook),
        change,
        stash: staged && !args.no_stash && std::env::var_os(env::RUN_ID).is_none(),
        tip: None,
        hide_untracked: match args.untracked.as_deref() {
            Some(mode) => mode == "hide",
            None => config.settings.hide_untracked,
        },
        stage_fixes: false,
        msg: None,
        hook_inputs: format!("{:?} {:?}", args.files.from_ref, args.files.to_ref).into_bytes(),
        no_cache: args.no_cache,
        jobs: args.jobs.map(|j| j as usize),
        memory: args.memory,
        fail_fast: args.fail_fast,
        format: args.format,
        out,
        shard: args.shard,
    };
    warn_unknown_skips(&config, &req.sel);
    execute(&repo, &config, req)
}

fn hook(config_path: Option<PathBuf>, args: HookArgs, out: Verbosity) -> Result<i32> {
    config::known_hook(&args.name)?;
    let repo = snapshot::open_repo()?;
    let mut stdin = Vec::new();
    if args.name == "pre-push" {
        std::io::stdin()
            .read_to_end(&mut stdin)
            .context("cannot read the pushed refs from stdin")?;
    }
    if let Some(code) = install::run_legacy(&repo, &args.name, &args.args, &stdin)? {
        if code != exit::PASSED {
            eprintln!(
                "precheck: the {}.legacy hook failed (exit {code}); precheck's checks did not run",
                args.name
            );
            return Ok(code);
        }
    }
    let path = match config_path {
        Some(p) if p.is_relative() => repo.root().join(p),
        Some(p) => p,
        None => repo.root().join("checks.toml"),
    };
    // The checks of a commit are the checks in the commit: the index's
    // version of the config when it is tracked, whatever the work tree holds.
    let staged = match args.name.as_str() {
        "pre-commit" | "pre-merge-commit" | "prepare-commit-msg" | "commit-msg" => path
            .strip_prefix(repo.root())
            .ok()
            .map(|rel| repo.index_blob(rel))
            .transpose()?
            .flatten(),
        _ => None,
    };
    let config = match staged {
        Some(bytes) => {
            let shown = display_path(&path);
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                eprintln!(
                    "precheck: using {} as staged; the work tree's differs (stage it to use it)",
                    shown.display()
                );
            }
            config::parse_bytes(&shown, bytes)?
        }
        None if !path.exists() => {
            eprintln!(
                "precheck: no {} in this checkout: no {} checks ran (`precheck uninstall` removes the hook)",
                display_path(&path).display(),
                args.name
            );
            return Ok(exit::PASSED);
        }
        None => config::load(&display_path(&path))?,
    };
    let pushes = if args.name == "pre-push" {
        let remote = args.args.first().map(String::as_str).unwrap_or("origin");
        repo.pushed(remote, &String::from_utf8_lossy(&stdin))?
    } else {
        Vec::new()
    };
    let msg = match args.name.as_str() {
        "commit-msg" | "prepare-commit-msg" => args.args.first().map(|m| {
            let p = PathBuf::from(m);
            if p.is_absolute() {
                p
            } else {
                repo.root().join(p)
            }
        }),
        _ => None,
    };
    // A merge commit is a commit: pre-merge-commit runs the pre-commit
    // checks on the merge result (unless checks name it themselves).
    let pre_commit = matches!(args.name.as_str(), "pre-commit" | "pre-merge-commit");
    let selected_hook = if args.name == "pre-merge-commit"
        && !config
            .checks
            .iter()
            .any(|c| c.hooks.iter().any(|h| h == "pre-merge-commit"))
    {
        "pre-commit".to_string()
    } else {
        args.name.clone()
    };
    let mut hook_inputs = format!("{:?}", args.args).into_bytes();
    hook_inputs.extend_from_slice(&stdin);
    if let Some(m) = &msg {
        // The message is an input of a commit-msg check: a new message is a new run.
        hook_inputs.extend_from_slice(&std::fs::read(m).unwrap_or_default());
    }
    let req = Request {
        trigger: args.name.clone(),
        sel: selection(Vec::new(), selected_hook),
        change: Change::Staged,
        stash: pre_commit && std::env::var_os(env::NO_STASH).is_none(),
        hide_untracked: config.settings.hide_untracked,
        tip: None,
        stage_fixes: pre_commit,
        msg,
        hook_inputs,
        no_cache: false,
        jobs: None,
        memory: None,
        fail_fast: false,
        format: Format::Human,
        out,
        shard: None,
    };
    warn_unknown_skips(&config, &req.sel);
    if args.name == "pre-push" {
        return push(&repo, &config, &path, req, pushes);
    }
    execute(&repo, &config, req)
}

/// pre-push checks what is pushed: each ref in turn, on its own content.
/// A ref whose tip is not what the work tree holds (another branch, or
/// uncommitted changes to its files) is checked with the tip's version of
/// every differing file set aside in the work tree, restored afterwards
/// with every guarantee of the staged snapshot.
fn push(
    repo: &Repo,
    config: &Config,
    config_path: &Path,
    base: Request,
    pushes: Vec<git::Pushed>,
) -> Result<i32> {
    let head = repo.head();
    let many = pushes.len() > 1;
    let mut worst = exit::PASSED;
    for pushed in pushes {
        let short = &pushed.tip.to_string()[..10];
        // Another commit than HEAD always needs its content set out; HEAD
        // only when its changed files have uncommitted changes. (The run
        // reads what differs again, under the work-tree lock.)
        let clean = Some(pushed.tip) == head && {
            let differing = repo.differing_from(pushed.tip)?;
            !differing.iter().any(|d| pushed.files.contains(d))
        };
        if many || !clean {
            eprintln!(
                "precheck: pre-push: checking {} ({short}){}",
                pushed.name,
                if clean {
                    ""
                } else {
                    " on its own content (the work tree's differing files are set aside meanwhile)"
                }
            );
        }
        let mut hook_inputs = base.hook_inputs.clone();
        hook_inputs.extend_from_slice(pushed.line.as_bytes());
        let req = Request {
            trigger: format!("pre-push {}", pushed.name),
            sel: base.sel.clone(),
            change: Change::Pushed(pushed.files),
            stash: false,
            hide_untracked: false,
            tip: (!clean).then_some(pushed.tip),
            stage_fixes: false,
            msg: None,
            hook_inputs,
            // The key is made of the work tree's files: not those of a tip
            // set in their place.
            no_cache: base.no_cache || !clean,
            jobs: base.jobs,
            memory: base.memory.clone(),
            fail_fast: base.fail_fast,
            format: base.format,
            out: base.out,
            shard: None,
        };
        // The checks of a pushed commit are the checks in that commit.
        let own = match config_path.strip_prefix(repo.root()) {
            Ok(rel) if !clean => repo.commit_blob(pushed.tip, rel)?,
            _ => None,
        };
        let own = match own {
            Some(bytes) => {
                let shown = format!(
                    "{} (in {})",
                    display_path(config_path).display(),
                    pushed.name
                );
                Some(config::parse_bytes(Path::new(&shown), bytes)?)
            }
            None => None,
        };
        let code = execute(repo, own.as_ref().unwrap_or(config), req)?;
        if matches!(code, exit::INTERRUPTED | exit::TERMINATED | exit::HANGUP) {
            return Ok(code);
        }
        worst = worst.max(code);
    }
    Ok(worst)
}

fn install(config_path: Option<PathBuf>, args: InstallArgs) -> Result<i32> {
    let repo = snapshot::open_repo()?;
    let mut hooks = if args.hooks.is_empty() {
        let path = config_path
            .clone()
            .unwrap_or_else(|| repo.root().join("checks.toml"));
        if path.exists() {
            let config = config::load(&display_path(&path))?;
            let mut hooks: Vec<String> = Vec::new();
            for c in &config.checks {
                for h in &c.hooks {
                    if h != "manual" && !hooks.contains(h) {
                        hooks.push(h.clone());
                    }
                }
            }
            if hooks.is_empty() {
                hooks.push(config::DEFAULT_HOOK.to_string());
            }
            hooks
        } else {
            eprintln!("precheck: no checks.toml yet: installing the pre-commit hook (`precheck init` writes a starter)");
            vec![config::DEFAULT_HOOK.to_string()]
        }
    } else {
        for h in &args.hooks {
            if !config::HOOKS.contains(&h.as_str()) || h == "manual" {
                anyhow::bail!(
                    "unknown hook `{h}`; expected one of {}",
                    config::HOOKS.join(", ")
                );
            }
        }
        args.hooks
    };
    // The hooks use the config given here: kept relative to the root when
    // it is inside the work tree (each worktree then uses its own copy).
    let config = match &config_path {
        Some(p) => {
            let abs = std::env::current_dir()?.join(p);
            let abs = std::fs::canonicalize(&abs)
                .with_context(|| format!("cannot find the config {}", p.display()))?;
            Some(
                abs.strip_prefix(repo.root())
                    .map(Path::to_path_buf)
                    .unwrap_or(abs.clone()),
            )
        }
        None => None,
    };
    // A clean merge commits without pre-commit: git runs pre-merge-commit
    // for it, which checks the merge result with the pre-commit checks.
    if hooks.iter().any(|h| h == "pre-commit") && !hooks.iter().any(|h| h == "pre-merge-commit") {
        hooks.push("pre-merge-commit".to_string());
    }
    for line in install::install(&repo, &hooks, args.force, config.as_deref())? {
        println!("{line}");
    }
    Ok(exit::PASSED)
}

fn uninstall(args: UninstallArgs) -> Result<i32> {
    let repo = snapshot::open_repo()?;
    for line in install::uninstall(&repo, &args.hooks)? {
        println!("{line}");
    }
    Ok(exit::PASSED)
}

/// Registers SIGINT, SIGTERM and SIGHUP (the number of the one received)
/// and SIGUSR1 (`precheck kill` has a request).
fn signals() -> Result<(Arc<AtomicUsize>, Arc<AtomicBool>)> {
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)?;
    }
    let kill = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(libc::SIGUSR1, kill.clone())?;
    Ok((signal, kill))
}

/// The pipeline: files → plan → (lock, snapshot) → scheduler → fixes → restore → report.
fn execute(repo: &Repo, config: &Config, req: Request) -> Result<i32> {
    let files = files_of(repo, &req.change)?;
    let mut plan = plan::plan(config, &files, &req.sel)?;
    if let Some(shard) = req.shard {
        keep_shard(config, &mut plan, shard);
    }
    if req.out.verbose {
        for (c, d) in config.checks.iter().zip(&plan.decisions) {
            eprintln!("precheck: {}: {}", c.name, d.reason(c, &req.sel));
        }
    }
    let opts = scheduler::Options {
        jobs: req.jobs.unwrap_or_else(|| default_jobs(config)),
        cap: memory_cap(config, req.memory.as_deref())?,
        fail_fast: req.fail_fast || config.settings.fail_fast,
    };
    let (signal, kill_asked) = signals()?;
    let runs_any = plan.decisions.iter().any(Decision::runs);
    let fixers = fixers(config, &plan, &files);
    // Readers of the work tree share it; a run that changes it holds it
    // alone. Unstaged changes are read under the lock (another run may have
    // files set aside until it lets go), upgrading to exclusive if needed.
    let mut mode = if fixers.is_empty() {
        Mode::Shared
    } else {
        Mode::Exclusive
    };
    let (_lock, unstaged) = loop {
        if !runs_any {
            break (None, Vec::new());
        }
        let Some(lock) = TreeLock::acquire(repo.git_dir(), mode, &signal, || tasks::holders(repo))?
        else {
            return Ok(exit::for_signal(signal.load(Ordering::SeqCst) as i32));
        };
        let unstaged = if let Some(tip) = req.tip {
            repo.differing_from(tip)?
        } else if req.stash {
            let mut unstaged = repo.unstaged()?;
            if req.hide_untracked {
                // Files only: a nested repository shows as a folder (`dir/`).
                unstaged.extend(
                    repo.untracked()?
                        .into_iter()
                        .filter(|p| !p.as_os_str().as_bytes().ends_with(b"/")),
                );
                unstaged.sort();
            }
            unstaged
        } else {
            Vec::new()
        };
        if mode == Mode::Shared && !unstaged.is_empty() {
            drop(lock);
            // Free at once: nobody changed the tree in between, so what we
            // read stands. Otherwise wait, and read it again.
            if let Attempt::Got(lock) = TreeLock::try_acquire(repo.git_dir(), Mode::Exclusive)? {
                break (Some(lock), unstaged);
            }
            mode = Mode::Exclusive;
            continue;
        }
        break (Some(lock), unstaged);
    };
    let source = match req.tip {
        Some(tip) => snapshot::Source::Commit(tip),
        None => snapshot::Source::Index,
    };
    let mut snapshot = Snapshot::take(repo, &unstaged, source)?;
    let run_dir = match std::env::var(env::RUN_ID) {
        Ok(id) => runs::RunDir::open(repo.git_dir(), &id)?,
        Err(_) => runs::RunDir::create(repo.git_dir())?,
    };
    // Keys of the checks whose passes may be cached, and the passes found.
    let cache = Cache::open(repo.git_dir());
    let keys = cache_keys(repo, config, &plan, &req)?;
    let cached: Vec<Option<cache::Entry>> = keys
        .iter()
        .map(|k| k.as_deref().and_then(|k| cache.get(k)))
        .collect();
    let past = history::read(repo.git_dir());
    let (jobs, job_of) = jobs(
        config,
        &plan,
        repo,
        &run_dir,
        req.msg.as_deref(),
        &cached,
        &past,
    );
    let checks: Vec<(String, PathBuf)> = jobs
        .iter()
        .map(|j| (j.name.clone(), j.log.clone()))
        .collect();
    let mut recorder = runs::Recorder::new(&run_dir, &req.trigger, &checks)?;
    let before = fixes::before(repo.root(), &fixers);
    let mut reporter = Reporter::new(
        req.format,
        req.out.quiet,
        jobs.iter().map(|j| j.name.clone()).collect(),
    );
    let mut ledger = Ledger::open(repo.git_dir()).ok();
    let kill_requests = || runs::take_kill_requests(&run_dir);
    let controls = scheduler::Controls {
        signal: &signal,
        kill_asked: &kill_asked,
        kill_requests: &kill_requests,
        ledger: ledger.as_mut(),
    };
    let started = Instant::now();
    let result = scheduler::run(
        &jobs,
        &opts,
        &mut Tee(&mut reporter, &mut recorder),
        controls,
    )?;
    let killed = result.killed;
    let mut modified = fixes::changed(repo.root(), &fixers, &before);
    remember_passes(&cache, config, &keys, &jobs, &job_of, &result, &modified);
    // How set-aside files come back is decided before fixes are staged.
    let prepared = snapshot.as_ref().map(Snapshot::prepare);
    let conflicting = prepared
        .as_ref()
        .map(|p| p.conflicting())
        .unwrap_or_default();
    if req.stage_fixes && result.interrupted_by.is_none() && !killed {
        stage_fixed(repo, config, &mut modified, &conflicting)?;
        if let Some(s) = snapshot.as_mut() {
            s.note_staged()?;
        }
    }
    let stashed = snapshot.as_ref().map_or(0, Snapshot::len);
    let restored = match (snapshot, prepared) {
        (Some(s), Some(p)) => Some(s.restore(p)?),
        _ => None,
    };
    let mut summary = summary(
        config,
        &plan,
        &jobs,
        &job_of,
        result,
        started,
        &run_dir.id,
        &opts,
    );
    summary.stashed = stashed;
    summary.modified = modified;
    if let Some(r) = restored {
        for note in &r.kept_aside {
            eprintln!("{note}");
        }
        summary.fix_conflicts = r.conflicts;
        summary.fix_merged = r.merged;
        summary.fix_patch = r.patch;
    }
    summary.settle_exit_code();
    // The verdict stands whether or not it could be shown (a closed pipe,
    // a terminal gone): the record and the exit status come from the run.
    let _ = reporter.finish(&summary);
    run_dir.write_result(&report::json(&summary))?;
    history::record(
        repo.git_dir(),
        past,
        summary.entries.iter().map(|e| {
            (
                e.name.as_str(),
                report::status_key(e.status),
                e.duration.as_millis() as u64,
                e.peak,
            )
        }),
    );
    let state = if killed { "killed" } else { summary.status() };
    recorder.finish(state, summary.exit_code)?;
    drop(ledger);
    runs::prune(repo.git_dir(), config.settings.keep_runs);
    Ok(summary.exit_code)
}

/// Leaves in the plan only the checks of one shard. The split is a pure
/// function of checks.toml (never of this clone's timings), so shards run in
/// any order, in one clone or many, cover every check exactly once.
fn keep_shard(config: &Config, plan: &mut Plan, shard: Shard) {
    let runs: Vec<bool> = plan.decisions.iter().map(Decision::runs).collect();
    let groups = shard::groups(config, &runs);
    let shards = shard::assign(&groups, shard.count);
    let mine = &shards[shard.index - 1];
    for (i, d) in plan.decisions.iter_mut().enumerate() {
        if !mine.contains(&i) && matches!(d, Decision::Run { .. } | Decision::NoFiles) {
            *d = Decision::OtherShard;
        }
    }
}

/// `precheck ci matrix`: the shards as JSON for a CI job matrix.
fn matrix(config_path: Option<PathBuf>, args: MatrixArgs) -> Result<i32> {
    config::known_hook(&args.files.hook)?;
    let repo = crate::worktree::snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    let files = files_of(&repo, &change_of(&repo, &args.files)?)?;
    let sel = selection(Vec::new(), args.files.hook.clone());
    let plan = plan::plan(&config, &files, &sel)?;
    let runs: Vec<bool> = plan.decisions.iter().map(Decision::runs).collect();
    let groups = shard::groups(&config, &runs);
    let count = args
        .shards
        .map_or(groups.len(), |n| n as usize)
        .clamp(1, groups.len().max(1));
    let shards = shard::assign(&groups, count);
    let include: Vec<serde_json::Value> = shards
        .iter()
        .enumerate()
        .map(|(k, checks)| {
            let names: Vec<&str> = checks
                .iter()
                .map(|&i| config.checks[i].name.as_str())
                .collect();
            serde_json::json!({
                "shard": format!("{}/{count}", k + 1),
                "checks": names,
                "name": names.join(", "),
            })
        })
        .collect();
    let shard_ids: Vec<String> = (1..=count).map(|k| format!("{k}/{count}")).collect();
    let doc = serde_json::json!({ "include": include, "shard": shard_ids });
    println!("{}", serde_json::to_string(&doc)?);
    Ok(exit::PASSED)
}

/// The cache key of each check that runs and may be cached.
fn cache_keys(
    repo: &Repo,
    config: &Config,
    plan: &Plan,
    req: &Request,
) -> Result<Vec<Option<String>>> {
    let wanted: Vec<bool> = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .map(|(c, d)| d.runs() && c.cache && config.settings.cache && !req.no_cache)
        .collect();
    if !wanted.contains(&true) {
        return Ok(vec![None; config.checks.len()]);
    }
    // Checks see the index's content when unstaged changes are set aside,
    // else the work tree as it is.
    let index_only = req.stash && matches!(req.change, Change::Staged);
    let inputs = repo.inputs(index_only)?;
    let mut hook_inputs = req.hook_inputs.clone();
    // Hidden untracked files are not seen: another tree, another key.
    hook_inputs.extend_from_slice(if req.stash && req.hide_untracked {
        b" untracked=hide"
    } else {
        b" untracked=show"
    });
    let context = cache::Context::new(&req.sel.hook, &hook_inputs);
    Ok(config
        .checks
        .iter()
        .zip(&plan.decisions)
        .zip(wanted)
        .map(|((c, d), want)| match d {
            Decision::Run { files } if want => cache::key(
                c,
                files,
                &inputs,
                &context,
                &spawn::program_identity(c, repo.root()),
            ),
            _ => None,
        })
        .collect())
}

/// Stores the passes of cacheable checks (not of fixers that changed files).
fn remember_passes(
    cache: &Cache,
    config: &Config,
    keys: &[Option<String>],
    jobs: &[Job],
    job_of: &[Option<usize>],
    result: &scheduler::RunResult,
    modified: &[Modified],
) {
    let mut stored = false;
    for (i, check) in config.checks.iter().enumerate() {
        let (Some(key), Some(j)) = (&keys[i], job_of[i]) else {
            continue;
        };
        let outcome = &result.outcomes[j];
        if outcome.status != Status::Passed || modified.iter().any(|m| m.check == check.name) {
            continue;
        }
        // It saw what a fixer wrote, not the content its key was made of.
        if jobs[j]
            .after
            .iter()
            .any(|&a| modified.iter().any(|m| m.check == jobs[a].name))
        {
            continue;
        }
        cache.put(&cache::Entry {
            version: 1,
            check: check.name.clone(),
            key: key.clone(),
            created_ms: runs::now_ms(),
            duration_ms: outcome.duration.as_millis() as u64,
            peak_memory_bytes: outcome.peak,
        });
        stored = true;
    }
    if stored {
        cache.prune();
    }
}

/// Fixers that run, with the root-relative files they get (every file of
/// the change for a fixer that is not a file check).
fn fixers(config: &Config, plan: &Plan, files: &[PathBuf]) -> Vec<(String, Vec<PathBuf>)> {
    config
        .checks
        .iter()
        .zip(&plan.decisions)
        .filter(|(c, _)| c.fix)
        .filter_map(|(c, d)| match d {
            Decision::Run { files: own } => Some((
                c.name.clone(),
                match Files::of(c, own) {
                    Files::Some(set) => {
                        let mut v: Vec<PathBuf> = set.into_iter().collect();
                        v.sort();
                        v
                    }
                    Files::All => files.to_vec(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// Stages what `stage_fixed` checks fixed, except where the fix conflicts
/// with unstaged changes that were set aside.
fn stage_fixed(
    repo: &Repo,
    config: &Config,
    modified: &mut [Modified],
    conflicting: &[PathBuf],
) -> Result<()> {
    let stage_fixed: HashSet<&str> = config
        .checks
        .iter()
        .filter(|c| c.stage_fixed)
        .map(|c| c.name.as_str())
        .collect();
    let mut paths = Vec::new();
    for m in modified.iter_mut() {
        if stage_fixed.contains(m.check.as_str())
            && !conflicting.contains(&m.path)
            && repo.root().join(&m.path).exists()
        {
            m.staged = true;
            paths.push(m.path.clone());
        }
    }
    repo.add(&paths)
}

fn list(config_path: Option<PathBuf>, args: ListArgs) -> Result<i32> {
    config::known_hook(&args.files.hook)?;
    let repo = snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    let files = files_of(&repo, &change_of(&repo, &args.files)?)?;
    let sel = selection(Vec::new(), args.files.hook.clone());
    let plan = plan::plan(&config, &files, &sel)?;
    let cap = memory_cap(&config, None)?;
    let past = history::read(repo.git_dir());
    let rows: Vec<ListRow> = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .map(|(c, d)| {
            let h = past.get(&c.name);
            let (memory, source) = history::expected_memory(c, h, config.settings.default_memory);
            ListRow {
                name: &c.name,
                run: c.run.display(),
                hooks: &c.hooks,
                glob: &c.glob,
                exclude: &c.exclude,
                needs: &c.needs,
                dir: c.dir.as_deref(),
                memory_bytes: memory,
                memory_declared: c.memory.is_some(),
                memory_source: match source {
                    history::Source::Declared => "declared",
                    history::Source::Learned => "learned",
                    history::Source::Default => "default",
                },
                measured_runs: h.map_or(0, |h| h.peaks.len()),
                measured_median_bytes: h.and_then(history::History::median_peak),
                measured_max_bytes: h.and_then(history::History::max_peak),
                typical_duration_ms: h
                    .and_then(history::History::median_duration)
                    .map(|d| d.as_millis()),
                memory_limit_bytes: c.memory_limit,
                timeout_ms: c.timeout.map(|t| t.as_millis()),
                fix: c.fix,
                decision: decision_key(d),
                reason: d.reason(c, &sel),
                files: match d {
                    Decision::Run { files } => files.len(),
                    _ => 0,
                },
                hint: history::underestimate(c, h),
            }
        })
        .collect();
    let json = report::json_or_human(args.format)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if json {
        let doc = serde_json::json!({
            "version": 1,
            "hook": sel.hook,
            "settings": {
                "jobs": default_jobs(&config),
                "memory_cap_bytes": cap,
                "default_memory_bytes": config.settings.default_memory,
                "fail_fast": config.settings.fail_fast,
                "output_lines": config.settings.output_lines,
            },
            "checks": rows,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(exit::PASSED);
    }
    writeln!(
        out,
        "{} checks in {}; jobs {}, memory cap {}, default memory {}",
        rows.len(),
        display_path(&config.path).display(),
        default_jobs(&config),
        format_size(cap),
        format_size(config.settings.default_memory)
    )?;
    for r in &rows {
        let memory = match r.memory_source {
            "learned" => format!(
                "{} (learned: 90th percentile of {} measured runs + {:.0}%)",
                format_size(r.memory_bytes),
                r.measured_runs,
                history::MARGIN * 100.0
            ),
            source => format!("{} ({source})", format_size(r.memory_bytes)),
        };
        writeln!(out)?;
        writeln!(out, "{}  {}", console::style(r.name).bold(), r.reason)?;
        writeln!(out, "  run     {}", r.run)?;
        writeln!(out, "  hooks   {}", r.hooks.join(", "))?;
        if !r.glob.is_empty() {
            writeln!(out, "  glob    {}", r.glob.join(", "))?;
        }
        if !r.exclude.is_empty() {
            writeln!(out, "  exclude {}", r.exclude.join(", "))?;
        }
        if !r.needs.is_empty() {
            writeln!(out, "  needs   {}", r.needs.join(", "))?;
        }
        writeln!(out, "  memory  {memory}")?;
        if let (Some(median), Some(max)) = (r.measured_median_bytes, r.measured_max_bytes) {
            writeln!(
                out,
                "  peaks   median {}, max {} over the last {} runs",
                format_size(median),
                format_size(max),
                r.measured_runs
            )?;
        }
        if let Some(ms) = r.typical_duration_ms {
            writeln!(
                out,
                "  time    typically {}",
                crate::units::format_duration(std::time::Duration::from_millis(ms as u64))
            )?;
        }
        if let Some(hint) = &r.hint {
            writeln!(out, "  hint    {hint}")?;
        }
    }
    Ok(exit::PASSED)
}

#[derive(Serialize)]
struct ListRow<'a> {
    name: &'a str,
    run: String,
    hooks: &'a [String],
    glob: &'a [String],
    exclude: &'a [String],
    needs: &'a [String],
    dir: Option<&'a str>,
    memory_bytes: u64,
    memory_declared: bool,
    memory_source: &'static str,
    measured_runs: usize,
    measured_median_bytes: Option<u64>,
    measured_max_bytes: Option<u64>,
    typical_duration_ms: Option<u128>,
    memory_limit_bytes: Option<u64>,
    timeout_ms: Option<u128>,
    fix: bool,
    decision: &'static str,
    reason: String,
    files: usize,
    hint: Option<String>,
}

fn decision_key(d: &Decision) -> &'static str {
    match d {
        Decision::Run { .. } => "run",
        Decision::NoFiles => "skipped_no_files",
        Decision::NotInHook => "not_in_hook",
        Decision::NotSelected => "not_selected",
        Decision::SkippedByUser => "skipped_by_user",
        Decision::OtherShard => "other_shard",
    }
}

fn load_config(repo: &Repo, path: Option<PathBuf>) -> Result<Config> {
    let path = path.unwrap_or_else(|| repo.root().join("checks.toml"));
    config::load(&display_path(&path))
}

/// A path as the user would write it from here: relative when below the
/// current directory.
fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

fn default_jobs(config: &Config) -> usize {
    config.settings.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

/// The cap in bytes: the flag, else the setting, else a share of what is available.
fn memory_cap(config: &Config, flag: Option<&str>) -> Result<u64> {
    let cap = match flag {
        Some(text) => {
            Some(config::parse_memory_cap(text).map_err(|e| anyhow::anyhow!("--memory: {e}"))?)
        }
        None => config.settings.memory,
    };
    Ok(match cap {
        Some(MemoryCap::Bytes(b)) => b,
        Some(MemoryCap::Percent(p)) => (proc::total() as f64 * p / 100.0) as u64,
        None => (proc::available() as f64 * DEFAULT_CAP_SHARE) as u64,
    }
    .max(1))
}

/// What the change is, from the command line.
fn change_of(repo: &Repo, args: &FileArgs) -> Result<Change> {
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

/// The change's files, relative to the repository root.
fn files_of(repo: &Repo, change: &Change) -> Result<Vec<PathBuf>> {
    match change {
        Change::Staged => repo.staged_files(),
        Change::All => repo.tracked_files(),
        // Only files: a folder (or a submodule's) named on the command line is not one.
        Change::Files(f) => Ok(f
            .iter()
            .filter(|p| !repo.root().join(p).is_dir())
            .cloned()
            .collect()),
        Change::Pushed(f) => Ok(f.clone()),
        Change::Range(from, to) => repo.files_between(from, to),
    }
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

/// The scheduler's jobs for the checks that run, and each check's job index.
fn jobs(
    config: &Config,
    plan: &Plan,
    repo: &Repo,
    run_dir: &runs::RunDir,
    msg: Option<&Path>,
    cached: &[Option<cache::Entry>],
    past: &HashMap<String, history::History>,
) -> (Vec<Job>, Vec<Option<usize>>) {
    let mut job_of = vec![None; config.checks.len()];
    let mut n = 0;
    for (i, d) in plan.decisions.iter().enumerate() {
        if d.runs() {
            job_of[i] = Some(n);
            n += 1;
        }
    }
    let mut jobs = Vec::with_capacity(n);
    let mut fix = Vec::with_capacity(n);
    let mut files_of_job = Vec::with_capacity(n);
    for (i, check) in config.checks.iter().enumerate() {
        let Decision::Run { files } = &plan.decisions[i] else {
            continue;
        };
        let needs = check
            .needs
            .iter()
            .filter_map(|name| {
                let k = config.checks.iter().position(|c| &c.name == name)?;
                job_of[k]
            })
            .collect();
        jobs.push(Job {
            name: check.name.clone(),
            batches: spawn::invocations(check, repo.root(), files, msg).map_err(|p| p.0),
            log: run_dir.log_path(&check.name),
            memory: history::expected_memory(
                check,
                past.get(&check.name),
                config.settings.default_memory,
            )
            .0,
            memory_limit: check.memory_limit,
            timeout: check.timeout,
            needs,
            expected: past
                .get(&check.name)
                .and_then(history::History::median_duration),
            exclusive_with: Vec::new(),
            after: Vec::new(),
            cached: cached[i].as_ref().map(cache::Entry::age),
        });
        fix.push(check.fix);
        files_of_job.push(Files::of(check, files));
    }
    let needs: Vec<Vec<usize>> = jobs.iter().map(|j| j.needs.clone()).collect();
    let order = fixes::order(&fix, &files_of_job, &needs);
    for ((job, exclusive), after) in jobs
        .iter_mut()
        .zip(fixes::exclusions(&fix, &files_of_job))
        .zip(order)
    {
        job.exclusive_with = exclusive;
        job.after = after;
    }
    (jobs, job_of)
}

#[allow(clippy::too_many_arguments)]
fn summary(
    config: &Config,
    plan: &Plan,
    jobs: &[Job],
    job_of: &[Option<usize>],
    result: scheduler::RunResult,
    started: Instant,
    run_id: &str,
    opts: &scheduler::Options,
) -> Summary {
    let lines = config.settings.output_lines;
    let mut entries = Vec::new();
    for (i, check) in config.checks.iter().enumerate() {
        match (&plan.decisions[i], job_of[i]) {
            (Decision::Run { .. }, Some(j)) => {
                let mut outcome: Outcome = result.outcomes[j].clone();
                let log = jobs[j].log.exists().then(|| jobs[j].log.clone());
                let tail = match &log {
                    Some(p) if outcome.status.is_failure() => report::tail(p, lines),
                    _ => Tail::default(),
                };
                if outcome.status == Status::Failed && outcome.exit_code == Some(127) {
                    if let Some(program) = spawn::missing_program(&tail.text) {
                        outcome.detail = Some(format!(
                            "program `{program}` not found\nhint: install it, or fix `run` in checks.toml"
                        ));
                    }
                }
                entries.push(Entry::new(&check.name, &outcome, log, tail));
            }
            (Decision::NoFiles, _) => {
                let outcome = Outcome::unstarted(Status::SkippedNoFiles, None);
                entries.push(Entry::new(&check.name, &outcome, None, Tail::default()));
            }
            (Decision::SkippedByUser, _) => {
                let outcome = Outcome::unstarted(Status::SkippedByUser, None);
                entries.push(Entry::new(&check.name, &outcome, None, Tail::default()));
            }
            _ => {}
        }
    }
    let interrupted = result.interrupted_by.is_some();
    let exit_code = match result.interrupted_by {
        Some(sig) => exit::for_signal(sig),
        None if entries.iter().any(|e| e.status.is_failure()) => exit::FAILED,
        None => exit::PASSED,
    };
    let mut warnings: Vec<String> = jobs
        .iter()
        .filter(|j| j.memory > opts.cap)
        .map(|j| {
            format!(
                "check `{}` expects {}, more than the {} cap; it ran alone",
                j.name,
                format_size(j.memory),
                format_size(opts.cap)
            )
        })
        .collect();
    // A declared figure far below what the check used undermines the cap.
    for (check, e) in config.checks.iter().filter_map(|c| {
        let e = entries.iter().find(|e| e.name == c.name)?;
        Some((c, e))
    }) {
        if let Some(declared) = check.memory.filter(|&d| e.peak > d.saturating_mul(2)) {
            warnings.push(format!(
                "check `{}` declares memory = \"{}\" but used {}: raise it so the cap holds",
                check.name,
                format_size(declared),
                format_size(e.peak)
            ));
        }
    }
    Summary {
        run_id: run_id.to_string(),
        entries,
        duration: started.elapsed(),
        peak: result.peak,
        interrupted,
        exit_code,
        output_lines: lines,
        warnings,
        stashed: 0,
        modified: Vec::new(),
        fix_conflicts: Vec::new(),
        fix_merged: Vec::new(),
        fix_patch: None,
    }
}
