//! Checking what git records: clean merges run the pre-commit checks on the
//! merge result.

use crate::common::{self, TestRepo};

/// A check that fails when any staged .txt file holds BAD.
const NO_BAD: &str = "[checks.no_bad]\nrun = '! grep -l BAD {files}'\nglob = '*.txt'\n";

#[test]
fn install_sets_up_pre_merge_commit_and_uninstall_removes_it() {
    let repo = TestRepo::new();
    repo.checks(NO_BAD);
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    let run = repo.precheck(&["install"]);
    run.expect_code(0);
    assert!(repo.file(".git/hooks/pre-commit").exists());
    assert!(
        repo.file(".git/hooks/pre-merge-commit").exists(),
        "{}",
        run.context
    );
    repo.precheck(&["uninstall"]).expect_code(0);
    assert!(!repo.file(".git/hooks/pre-merge-commit").exists());
}

/// `main` and a `feature` branch (adding feature.txt = `feature_text`) that
/// diverged, so that `git merge feature` makes a merge commit cleanly.
fn diverged(feature_text: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(NO_BAD);
    repo.write("a.txt", "a\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["checkout", "-qb", "feature"]);
    repo.write("feature.txt", feature_text)
        .stage(&["feature.txt"]);
    repo.git(&["commit", "-qm", "feature", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "fine\n").stage(&["main.txt"]);
    repo.git(&["commit", "-qm", "main moves on"]);
    repo
}

#[test]
fn a_clean_merge_of_a_failing_branch_is_blocked() {
    let repo = diverged("BAD\n");
    let head = repo.git(&["rev-parse", "HEAD"]).stdout;
    let merge = repo.git_try(&["merge", "--no-edit", "feature"]);
    assert_ne!(
        merge.code, 0,
        "the merge commit is blocked\n{}",
        merge.context
    );
    assert!(merge.stderr.contains("no_bad"), "{}", merge.context);
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]).stdout,
        head,
        "no merge commit"
    );
    // --no-verify skips it, as git defines.
    repo.git(&["merge", "--abort"]);
    repo.git_try(&["merge", "--no-edit", "--no-verify", "feature"])
        .expect_code(0);
    assert_ne!(repo.git(&["rev-parse", "HEAD"]).stdout, head);
}

#[test]
fn a_clean_merge_of_a_passing_branch_goes_through_with_unstaged_work_kept() {
    let repo = diverged("good\n");
    // Unstaged work on a file the merge does not touch.
    repo.write("a.txt", "a\nBAD but unstaged\n");
    repo.git_try(&["merge", "--no-edit", "feature"])
        .expect_code(0);
    assert_eq!(repo.read("a.txt"), "a\nBAD but unstaged\n");
    let parents = repo.git(&["rev-list", "--parents", "-n1", "HEAD"]).stdout;
    assert_eq!(
        String::from_utf8(parents)
            .unwrap()
            .split_whitespace()
            .count(),
        3,
        "a merge commit"
    );
}

#[test]
fn hidden_untracked_files_make_the_helper_case_fail_and_stay_in_place() {
    for (settings, blocked) in [("", false), ("[settings]\nuntracked = 'hide'\n", true)] {
        let repo = TestRepo::new();
        repo.checks(&format!(
            "{settings}[checks.imports]\nrun = 'python3 -c \"import main\"'\nglob = '*.py'\n"
        ));
        repo.write(".gitignore", "__pycache__/\n");
        repo.write("README", "x\n")
            .stage(&["."])
            .commit("base")
            .install();
        repo.write("main.py", "import helper\n").stage(&["main.py"]);
        // Never added: a fresh clone would not have it.
        repo.write("helper.py", "VALUE = 1\n");
        let commit = repo.git_try(&["commit", "-qm", "uses helper"]);
        if blocked {
            assert_ne!(
                commit.code, 0,
                "the commit's tree lacks helper.py\n{}",
                commit.context
            );
        } else {
            commit.expect_code(0);
        }
        assert_eq!(repo.read("helper.py"), "VALUE = 1\n", "left in place");
        assert!(!repo.file(".git/precheck/snapshot").exists());
    }
}

#[test]
fn run_untracked_hide_is_a_flag_too_and_a_bad_setting_is_an_error() {
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'test ! -e loose.txt'\n");
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    repo.write("a.txt", "b\n").stage(&["a.txt"]);
    repo.write("loose.txt", "untracked\n");
    repo.precheck(&["run", "--no-cache"]).expect_code(1);
    repo.precheck(&["run", "--no-cache", "--untracked", "hide"])
        .expect_code(0);
    assert_eq!(repo.read("loose.txt"), "untracked\n");
    // Only where unstaged changes are set aside.
    repo.precheck(&["run", "--all", "--untracked", "hide"])
        .expect_code(2);
    repo.checks("[settings]\nuntracked = 'hidden'\n[checks.see]\nrun = 'true'\n");
    let bad = repo.precheck(&["run"]);
    bad.expect_code(2);
    assert!(
        bad.stderr
            .contains("checks.toml:2:13: `untracked` is \"show\""),
        "{}",
        bad.context
    );
}

/// A repository with an `origin` (a bare repository of its own), `main`
/// pushed, a `feature` branch with `shared.txt` = `feature_text`, and
/// `main` checked out again with the pre-push check installed.
fn with_feature(feature_text: &str) -> (TestRepo, tempfile::TempDir) {
    let origin = tempfile::tempdir().unwrap();
    let repo = TestRepo::new();
    repo.git(&["init", "-q", "--bare", origin.path().to_str().unwrap()]);
    repo.checks(
        "[checks.no_bad]\nrun = '! grep -l BAD {files}'\nglob = '*.txt'\nhooks = ['pre-push']\n",
    );
    repo.write(".gitignore", "/trace*\n");
    repo.write("shared.txt", "base\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.git(&["checkout", "-qb", "feature"]);
    repo.write("shared.txt", feature_text)
        .write("only-on-feature.txt", "feature file\n")
        .stage(&["."]);
    repo.git(&["commit", "-qm", "feature", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    (repo, origin)
}

fn remote_has(repo: &TestRepo, branch: &str) -> bool {
    !repo
        .git(&["ls-remote", "origin", &format!("refs/heads/{branch}")])
        .stdout
        .is_empty()
}

#[test]
fn pushing_another_branch_checks_that_branchs_content() {
    // A failing file only on feature blocks the push of feature from main.
    let (repo, _origin) = with_feature("BAD on feature\n");
    let before = common::tree(repo.path());
    let push = repo.git_try(&["push", "-q", "origin", "feature"]);
    assert_ne!(
        push.code, 0,
        "feature's content was checked\n{}",
        push.context
    );
    assert!(
        push.stderr.contains("refs/heads/feature"),
        "says which ref\n{}",
        push.context
    );
    assert!(!remote_has(&repo, "feature"));
    assert_eq!(
        common::tree(repo.path()),
        before,
        "the work tree is back byte for byte"
    );
    assert!(!repo.file(".git/precheck/snapshot").exists());
}

#[test]
fn a_failing_file_only_in_the_work_tree_does_not_block_a_push() {
    let (repo, _origin) = with_feature("good on feature\n");
    // Uncommitted work on main that would fail.
    repo.write("shared.txt", "BAD, uncommitted\n");
    let before = common::tree(repo.path());
    let index_before = repo.git(&["ls-files", "-s"]).stdout;
    repo.git_try(&["push", "-q", "origin", "feature"])
        .expect_code(0);
    assert!(remote_has(&repo, "feature"));
    assert_eq!(common::tree(repo.path()), before);
    assert_eq!(repo.git(&["ls-files", "-s"]).stdout, index_before);
    // Pushing main itself with that uncommitted change checks main's commit.
    repo.write("shared.txt", "base\nmore\n")
        .stage(&["shared.txt"]);
    repo.git(&["commit", "-qm", "main", "--no-verify"]);
    repo.write("shared.txt", "BAD, uncommitted again\n");
    repo.git_try(&["push", "-q", "origin", "main"])
        .expect_code(0);
    assert_eq!(repo.read("shared.txt"), "BAD, uncommitted again\n");
}

/// A push whose check waits, interrupted by `signal`; then, for SIGKILL,
/// recovered by `precheck list`. The work tree is back byte for byte.
fn interrupted_push(signal: i32) {
    let (repo, _origin) = with_feature("good on feature\n");
    repo.checks(
        "[checks.slow]\nrun = 'echo $PPID > precheck.pid; exec sleep 100'\nhooks = ['pre-push']\n",
    );
    repo.write(".gitignore", "/trace*\n/precheck.pid\n");
    // The slow check on both branches: a pushed branch brings its own checks.
    for branch in ["feature", "main"] {
        repo.git(&["checkout", "-q", branch]);
        repo.checks(
            "[checks.slow]\nrun = 'echo $PPID > precheck.pid; exec sleep 100'\nhooks = ['pre-push']\n",
        );
        repo.write(".gitignore", "/trace*\n/precheck.pid\n");
        repo.stage(&["."]);
        repo.git(&["commit", "-qm", "slow check", "--no-verify"]);
    }
    repo.write("shared.txt", "uncommitted work\n");
    let before = common::tree(repo.path());
    let mut git = repo.git_command(&["push", "-q", "origin", "feature"]);
    git.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = git.spawn().unwrap();
    common::wait_for("the check to start", || {
        repo.file("precheck.pid").exists() && !repo.read("precheck.pid").trim().is_empty()
    });
    let precheck: i32 = repo.read("precheck.pid").trim().parse().unwrap();
    assert_eq!(
        repo.read("shared.txt"),
        "good on feature\n",
        "the tip's version is in place"
    );
    // SAFETY: signalling the precheck this test started.
    unsafe {
        libc::kill(precheck, signal);
    }
    assert!(!child.wait().unwrap().success(), "the push does not happen");
    common::wait_for("precheck to end", || !common::alive(precheck));
    if signal == libc::SIGKILL {
        let next = repo.precheck(&["list"]);
        assert!(next.stderr.contains("restored"), "{}", next.context);
    }
    let mut after = common::tree(repo.path());
    after.remove(std::path::Path::new("precheck.pid"));
    let mut before = before;
    before.remove(std::path::Path::new("precheck.pid"));
    assert_eq!(after, before, "signal {signal}");
    assert!(!repo.file(".git/precheck/snapshot").exists());
    assert!(!remote_has(&repo, "feature"));
}

#[test]
fn an_interrupted_push_restores_the_work_tree() {
    interrupted_push(libc::SIGINT);
    interrupted_push(libc::SIGKILL);
}

#[test]
fn a_pushed_branch_is_checked_with_its_own_checks_toml() {
    let (repo, _origin) = with_feature("good on feature\n");
    repo.git(&["checkout", "-q", "feature"]);
    repo.checks("[checks.strict]\nrun = 'exit 1'\nhooks = ['pre-push']\n")
        .stage(&["checks.toml"]);
    repo.git(&["commit", "-qm", "stricter checks", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    let push = repo.git_try(&["push", "-q", "origin", "feature"]);
    assert_ne!(push.code, 0, "feature's own checks ran\n{}", push.context);
    assert!(
        push.stderr.contains("── strict failed") || push.stdout.contains("── strict failed"),
        "{}",
        push.context
    );
    // main's checks (which pass) are still main's.
    repo.git_try(&["push", "-q", "origin", "main"])
        .expect_code(0);
}

#[test]
fn a_crash_at_every_step_of_a_push_on_another_branch_loses_nothing() {
    let mut n = 1;
    let mut crashed = 0;
    loop {
        let (repo, _origin) = with_feature("BAD on feature\n");
        repo.write("shared.txt", "uncommitted work\n");
        repo.write("untracked.txt", "never touched\n");
        let before = common::tree(repo.path());
        let index_before = repo.git(&["ls-files", "-s"]).stdout;
        let trace = repo.file("trace");
        let mut cmd = repo.git_command(&["push", "-q", "origin", "feature"]);
        cmd.env("PRECHECK_FAULT_TRACE", &trace)
            .env("PRECHECK_FAULT_KILL_AT", n.to_string());
        let push = common::finish(&mut cmd, repo.path());
        assert_ne!(push.code, 0, "feature fails its check either way");
        let points = std::fs::read_to_string(&trace).unwrap_or_default();
        std::fs::remove_file(&trace).ok();
        let reached = points.lines().count();
        let at = points.lines().last().unwrap_or("-").to_string();
        repo.precheck(&["list"]);
        assert_eq!(common::tree(repo.path()), before, "after a crash at `{at}`");
        assert_eq!(repo.git(&["ls-files", "-s"]).stdout, index_before, "{at}");
        assert!(!repo.file(".git/precheck/snapshot").exists(), "{at}");
        assert!(!remote_has(&repo, "feature"));
        if reached < n {
            break;
        }
        crashed += 1;
        n += 1;
    }
    assert!(
        crashed >= 8,
        "every step of the push's set-aside was crashed at: {crashed}"
    );
}
