//! `precheck run` and `precheck hook`: what the user or git asked for,
//! turned into a pipeline request (pre-push: one per pushed ref, each on
//! its own content and with its own checks.toml).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::cli::{HookArgs, RunArgs, ShimArgs};
use crate::commands::{
    change_of, display_path, install, load_config, local_path, selection, warn_unknown_skips,
};
use crate::config::{self, Config};
use crate::env;
use crate::exit::Exit;
use crate::pipeline::{self, Change, Request, Verbosity};
use crate::report::Format;
use crate::store::runs::{Meta, RunDir};
use crate::worktree::git::{self, Repo};
use crate::worktree::snapshot;

pub fn run(config_path: Option<PathBuf>, args: RunArgs, out: Verbosity) -> Result<Exit> {
    let repo = snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    if args.background {
        return start_background(&repo);
    }
    let change = change_of(&repo, &args.files)?;
    let staged = matches!(change, Change::Staged);
    let req = Request {
        trigger: "run".into(),
        sel: selection(&repo, args.checks, args.files.hook),
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
    pipeline::execute(&repo, &config, req)
}

pub fn hook(config_path: Option<PathBuf>, args: HookArgs, out: Verbosity) -> Result<Exit> {
    checks_of_hook(config_path, args, None, out)
}

/// What git starts through an exec shim (its `#!` line): the hook named by
/// the shim's file name, with the config given at install, its legacy hook
/// looked for beside the shim (the folder git ran it from).
pub fn shim(config_path: Option<PathBuf>, args: ShimArgs, out: Verbosity) -> Result<Exit> {
    let (name, config) = install::read_exec_shim(&args.path)?;
    let hooks_dir = args.path.parent().map(Path::to_path_buf);
    let hook = HookArgs {
        name,
        args: args.args,
    };
    checks_of_hook(config.or(config_path), hook, hooks_dir, out)
}

fn checks_of_hook(
    config_path: Option<PathBuf>,
    args: HookArgs,
    hooks_dir: Option<PathBuf>,
    out: Verbosity,
) -> Result<Exit> {
    let repo = snapshot::open_repo()?;
    let mut stdin = Vec::new();
    if args.name == "pre-push" {
        std::io::stdin()
            .read_to_end(&mut stdin)
            .context("cannot read the pushed refs from stdin")?;
    }
    if let Some(code) =
        install::run_legacy(&repo, hooks_dir.as_deref(), &args.name, &args.args, &stdin)?
    {
        if code != 0 {
            crate::report::errln!(
                "precheck: the {}.legacy hook failed (exit {code}); precheck's checks did not run",
                args.name
            );
            // A status git sees as a failure, whatever the hook returned.
            return Ok(Exit::Legacy(
                u8::try_from(code).ok().filter(|&c| c != 0).unwrap_or(1),
            ));
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
                crate::report::errln!(
                    "precheck: using {} as staged; the work tree's differs (stage it to use it)",
                    shown.display()
                );
            }
            config::parse_bytes(&shown, bytes, Some(&local_path(&repo)))?
        }
        None if !path.exists() => {
            crate::report::errln!(
                "precheck: no {} in this checkout: no {} checks ran (`precheck uninstall` removes the hook)",
                display_path(&path).display(),
                args.name
            );
            return Ok(Exit::Passed);
        }
        None => config::load(&display_path(&path), Some(&local_path(&repo)))?,
    };
    super::warn_tracked_local(&repo, &config);
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
    let mut sel = selection(&repo, Vec::new(), selected_hook);
    // git runs pre-merge-commit before it writes MERGE_HEAD: the hook is
    // the sign of the merge.
    sel.facts.merging |= args.name == "pre-merge-commit";
    let req = Request {
        trigger: args.name.clone(),
        sel,
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
    pipeline::execute(&repo, &config, req)
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
) -> Result<Exit> {
    let head = repo.head();
    let many = pushes.len() > 1;
    let mut worst = Exit::Passed;
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
            crate::report::errln!(
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
                Some(config::parse_bytes(
                    Path::new(&shown),
                    bytes,
                    Some(&local_path(repo)),
                )?)
            }
            None => None,
        };
        let code = pipeline::execute(repo, own.as_ref().unwrap_or(config), req)?;
        if code.interrupted() {
            return Ok(code);
        }
        worst = worst.worst(code);
    }
    Ok(worst)
}

/// Starts this same `precheck run` detached, in its own session, and
/// returns at once: the run id on stdout, how to follow it on stderr.
pub fn start_background(repo: &Repo) -> Result<Exit> {
    let run = RunDir::create(repo.git_dir(), None)?;
    let output = crate::fsutil::create_private(&run.path.join("output.log"))?;
    let exe = std::env::current_exe().context("cannot find precheck's own path")?;
    let args = std::env::args_os().skip(1).filter(|a| a != "--background");
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env(crate::env::RUN_ID, &run.id)
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    // SAFETY: setsid is async-signal-safe; it runs in the child before exec,
    // so closing the terminal or the calling shell does not reach the run.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().context("cannot start the background run")?;
    let pid = child.id();
    // A first record, so `wait` or `tasks` called right away find the run;
    // the run itself rewrites it in full when it starts.
    let meta = Meta::started(&run.id, "run", pid, &[]);
    // Only if the run has not written its own yet: a hard link never
    // replaces an existing file, so the race goes either way safely.
    let meta_path = run.path.join("meta.json");
    let first = run.path.join("meta.first.json");
    crate::fsutil::create_private(&first)?.write_all(&serde_json::to_vec_pretty(&meta)?)?;
    let _ = fs::hard_link(&first, &meta_path);
    let _ = fs::remove_file(&first);
    crate::report::outln!("{}", run.id);
    crate::report::errln!(
        "started run {id} in the background (pid {pid})\n  follow: precheck log --run {id} -f CHECK   (or without CHECK: its checks)\n  wait:   precheck wait --run {id}\n  stop:   precheck kill --run {id}\n  list:   precheck tasks",
        id = run.id
    );
    Ok(Exit::Passed)
}
