//! The result cache and learned memory estimates.

use crate::common::{self, intervals, max_overlap, timed, TestRepo};

/// Three checks that append their name to ran.log (ignored, so not an input);
/// `rs` and `txt` narrow their inputs to their own files, `all` reads the
/// whole tree (the default).
fn suite(repo: &TestRepo, extra: &str) {
    repo.checks(&format!(
        "[checks.rs]\nrun = 'echo rs >> ran.log'\nglob = '*.rs'\ninputs = ['*.rs']\n\
         [checks.txt]\nrun = 'echo txt >> ran.log'\nglob = '*.txt'\ninputs = ['*.txt']\n\
         [checks.all]\nrun = 'echo all >> ran.log'\n{extra}"
    ));
    repo.write(".gitignore", "ran.log\ntimes.log\n");
    repo.write("a.rs", "1").write("b.txt", "1");
    repo.stage(&["."]).commit("base");
}

/// Which checks ran since the last call, sorted.
fn ran(repo: &TestRepo) -> Vec<String> {
    let path = repo.file("ran.log");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn statuses(run: &common::Run) -> Vec<(String, String)> {
    run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// precheck in `repo`; with `watch`, the folders watched as in a big tree
/// (a debug build's switch), else told by change times as a small one is.
fn watched(repo: &TestRepo, watch: bool, args: &[&str]) -> std::process::Command {
    let mut cmd = repo.command(args);
    if watch {
        cmd.env("PRECHECK_FAULT_WATCH_FROM", "0");
    }
    cmd
}

fn run_watched(repo: &TestRepo, watch: bool, args: &[&str]) -> common::Run {
    common::finish(&mut watched(repo, watch, args), repo.path())
}

/// The run's only check ended as `status`.
#[track_caller]
fn assert_only(run: &common::Run, check: &str, status: &str, why: &str) {
    assert_eq!(
        statuses(run),
        [(check.to_string(), status.to_string())],
        "{why}\n{}",
        run.context
    );
}

#[test]
fn a_second_run_with_no_change_runs_nothing() {
    let repo = TestRepo::new();
    suite(&repo, "");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
    let again = repo.precheck(&["run", "--all", "--format", "json"]);
    again.expect_code(0);
    assert!(ran(&repo).is_empty(), "nothing ran");
    for (name, status) in statuses(&again) {
        assert_eq!(status, "cached", "{name}");
    }
    assert!(again.check("rs")["detail"]
        .as_str()
        .unwrap()
        .starts_with("passed "));
    let human = repo.precheck(&["run", "--all"]);
    assert!(
        human.stdout.contains("0 passed, 0 failed, 3 cached"),
        "{}",
        human.context
    );
    assert!(human.stdout.contains("cached (passed"), "{}", human.context);
}

#[test]
fn changing_an_input_reruns_exactly_the_affected_checks() {
    let repo = TestRepo::new();
    suite(&repo, "");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    ran(&repo);
    // A work-tree change (not even staged) to a .txt file.
    repo.write("b.txt", "2");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "txt"]);
    // An untracked file is an input of the check without a glob only.
    repo.write("new.md", "x");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all"]);
}

#[test]
fn changing_the_command_or_env_reruns_that_check() {
    let repo = TestRepo::new();
    // checks.toml is tracked, so it is an input of a check reading every
    // file: keep `all` to the sources here.
    suite(&repo, "inputs = ['*.rs', '*.txt']\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    ran(&repo);
    let toml = repo
        .read("checks.toml")
        .replace("echo rs >>", "echo  rs >>");
    repo.checks(&toml);
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["rs"]);
    repo.checks(&format!("{toml}env = {{ MODE = \"strict\" }}\n"));
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all"], "env belongs to the last check, `all`");
}

#[test]
fn declared_inputs_decide() {
    let repo = TestRepo::new();
    suite(&repo, "inputs = ['Cargo.lock']\n");
    repo.write("Cargo.lock", "v1");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    ran(&repo);
    repo.write("a.rs", "changed");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["rs"], "`all` depends on Cargo.lock only");
    repo.write("Cargo.lock", "v2");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all"]);
}

#[test]
fn a_failure_is_never_cached() {
    let repo = TestRepo::new();
    repo.checks("[checks.bad]\nrun = 'echo bad >> ran.log; exit 1'\n");
    repo.write(".gitignore", "ran.log\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(1);
    repo.precheck(&["run", "--all", "-q"]).expect_code(1);
    assert_eq!(ran(&repo), ["bad", "bad"]);
}

/// The slots of the cache file that hold a pass (their checksum, in the
/// first 8 bytes, is not zero: an empty slot is all zeros).
fn filled_slots(repo: &TestRepo) -> Vec<usize> {
    let bytes = std::fs::read(repo.file(".git/precheck/cache/slots")).unwrap();
    bytes
        .chunks_exact(128)
        .enumerate()
        .filter(|(_, s)| s.iter().any(|&b| b != 0))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_corrupted_entry_is_a_miss() {
    let repo = TestRepo::new();
    suite(&repo, "");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    ran(&repo);
    let path = repo.file(".git/precheck/cache/slots");
    let slots = filled_slots(&repo);
    assert_eq!(slots.len(), 3, "one pass per check");
    let mut bytes = std::fs::read(&path).unwrap();
    // One with a flipped bit in its key, one torn (its second half another
    // write's zeros), and the third's pass copied over the first's slot:
    // whole and checksummed, but another key's.
    let at = |i: usize| slots[i] * 128;
    // Whose pass a slot holds: the name's length at byte 9, the name at 54.
    let name = |bytes: &[u8], i: usize| {
        let len = usize::from(bytes[at(i) + 9]);
        String::from_utf8(bytes[at(i) + 54..at(i) + 54 + len].to_vec()).unwrap()
    };
    let mut damaged = vec![name(&bytes, 0), name(&bytes, 1)];
    damaged.sort();
    bytes[at(0) + 12] ^= 1;
    bytes[at(1) + 32..at(1) + 128].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), damaged, "damaged slots are misses");
    // Afresh, then the first pass copied over the other two.
    std::fs::remove_file(&path).unwrap();
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
    let slots = filled_slots(&repo);
    assert_eq!(slots.len(), 3);
    let mut bytes = std::fs::read(&path).unwrap();
    let first = bytes[at(0)..at(0) + 128].to_vec();
    bytes[at(1)..at(1) + 128].copy_from_slice(&first);
    bytes[at(2)..at(2) + 128].copy_from_slice(&first);
    std::fs::write(&path, &bytes).unwrap();
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(
        ran(&repo).len(),
        2,
        "a whole pass in another key's slot is a miss for that key"
    );
    // A file cut short: every pass is a miss, nothing fails, and the file
    // is made whole again for the next run.
    std::fs::write(&path, &bytes[..64]).unwrap();
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), Vec::<String>::new());
}

#[test]
fn the_cache_can_be_turned_off_and_emptied() {
    let repo = TestRepo::new();
    suite(&repo, "cache = false\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    ran(&repo);
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(
        ran(&repo),
        ["all"],
        "a check with cache = false always runs"
    );
    repo.precheck(&["run", "--all", "-q", "--no-cache"])
        .expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
    let clean = repo.precheck(&["clean", "--cache"]);
    assert!(
        clean.stdout.contains("removed 2 cached passes"),
        "{}",
        clean.context
    );
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
    let off = repo.read("checks.toml").replacen(
        "[checks.rs]",
        "[settings]\ncache = false\n[checks.rs]",
        1,
    );
    repo.checks(&off);
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(ran(&repo), ["all", "rs", "txt"]);
}

#[test]
fn learned_memory_replaces_the_default_after_a_run() {
    let repo = TestRepo::new();
    let hog = |name: &str| {
        timed(
            name,
            "python3 -c \"x = bytearray(120 * 1024 * 1024); [x.__setitem__(i, 1) for i in range(0, len(x), 4096)]; import time; time.sleep(0.6)\"",
        )
    };
    repo.checks(&format!(
        "[settings]\njobs = 2\nmemory = \"200MiB\"\ndefault_memory = \"10MiB\"\ncache = false\n\
         [checks.h1]\nrun = '{}'\n[checks.h2]\nrun = '{}'\n",
        hog("h1"),
        hog("h2")
    ));
    repo.write(".gitignore", "times.log\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(
        max_overlap(&intervals(&repo)),
        2,
        "10MiB each by default: both at once"
    );
    let list = repo.precheck(&["list", "--format", "json"]).json();
    let h1 = &list["checks"][0];
    assert_eq!(h1["memory_source"], "learned", "{list}");
    let learned = h1["memory_bytes"].as_u64().unwrap();
    assert!(learned > 120 * 1024 * 1024, "{learned}");
    assert!(h1["measured_max_bytes"].as_u64().unwrap() > 100 * 1024 * 1024);
    assert!(h1["typical_duration_ms"].as_u64().unwrap() >= 600);
    std::fs::remove_file(repo.file("times.log")).unwrap();
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    assert_eq!(
        max_overlap(&intervals(&repo)),
        1,
        "learned figures do not fit together under 200MiB"
    );
    let human = repo.precheck(&["list"]);
    assert!(
        human.stdout.contains("(learned: 90th percentile of"),
        "{}",
        human.context
    );
}

/// Killed at every step of a run that makes the cache's file and stores
/// its first passes: the next run's verdict is still the checks' own (a
/// failing check fails, every check that was not stored runs), no
/// half-made file stays behind, and once a run ends whole its passes are
/// hits.
#[test]
fn a_crash_at_every_step_of_storing_passes_never_changes_a_verdict() {
    let repo = TestRepo::new();
    suite(&repo, "[checks.bad]\nrun = 'echo bad >> ran.log; exit 1'\n");
    let run = |envs: &[(&str, String)]| {
        let mut cmd = repo.command(&["run", "--all", "-q"]);
        cmd.envs(envs.iter().map(|(k, v)| (k, v)));
        common::finish(&mut cmd, repo.path())
    };
    let cache = repo.file(".git/precheck/cache");
    let trace = repo.file("trace");
    let trace_env = ("PRECHECK_FAULT_TRACE", trace.display().to_string());
    run(std::slice::from_ref(&trace_env)).expect_code(1);
    let points: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for name in ["cache made", "cache store"] {
        assert!(
            points.iter().any(|p| p == name),
            "no `{name}` in {points:?}"
        );
    }
    for k in 1..=points.len() {
        std::fs::remove_dir_all(&cache).ok();
        std::fs::remove_file(&trace).ok();
        ran(&repo);
        let killed = run(&[trace_env.clone(), ("PRECHECK_FAULT_KILL_AT", k.to_string())]);
        assert_ne!(killed.code, 0, "point {k} ({})", points[k - 1]);
        ran(&repo);
        // The next run: every check the killed one did not store runs, and
        // the failing one fails.
        let next = run(&[]);
        next.expect_code(1);
        let again = ran(&repo);
        assert!(again.contains(&"bad".to_string()), "point {k}: {again:?}");
        let stray: Vec<_> = std::fs::read_dir(&cache)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "slots")
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            stray.is_empty(),
            "point {k} ({}): left {stray:?}",
            points[k - 1]
        );
        // And now every pass is a hit.
        run(&[]).expect_code(1);
        assert_eq!(ran(&repo), ["bad"], "point {k} ({})", points[k - 1]);
    }
}

/// A file changed while the checks ran (an editor, an agent at work): the
/// check may have read the new bytes, so its pass is not remembered under
/// the key of the old ones. Put back, the old bytes are checked again; a
/// run that nothing changed is remembered as before.
#[test]
fn a_pass_over_a_tree_changed_while_it_ran_is_not_remembered() {
    // (what the check needs, how the tree changes while it runs, how it
    // is put back)
    type Act = fn(&TestRepo);
    let cases: [(&str, Act, Act); 3] = [
        (
            "grep -q good a.txt",
            |r| {
                r.write("a.txt", "good\n");
            },
            |r| {
                r.write("a.txt", "bad\n");
            },
        ),
        (
            "test -e helper.txt",
            |r| {
                r.write("helper.txt", "new\n");
            },
            |r| std::fs::remove_file(r.file("helper.txt")).unwrap(),
        ),
        (
            "test ! -e a.txt",
            |r| std::fs::remove_file(r.file("a.txt")).unwrap(),
            |r| {
                r.write("a.txt", "bad\n");
            },
        ),
    ];
    // By change times (a small tree), and with the folders watched (as a
    // big tree is).
    for ((needs, change, put_back), watch) in
        cases.into_iter().flat_map(|c| [(c, true), (c, false)])
    {
        let repo = TestRepo::new();
        let precheck = |args: &[&str]| run_watched(&repo, watch, args);
        repo.checks(&format!(
            "[checks.lint]\nrun = 'touch started; while [ ! -e go ]; do sleep 0.02; done; {needs}'\n"
        ));
        repo.write(".gitignore", "started\ngo\n");
        repo.write("a.txt", "bad\n").stage(&["."]).commit("base");
        let mut cmd = watched(&repo, watch, &["run", "--all", "--format", "json"]);
        let running =
            std::thread::spawn(move || common::finish(&mut cmd, std::path::Path::new(".")));
        common::wait_for("the check to start", || repo.file("started").exists());
        change(&repo);
        repo.write("go", "");
        let first = running.join().unwrap();
        first.expect_code(0);
        put_back(&repo);
        let again = precheck(&["run", "--all", "--format", "json"]);
        assert_only(
            &again,
            "lint",
            "failed",
            &format!("`{needs}` (watch: {watch}): the pass over the changed tree was remembered"),
        );
        // Nothing changes during this one: remembered.
        change(&repo);
        precheck(&["run", "--all", "-q"]).expect_code(0);
        let cached = precheck(&["run", "--all", "--format", "json"]);
        assert_only(&cached, "lint", "cached", "");
    }
}

/// Unstaged changes set aside (a commit's run): the files put in their
/// place are the run's own writes, not a change to the tree it keyed, so
/// the pass is remembered, and the next commit of the same content uses it.
/// (They are often written in the same tick of the file system's clock as
/// the keys are made: by their change time alone, about half of these
/// rounds were not remembered.)
#[test]
fn a_pass_with_unstaged_changes_set_aside_is_remembered() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'grep -q staged a.txt'\n");
    repo.write("a.txt", "base\n").stage(&["."]).commit("base");
    repo.write("a.txt", "base\nstaged\n")
        .stage(&["a.txt"])
        .write("a.txt", "base\nstaged\nunstaged\n");
    // (A small tree: told by change times. A watch starts after the files
    // are put, and never sees them.)
    for round in 0..12 {
        repo.precheck(&["clean", "--cache"]).expect_code(0);
        repo.precheck(&["run", "-q"]).expect_code(0);
        let again = repo.precheck(&["run", "--format", "json"]);
        assert_only(&again, "lint", "cached", &format!("round {round}"));
        assert_eq!(repo.read("a.txt"), "base\nstaged\nunstaged\n");
    }
}

/// A check that writes a file of the tree again with the same bytes (a
/// generator whose output is committed): the tree it ended with is the one
/// it was keyed on, so its pass is remembered. One that writes other bytes
/// is not.
#[test]
fn a_check_that_rewrites_a_file_the_same_is_remembered() {
    let repo = TestRepo::new();
    repo.checks("[checks.gen]\nrun = 'cat input.txt > out.txt'\n");
    repo.write("input.txt", "v1\n")
        .write("out.txt", "v1\n")
        .stage(&["."])
        .commit("base");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    let again = repo.precheck(&["run", "--all", "--format", "json"]);
    assert_only(&again, "gen", "cached", "");
    // Now it writes other bytes than the key's out.txt (v1): not remembered.
    repo.write("input.txt", "v2\n");
    repo.precheck(&["run", "--all", "-q"]).expect_code(0);
    repo.write("out.txt", "v1\n");
    let rerun = repo.precheck(&["run", "--all", "--format", "json"]);
    assert_only(&rerun, "gen", "passed", "");
}

/// A check that writes ignored files into the tree (build output, a log, a
/// new ignored folder) changes nothing the key holds: its pass is
/// remembered, by change times and with the folders watched alike.
#[test]
fn a_check_that_writes_ignored_files_is_remembered() {
    for watch in [false, true] {
        let repo = TestRepo::new();
        repo.checks(
            "[checks.build]\nrun = 'mkdir -p out sub/cache && date +%s%N > out/o.bin && date +%s%N > sub/run.log && date +%s%N > sub/cache/x'\n",
        );
        repo.write(".gitignore", "out/\n*.log\ncache/\n")
            .write("sub/a.txt", "a\n")
            .stage(&["."])
            .commit("base");
        let run = |args: &[&str]| run_watched(&repo, watch, args);
        run(&["run", "--all", "-q"]).expect_code(0);
        let again = run(&["run", "--all", "--format", "json"]);
        assert_only(&again, "build", "cached", &format!("watch: {watch}"));
    }
}

/// A sparse checkout: the files outside the cone are in the index and not
/// in the work tree, on purpose. Their absence is no change made while the
/// checks ran, so passes are remembered there too (by change times and
/// with the folders watched).
#[test]
fn a_pass_in_a_sparse_checkout_is_remembered() {
    for watch in [false, true] {
        let repo = TestRepo::new();
        repo.checks("[checks.lint]\nrun = 'cat in/kept.txt'\n");
        repo.write("in/kept.txt", "in\n")
            .write("out/away.txt", "out of the cone\n")
            .stage(&["."])
            .commit("base");
        repo.git(&["sparse-checkout", "set", "in"]);
        assert!(!repo.file("out/away.txt").exists(), "outside the cone");
        let run = |args: &[&str]| run_watched(&repo, watch, args);
        for args in [&["run", "--all"][..], &["run"][..]] {
            run(&[args, &["-q"]].concat()).expect_code(0);
            let again = run(&[args, &["--format", "json"]].concat());
            assert_only(
                &again,
                "lint",
                "cached",
                &format!("{args:?}, watch: {watch}"),
            );
        }
    }
}

/// With the folders watched, the watch is let go by a forked child (the
/// kernel's wait on its last close is the child's): the child holds none
/// of the run's locks or pipes, so a run right after never waits for the
/// work tree, and it is gone soon after.
#[test]
fn the_watch_leaves_no_lock_held_and_no_process_behind() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'true'\n");
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    let run = |args: &[&str]| run_watched(&repo, true, args);
    for round in 0..5 {
        // Unstaged changes to set aside: the work tree is held alone.
        repo.write("a.txt", format!("a\n{round}\n"))
            .stage(&["a.txt"]);
        repo.write("a.txt", format!("a\n{round}\nunstaged\n"));
        let first = run(&["run"]);
        first.expect_code(0);
        // (A run that waits for the work tree waits for good: given a
        // minute, then failed.)
        let mut next = watched(&repo, true, &["run", "--no-cache"]);
        next.stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        let mut child = next.spawn().unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("round {round}: the next run waited for the work tree");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "{stderr}");
        assert!(!stderr.contains("waiting for"), "round {round}: {stderr}");
    }
    let root = std::fs::canonicalize(repo.path()).unwrap();
    common::wait_for("no process left in the repository", || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .all(|e| std::fs::read_link(e.path().join("cwd")).map_or(true, |cwd| cwd != root))
    });
}
