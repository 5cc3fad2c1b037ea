//! `up` and `down`: services started in the background, each in a session
//! of its own so that it outlives the command and the terminal, recorded
//! under the git dir (`store::services`), and their memory reserved in the
//! shared ledger for as long as they run. Also how `tasks`, `log` and
//! `kill` show, follow and stop them.
//!
//! While `up` waits for readiness its ledger file holds the services'
//! memory and its owner mark is on their processes: should it be killed,
//! the next precheck command stops them (`exec::ledger::reap_dead`). Once a
//! service is ready its reservation moves to a ledger file of its own.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cli::{DownArgs, UpArgs};
use crate::config::{Config, Service};
use crate::exec::ledger::{self, Ledger};
use crate::exec::probe::{self, Prober};
use crate::exec::spawn;
use crate::exit::Exit;
use crate::report::{self, TextFormat};
use crate::store::runs;
use crate::store::services::{self, Record, ServiceState};
use crate::sys::proc::{self, ProcId, ProcTable};
use crate::sys::{child, signal};
use crate::units::{format_duration, format_size};
use crate::worktree::git::Repo;

/// How often `up` looks at its services while they start.
const POLL: Duration = Duration::from_millis(50);
/// Between SIGTERM and SIGKILL when a service is stopped: a dev server may
/// take a moment to close its connections.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// One line of `up`'s or `down`'s answer.
#[derive(Serialize)]
struct Line {
    name: String,
    state: ServiceState,
    pid: Option<i32>,
    /// How it became ready, or what went wrong.
    detail: String,
    /// What its probe looks at.
    probe: String,
    memory_bytes: u64,
    log: Option<PathBuf>,
    /// Started by this command (false: it was running already).
    started: bool,
}

/// A service `up` started and is waiting for.
struct Starting<'c> {
    service: &'c Service,
    handle: spawn::Handle,
    prober: Prober,
    since: Instant,
    record: Record,
}

pub fn up(config_path: Option<PathBuf>, args: UpArgs) -> Result<Exit> {
    let repo = crate::worktree::snapshot::open_repo()?;
    let config = super::load_config(&repo, config_path)?;
    let wanted = chosen(&config, &args.services)?;
    let cap = crate::pipeline::memory_cap(&config, args.memory.as_deref())?;
    let signals = signal::register()?;
    let git_dir = repo.git_dir();
    let _lock = services::lock(git_dir, say_waiting)?;
    let mut ledger = Ledger::open(repo.common_dir())?;
    let mut lines = Vec::new();
    let mut starting: Vec<Starting> = Vec::new();
    // What this command has reserved so far (starting services' memory).
    let mut reserved = 0u64;
    for service in wanted {
        let memory = service.memory.unwrap_or(config.settings.default_memory);
        if let Some(r) = services::read(git_dir, &service.name).filter(Record::running) {
            lines.push(line(&r, format!("already running ({})", age(&r)), false));
            continue;
        }
        if let Some(how) = probe::answers(&service.ready) {
            lines.push(Line {
                name: service.name.clone(),
                state: ServiceState::Ready,
                pid: None,
                detail: format!("{how}: not started by precheck, left as it is"),
                probe: service.ready.describe(),
                memory_bytes: 0,
                log: None,
                started: false,
            });
            continue;
        }
        let need = match admit(&mut ledger, cap, reserved, memory, &signals.stop) {
            Some(need) => need,
            None => break,
        };
        reserved += need;
        match start(&repo, service, need) {
            Ok(s) => starting.push(s),
            Err(e) => {
                reserved -= need;
                ledger.set_own(reserved);
                lines.push(Line {
                    name: service.name.clone(),
                    state: ServiceState::Failed,
                    pid: None,
                    detail: format!("{e:#}"),
                    probe: service.ready.describe(),
                    memory_bytes: 0,
                    log: None,
                    started: false,
                });
            }
        }
    }
    let mut failed = lines.iter().any(|l| l.state == ServiceState::Failed);
    let mut ready: Vec<Record> = Vec::new();
    while !starting.is_empty() {
        let got = signals.stop.load(Ordering::SeqCst);
        if got != 0 {
            // Interrupted: nothing this command started is left running.
            for mut s in starting.drain(..) {
                stop(&repo, &mut s.record, ServiceState::Stopped);
                let _ = s.handle.wait();
            }
            for mut r in ready.drain(..) {
                stop(&repo, &mut r, ServiceState::Stopped);
            }
            report::errln!("precheck: interrupted; stopped the services this command started");
            return Ok(Exit::for_signal(got as i32));
        }
        let mut k = 0;
        while k < starting.len() {
            let s = &mut starting[k];
            let outcome = if let Some(how) = s.prober.probe() {
                Some(Ok(how))
            } else if let Ok(Some(out)) = s.handle.try_wait() {
                let (code, sig) = spawn::status_parts(out.status);
                let exit = spawn::exit_words(code, sig);
                Some(Err(probe::ended_before_ready(&s.service.ready, &exit)))
            } else if s.since.elapsed() >= s.service.ready_timeout {
                Some(Err(probe::not_ready(
                    &s.service.ready,
                    s.service.ready_timeout,
                )))
            } else {
                None
            };
            let Some(outcome) = outcome else {
                k += 1;
                continue;
            };
            let mut s = starting.swap_remove(k);
            match outcome {
                Ok(how) => {
                    let after = s.since.elapsed();
                    s.record.state = ServiceState::Ready;
                    s.record.ready = Some(how.clone());
                    s.record.ready_ms = Some(runs::now_ms());
                    // Its reservation is its own from now on.
                    ledger::reserve_service(repo.common_dir(), &s.record.token(), s.record.memory)?;
                    reserved -= s.record.memory;
                    ledger.set_own(reserved);
                    services::write(git_dir, &s.record)?;
                    lines.push(line(
                        &s.record,
                        format!("ready in {} ({how})", format_duration(after)),
                        true,
                    ));
                    ready.push(s.record);
                }
                Err(why) => {
                    failed = true;
                    stop(&repo, &mut s.record, ServiceState::Failed);
                    let _ = s.handle.wait();
                    reserved -= s.record.memory;
                    ledger.set_own(reserved);
                    let tail = report::tail(&s.record.log, 20);
                    let mut detail = why;
                    if !tail.text.is_empty() {
                        detail = format!(
                            "{detail}\n{}",
                            report::neutralise(&report::strip_escapes(&tail.text))
                        );
                    }
                    lines.push(line(&s.record, detail, true));
                }
            }
        }
        if !starting.is_empty() {
            std::thread::sleep(POLL);
        }
    }
    drop(ledger);
    lines.sort_by_key(|l| config.services.iter().position(|s| s.name == l.name));
    show(&lines, args.format)?;
    Ok(if failed { Exit::Failed } else { Exit::Passed })
}

fn say_waiting() {
    report::errln!("precheck: waiting for another `precheck up` or `down` in this repository");
}

/// Waits until `memory` fits beside what runs hold, as a check would be
/// admitted (services elsewhere only narrow the room, so one too big runs
/// beside them); reserves it in our ledger file. None: interrupted.
fn admit(
    ledger: &mut Ledger,
    cap: u64,
    reserved: u64,
    memory: u64,
    stop: &std::sync::atomic::AtomicUsize,
) -> Option<u64> {
    let mut said = false;
    loop {
        let mut held = ledger.hold();
        let others = held.others();
        let room = cap.saturating_sub(others.services + reserved).max(1);
        let need = memory.min(room);
        let free = cap.saturating_sub(others.total + reserved);
        if need <= free {
            held.set_own(reserved + need);
            return Some(need);
        }
        drop(held);
        if !said {
            report::errln!(
                "precheck: waiting for memory: {} held by running checks leaves less than the {} this service reserves (cap {})",
                format_size(others.total - others.services),
                format_size(need),
                format_size(cap)
            );
            said = true;
        }
        if stop.load(Ordering::SeqCst) != 0 {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts a service in a session of its own, its output to its log, and
/// records it as starting.
fn start<'c>(repo: &Repo, service: &'c Service, memory: u64) -> Result<Starting<'c>> {
    let git_dir = repo.git_dir();
    let mut invs = spawn::invocations(&service.command(), repo.root(), &[], None)
        .map_err(|p| anyhow::anyhow!("{}", p.0))?;
    let mut inv = invs.remove(0);
    inv.session = true;
    let marker = format!("{}@{}", service.name, child::owner_token());
    inv.env
        .push((crate::env::SERVICE.to_string(), marker.clone()));
    let log = services::log_path(git_dir, &service.name);
    crate::fsutil::private_dir(log.parent().context("a log has a folder")?)?;
    let file = crate::fsutil::create_private(&log)
        .with_context(|| format!("cannot create {}", log.display()))?;
    let handle = spawn::start(&inv, &file)
        .with_context(|| format!("cannot start `{}`", service.run.display()))?;
    let pid = handle.pids().first().copied().unwrap_or(0) as i32;
    let start = proc::proc_id(pid).map_or(0, |p| p.start);
    let record = Record {
        name: service.name.clone(),
        pid,
        start,
        pid_ns: proc::pid_ns(),
        started_ms: runs::now_ms(),
        state: ServiceState::Starting,
        ready: None,
        ready_ms: None,
        ended_ms: None,
        memory,
        probe: service.ready.describe(),
        log: log.clone(),
        marker,
    };
    services::write(git_dir, &record)?;
    Ok(Starting {
        service,
        handle,
        prober: Prober::new(&service.ready, &log),
        since: Instant::now(),
        record,
    })
}

/// The services named (all of them when none is), in file order.
fn chosen<'c>(config: &'c Config, names: &[String]) -> Result<Vec<&'c Service>> {
    if config.services.is_empty() {
        bail!(
            "{} declares no service\nhint: add one, like\n  [services.web]\n  run = \"npm run dev\"\n  ready = \"http://127.0.0.1:5173/\"",
            config.path.display()
        );
    }
    for n in names {
        if config.service(n).is_none() {
            let known: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
            bail!(
                "no service `{n}` in {}; its services: {}",
                config.path.display(),
                known.join(", ")
            );
        }
    }
    Ok(config
        .services
        .iter()
        .filter(|s| names.is_empty() || names.contains(&s.name))
        .collect())
}

pub fn down(repo: &Repo, args: DownArgs) -> Result<Exit> {
    let git_dir = repo.git_dir();
    let _lock = services::lock(git_dir, say_waiting)?;
    let records = services::list(git_dir);
    for n in &args.services {
        if !records.iter().any(|r| &r.name == n) {
            let known: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
            bail!(
                "no service `{n}` was started by `precheck up`{}",
                if known.is_empty() {
                    String::new()
                } else {
                    format!("; recorded: {}", known.join(", "))
                }
            );
        }
    }
    let mut lines = Vec::new();
    for mut r in records
        .into_iter()
        .filter(|r| args.services.is_empty() || args.services.contains(&r.name))
    {
        let was = r.state_now();
        let running = r.running();
        let stopped = stop(repo, &mut r, ServiceState::Stopped);
        if !running && stopped == 0 {
            if !args.services.is_empty() {
                lines.push(line(&r, format!("was not running ({was})"), false));
            }
            continue;
        }
        let uptime = format_duration(Duration::from_millis(
            runs::now_ms().saturating_sub(r.started_ms),
        ));
        lines.push(line(
            &r,
            format!(
                "stopped after {uptime} ({stopped} process{})",
                if stopped == 1 { "" } else { "es" }
            ),
            false,
        ));
    }
    if lines.is_empty() && args.format == TextFormat::Human {
        report::outln!("no service is running");
        return Ok(Exit::Passed);
    }
    show(&lines, args.format)?;
    Ok(Exit::Passed)
}

/// Stops a service's whole tree (SIGTERM, then SIGKILL to what is left
/// after [`STOP_GRACE`]), gives back its memory and records it as `state`.
/// How many processes there were.
pub fn stop(repo: &Repo, record: &mut Record, state: ServiceState) -> usize {
    let procs = members(record, &ProcTable::scan());
    let group = record.alive().then_some(record.pid);
    if !procs.is_empty() {
        signal::send(group, &procs, signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && procs.iter().any(|p| proc::alive(p.pid, p.start)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left: Vec<ProcId> = procs
            .iter()
            .copied()
            .filter(|p| proc::alive(p.pid, p.start))
            .collect();
        signal::kill_and_wait(&left, Duration::from_secs(1));
    }
    ledger::release_service(repo.common_dir(), &record.token());
    record.state = state;
    record.ended_ms = Some(runs::now_ms());
    let _ = services::write(repo.git_dir(), record);
    procs.len()
}

/// The live processes of a service: those carrying its mark (wherever
/// they moved), and its process group while its leader lives.
fn members(record: &Record, table: &ProcTable) -> Vec<ProcId> {
    let mut procs = proc::with_env(crate::env::SERVICE, &record.marker);
    if record.alive() {
        procs.extend(table.group(record.pid));
    }
    procs.sort_by_key(|p| p.pid);
    procs.dedup();
    procs
}

/// What a service's processes use now.
pub fn memory_now(record: &Record) -> u64 {
    let table = ProcTable::scan();
    table.rss(&members(record, &table))
}

/// How long it has run, and how it became ready.
fn age(r: &Record) -> String {
    let up = format_duration(Duration::from_millis(
        runs::now_ms().saturating_sub(r.started_ms),
    ));
    match &r.ready {
        Some(how) => format!("up {up}; {how}"),
        None => format!("up {up}; not ready yet"),
    }
}

fn line(r: &Record, detail: String, started: bool) -> Line {
    Line {
        name: r.name.clone(),
        state: r.state_now(),
        pid: Some(r.pid),
        detail,
        probe: r.probe.clone(),
        memory_bytes: r.memory,
        log: Some(r.log.clone()),
        started,
    }
}

fn show(lines: &[Line], format: TextFormat) -> Result<()> {
    let mut out = report::stdout();
    if format == TextFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "services": lines }))?
        )?;
        return Ok(());
    }
    let name_w = lines.iter().map(|l| l.name.len()).max().unwrap_or(4);
    for l in lines {
        let pid = l.pid.map_or_else(|| "-".into(), |p| format!("pid {p}"));
        let mut detail = l.detail.lines();
        writeln!(
            out,
            "{:name_w$}  {:8}  {:10}  {}",
            l.name,
            l.state.to_string(),
            pid,
            detail.next().unwrap_or("")
        )?;
        for rest in detail {
            writeln!(out, "    {rest}")?;
        }
        if l.state == ServiceState::Failed {
            if let Some(log) = &l.log {
                writeln!(out, "    (full log: {})", log.display())?;
            }
        }
    }
    Ok(())
}
