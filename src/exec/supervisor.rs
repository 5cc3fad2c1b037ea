//! The supervisor: the coordinator loop that carries out the scheduler's
//! decisions on real processes, and what ends them.
//!
//! One coordinator (the calling thread) owns every decision; workers on a
//! rayon pool of `jobs` threads (`exec::worker`) only start processes, wait
//! for them and send messages back. Workers never print and never decide.
//! It owns the running jobs' process trees, the clock, the signals and the
//! ledger; which job starts, is skipped or is abandoned it must not decide
//! itself: it asks `exec::scheduler` and does what the [`Step`]s say.
//!
//! - Every `TICK` the coordinator reads its own descendants once (precheck
//!   is their subreaper while checks run, so a process that lost its parent
//!   stays among them), measures each running check's tree (including
//!   processes that called `setsid`), enforces `timeout` and
//!   `memory_limit`, escalates pending kills, reaps adopted orphans that
//!   exited and checks for signals. A check that ends within its first tick
//!   costs no reading at all.
//! - A kill is SIGTERM to the process group and to every known member of the
//!   tree, then SIGKILL to whatever is left after `KILL_GRACE`.
//! - A service's readiness is looked for by a prober thread of its own
//!   (`exec::probe`), which tells the coordinator once it is ready; the
//!   coordinator stops it when not ready in `ready_timeout`, fails the
//!   checks that need it when it ends while needed, and stops it once no
//!   check needs it any more.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::exec::ledger::Ledger;
use crate::exec::scheduler::{Job, Options, Outcome, Schedule, Status, Step};
use crate::exec::worker::{self, Event, Task};
use crate::exec::{probe, spawn};
use crate::sys::proc::{self, ProcId, ProcTable};
use crate::sys::{child, signal};

/// How often process trees are measured and limits enforced.
pub const TICK: Duration = Duration::from_millis(50);
/// How often stopped trees are looked for once every check has ended: the
/// run (and the snapshot's restore) follows their end this closely.
const DOOMED_POLL: Duration = Duration::from_millis(5);
/// Between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_millis(500);

/// What the live view shows each tick.
#[derive(Clone)]
pub struct Live {
    /// Running jobs: index, elapsed, current memory of the tree.
    pub running: Vec<(usize, Duration, u64)>,
    pub waiting: usize,
    /// Of the waiting, those ready but held back by the memory cap.
    pub waiting_memory: usize,
    pub reserved: u64,
    pub cap: u64,
    /// Expected memory held by other runs in this repository.
    pub others: u64,
}

/// Receives the scheduler's news; the report implements it.
pub trait Observer {
    fn started(&mut self, job: usize);
    /// A process of the job started (its process group id is `pid`).
    fn spawned(&mut self, _job: usize, _pid: u32) {}
    fn finished(&mut self, job: usize, outcome: &Outcome);
    /// A service became ready (how, and how long it took).
    fn ready(&mut self, _job: usize, _how: &str, _after: Duration) {}
    fn warn(&mut self, message: &str);
    fn tick(&mut self, live: &Live);
}

/// Two observers as one: the report and the run record.
pub struct Tee<'a>(pub &'a mut dyn Observer, pub &'a mut dyn Observer);

impl Observer for Tee<'_> {
    fn started(&mut self, job: usize) {
        self.0.started(job);
        self.1.started(job);
    }
    fn spawned(&mut self, job: usize, pid: u32) {
        self.0.spawned(job, pid);
        self.1.spawned(job, pid);
    }
    fn finished(&mut self, job: usize, outcome: &Outcome) {
        self.0.finished(job, outcome);
        self.1.finished(job, outcome);
    }
    fn ready(&mut self, job: usize, how: &str, after: Duration) {
        self.0.ready(job, how, after);
        self.1.ready(job, how, after);
    }
    fn warn(&mut self, message: &str) {
        self.0.warn(message);
        self.1.warn(message);
    }
    fn tick(&mut self, live: &Live) {
        self.0.tick(live);
        self.1.tick(live);
    }
}

pub struct RunResult {
    pub outcomes: Vec<Outcome>,
    /// Most memory all running checks' trees held at once.
    pub peak: u64,
    /// The signal that interrupted the run, if one did.
    pub interrupted_by: Option<i32>,
    /// The whole run was stopped by `precheck kill`.
    pub killed: bool,
}

/// How the outside world reaches a running scheduler.
pub struct Controls<'a> {
    /// The number of a terminating signal received (0 while none).
    pub signal: &'a AtomicUsize,
    /// Set when `precheck kill` asks for something (SIGUSR1).
    pub kill_asked: &'a AtomicBool,
    /// What it asks: check names, or `*` for the whole run.
    pub kill_requests: &'a dyn Fn() -> Vec<String>,
    /// Shares the memory cap with other runs in the repository.
    pub ledger: Option<&'a mut Ledger>,
}

#[derive(Debug, Clone, Copy)]
enum KillReason {
    Timeout,
    Memory(u64),
    Stopped,
    User,
    /// A service no check needs any more.
    Idle,
    /// A service not ready within its `ready_timeout`.
    NotReady,
    /// A check whose service (this job) ended while it ran.
    ServiceEnded(usize),
}

/// A running job's process tree.
struct Running {
    started: Instant,
    stop: Arc<AtomicBool>,
    root: Option<ProcId>,
    pgid: Option<i32>,
    known: HashSet<ProcId>,
    rss: u64,
    peak: u64,
    kill: Option<KillReason>,
    /// A service that became ready: how, and when.
    ready: Option<(String, Duration)>,
}

/// Processes sent SIGTERM, to be sent SIGKILL at `deadline` if still alive.
struct Doomed {
    procs: Vec<ProcId>,
    pgid: Option<i32>,
    deadline: Instant,
}

struct Coordinator<'a> {
    jobs: &'a [Job],
    opts: &'a Options,
    schedule: Schedule<'a>,
    /// The trees of running jobs, by job index.
    trees: Vec<Option<Box<Running>>>,
    doomed: Vec<Doomed>,
    peak: u64,
    tx: Sender<Event>,
    /// Admitted jobs, for the workers to take; dropping it ends them.
    queue: Option<Sender<Task>>,
    pool: Option<rayon::ThreadPool>,
    ledger: Option<&'a mut Ledger>,
    others: u64,
}

/// Runs every job to an outcome. `signal` holds the number of a signal
/// received (0 while none); on one, everything is stopped.
pub fn run(
    jobs: &[Job],
    opts: &Options,
    observer: &mut dyn Observer,
    controls: Controls,
) -> anyhow::Result<RunResult> {
    let signal = controls.signal;
    /// Orphans come back to precheck while this lives.
    struct Adopting;
    impl Drop for Adopting {
        fn drop(&mut self) {
            child::adopt_orphans(false);
        }
    }
    child::adopt_orphans(true);
    let _adopting = Adopting;
    let (tx, rx) = mpsc::channel();
    let mut c = Coordinator {
        jobs,
        opts,
        schedule: Schedule::new(jobs, opts),
        trees: jobs.iter().map(|_| None).collect(),
        doomed: Vec::new(),
        peak: 0,
        tx,
        queue: None,
        pool: None,
        ledger: controls.ledger,
        others: 0,
    };
    for job in jobs {
        if job.memory > opts.cap && job.batches.is_ok() && job.cached.is_none() {
            observer.warn(&format!(
                "check `{}` expects {}, more than the {} cap: it will run alone",
                job.name,
                crate::units::format_size(job.memory),
                crate::units::format_size(opts.cap)
            ));
        }
    }
    let mut interrupted_by = None;
    let mut killed = false;
    // The first reading waits a tick: a check that ends sooner costs no /proc scan.
    let mut next_tick = Instant::now() + TICK;
    // Kill requests are also looked for every tick: a `precheck kill` in
    // another pid namespace cannot signal this process.
    let mut poll_kills = false;
    loop {
        let got = signal.load(Ordering::SeqCst);
        if got != 0 && interrupted_by.is_none() {
            interrupted_by = Some(got as i32);
            c.stop_all(KillReason::Stopped);
        }
        if controls.kill_asked.swap(false, Ordering::SeqCst) || std::mem::take(&mut poll_kills) {
            for name in (controls.kill_requests)() {
                if name == "*" {
                    killed = true;
                    c.stop_all(KillReason::User);
                } else if let Some(job) = jobs.iter().position(|j| j.name == name) {
                    c.kill(job, KillReason::User, &ProcTable::descendants());
                }
            }
        }
        if !c.schedule.stopping() {
            let steps = c.schedule.promote_ready();
            c.apply(steps, observer)?;
            c.admit(observer)?;
            c.stop_idle_services();
        } else {
            let steps = c.schedule.abandon_waiting();
            c.apply(steps, observer)?;
        }
        if c.schedule.all_done() {
            // Every check ended: wait only for stopped trees to be gone.
            c.escalate();
            if c.doomed.is_empty() {
                break;
            }
            next_tick = next_tick.min(Instant::now() + DOOMED_POLL);
        }
        let now = Instant::now();
        if now >= next_tick {
            c.sample(observer);
            c.escalate();
            observer.tick(&c.live());
            next_tick = now + TICK;
            poll_kills = true;
        }
        match rx.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
            Ok(event) => c.handle(event, observer),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("the coordinator holds a sender"),
        }
    }
    Ok(RunResult {
        outcomes: c.schedule.into_outcomes(),
        peak: c.peak,
        interrupted_by,
        killed,
    })
}

impl Coordinator<'_> {
    fn finish(&mut self, job: usize, outcome: Outcome, observer: &mut dyn Observer) {
        observer.finished(job, &outcome);
        if self.schedule.finish(job, outcome) {
            self.stop_all(KillReason::Stopped);
        }
    }

    /// Does what the scheduler decided, in its order.
    fn apply(&mut self, steps: Vec<Step>, observer: &mut dyn Observer) -> anyhow::Result<()> {
        for step in steps {
            match step {
                Step::Start(job) => self.start(job, observer)?,
                Step::Ended { job, announced } => {
                    if announced {
                        observer.started(job);
                    }
                    if let Some(outcome) = self.schedule.outcome(job) {
                        observer.finished(job, outcome);
                    }
                }
                Step::StopAll => self.stop_all(KillReason::Stopped),
            }
        }
        Ok(())
    }

    /// Admission under the ledger: other runs' reservations count against
    /// our cap.
    fn admit(&mut self, observer: &mut dyn Observer) -> anyhow::Result<()> {
        if !self.schedule.can_admit() {
            return Ok(());
        }
        // The ledger stays held while we admit, so no other run takes the
        // same memory.
        let mut ledger = self.ledger.take();
        let mut held = ledger.as_mut().map(|l| l.hold());
        let others = held.as_ref().map(|h| h.others()).unwrap_or_default();
        self.others = others.total;
        let steps = self.schedule.admit_beside(others.total, others.services);
        let result = self.apply(steps, observer);
        if let Some(h) = held.as_mut() {
            h.set_own(self.schedule.reserved());
        }
        drop(held);
        self.ledger = ledger;
        result
    }

    /// Starts an admitted job on the pool; its memory is already reserved.
    fn start(&mut self, job: usize, observer: &mut dyn Observer) -> anyhow::Result<()> {
        if self.pool.is_none() {
            // Built on the first start: a run with nothing to start spawns no thread.
            // No more workers than jobs that could ever run at once: the
            // checks the slots allow, and every service (each holds a
            // worker for as long as it runs, without a slot).
            let services = self.jobs.iter().filter(|j| j.service.is_some()).count();
            let checks = self.jobs.len() - services;
            let threads = (self.opts.jobs.min(checks) + services).max(1);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("precheck-worker-{i}"))
                .build()?;
            let (queue, taken) = mpsc::channel();
            let taken = Arc::new(Mutex::new(taken));
            for _ in 0..threads {
                let (taken, tx) = (taken.clone(), self.tx.clone());
                pool.spawn(move || worker::serve(taken, tx));
            }
            self.pool = Some(pool);
            self.queue = Some(queue);
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.trees[job] = Some(Box::new(Running {
            started: Instant::now(),
            stop: stop.clone(),
            root: None,
            pgid: None,
            known: HashSet::new(),
            rss: 0,
            peak: 0,
            kill: None,
            ready: None,
        }));
        observer.started(job);
        let task = Task {
            job,
            batches: self.jobs[job].batches.as_ref().cloned().unwrap_or_default(),
            log: self.jobs[job].log.clone(),
            stop,
        };
        if let Some(queue) = &self.queue {
            // The workers live as long as the queue; they cannot be gone.
            let _ = queue.send(task);
        }
        Ok(())
    }

    fn handle(&mut self, event: Event, observer: &mut dyn Observer) {
        match event {
            Event::Ready { job, how } => {
                if let Some(r) = &mut self.trees[job] {
                    if r.kill.is_none() && r.ready.is_none() {
                        let after = r.started.elapsed();
                        r.ready = Some((how.clone(), after));
                        self.schedule.serving(job);
                        observer.ready(job, &how, after);
                    }
                }
            }
            Event::Spawned { job, pid } => {
                observer.spawned(job, pid);
                if let Some(service) = &self.jobs[job].service {
                    let stop = self.trees[job].as_ref().map(|r| r.stop.clone());
                    if let Some(stop) = stop {
                        watch_ready(job, &service.ready, &self.jobs[job].log, stop, &self.tx);
                    }
                }
                if let Some(r) = &mut self.trees[job] {
                    let pid = pid as i32;
                    r.root = proc::proc_id(pid).or(Some(ProcId { pid, start: 0 }));
                    r.pgid = Some(pid);
                    if let Some(id) = r.root {
                        r.known.insert(id);
                    }
                    if let Some(reason) = r.kill {
                        // Stopped before its process existed: stop it now.
                        self.kill(job, reason, &ProcTable::descendants());
                    }
                }
            }
            Event::BatchEnded { job } => self.batch_ended(job),
            Event::Finished {
                job,
                exit_code,
                signal,
                error,
            } => {
                self.batch_ended(job);
                let Some(r) = self.trees[job].take() else {
                    unreachable!("only running jobs finish");
                };
                // Its prober, if it has one, looks no more.
                r.stop.store(true, Ordering::SeqCst);
                if self.jobs[job].service.is_some() {
                    let exit = error.unwrap_or_else(|| spawn::exit_words(exit_code, signal));
                    self.service_ended(job, &r, exit, observer);
                    return;
                }
                self.schedule.release(job);
                let reserved = self.schedule.reserved();
                if let Some(l) = self.ledger.as_mut() {
                    l.set_own(reserved);
                }
                let status = match r.kill {
                    Some(KillReason::Timeout) => Status::TimedOut,
                    Some(KillReason::Memory(_)) => Status::KilledMemory,
                    Some(KillReason::Stopped) => Status::Interrupted,
                    Some(KillReason::User) => Status::Killed,
                    Some(KillReason::ServiceEnded(_)) => Status::Failed,
                    Some(KillReason::Idle | KillReason::NotReady) => Status::Interrupted,
                    None if error.is_some() => Status::Failed,
                    None if exit_code == Some(0) => Status::Passed,
                    None => Status::Failed,
                };
                let detail = match r.kill {
                    Some(KillReason::Memory(at)) => Some(format!(
                        "used {}, over its memory_limit of {}",
                        crate::units::format_size(at),
                        crate::units::format_size(self.jobs[job].memory_limit.unwrap_or(0))
                    )),
                    Some(KillReason::Timeout) => self.jobs[job]
                        .timeout
                        .map(|t| format!("timed out after {}", crate::units::format_duration(t))),
                    Some(KillReason::ServiceEnded(s)) => Some(format!(
                        "service `{}`, which it needs, ended while it ran (see the service's log)",
                        self.jobs[s].name
                    )),
                    _ => error,
                };
                let outcome = Outcome {
                    status,
                    exit_code,
                    signal,
                    duration: r.started.elapsed(),
                    peak: r.peak,
                    detail,
                };
                self.finish(job, outcome, observer);
            }
        }
    }

    /// A service's process ended: how it went, and what it means for the
    /// checks that need it (those running are stopped and fail).
    fn service_ended(
        &mut self,
        job: usize,
        r: &Running,
        exit: String,
        observer: &mut dyn Observer,
    ) {
        let needed = self.schedule.needed(job);
        let Some(service) = self.jobs[job].service.as_ref() else {
            return;
        };
        let (status, detail) = match (r.kill, &r.ready) {
            (Some(KillReason::Idle), Some((how, after))) | (None, Some((how, after)))
                if !needed || matches!(r.kill, Some(KillReason::Idle)) =>
            {
                let after = crate::units::format_duration(*after);
                (
                    Status::Passed,
                    format!("ready in {after} ({how}); stopped after its last check"),
                )
            }
            (Some(KillReason::Idle), None) => (
                Status::NotStarted,
                "stopped before it was ready: no check that needs it was left to run".into(),
            ),
            (Some(KillReason::NotReady), _) => (
                Status::Failed,
                probe::not_ready(&service.ready, service.ready_timeout),
            ),
            (Some(KillReason::Stopped), _) => (Status::Interrupted, "stopped".into()),
            (Some(KillReason::User), _) => (Status::Killed, "killed by precheck kill".into()),
            (_, Some(_)) => (
                Status::Failed,
                format!("exited while checks needed it ({exit})"),
            ),
            (_, None) => (
                Status::Failed,
                probe::ended_before_ready(&service.ready, &exit),
            ),
        };
        self.schedule.release(job);
        let reserved = self.schedule.reserved();
        if let Some(l) = self.ledger.as_mut() {
            l.set_own(reserved);
        }
        let failed = status.is_failure();
        let outcome = Outcome {
            status,
            exit_code: None,
            signal: None,
            duration: r.started.elapsed(),
            peak: r.peak,
            detail: Some(detail),
        };
        self.finish(job, outcome, observer);
        if failed {
            let table = ProcTable::descendants();
            for d in self.schedule.running_dependents(job) {
                self.kill(d, KillReason::ServiceEnded(job), &table);
            }
        }
    }

    /// Stops the services no check needs any more.
    fn stop_idle_services(&mut self) {
        let idle: Vec<usize> = self
            .schedule
            .idle_services()
            .into_iter()
            .filter(|&s| self.trees[s].as_ref().is_some_and(|r| r.kill.is_none()))
            .collect();
        if idle.is_empty() {
            return;
        }
        let table = ProcTable::descendants();
        for s in idle {
            self.kill(s, KillReason::Idle, &table);
        }
    }

    /// A batch's own process ended: members left in its process group go
    /// too (daemons that left the group are not ours to end).
    fn batch_ended(&mut self, job: usize) {
        let Some(r) = &self.trees[job] else {
            return;
        };
        // Asking the kernel first spares reading /proc in the usual case.
        if let Some(pgid) = r.pgid.filter(|&g| signal::group_exists(g)) {
            let table = ProcTable::descendants();
            // While the group is still the job's: its exited orphans go.
            self.reap_adopted(&table);
            let left = table.group(pgid);
            if !left.is_empty() {
                signal::send(Some(pgid), &left, signal::SIGTERM);
                self.doomed.push(Doomed {
                    procs: left,
                    pgid: Some(pgid),
                    deadline: Instant::now() + KILL_GRACE,
                });
            }
        }
        if let Some(r) = &mut self.trees[job] {
            r.pgid = None;
            r.root = None;
        }
    }

    /// Measures every running tree; enforces timeouts and memory limits.
    fn sample(&mut self, _observer: &mut dyn Observer) {
        // (Services run without a slot: trees, not slots, say what runs.)
        if self.trees.iter().all(Option::is_none) && self.doomed.is_empty() {
            return;
        }
        let table = ProcTable::descendants();
        let mut total = 0;
        let mut to_kill = Vec::new();
        for (i, tree) in self.trees.iter_mut().enumerate() {
            let Some(r) = tree else { continue };
            let roots: Vec<ProcId> = r.known.iter().copied().chain(r.root).collect();
            let mut tree = table.trees(roots);
            if let Some(g) = r.pgid {
                tree.extend(table.group(g));
                tree.sort_by_key(|p| p.pid);
                tree.dedup();
            }
            r.known.retain(|p| table.alive(*p));
            r.known.extend(tree.iter().copied());
            r.rss = table.rss(&tree);
            r.peak = r.peak.max(r.rss);
            total += r.rss;
            if r.kill.is_some() {
                continue;
            }
            let job = &self.jobs[i];
            let not_ready = r.ready.is_none()
                && job
                    .service
                    .as_ref()
                    .is_some_and(|s| r.started.elapsed() >= s.ready_timeout);
            if not_ready {
                to_kill.push((i, KillReason::NotReady));
            } else if job.timeout.is_some_and(|t| r.started.elapsed() >= t) {
                to_kill.push((i, KillReason::Timeout));
            } else if job.memory_limit.is_some_and(|l| r.rss > l) {
                to_kill.push((i, KillReason::Memory(r.rss)));
            }
        }
        self.peak = self.peak.max(total);
        for (i, reason) in to_kill {
            self.kill(i, reason, &table);
        }
        self.reap_adopted(&table);
    }

    /// Reaps exited orphans that precheck adopted from a check: those that
    /// were in a check's process group without leading it, or were seen
    /// below a check's first process. A check's first process always leads
    /// its own group and is never seen below another, so its worker's wait
    /// is never robbed.
    fn reap_adopted(&self, table: &ProcTable) {
        let trees = || self.trees.iter().flatten();
        for z in table.zombies() {
            let in_a_group = z.id.pid != z.pgrp
                && (trees().any(|r| r.pgid == Some(z.pgrp))
                    || self.doomed.iter().any(|d| d.pgid == Some(z.pgrp)));
            let seen_below = trees().any(|r| r.known.contains(&z.id) && r.root != Some(z.id));
            if in_a_group || seen_below {
                child::reap(z.id.pid);
            }
        }
    }

    /// SIGTERM now to the job's group and tree; SIGKILL after the grace.
    fn kill(&mut self, job: usize, reason: KillReason, table: &ProcTable) {
        let Some(r) = &mut self.trees[job] else {
            return;
        };
        if r.kill.is_none() {
            r.kill = Some(reason);
        }
        r.stop.store(true, Ordering::SeqCst);
        let roots: Vec<ProcId> = r.known.iter().copied().chain(r.root).collect();
        let mut procs = table.trees(roots);
        if let Some(g) = r.pgid {
            procs.extend(table.group(g));
        }
        if procs.is_empty() && r.pgid.is_none() {
            return;
        }
        signal::send(r.pgid, &procs, signal::SIGTERM);
        self.doomed.push(Doomed {
            procs,
            pgid: r.pgid,
            deadline: Instant::now() + KILL_GRACE,
        });
    }

    /// Forgets trees that are gone (so a run ends as soon as its checks
    /// have died, not when their grace runs out), and sends SIGKILL to what
    /// is left of trees whose grace has run out.
    fn escalate(&mut self) {
        if self.doomed.is_empty() {
            return;
        }
        let now = Instant::now();
        let table = ProcTable::descendants();
        self.reap_adopted(&table);
        self.doomed.retain(|d| {
            let mut left = table.trees(d.procs.iter().copied());
            if let Some(g) = d.pgid {
                left.extend(table.group(g));
            }
            if left.is_empty() {
                return false;
            }
            if d.deadline > now {
                return true;
            }
            signal::send(d.pgid, &left, signal::SIGKILL);
            false
        });
    }

    fn stop_all(&mut self, reason: KillReason) {
        self.schedule.stop();
        let table = ProcTable::descendants();
        let running: Vec<usize> = (0..self.trees.len())
            .filter(|&i| self.trees[i].is_some())
            .collect();
        for i in running {
            self.kill(i, reason, &table);
        }
    }

    fn live(&self) -> Live {
        Live {
            running: self
                .trees
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.as_ref().map(|r| (i, r.started.elapsed(), r.rss)))
                .collect(),
            waiting: self.schedule.waiting(),
            waiting_memory: self.schedule.waiting_memory(),
            reserved: self.schedule.reserved(),
            cap: self.opts.cap,
            others: self.others,
        }
    }
}

/// Starts the thread that probes a service until it is ready (and tells
/// the coordinator) or `stop` is set.
fn watch_ready(
    job: usize,
    ready: &crate::config::Ready,
    log: &std::path::Path,
    stop: Arc<AtomicBool>,
    tx: &Sender<Event>,
) {
    let mut prober = probe::Prober::new(ready, log);
    let tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("precheck-probe-{job}"))
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Some(how) = prober.probe() {
                    let _ = tx.send(Event::Ready { job, how });
                    return;
                }
                std::thread::sleep(prober.interval());
            }
        });
    // Without its thread a service is never ready: it fails after its
    // ready_timeout, as one that does not answer would.
    drop(spawned);
}
