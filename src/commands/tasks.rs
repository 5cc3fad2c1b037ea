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
use crate::store::runs::{self, Counts, Meta};
use crate::store::services::{self, Record, ServiceState};
use crate::units::format_duration;
use crate::worktree::git::Repo;

const POLL: Duration = Duration::from_millis(100);

/// Lines of each check's log in `log` and `wait` JSON unless `--tail` says.
pub const JSON_TAIL: usize = 20;

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
        checks: Counts::of(m),
    }
}

/// A service as `tasks` lists it.
#[derive(Serialize)]
struct ServiceRow {
    name: String,
    state: ServiceState,
    pid: i32,
    started_at: String,
    uptime_ms: u64,
    /// What its processes use now.
    memory_bytes: u64,
    /// What it reserves under the cap.
    reserved_bytes: u64,
    ready: Option<String>,
    probe: String,
    log: std::path::PathBuf,
}

fn service_row(r: &Record) -> ServiceRow {
    let running = r.running();
    ServiceRow {
        name: r.name.clone(),
        state: r.state_now(),
        pid: r.pid,
        started_at: runs::rfc3339(r.started_ms),
        uptime_ms: if running {
            runs::now_ms().saturating_sub(r.started_ms)
        } else {
            r.ended_ms
                .unwrap_or(r.started_ms)
                .saturating_sub(r.started_ms)
        },
        memory_bytes: if running {
            super::services::memory_now(r)
        } else {
            0
        },
        reserved_bytes: if running { r.memory } else { 0 },
        ready: r.ready.clone(),
        probe: r.probe.clone(),
        log: r.log.clone(),
    }
}

pub fn tasks(repo: &Repo, args: TasksArgs) -> Result<Exit> {
    let json = args.format == TextFormat::Json;
    let runs = runs::list(repo.git_dir());
    let services: Vec<ServiceRow> = services::list(repo.git_dir())
        .iter()
        .map(service_row)
        .collect();
    let mut out = crate::report::stdout();
    if json {
        let rows: Vec<TaskRow> = runs.iter().map(row).collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "runs": rows, "services": services })
            )?
        )?;
        return Ok(Exit::Passed);
    }
    let running: Vec<&ServiceRow> = services
        .iter()
        .filter(|s| matches!(s.state, ServiceState::Starting | ServiceState::Ready))
        .collect();
    if !running.is_empty() {
        let name_w = running
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(7)
            .max(7);
        writeln!(
            out,
            "{:name_w$}  {:8}  {:>7}  {:>8}  {:>17}  PROBE",
            "SERVICE", "STATE", "PID", "UPTIME", "MEMORY (RESERVED)"
        )?;
        for s in &running {
            writeln!(
                out,
                "{:name_w$}  {:8}  {:>7}  {:>8}  {:>17}  {}",
                s.name,
                s.state.to_string(),
                s.pid,
                format_duration(Duration::from_millis(s.uptime_ms)),
                format!(
                    "{} ({})",
                    crate::units::format_size(s.memory_bytes),
                    crate::units::format_size(s.reserved_bytes)
                ),
                s.probe
            )?;
        }
        writeln!(out)?;
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
            r.checks.describe()
        )?;
    }
    Ok(Exit::Passed)
}

/// Copies what the file holds from `offset` on to stdout; returns the new
/// offset. On a terminal, escape sequences are shown, not obeyed (see
/// `report::neutralise`), and a character cut by the end of what was
/// written so far waits for the next call.
fn copy_from(path: &std::path::Path, offset: u64, out: &mut impl Write) -> Result<u64> {
    let Ok(mut f) = File::open(path) else {
        return Ok(offset);
    };
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let mut used = buf.len();
    if report::stdout_is_terminal() {
        if let Err(e) = std::str::from_utf8(&buf) {
            if e.error_len().is_none() {
                used = e.valid_up_to();
            }
        }
        let text = String::from_utf8_lossy(&buf[..used]);
        out.write_all(report::neutralise(&text).as_bytes())?;
    } else {
        out.write_all(&buf)?;
    }
    out.flush()?;
    Ok(offset + used as u64)
}

/// The run, once its record lists its checks: a background run's first
/// record (written by the command that started it, before its id is
/// printed) has none until the run has planned, a moment later.
fn find_listed(git_dir: &std::path::Path, id: Option<&str>) -> Result<Meta> {
    let mut meta = runs::find(git_dir, id)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while meta.checks.is_empty() && !meta.finished() && Instant::now() < deadline {
        std::thread::sleep(POLL / 5);
        meta = runs::find(git_dir, Some(&meta.id))?;
    }
    Ok(meta)
}

/// Prints a log (its last `tail` lines, else all of it); with `follow`,
/// goes on printing what is added until `ended` says its writer is done
/// (read before the last copy, so nothing written before the end is missed).
fn print_log(
    log: &std::path::Path,
    tail: Option<usize>,
    follow: bool,
    mut ended: impl FnMut() -> Result<bool>,
) -> Result<Exit> {
    let mut out = crate::report::stdout();
    let mut offset = match tail {
        Some(n) => {
            let tail = report::tail(log, n);
            if !tail.text.is_empty() {
                writeln!(out, "{}", report::neutralise(&tail.text))?;
            }
            fs::metadata(log).map_or(0, |m| m.len())
        }
        None => copy_from(log, 0, &mut out)?,
    };
    if !follow {
        return Ok(Exit::Passed);
    }
    loop {
        let done = ended()?;
        offset = copy_from(log, offset, &mut out)?;
        if done {
            return Ok(Exit::Passed);
        }
        std::thread::sleep(POLL);
    }
}

/// The service `precheck up` started that a command without `--run`
/// names, if it names one.
fn named_service(repo: &Repo, run: Option<&str>, name: Option<&str>) -> Option<Record> {
    match (run, name) {
        (None, Some(name)) => services::read(repo.git_dir(), name),
        _ => None,
    }
}

pub fn log(repo: &Repo, args: LogArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    if let Some(record) = named_service(repo, args.run.as_deref(), args.check.as_deref()) {
        if args.format != TextFormat::Json {
            return print_log(
                &record.log,
                args.tail,
                args.follow,
                || Ok(!record.running()),
            );
        }
        let doc = serde_json::json!({
            "service": service_row(&record),
            "tail": report::strip_escapes(&report::tail(&record.log, args.tail.unwrap_or(JSON_TAIL)).text),
        });
        writeln!(
            crate::report::stdout(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
        return Ok(Exit::Passed);
    }
    let meta = find_listed(git_dir, args.run.as_deref())?;
    let mut out = crate::report::stdout();
    let Some(name) = args.check else {
        if args.format == TextFormat::Json {
            let doc = run_json(git_dir, &meta, args.tail.unwrap_or(JSON_TAIL));
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            return Ok(Exit::Passed);
        }
        writeln!(
            out,
            "run {} ({}): {}, {}",
            meta.id,
            meta.trigger,
            meta.state(),
            Counts::of(&meta).describe()
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
                writeln!(out, "{}", report::neutralise(&tail.text))?;
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
        let doc = run_json(git_dir, &meta, args.tail.unwrap_or(JSON_TAIL));
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Exit::Passed);
    }
    print_log(&check.log, args.tail, args.follow, || {
        let now = runs::find(git_dir, Some(&meta.id))?;
        let state = now
            .checks
            .iter()
            .find(|c| c.name == name)
            .map_or(CheckState::Ended(Status::NotStarted), |c| c.state);
        Ok(state.ended().is_some() || now.state() == RunState::Crashed)
    })
}

/// A run as `log` and `wait` show it in JSON, and `precheck mcp` returns
/// it: its state and counts, and per check what `run --format json` gives
/// (status, exit code, signal, detail, a tail of at most `tail` lines with
/// escape sequences removed, peak memory), from the run's own report once
/// it ended, else from its record and log files. `log` is only given for a
/// log file that exists.
pub fn run_json(git_dir: &std::path::Path, meta: &Meta, tail: usize) -> serde_json::Value {
    let result = runs::result(git_dir, &meta.id).filter(|_| meta.finished());
    let reported = |name: &str| {
        result.as_ref().and_then(|r| {
            r["checks"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == name)
                .cloned()
        })
    };
    let checks: Vec<serde_json::Value> = meta
        .checks
        .iter()
        .map(|c| {
            let from_report = reported(&c.name);
            let field = |key: &str| {
                from_report
                    .as_ref()
                    .map_or(serde_json::Value::Null, |r| r[key].clone())
            };
            let log = c.log.exists().then_some(&c.log);
            let text = log.map(|l| report::tail(l, tail).text).unwrap_or_default();
            serde_json::json!({
                "name": c.name,
                "state": c.state,
                "duration_ms": c.duration_ms,
                "exit_code": field("exit_code"),
                "signal": field("signal"),
                "detail": field("detail"),
                "peak_memory_bytes": field("peak_memory_bytes"),
                "log": log,
                "tail": report::strip_escapes(&text),
            })
        })
        .collect();
    serde_json::json!({
        "id": meta.id,
        "run": meta.id,
        "trigger": meta.trigger,
        "state": meta.state(),
        "exit_code": meta.exit_code,
        "duration_ms": meta.duration_ms(),
        "counts": Counts::of(meta),
        "checks": checks,
    })
}

pub fn wait(repo: &Repo, args: WaitArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    let timeout = args
        .timeout
        .as_deref()
        .map(|t| match t.trim() {
            "0" => Ok(Duration::ZERO),
            t => parse_duration(t).map_err(|e| anyhow::anyhow!("--timeout: {e}")),
        })
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
    let (shown, timed_out) = loop {
        let metas: Vec<Meta> = ids
            .iter()
            .map(|id| runs::find(git_dir, Some(id)))
            .collect::<Result<_>>()?;
        let done = if args.any {
            metas.iter().any(Meta::finished)
        } else {
            metas.iter().all(Meta::finished)
        };
        if done {
            break (metas, false);
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            break (metas, true);
        }
        std::thread::sleep(POLL);
    };
    // The verdict: of the first run that ended (--any), else of them all.
    let judged: Vec<&Meta> = if args.any {
        shown.iter().filter(|m| m.finished()).take(1).collect()
    } else {
        shown.iter().collect()
    };
    let ok = judged.iter().all(|m| m.state() == RunState::Passed);
    let mut out = crate::report::stdout();
    if args.format == TextFormat::Json {
        let runs: Vec<serde_json::Value> = shown
            .iter()
            .map(|m| run_json(git_dir, m, args.tail))
            .collect();
        let first = args
            .any
            .then(|| judged.first().map(|m| m.id.clone()))
            .flatten();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "runs": runs,
                "timed_out": timed_out,
                "first_ended": first,
            }))?
        );
    } else {
        for m in &shown {
            let _ = writeln!(
                out,
                "run {}: {} in {}: {}",
                m.id,
                m.state(),
                format_duration(Duration::from_millis(m.duration_ms())),
                Counts::of(m).describe()
            );
            if !m.finished() {
                continue;
            }
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
    if timed_out {
        crate::report::errln!(
            "precheck: still running after {}",
            args.timeout.unwrap_or_default()
        );
        return Ok(Exit::WaitTimeout);
    }
    // The exit status is the runs' verdict, whether or not it could be shown.
    Ok(if ok { Exit::Passed } else { Exit::Failed })
}

pub fn kill(repo: &Repo, args: KillArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    if let Some(mut record) = named_service(repo, args.run.as_deref(), args.check.as_deref()) {
        if !record.running() {
            crate::report::outln!(
                "service {} is not running ({})",
                record.name,
                record.state_now()
            );
            return Ok(Exit::Passed);
        }
        let n = super::services::stop(repo, &mut record, ServiceState::Stopped);
        crate::report::outln!(
            "stopped service {} ({n} process{})",
            record.name,
            if n == 1 { "" } else { "es" }
        );
        return Ok(Exit::Passed);
    }
    let meta = match &args.run {
        Some(id) => find_listed(git_dir, Some(id))?,
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
            crate::sys::signal::kill_and_wait(&left, Duration::from_secs(1));
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
