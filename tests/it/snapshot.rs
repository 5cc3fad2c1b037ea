//! The staged snapshot through real `git commit`: checks see exactly what is
//! committed, and afterwards the work tree and the index hold every byte
//! they held before, on every path out.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use crate::common::{self, alive, wait_for, TestRepo};

const STAGED: &[u8] = b"line one\nstaged line\n";
const WORKTREE: &[u8] = b"line one\nstaged line\nunstaged line\n";

/// A repository with `file.txt` committed, a change staged and another
/// change unstaged on top, and the hooks installed.
fn partially_staged(checks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(checks);
    repo.write(".gitignore", "seen*\n*.pid\n");
    repo.write("file.txt", "line one\n")
        .stage(&["file.txt", "checks.toml", ".gitignore"])
        .commit("base");
    repo.install();
    repo.write("file.txt", STAGED).stage(&["file.txt"]);
    repo.write("file.txt", WORKTREE);
    repo
}

#[track_caller]
fn assert_user_state_kept(repo: &TestRepo) {
    assert_eq!(repo.bytes("file.txt"), WORKTREE, "work tree");
    assert_eq!(repo.show(":file.txt"), STAGED, "index");
}

#[test]
fn check_sees_staged_content_and_unstaged_changes_survive_a_pass() {
    let repo = partially_staged("[checks.see]\nrun = 'cat file.txt > seen.txt'\n");
    repo.git_try(&["commit", "-qm", "second"]).expect_code(0);
    assert_eq!(
        repo.bytes("seen.txt"),
        STAGED,
        "the check saw the staged content"
    );
    assert_eq!(repo.bytes("file.txt"), WORKTREE);
    assert_eq!(repo.show("HEAD:file.txt"), STAGED);
    assert_eq!(repo.show(":file.txt"), STAGED);
    assert!(!repo.file(".git/precheck/snapshot").exists());
}

#[test]
fn unstaged_changes_survive_a_failing_check() {
    let repo = partially_staged("[checks.see]\nrun = 'cat file.txt > seen.txt; exit 1'\n");
    let commit = repo.git_try(&["commit", "-qm", "second"]);
    assert_ne!(commit.code, 0, "the commit is blocked\n{}", commit.context);
    assert!(
        commit.stderr.contains("see") && commit.stderr.contains("failed (exit 1)"),
        "{}",
        commit.context
    );
    assert_eq!(repo.bytes("seen.txt"), STAGED);
    assert_user_state_kept(&repo);
    assert_eq!(
        repo.show("HEAD:file.txt"),
        b"line one\n",
        "nothing committed"
    );
}

fn interrupted_commit(signal: i32, whole_group: bool) {
    use std::os::unix::process::CommandExt;
    let repo = partially_staged(
        "[checks.slow]\nrun = 'cat file.txt > seen.txt; echo $PPID > precheck.pid; echo $$ > check.pid; exec sleep 100'\n",
    );
    let mut git = repo.git_command(&["commit", "-qm", "second"]);
    git.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if whole_group {
        git.process_group(0);
    }
    let mut child = git.spawn().unwrap();
    wait_for("the check to start", || {
        repo.file("check.pid").exists() && !repo.read("check.pid").is_empty()
    });
    let precheck: i32 = repo.read("precheck.pid").trim().parse().unwrap();
    let check: i32 = repo.read("check.pid").trim().parse().unwrap();
    // SAFETY: signalling processes this test started.
    unsafe {
        if whole_group {
            libc::killpg(child.id() as i32, signal);
        } else {
            libc::kill(precheck, signal);
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the commit must not happen");
    wait_for("precheck to finish restoring", || !alive(precheck));
    wait_for("the check to be gone", || !alive(check));
    if signal == libc::SIGKILL {
        // precheck died outright: the next precheck command restores.
        assert_eq!(
            repo.bytes("file.txt"),
            STAGED,
            "the work tree still holds the snapshot"
        );
        let next = repo.precheck(&["list"]);
        next.expect_code(0);
        assert!(next.stderr.contains("restored 1 file"), "{}", next.context);
    }
    assert_user_state_kept(&repo);
    assert_eq!(repo.show("HEAD:file.txt"), b"line one\n");
    assert!(!repo.file(".git/precheck/snapshot").exists());
}

#[test]
fn sigint_to_precheck_mid_commit_restores_everything() {
    interrupted_commit(libc::SIGINT, false);
}

#[test]
fn ctrl_c_to_the_whole_process_group_mid_commit_restores_everything() {
    interrupted_commit(libc::SIGINT, true);
}

#[test]
fn sigterm_and_sighup_mid_commit_restore_everything() {
    interrupted_commit(libc::SIGTERM, false);
    interrupted_commit(libc::SIGHUP, false);
}

#[test]
fn sigkill_mid_commit_is_recovered_by_the_next_command() {
    interrupted_commit(libc::SIGKILL, false);
}

#[test]
fn timeout_restores_too() {
    let repo = partially_staged("[checks.slow]\nrun = 'sleep 100'\ntimeout = '300ms'\n");
    let commit = repo.git_try(&["commit", "-qm", "second"]);
    assert_ne!(commit.code, 0);
    assert!(commit.stderr.contains("timed out"), "{}", commit.context);
    assert_user_state_kept(&repo);
}

#[test]
fn commit_all_checks_everything() {
    let repo = partially_staged("[checks.see]\nrun = 'cat file.txt > seen.txt'\n");
    repo.git_try(&["commit", "-qam", "all"]).expect_code(0);
    assert_eq!(repo.bytes("seen.txt"), WORKTREE);
    assert_eq!(repo.show("HEAD:file.txt"), WORKTREE);
}

#[test]
fn commit_of_a_path_checks_only_that_path_and_keeps_other_staged_files() {
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'cat path.txt other.txt > seen.txt'\n");
    repo.write(".gitignore", "seen*\n");
    repo.write("path.txt", "P1\n").write("other.txt", "O1\n");
    repo.stage(&["."]).commit("base").install();
    repo.write("other.txt", "O2\n").stage(&["other.txt"]);
    repo.write("path.txt", "P2\n");
    repo.git_try(&["commit", "-qm", "only path", "path.txt"])
        .expect_code(0);
    assert_eq!(
        repo.read("seen.txt"),
        "P2\nO1\n",
        "other.txt's staged change is not in this commit"
    );
    assert_eq!(repo.show("HEAD:path.txt"), b"P2\n");
    assert_eq!(repo.show("HEAD:other.txt"), b"O1\n");
    assert_eq!(repo.show(":other.txt"), b"O2\n", "still staged");
    assert_eq!(repo.read("other.txt"), "O2\n");
}

const FIX_BASE: &str = "first  \nmiddle\nmiddle\nmiddle\nlast\n";
const FIXED: &str = "first\nmiddle\nmiddle\nmiddle\nlast\n";
const STRIP: &str = "run = \"sed -i 's/[[:space:]]*$//' {files}\"\nglob = '*.txt'\n";

fn fixer_repo(extra: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(&format!("[checks.strip]\n{STRIP}{extra}"));
    repo.write("f.txt", "old\n")
        .stage(&["f.txt", "checks.toml"])
        .commit("base")
        .install();
    repo.write("f.txt", FIX_BASE).stage(&["f.txt"]);
    // An unstaged change far from the line the fixer touches.
    repo.write("f.txt", format!("{FIX_BASE}user line\n"));
    repo
}

#[test]
fn stage_fixed_fixer_with_unstaged_changes_in_the_same_file() {
    let repo = fixer_repo("stage_fixed = true\n");
    let commit = repo.git_try(&["commit", "-qm", "fixed"]);
    commit.expect_code(0);
    assert_eq!(
        repo.show("HEAD:f.txt"),
        FIXED.as_bytes(),
        "the fix is committed"
    );
    assert_eq!(repo.show(":f.txt"), FIXED.as_bytes());
    assert_eq!(
        repo.read("f.txt"),
        format!("{FIXED}user line\n"),
        "fix merged under the user's change"
    );
}

#[test]
fn fixer_without_stage_fixed_blocks_the_commit_and_lists_the_files() {
    let repo = fixer_repo("fix = true\n");
    let commit = repo.git_try(&["commit", "-qm", "fixed"]);
    assert_eq!(commit.code, 1, "{}", commit.context);
    assert!(
        commit.stderr.contains("files changed by fixers"),
        "{}",
        commit.context
    );
    assert!(commit.stderr.contains("strip: f.txt"), "{}", commit.context);
    assert!(
        commit.stderr.contains("git add f.txt"),
        "{}",
        commit.context
    );
    assert_eq!(repo.show(":f.txt"), FIX_BASE.as_bytes(), "nothing staged");
    assert_eq!(repo.show("HEAD:f.txt"), b"old\n", "nothing committed");
    assert_eq!(repo.read("f.txt"), format!("{FIXED}user line\n"));
}

#[test]
fn fixer_conflicting_with_unstaged_changes_keeps_both() {
    let repo = TestRepo::new();
    repo.checks(&format!("[checks.strip]\n{STRIP}stage_fixed = true\n"));
    repo.write("f.txt", "old\n")
        .stage(&["f.txt", "checks.toml"])
        .commit("base")
        .install();
    repo.write("f.txt", FIX_BASE).stage(&["f.txt"]);
    // The user changed the very line the fixer fixes.
    let user = FIX_BASE.replace("first  ", "first edited by the user  ");
    repo.write("f.txt", &user);
    let commit = repo.git_try(&["commit", "-qm", "fixed"]);
    assert_eq!(commit.code, 1, "{}", commit.context);
    assert_eq!(repo.read("f.txt"), user, "the user's version wins");
    assert_eq!(
        repo.show(":f.txt"),
        FIX_BASE.as_bytes(),
        "a conflicting fix is not staged"
    );
    let doc = commit.stderr.clone();
    let patch_line = doc
        .lines()
        .find(|l| l.contains("fixers' changes are in"))
        .unwrap_or_else(|| panic!("no patch path\n{}", commit.context));
    let path = patch_line.split("are in ").nth(1).unwrap().trim();
    let patch = std::fs::read_to_string(path).unwrap();
    assert!(
        patch.contains("-first  ") && patch.contains("+first"),
        "{patch}"
    );
}

#[test]
fn staged_deletions_and_renames() {
    let repo = TestRepo::new();
    repo.checks("[checks.args]\nrun = \"printf '%s\\\\n' {files} > seen.txt\"\nglob = '*.rs'\n");
    repo.write(".gitignore", "seen*\n");
    repo.write("gone.rs", "1")
        .write("old.rs", "2")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["rm", "-q", "gone.rs"]);
    repo.git(&["mv", "old.rs", "new.rs"]);
    repo.git_try(&["commit", "-qm", "rm and mv"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "new.rs\n");
}

#[test]
fn awkward_file_names_are_checked_and_restored() {
    let repo = TestRepo::new();
    repo.checks("[checks.cat]\nrun = 'cat -- {files} > ../seen-all'\nglob = '*'\nexclude = ['checks.toml', '.gitignore']\n");
    let names: Vec<&[u8]> = vec![
        b"with space.txt",
        b"-leading-dash.txt",
        b"unicod\xc3\xa9-\xe2\x9c\x93.txt",
        b"$(touch pwned).txt",
        b"latin1-\xe9.txt",
    ];
    let os = |n: &[u8]| OsStr::from_bytes(n).to_os_string();
    for n in &names {
        std::fs::write(repo.path().join(os(n)), b"base\n").unwrap();
    }
    repo.git(&["add", "."]);
    repo.commit("base").install();
    for n in &names {
        std::fs::write(repo.path().join(os(n)), b"staged\n").unwrap();
    }
    repo.git(&["add", "-A"]);
    for n in &names {
        std::fs::write(repo.path().join(os(n)), b"staged\nunstaged\n").unwrap();
    }
    repo.git_try(&["commit", "-qm", "names"]).expect_code(0);
    let seen = std::fs::read(repo.path().parent().unwrap().join("seen-all")).unwrap_or_default();
    let _ = std::fs::remove_file(repo.path().parent().unwrap().join("seen-all"));
    assert_eq!(
        seen,
        b"staged\n".repeat(names.len()),
        "every file was checked, staged content only"
    );
    for n in &names {
        assert_eq!(
            std::fs::read(repo.path().join(os(n))).unwrap(),
            b"staged\nunstaged\n"
        );
    }
    assert!(!repo.file("pwned").exists());
}

#[test]
fn the_very_first_commit() {
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'cat a.txt > seen.txt'\n");
    repo.write(".gitignore", "seen*\n");
    repo.install();
    repo.write("a.txt", "staged\n")
        .stage(&["a.txt", "checks.toml", ".gitignore"]);
    repo.write("a.txt", "staged\nunstaged\n");
    repo.git_try(&["commit", "-qm", "first"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "staged\n");
    assert_eq!(repo.read("a.txt"), "staged\nunstaged\n");
}

#[test]
fn deleted_in_work_tree_intent_to_add_and_mode_changes() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.look]\nrun = 'cat staged-then-deleted.txt > seen.txt; test -e intent.txt && echo intent-visible >> seen.txt; test -x tool.sh && echo exec-visible >> seen.txt; true'\n",
    );
    repo.write(".gitignore", "seen*\n");
    repo.write("staged-then-deleted.txt", "old\n")
        .write("tool.sh", "#!/bin/sh\n");
    repo.stage(&["."]).commit("base").install();
    repo.write("staged-then-deleted.txt", "staged\n")
        .stage(&["staged-then-deleted.txt"]);
    std::fs::remove_file(repo.file("staged-then-deleted.txt")).unwrap();
    repo.write("intent.txt", "not committed\n");
    repo.git(&["add", "-N", "intent.txt"]);
    std::fs::set_permissions(repo.file("tool.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    repo.git_try(&["commit", "-qm", "edges"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "staged\n", "index versions only");
    assert!(
        !repo.file("staged-then-deleted.txt").exists(),
        "deleted again"
    );
    assert_eq!(repo.read("intent.txt"), "not committed\n");
    let mode = std::fs::metadata(repo.file("tool.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the unstaged mode change is back");
    assert_eq!(repo.show("HEAD:staged-then-deleted.txt"), b"staged\n");
    let status = String::from_utf8(repo.git(&["status", "--porcelain"]).stdout).unwrap();
    assert!(
        status.contains(" A intent.txt"),
        "still intent-to-add: {status}"
    );
}

#[test]
fn crlf_files_are_restored_byte_for_byte() {
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'cat crlf.txt > seen.txt'\n");
    repo.write(".gitignore", "seen*\n")
        .write(".gitattributes", "*.txt text eol=crlf\n");
    repo.write("crlf.txt", "a\r\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("crlf.txt", "a\r\nstaged\r\n")
        .stage(&["crlf.txt"]);
    repo.write("crlf.txt", "a\r\nstaged\r\nunstaged\r\n");
    repo.git_try(&["commit", "-qm", "crlf"]).expect_code(0);
    assert_eq!(
        repo.bytes("seen.txt"),
        b"a\r\nstaged\r\n",
        "checked out with the repository's filters"
    );
    assert_eq!(repo.bytes("crlf.txt"), b"a\r\nstaged\r\nunstaged\r\n");
    assert_eq!(repo.show("HEAD:crlf.txt"), b"a\nstaged\n");
}

#[test]
fn commit_from_a_subdirectory() {
    let repo = partially_staged("[checks.see]\nrun = 'cat file.txt > seen.txt'\n");
    std::fs::create_dir(repo.file("sub")).unwrap();
    let mut cmd = repo.git_command(&["commit", "-qm", "from sub"]);
    cmd.current_dir(repo.file("sub"));
    common::finish(&mut cmd, &repo.file("sub")).expect_code(0);
    assert_eq!(repo.bytes("seen.txt"), STAGED);
    assert_user_state_kept(&repo);
}

#[test]
fn submodules_are_left_alone() {
    let sub = TestRepo::new();
    sub.write("inner.txt", "inner\n")
        .stage(&["inner.txt"])
        .commit("inner");
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'cat file.txt > seen.txt'\n");
    repo.write(".gitignore", "seen*\n").write("file.txt", "a\n");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &sub.path().to_string_lossy(),
        "sub",
    ]);
    repo.stage(&["."]).commit("base").install();
    repo.write("sub/inner.txt", "dirty in the submodule\n");
    repo.write("file.txt", "b\n").stage(&["file.txt"]);
    repo.write("file.txt", "b\nunstaged\n");
    repo.git_try(&["commit", "-qm", "with sub"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "b\n");
    assert_eq!(repo.read("sub/inner.txt"), "dirty in the submodule\n");
    assert_eq!(repo.read("file.txt"), "b\nunstaged\n");
}

#[test]
fn a_second_precheck_waits_for_the_work_tree_and_a_stale_lock_is_cleared() {
    let repo = partially_staged(
        "[checks.wait]\nrun = 'touch started; while [ ! -e go ]; do sleep 0.05; done'\n",
    );
    let mut first = repo
        .command(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first run to start", || repo.file("started").exists());
    let mut second = repo.command(&["run"]);
    second
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let second = second.spawn().unwrap();
    // The second must wait: it cannot start its check while the first holds the tree.
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::remove_file(repo.file("started")).unwrap();
    repo.write("go", "");
    assert!(first.wait().unwrap().success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("waiting for run "), "{stderr}");
    assert_user_state_kept(&repo);
    // A lock left by a process that is gone is cleared without waiting.
    repo.write(".git/precheck/worktree.lock", "999999 1\n");
    let run = repo.precheck(&["run"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("waiting"), "{}", run.context);
}

#[test]
fn a_daemon_left_by_a_check_is_not_waited_for() {
    let repo = TestRepo::new();
    // The check ends once its daemon has detached (written its pid after setsid).
    repo.checks(
        "[checks.spawns]\nrun = 'setsid sh -c \"echo \\$\\$ > daemon.pid; exec sleep 30\" & while [ ! -s daemon.pid ]; do sleep 0.01; done'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(0);
    let pid: i32 = repo.read("daemon.pid").trim().parse().unwrap();
    let daemon_alive = alive(pid);
    // SAFETY: cleaning up the daemon this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(
        daemon_alive,
        "precheck returned while the daemon was still running, as it should"
    );
}

#[test]
fn precheck_skip_skips_and_says_so() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'exit 1'\n[checks.test]\nrun = 'true'\n");
    repo.stage(&["checks.toml"]).commit("base").install();
    repo.write("a", "1").stage(&["a"]);
    let mut cmd = repo.git_command(&["commit", "-qm", "skip lint"]);
    cmd.env("PRECHECK_SKIP", "lint");
    let run = common::finish(&mut cmd, repo.path());
    run.expect_code(0);
    assert!(
        run.stderr.contains("skipped by PRECHECK_SKIP: lint"),
        "{}",
        run.context
    );
}

#[test]
fn commit_msg_checks_get_the_message_file() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.ticket]\nrun = 'grep -q \"^TICKET-[0-9]\" {msg}'\nhooks = ['commit-msg']\n",
    );
    repo.stage(&["checks.toml"]).commit("base").install();
    repo.write("a", "1").stage(&["a"]);
    let bad = repo.git_try(&["commit", "-qm", "no ticket here"]);
    assert_ne!(bad.code, 0, "{}", bad.context);
    repo.git_try(&["commit", "-qm", "TICKET-12 with ticket"])
        .expect_code(0);
}

#[test]
fn a_merge_with_resolved_conflicts_is_checked_and_committed() {
    let repo = TestRepo::new();
    repo.checks("[checks.see]\nrun = 'cat m.txt > seen.txt'\n");
    repo.write(".gitignore", "seen*\n").write("m.txt", "base\n");
    repo.stage(&["."]).commit("base").install();
    repo.git(&["checkout", "-qb", "other"]);
    repo.write("m.txt", "other\n").stage(&["m.txt"]);
    repo.git(&["commit", "-qm", "other", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("m.txt", "main\n").stage(&["m.txt"]);
    repo.git(&["commit", "-qm", "main", "--no-verify"]);
    let merge = repo.git_try(&["merge", "-q", "other"]);
    assert_ne!(merge.code, 0, "conflicts");
    repo.write("m.txt", "resolved\n").stage(&["m.txt"]);
    repo.write("m.txt", "resolved\nand an unstaged edit\n");
    repo.git_try(&["commit", "-q", "--no-edit"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "resolved\n");
    assert_eq!(repo.read("m.txt"), "resolved\nand an unstaged edit\n");
    let parents = String::from_utf8(repo.git(&["log", "-1", "--format=%P"]).stdout).unwrap();
    assert_eq!(parents.split_whitespace().count(), 2, "a merge commit");
    assert!(!repo.file(".git/MERGE_HEAD").exists());
}

/// A partially staged file beside 10,500 more: big enough that precheck
/// has git list the unstaged changes, started early (told by the index
/// file's size: over 800,000 bytes).
fn big_index(check: &str) -> TestRepo {
    let repo = partially_staged(check);
    for i in 0..10_500 {
        repo.write(format!("many/folder-{}/file-{i}.dat", i / 100), "x\n");
    }
    repo.stage(&["many"]);
    assert!(std::fs::metadata(repo.file(".git/index")).unwrap().len() > 1_000_000);
    repo
}

/// On an index of more than 10,000 entries git itself lists the unstaged
/// changes, started before the change's files are worked out and read
/// under an early shared hold on the work tree: the check still sees the
/// staged content, in a plain commit and in `git commit PATH` (a hook on
/// a temporary index, GIT_INDEX_FILE), and the unstaged change survives.
#[test]
fn a_big_index_sets_aside_what_a_small_one_does() {
    let repo = big_index("[checks.see]\nrun = 'cat file.txt > seen.txt'\n");
    repo.git_try(&["commit", "-qm", "second"]).expect_code(0);
    assert_eq!(
        repo.bytes("seen.txt"),
        STAGED,
        "the check saw the staged content"
    );
    assert_user_state_kept(&repo);
    assert_eq!(repo.show("HEAD:file.txt"), STAGED);
    // `git commit PATH`: the hook gets a temporary index of its own.
    repo.write("other.txt", "committed\n").stage(&["other.txt"]);
    repo.write("other.txt", "committed\nnot yet\n");
    repo.write("seen.txt", "");
    repo.git_try(&["commit", "-qm", "third", "--", "file.txt"])
        .expect_code(0);
    assert_eq!(repo.bytes("file.txt"), WORKTREE, "work tree");
    assert_eq!(
        repo.show("HEAD:file.txt"),
        WORKTREE,
        "git commit PATH commits the work tree's file"
    );
    assert_eq!(
        repo.bytes("seen.txt"),
        WORKTREE,
        "the check saw what that commit records"
    );
    assert_eq!(repo.bytes("other.txt"), b"committed\nnot yet\n");
    assert_eq!(
        repo.show(":other.txt"),
        b"committed\n",
        "other.txt stays staged"
    );
}

/// On a big index with nothing to run (only file checks, none of whose
/// files are staged), git's listing of unstaged changes is not started
/// early: the commit goes through, nothing is set aside or left behind (no
/// index.lock in the way of the next git command), and the next works.
#[test]
fn a_big_index_with_nothing_to_run_commits_cleanly() {
    let repo = big_index("[checks.none]\nrun = 'true {files}'\nglob = '*.none'\n");
    for round in 0..3 {
        repo.git_try(&["commit", "-qm", &format!("round {round}")])
            .expect_code(0);
        assert!(
            !repo.file(".git/index.lock").exists(),
            "round {round}: no index.lock left"
        );
        assert_user_state_kept(&repo);
        repo.write("many/folder-0/file-0.dat", format!("round {round}\n"));
        repo.stage(&["many/folder-0/file-0.dat"]);
    }
    assert_eq!(repo.show("HEAD:file.txt"), STAGED);
}
