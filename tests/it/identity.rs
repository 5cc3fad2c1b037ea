//! Never the wrong process: every liveness decision and every signal about
//! another run's processes goes by an identity that pid reuse and pid
//! namespaces cannot confuse (pid, start time, pid namespace, and the
//! owner token a run's processes carry), never by a bare recorded number.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{alive, task, wait_for, TestRepo, BIN};

/// A process of nobody's run, in a process group of its own.
fn innocent() -> Child {
    Command::new("sleep")
        .arg("100")
        .process_group(0)
        .spawn()
        .unwrap()
}

/// The id and pid of `repo`'s only run.
fn only_run(repo: &TestRepo) -> (String, i32) {
    let doc = repo.precheck(&["tasks", "--format", "json"]).json();
    let id = doc["runs"][0]["id"].as_str().unwrap().to_string();
    let pid = task(repo, &id)["pid"].as_i64().unwrap() as i32;
    (id, pid)
}

/// `precheck kill --run ID` on a crashed run signalled the process group
/// recorded for its check, checked only for existence: a group that had
/// taken that number since was killed. The record is made to name an
/// innocent group, as pid reuse would; the kill must stop the run's real
/// check (which carries the run's owner token) and leave the group alone.
#[test]
fn killing_a_crashed_run_never_signals_a_group_that_took_its_number() {
    let repo = TestRepo::new();
    repo.checks("[checks.long]\nrun = 'echo $$ > check.pid; exec sleep 100'\n");
    repo.write(".gitignore", "check.pid\n");
    crate::common::start(&repo, &["--all"]);
    wait_for("the check", || {
        repo.file("check.pid").exists() && !repo.read("check.pid").is_empty()
    });
    let (id, pid) = only_run(&repo);
    let check: i32 = repo.read("check.pid").trim().parse().unwrap();
    // SAFETY: killing the background run this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    wait_for("the run to die", || !alive(pid));
    let mut other = innocent();
    let events = repo.file(format!(".git/precheck/runs/{id}/events"));
    let text = std::fs::read_to_string(&events).unwrap();
    let forged = forge_pgids(&text, other.id() as i32);
    assert_ne!(forged, text, "the record names the check's group: {text}");
    std::fs::write(&events, forged).unwrap();
    let kill = repo.precheck(&["kill", "--run", &id]);
    kill.expect_code(0);
    assert!(kill.stdout.contains("had crashed"), "{}", kill.context);
    wait_for("the run's own check to be stopped", || !alive(check));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        other.try_wait().unwrap().is_none(),
        "a process group that took the recorded number was killed\n{}",
        kill.context
    );
    let _ = other.kill();
    let _ = other.wait();
}

/// Every `"pgid":N` in a run's events, made to say `pgid`.
fn forge_pgids(text: &str, pgid: i32) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"pgid\":") {
        let (head, tail) = rest.split_at(at + "\"pgid\":".len());
        out.push_str(head);
        let digits = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        if digits == 0 {
            rest = tail;
            continue;
        }
        out.push_str(&pgid.to_string());
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Can this machine make a pid namespace (root, util-linux's unshare)?
fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A dev container and the host on one repository: a run started in
/// another pid namespace was judged dead by the host's precheck (its pid
/// names another process there), which then killed its live checks and
/// deleted its share of the memory cap. Now a run of another namespace is
/// never judged dead here: `tasks` shows it running, the host's own runs
/// leave its checks and its ledger file alone, and `kill` reaches it by its
/// record (not by a signal to a pid that means another process here).
#[test]
fn a_run_in_another_pid_namespace_is_never_judged_dead_here() {
    if !can_unshare() {
        // SAFETY: geteuid has no preconditions.
        assert_ne!(
            unsafe { libc::geteuid() },
            0,
            "root, and `unshare --pid --fork --mount-proc` failed"
        );
        eprintln!("skipped: making a pid namespace needs root");
        return;
    }
    let repo = TestRepo::new();
    repo.checks(
        "[checks.inside]\nrun = 'touch inside.started; exec sleep 100'\nmemory = '300MiB'\n\
         [checks.outside]\nrun = 'true'\nhooks = ['manual']\n",
    );
    repo.write(".gitignore", "inside.started\n");
    // The run inside a new pid namespace, in the foreground there: the
    // namespace lives as long as it runs.
    let inside = repo.command(&["run", "--all"]);
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--", BIN, "run", "--all"])
        .current_dir(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in inside.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut ns = cmd.spawn().unwrap();
    wait_for("the check inside", || repo.file("inside.started").exists());
    let (id, pid) = only_run(&repo);
    let ledger = repo.file(".git/precheck/ledger");
    let files = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "spare")
            .collect();
        v.sort();
        v
    };
    let held = files(&ledger);
    assert_eq!(held.len(), 1, "the inside run's share of the cap: {held:?}");
    // Its pid means another process (or none) out here.
    assert!(pid < 100, "pid {pid} is the namespace's own numbering");
    assert_eq!(task(&repo, &id)["state"], "running");
    // The host's own runs: each recovers and reaps what dead runs left
    // first; the inside run is not dead.
    repo.precheck(&["run", "outside"]).expect_code(0);
    repo.precheck(&["tasks"]).expect_code(0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        ns.try_wait().unwrap().is_none(),
        "the inside run ended: its check was killed from outside"
    );
    assert_eq!(files(&ledger), held, "its share of the cap was deleted");
    // kill from outside: the request in its record reaches it.
    let kill = repo.precheck(&["kill", "--run", &id]);
    kill.expect_code(0);
    assert!(
        kill.stdout.contains(&format!("killed run {id}")),
        "{}",
        kill.context
    );
    let status = ns.wait().unwrap();
    assert!(!status.success(), "the killed run fails: {status:?}");
    assert_eq!(task(&repo, &id)["state"], "killed");
}
