//! Background runs and task management: start, list, follow, wait, kill,
//! crashes, the shared memory cap, pruning, and records read while written.

use std::time::Duration;

use crate::common::{self, alive, intervals, max_overlap, start, task, timed, wait_for, TestRepo};

#[test]
fn start_list_follow_and_wait() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.ticker]\nrun = 'while [ ! -e go ]; do sleep 0.05; done; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.1; done'\n\
         [checks.broken]\nrun = 'echo broken-output; exit 3'\nneeds = ['ticker']\n",
    );
    let id = start(&repo, &["--all"]);
    wait_for("the run to show as running", || {
        let t = task(&repo, &id);
        t["state"] == "running" && t["checks"]["running"] == 1
    });
    let t = task(&repo, &id);
    assert_eq!(t["trigger"], "run");
    assert_eq!(t["checks"]["waiting"], 1);
    assert!(t["started_at"].as_str().unwrap().ends_with('Z'));
    // Follow while it prints: everything arrives, and follow ends with the check.
    let follower = std::thread::spawn({
        let mut cmd = repo.command(&["log", "ticker", "--run", &id, "-f"]);
        move || common::finish(&mut cmd, std::path::Path::new("."))
    });
    std::thread::sleep(Duration::from_millis(200));
    repo.write("go", "");
    let followed = follower.join().unwrap();
    followed.expect_code(0);
    assert_eq!(
        followed.stdout, "tick-1\ntick-2\ntick-3\ntick-4\ntick-5\n",
        "{}",
        followed.context
    );
    let wait = repo.precheck(&["wait", "--run", &id, "--format", "json"]);
    wait.expect_code(1);
    let doc = wait.json();
    assert_eq!(doc["runs"][0]["state"], "failed");
    assert_eq!(doc["runs"][0]["checks"][1]["state"], "failed");
    let log = repo.precheck(&["log", "broken"]);
    assert_eq!(log.stdout, "broken-output\n", "{}", log.context);
    let summary = repo.precheck(&["log", "--run", &id]);
    assert!(
        summary.stdout.contains("── broken failed"),
        "{}",
        summary.context
    );
    let meta = repo.precheck(&["log", "--format", "json"]).json();
    assert_eq!(meta["checks"][0]["state"], "passed");
}

#[test]
fn wait_exits_zero_for_a_passing_run() {
    let repo = TestRepo::new();
    repo.checks("[checks.nap]\nrun = 'sleep 0.3'\n");
    let id = start(&repo, &["--all"]);
    let wait = repo.precheck(&["wait"]);
    wait.expect_code(0);
    assert!(
        wait.stdout.contains(&format!("run {id}: passed")),
        "{}",
        wait.context
    );
}

#[test]
fn wait_times_out_with_124() {
    let repo = TestRepo::new();
    repo.checks("[checks.long]\nrun = 'sleep 100'\n");
    let id = start(&repo, &["--all"]);
    repo.precheck(&["wait", "--run", &id, "--timeout", "200ms"])
        .expect_code(124);
    repo.precheck(&["kill", "--run", &id]).expect_code(0);
}

#[test]
fn kill_stops_the_whole_tree_and_records_killed() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.deep]\nrun = 'sh -c \"sleep 100 & echo \\$! > grandchild.pid; wait\"'\n\
         [checks.other]\nrun = 'sleep 100'\n",
    );
    let id = start(&repo, &["--all"]);
    wait_for("the grandchild", || {
        repo.file("grandchild.pid").exists() && !repo.read("grandchild.pid").is_empty()
    });
    let grandchild: i32 = repo.read("grandchild.pid").trim().parse().unwrap();
    let kill = repo.precheck(&["kill", "deep", "--run", &id]);
    kill.expect_code(0);
    assert!(!alive(grandchild), "{}", kill.context);
    let t = task(&repo, &id);
    assert_eq!(t["state"], "running", "one check killed, the run goes on");
    repo.precheck(&["kill"]).expect_code(0);
    let t = task(&repo, &id);
    assert_eq!(t["state"], "killed");
    let log = repo
        .precheck(&["log", "--run", &id, "--format", "json"])
        .json();
    assert_eq!(log["checks"][0]["state"], "killed");
    assert_eq!(log["checks"][1]["state"], "killed");
}

#[test]
fn a_run_killed_outright_shows_as_crashed() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.long]\nrun = 'echo $$ > check.pid; exec sleep 100'\n\
         [checks.parent]\nrun = 'sleep 100 & echo $! > grandchild.pid; wait'\n",
    );
    let id = start(&repo, &["--all"]);
    wait_for("the checks", || {
        ["check.pid", "grandchild.pid"]
            .iter()
            .all(|f| repo.file(f).exists() && !repo.read(f).is_empty())
    });
    let pid = task(&repo, &id)["pid"].as_i64().unwrap() as i32;
    let grandchild: i32 = repo.read("grandchild.pid").trim().parse().unwrap();
    // SAFETY: killing the background run this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    // A grandchild outlives the parent-death signal; the next command,
    // whichever it is (here `tasks`), stops it first and says so.
    let mut said = String::new();
    wait_for("the next command to stop what the dead run left", || {
        said.push_str(&repo.precheck(&["tasks"]).stderr);
        said.contains("left running by a precheck that died")
    });
    wait_for("the run to read as crashed", || {
        task(&repo, &id)["state"] == "crashed"
    });
    let check: i32 = repo.read("check.pid").trim().parse().unwrap();
    wait_for("its check to die with it", || !alive(check));
    // wait on a crashed run ends at once, as a failure.
    repo.precheck(&["wait", "--run", &id]).expect_code(1);
    assert!(!alive(grandchild));
}

#[test]
fn concurrent_runs_share_one_memory_cap() {
    let repo = TestRepo::new();
    let mut toml = String::from("[settings]\njobs = 4\nmemory = \"3GiB\"\n");
    for name in ["a1", "a2", "b1", "b2"] {
        toml.push_str(&format!(
            "[checks.{name}]\nrun = '{}'\nmemory = \"1.5GiB\"\n",
            timed(name, "sleep 0.5")
        ));
    }
    repo.checks(&toml);
    let a = start(&repo, &["a1", "a2", "--all"]);
    let b = start(&repo, &["b1", "b2", "--all"]);
    repo.precheck(&["wait", "--run", &a, "--run", &b])
        .expect_code(0);
    let t = intervals(&repo);
    assert_eq!(t.len(), 4);
    assert_eq!(
        max_overlap(&t),
        2,
        "two runs together never exceed the cap: {t:?}"
    );
}

#[test]
fn clean_and_keep_runs_prune_records() {
    let repo = TestRepo::new();
    repo.checks("[settings]\nkeep_runs = 2\n[checks.ok]\nrun = 'true'\n");
    for _ in 0..4 {
        repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    }
    let runs = repo.precheck(&["tasks", "--format", "json"]).json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{runs}");
    // More kept, then fewer: a run that takes over a folder still prunes
    // down to a lowered bound.
    repo.checks("[settings]\nkeep_runs = 4\n[checks.ok]\nrun = 'true'\n");
    for _ in 0..5 {
        repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    }
    let runs = repo.precheck(&["tasks", "--format", "json"]).json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 4, "{runs}");
    repo.checks("[settings]\nkeep_runs = 2\n[checks.ok]\nrun = 'true'\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    let runs = repo.precheck(&["tasks", "--format", "json"]).json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{runs}");
    let clean = repo.precheck(&["clean"]);
    assert!(
        clean.stdout.contains("removed 2 finished runs"),
        "{}",
        clean.context
    );
    let runs = repo.precheck(&["tasks", "--format", "json"]).json();
    assert!(runs["runs"].as_array().unwrap().is_empty());
}

#[test]
fn records_are_never_half_written_for_a_racing_reader() {
    let repo = TestRepo::new();
    let mut toml = String::from("[settings]\njobs = 4\n");
    for i in 0..40 {
        toml.push_str(&format!("[checks.c{i}]\nrun = 'true'\n"));
    }
    repo.checks(&toml);
    let id = start(&repo, &["--all"]);
    let meta = repo.file(format!(".git/precheck/runs/{id}/meta.json"));
    let mut reads = 0;
    loop {
        if let Ok(bytes) = std::fs::read(&meta) {
            let doc: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("a torn record after {reads} reads: {e}"));
            reads += 1;
            if doc["state"] != "running" {
                break;
            }
        }
    }
    assert!(reads > 1);
    repo.precheck(&["wait", "--run", &id]).expect_code(0);
}

#[test]
fn a_run_of_500_checks_writes_its_record_o_n_times() {
    // Each write of the run record is a fault point (`record meta BYTES`,
    // `record event BYTES`) in the debug build: counted here, so a record
    // rewritten whole on every change (O(N) writes of O(N) bytes) fails.
    const N: usize = 500;
    let repo = TestRepo::new();
    let mut toml = String::from("[settings]\njobs = 4\n");
    for i in 0..N {
        toml.push_str(&format!("[checks.c{i}]\nrun = 'true'\n"));
    }
    repo.checks(&toml);
    let trace = repo.file("trace");
    let mut cmd = repo.command(&["run", "--all", "--no-cache", "-q"]);
    cmd.env("PRECHECK_FAULT_TRACE", &trace);
    common::finish(&mut cmd, repo.path()).expect_code(0);
    let points = std::fs::read_to_string(&trace).unwrap();
    let (mut metas, mut events, mut bytes) = (0, 0, 0);
    for line in points.lines() {
        let Some(rest) = line.strip_prefix("record ") else {
            continue;
        };
        let (kind, size) = rest.split_once(' ').unwrap();
        bytes += size.parse::<usize>().unwrap();
        match kind {
            "meta" => metas += 1,
            "event" => events += 1,
            other => panic!("unknown record write {other}"),
        }
    }
    // Whole: when the run starts and when it ends. One event each for a
    // check starting, its process spawning and its end.
    assert_eq!(metas, 2, "meta.json written whole {metas} times");
    assert_eq!(events, 3 * N);
    assert!(bytes < 1_000 * N, "{bytes} bytes written for {N} checks");
    // And what was appended reads back: every check passed.
    let id = repo.precheck(&["tasks", "--format", "json"]).json()["runs"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let log = repo
        .precheck(&["log", "--run", &id, "--format", "json"])
        .json();
    let checks = log["checks"].as_array().unwrap();
    assert_eq!(checks.len(), N);
    assert!(checks.iter().all(|c| c["state"] == "passed"), "{log}");
}

/// Every file under `.git/precheck/` (but the cache), by inode.
fn inodes(repo: &TestRepo) -> std::collections::BTreeMap<u64, std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    fn walk(dir: &std::path::Path, out: &mut std::collections::BTreeMap<u64, std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                if e.file_name() != "cache" {
                    walk(&e.path(), out);
                }
            } else {
                out.insert(meta.ino(), e.path());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(&repo.file(".git/precheck"), &mut out);
    out
}

#[test]
fn runs_in_steady_state_create_no_file_and_show_nothing_of_the_run_they_replace() {
    // Once `keep_runs` runs exist, a run takes over the oldest one's folder
    // and rewrites its files in place: the set of inodes stays the same.
    let repo = TestRepo::new();
    let toml = "[settings]\nkeep_runs = 2\n\
                [checks.a]\nrun = 'echo a-output'\n\
                [checks.b]\nrun = 'echo b-output-from-an-old-run; echo more'\n";
    repo.checks(toml);
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--all", "--no-cache", "-q"];
        all.extend_from_slice(args);
        repo.precheck(&all).expect_code(0);
        let doc = repo.precheck(&["tasks", "--format", "json"]).json();
        doc["runs"][0]["id"].as_str().unwrap().to_string()
    };
    for _ in 0..3 {
        run(&[]);
    }
    let before = inodes(&repo);
    let last = run(&[]);
    let after = inodes(&repo);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files created or deleted by one more run:\nbefore {before:#?}\nafter {after:#?}"
    );
    // Only `a` now, in a folder recycled from a run where `b` printed.
    let only_a = run(&["a"]);
    assert_ne!(only_a, last);
    let tasks = repo.precheck(&["tasks", "--format", "json"]).json();
    let ids: Vec<&str> = tasks["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [only_a.as_str(), last.as_str()], "{tasks}");
    let log = repo
        .precheck(&["log", "--run", &only_a, "--format", "json"])
        .json();
    let checks = log["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{log}");
    assert_eq!(checks[0]["name"], "a");
    let text = repo.precheck(&["log", "a", "--run", &only_a]);
    assert!(text.stdout.contains("a-output"), "{}", text.context);
    let dir = repo.file(format!(".git/precheck/runs/{only_a}"));
    assert!(!dir.join("logs/b.log").exists());
    let result = std::fs::read_to_string(dir.join("result.json")).unwrap();
    assert!(
        result.contains(&only_a) && !result.contains("\"b\""),
        "{result}"
    );
}

#[test]
fn a_crash_at_every_step_of_a_recycled_run_leaves_readable_records() {
    // Killed at each step of taking over an old run's folder and writing
    // its record: every run `tasks` lists can be opened, none shows another
    // run's checks or output, and the next run is whole.
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\nkeep_runs = 2\n\
         [checks.a]\nrun = 'echo a-output'\n\
         [checks.b]\nrun = 'echo b-output'\n",
    );
    let run = |envs: &[(&str, String)]| {
        let mut cmd = repo.command(&["run", "--all", "--no-cache", "-q"]);
        cmd.envs(envs.iter().map(|(k, v)| (k, v)));
        common::finish(&mut cmd, repo.path())
    };
    for _ in 0..3 {
        run(&[]).expect_code(0);
    }
    let trace = repo.file("trace");
    let trace_env = ("PRECHECK_FAULT_TRACE", trace.display().to_string());
    run(std::slice::from_ref(&trace_env)).expect_code(0);
    let points: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for name in [
        "recycle rename",
        "recycle empty",
        "recycle logs",
        "record meta 0",
    ] {
        let prefix = name.trim_end_matches(" 0");
        assert!(
            points.iter().any(|p| p.starts_with(prefix)),
            "no `{name}` in {points:?}"
        );
    }
    // A folder left half taken over is not taken again for a while, so a
    // later run may take another path: each kill is checked against the
    // points that run reached, and every step must have been hit once.
    let mut hit = std::collections::BTreeSet::new();
    for k in 1..=points.len() {
        std::fs::remove_file(&trace).ok();
        let killed = run(&[trace_env.clone(), ("PRECHECK_FAULT_KILL_AT", k.to_string())]);
        let reached: Vec<String> = std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        let at = if reached.len() >= k {
            assert_ne!(
                killed.code,
                0,
                "not killed at point {k} ({})",
                reached[k - 1]
            );
            let name = reached[k - 1].trim_end_matches(char::is_numeric).trim_end();
            hit.insert(name.to_string());
            reached[k - 1].clone()
        } else {
            killed.expect_code(0);
            format!("nothing (the run reached {} points)", reached.len())
        };
        let next = run(&[]);
        next.expect_code(0);
        let tasks = repo.precheck(&["tasks", "--format", "json"]).json();
        let runs = tasks["runs"].as_array().unwrap();
        let mut ids: Vec<&str> = runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(runs[0]["state"], "passed", "after a kill at {at}: {tasks}");
        for id in &ids {
            let log = repo.precheck(&["log", "--run", id, "--format", "json"]);
            log.expect_code(0);
            for c in log.json()["checks"].as_array().unwrap() {
                let name = c["name"].as_str().unwrap();
                assert!(name == "a" || name == "b", "{}", log.context);
                if c["state"] == "passed" {
                    let text = repo.precheck(&["log", name, "--run", id]);
                    assert!(
                        text.stdout.contains(&format!("{name}-output")),
                        "after a kill at {at}: {}",
                        text.context
                    );
                }
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), runs.len(), "{tasks}");
    }
    for step in [
        "recycle rename",
        "recycle empty",
        "recycle logs",
        "record meta",
        "record event",
    ] {
        assert!(hit.contains(step), "never killed at `{step}`: {hit:?}");
    }
}

#[test]
fn concurrent_runs_never_take_over_the_same_folder() {
    // Runs started together in steady state all look at the same oldest
    // folder; one gets it, the others make their own, and every record is
    // whole.
    let repo = TestRepo::new();
    repo.checks("[settings]\nkeep_runs = 3\n[checks.a]\nrun = 'echo a-output'\n");
    for _ in 0..3 {
        repo.precheck(&["run", "--all", "--no-cache", "-q"])
            .expect_code(0);
    }
    for _ in 0..5 {
        let children: Vec<_> = (0..4)
            .map(|_| {
                repo.command(&["run", "--all", "--no-cache", "-q"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let tasks = repo.precheck(&["tasks", "--format", "json"]).json();
        for r in tasks["runs"].as_array().unwrap() {
            assert_eq!(r["state"], "passed", "{tasks}");
            let id = r["id"].as_str().unwrap();
            let text = repo.precheck(&["log", "a", "--run", id]);
            assert_eq!(
                text.stdout.matches("a-output").count(),
                1,
                "{}",
                text.context
            );
        }
    }
}

#[test]
fn a_commit_waits_for_a_background_run_reading_the_tree() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.reader]\nrun = 'touch started; while [ ! -e go ]; do sleep 0.05; done'\nhooks = ['manual']\n\
         [checks.see]\nrun = 'cat f.txt > seen.txt'\n",
    );
    repo.write(".gitignore", "seen*\nstarted\ngo\n");
    repo.write("f.txt", "base\n")
        .stage(&["."])
        .commit("base")
        .install();
    let id = start(&repo, &["reader", "--all"]);
    wait_for("the background check", || repo.file("started").exists());
    repo.write("f.txt", "staged\n").stage(&["f.txt"]);
    repo.write("f.txt", "staged\nunstaged\n");
    let commit = std::thread::spawn({
        let mut cmd = repo.git_command(&["commit", "-qm", "while a run reads"]);
        move || common::finish(&mut cmd, std::path::Path::new("."))
    });
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        repo.read("f.txt"),
        "staged\nunstaged\n",
        "nothing changed under the running check"
    );
    repo.write("go", "");
    let commit = commit.join().unwrap();
    commit.expect_code(0);
    assert!(
        commit.stderr.contains(&format!("waiting for run {id}")),
        "{}",
        commit.context
    );
    // And how not to wait.
    assert!(
        commit
            .stderr
            .contains(&format!("`precheck kill --run {id}`"))
            && commit.stderr.contains("--no-stash")
            && commit.stderr.contains("PRECHECK_NO_STASH=1 git commit"),
        "{}",
        commit.context
    );
    assert_eq!(repo.read("seen.txt"), "staged\n");
    assert_eq!(repo.read("f.txt"), "staged\nunstaged\n");
}

/// Two work trees of one repository each admitted their checks as if
/// alone (the ledger lived in each work tree's own git dir): under one
/// 1 GiB cap, a 600 MiB check in each must never overlap.
#[test]
fn work_trees_of_one_repository_share_one_memory_cap() {
    let repo = TestRepo::new();
    let log = repo.file("times.log");
    // Named after the work tree it runs in, logged in one place.
    let body = format!(
        "echo \"$(basename \"$PWD\") start $(date +%s%N)\" >> {log}; sleep 0.6; \
         echo \"$(basename \"$PWD\") end $(date +%s%N)\" >> {log}",
        log = log.display()
    );
    repo.checks(&format!(
        "[settings]\nmemory = \"1GiB\"\n[checks.heavy]\nrun = '{body}'\nmemory = \"600MiB\"\n"
    ));
    repo.write(".gitignore", "times.log\n");
    repo.stage(&["."]).commit("base");
    let other = repo.home().join("wt");
    repo.git(&["worktree", "add", "-q", "--detach", other.to_str().unwrap()]);
    let mut in_other = repo.command(&["run", "--all"]);
    in_other.current_dir(&other);
    let mut in_main = repo.command(&["run", "--all"]);
    let a = in_other.spawn().unwrap();
    let b = in_main.spawn().unwrap();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let t = intervals(&repo);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(
        max_overlap(&t),
        1,
        "one 600 MiB check at a time under 1 GiB: {t:?}"
    );
}

/// A run killed outright leaves what its checks started running, using
/// memory that no ledger file counts any more. A run that is running (no
/// command started since, to reap it on its way in) stops them when it
/// next admits a check.
#[test]
fn a_running_run_stops_what_a_dead_run_left() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.dies]\nrun = 'setsid sleep 100 & echo $! > orphan.pid; exec sleep 100'\nhooks = ['manual']\n\
         [checks.first]\nrun = 'touch first.started; while [ ! -e go ]; do sleep 0.05; done'\nhooks = ['manual']\n\
         [checks.then]\nrun = 'true'\nneeds = ['first']\nhooks = ['manual']\n",
    );
    repo.write(".gitignore", "*.pid\n*.started\ngo\n");
    let living = start(&repo, &["first", "then", "--all"]);
    wait_for("the living run's first check", || {
        repo.file("first.started").exists()
    });
    let dying = start(&repo, &["dies", "--all"]);
    wait_for("the orphan", || {
        repo.file("orphan.pid").exists() && !repo.read("orphan.pid").trim().is_empty()
    });
    let orphan: i32 = repo.read("orphan.pid").trim().parse().unwrap();
    let pid = task(&repo, &dying)["pid"].as_i64().unwrap() as i32;
    // SAFETY: killing the background run this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    wait_for("the dying run to be gone", || !alive(pid));
    assert!(alive(orphan), "left running by the dead run");
    // No precheck command from here on: only the living run can reap it.
    repo.write("go", "");
    wait_for("the living run to stop the orphan", || !alive(orphan));
    repo.precheck(&["wait", "--run", &living]).expect_code(0);
}

/// A run that ends while another command reads its record (read as
/// running, then its process looked for and not found) ended: it wrote its
/// last record before it exited. It was shown as crashed, and `wait`
/// failed a run that had passed.
#[test]
fn a_run_that_ends_while_its_record_is_read_is_not_called_crashed() {
    let repo = TestRepo::new();
    repo.checks("[checks.slow]\nrun = 'while [ ! -e go ]; do sleep 0.05; done'\n");
    repo.write(".gitignore", "go\ntrace*\n");
    let id = start(&repo, &["--all"]);
    let pid = task(&repo, &id)["pid"].as_i64().unwrap() as i32;
    let trace = repo.file("trace");
    let reader = repo
        .command(&["tasks", "--format", "json"])
        .env("PRECHECK_FAULT_TRACE", &trace)
        .env("PRECHECK_FAULT_PAUSE", "run-record-read")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let paused = repo.file("trace.paused");
    wait_for("the reader to have read the record", || paused.exists());
    repo.write("go", "");
    wait_for("the run to end", || !alive(pid));
    std::fs::remove_file(&paused).unwrap();
    let out = reader.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(run["state"], "passed", "{doc}");
    repo.precheck(&["wait", "--run", &id]).expect_code(0);
}

/// A check that runs precheck itself (a wrapper script) waited forever for
/// the work-tree lock its own run held while unstaged changes were set
/// aside. The inner precheck sees it runs inside a live run, runs on the
/// tree as that run left it (the staged content) and says so.
#[test]
fn a_check_that_runs_precheck_does_not_wait_for_its_own_run() {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[checks.outer]\nrun = '{bin} run inner --all --no-cache'\ntimeout = \"30s\"\n\
         [checks.inner]\nrun = 'cat f.txt > seen.txt'\nhooks = ['manual']\n",
        bin = common::BIN
    ));
    repo.write(".gitignore", "seen.txt\n");
    repo.write("f.txt", "base\n").stage(&["."]).commit("base");
    repo.write("f.txt", "staged\n").stage(&["f.txt"]);
    repo.write("f.txt", "staged\nunstaged\n");
    let run = repo.precheck(&["run", "--no-cache", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(repo.read("seen.txt"), "staged\n", "{}", run.context);
    assert_eq!(repo.read("f.txt"), "staged\nunstaged\n");
    let log = run.check("outer")["log"].as_str().unwrap().to_string();
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("running inside a check"), "{log}");
}
