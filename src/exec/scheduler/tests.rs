//! Unit tests of the scheduler's decisions: each drives a [`Schedule`] by
//! hand (promote, admit, end a job) and asserts the exact jobs started, in
//! order. Nothing is spawned and no clock is read.

use super::*;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// No job started.
const NONE: [usize; 0] = [];

fn job(name: &str, memory: u64) -> Job {
    Job {
        name: name.to_string(),
        batches: Ok(Vec::new()),
        log: PathBuf::new(),
        memory,
        memory_limit: None,
        timeout: None,
        needs: Vec::new(),
        after: Vec::new(),
        expected: None,
        exclusive_with: Vec::new(),
        cached: None,
        service: None,
    }
}

fn needs(mut j: Job, needs: &[usize]) -> Job {
    j.needs = needs.to_vec();
    j
}

fn opts(jobs: usize, cap: u64) -> Options {
    Options {
        jobs,
        cap,
        fail_fast: false,
    }
}

/// One pass of the coordinator's decisions: promote, then admit. The jobs
/// started, in order.
fn round(s: &mut Schedule, others: u64) -> Vec<usize> {
    let mut steps = s.promote_ready();
    steps.extend(s.admit(others));
    started(&steps)
}

fn started(steps: &[Step]) -> Vec<usize> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Start(j) => Some(*j),
            _ => None,
        })
        .collect()
}

/// A running job ends with `status`; true when fail-fast stops the run.
fn end(s: &mut Schedule, job: usize, status: Status) -> bool {
    s.release(job);
    s.finish(job, Outcome::unstarted(status, None))
}

fn status(s: &Schedule, job: usize) -> Option<Status> {
    s.outcome(job).map(|o| o.status)
}

/// Runs every job to a pass one at a time, in admission order.
fn serial_order(s: &mut Schedule) -> Vec<usize> {
    let mut order = Vec::new();
    while !s.all_done() {
        let now = round(s, 0);
        assert_eq!(now.len(), 1, "one slot: {now:?}");
        order.push(now[0]);
        end(s, now[0], Status::Passed);
    }
    order
}

#[test]
fn a_job_waits_for_its_needs() {
    let jobs = [
        job("build", GIB),
        needs(job("test", GIB), &[0]),
        job("lint", GIB),
    ];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 2]);
    assert_eq!(round(&mut s, 0), NONE, "test waits for build");
    end(&mut s, 2, Status::Passed);
    assert_eq!(round(&mut s, 0), NONE, "lint is not a need");
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1]);
}

#[test]
fn a_failed_need_skips_its_dependents_transitively() {
    let jobs = [
        job("broken", GIB),
        needs(job("after-broken", GIB), &[0]),
        needs(job("after-after", GIB), &[1]),
        job("other", GIB),
    ];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 3]);
    end(&mut s, 0, Status::Failed);
    let steps = s.promote_ready();
    assert_eq!(
        steps,
        [
            Step::Ended {
                job: 1,
                announced: false
            },
            Step::Ended {
                job: 2,
                announced: false
            },
        ]
    );
    for (j, need) in [(1, "broken"), (2, "after-broken")] {
        let outcome = s.outcome(j).unwrap();
        assert_eq!(outcome.status, Status::SkippedNeeds);
        assert_eq!(outcome.detail.as_deref(), Some(need));
    }
    assert_eq!(status(&s, 3), None, "an unrelated job runs on");
}

#[test]
fn after_orders_without_requiring_a_pass() {
    let mut reader = job("reader", GIB);
    reader.after = vec![0];
    let jobs = [job("fixer", GIB), reader];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0]);
    assert_eq!(round(&mut s, 0), NONE);
    end(&mut s, 0, Status::Failed);
    assert_eq!(round(&mut s, 0), [1], "after a failure too");
}

#[test]
fn two_three_gib_jobs_never_run_together_under_a_four_gib_cap() {
    let jobs = [job("a", 3 * GIB), job("small", GIB), job("b", 3 * GIB)];
    let o = opts(4, 4 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 1], "the small job fills the gap");
    assert_eq!(s.reserved(), 4 * GIB);
    assert_eq!(s.waiting_memory(), 1);
    end(&mut s, 1, Status::Passed);
    assert_eq!(round(&mut s, 0), NONE, "3GiB beside 3GiB");
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [2]);
}

#[test]
fn a_job_over_the_whole_cap_runs_alone_when_nothing_else_runs() {
    let jobs = [
        job("small1", 100 * MIB),
        job("huge", 8 * GIB),
        job("small2", 100 * MIB),
    ];
    let o = opts(4, 2 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0]);
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1]);
    assert_eq!(s.reserved(), 2 * GIB, "it reserves the whole cap");
    assert_eq!(round(&mut s, 0), NONE, "nothing beside it");
    end(&mut s, 1, Status::Passed);
    assert_eq!(round(&mut s, 0), [2]);
}

#[test]
fn the_oldest_waiting_job_is_not_starved_by_newer_small_ones() {
    let jobs = [
        job("first", 2 * GIB),
        job("big", 2 * GIB),
        job("s1", 600 * MIB),
        job("s2", 600 * MIB),
    ];
    let o = opts(8, 3 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    // 1GiB is free beside `first`, but big waits for it: plain first-fit
    // would start s1 now.
    assert_eq!(round(&mut s, 0), [0]);
    assert_eq!(s.waiting_memory(), 3);
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1, 2]);
    assert_eq!(s.waiting_memory(), 1);
}

#[test]
fn ties_go_to_the_longest_critical_path_then_file_order() {
    let secs = |name, s| {
        let mut j = job(name, GIB);
        j.expected = Some(Duration::from_secs(s));
        j
    };
    // Critical paths: a 1s, b 3s, c 1+5s (d needs it), d 5s, e 1s.
    let jobs = [
        secs("a", 1),
        secs("b", 3),
        secs("c", 1),
        needs(secs("d", 5), &[2]),
        secs("e", 1),
    ];
    let o = opts(1, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    // d, ready last, queues behind the jobs ready before it.
    assert_eq!(serial_order(&mut s), [2, 1, 0, 4, 3]);
}

#[test]
fn no_more_run_at_once_than_the_jobs_slots() {
    let jobs = [job("a", GIB), job("b", GIB), job("c", GIB), job("d", GIB)];
    let o = opts(2, 16 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 1]);
    assert!(!s.can_admit());
    assert!(s.admit(0).is_empty());
    end(&mut s, 1, Status::Passed);
    assert_eq!(round(&mut s, 0), [2]);
    assert_eq!(s.waiting_memory(), 0, "held back by slots, not memory");
}

#[test]
fn exclusive_jobs_never_run_together() {
    let mut fixer = job("fixer", GIB);
    fixer.exclusive_with = vec![1];
    let mut reader = job("reader", GIB);
    reader.exclusive_with = vec![0];
    let jobs = [fixer, reader, job("other-files", GIB)];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 2]);
    assert_eq!(round(&mut s, 0), NONE);
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1]);
}

#[test]
fn memory_held_by_other_runs_counts_against_the_cap() {
    let jobs = [job("a", 2 * GIB), job("b", 2 * GIB)];
    let o = opts(4, 4 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 2 * GIB), [0]);
    assert_eq!(s.waiting_memory(), 1);
    assert_eq!(round(&mut s, 2 * GIB), NONE);
    assert_eq!(round(&mut s, 0), [1], "the other run ended");
}

#[test]
fn fail_fast_abandons_the_waiting_jobs() {
    let jobs = [
        job("fails", GIB),
        job("slow", GIB),
        job("later", GIB),
        needs(job("dependent", GIB), &[1]),
    ];
    let o = Options {
        fail_fast: true,
        ..opts(2, 8 * GIB)
    };
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 1]);
    assert!(end(&mut s, 0, Status::Failed), "the failure stops the run");
    assert!(s.stopping());
    let steps = s.abandon_waiting();
    let ended = |job| Step::Ended {
        job,
        announced: false,
    };
    assert_eq!(steps, [ended(2), ended(3)]);
    assert_eq!(status(&s, 2), Some(Status::NotStarted));
    assert_eq!(status(&s, 1), None, "the supervisor stops what runs");
    assert!(!end(&mut s, 1, Status::Failed), "a run stops once");
    assert!(s.all_done());
}

#[test]
fn without_fail_fast_a_failure_stops_nothing() {
    let jobs = [job("fails", GIB), job("other", GIB)];
    let o = opts(1, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0]);
    assert!(!end(&mut s, 0, Status::Failed));
    assert!(!s.stopping());
    assert_eq!(round(&mut s, 0), [1]);
}

#[test]
fn a_job_that_cannot_start_fails_at_admission_and_fail_fast_stops_there() {
    let mut broken = job("broken", GIB);
    broken.batches = Err("no such program".to_string());
    let jobs = [job("a", GIB), broken, job("c", GIB)];
    let o = Options {
        fail_fast: true,
        ..opts(4, 8 * GIB)
    };
    let mut s = Schedule::new(&jobs, &o);
    s.promote_ready();
    assert_eq!(
        s.admit(0),
        [
            Step::Start(0),
            Step::Ended {
                job: 1,
                announced: true
            },
            Step::StopAll,
        ],
        "c is not started"
    );
    let outcome = s.outcome(1).unwrap();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.detail.as_deref(), Some("no such program"));
}

#[test]
fn a_cached_pass_ends_without_running_and_lets_its_dependents_run() {
    let mut cached = job("cached", 4 * GIB);
    cached.cached = Some(Duration::from_secs(60));
    let jobs = [cached, needs(job("dependent", GIB), &[0])];
    let o = opts(4, 4 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), NONE);
    assert_eq!(status(&s, 0), Some(Status::Cached));
    assert_eq!(s.reserved(), 0);
    assert_eq!(round(&mut s, 0), [1]);
}

fn service(name: &str, memory: u64) -> Job {
    let mut j = job(name, memory);
    j.service = Some(ServiceJob {
        ready: crate::config::Ready::Port(1),
        ready_timeout: Duration::from_secs(60),
        reused: None,
    });
    j
}

#[test]
fn a_service_starts_once_a_check_waits_only_for_it_and_stops_after_the_last() {
    let jobs = [
        job("build", GIB),
        needs(job("e2e", GIB), &[0, 3]),
        needs(job("smoke", GIB), &[3]),
        service("web", GIB),
    ];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    // smoke waits only for web: web starts now, beside build.
    assert_eq!(round(&mut s, 0), [0, 3]);
    assert_eq!(round(&mut s, 0), NONE, "nothing starts before web is ready");
    s.serving(3);
    assert_eq!(round(&mut s, 0), [2]);
    end(&mut s, 2, Status::Passed);
    assert!(s.idle_services().is_empty(), "e2e still needs web");
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1]);
    end(&mut s, 1, Status::Passed);
    assert_eq!(s.idle_services(), [3]);
}

#[test]
fn a_service_waits_until_a_check_needs_nothing_but_it() {
    let jobs = [
        job("build", GIB),
        needs(job("e2e", GIB), &[0, 2]),
        service("web", GIB),
    ];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(
        round(&mut s, 0),
        [0],
        "web is not needed before build passed"
    );
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [2]);
}

#[test]
fn a_service_no_check_is_left_to_need_never_starts() {
    let jobs = [
        job("build", GIB),
        needs(job("e2e", GIB), &[0, 2]),
        service("web", GIB),
    ];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0]);
    end(&mut s, 0, Status::Failed);
    assert_eq!(round(&mut s, 0), NONE);
    assert_eq!(status(&s, 1), Some(Status::SkippedNeeds));
    assert_eq!(status(&s, 2), Some(Status::NotStarted));
    assert!(s.all_done());
}

#[test]
fn a_failed_service_fails_the_checks_waiting_for_it() {
    let jobs = [needs(job("e2e", GIB), &[1]), service("web", GIB)];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [1]);
    s.release(1);
    s.finish(
        1,
        Outcome::unstarted(Status::Failed, Some("was not ready after 1s".into())),
    );
    let steps = s.promote_ready();
    assert_eq!(
        steps,
        [Step::Ended {
            job: 0,
            announced: true
        }]
    );
    let o = s.outcome(0).unwrap();
    assert_eq!(
        o.status,
        Status::Failed,
        "a check whose service failed fails"
    );
    assert_eq!(
        o.detail.as_deref(),
        Some("needs service `web`, which was not ready after 1s")
    );
}

#[test]
fn services_take_memory_but_no_slot() {
    // One slot: the service still starts beside a running check.
    let jobs = [
        job("lint", GIB),
        needs(job("e2e", GIB), &[2]),
        service("web", GIB),
    ];
    let o = opts(1, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [0, 2]);
    assert_eq!(s.reserved(), 2 * GIB);
    s.serving(2);
    assert_eq!(round(&mut s, 0), NONE, "e2e waits for lint's slot");
    end(&mut s, 0, Status::Passed);
    assert_eq!(round(&mut s, 0), [1]);
}

#[test]
fn a_check_too_big_to_fit_beside_services_runs_alone_beside_them() {
    // 3 GiB cap: web holds 2, a 2 GiB check would wait for web forever.
    let jobs = [
        needs(job("e2e", 2 * GIB), &[1]),
        service("web", 2 * GIB),
        job("lint", 512 * MIB),
    ];
    let o = opts(4, 3 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), [1, 2]);
    s.serving(1);
    assert_eq!(round(&mut s, 0), NONE, "lint holds what is left");
    end(&mut s, 2, Status::Passed);
    assert_eq!(round(&mut s, 0), [0], "e2e takes the rest of the cap");
    assert_eq!(s.reserved(), 3 * GIB);
    // Services held outside the run (precheck up) narrow the room the same way.
    let jobs = [job("build", 4 * GIB), job("lint", GIB)];
    let o = opts(4, 4 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    s.promote_ready();
    assert_eq!(started(&s.admit_beside(3 * GIB, 3 * GIB)), [0]);
    assert_eq!(
        s.reserved(),
        GIB,
        "build runs alone in what the services left"
    );
}

#[test]
fn a_reused_service_counts_as_ready_and_is_never_stopped() {
    let mut web = service("web", GIB);
    if let Some(sv) = web.service.as_mut() {
        sv.reused = Some("reused: started by `precheck up`".into());
    }
    let jobs = [needs(job("e2e", GIB), &[1]), web];
    let o = opts(4, 8 * GIB);
    let mut s = Schedule::new(&jobs, &o);
    assert_eq!(round(&mut s, 0), NONE);
    assert_eq!(status(&s, 1), Some(Status::Passed));
    assert_eq!(round(&mut s, 0), [0]);
    assert_eq!(s.reserved(), GIB, "a reused service reserves nothing here");
    end(&mut s, 0, Status::Passed);
    assert!(s.idle_services().is_empty());
    assert!(s.all_done());
}
