//! A sound gate: a failing check never lets a commit (or a run's exit
//! status) through, whatever happens to precheck's output.

use std::process::Stdio;

use crate::common::{self, TestRepo};

fn failing_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.checks("[checks.bad]\nrun = 'echo lots of output; seq 1 5000; exit 1'\n");
    repo.write("a.txt", "a\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("a.txt", "b\n").stage(&["a.txt"]);
    repo
}

/// The newest run record's meta.json.
fn last_record(repo: &TestRepo) -> serde_json::Value {
    let mut dirs: Vec<_> = std::fs::read_dir(repo.file(".git/precheck/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let meta = std::fs::read(dirs.last().unwrap().join("meta.json")).unwrap();
    serde_json::from_slice(&meta).unwrap()
}

#[test]
fn a_failing_check_piped_to_head_blocks_the_commit() {
    let repo = failing_repo();
    let head = repo.git(&["rev-parse", "HEAD"]).stdout;
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", "git commit -qm x 2>&1 | head -1"])
        .current_dir(repo.path());
    common::clean_env(&mut sh, repo.home());
    common::finish(&mut sh, repo.path());
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]).stdout,
        head,
        "no commit was made"
    );
    let record = last_record(&repo);
    assert_eq!(
        record["state"], "failed",
        "the record is complete: {record}"
    );
}

#[test]
fn closed_stdout_and_stderr_keep_the_exit_status_and_the_record() {
    for (close_out, close_err) in [(true, false), (false, true), (true, true)] {
        let repo = failing_repo();
        let mut cmd = repo.command(&["run", "--all", "--no-cache"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Close the reading ends at once, as `| head -0` would.
        if close_out {
            drop(child.stdout.take());
        }
        if close_err {
            drop(child.stderr.take());
        }
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(1),
            "a failing run exits 1 (stdout closed: {close_out}, stderr closed: {close_err})"
        );
        assert_eq!(last_record(&repo)["state"], "failed");
    }
}

#[test]
fn a_passing_run_with_its_output_closed_still_passes() {
    let repo = TestRepo::new();
    repo.checks("[checks.good]\nrun = 'seq 1 5000'\n");
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    let mut cmd = repo.command(&["run", "--all", "--no-cache"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(last_record(&repo)["state"], "passed");
}

#[test]
fn a_typo_in_a_hook_name_is_an_error_not_a_pass() {
    let repo = failing_repo();
    for args in [
        &["hook", "pre-comit"][..],
        &["run", "--hook", "typo"],
        &["list", "--hook", "pre-puhs"],
        &["ci", "matrix", "--hook", "x"],
    ] {
        let run = repo.precheck(args);
        run.expect_code(2);
        assert!(
            run.stderr.contains("invalid value") && run.stderr.contains("pre-commit"),
            "{}",
            run.context
        );
    }
    // A real git hook with no checks is not a typo.
    repo.precheck(&["hook", "post-update"]).expect_code(0);
}

#[test]
fn an_unknown_name_in_precheck_skip_is_warned_about() {
    let repo = failing_repo();
    let mut cmd = repo.command(&["run", "--all", "--no-cache"]);
    cmd.env("PRECHECK_SKIP", "bda,bad");
    let run = common::finish(&mut cmd, repo.path());
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("PRECHECK_SKIP names no check called `bda`")
            && run.stderr.contains("the checks are: bad"),
        "{}",
        run.context
    );
    let mut cmd = repo.command(&["run", "--all", "--no-cache"]);
    cmd.env("PRECHECK_SKIP", "lnt");
    let run = common::finish(&mut cmd, repo.path());
    run.expect_code(1);
    assert!(run.stderr.contains("`lnt`"), "{}", run.context);
}

#[test]
fn an_unknown_check_name_is_an_error() {
    let repo = failing_repo();
    let run = repo.precheck(&["run", "bda"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no check named `bda`"),
        "{}",
        run.context
    );
}

#[test]
fn file_names_are_never_options() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.grep]\nrun = 'grep -l needle {files} > seen.txt'\nglob = ['*']\nexclude = ['checks.toml', 'seen.txt', '.gitignore']\n\
         [checks.tar]\nrun = ['tar', 'cf', '/dev/null', '{files}']\nglob = ['--*']\n",
    );
    repo.write(".gitignore", "seen.txt\nowned\n");
    repo.write("a.txt", "hay\n").stage(&["."]).commit("base");
    // Without the ./ prefix, grep would take `-v` as "invert" and tar would
    // run the checkpoint action.
    repo.write("-v", "hay\n")
        .write("--checkpoint=1", "x\n")
        .write("--checkpoint-action=exec=touch owned", "x\n")
        .stage(&[
            "-v",
            "--checkpoint=1",
            "--checkpoint-action=exec=touch owned",
        ]);
    let run = repo.precheck(&["run", "--no-cache", "--format", "json"]);
    assert!(
        !repo.file("owned").exists(),
        "a file name ran a command\n{}",
        run.context
    );
    // grep got `./-v` as a file without the needle: it fails (no match), not inverts.
    assert_eq!(run.check("grep")["status"], "failed", "{}", run.context);
    assert_eq!(run.check("tar")["status"], "passed", "{}", run.context);
}

#[test]
fn submodules_and_folders_are_never_given_as_files() {
    let sub = TestRepo::new();
    sub.write("inner.txt", "inner\n")
        .stage(&["inner.txt"])
        .commit("inner");
    let repo = TestRepo::new();
    repo.checks("[checks.list]\nrun = 'for f in {files}; do test -f \"$f\" || { echo \"not a file: $f\"; exit 1; }; done'\n");
    repo.write("a.txt", "a\n");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.path().to_str().unwrap(),
        "sub",
    ]);
    repo.stage(&["."]);
    let staged = repo.precheck(&["run", "--no-cache", "--format", "json"]);
    staged.expect_code(0);
    let all = repo.precheck(&["run", "--all", "--no-cache", "--format", "json"]);
    all.expect_code(0);
    let files = repo.precheck(&[
        "run",
        "--files",
        "sub",
        "a.txt",
        "--no-cache",
        "--format",
        "json",
    ]);
    files.expect_code(0);
}

#[test]
fn the_hook_uses_the_staged_checks_toml() {
    let repo = failing_repo();
    let head = repo.git(&["rev-parse", "HEAD"]).stdout;
    // An unstaged edit that would disable the failing check.
    repo.write("checks.toml", "[checks.fine]\nrun = 'true'\n");
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0, "the staged checks ran\n{}", commit.context);
    assert!(
        commit.stderr.contains("checks.toml as staged") && commit.stderr.contains("bad"),
        "{}",
        commit.context
    );
    assert_eq!(
        repo.read("checks.toml"),
        "[checks.fine]\nrun = 'true'\n",
        "kept"
    );
    // An unstaged deletion does not disable them either.
    std::fs::remove_file(repo.file("checks.toml")).unwrap();
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0, "{}", commit.context);
    assert!(!repo.file("checks.toml").exists(), "still deleted");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]).stdout, head);
    // Staging the new config makes it the commit's.
    repo.write("checks.toml", "[checks.fine]\nrun = 'true'\n")
        .stage(&["checks.toml"]);
    repo.git_try(&["commit", "-qm", "x"]).expect_code(0);
}

#[test]
fn install_with_a_config_path_installs_hooks_that_use_it() {
    let repo = TestRepo::new();
    repo.write("ci/checks.toml", "[checks.bad]\nrun = 'exit 1'\n");
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    repo.precheck(&["install", "--config", "ci/checks.toml"])
        .expect_code(0);
    repo.write("a.txt", "b\n").stage(&["a.txt"]);
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(
        commit.code, 0,
        "ci/checks.toml's check ran\n{}",
        commit.context
    );
    assert!(commit.stderr.contains("bad"), "{}", commit.context);
}

#[test]
fn records_logs_and_saved_versions_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    repo.checks(
        "[checks.strip]\nrun = \"sed -i 's/x/y/' {files}; echo token-123\"\nglob = ['*.txt']\nfix = true\n\
         [checks.bad]\nrun = 'echo secret; exit 1'\n",
    );
    repo.write("f.txt", "x\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("f.txt", "x\nstaged\n").stage(&["f.txt"]);
    repo.write("f.txt", "x\nstaged\nunstaged\n");
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0);
    repo.precheck(&["run", "--all", "--background"]);
    repo.precheck(&["wait"]);
    let mut seen = 0;
    let mut stack = vec![repo.file(".git/precheck")];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                seen += 1;
                assert_eq!(
                    meta.permissions().mode() & 0o077,
                    0,
                    "{} is readable by others",
                    e.path().display()
                );
            }
        }
    }
    assert!(seen > 5, "records, logs, history and patches were checked");
}

#[test]
fn shards_run_in_either_order_in_one_clone_cover_every_check_once() {
    for order in [["1/2", "2/2"], ["2/2", "1/2"]] {
        let repo = TestRepo::new();
        // Durations differ a lot, so a split that learned from the first
        // shard's timings would move checks between shards.
        let mut toml = String::new();
        for (name, body) in [
            ("slow1", "sleep 0.4"),
            ("slow2", "sleep 0.3"),
            ("fast1", "true"),
            ("fast2", "true"),
            ("failing", "exit 1"),
        ] {
            toml.push_str(&format!(
                "[checks.{name}]\nrun = 'echo {name} >> ran.log; {body}'\n"
            ));
        }
        repo.checks(&toml);
        repo.write(".gitignore", "ran.log\n");
        repo.stage(&["."]).commit("base");
        // History from an earlier run, as a developer's clone has.
        repo.precheck(&["run", "--all", "--no-cache", "-q"]);
        std::fs::remove_file(repo.file("ran.log")).unwrap();
        let mut codes = Vec::new();
        for shard in order {
            codes.push(
                repo.precheck(&["run", "--all", "--no-cache", "-q", "--shard", shard])
                    .code,
            );
        }
        let mut ran: Vec<String> = repo.read("ran.log").lines().map(String::from).collect();
        ran.sort();
        assert_eq!(
            ran,
            ["failing", "fast1", "fast2", "slow1", "slow2"],
            "order {order:?}: every check exactly once"
        );
        assert!(codes.contains(&1), "the failing check failed its shard");
    }
}

#[test]
fn fixers_run_first_and_the_checks_see_what_gets_committed() {
    let repo = TestRepo::new();
    // The checker comes first in checks.toml; the fixer runs first anyway.
    repo.checks(&format!(
        "[checks.lint]\nrun = '''{}'''\nglob = '*.txt'\n\
         [checks.strip]\nrun = '''{}'''\nglob = '*.txt'\nstage_fixed = true\n",
        common::timed("lint", "! grep -q ' $' {files}"),
        common::timed("strip", "sed -i 's/ *$//' {files}"),
    ));
    repo.write(".gitignore", "times.log\n");
    repo.write("f.txt", "clean\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("f.txt", "trailing   \nspaces \n")
        .stage(&["f.txt"]);
    let commit = repo.git_try(&["commit", "-qm", "fixed"]);
    commit.expect_code(0);
    assert_eq!(
        repo.show("HEAD:f.txt"),
        b"trailing\nspaces\n",
        "the checked content is committed"
    );
    let t = common::intervals(&repo);
    assert!(
        t["strip"].1 <= t["lint"].0,
        "lint started after strip ended: {t:?}"
    );
}

#[test]
fn wait_keeps_the_runs_verdict_with_its_output_closed() {
    let repo = failing_repo();
    repo.precheck(&["run", "--all", "--no-cache", "--background"])
        .expect_code(0);
    let mut cmd = repo.command(&["wait"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "the failed run's verdict"
    );
}
