//! Runs as tasks: the commands that read run records (`tasks`, `log`,
//! `wait`) or act on a running run (`kill`, `clean`). No daemon: a background run is a detached precheck
//! process that records itself under the git dir like any other run.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cli::{CleanArgs, KillArgs, LogArgs, TasksArgs, WaitArgs};
use crate::config::parse_duration;
use crate::exit::Exit;
use crate::outcome::{CheckState, RunState, Status};
use crate::report::{self, TextFormat};
use crate::store::runs::{self, Meta};
use crate::units::format_duration;
use crate::worktree::git::Repo;

const POLL: Duration = Duration::from_millis(100);

#[derive(Serialize)]
struct Counts {
    passed: usize,
    failed: usize,
    running: usize,
    waiting: usize,
    skipped: usize,
}

fn counts(m: &Meta) -> Counts {
    let ended = |f: fn(Status) -> bool| {
        m.checks
            .iter()
            .filter(|c| c.state.ended().is_some_and(f))
            .count()
    };
    Counts {
        passed: ended(|s| s == Status::Passed),
        failed: ended(Status::is_failure),
        running: m.count(CheckState::RUNNING),
        waiting: m.count(CheckState::WAITING),
        skipped: ended(|s| {
            matches!(
                s,
                Status::SkippedNeeds | Status::SkippedNoFiles | Status::SkippedByUser
            )
        }),
    }
}

#[derive(Serialize)]
struct TaskRow<'a> {
    id: &'a str,
    trigger: &'a str,
    state: RunState,
    started_at: String,
    duration_ms: u64,
    pid: u32,
    checks: Counts,
}

fn row(m: &Meta) -> TaskRow<'_> {
    TaskRow {
        id: &m.id,
        trigger: &m.trigger,
        state: m.state(),
        started_at: runs::rfc3339(m.started_ms),
        duration_ms: m.duration_ms(),
        pid: m.pid,
        checks: counts(m),
    }
}

fn describe_counts(c: &Counts) -> String {
    let mut parts = Vec::new();
    for (n, word) in [
        (c.passed, "passed"),
        (c.failed, "failed"),
        (c.running, "running"),
        (c.waiting, "waiting"),
        (c.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        "no checks".into()
    } else {
        parts.join(", ")
    }
}

pub fn tasks(repo: &Repo, args: TasksArgs) -> Result<Exit> {
    let json = args.format == TextFormat::Json;
    let runs = runs::list(repo.git_dir());
    let mut out = crate::report::stdout();
    if json {
        let rows: Vec<TaskRow> = runs.iter().map(row).collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": rows }))?
        )?;
        return Ok(Exit::Passed);
    }
    if runs.is_empty() {
        writeln!(out, "no runs recorded yet")?;
        return Ok(Exit::Passed);
    }
    let id_w = runs.iter().map(|m| m.id.len()).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:id_w$}  {:10}  {:11}  {:20}  {:>8}  CHECKS",
        "ID", "TRIGGER", "STATE", "STARTED", "TIME"
    )?;
    for m in &runs {
        let r = row(m);
        let started = r.started_at.replace('T', " ");
        writeln!(
            out,
            "{:id_w$}  {:10}  {:11}  {:20}  {:>8}  {}",
            r.id,
            r.trigger,
            r.state,
            &started[..19.min(started.len())],
            format_duration(Duration::from_millis(r.duration_ms)),
            describe_counts(&r.checks)
        )?;
    }
    Ok(Exit::Passed)
}

/// Copies what the file holds from `offset` on to stdout; returns the new offset.
fn copy_from(path: &std::path::Path, offset: u64, out: &mut impl Write) -> Result<u64> {
    let Ok(mut f) = File::open(path) else {
        return Ok(offset);
    };
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    out.write_all(&buf)?;
    out.flush()?;
    Ok(offset + buf.len() as u64)
}

pub fn log(repo: &Repo, args: LogArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    let meta = runs::find(git_dir, args.run.as_deref())?;
    let mut out = crate::report::stdout();
    let Some(name) = args.check else {
        if args.format == TextFormat::Json {
            writeln!(out, "{}", serde_json::to_string_pretty(&log_json(&meta))?)?;
            return Ok(Exit::Passed);
        }
        writeln!(
            out,
            "run {} ({}): {}, {}",
            meta.id,
            meta.trigger,
            meta.state(),
            describe_counts(&counts(&meta))
        )?;
        for c in &meta.checks {
            writeln!(out, "  {:20} {}", c.name, c.state)?;
        }
        for c in meta
            .checks
            .iter()
            .filter(|c| c.state.ended().is_some_and(Status::is_failure))
        {
            writeln!(out, "\n── {} {} ──", c.name, c.state)?;
            let tail = report::tail(&c.log, args.tail.unwrap_or(10));
            if !tail.text.is_empty() {
                writeln!(out, "{}", tail.text)?;
            }
            writeln!(out, "(full log: precheck log {} --run {})", c.name, meta.id)?;
        }
        return Ok(Exit::Passed);
    };
    let check = meta
        .checks
        .iter()
        .find(|c| c.name == name)
        .with_context(|| {
            let names: Vec<&str> = meta.checks.iter().map(|c| c.name.as_str()).collect();
            format!(
                "run {} has no check `{name}`; its checks: {}",
                meta.id,
                names.join(", ")
            )
        })?
        .clone();
    if args.format == TextFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&log_json(&meta))?)?;
        return Ok(Exit::Passed);
    }
    let mut offset = match args.tail {
        Some(n) => {
            let tail = report::tail(&check.log, n);
            if !tail.text.is_empty() {
                writeln!(out, "{}", tail.text)?;
            }
            fs::metadata(&check.log).map_or(0, |m| m.len())
        }
        None => copy_from(&check.log, 0, &mut out)?,
    };
    if !args.follow {
        return Ok(Exit::Passed);
    }
    loop {
        let now = runs::find(git_dir, Some(&meta.id))?;
        let state = now
            .checks
            .iter()
            .find(|c| c.name == name)
            .map_or(CheckState::Ended(Status::NotStarted), |c| c.state);
        let ended = state.ended().is_some() || now.state() == RunState::Crashed;
        offset = copy_from(&check.log, offset, &mut out)?;
        if ended {
            return Ok(Exit::Passed);
        }
        std::thread::sleep(POLL);
    }
}

fn log_json(meta: &Meta) -> serde_json::Value {
    serde_json::json!({
        "run": meta.id,
        "state": meta.state(),
        "checks": meta.checks.iter().map(|c| serde_json::json!({
            "name": c.name,
            "state": c.state,
            "duration_ms": c.duration_ms,
            "log": c.log,
        })).collect::<Vec<_>>(),
    })
}

pub fn wait(repo: &Repo, args: WaitArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    let timeout = args
        .timeout
        .as_deref()
        .map(|t| parse_duration(t).map_err(|e| anyhow::anyhow!("--timeout: {e}")))
        .transpose()?;
    let ids: Vec<String> = if !args.runs.is_empty() {
        for id in &args.runs {
            runs::find(git_dir, Some(id))?;
        }
        args.runs.clone()
    } else {
        let all = runs::list(git_dir);
        let going: Vec<String> = all
            .iter()
            .filter(|m| !m.finished())
            .map(|m| m.id.clone())
            .collect();
        if going.is_empty() {
            vec![runs::find(git_dir, None)?.id]
        } else {
            going
        }
    };
    let start = Instant::now();
    let finals = loop {
        let metas: Vec<Meta> = ids
            .iter()
            .map(|id| runs::find(git_dir, Some(id)))
            .collect::<Result<_>>()?;
        if metas.iter().all(Meta::finished) {
            break metas;
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            crate::report::errln!(
                "precheck: still running after {}",
                args.timeout.unwrap_or_default()
            );
            return Ok(Exit::WaitTimeout);
        }
        std::thread::sleep(POLL);
    };
    let ok = finals.iter().all(|m| m.state() == RunState::Passed);
    let mut out = crate::report::stdout();
    if args.format == TextFormat::Json {
        let runs: Vec<serde_json::Value> = finals
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "state": m.state(),
                    "exit_code": m.exit_code,
                    "duration_ms": m.duration_ms(),
                    "checks": m.checks.iter().map(|c| serde_json::json!({
                        "name": c.name, "state": c.state, "duration_ms": c.duration_ms, "log": c.log,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))?
        );
    } else {
        for m in &finals {
            let _ = writeln!(
                out,
                "run {}: {} in {}: {}",
                m.id,
                m.state(),
                format_duration(Duration::from_millis(m.duration_ms())),
                describe_counts(&counts(m))
            );
            for c in m
                .checks
                .iter()
                .filter(|c| c.state != CheckState::Ended(Status::Passed))
            {
                let _ = writeln!(
                    out,
                    "  {:20} {}  (precheck log {} --run {})",
                    c.name, c.state, c.name, m.id
                );
            }
        }
    }
    // The exit status is the runs' verdict, whether or not it could be shown.
    Ok(if ok { Exit::Passed } else { Exit::Failed })
}

pub fn kill(repo: &Repo, args: KillArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    let meta = match &args.run {
        Some(id) => runs::find(git_dir, Some(id))?,
        None => runs::list(git_dir)
            .into_iter()
            .find(|m| !m.finished())
            .context("no run is running\nhint: `precheck tasks` lists the runs")?,
    };
    if let Some(name) = &args.check {
        if !meta.checks.iter().any(|c| &c.name == name) {
            bail!("run {} has no check `{name}`", meta.id);
        }
    }
    match meta.state() {
        RunState::Running => {}
        RunState::Crashed => {
            // Nobody is left to stop its checks: stop what remains of them
            // here, found by the owner token they carry, never by the process
            // group recorded (another group may have that number since).
            let left =
                crate::sys::proc::with_env(crate::sys::child::OWNER_ENV, &meta.owner_token());
            crate::sys::signal::send(None, &left, crate::sys::signal::SIGKILL);
            crate::report::outln!(
                "run {} had crashed; stopped what was left of its checks ({} process{})",
                meta.id,
                left.len(),
                if left.len() == 1 { "" } else { "es" }
            );
            return Ok(Exit::Passed);
        }
        other => {
            crate::report::outln!("run {} is not running ({other})", meta.id);
            return Ok(Exit::Passed);
        }
    }
    let what = args.check.clone().unwrap_or_else(|| "*".into());
    runs::request_kill(git_dir, &meta, std::slice::from_ref(&what))?;
    // The run stops its trees (SIGTERM, then SIGKILL after a grace) and
    // records it; wait for that to show.
    let start = Instant::now();
    loop {
        let now = runs::find(git_dir, Some(&meta.id))?;
        let done = match &args.check {
            Some(n) => now
                .checks
                .iter()
                .find(|c| &c.name == n)
                .is_none_or(|c| c.state != CheckState::RUNNING),
            None => now.finished(),
        };
        if done {
            match &args.check {
                Some(n) => crate::report::outln!("killed check {n} of run {}", meta.id),
                None => crate::report::outln!("killed run {}", meta.id),
            }
            return Ok(Exit::Passed);
        }
        if start.elapsed() > Duration::from_secs(10) {
            bail!("run {} did not stop within 10s (pid {})", meta.id, meta.pid);
        }
        std::thread::sleep(POLL);
    }
}

pub fn clean(repo: &Repo, args: CleanArgs) -> Result<Exit> {
    let n = runs::clean(repo.git_dir());
    crate::report::outln!("removed {n} finished run{}", crate::units::plural(n));
    if args.cache {
        let n = crate::store::cache::Cache::open(repo.git_dir()).clear();
        crate::report::outln!("removed {n} cached pass{}", if n == 1 { "" } else { "es" });
    }
    Ok(Exit::Passed)
}
