//! One short, straight-line function per subcommand, wiring the stages:
//! config → plan → scheduler → report. No stage is skipped or reordered here.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{Cli, Command, FileArgs, ListArgs, RunArgs};
use crate::config::{self, format_size, Config, MemoryCap};
use crate::git::Repo;
use crate::plan::{self, Decision, Plan, Selection};
use crate::report::{self, Entry, Format, Reporter, Summary, Tail};
use crate::scheduler::{self, Job, Outcome, Status};
use crate::{exit, init, memory, runner, runs};

pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run(cli.config, args),
        Command::List(args) => list(cli.config, args),
        Command::Init(args) => init::init(args.force),
    }
}

/// Share of the memory available at start used as the cap when none is set.
pub const DEFAULT_CAP_SHARE: f64 = 0.75;

fn run(config_path: Option<PathBuf>, args: RunArgs) -> Result<i32> {
    let repo = Repo::open()?;
    let config = load_config(&repo, config_path)?;
    let files = change_files(&repo, &args.files)?;
    let sel = Selection {
        names: args.checks.clone(),
        hook: args.files.hook.clone(),
    };
    let plan = plan::plan(&config, &files, &sel)?;
    let opts = scheduler::Options {
        jobs: args
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(|| default_jobs(&config)),
        cap: memory_cap(&config, args.memory.as_deref())?,
        fail_fast: args.fail_fast || config.settings.fail_fast,
    };
    let run_dir = runs::RunDir::create(repo.git_dir())?;
    let (jobs, job_of) = jobs(&config, &plan, &repo, &run_dir);
    let names = jobs.iter().map(|j| j.name.clone()).collect();
    let mut reporter = Reporter::new(args.format, args.quiet, names);
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)?;
    }
    let started = Instant::now();
    let result = scheduler::run(&jobs, &opts, &mut reporter, &signal)?;
    let summary = summary(
        &config,
        &plan,
        &jobs,
        &job_of,
        result,
        started,
        &run_dir.id,
        &opts,
    );
    reporter.finish(&summary)?;
    run_dir.write_result(&report::json(&summary))?;
    runs::prune(repo.git_dir(), runs::KEEP_RUNS);
    Ok(summary.exit_code)
}

fn list(config_path: Option<PathBuf>, args: ListArgs) -> Result<i32> {
    let repo = Repo::open()?;
    let config = load_config(&repo, config_path)?;
    let files = change_files(&repo, &args.files)?;
    let sel = Selection {
        names: Vec::new(),
        hook: args.files.hook.clone(),
    };
    let plan = plan::plan(&config, &files, &sel)?;
    let cap = memory_cap(&config, None)?;
    let rows: Vec<ListRow> = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .map(|(c, d)| ListRow {
            name: &c.name,
            run: c.run.display(),
            hooks: &c.hooks,
            glob: &c.glob,
            exclude: &c.exclude,
            needs: &c.needs,
            dir: c.dir.as_deref(),
            memory_bytes: c.memory.unwrap_or(config.settings.default_memory),
            memory_declared: c.memory.is_some(),
            memory_limit_bytes: c.memory_limit,
            timeout_ms: c.timeout.map(|t| t.as_millis()),
            fix: c.fix,
            decision: decision_key(d),
            reason: d.reason(c, &sel),
            files: match d {
                Decision::Run { files } => files.len(),
                _ => 0,
            },
        })
        .collect();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.format == Format::Json {
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
        let memory = if r.memory_declared {
            format_size(r.memory_bytes)
        } else {
            format!("{} (default)", format_size(r.memory_bytes))
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
    memory_limit_bytes: Option<u64>,
    timeout_ms: Option<u128>,
    fix: bool,
    decision: &'static str,
    reason: String,
    files: usize,
}

fn decision_key(d: &Decision) -> &'static str {
    match d {
        Decision::Run { .. } => "run",
        Decision::NoFiles => "skipped_no_files",
        Decision::NotInHook => "not_in_hook",
        Decision::NotSelected => "not_selected",
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
        Some(MemoryCap::Percent(p)) => (memory::total() as f64 * p / 100.0) as u64,
        None => (memory::available() as f64 * DEFAULT_CAP_SHARE) as u64,
    }
    .max(1))
}

/// The change's files, relative to the repository root.
fn change_files(repo: &Repo, args: &FileArgs) -> Result<Vec<PathBuf>> {
    if args.all {
        return repo.tracked_files();
    }
    if args.files.is_empty() {
        return repo.staged_files();
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    args.files
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
        .collect()
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
) -> (Vec<Job>, Vec<Option<usize>>) {
    let mut job_of = vec![None; config.checks.len()];
    let mut n = 0;
    for (i, d) in plan.decisions.iter().enumerate() {
        if d.runs() {
            job_of[i] = Some(n);
            n += 1;
        }
    }
    let durations = runs::recent_durations(repo.git_dir(), 5);
    let mut jobs = Vec::with_capacity(n);
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
            batches: runner::invocations(check, repo.root(), files).map_err(|p| p.0),
            log: run_dir.log_path(&check.name),
            memory: check.memory.unwrap_or(config.settings.default_memory),
            memory_limit: check.memory_limit,
            timeout: check.timeout,
            needs,
            expected: durations.get(&check.name).copied(),
        });
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
                    if let Some(program) = runner::missing_program(&tail.text) {
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
            _ => {}
        }
    }
    let interrupted = result.interrupted_by.is_some();
    let exit_code = match result.interrupted_by {
        Some(sig) => exit::for_signal(sig),
        None if entries.iter().any(|e| e.status.is_failure()) => exit::FAILED,
        None => exit::PASSED,
    };
    let warnings = jobs
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
    Summary {
        run_id: run_id.to_string(),
        entries,
        duration: started.elapsed(),
        peak: result.peak,
        interrupted,
        exit_code,
        output_lines: lines,
        warnings,
    }
}
