//! The scheduler: the memory cap, `needs`, timeouts, memory limits,
//! fail-fast, and what is left of process trees afterwards.

use crate::common::{alive, intervals, max_overlap, timed, wait_for, TestRepo};

fn four_heavy_checks(cap: &str) -> String {
    let mut toml = format!("[settings]\njobs = 4\nmemory = \"{cap}\"\n");
    for name in ["a", "b", "c", "d"] {
        toml.push_str(&format!(
            "[checks.{name}]\nrun = '{}'\nmemory = \"1.5GiB\"\n",
            timed(name, "sleep 0.4")
        ));
    }
    toml
}

#[test]
fn three_gib_cap_admits_two_of_four_one_and_a_half_gib_checks() {
    let repo = TestRepo::new();
    repo.checks(&four_heavy_checks("3GiB"));
    repo.precheck(&["run", "--format", "json"]).expect_code(0);
    let times = intervals(&repo);
    assert_eq!(times.len(), 4);
    assert_eq!(max_overlap(&times), 2, "{times:?}");
}

#[test]
fn six_gib_cap_admits_all_four() {
    let repo = TestRepo::new();
    repo.checks(&four_heavy_checks("6GiB"));
    repo.precheck(&["run", "--format", "json"]).expect_code(0);
    let times = intervals(&repo);
    assert_eq!(max_overlap(&times), 4, "{times:?}");
}

#[test]
fn memory_flag_overrides_the_setting() {
    let repo = TestRepo::new();
    repo.checks(&four_heavy_checks("6GiB"));
    repo.precheck(&["run", "--memory", "1600MiB", "--format", "json"])
        .expect_code(0);
    assert_eq!(max_overlap(&intervals(&repo)), 1);
}

#[test]
fn a_check_over_the_whole_cap_runs_alone_with_a_warning() {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[settings]\njobs = 4\nmemory = \"2GiB\"\n\
         [checks.small1]\nrun = '{}'\nmemory = \"100MiB\"\n\
         [checks.huge]\nrun = '{}'\nmemory = \"8GiB\"\n\
         [checks.small2]\nrun = '{}'\nmemory = \"100MiB\"\n",
        timed("small1", "sleep 0.3"),
        timed("huge", "sleep 0.3"),
        timed("small2", "sleep 0.3")
    ));
    let run = repo.precheck(&["run"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("check `huge` expects 8GiB, more than the 2GiB cap"),
        "{}",
        run.context
    );
    let t = intervals(&repo);
    let (hs, he) = t["huge"];
    for other in ["small1", "small2"] {
        let (s, e) = t[other];
        assert!(e <= hs || s >= he, "{other} overlapped huge: {t:?}");
    }
}

#[test]
fn the_oldest_waiting_check_is_not_starved_by_smaller_ones() {
    // big needs 2GiB of a 3GiB cap while `first` holds 2GiB; smalls declared
    // after big may not take the memory big is waiting for.
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[settings]\njobs = 8\nmemory = \"3GiB\"\n\
         [checks.first]\nrun = '{}'\nmemory = \"2GiB\"\n\
         [checks.big]\nrun = '{}'\nmemory = \"2GiB\"\n\
         [checks.s1]\nrun = '{}'\nmemory = \"600MiB\"\n\
         [checks.s2]\nrun = '{}'\nmemory = \"600MiB\"\n",
        timed("first", "sleep 0.5"),
        timed("big", "sleep 0.3"),
        timed("s1", "sleep 0.3"),
        timed("s2", "sleep 0.3"),
    ));
    repo.precheck(&["run", "--format", "json"]).expect_code(0);
    let t = intervals(&repo);
    // With 1GiB free beside `first`, plain first-fit would start s1 at once
    // and take memory big is waiting for; the reservation keeps the smalls
    // back until `first` ends and big can start.
    let first_end = t["first"].1;
    assert!(t["big"].0 >= first_end, "{t:?}");
    for s in ["s1", "s2"] {
        assert!(t[s].0 >= first_end, "{s} took memory big waits for: {t:?}");
    }
}

#[test]
fn needs_order_and_skip_after_a_failure() {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[settings]\njobs = 4\n\
         [checks.build]\nrun = '{}'\n\
         [checks.test]\nrun = '{}'\nneeds = [\"build\"]\n\
         [checks.broken]\nrun = 'exit 1'\n\
         [checks.after-broken]\nrun = 'touch ran-after-broken'\nneeds = [\"broken\"]\n\
         [checks.after-after]\nrun = 'touch ran-after-after'\nneeds = [\"after-broken\"]\n",
        timed("build", "sleep 0.3"),
        timed("test", "true"),
    ));
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    let t = intervals(&repo);
    assert!(
        t["test"].0 >= t["build"].1,
        "test started before build ended: {t:?}"
    );
    assert_eq!(run.check("after-broken")["status"], "skipped_needs");
    assert_eq!(run.check("after-broken")["detail"], "broken");
    assert_eq!(run.check("after-after")["status"], "skipped_needs");
    assert!(!repo.file("ran-after-broken").exists());
    assert!(!repo.file("ran-after-after").exists());
    let human = repo.precheck(&["run"]);
    assert!(
        human.stdout.contains("skipped: needs broken"),
        "{}",
        human.context
    );
}

#[test]
fn named_checks_bring_their_needs_along() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.build]\nrun = 'touch built'\nhooks = [\"manual\"]\n\
         [checks.test]\nrun = 'test -f built'\nneeds = [\"build\"]\n\
         [checks.other]\nrun = 'touch other-ran'\n",
    );
    let run = repo.precheck(&["run", "test", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(run.check("build")["status"], "passed");
    assert_eq!(run.check("test")["status"], "passed");
    assert!(!repo.file("other-ran").exists());
}

#[test]
fn timeout_kills_the_whole_tree_grandchildren_included() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.slow]\nrun = 'sh -c \"sleep 100 & echo \\$! > grandchild.pid; wait\"'\ntimeout = \"1s\"\n\
         [checks.escaper]\nrun = 'setsid sleep 100 & echo $! > setsid.pid; wait'\ntimeout = \"1s\"\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.check("slow")["status"], "timed_out");
    assert_eq!(run.check("escaper")["status"], "timed_out");
    for f in ["grandchild.pid", "setsid.pid"] {
        let pid: i32 = repo.read(f).trim().parse().unwrap();
        // Killed before precheck exited; a zombie waiting for init counts as gone.
        assert!(
            !alive(pid),
            "{f}: process {pid} outlived precheck\n{}",
            run.context
        );
    }
}

#[test]
fn memory_limit_kills_and_reports() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.hog]\nrun = ['python3', '-c', \"import time\\nx = bytearray(300 * 1024 * 1024)\\nfor i in range(0, len(x), 4096): x[i] = 1\\ntime.sleep(60)\"]\nmemory_limit = \"100MiB\"\n\
         [checks.fine]\nrun = 'true'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    let hog = run.check("hog");
    assert_eq!(hog["status"], "killed_memory", "{}", run.context);
    assert!(hog["peak_memory_bytes"].as_u64().unwrap() > 100 * 1024 * 1024);
    assert_eq!(run.check("fine")["status"], "passed");
}

#[test]
fn peak_memory_is_measured_over_the_process_tree() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.tree]\nrun = 'python3 -c \"x = bytearray(80 * 1024 * 1024); import time; [x.__setitem__(i, 1) for i in range(0, len(x), 4096)]; time.sleep(0.5)\" & python3 -c \"y = bytearray(80 * 1024 * 1024); import time; [y.__setitem__(i, 1) for i in range(0, len(y), 4096)]; time.sleep(0.5)\" & wait'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(0);
    let peak = run.check("tree")["peak_memory_bytes"].as_u64().unwrap();
    assert!(
        peak > 160 * 1024 * 1024,
        "peak {peak} should cover both children\n{}",
        run.context
    );
}

#[test]
fn fail_fast_stops_running_checks_and_starts_no_more() {
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\njobs = 2\nfail_fast = true\n\
         [checks.slow]\nrun = 'echo $$ > slow.pid; sleep 100'\n\
         [checks.fails]\nrun = 'sleep 0.3; exit 1'\n\
         [checks.later]\nrun = 'touch later-ran'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.check("fails")["status"], "failed");
    assert_eq!(run.check("slow")["status"], "interrupted");
    assert_eq!(run.check("later")["status"], "not_started");
    assert!(!repo.file("later-ran").exists());
    let pid: i32 = repo.read("slow.pid").trim().parse().unwrap();
    assert!(!alive(pid));
}

#[test]
fn leftover_background_processes_in_the_group_are_ended() {
    let repo = TestRepo::new();
    repo.checks("[checks.bg]\nrun = 'sleep 100 & echo $! > bg.pid'\n");
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(0);
    let pid: i32 = repo.read("bg.pid").trim().parse().unwrap();
    assert!(
        !alive(pid),
        "a background child outlived precheck\n{}",
        run.context
    );
}

fn interrupt(signal: i32, whole_group: bool, expected: i32) {
    use std::os::unix::process::CommandExt;
    let repo = TestRepo::new();
    repo.checks(
        "[checks.long]\nrun = 'echo $$ > long.pid; sleep 100 & echo $! > child.pid; wait'\n\
         [checks.quick]\nrun = 'true'\n\
         [checks.queued]\nrun = 'touch queued-ran'\nneeds = [\"long\"]\n",
    );
    let mut cmd = repo.command(&["run", "--format", "json"]);
    if whole_group {
        cmd.process_group(0);
    }
    cmd.stdout(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    // Its number written, not only its file made (a signal between the two
    // would leave the file empty).
    wait_for("the check to start", || {
        std::fs::read_to_string(repo.file("child.pid")).is_ok_and(|t| t.ends_with('\n'))
    });
    // SAFETY: signalling our own child (or its group).
    unsafe {
        if whole_group {
            libc::killpg(pid, signal);
        } else {
            libc::kill(pid, signal);
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(expected));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "interrupted");
    let checks = doc["checks"].as_array().unwrap();
    let status = |n: &str| checks.iter().find(|c| c["name"] == n).unwrap()["status"].clone();
    assert_eq!(status("long"), "interrupted");
    assert_eq!(status("queued"), "not_started");
    for f in ["long.pid", "child.pid"] {
        let p: i32 = repo.read(f).trim().parse().unwrap();
        assert!(!alive(p), "{f} survived the interrupt");
    }
    assert!(!repo.file("queued-ran").exists());
}

#[test]
fn sigint_to_precheck_alone_stops_everything() {
    interrupt(libc::SIGINT, false, 130);
}

#[test]
fn sigint_to_the_process_group_stops_everything() {
    interrupt(libc::SIGINT, true, 130);
}

#[test]
fn sigterm_and_sighup_exit_143_and_129() {
    interrupt(libc::SIGTERM, false, 143);
    interrupt(libc::SIGHUP, false, 129);
}

#[test]
fn a_fixer_never_runs_beside_a_check_sharing_its_files() {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[settings]\njobs = 4\nmemory = \"8GiB\"\n\
         [checks.fixer]\nrun = '{}'\nglob = '*.txt'\nfix = true\n\
         [checks.reader]\nrun = '{}'\nglob = '*.txt'\n\
         [checks.whole-tree]\nrun = '{}'\n\
         [checks.other-files]\nrun = '{}'\nglob = '*.rs'\n",
        timed("fixer", "sleep 0.4"),
        timed("reader", "sleep 0.4"),
        timed("whole-tree", "sleep 0.4"),
        timed("other-files", "sleep 0.4"),
    ));
    repo.write("a.txt", "1")
        .write("b.rs", "1")
        .stage(&["a.txt", "b.rs"]);
    repo.precheck(&["run", "--no-stash", "--format", "json"])
        .expect_code(0);
    let t = intervals(&repo);
    let overlap = |a: &str, b: &str| t[a].0 < t[b].1 && t[b].0 < t[a].1;
    assert!(!overlap("fixer", "reader"), "{t:?}");
    assert!(
        !overlap("fixer", "whole-tree"),
        "a check of the whole tree shares every file: {t:?}"
    );
    assert!(
        overlap("fixer", "other-files"),
        "disjoint files may run together: {t:?}"
    );
}
