//! The scheduler's decisions: which job becomes ready, which is skipped
//! because a need failed, which ready job is admitted under the memory budget
//! and the `jobs` slots, and what a failure ends under fail-fast.
//!
//! It owns the state those decisions read (each job's place, the ready
//! queue, the memory reserved) and must not touch processes, the clock,
//! `/proc`, signals, the ledger or the observer: the supervisor does what a
//! decision says ([`Step`]) and tells it when a job ends, so every rule here
//! is unit-tested without spawning anything.
//!
//! - Memory is a budget: a check reserves its expected memory before it
//!   starts and gives it back when it ends. Admission is first-fit over the
//!   ready checks in the order they became ready (ties: longest critical path
//!   first, then file order); the oldest waiting check that does not fit
//!   reserves what it needs out of the free memory, so newer checks only take
//!   the excess and it cannot starve. A check expecting more than the whole cap
//!   reserves all of it and so runs alone. A fixer never runs beside a check
//!   whose files overlap its own (`exclusive_with`). Memory other runs hold
//!   through the ledger is a number the supervisor passes in.
//! - Fail-fast: the first failure stops the run; jobs not yet started end as
//!   not started.
//!
//! The supervision below (to move out) carries the decisions out on real
//! processes: every `TICK` the coordinator reads the process table once,
//! measures each running check's tree, enforces `timeout` and
//! `memory_limit`, escalates pending kills (SIGTERM, then SIGKILL after
//! `KILL_GRACE`) and checks for signals.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exec::ledger::Ledger;
use crate::exec::spawn::Invocation;
use crate::exec::worker::{self, Event};
use crate::sys::proc::{self, ProcId, ProcTable};
use crate::sys::signal;

/// One check, ready to schedule.
pub struct Job {
    pub name: String,
    /// The processes to run one after another, or why none can start.
    pub batches: Result<Vec<Invocation>, String>,
    pub log: PathBuf,
    /// Expected peak memory, used for admission.
    pub memory: u64,
    pub memory_limit: Option<u64>,
    pub timeout: Option<Duration>,
    /// Indices of jobs that must pass first.
    pub needs: Vec<usize>,
    /// Indices of jobs that must end first, whatever their outcome (a fixer
    /// before the checks that read its files).
    pub after: Vec<usize>,
    /// How long it usually takes, when known.
    pub expected: Option<Duration>,
    /// Jobs it must never run beside (a fixer and a check sharing files).
    pub exclusive_with: Vec<usize>,
    /// A cached pass (its age): the job counts as passed without running.
    pub cached: Option<Duration>,
}

pub struct Options {
    pub jobs: usize,
    pub cap: u64,
    pub fail_fast: bool,
}

pub use crate::outcome::Status;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration: Duration,
    pub peak: u64,
    /// Why it could not run, or which need failed.
    pub detail: Option<String>,
}

impl Outcome {
    pub fn unstarted(status: Status, detail: Option<String>) -> Outcome {
        Outcome {
            status,
            exit_code: None,
            signal: None,
            duration: Duration::ZERO,
            peak: 0,
            detail,
        }
    }
}

/// What a decision asks the supervisor to do, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Start the job: its memory is reserved and its slot taken.
    Start(usize),
    /// The job ended without running; its outcome is
    /// [`Schedule::outcome`]. `announced`: the observer hears it started
    /// first (a check that could not start, as opposed to one skipped).
    Ended { job: usize, announced: bool },
    /// Fail-fast: a job failed, so every running job is to be stopped.
    StopAll,
}

/// A job's place in the run.
enum Slot {
    Waiting,
    Queued,
    Running,
    Done(Outcome),
}

/// The state the decisions read and change.
pub struct Schedule<'a> {
    jobs: &'a [Job],
    opts: &'a Options,
    slots: Vec<Slot>,
    /// Ready jobs, in the order they became ready.
    queue: Vec<usize>,
    critical: Vec<Duration>,
    reserved: u64,
    running: usize,
    stopping: bool,
    waiting_memory: usize,
}

/// For each job, its expected time plus the longest chain of jobs that need it.
fn critical_paths(jobs: &[Job]) -> Vec<Duration> {
    fn visit(i: usize, jobs: &[Job], memo: &mut Vec<Option<Duration>>) -> Duration {
        if let Some(d) = memo[i] {
            return d;
        }
        let mut longest = Duration::ZERO;
        for (j, job) in jobs.iter().enumerate() {
            if job.needs.contains(&i) {
                longest = longest.max(visit(j, jobs, memo));
            }
        }
        let d = jobs[i].expected.unwrap_or_default() + longest;
        memo[i] = Some(d);
        d
    }
    let mut memo = vec![None; jobs.len()];
    (0..jobs.len()).map(|i| visit(i, jobs, &mut memo)).collect()
}

impl<'a> Schedule<'a> {
    pub fn new(jobs: &'a [Job], opts: &'a Options) -> Schedule<'a> {
        Schedule {
            jobs,
            opts,
            slots: jobs.iter().map(|_| Slot::Waiting).collect(),
            queue: Vec::new(),
            critical: critical_paths(jobs),
            reserved: 0,
            running: 0,
            stopping: false,
            waiting_memory: 0,
        }
    }

    pub fn all_done(&self) -> bool {
        self.slots.iter().all(|s| matches!(s, Slot::Done(_)))
    }

    /// Set once the run is being stopped: nothing new starts.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// The run is being stopped (a signal, `precheck kill`, fail-fast).
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    /// Memory reserved by this run's running jobs.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    pub fn running(&self) -> usize {
        self.running
    }

    /// Jobs not started yet, ready or not.
    pub fn waiting(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Waiting | Slot::Queued))
            .count()
    }

    /// Of the waiting, those ready but held back by the memory cap.
    pub fn waiting_memory(&self) -> usize {
        self.waiting_memory
    }

    /// How the job ended, once it has.
    pub fn outcome(&self, job: usize) -> Option<&Outcome> {
        match &self.slots[job] {
            Slot::Done(o) => Some(o),
            _ => None,
        }
    }

    /// Every job's outcome; those that never ended did not start.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        self.slots
            .into_iter()
            .map(|s| match s {
                Slot::Done(o) => o,
                _ => Outcome::unstarted(Status::NotStarted, None),
            })
            .collect()
    }

    /// A running job's processes ended: its memory and slot are free again.
    pub fn release(&mut self, job: usize) {
        if matches!(self.slots[job], Slot::Running) {
            self.slots[job] = Slot::Queued;
            self.reserved -= self.need(job);
            self.running -= 1;
        }
    }

    /// Records how a job ended. True when fail-fast now stops the run: the
    /// supervisor stops every running job.
    pub fn finish(&mut self, job: usize, outcome: Outcome) -> bool {
        let failed = outcome.status.is_failure();
        self.slots[job] = Slot::Done(outcome);
        if failed && self.opts.fail_fast && !self.stopping {
            self.stopping = true;
            return true;
        }
        false
    }

    /// Ends a job that never ran.
    fn end_unstarted(&mut self, job: usize, outcome: Outcome, announced: bool) -> Vec<Step> {
        let mut steps = vec![Step::Ended { job, announced }];
        if self.finish(job, outcome) {
            steps.push(Step::StopAll);
        }
        steps
    }

    /// Moves waiting jobs whose needs passed into the queue, and skips those
    /// whose needs did not.
    pub fn promote_ready(&mut self) -> Vec<Step> {
        let mut steps = Vec::new();
        loop {
            let mut ready = Vec::new();
            let mut skipped = Vec::new();
            for (i, job) in self.jobs.iter().enumerate() {
                if !matches!(self.slots[i], Slot::Waiting) {
                    continue;
                }
                let mut all_passed = true;
                for &n in &job.needs {
                    match &self.slots[n] {
                        Slot::Done(o) if o.status.passed() => {}
                        Slot::Done(_) => {
                            skipped.push((i, n));
                            all_passed = false;
                            break;
                        }
                        _ => all_passed = false,
                    }
                }
                let after_done = job
                    .after
                    .iter()
                    .all(|&a| matches!(self.slots[a], Slot::Done(_)));
                if all_passed && after_done {
                    ready.push(i);
                }
            }
            if ready.is_empty() && skipped.is_empty() {
                return steps;
            }
            for (i, n) in skipped {
                let detail = Some(self.jobs[n].name.clone());
                steps.extend(self.end_unstarted(
                    i,
                    Outcome::unstarted(Status::SkippedNeeds, detail),
                    false,
                ));
            }
            ready.sort_by(|&a, &b| self.critical[b].cmp(&self.critical[a]).then(a.cmp(&b)));
            for i in ready {
                self.slots[i] = Slot::Queued;
                self.queue.push(i);
            }
        }
    }

    fn need(&self, job: usize) -> u64 {
        self.jobs[job].memory.min(self.opts.cap)
    }

    /// Whether admission has anything to decide: a job is ready and a slot
    /// is free (the supervisor takes the ledger only then).
    pub fn can_admit(&self) -> bool {
        !self.queue.is_empty() && self.running < self.opts.jobs
    }

    /// First-fit admission with a reservation for the oldest waiting job.
    /// `others` is the memory other runs hold against the same cap.
    pub fn admit(&mut self, others: u64) -> Vec<Step> {
        let mut steps = Vec::new();
        if !self.can_admit() {
            return steps;
        }
        let mut held_for_oldest = 0u64;
        let mut blocked = 0;
        let mut i = 0;
        while i < self.queue.len() {
            let job = self.queue[i];
            if let Some(age) = self.jobs[job].cached {
                self.queue.remove(i);
                let outcome = Outcome::unstarted(
                    Status::Cached,
                    Some(format!("passed {} ago", crate::units::format_duration(age))),
                );
                steps.extend(self.end_unstarted(job, outcome, false));
                continue;
            }
            if let Err(message) = &self.jobs[job].batches {
                let outcome = Outcome::unstarted(Status::Failed, Some(message.clone()));
                self.queue.remove(i);
                steps.extend(self.end_unstarted(job, outcome, true));
                if self.stopping {
                    return steps;
                }
                continue;
            }
            let excluded = self.jobs[job]
                .exclusive_with
                .iter()
                .any(|&o| matches!(self.slots[o], Slot::Running));
            if excluded {
                i += 1;
                continue;
            }
            let free = self
                .opts
                .cap
                .saturating_sub(self.reserved + held_for_oldest + others);
            let need = self.need(job);
            if self.running < self.opts.jobs && need <= free {
                self.queue.remove(i);
                self.start(job);
                steps.push(Step::Start(job));
                continue;
            }
            if blocked == 0 && need > free {
                // The oldest job that does not fit: newer jobs may use only
                // what is free beyond its need.
                held_for_oldest = need.min(free);
            }
            if need > free {
                blocked += 1;
            }
            i += 1;
        }
        self.waiting_memory = blocked;
        steps
    }

    fn start(&mut self, job: usize) {
        self.reserved += self.need(job);
        self.running += 1;
        self.slots[job] = Slot::Running;
    }

    /// After a stop: nothing new starts.
    pub fn abandon_waiting(&mut self) -> Vec<Step> {
        self.queue.clear();
        let mut steps = Vec::new();
        for i in 0..self.slots.len() {
            if matches!(self.slots[i], Slot::Waiting | Slot::Queued) {
                steps.extend(self.end_unstarted(
                    i,
                    Outcome::unstarted(Status::NotStarted, None),
                    false,
                ));
            }
        }
        steps
    }
}

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
    let (tx, rx) = mpsc::channel();
    let mut c = Coordinator {
        jobs,
        opts,
        schedule: Schedule::new(jobs, opts),
        trees: jobs.iter().map(|_| None).collect(),
        doomed: Vec::new(),
        peak: 0,
        tx,
        pool: None,
        ledger: controls.ledger,
        others: 0,
    };
    for job in jobs {
        if job.memory > opts.cap && job.batches.is_ok() {
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
    loop {
        let got = signal.load(Ordering::SeqCst);
        if got != 0 && interrupted_by.is_none() {
            interrupted_by = Some(got as i32);
            c.stop_all(KillReason::Stopped);
        }
        if controls.kill_asked.swap(false, Ordering::SeqCst) {
            for name in (controls.kill_requests)() {
                if name == "*" {
                    killed = true;
                    c.stop_all(KillReason::User);
                } else if let Some(job) = jobs.iter().position(|j| j.name == name) {
                    c.kill(job, KillReason::User, &ProcTable::scan());
                }
            }
        }
        if !c.schedule.stopping() {
            let steps = c.schedule.promote_ready();
            c.apply(steps, observer)?;
            c.admit(observer)?;
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
        self.others = held.as_ref().map_or(0, |h| h.others());
        let steps = self.schedule.admit(self.others);
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
            self.pool = Some(
                rayon::ThreadPoolBuilder::new()
                    // No more workers than jobs that could ever run at once.
                    .num_threads(self.opts.jobs.min(self.jobs.len()).max(1))
                    .thread_name(|i| format!("precheck-worker-{i}"))
                    .build()?,
            );
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
        }));
        observer.started(job);
        let batches = self.jobs[job].batches.as_ref().cloned().unwrap_or_default();
        let log = self.jobs[job].log.clone();
        let tx = self.tx.clone();
        if let Some(pool) = &self.pool {
            pool.spawn(move || worker::work(job, batches, log, stop, tx));
        }
        Ok(())
    }

    fn handle(&mut self, event: Event, observer: &mut dyn Observer) {
        match event {
            Event::Spawned { job, pid } => {
                observer.spawned(job, pid);
                if let Some(r) = &mut self.trees[job] {
                    let pid = pid as i32;
                    r.root = proc::proc_id(pid).or(Some(ProcId { pid, start: 0 }));
                    r.pgid = Some(pid);
                    if let Some(id) = r.root {
                        r.known.insert(id);
                    }
                    if let Some(reason) = r.kill {
                        // Stopped before its process existed: stop it now.
                        self.kill(job, reason, &ProcTable::scan());
                    }
                }
            }
            Event::BatchEnded { job } => {
                // The batch's own process ended: members left in its process
                // group go too (daemons that left the group are not ours to end).
                if let Some(r) = &mut self.trees[job] {
                    // Asking the kernel first spares a /proc scan in the usual case.
                    if let Some(pgid) = r.pgid.take().filter(|&g| signal::group_exists(g)) {
                        let left = ProcTable::scan().group(pgid);
                        if !left.is_empty() {
                            signal::send(Some(pgid), &left, signal::SIGTERM);
                            self.doomed.push(Doomed {
                                procs: left,
                                pgid: Some(pgid),
                                deadline: Instant::now() + KILL_GRACE,
                            });
                        }
                    }
                    r.root = None;
                }
            }
            Event::Finished {
                job,
                exit_code,
                signal,
                error,
            } => {
                let Some(r) = self.trees[job].take() else {
                    unreachable!("only running jobs finish");
                };
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

    /// Measures every running tree; enforces timeouts and memory limits.
    fn sample(&mut self, _observer: &mut dyn Observer) {
        if self.schedule.running() == 0 && self.doomed.is_empty() {
            return;
        }
        let table = ProcTable::scan();
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
            if job.timeout.is_some_and(|t| r.started.elapsed() >= t) {
                to_kill.push((i, KillReason::Timeout));
            } else if job.memory_limit.is_some_and(|l| r.rss > l) {
                to_kill.push((i, KillReason::Memory(r.rss)));
            }
        }
        self.peak = self.peak.max(total);
        for (i, reason) in to_kill {
            self.kill(i, reason, &table);
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
        let table = ProcTable::scan();
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
        let table = ProcTable::scan();
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
