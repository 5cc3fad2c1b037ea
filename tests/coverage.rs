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
