//! Installing and uninstalling hook shims where git really reads them, the
//! hooks they replace, a missing precheck, and pre-push ranges.

use std::os::unix::fs::PermissionsExt;

use crate::common::{self, TestRepo};

const FAILING: &str = "[checks.no]\nrun = 'echo blocked-by-precheck; exit 1'\n";

#[track_caller]
fn assert_commit_blocked(repo: &TestRepo, dir: &std::path::Path) {
    repo.write(
        dir.join("x.txt"),
        format!("{:?}", std::time::Instant::now()),
    );
    let mut add = repo.git_command(&["add", "x.txt"]);
    add.current_dir(dir);
    assert!(add.status().unwrap().success());
    let mut cmd = repo.git_command(&["commit", "-qm", "x"]);
    cmd.current_dir(dir);
    let run = common::finish(&mut cmd, dir);
    assert_ne!(run.code, 0, "{}", run.context);
    assert!(
        run.stderr.contains("blocked-by-precheck"),
        "{}",
        run.context
    );
}

#[test]
fn install_is_idempotent_and_uninstall_removes() {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "{FAILING}[checks.push]\nrun = 'true'\nhooks = ['pre-push']\n"
    ));
    let first = repo.precheck(&["install"]);
    first.expect_code(0);
    assert!(
        first.stdout.contains("pre-commit: installed"),
        "{}",
        first.context
    );
    assert!(
        first.stdout.contains("pre-push: installed"),
        "{}",
        first.context
    );
    let again = repo.precheck(&["install"]);
    assert!(
        again.stdout.contains("pre-commit: already installed"),
        "{}",
        again.context
    );
    assert_commit_blocked(&repo, repo.path());
    repo.precheck(&["uninstall"]).expect_code(0);
    assert!(!repo.file(".git/hooks/pre-commit").exists());
    assert!(!repo.file(".git/hooks/pre-push").exists());
    repo.git_try(&["commit", "-qm", "free"]).expect_code(0);
}

#[test]
fn install_follows_a_relative_core_hooks_path() {
    let repo = TestRepo::new();
    repo.checks(FAILING);
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    repo.install();
    assert!(repo.file(".githooks/pre-commit").exists());
    assert!(!repo.file(".git/hooks/pre-commit").exists());
    assert_commit_blocked(&repo, repo.path());
    // From a subdirectory too: git resolves the path from the top.
    std::fs::create_dir_all(repo.file("deep/er")).unwrap();
    assert_commit_blocked(&repo, &repo.file("deep/er"));
}

#[test]
fn install_in_a_linked_worktree_uses_the_common_hooks() {
    let repo = TestRepo::new();
    repo.checks(FAILING);
    repo.stage(&["checks.toml"]).commit("base");
    let wt = repo.path().parent().unwrap().join(format!(
        "{}-wt",
        repo.path().file_name().unwrap().to_string_lossy()
    ));
    repo.git(&["worktree", "add", "-q", &wt.to_string_lossy(), "-b", "side"]);
    let mut cmd = repo.command(&["install"]);
    cmd.current_dir(&wt);
    common::finish(&mut cmd, &wt).expect_code(0);
    assert!(
        repo.file(".git/hooks/pre-commit").exists(),
        "the common dir's hooks"
    );
    assert_commit_blocked(&repo, &wt);
    assert_commit_blocked(&repo, repo.path());
    let _ = std::fs::remove_dir_all(&wt);
}

#[test]
fn an_existing_hook_is_kept_chained_and_put_back() {
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'echo precheck-ran'\n");
    let user_hook =
        "#!/bin/sh\necho user-hook-ran\nexit \"$(cat .user-hook-exit 2>/dev/null || echo 0)\"\n";
    repo.write(".git/hooks/pre-commit", user_hook);
    std::fs::set_permissions(
        repo.file(".git/hooks/pre-commit"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    let install = repo.precheck(&["install"]);
    install.expect_code(0);
    assert!(
        install.stdout.contains("pre-commit.legacy"),
        "{}",
        install.context
    );
    assert_eq!(repo.read(".git/hooks/pre-commit.legacy"), user_hook);
    repo.write("a", "1").stage(&["a"]);
    let commit = repo.git_try(&["commit", "-qm", "both"]);
    commit.expect_code(0);
    let both = format!("{}{}", commit.stdout, commit.stderr);
    let user_at = both.find("user-hook-ran").expect("user hook ran");
    assert!(
        both.contains("passed: 1 passed, 0 failed"),
        "{}",
        commit.context
    );
    assert!(
        user_at < both.find("passed").unwrap(),
        "the user's hook runs first"
    );
    // Its exit status is respected.
    repo.write(".user-hook-exit", "3");
    repo.write("b", "1").stage(&["b"]);
    let blocked = repo.git_try(&["commit", "-qm", "blocked"]);
    assert_eq!(
        blocked.code, 1,
        "git reports a failed hook\n{}",
        blocked.context
    );
    assert!(
        blocked
            .stderr
            .contains("pre-commit.legacy hook failed (exit 3)"),
        "{}",
        blocked.context
    );
    let uninstall = repo.precheck(&["uninstall"]);
    assert!(
        uninstall.stdout.contains("put back your own"),
        "{}",
        uninstall.context
    );
    assert_eq!(repo.read(".git/hooks/pre-commit"), user_hook);
    let mode = std::fs::metadata(repo.file(".git/hooks/pre-commit"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
    assert!(!repo.file(".git/hooks/pre-commit.legacy").exists());
}

/// Installs the hooks with a copy of precheck at `dir/name`, with `extra`
/// arguments to `install`; returns the copy's path.
fn install_with_copy(repo: &TestRepo, dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let copy = dir.join("precheck");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(common::BIN, &copy).unwrap();
    // Until no test thread's fork still holds the copy open for writing.
    for _ in 0..100 {
        let mut cmd = std::process::Command::new(&copy);
        cmd.arg("install").args(extra).current_dir(repo.path());
        common::clean_env(&mut cmd, repo.home());
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
            Ok(out) => {
                assert!(out.status.success(), "{out:?}");
                return copy;
            }
        }
    }
    panic!("{} stayed busy", copy.display())
}

/// A commit whose hook's precheck was removed, with no precheck on PATH.
fn commit_without_precheck(repo: &TestRepo, copy: &std::path::Path) -> common::Run {
    std::fs::remove_file(copy).unwrap();
    repo.write("a", "1").stage(&["a"]);
    let mut commit = repo.git_command(&["commit", "-qm", "x"]);
    commit.env("PATH", "/usr/bin:/bin");
    let run = common::finish(&mut commit, repo.path());
    assert_ne!(
        run.code, 0,
        "a missing tool never silently skips the checks\n{}",
        run.context
    );
    assert_eq!(
        repo.git(&["rev-list", "--count", "HEAD"]).stdout,
        b"1\n",
        "{}",
        run.context
    );
    run
}

#[test]
fn a_missing_precheck_fails_the_hook_and_says_what_to_do() {
    // The exec shim: git cannot start it and says which hook; the hook's
    // own text says what to do.
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n")
        .stage(&["checks.toml"])
        .commit("config");
    let spare = tempfile::tempdir().unwrap();
    let copy = install_with_copy(&repo, spare.path(), &[]);
    let shim = repo.read(".git/hooks/pre-commit");
    assert!(
        shim.starts_with(&format!("#!{} shim\n", copy.display())),
        "{shim}"
    );
    assert!(shim.contains("--no-verify"), "{shim}");
    let run = commit_without_precheck(&repo, &copy);
    assert!(
        run.stderr.contains(".git/hooks/pre-commit"),
        "{}",
        run.context
    );
    // The shell shim (`install --shell`) says it itself.
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n")
        .stage(&["checks.toml"])
        .commit("config");
    let copy = install_with_copy(&repo, spare.path(), &["--shell"]);
    assert!(repo
        .read(".git/hooks/pre-commit")
        .starts_with("#!/bin/sh\n"));
    let run = commit_without_precheck(&repo, &copy);
    assert!(
        run.stderr.contains("precheck is neither at"),
        "{}",
        run.context
    );
    assert!(run.stderr.contains("--no-verify"), "{}", run.context);
}

/// Both shim forms run the same checks with the same arguments: the config
/// given at install, the commit message file for commit-msg, and a failing
/// check blocks the commit. A precheck whose path cannot be a `#!` line (a
/// space in it) gets the shell form.
#[test]
fn both_shim_forms_run_the_hooks_checks_with_gits_arguments() {
    let spare = tempfile::tempdir().unwrap();
    for (dir, extra, exec_form) in [
        ("plain", &[][..], true),
        ("shell", &["--shell"][..], false),
        ("with space", &[][..], false),
    ] {
        let repo = TestRepo::new();
        let out = repo.home().join("msg-seen");
        repo.write(
            "ci/hooks.toml",
            format!(
                "[checks.msg]\nrun = 'cp {{msg}} {}; grep -q good {{msg}}'\nhooks = ['commit-msg']\n\
                 [checks.pre]\nrun = 'test ! -e block'\n",
                out.display()
            ),
        )
        .stage(&["ci/hooks.toml"])
        .commit("config");
        let args: Vec<&str> = ["--config", "ci/hooks.toml"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        install_with_copy(&repo, &spare.path().join(dir), &args);
        let shim = repo.read(".git/hooks/commit-msg");
        assert_eq!(shim.starts_with("#!/bin/sh\n"), !exec_form, "{dir}: {shim}");
        repo.write("a", "1").stage(&["a"]);
        let bad = repo.git_try(&["commit", "-qm", "bad message"]);
        assert_ne!(bad.code, 0, "{dir}: {}", bad.context);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "bad message\n",
            "{dir}"
        );
        repo.git_try(&["commit", "-qm", "good message"])
            .expect_code(0);
        repo.write("block", "").write("b", "1").stage(&["b"]);
        let blocked = repo.git_try(&["commit", "-qm", "good again"]);
        assert_ne!(blocked.code, 0, "{dir}: {}", blocked.context);
        assert_eq!(
            repo.git(&["rev-list", "--count", "HEAD"]).stdout,
            b"2\n",
            "{dir}"
        );
    }
}

#[test]
fn pre_push_checks_what_is_pushed() {
    let remote = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(remote.path())
        .status()
        .unwrap();
    assert!(status.success());
    let repo = TestRepo::new();
    // Not cached: the test reads what each push gave the check.
    repo.checks(
        "[checks.pushed]\nrun = \"printf '%s\\\\n' {files} > pushed.txt\"\nglob = '*.rs'\nhooks = ['pre-push']\ncache = false\n",
    );
    repo.write(".gitignore", "pushed*\n");
    repo.write("a.rs", "1").write("b.rs", "1");
    repo.stage(&["."]).commit("base").install();
    repo.git(&["remote", "add", "origin", &remote.path().to_string_lossy()]);
    // A first push: nothing known on the remote, every file.
    repo.git_try(&["push", "-q", "origin", "main"])
        .expect_code(0);
    assert_eq!(repo.read("pushed.txt"), "a.rs\nb.rs\n");
    // An update: what changed since the remote's commit.
    repo.write("b.rs", "2").stage(&["b.rs"]).commit("change b");
    repo.git_try(&["push", "-q", "origin", "main"])
        .expect_code(0);
    assert_eq!(repo.read("pushed.txt"), "b.rs\n");
    // A new branch: against the merge base with the remote's default branch.
    repo.git(&["checkout", "-qb", "feature"]);
    repo.write("c.rs", "1").stage(&["c.rs"]).commit("add c");
    repo.git_try(&["push", "-q", "origin", "feature"])
        .expect_code(0);
    assert_eq!(repo.read("pushed.txt"), "c.rs\n");
    // Deleting a ref checks nothing.
    std::fs::remove_file(repo.file("pushed.txt")).unwrap();
    let del = repo.git_try(&["push", "-q", "origin", ":feature"]);
    del.expect_code(0);
    assert!(!repo.file("pushed.txt").exists(), "{}", del.context);
    // The same range by hand.
    let by_hand = repo.precheck(&[
        "run",
        "--hook",
        "pre-push",
        "--from-ref",
        "main",
        "--to-ref",
        "feature",
    ]);
    by_hand.expect_code(0);
    assert_eq!(repo.read("pushed.txt"), "c.rs\n");
}

/// PRECHECK_HOOKS_DIR inherited from another repository's hook (a check
/// that commits elsewhere) never makes this repository run that one's
/// legacy hook.
#[test]
fn another_repositorys_hooks_dir_is_not_ours() {
    let other = TestRepo::new();
    other.checks("[checks.ok]\nrun = 'true'\n");
    other.write(
        ".git/hooks/pre-commit",
        "#!/bin/sh\ntouch \"$MARK\"\nexit 7\n",
    );
    std::fs::set_permissions(
        other.file(".git/hooks/pre-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    other.precheck(&["install"]).expect_code(0);
    assert!(other.file(".git/hooks/pre-commit.legacy").exists());
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n").install();
    repo.write("a", "1").stage(&["a"]);
    let mark = repo.home().join("other-legacy-ran");
    let mut cmd = repo.command(&["hook", "pre-commit"]);
    cmd.env("PRECHECK_HOOKS_DIR", other.file(".git/hooks"))
        .env("MARK", &mark);
    let run = common::finish(&mut cmd, repo.path());
    run.expect_code(0);
    assert!(
        !mark.exists(),
        "the other repository's legacy hook ran\n{}",
        run.context
    );
    // In its own repository the same variable is honoured.
    other.write("b", "1").stage(&["b"]);
    let mut own = other.command(&["hook", "pre-commit"]);
    own.env("PRECHECK_HOOKS_DIR", other.file(".git/hooks"))
        .env("MARK", &mark);
    let run = common::finish(&mut own, other.path());
    assert_eq!(run.code, 7, "{}", run.context);
    assert!(mark.exists(), "{}", run.context);
}

/// `precheck shim` is what the exec shim's `#!` line runs; given anything
/// but a shim named after a hook, it says so and fails (exit 2).
#[test]
fn shim_refuses_what_is_not_an_installed_shim() {
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n").install();
    let run = repo.precheck(&["shim", "checks.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("checks.toml is not a precheck hook shim"),
        "{}",
        run.context
    );
    assert!(run.stderr.contains("precheck hook NAME"), "{}", run.context);
    std::fs::copy(
        repo.file(".git/hooks/pre-commit"),
        repo.file(".git/hooks/pre-comit"),
    )
    .unwrap();
    let run = repo.precheck(&["shim", ".git/hooks/pre-comit"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("is not named after a git hook"),
        "{}",
        run.context
    );
    let run = repo.precheck(&["shim", "no/such/pre-commit"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("cannot read the hook shim"),
        "{}",
        run.context
    );
}

#[test]
fn a_passing_hook_says_so_in_at_most_three_lines_and_the_table_on_request() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'true'\n[checks.test]\nrun = 'true'\n[checks.docs]\nrun = 'true'\nglob = '*.md'\n");
    repo.stage(&["checks.toml"]).commit("base").install();
    // An unstaged change too, so the set-aside line is among the three.
    repo.write("a", "1").stage(&["a"]).write("a", "1\n2\n");
    let commit = repo.git_try(&["commit", "-qm", "quiet"]);
    commit.expect_code(0);
    let lines: Vec<&str> = commit
        .stdout
        .lines()
        .chain(commit.stderr.lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(lines.len() <= 3, "{}", commit.context);
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("passed: 2 passed, 0 failed, 1 skipped"),
        "{}",
        commit.context
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("unstaged changes in 1 file")));
    // -v, or the setting, shows the table; `run` always does.
    let verbose = repo.precheck(&["hook", "pre-commit", "-v"]);
    assert!(
        verbose.stdout.contains("check  status"),
        "{}",
        verbose.context
    );
    let run = repo.precheck(&["run"]);
    assert!(run.stdout.contains("check  status"), "{}", run.context);
    repo.checks("[settings]\nhook_output = 'table'\n[checks.lint]\nrun = 'true'\n")
        .stage(&["checks.toml"]);
    let table = repo.precheck(&["hook", "pre-commit"]);
    assert!(table.stdout.contains("lint   passed"), "{}", table.context);
    // A failing hook shows everything.
    repo.checks("[checks.lint]\nrun = 'echo bad line; exit 1'\n")
        .stage(&["checks.toml"]);
    let failed = repo.precheck(&["hook", "pre-commit"]);
    failed.expect_code(1);
    assert!(failed.stdout.contains("bad line"), "{}", failed.context);
    assert!(
        failed.stdout.contains("check  status"),
        "{}",
        failed.context
    );
    repo.checks("[settings]\nhook_output = 'loud'\n")
        .stage(&["checks.toml"]);
    let bad = repo.precheck(&["hook", "pre-commit"]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains(
            "checks.toml:2:15: `hook_output` is \"brief\" (the default) or \"table\", not `loud`"
        ),
        "{}",
        bad.context
    );
}
