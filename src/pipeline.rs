//! The pipeline: the ordered stages of one run, and the only place its exit
//! status is decided. files → plan → (lock, snapshot) → scheduler → cache
//! and fixes → restore → report → record. A command builds a [`Request`];
//! nothing here parses arguments or writes to the terminal (the report does).

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Result;

use crate::config::{self, Config, MemoryCap};
use crate::env;
use crate::exec::ledger::Ledger;
use crate::exec::scheduler::{self, Job, Outcome, Status};
use crate::exec::spawn;
use crate::exec::supervisor::{self, Tee};
use crate::exit::Exit;
use crate::outcome::RunState;
use crate::plan::{self, Decision, Plan, Selection};
use crate::report::{self, Entry, Format, Reporter, Summary, Tail};
use crate::shard::{self, Shard};
use crate::store::cache::{self, Cache};
use crate::store::{history, runs, services};
use crate::sys::{proc, signal};
use crate::units::format_size;
use crate::worktree::drift;
use crate::worktree::fixes::{self, Files, Modified};
use crate::worktree::git::{Input, Repo, Unstaged};
use crate::worktree::lock::{self, TreeLock};
use crate::worktree::snapshot::{self, Snapshot};

/// `-q` and `-v`, for every command.
#[derive(Debug, Clone, Copy)]
pub struct Verbosity {
    pub quiet: bool,
    pub verbose: bool,
}

/// Share of the memory available at start used as the cap when none is set.
pub const DEFAULT_CAP_SHARE: f64 = 0.75;

/// Where the change's files come from.
pub enum Change {
    Staged,
    All,
    Files(Vec<PathBuf>),
    Range(String, String),
    Pushed(Vec<PathBuf>),
}

/// One run of checks, as `run` or a hook asks for it.
pub struct Request {
    /// What started the run: `run` or the hook's name.
    pub trigger: String,
    pub sel: Selection,
    pub change: Change,
    /// Set unstaged changes aside so checks see the staged content.
    pub stash: bool,
    /// Set untracked files aside too (with `stash`).
    pub hide_untracked: bool,
    /// Check this commit's content: its version of every file that differs
    /// is set aside in the work tree for the run.
    pub tip: Option<crate::worktree::git::Oid>,
    /// Stage the files that `stage_fixed` checks fixed.
    pub stage_fixes: bool,
    /// The commit message file, for `{msg}`.
    pub msg: Option<PathBuf>,
    /// What the hook was given (arguments, the message's bytes, the pushed
    /// refs), for the cache key.
    pub hook_inputs: Vec<u8>,
    /// Run every check, cached passes or not.
    pub no_cache: bool,
    pub jobs: Option<usize>,
    pub memory: Option<String>,
    pub fail_fast: bool,
    pub format: Format,
    pub out: Verbosity,
    /// Only this shard of the checks.
    pub shard: Option<Shard>,
}

/// Runs `req` on `config`: files → plan → (lock, snapshot) → scheduler →
/// cache and fixes → restore → report → record. Returns the verdict.
pub fn execute(repo: &Repo, config: &Config, req: Request) -> Result<Exit> {
    let enclosing = enclosing_run();
    // A run that sets unstaged changes aside has git list them (tens of
    // milliseconds on a big tree): started first, under a shared hold on
    // the work tree taken at once, it runs while the change's files and
    // the plan are worked out. The hold is then upgraded as any run's is.
    // Only on a big index (a small one is listed in process, nothing to
    // overlap), and when a check is sure to run whatever the change's files
    // (one given no files): a hook with nothing to run does not pay for it.
    let surely_runs =
        || plan::plan(config, &[], &req.sel).is_ok_and(|p| p.decisions.iter().any(Decision::runs));
    let wanted = req.stash && req.tip.is_none() && repo.lists_unstaged_with_git();
    let mut early = match (&enclosing, wanted && surely_runs()) {
        (None, true) => match TreeLock::try_acquire(repo.git_dir(), lock::Mode::Shared)? {
            lock::Attempt::Got(shared) => Some((shared, repo.start_unstaged()?)),
            lock::Attempt::Busy => None,
        },
        _ => None,
    };
    let files = files_of(repo, &req.change)?;
    let mut plan = plan::plan(config, &files, &req.sel)?;
    if let Some(shard) = req.shard {
        shard::keep(config, &mut plan, shard);
    }
    if req.out.verbose {
        report::reasons(config, &plan, &req.sel);
    }
    // One check to run needs one worker: the CPU count (std reads the
    // cgroup's CPU quota for it) is not looked up on a one-check hook.
    let running = plan.decisions.iter().filter(|d| d.runs()).count();
    let opts = scheduler::Options {
        jobs: req.jobs.unwrap_or_else(|| {
            if running <= 1 {
                1
            } else {
                default_jobs(config)
            }
        }),
        cap: memory_cap(config, req.memory.as_deref())?,
        fail_fast: req.fail_fast || config.settings.fail_fast,
    };
    let signals = signal::register()?;
    let fixers = fixes::running(config, &plan, &files);
    // check-case-conflict reads every name in the index: read here, from
    // the index already loaded, while git lists the unstaged changes.
    let reads_names = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .any(|(c, d)| d.runs() && c.reads_every_name());
    if early.is_some() && reads_names {
        // Only to have it known: a failure is the check's to report.
        let _ = repo.tracked_files();
    }
    // Readers of the work tree share it; a run that changes it (fixers, or
    // files to set aside, read under the lock) holds it alone.
    if let Some(owner) = &enclosing {
        // The enclosing run holds the work tree (alone, when it set changes
        // aside) until this check of it ends: waiting for it would never end.
        crate::report::errln!(
            "precheck: running inside a check of the precheck run of process {} (PRECHECK_OWNER): on the work tree as that run left it, setting nothing aside",
            owner.split('-').next().unwrap_or(owner)
        );
    }
    let (_lock, unstaged) = if enclosing.is_none() && plan.decisions.iter().any(Decision::runs) {
        let (shared, mut started) = match early.take() {
            Some((lock, started)) => (Some(lock), Some(started)),
            None => (None, None),
        };
        let held = TreeLock::for_run(
            repo.git_dir(),
            !fixers.is_empty(),
            shared,
            &signals.stop,
            || runs::holders(repo.git_dir()),
            || set_aside(repo, &req, started.take()),
        )?;
        let Some(held) = held else {
            return Ok(Exit::for_signal(signals.stop.load(Ordering::SeqCst) as i32));
        };
        (Some(held.lock), held.read)
    } else {
        // Nothing to run, or a run inside another's: git's listing of
        // unstaged changes is not wanted.
        drop(early.take());
        (None, Vec::new())
    };
    let source = match req.tip {
        Some(tip) => snapshot::Source::Commit(tip),
        None => snapshot::Source::Index,
    };
    let snapshot = Snapshot::take(repo, &unstaged, source)?;
    let run_dir = match std::env::var(env::RUN_ID) {
        Ok(id) => runs::RunDir::open(repo.git_dir(), &id)?,
        Err(_) => runs::RunDir::create(repo.git_dir(), Some(config.settings.keep_runs))?,
    };
    // Keys of the checks whose passes may be cached, and the passes found.
    let cache = Cache::open(repo.git_dir());
    let mut keys = cache_keys(repo, config, &plan, &req, &run_dir.path)?;
    let cached: Vec<Option<cache::Entry>> = keys
        .of
        .iter()
        .map(|k| k.as_deref().and_then(|k| cache.get(k)))
        .collect();
    let past = history::read(repo.git_dir());
    let (mut jobs, job_of) = jobs(
        config,
        &plan,
        repo,
        &run_dir,
        req.msg.as_deref(),
        (&cached, &past),
        &files,
    );
    // A check outliving a killed precheck must not write over files set
    // aside: while there are some, checks die with precheck.
    if snapshot.as_ref().is_some_and(|s| s.len() > 0) {
        for inv in jobs
            .iter_mut()
            .filter_map(|j| j.batches.as_mut().ok())
            .flatten()
        {
            inv.tied = true;
        }
    }
    let checks: Vec<(String, PathBuf)> = jobs
        .iter()
        .map(|j| (j.name.clone(), j.log.clone()))
        .collect();
    let mut recorder = runs::Recorder::new(&run_dir, &req.trigger, &checks)?;
    // The tree as the checks will see it is in place: look at it afresh.
    crate::reads::new_run();
    let before = fixes::before(repo.root(), &fixers);
    // A hook that passes says so in a line or two (the table with -v or
    // `hook_output = "table"`); `run` shows everything.
    let brief = req.trigger != "run" && !req.out.verbose && !config.settings.hook_table;
    let mut reporter = Reporter::new(
        req.format,
        req.out.quiet,
        brief,
        jobs.iter().map(|j| j.name.clone()).collect(),
    );
    // One ledger for every work tree of the repository: they share the machine.
    let mut ledger = Ledger::open(repo.common_dir()).ok();
    let kill_requests = || runs::take_kill_requests(&run_dir);
    let controls = supervisor::Controls {
        signal: &signals.stop,
        kill_asked: &signals.kill_asked,
        kill_requests: &kill_requests,
        ledger: ledger.as_mut(),
    };
    let started = Instant::now();
    let result = supervisor::run(
        &jobs,
        &opts,
        &mut Tee(&mut reporter, &mut recorder),
        controls,
    )?;
    let killed = result.killed;
    let mut modified = fixes::changed(repo.root(), &fixers, &before);
    // What changed in the tree while they ran (an editor, an agent, a
    // check): asked only when there is a pass to remember.
    let mark = keys.mark.take();
    let drift = || {
        let placed = snapshot.as_ref().map(Snapshot::placed);
        drift::since(
            mark,
            &keys.inputs,
            drift::Tree {
                root: repo.root().to_path_buf(),
                put: |rel: &Path, meta: &std::fs::Metadata| {
                    placed.as_ref().is_some_and(|p| p.holds(rel, meta))
                },
                // Not known: a change.
                ignored: |rel: &Path| repo.is_ignored(rel).unwrap_or(false),
                relist: || repo.inputs(keys.index_only).ok(),
            },
        )
    };
    cache.remember_passes(config, &keys.of, &jobs, &job_of, &result, &modified, drift);
    let stage = (req.stage_fixes && result.interrupted_by.is_none() && !killed).then_some(
        |conflicting: &[PathBuf]| fixes::stage(repo, config, &mut modified, conflicting),
    );
    let ended = snapshot::end(snapshot, stage)?;
    if let Some(r) = &ended.restored {
        report::notes(&r.kept_aside);
    }
    let summary = summary(
        config,
        &plan,
        &jobs,
        &job_of,
        result,
        started,
        &run_dir.id,
        modified,
        ended,
    );
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
                e.status,
                e.duration.as_millis() as u64,
                e.peak,
            )
        }),
    );
    let state = if killed {
        RunState::Killed
    } else {
        summary.state
    };
    recorder.finish(state, summary.exit.code())?;
    drop(ledger);
    if run_dir.may_exceed(config.settings.keep_runs) {
        runs::prune(repo.git_dir(), config.settings.keep_runs);
    }
    Ok(summary.exit)
}

/// The owner token of the live precheck run this process runs inside (a
/// check, or a hook a check's `git commit` started, that runs precheck):
/// the token every check inherits names a live process other than us.
fn enclosing_run() -> Option<String> {
    let token = std::env::var(env::OWNER).ok()?;
    (token != crate::sys::child::owner_token()
        && crate::sys::child::token_alive(&token) == Some(true))
    .then_some(token)
}

/// What a run sets aside, read under the work-tree lock: the work tree's
/// files that differ from a pushed tip, or the unstaged changes (and the
/// untracked files, when hidden) of a run on the staged content.
fn set_aside(repo: &Repo, req: &Request, started: Option<Unstaged>) -> Result<Vec<PathBuf>> {
    if let Some(tip) = req.tip {
        return repo.differing_from(tip);
    }
    if !req.stash {
        return Ok(Vec::new());
    }
    let mut unstaged = match started {
        Some(listing) => repo.unstaged_from(listing)?,
        None => repo.unstaged()?,
    };
    if req.hide_untracked {
        // Files only: a nested repository shows as a folder (`dir/`).
        unstaged.extend(
            repo.untracked()?
                .into_iter()
                .filter(|p| !p.as_os_str().as_bytes().ends_with(b"/")),
        );
        unstaged.sort();
    }
    Ok(unstaged)
}

/// The cache keys of the checks that run and may be cached, and the tree
/// they were made of.
struct Keys {
    of: Vec<Option<String>>,
    /// The files of the tree, as the keys hold them (none when no check
    /// has a key).
    inputs: Vec<Input>,
    /// Taken from the index (unstaged changes set aside), not the work tree.
    index_only: bool,
    /// Just before the tree was read: what changes from then on is new.
    mark: Option<drift::Mark>,
}

/// The cache key of each check that runs and may be cached.
fn cache_keys(
    repo: &Repo,
    config: &Config,
    plan: &Plan,
    req: &Request,
    run_dir: &Path,
) -> Result<Keys> {
    let wanted: Vec<bool> = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .map(|(c, d)| d.runs() && c.cache && config.settings.cache && !req.no_cache)
        .collect();
    // Checks see the index's content when unstaged changes are set aside,
    // else the work tree as it is.
    let index_only = req.stash && matches!(req.change, Change::Staged);
    if !wanted.contains(&true) {
        return Ok(Keys {
            of: vec![None; config.checks.len()],
            inputs: Vec::new(),
            index_only,
            mark: None,
        });
    }
    // From before the tree is read (a big tree's folders watched).
    let mark = drift::Mark::now(run_dir, repo.root(), repo.index_len()?, || {
        repo.tracked_files().ok()
    });
    let inputs = repo.inputs(index_only)?;
    let mut hook_inputs = req.hook_inputs.clone();
    // Hidden untracked files are not seen: another tree, another key.
    hook_inputs.extend_from_slice(if req.stash && req.hide_untracked {
        b" untracked=hide"
    } else {
        b" untracked=show"
    });
    let context = cache::Context::new(&req.sel.hook, &hook_inputs);
    let of = config
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
        .collect();
    Ok(Keys {
        of,
        inputs,
        index_only,
        mark,
    })
}

pub fn default_jobs(config: &Config) -> usize {
    config.settings.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

/// The cap in bytes: the flag, else the setting, else a share of what is available.
pub fn memory_cap(config: &Config, flag: Option<&str>) -> Result<u64> {
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

/// The change's files, relative to the repository root.
pub fn files_of(repo: &Repo, change: &Change) -> Result<Vec<PathBuf>> {
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

/// The scheduler's jobs for the checks that run, then for the services
/// they need; and each check's job index.
fn jobs(
    config: &Config,
    plan: &Plan,
    repo: &Repo,
    run_dir: &runs::RunDir,
    msg: Option<&Path>,
    // What was learned before: cached passes, and each check's history.
    (cached, past): (&[Option<cache::Entry>], &HashMap<String, history::History>),
    change: &[PathBuf],
) -> (Vec<Job>, Vec<Option<usize>>) {
    let mut job_of = vec![None; config.checks.len()];
    let mut n = 0;
    for (i, d) in plan.decisions.iter().enumerate() {
        if d.runs() {
            job_of[i] = Some(n);
            n += 1;
        }
    }
    // The services the checks that will run need (not those whose passes
    // are cached), in file order, after them.
    let needed: Vec<&config::Service> = config
        .services
        .iter()
        .filter(|s| {
            config
                .checks
                .iter()
                .zip(&plan.decisions)
                .zip(cached)
                .any(|((c, d), hit)| d.runs() && hit.is_none() && c.needs.contains(&s.name))
        })
        .collect();
    let job_named = |name: &str| -> Option<usize> {
        match config.checks.iter().position(|c| c.name == name) {
            Some(k) => job_of[k],
            None => needed.iter().position(|s| s.name == name).map(|k| n + k),
        }
    };
    let mut jobs = Vec::with_capacity(n + needed.len());
    let mut fix = Vec::with_capacity(n);
    let mut files_of_job = Vec::with_capacity(n);
    let universe = fixes::Universe::of(change);
    for (i, check) in config.checks.iter().enumerate() {
        let Decision::Run { files } = &plan.decisions[i] else {
            continue;
        };
        let needs = check
            .needs
            .iter()
            .filter_map(|name| job_named(name))
            .collect();
        jobs.push(Job {
            name: check.name.clone(),
            batches: spawn::invocations(&check.command(), repo.root(), files, msg).map_err(|p| p.0),
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
            service: None,
        });
        fix.push(check.fix);
        files_of_job.push(Files::of(check, files, &universe));
    }
    // Fixers order checks only: a service reads no files.
    let needs: Vec<Vec<usize>> = jobs
        .iter()
        .map(|j| j.needs.iter().copied().filter(|&k| k < n).collect())
        .collect();
    let order = fixes::order(&fix, &files_of_job, &needs);
    for ((job, exclusive), after) in jobs
        .iter_mut()
        .zip(fixes::exclusions(&fix, &files_of_job))
        .zip(order)
    {
        job.exclusive_with = exclusive;
        job.after = after;
    }
    for service in needed {
        jobs.push(Job {
            name: service.name.clone(),
            batches: spawn::invocations(&service.command(), repo.root(), &[], None)
                .map_err(|p| p.0),
            log: run_dir.log_path(&service.name),
            memory: service.memory.unwrap_or(config.settings.default_memory),
            memory_limit: None,
            timeout: None,
            needs: Vec::new(),
            after: Vec::new(),
            expected: None,
            exclusive_with: Vec::new(),
            cached: None,
            service: Some(scheduler::ServiceJob {
                ready: service.ready.clone(),
                ready_timeout: service.ready_timeout,
                reused: services::running_elsewhere(repo.git_dir(), service),
            }),
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
    result: supervisor::RunResult,
    started: Instant,
    run_id: &str,
    modified: Vec<Modified>,
    ended: snapshot::Ended,
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
            (Decision::Skipped { reason }, _) => {
                let outcome = Outcome::unstarted(Status::SkippedByCondition, Some(reason.clone()));
                entries.push(Entry::new(&check.name, &outcome, None, Tail::default()));
            }
            _ => {}
        }
    }
    // The services the checks needed, after them.
    for (j, job) in jobs.iter().enumerate().filter(|(_, j)| j.service.is_some()) {
        let outcome = &result.outcomes[j];
        let log = job.log.exists().then(|| job.log.clone());
        let tail = match &log {
            Some(p) if outcome.status.is_failure() => report::tail(p, lines),
            _ => Tail::default(),
        };
        let reused = job.service.as_ref().is_some_and(|s| s.reused.is_some());
        entries.push(Entry::new(&job.name, outcome, log, tail).service(reused));
    }
    // (A check over the whole cap was announced by the scheduler, once.)
    let mut warnings = Vec::new();
    for (check, e) in config.checks.iter().filter_map(|c| {
        let e = entries.iter().find(|e| e.name == c.name)?;
        Some((c, e))
    }) {
        if let Some(declared) = check.memory.filter(|&d| history::underestimated(d, e.peak)) {
            warnings.push(format!(
                "check `{}` declares memory = \"{}\" but used {}: raise it so the cap holds",
                check.name,
                format_size(declared),
                format_size(e.peak)
            ));
        }
    }
    let restored = ended.restored.unwrap_or_default();
    // The verdict, decided here and only here.
    let failed = entries.iter().any(|e| e.status.is_failure())
        // A run whose checks passed but left changes to review fails too.
        || modified.iter().any(|m| !m.staged)
        || !restored.conflicts.is_empty();
    let (state, exit) = match result.interrupted_by {
        Some(sig) => (RunState::Interrupted, Exit::for_signal(sig)),
        None if failed => (RunState::Failed, Exit::Failed),
        None => (RunState::Passed, Exit::Passed),
    };
    Summary {
        run_id: run_id.to_string(),
        entries,
        duration: started.elapsed(),
        peak: result.peak,
        state,
        exit,
        output_lines: lines,
        warnings,
        stashed: ended.stashed,
        modified,
        fix_conflicts: restored.conflicts,
        fix_merged: restored.merged,
        fix_patch: restored.patch,
    }
}
