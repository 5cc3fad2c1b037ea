//! Nothing lost, proven: precheck is killed (SIGKILL, from inside, by the
//! debug build's fault points) at every step of setting unstaged changes
//! aside, restoring them and recovering them, on a tree with every kind of
//! unstaged change; after recovery every user byte and mode is back (or, where
//! a fixer's merge was in flight, in `recovered/`), and nothing stray remains.
//! Then each way the snapshot used to lose work, through real `git commit`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::{self, fill, item, tree, Item, SmallDisk, TestRepo};

/// Everything precheck moved to `recovered/`.
fn recovered(repo: &TestRepo) -> Vec<Item> {
    tree(&repo.file(".git/precheck/recovered"))
        .into_values()
        .filter(|i| i.kind != "dir")
        .collect()
}

/// The index, as `git ls-files -s` prints it.
fn index(repo: &TestRepo) -> String {
    String::from_utf8(repo.git(&["ls-files", "-s"]).stdout).unwrap()
}

/// A tree with every kind of unstaged change, and a check that fails so
/// that no commit ever lands.
fn every_kind_of_change(check: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(check);
    repo.write(".gitignore", "/seen*\n/trace*\n");
    repo.write("partial.txt", "one\n")
        .write("dir/modified.txt", "m1\n")
        .write("deleted.txt", "to be deleted\n")
        .write("deep/er/gone.txt", "gone with its folders\n")
        .write("renamed-from.txt", "rename me\n")
        .write("run.sh", "#!/bin/sh\necho 1\n")
        .write("mode-only.sh", "#!/bin/sh\n")
        .write("bin.dat", [0u8, 1, 2, 255, 0, 10, 13, 0])
        .write("target-a.txt", "a\n")
        .write("target-b.txt", "b\n")
        .write("untracked-neighbour/keep.txt", "x");
    std::os::unix::fs::symlink("target-a.txt", repo.file("link")).unwrap();
    fs::remove_dir_all(repo.file("untracked-neighbour")).unwrap();
    repo.stage(&["."]).commit("base").install();
    // Partially staged: a staged change and an unstaged one on top.
    repo.write("partial.txt", "one\nstaged\n")
        .stage(&["partial.txt"])
        .write("partial.txt", "one\nstaged\nunstaged\n");
    repo.write("dir/modified.txt", "m2 unstaged\n");
    fs::remove_file(repo.file("deleted.txt")).unwrap();
    fs::remove_dir_all(repo.file("deep")).unwrap();
    // A staged rename with an unstaged change on top, and an unstaged one.
    repo.git(&["mv", "renamed-from.txt", "renamed-to.txt"]);
    repo.write("renamed-to.txt", "rename me\nand change me\n");
    repo.write("run.sh", "#!/bin/sh\necho 2\n")
        .stage(&["run.sh"])
        .write("run.sh", "#!/bin/sh\necho 3\n");
    fs::set_permissions(repo.file("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(repo.file("mode-only.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    repo.write("bin.dat", [0u8, 1, 2, 254, 0, 10, 13, 0, 7])
        .stage(&["bin.dat"])
        .write("bin.dat", [9u8, 0, 0, 254, 0, 10, 13, 0, 7, 0]);
    fs::remove_file(repo.file("link")).unwrap();
    std::os::unix::fs::symlink("target-b.txt", repo.file("link")).unwrap();
    repo.write("intent.txt", "intent to add\n");
    repo.git(&["add", "-N", "intent.txt"]);
    repo.write("untracked.txt", "never touched\n");
    repo
}

const FAILING: &str = "[checks.fails]\nrun = 'cat partial.txt > seen.txt; exit 1'\n";

/// A commit with precheck killed at its `n`-th fault point; returns the
/// points reached (fewer than `n`: it was not killed).
fn commit_killed_at(repo: &TestRepo, n: usize, extra: &[(&str, &str)]) -> Vec<String> {
    let trace = repo.file(format!("trace-{n}"));
    let mut cmd = repo.git_command(&["commit", "-qm", "x"]);
    cmd.env("PRECHECK_FAULT_TRACE", &trace)
        .env("PRECHECK_FAULT_KILL_AT", n.to_string());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let run = common::finish(&mut cmd, repo.path());
    assert_ne!(run.code, 0, "the commit must not land\n{}", run.context);
    let points = fs::read_to_string(&trace).unwrap_or_default();
    fs::remove_file(&trace).ok();
    points.lines().map(String::from).collect()
}

/// Recovers with a precheck command, itself killed at its `m`-th fault point
/// when `m` is given; returns the points reached.
fn recover_with(repo: &TestRepo, args: &[&str], m: Option<usize>) -> Vec<String> {
    let trace = repo.file("trace-recover");
    let mut cmd = repo.command(args);
    cmd.env("PRECHECK_FAULT_TRACE", &trace);
    if let Some(m) = m {
        cmd.env("PRECHECK_FAULT_KILL_AT", m.to_string());
    }
    let run = common::finish(&mut cmd, repo.path());
    if m.is_none() {
        assert!(
            run.code == 0 || run.code == 1,
            "recovery runs cleanly\n{}",
            run.context
        );
    }
    let points = fs::read_to_string(&trace).unwrap_or_default();
    fs::remove_file(&trace).ok();
    points.lines().map(String::from).collect()
}

#[track_caller]
fn assert_exactly_as_before(
    repo: &TestRepo,
    before: &BTreeMap<PathBuf, Item>,
    index_before: &str,
    at: &str,
) {
    let after = tree(repo.path());
    let (b, a): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before
            .iter()
            .filter(|(p, _)| !p.starts_with("seen.txt"))
            .collect(),
        after
            .iter()
            .filter(|(p, _)| !p.starts_with("seen.txt"))
            .collect(),
    );
    for (path, was) in &b {
        assert_eq!(
            a.get(path),
            Some(was),
            "{}: not as before after a crash at `{at}`",
            path.display()
        );
    }
    for path in a.keys() {
        assert!(
            b.contains_key(path),
            "stray {} after a crash at `{at}`",
            path.display()
        );
    }
    assert_eq!(index(repo), index_before, "index after a crash at `{at}`");
    assert!(
        !repo.file(".git/precheck/snapshot").exists(),
        "snapshot left after a crash at `{at}`"
    );
    assert!(
        recovered(repo).is_empty(),
        "nothing needed recovered/ after a crash at `{at}`"
    );
}

#[test]
fn a_crash_at_every_step_of_a_commit_loses_nothing() {
    crash_at_every_step(FAILING);
}

#[test]
fn a_crash_at_every_step_with_untracked_files_hidden_loses_nothing() {
    crash_at_every_step(&format!("[settings]\nuntracked = 'hide'\n{FAILING}"));
}

fn crash_at_every_step(checks: &str) {
    let mut n = 1;
    let mut seen = Vec::new();
    loop {
        let repo = every_kind_of_change(checks);
        let before = tree(repo.path());
        let index_before = index(&repo);
        let points = commit_killed_at(&repo, n, &[]);
        if points.len() < n {
            assert_exactly_as_before(&repo, &before, &index_before, "no crash");
            break;
        }
        let at = points.last().unwrap().clone();
        // Alternate the command that recovers: a hook, and a plain command.
        if n % 2 == 0 {
            recover_with(&repo, &["list"], None);
        } else {
            let again = repo.git_try(&["commit", "-qm", "again"]);
            assert_ne!(again.code, 0, "{}", again.context);
        }
        assert_exactly_as_before(&repo, &before, &index_before, &at);
        seen.push(at);
        n += 1;
    }
    // Every kind of step was reached and crashed at.
    for kind in [
        "git checkout-index running",
        "stage-index",
        "manifest",
        "set-aside",
        "index-version",
        "restore-look",
        "restore-take",
        "restore ",
    ] {
        assert!(
            seen.iter().any(|p| p.starts_with(kind)),
            "no crash at `{kind}`: {seen:?}"
        );
    }
    assert!(seen.len() > 30, "{seen:?}");
}

#[test]
fn a_crash_during_recovery_is_recovered_again() {
    // Crash the commit at one point of each phase, then crash the recovery at
    // each of its own steps, then recover for good.
    let probe = every_kind_of_change(FAILING);
    let all = commit_killed_at(&probe, usize::MAX, &[]);
    let phases = [
        "set-aside 4/",
        "index-version 6/",
        "restore-take",
        "restore 6/",
    ];
    for phase in phases {
        let n = all
            .iter()
            .position(|p| p.starts_with(phase))
            .unwrap_or_else(|| panic!("no point `{phase}` in {all:?}"))
            + 1;
        let mut m = 1;
        loop {
            let repo = every_kind_of_change(FAILING);
            let before = tree(repo.path());
            let index_before = index(&repo);
            commit_killed_at(&repo, n, &[]);
            let points = recover_with(&repo, &["list"], Some(m));
            let crashed = points.len() >= m;
            if crashed {
                recover_with(&repo, &["list"], None);
            }
            let at = format!(
                "{phase} then recovery at {}",
                points.last().map_or("-", String::as_str)
            );
            assert_exactly_as_before(&repo, &before, &index_before, &at);
            if !crashed {
                assert!(m > 3, "recovery had steps to crash at: {points:?}");
                break;
            }
            m += 1;
        }
    }
}

#[test]
fn a_crash_while_a_fixers_change_is_merged_loses_no_user_byte() {
    // A fixer strips trailing spaces of a partially staged file whose
    // unstaged change merges cleanly: the merged version is written at
    // restore. Killed at every step, the user's version survives in the
    // work tree or in recovered/.
    const BASE: &str = "first  \nmiddle\nmiddle\nmiddle\nlast\n";
    let user = format!("{BASE}user line\n").into_bytes();
    let mut n = 1;
    let mut merge_crashes = 0;
    loop {
        let repo = TestRepo::new();
        repo.checks(
            "[checks.strip]\nrun = \"sed -i 's/[[:space:]]*$//' {files}\"\nglob = '*.txt'\nstage_fixed = true\n",
        );
        repo.write(".gitignore", "/trace*\n");
        repo.write("f.txt", "old\n")
            .stage(&["."])
            .commit("base")
            .install();
        repo.write("f.txt", BASE).stage(&["f.txt"]);
        repo.write("f.txt", &user);
        let trace = repo.file("trace");
        let mut cmd = repo.git_command(&["commit", "-qm", "x"]);
        cmd.env("PRECHECK_FAULT_TRACE", &trace)
            .env("PRECHECK_FAULT_KILL_AT", n.to_string());
        let run = common::finish(&mut cmd, repo.path());
        let points: Vec<String> = fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        if points.len() < n {
            run.expect_code(0);
            assert_eq!(
                repo.read("f.txt"),
                "first\nmiddle\nmiddle\nmiddle\nlast\nuser line\n"
            );
            break;
        }
        let at = points.last().unwrap().clone();
        merge_crashes += usize::from(at.starts_with("merge-write"));
        recover_with(&repo, &["list"], None);
        let in_tree = fs::read(repo.file("f.txt")).ok();
        let kept = recovered(&repo).iter().any(|i| i.bytes == user);
        let merged = b"first\nmiddle\nmiddle\nmiddle\nlast\nuser line\n".to_vec();
        assert!(
            in_tree.as_deref() == Some(&user[..])
                || in_tree.as_deref() == Some(&merged[..])
                || kept,
            "the user's version is lost after a crash at `{at}`: work tree holds {in_tree:?}"
        );
        if in_tree.as_deref() != Some(&user[..]) && in_tree.as_deref() != Some(&merged[..]) {
            assert!(kept, "{at}");
        }
        assert!(!repo.file(".git/precheck/snapshot").exists(), "{at}");
        n += 1;
    }
    assert!(
        merge_crashes > 0,
        "a crash inside the merge write was tried"
    );
}

/// Processes whose working directory is inside `dir`.
fn processes_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 || !common::alive(pid) {
            continue;
        }
        if fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c.starts_with(dir)) {
            let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            out.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    out
}

#[test]
fn a_killed_precheck_leaves_no_git_child_writing() {
    // Killed while its `git checkout-index` runs: the child dies with it
    // (parent-death signal), and what it wrote is only ever in the snapshot
    // folder, never over the user's files.
    let repo = every_kind_of_change(FAILING);
    let before = tree(repo.path());
    let index_before = index(&repo);
    let all = commit_killed_at(&repo, usize::MAX, &[]);
    let n = all
        .iter()
        .position(|p| p == "git checkout-index running")
        .unwrap()
        + 1;
    let repo = every_kind_of_change(FAILING);
    commit_killed_at(&repo, n, &[]);
    common::wait_for("no process left in the repository", || {
        processes_in(repo.path()).is_empty()
    });
    recover_with(&repo, &["list"], None);
    assert_exactly_as_before(&repo, &before, &index_before, "git checkout-index running");
}

/// Every command recovers first: after a crash with files set aside, each
/// of them brings the user's files back.
#[test]
fn every_command_recovers_first() {
    let commands: &[&[&str]] = &[
        &["list"],
        &["run", "--no-cache"],
        &["tasks"],
        &["log"],
        &["wait"],
        &["kill"],
        &["clean"],
        &["doctor"],
        &["ci", "matrix"],
        &["install"],
        &["uninstall"],
        &["init"],
        &["import"],
        &["hook", "pre-commit"],
    ];
    let probe = every_kind_of_change(FAILING);
    let all = commit_killed_at(&probe, usize::MAX, &[]);
    let n = all
        .iter()
        .position(|p| p.starts_with("restore-look"))
        .unwrap()
        + 1;
    for args in commands {
        let repo = every_kind_of_change(FAILING);
        let before = tree(repo.path());
        commit_killed_at(&repo, n, &[]);
        assert!(repo.file(".git/precheck/snapshot").exists());
        let run = repo.precheck(args);
        assert!(
            run.stderr.contains("restored"),
            "`precheck {}` did not recover first\n{}",
            args.join(" "),
            run.context
        );
        for (path, was) in &before {
            if path.starts_with("seen.txt") || path.starts_with(".git") {
                continue;
            }
            let now = item(&repo.file(path));
            // install/uninstall/init may write their own files; user files are back.
            assert_eq!(
                now.as_ref(),
                Some(was),
                "{} after `precheck {}`",
                path.display(),
                args.join(" ")
            );
        }
    }
}

/// A repository with `file.txt` partially staged (so that a commit sets
/// changes aside), the hooks installed, and `check` as its only check.
fn partially_staged(check: &str) -> TestRepo {
    partially_staged_beside(check, &[])
}

/// As [`partially_staged`], with more files committed beside it.
fn partially_staged_beside(check: &str, beside: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(check);
    repo.write(".gitignore", "/seen*\n/trace*\n");
    for (path, text) in beside {
        repo.write(path, text);
    }
    repo.write("file.txt", "base\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("file.txt", "base\nstaged\n")
        .stage(&["file.txt"])
        .write("file.txt", "base\nstaged\nunstaged\n");
    repo
}

const SEE: &str = "[checks.see]\nrun = 'cat file.txt > seen.txt'\n";

/// A commit that must be refused before anything changes, naming `path`.
#[track_caller]
fn assert_refused_untouched(repo: &TestRepo, path: &str) {
    let before = tree(repo.path());
    let index_before = index(repo);
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0, "refused\n{}", commit.context);
    assert!(
        commit.stderr.contains(path) && commit.stderr.contains("nothing was changed"),
        "says which path and that nothing changed\n{}",
        commit.context
    );
    assert!(commit.stderr.contains("--no-stash"), "{}", commit.context);
    assert_eq!(tree(repo.path()), before, "work tree untouched");
    assert_eq!(index(repo), index_before);
    assert!(!repo.file(".git/precheck/snapshot").exists());
}

#[test]
fn an_untracked_file_where_a_tracked_folder_was_is_never_deleted() {
    let repo = partially_staged(SEE);
    repo.write("d/x.txt", "tracked\n")
        .stage(&["d/x.txt"])
        .commit("d");
    fs::remove_dir_all(repo.file("d")).unwrap();
    repo.write("d", "an untracked file in the way\n");
    assert_refused_untouched(&repo, "d/x.txt");
    assert_eq!(repo.read("d"), "an untracked file in the way\n");
}

#[test]
fn a_symlink_where_a_tracked_folder_was_is_never_followed() {
    let repo = partially_staged(SEE);
    repo.write("d/x.txt", "tracked\n")
        .stage(&["d/x.txt"])
        .commit("d");
    fs::remove_dir_all(repo.file("d")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("x.txt"), "outside, not ours\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.file("d")).unwrap();
    assert_refused_untouched(&repo, "d/x.txt");
    assert_eq!(
        fs::read_to_string(outside.path().join("x.txt")).unwrap(),
        "outside, not ours\n",
        "the link's target was not moved into the repository"
    );
}

#[test]
fn an_untracked_folder_where_a_tracked_file_was_is_never_moved() {
    let repo = partially_staged(SEE);
    repo.write("f", "tracked file\n").stage(&["f"]).commit("f");
    fs::remove_file(repo.file("f")).unwrap();
    repo.write("f/inside.txt", "untracked work\n");
    assert_refused_untouched(&repo, "f");
    assert_eq!(repo.read("f/inside.txt"), "untracked work\n");
}

#[test]
fn a_metadata_error_is_not_read_as_absence() {
    // `a/b.txt` is tracked; `a` is now a file, so looking at `a/b.txt`
    // fails with "not a directory": the old code took that for "no file",
    // saved nothing and wrote the index version over `a`.
    let repo = partially_staged(SEE);
    repo.write("a/b.txt", "tracked\n")
        .stage(&["a/b.txt"])
        .commit("a");
    fs::remove_dir_all(repo.file("a")).unwrap();
    repo.write("a", "a file now\n");
    assert_refused_untouched(&repo, "a/b.txt");
    assert_eq!(repo.read("a"), "a file now\n");
}

/// A commit paused at the fault point `point` (the debug build waits there
/// until the pause file is removed); `act` runs while it waits.
fn commit_paused_at(repo: &TestRepo, point: &str, act: impl FnOnce()) -> common::Run {
    let trace = repo.file("trace");
    let paused = repo.file("trace.paused");
    let mut cmd = repo.git_command(&["commit", "-qm", "x"]);
    cmd.env("PRECHECK_FAULT_TRACE", &trace)
        .env("PRECHECK_FAULT_PAUSE", point)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    common::wait_for(&format!("the pause at `{point}`"), || paused.exists());
    act();
    fs::remove_file(&paused).unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = fs::remove_file(&trace);
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        context: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// flock cannot upgrade a shared hold in place: between letting it go and
/// holding the tree alone, another run may take the tree, change it (here
/// a fixer leaves an unstaged fix in a second file) and let go. The commit
/// must then read again what to set aside, so that its check still sees
/// the staged file, and the fix is kept.
#[test]
fn a_run_that_changes_the_tree_while_a_commit_upgrades_its_hold_is_seen() {
    let repo = partially_staged_beside(
        "[checks.see]\nrun = 'cat file.txt > seen.txt; cat other.txt > seen-other.txt'\n\
         [checks.fixer]\nrun = \"printf 'fixed\\n' >> other.txt\"\nfix = true\nhooks = ['manual']\n",
        &[("other.txt", "other\n")],
    );
    let run = commit_paused_at(&repo, "tree-lock-upgrade", || {
        let fixer = repo.precheck(&["run", "fixer", "--all"]);
        assert_ne!(
            fixer.code, 0,
            "a fixer that changed a file fails\n{}",
            fixer.context
        );
        assert_eq!(
            repo.read("other.txt"),
            "other\nfixed\n",
            "{}",
            fixer.context
        );
    });
    run.expect_code(0);
    assert_eq!(repo.read("seen.txt"), "base\nstaged\n");
    assert_eq!(
        repo.read("seen-other.txt"),
        "other\n",
        "the check saw the fix that is not staged\n{}",
        run.stderr
    );
    assert_eq!(repo.read("other.txt"), "other\nfixed\n");
    assert_eq!(repo.read("file.txt"), "base\nstaged\nunstaged\n");
    assert_eq!(repo.show("HEAD:other.txt"), b"other\n");
    assert_eq!(repo.show("HEAD:file.txt"), b"base\nstaged\n");
}

#[track_caller]
fn assert_kept_aside(repo: &TestRepo, run: &common::Run) {
    let user = b"base\nstaged\nunstaged\n".to_vec();
    assert!(
        recovered(repo).iter().any(|i| i.bytes == user),
        "the user's version is in recovered/\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("file.txt") && run.stderr.contains("recovered"),
        "a note names the file and where its version went\n{}",
        run.stderr
    );
    assert!(!repo.file(".git/precheck/snapshot").exists());
    assert_eq!(repo.show(":file.txt"), b"base\nstaged\n");
}

#[test]
fn an_editor_save_before_the_restore_is_kept() {
    let repo = partially_staged(SEE);
    let run = commit_paused_at(&repo, "restore-look file.txt", || {
        fs::write(repo.file("file.txt"), "saved by an editor\n").unwrap();
    });
    run.expect_code(0);
    assert_eq!(repo.read("file.txt"), "saved by an editor\n");
    assert_kept_aside(&repo, &run);
}

#[test]
fn an_editor_save_in_the_middle_of_the_restore_is_kept() {
    let repo = partially_staged(SEE);
    let run = commit_paused_at(&repo, "restore-take file.txt", || {
        // The index version was just taken out; the editor writes anew.
        fs::write(repo.file("file.txt"), "saved by an editor\n").unwrap();
    });
    run.expect_code(0);
    assert_eq!(repo.read("file.txt"), "saved by an editor\n");
    assert_kept_aside(&repo, &run);
}

#[test]
fn a_folder_made_in_the_middle_of_the_restore_is_kept_with_its_contents() {
    let repo = partially_staged(SEE);
    let run = commit_paused_at(&repo, "restore-take file.txt", || {
        repo.write("file.txt/made-by-a-tool.txt", "tool output\n");
    });
    run.expect_code(0);
    assert_eq!(repo.read("file.txt/made-by-a-tool.txt"), "tool output\n");
    assert_kept_aside(&repo, &run);
}

#[test]
fn a_sparse_checkout_commits_and_leaves_no_patch() {
    let repo = TestRepo::new();
    repo.checks(SEE);
    repo.write(".gitignore", "/seen*\n");
    repo.write("file.txt", "base\n")
        .write("in/kept.txt", "in\n")
        .write("out/away.txt", "out of the cone\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.git(&["sparse-checkout", "set", "in"]);
    assert!(!repo.file("out/away.txt").exists(), "outside the cone");
    repo.write("file.txt", "base\nstaged\n")
        .stage(&["file.txt"])
        .write("file.txt", "base\nstaged\nunstaged\n");
    repo.git_try(&["commit", "-qm", "sparse"]).expect_code(0);
    assert_eq!(repo.read("seen.txt"), "base\nstaged\n");
    assert_eq!(repo.read("file.txt"), "base\nstaged\nunstaged\n");
    assert!(!repo.file("out/away.txt").exists(), "not written");
    assert!(!repo.file(".git/precheck/fixes").exists(), "no stray patch");
    assert_eq!(repo.show("HEAD:out/away.txt"), b"out of the cone\n");
    let flags = String::from_utf8(repo.git(&["ls-files", "-t", "out"]).stdout).unwrap();
    assert!(flags.starts_with("S "), "still skip-worktree: {flags}");
}

#[test]
fn a_failing_smudge_filter_never_makes_a_file_vanish() {
    let repo = partially_staged(SEE);
    repo.write(".gitattributes", "*.dat filter=bad\n");
    repo.write("x.dat", "data\n")
        .stage(&[".gitattributes", "x.dat"])
        .commit("filtered");
    repo.git(&["config", "filter.bad.clean", "cat"]);
    repo.git(&["config", "filter.bad.smudge", "false"]);
    repo.git(&["config", "filter.bad.required", "true"]);
    repo.write("x.dat", "data\nstaged\n")
        .stage(&["x.dat"])
        .write("x.dat", "data\nstaged\nunstaged\n");
    let commit = repo.git_try(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0, "{}", commit.context);
    assert!(
        commit.stderr.contains("nothing was changed"),
        "{}",
        commit.context
    );
    assert_eq!(repo.read("x.dat"), "data\nstaged\nunstaged\n");
    assert_eq!(repo.read("file.txt"), "base\nstaged\nunstaged\n");
    assert!(!repo.file(".git/precheck/snapshot").exists());
}

#[test]
fn newer_work_committed_after_a_crash_is_not_overwritten_by_old_drafts() {
    const SEE_FAIL: &str = "[checks.see]\nrun = 'cat file.txt > seen.txt; exit 1'\n";
    let repo = partially_staged(SEE_FAIL);
    let all = commit_killed_at(&partially_staged(SEE_FAIL), usize::MAX, &[]);
    let n = all
        .iter()
        .position(|p| p.starts_with("index-version"))
        .unwrap()
        + 1;
    commit_killed_at(&repo, n, &[]);
    assert_eq!(
        repo.read("file.txt"),
        "base\nstaged\n",
        "the snapshot is in place"
    );
    // The user carries on: newer work, committed without the hook.
    repo.write("file.txt", "newer work\n").stage(&["file.txt"]);
    repo.git(&["commit", "-qm", "newer", "--no-verify"]);
    let run = repo.precheck(&["list"]);
    run.expect_code(0);
    assert_eq!(repo.read("file.txt"), "newer work\n", "not laid over");
    assert!(
        recovered(&repo)
            .iter()
            .any(|i| i.bytes == b"base\nstaged\nunstaged\n"),
        "the old draft is kept\n{}",
        run.context
    );
    assert!(
        run.stderr.contains("file.txt") && run.stderr.contains("committed or staged since"),
        "{}",
        run.context
    );
}

#[test]
fn a_full_disk_while_setting_aside_changes_nothing() {
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let repo = partially_staged(SEE);
    let root = disk.holding(&repo);
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let mut staged = big.clone();
    staged.extend_from_slice(b"staged");
    let mut user = staged.clone();
    user.extend_from_slice(b"unstaged");
    let git = |args: &[&str]| {
        let mut c = repo.git_command(args);
        c.current_dir(&root);
        common::finish(&mut c, &root)
    };
    fs::write(root.join("big.bin"), &big).unwrap();
    git(&["add", "big.bin"]).expect_code(0);
    git(&["commit", "-qm", "big", "--no-verify"]).expect_code(0);
    fs::write(root.join("big.bin"), &staged).unwrap();
    git(&["add", "big.bin"]).expect_code(0);
    fs::write(root.join("big.bin"), &user).unwrap();
    let before = tree(&root);
    // Room for git's own small files, not for the staged version.
    fill(disk.dir.path(), 300_000);
    let commit = git(&["commit", "-qm", "x"]);
    assert_ne!(commit.code, 0, "{}", commit.context);
    assert!(
        commit.stderr.contains("free on the disk"),
        "says the disk is full\n{}",
        commit.context
    );
    assert_eq!(tree(&root), before, "nothing changed, nothing partial");
    assert!(!root.join(".git/precheck/snapshot").exists());
    // With room again, the commit goes through and the work is there.
    fs::remove_file(disk.dir.path().join("filler")).unwrap();
    git(&["commit", "-qm", "x"]).expect_code(0);
    assert_eq!(fs::read(root.join("big.bin")).unwrap(), user);
    assert_eq!(fs::read(root.join("seen.txt")).unwrap(), b"base\nstaged\n");
}

#[test]
fn a_check_dies_with_a_killed_precheck_while_files_are_set_aside() {
    // While the user's unstaged changes are set aside, a check is tied to
    // precheck (parent-death signal): killed outright, precheck takes its
    // checks with it at once, before any other command runs, so none can
    // write over the index versions standing in for the user's files.
    let repo = partially_staged("[checks.long]\nrun = 'echo $$ > check.pid; exec sleep 100'\n");
    let mut child = repo.command(&["run"]).spawn().unwrap();
    common::wait_for("the check", || {
        repo.file("check.pid").exists() && !repo.read("check.pid").trim().is_empty()
    });
    let check: i32 = repo.read("check.pid").trim().parse().unwrap();
    assert!(common::alive(check));
    child.kill().unwrap();
    child.wait().unwrap();
    common::wait_for("the check to die with precheck", || !common::alive(check));
    recover_with(&repo, &["list"], None);
    assert_eq!(repo.read("file.txt"), "base\nstaged\nunstaged\n");
}
