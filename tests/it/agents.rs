//! What people and agents read back about runs: `tasks`, `wait` and `log`
//! agree on every status and count, JSON carries what `run --format json`
//! carries, and nothing a check prints can act on the reader's terminal.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::common::{self, alive, wait_for, TestRepo};

/// Starts `precheck run ARGS --background`; returns its id and pid.
fn start(repo: &TestRepo, args: &[&str]) -> (String, i32) {
    let id = common::start(repo, args);
    let pid = common::task(repo, &id)["pid"].as_i64().unwrap() as i32;
    (id, pid)
}

/// Each check's state by name, from a `log`/`wait` run document.
fn states(doc: &Value) -> BTreeMap<String, String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The run as `tasks`, `wait` and `log` show it, checked to agree; the
/// `log` document is returned.
fn agreed(repo: &TestRepo, id: &str) -> Value {
    // Waited for first: the three are read once the run has ended.
    let wait = repo.precheck(&["wait", "--run", id, "--format", "json"]);
    let wait_doc = wait.json()["runs"][0].clone();
    let row = common::task(repo, id);
    let log = repo
        .precheck(&["log", "--run", id, "--format", "json"])
        .json();
    assert_eq!(row["state"], log["state"], "tasks {row}\nlog {log}");
    assert_eq!(wait_doc["state"], log["state"]);
    assert_eq!(row["checks"], log["counts"], "tasks and log counts");
    assert_eq!(wait_doc["counts"], log["counts"], "wait and log counts");
    assert_eq!(states(&wait_doc), states(&log));
    assert_eq!(
        wait_doc["checks"], log["checks"],
        "the same check documents"
    );
    // Every check is counted once.
    let total: u64 = log["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        log["checks"].as_array().unwrap().len(),
        "{log}"
    );
    let code = match log["state"].as_str().unwrap() {
        "passed" => 0,
        _ => 1,
    };
    wait.expect_code(code);
    log
}

fn count(doc: &Value, key: &str) -> u64 {
    doc["counts"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key}: {doc}"))
}

#[test]
fn tasks_wait_and_log_agree_on_every_status() {
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\njobs = 8\n\
         [checks.pass]\nrun = 'true'\n\
         [checks.fail]\nrun = 'echo broken; exit 3'\n\
         [checks.slow]\nrun = 'sleep 30'\ntimeout = '300ms'\n\
         [checks.dep]\nrun = 'true'\nneeds = ['fail']\n\
         [checks.hang]\nrun = 'touch hang.started; exec sleep 100'\n\
         [checks.cachedone]\nrun = 'true'\n",
    );
    repo.write(".gitignore", "*.started\n");
    // An earlier pass, so that `cachedone` is cached in the run below.
    repo.precheck(&["run", "cachedone", "--all"]).expect_code(0);
    let (a, _) = start(&repo, &["--all"]);
    wait_for("hang to start", || repo.file("hang.started").exists());
    repo.precheck(&["kill", "hang", "--run", &a]).expect_code(0);
    let log = agreed(&repo, &a);
    let want: BTreeMap<String, String> = [
        ("pass", "passed"),
        ("fail", "failed"),
        ("slow", "timed_out"),
        ("dep", "skipped_needs"),
        ("hang", "killed"),
        ("cachedone", "cached"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(states(&log), want, "{log}");
    for (key, n) in [
        ("passed", 1),
        ("cached", 1),
        ("failed", 2),
        ("killed", 1),
        ("skipped", 1),
    ] {
        assert_eq!(count(&log, key), n, "{key}: {log}");
    }
    // What run --format json gives, per check: the failure's exit code and
    // tail, no log for a check that never started a process.
    let fail = log["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fail")
        .unwrap();
    assert_eq!(fail["exit_code"], 3, "{log}");
    assert_eq!(fail["tail"], "broken");
    let dep = log["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dep")
        .unwrap();
    assert!(dep["log"].is_null(), "a skipped check lists no log: {dep}");

    // Interrupted and not started: one job at a time, SIGINT to the run.
    repo.checks(
        "[settings]\njobs = 1\n\
         [checks.first]\nrun = 'touch first.started; exec sleep 100'\n\
         [checks.second]\nrun = 'true'\nneeds = ['first']\n",
    );
    let (b, pid) = start(&repo, &["--all"]);
    wait_for("first to start", || repo.file("first.started").exists());
    // SAFETY: a signal to the background run this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    wait_for("the interrupted run to end", || !alive(pid));
    let log = agreed(&repo, &b);
    assert_eq!(log["state"], "interrupted", "{log}");
    assert_eq!(count(&log, "interrupted"), 1, "{log}");
    assert_eq!(count(&log, "not_started"), 1, "{log}");
    assert_eq!(count(&log, "failed"), 0, "{log}");
    let second = log["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "second")
        .unwrap();
    assert_eq!(second["state"], "not_started");
    assert!(
        second["log"].is_null(),
        "a check that never started has no log: {second}"
    );

    // Crashed: the run's precheck killed outright while a check runs.
    let _ = std::fs::remove_file(repo.file("first.started"));
    let (c, pid) = start(&repo, &["--all"]);
    wait_for("first to start", || repo.file("first.started").exists());
    // SAFETY: killing the background run this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    wait_for("the run to die", || !alive(pid));
    let log = agreed(&repo, &c);
    assert_eq!(log["state"], "crashed", "{log}");
    assert_eq!(count(&log, "crashed"), 1, "{log}");
    assert_eq!(count(&log, "not_started"), 1, "{log}");
    assert_eq!(
        count(&log, "running"),
        0,
        "a crashed run runs nothing: {log}"
    );
    // Its time stopped when it died.
    let t1 = log["duration_ms"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t2 = agreed(&repo, &c)["duration_ms"].as_u64().unwrap();
    assert_eq!(t1, t2, "a crashed run's time does not grow");
    let text = repo.precheck(&["wait", "--run", &c]);
    assert!(!text.stdout.contains("running"), "{}", text.context);
}

#[test]
fn wait_polls_reports_a_timeout_in_json_and_returns_at_the_first_run_to_end() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.quick]\nrun = 'true'\nhooks = ['manual']\n\
         [checks.long]\nrun = 'while [ ! -e go ]; do sleep 0.05; done'\nhooks = ['manual']\n",
    );
    repo.write(".gitignore", "go\n");
    let (long, _) = start(&repo, &["long", "--all"]);
    // Poll: look once, and say what is going on, on stdout, in JSON.
    let poll = repo.precheck(&["wait", "--run", &long, "--timeout", "0", "--format", "json"]);
    poll.expect_code(124);
    let doc = poll.json();
    assert_eq!(doc["timed_out"], true, "{doc}");
    assert_eq!(doc["runs"][0]["state"], "running");
    let (quick, _) = start(&repo, &["quick", "--all"]);
    let any = repo.precheck(&[
        "wait", "--run", &long, "--run", &quick, "--any", "--format", "json",
    ]);
    any.expect_code(0);
    let doc = any.json();
    assert_eq!(doc["first_ended"], quick.as_str(), "{doc}");
    assert_eq!(doc["timed_out"], false);
    repo.write("go", "");
    repo.precheck(&["wait", "--run", &long]).expect_code(0);
}

#[test]
fn a_check_just_started_in_the_background_can_be_read_at_once() {
    let repo = TestRepo::new();
    repo.checks("[checks.hello]\nrun = 'echo hello'\n");
    for _ in 0..5 {
        let (id, _) = start(&repo, &["--all"]);
        let log = repo.precheck(&["log", "hello", "--run", &id]);
        log.expect_code(0);
        repo.precheck(&["wait", "--run", &id]).expect_code(0);
    }
}

#[test]
fn what_a_check_prints_never_acts_on_the_terminal_or_reaches_json() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.nasty]\nrun = 'printf \"\\033[2J\\033]0;pwned\\007visible\\033[31m red\\n\"; exit 1'\n",
    );
    let run = repo.precheck(&["run", "--all"]);
    run.expect_code(1);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.context);
    assert!(
        run.stdout.contains("^[[2J^[]0;pwned^Gvisible^[[31m red"),
        "{}",
        run.context
    );
    let json = repo.precheck(&["run", "--all", "--format", "json"]);
    let doc = json.json();
    assert_eq!(doc["checks"][0]["tail"], "visible red", "{doc}");
    let log = doc["checks"][0]["log"].as_str().unwrap();
    let bytes = std::fs::read(log).unwrap();
    assert!(
        bytes.starts_with(b"\x1b[2J\x1b]0;pwned\x07visible"),
        "the log keeps the bytes"
    );
    let id = doc["run_id"].as_str().unwrap();
    let shown = repo.precheck(&["log", "--run", id]);
    assert!(!shown.stdout.contains('\u{1b}'), "{}", shown.context);
    let via = repo
        .precheck(&["log", "--run", id, "--format", "json"])
        .json();
    assert_eq!(via["checks"][0]["tail"], "visible red");
}
