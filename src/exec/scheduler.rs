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
//! - Services (a dev server a check needs) are jobs that do not end by
//!   themselves: one is started once a check that needs it waits for
//!   nothing else, satisfies its dependents once *ready* (not once ended),
//!   and is to be stopped ([`Schedule::idle_services`]) once none of them is
//!   left to run. It holds its memory for as long as it runs but takes no
//!   `jobs` slot (it mostly waits). A service that failed fails the checks
//!   still waiting for it. Memory held by services counts as gone from the
//!   cap when deciding what "more than the cap" means, so a check too big
//!   to fit beside them runs alone beside them instead of waiting forever.

use std::path::PathBuf;
use std::time::Duration;

use crate::exec::spawn::Invocation;

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
    /// Set for a service rather than a check.
    pub service: Option<ServiceJob>,
}

/// What makes a job a service.
#[derive(Debug, Clone)]
pub struct ServiceJob {
    pub ready: crate::config::Ready,
    pub ready_timeout: Duration,
    /// Already running and ready outside this run (how it was found): its
    /// dependents use it; this run neither starts nor stops it.
    pub reused: Option<String>,
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
    /// A service that is ready: its dependents may start.
    Serving,
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
    /// For each service, the jobs that need it.
    dependents: Vec<Vec<usize>>,
    /// What each running job reserved when it started.
    held: Vec<u64>,
    /// Of `reserved`, what this run's running services hold.
    services_held: u64,
    /// Whether any job is a service.
    any_service: bool,
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
            dependents: {
                let mut d = vec![Vec::new(); jobs.len()];
                for (j, job) in jobs.iter().enumerate() {
                    for &n in &job.needs {
                        if jobs[n].service.is_some() {
                            d[n].push(j);
                        }
                    }
                }
                d
            },
            services_held: 0,
            any_service: jobs.iter().any(|j| j.service.is_some()),
            held: vec![0; jobs.len()],
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
        if matches!(self.slots[job], Slot::Running | Slot::Serving) {
            self.slots[job] = Slot::Queued;
            let held = std::mem::take(&mut self.held[job]);
            self.reserved -= held;
            if self.jobs[job].service.is_some() {
                self.services_held -= held;
            } else {
                self.running -= 1;
            }
        }
    }

    /// A running service became ready: the checks that need it may start.
    pub fn serving(&mut self, job: usize) {
        if matches!(self.slots[job], Slot::Running) {
            self.slots[job] = Slot::Serving;
        }
    }

    /// Whether a job still waits, is queued or runs (has not ended).
    fn pending(&self, job: usize) -> bool {
        !matches!(self.slots[job], Slot::Done(_))
    }

    /// Whether any check that needs this service has yet to end.
    pub fn needed(&self, service: usize) -> bool {
        self.dependents[service].iter().any(|&d| self.pending(d))
    }

    /// The checks that need this service and are running now.
    pub fn running_dependents(&self, service: usize) -> Vec<usize> {
        self.dependents[service]
            .iter()
            .copied()
            .filter(|&d| matches!(self.slots[d], Slot::Running))
            .collect()
    }

    /// Services this run started that no check needs any more: to be stopped.
    pub fn idle_services(&self) -> Vec<usize> {
        if !self.any_service {
            // (Nothing to look through on every event.)
            return Vec::new();
        }
        (0..self.jobs.len())
            .filter(|&i| {
                self.jobs[i].service.is_some()
                    && matches!(self.slots[i], Slot::Running | Slot::Serving)
                    && !self.needed(i)
            })
            .collect()
    }

    /// Whether a waiting check waits for nothing but services: its check
    /// needs passed and what must end first has ended.
    fn wants_services(&self, job: usize) -> bool {
        let j = &self.jobs[job];
        matches!(self.slots[job], Slot::Waiting)
            && j.needs.iter().all(|&n| {
                self.jobs[n].service.is_some()
                    || matches!(&self.slots[n], Slot::Done(o) if o.status.passed())
            })
            && j.after
                .iter()
                .all(|&a| matches!(self.slots[a], Slot::Done(_)))
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
            let mut unneeded = Vec::new();
            for (i, job) in self.jobs.iter().enumerate() {
                if !matches!(self.slots[i], Slot::Waiting) {
                    continue;
                }
                if job.service.is_some() {
                    if !self.needed(i) {
                        unneeded.push(i);
                    } else if self.dependents[i].iter().any(|&d| self.wants_services(d)) {
                        ready.push(i);
                    }
                    continue;
                }
                let mut all_passed = true;
                for &n in &job.needs {
                    match &self.slots[n] {
                        Slot::Done(o) if o.status.passed() => {}
                        Slot::Serving => {}
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
            if ready.is_empty() && skipped.is_empty() && unneeded.is_empty() {
                return steps;
            }
            for (i, n) in skipped {
                let need = &self.jobs[n];
                let (outcome, announced) = match (&need.service, self.outcome(n)) {
                    // A service that failed fails what needed it: the
                    // check could not run as asked, it was not skipped.
                    (Some(_), Some(o)) if o.status.is_failure() => (
                        Outcome::unstarted(
                            Status::Failed,
                            Some(format!(
                                "needs service `{}`, which {}",
                                need.name,
                                o.detail.as_deref().unwrap_or("failed")
                            )),
                        ),
                        true,
                    ),
                    _ => (
                        Outcome::unstarted(Status::SkippedNeeds, Some(need.name.clone())),
                        false,
                    ),
                };
                steps.extend(self.end_unstarted(i, outcome, announced));
            }
            for i in unneeded {
                let outcome = Outcome::unstarted(
                    Status::NotStarted,
                    Some("no check that needs it was left to run".into()),
                );
                steps.extend(self.end_unstarted(i, outcome, false));
            }
            ready.sort_by(|&a, &b| self.critical[b].cmp(&self.critical[a]).then(a.cmp(&b)));
            for i in ready {
                self.slots[i] = Slot::Queued;
                self.queue.push(i);
            }
        }
    }

    /// What the job reserves: its expected memory, at most the cap less
    /// what services (`services` elsewhere, and this run's own other than
    /// it) hold for as long as they run.
    fn need(&self, job: usize, services: u64) -> u64 {
        let own = self.services_held - self.held[job];
        let room = self.opts.cap.saturating_sub(own + services).max(1);
        self.jobs[job].memory.min(room)
    }

    /// Whether admission has anything to decide: a job is ready and a slot
    /// is free, or a service is ready to start (the supervisor takes the
    /// ledger only then).
    pub fn can_admit(&self) -> bool {
        !self.queue.is_empty()
            && (self.running < self.opts.jobs
                || (self.any_service && self.queue.iter().any(|&j| self.jobs[j].service.is_some())))
    }

    /// First-fit admission with a reservation for the oldest waiting job.
    /// `others` is the memory other runs hold against the same cap.
    #[cfg(test)]
    pub fn admit(&mut self, others: u64) -> Vec<Step> {
        self.admit_beside(others, 0)
    }

    /// [`Schedule::admit`], where `services` of `others` is held by
    /// services running outside any run (`precheck up`).
    pub fn admit_beside(&mut self, others: u64, services: u64) -> Vec<Step> {
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
            if let Some(how) = self.jobs[job]
                .service
                .as_ref()
                .and_then(|s| s.reused.clone())
            {
                self.queue.remove(i);
                let outcome = Outcome::unstarted(Status::Passed, Some(how));
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
            let need = self.need(job, services);
            let slot = self.running < self.opts.jobs || self.jobs[job].service.is_some();
            if slot && need <= free {
                self.queue.remove(i);
                self.start(job, need);
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

    fn start(&mut self, job: usize, need: u64) {
        self.held[job] = need;
        self.reserved += need;
        if self.jobs[job].service.is_some() {
            self.services_held += need;
        } else {
            self.running += 1;
        }
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

#[cfg(test)]
mod tests;
