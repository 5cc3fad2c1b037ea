//! Checking what git records: clean merges run the pre-commit checks on the
//! merge result.

mod common;

use common::TestRepo;

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

#[test]
fn a_clean_merge_of_a_failing_branch_is_blocked() {
    let repo = TestRepo::new();
    repo.checks(NO_BAD);
    repo.write("a.txt", "a\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["checkout", "-qb", "feature"]);
    repo.write("feature.txt", "BAD\n").stage(&["feature.txt"]);
    repo.git(&["commit", "-qm", "bad feature", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "fine\n").stage(&["main.txt"]);
    repo.git(&["commit", "-qm", "main moves on"]);
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
    let repo = TestRepo::new();
    repo.checks(NO_BAD);
    repo.write("a.txt", "a\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["checkout", "-qb", "feature"]);
    repo.write("feature.txt", "good\n").stage(&["feature.txt"]);
    repo.git(&["commit", "-qm", "feature"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "fine\n").stage(&["main.txt"]);
    repo.git(&["commit", "-qm", "main moves on"]);
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
