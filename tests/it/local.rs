//! checks.local.toml laid over checks.toml (turning checks off, changing
//! settings and keys, adding checks; its errors; it staying untracked; the
//! cache), and `skip`/`only` conditions decided in a real merge, a real
//! rebase, on a branch and with a variable set, with their reasons in
//! `list`, the run's table and JSON.

use crate::common::{self, Run, TestRepo};

/// A check that leaves `NAME.ran` behind when it runs (never cached, so
/// that each run it is decided to run, it does).
fn marking(name: &str, extra: &str) -> String {
    format!("[checks.{name}]\nrun = 'touch {name}.ran'\ncache = false\n{extra}\n")
}

fn ran(repo: &TestRepo, name: &str) -> bool {
    repo.file(format!("{name}.ran")).exists()
}

/// Forgets which checks ran.
fn clear(repo: &TestRepo, names: &[&str]) {
    for n in names {
        let _ = std::fs::remove_file(repo.file(format!("{n}.ran")));
    }
}

/// The line of `text` that starts with `name` and a space (a table row or
/// a list heading), with its spaces run together.
#[track_caller]
fn row(run: &Run, text: &str, name: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| panic!("no line for `{name}`\n{}", run.context))
}

/// A repository whose checks.toml is committed (hooks read it staged),
/// with markers of checks that ran ignored.
fn repo_with(checks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(checks)
        .write(".gitignore", "*.ran\nchecks.local.toml\n")
        .stage(&["checks.toml", ".gitignore"])
        .commit("checks");
    repo
}

#[test]
fn a_local_file_turns_a_check_off_in_run_and_hook_and_its_dependents_run() {
    let repo = repo_with(&format!(
        "{}{}",
        marking("lint", ""),
        marking("test", "needs = ['lint']")
    ));
    repo.write("checks.local.toml", "[checks.lint]\nskip = true\n");
    let run = repo.precheck(&["run"]);
    run.expect_code(0);
    assert!(!ran(&repo, "lint") && ran(&repo, "test"), "{}", run.context);
    assert_eq!(
        row(&run, &run.stdout, "lint"),
        "lint skipped: off in checks.local.toml",
        "{}",
        run.context
    );
    clear(&repo, &["lint", "test"]);
    repo.install();
    repo.write("a.txt", "a").stage(&["a.txt"]);
    let commit = repo.git_try(&["commit", "-qm", "a"]);
    commit.expect_code(0);
    assert!(
        !ran(&repo, "lint") && ran(&repo, "test"),
        "{}",
        commit.context
    );
    assert!(
        format!("{}{}", commit.stdout, commit.stderr)
            .contains("skipped: lint (off in checks.local.toml)"),
        "a passing hook names what it skipped\n{}",
        commit.context
    );
    // Without the local file, the check is back.
    std::fs::remove_file(repo.file("checks.local.toml")).unwrap();
    clear(&repo, &["lint", "test"]);
    repo.precheck(&["run"]).expect_code(0);
    assert!(ran(&repo, "lint"));
}

#[test]
fn a_local_file_adds_a_check_that_blocks_a_commit() {
    let repo = repo_with(&marking("shared", ""));
    repo.write(
        "checks.local.toml",
        "[checks.mine]\nrun = 'touch mine.ran; echo mine-says-no; exit 1'\n",
    );
    repo.install();
    repo.write("a.txt", "a").stage(&["a.txt"]);
    let commit = repo.git_try(&["commit", "-qm", "a"]);
    assert_ne!(commit.code, 0, "{}", commit.context);
    assert!(
        ran(&repo, "shared") && ran(&repo, "mine"),
        "{}",
        commit.context
    );
    assert!(commit.stderr.contains("mine-says-no"), "{}", commit.context);
    let list = repo.precheck(&["list"]);
    list.expect_code(0);
    assert!(
        list.stdout.contains("\nmine  runs on every run of its hook\n  run     touch mine.ran; echo mine-says-no; exit 1\n  hooks   pre-commit\n  memory  512MiB (default)\n  local   added in checks.local.toml\n"),
        "{}",
        list.context
    );
    let doc = list_json(&repo);
    assert_eq!(check_of(&doc, "mine")["local"]["added"], true);
    assert_eq!(check_of(&doc, "shared")["local"], serde_json::Value::Null);
}

fn list_json(repo: &TestRepo) -> serde_json::Value {
    let run = repo.precheck(&["list", "--format", "json"]);
    run.expect_code(0);
    run.json()
}

fn check_of(doc: &serde_json::Value, name: &str) -> serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no check `{name}` in {doc}"))
}

#[test]
fn a_local_file_changes_settings_and_keys_and_list_says_so() {
    let repo = repo_with(
        "[settings]\njobs = 4\nmemory = '1GiB'\n\n[checks.big]\nrun = 'true'\nmemory = '100MiB'\n\n[checks.small]\nrun = 'true'\n",
    );
    repo.write(
        "checks.local.toml",
        "[settings]\njobs = 1\nmemory = '2GiB'\n\n[checks.big]\nmemory = '300MiB'\ntimeout = '5s'\n",
    );
    let list = repo.precheck(&["list"]);
    list.expect_code(0);
    assert_eq!(
        list.stdout.lines().next().unwrap(),
        "2 checks in checks.toml and checks.local.toml (which sets jobs, memory); jobs 1, memory cap 2GiB, default memory 512MiB",
        "{}",
        list.context
    );
    assert!(
        list.stdout.contains(
            "  memory  300MiB (declared)\n  local   memory, timeout from checks.local.toml\n"
        ),
        "{}",
        list.context
    );
    let doc = list_json(&repo);
    assert_eq!(doc["settings"]["jobs"], 1);
    assert_eq!(doc["settings"]["memory_cap_bytes"], 2u64 << 30);
    assert_eq!(doc["local"]["path"], "checks.local.toml");
    assert_eq!(
        doc["local"]["settings"],
        serde_json::json!(["jobs", "memory"])
    );
    let big = check_of(&doc, "big");
    assert_eq!(big["memory_bytes"], 300u64 << 20);
    assert_eq!(big["timeout_ms"], 5000);
    assert_eq!(
        big["local"],
        serde_json::json!({"added": false, "keys": ["memory", "timeout"]})
    );
    assert_eq!(check_of(&doc, "small")["local"], serde_json::Value::Null);
}

#[test]
fn an_error_in_the_local_file_points_into_it_in_run_and_hook() {
    let repo = repo_with("[checks.a]\nrun = 'true'\n\n[checks.b]\nrun = 'true'\n");
    repo.write(
        "checks.local.toml",
        "# mine\n[checks.b]\nmemory = '1GiB'\nskip = ['merg']\n",
    );
    let expected = "error: checks.local.toml:4:9: check `b`: `skip`: unknown condition `merg`; a condition is \"merge\", \"rebase\", { branch = \"NAME\" } or { env = \"VAR\" }\n  |\n4 | skip = ['merg']\n  |         ^^^^^^\n";
    for args in [&["run"][..], &["hook", "pre-commit"], &["list"]] {
        let run = repo.precheck(args);
        run.expect_code(2);
        assert_eq!(run.stderr, expected, "{}", run.context);
    }
    // A check it adds must be whole.
    repo.write("checks.local.toml", "\n[checks.new]\nglob = '*.rs'\n");
    let run = repo.precheck(&["run"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(
            "error: checks.local.toml:2:1: check `new` has no `run`; add `run = \"command\"`\n"
        ),
        "{}",
        run.context
    );
    // A syntax error, and an error in checks.toml, say their own file.
    repo.write("checks.local.toml", "[checks.b\n");
    let run = repo.precheck(&["list"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: checks.local.toml:1:10: unclosed table, expected `]`\n"),
        "{}",
        run.context
    );
}

#[test]
fn skip_and_only_errors_in_checks_toml_point_at_the_condition() {
    let repo = TestRepo::new();
    for (toml, expected) in [
        (
            "[checks.a]\nrun = 'true'\nskip = 'merge'\n",
            "error: checks.toml:3:8: a list is expected: write [\"merge\"]; `skip` is true, or a list of conditions like [\"merge\", \"rebase\", { branch = \"main\" }, { env = \"CI\" }] (`only` takes the same list)\n  |\n3 | skip = 'merge'\n  |        ^^^^^^^\n",
        ),
        (
            "[checks.a]\nrun = 'true'\nonly = [{ branch = 3 }]\n",
            "error: checks.toml:3:9: check `a`: `only`: `branch` is a name or a list of names (globs like \"release/*\" too), not integer; a condition is \"merge\", \"rebase\", { branch = \"NAME\" } or { env = \"VAR\" }\n  |\n3 | only = [{ branch = 3 }]\n  |         ^^^^^^^^^^^^^^\n",
        ),
        (
            "[checks.a]\nrun = 'true'\nonly = true\n",
            "error: checks.toml:3:8: check `a`: `only` takes a list of conditions, like [{ branch = \"main\" }]; to turn the check off, write `skip = true`\n  |\n3 | only = true\n  |        ^^^^\n",
        ),
        (
            "[checks.a]\nrun = 'true'\nskip = [{ env = 'CI', branch = 'main' }]\n",
            "error: checks.toml:3:9: check `a`: `skip`: a table holds one condition, not 2: write each as an element of its own; a condition is \"merge\", \"rebase\", { branch = \"NAME\" } or { env = \"VAR\" }\n  |\n3 | skip = [{ env = 'CI', branch = 'main' }]\n  |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
        ),
    ] {
        repo.checks(toml);
        let run = repo.precheck(&["run"]);
        run.expect_code(2);
        assert_eq!(run.stderr, expected, "{}", run.context);
    }
}

#[test]
fn a_tracked_local_file_is_warned_about_and_doctor_says_so() {
    let repo = repo_with(&marking("a", ""));
    repo.write("checks.local.toml", "[checks.a]\ntimeout = '1m'\n");
    let list = repo.precheck(&["list"]);
    assert!(!list.stderr.contains("tracked"), "{}", list.context);
    repo.git(&["add", "-f", "checks.local.toml"]);
    let warning = "warning: checks.local.toml is tracked by git, so everyone gets it; it is meant to be yours alone: `git rm --cached checks.local.toml` and add it to .gitignore";
    let list = repo.precheck(&["list"]);
    list.expect_code(0);
    assert!(list.stderr.contains(warning), "{}", list.context);
    let hook = repo.precheck(&["hook", "pre-commit"]);
    hook.expect_code(0);
    assert!(hook.stderr.contains(warning), "{}", hook.context);
    let doctor = repo.precheck(&["doctor"]);
    let all = format!("{}{}", doctor.stdout, doctor.stderr);
    assert!(
        all.contains("checks.local.toml is tracked by git"),
        "{}",
        doctor.context
    );
}

#[test]
fn a_pass_cached_under_checks_toml_is_not_reused_when_the_local_file_changes_the_check() {
    let repo = repo_with("[checks.x]\nrun = 'test \"$X\" = 1'\nenv = { X = '1' }\n");
    let first = repo.precheck(&["run", "--format", "json"]);
    first.expect_code(0);
    assert_eq!(first.check("x")["status"], "passed");
    let again = repo.precheck(&["run", "--format", "json"]);
    assert_eq!(again.check("x")["status"], "cached", "{}", again.context);
    repo.write("checks.local.toml", "[checks.x]\nenv = { X = '2' }\n");
    let local = repo.precheck(&["run", "--format", "json"]);
    local.expect_code(1);
    assert_eq!(local.check("x")["status"], "failed", "{}", local.context);
    std::fs::remove_file(repo.file("checks.local.toml")).unwrap();
    let back = repo.precheck(&["run", "--format", "json"]);
    assert_eq!(back.check("x")["status"], "cached", "{}", back.context);
}

/// A repository on `main` with `f.txt` changed one way on `main` and
/// another on `feature`, both after the commit that holds checks.toml.
fn diverged(checks: &str) -> TestRepo {
    let repo = repo_with(checks);
    repo.write("f.txt", "base\n")
        .stage(&["f.txt"])
        .commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("f.txt", "feature\n")
        .stage(&["f.txt"])
        .commit("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("f.txt", "main\n")
        .stage(&["f.txt"])
        .commit("main");
    repo
}

#[test]
fn skip_and_only_merge_in_a_real_conflicting_merge_in_run_and_hook() {
    let repo = diverged(&format!(
        "{}{}{}",
        marking("no_merge", "skip = ['merge']"),
        marking("merge_only", "only = ['merge']"),
        marking("always", "needs = ['no_merge']")
    ));
    let names = ["no_merge", "merge_only", "always"];
    let merge = repo.git_try(&["merge", "--no-edit", "feature"]);
    assert_ne!(merge.code, 0, "the merge conflicts\n{}", merge.context);
    assert!(repo.file(".git/MERGE_HEAD").exists());
    let run = repo.precheck(&["run", "--all"]);
    run.expect_code(0);
    assert!(
        !ran(&repo, "no_merge") && ran(&repo, "merge_only") && ran(&repo, "always"),
        "{}",
        run.context
    );
    assert_eq!(
        row(&run, &run.stdout, "no_merge"),
        "no_merge skipped: during a merge"
    );
    // The commit that concludes the merge runs its hook during the merge.
    clear(&repo, &names);
    repo.install();
    repo.write("f.txt", "both\n").stage(&["f.txt"]);
    let commit = repo.git_try(&["commit", "--no-edit"]);
    commit.expect_code(0);
    assert!(
        !ran(&repo, "no_merge") && ran(&repo, "merge_only") && ran(&repo, "always"),
        "{}",
        commit.context
    );
    // After it, the other way round.
    assert!(!repo.file(".git/MERGE_HEAD").exists());
    clear(&repo, &names);
    let run = repo.precheck(&["run", "--all"]);
    run.expect_code(0);
    assert!(ran(&repo, "no_merge") && !ran(&repo, "merge_only"));
    assert_eq!(
        row(&run, &run.stdout, "merge_only"),
        "merge_only skipped: only during a merge"
    );
}

#[test]
fn a_clean_merge_is_a_merge_to_its_pre_merge_commit_hook() {
    // git runs pre-merge-commit before it writes MERGE_HEAD.
    let repo = repo_with(&format!(
        "{}{}",
        marking("no_merge", "skip = ['merge']"),
        marking("merge_only", "only = ['merge']")
    ));
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("g.txt", "g\n").stage(&["g.txt"]).commit("g");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("h.txt", "h\n").stage(&["h.txt"]).commit("h");
    repo.install();
    let merge = repo.git_try(&["merge", "--no-edit", "feature"]);
    merge.expect_code(0);
    assert!(
        !ran(&repo, "no_merge") && ran(&repo, "merge_only"),
        "{}",
        merge.context
    );
}

#[test]
fn skip_and_only_rebase_in_a_real_rebase_stopped_on_a_conflict() {
    let repo = diverged(&format!(
        "{}{}{}",
        marking("no_rebase", "skip = ['rebase']"),
        marking("rebase_only", "only = ['rebase']"),
        marking("not_on_feature", "skip = [{ branch = 'feature' }]")
    ));
    let names = ["no_rebase", "rebase_only", "not_on_feature"];
    repo.git(&["checkout", "-q", "feature"]);
    let rebase = repo.git_try(&["rebase", "main"]);
    assert_ne!(rebase.code, 0, "the rebase stops\n{}", rebase.context);
    assert!(repo.file(".git/rebase-merge").is_dir() || repo.file(".git/rebase-apply").is_dir());
    let run = repo.precheck(&["run", "--all"]);
    run.expect_code(0);
    assert!(
        !ran(&repo, "no_rebase") && ran(&repo, "rebase_only") && !ran(&repo, "not_on_feature"),
        "{}",
        run.context
    );
    assert_eq!(
        row(&run, &run.stdout, "no_rebase"),
        "no_rebase skipped: during a rebase"
    );
    // HEAD is detached; the branch is the one being rebased.
    assert_eq!(
        row(&run, &run.stdout, "not_on_feature"),
        "not_on_feature skipped: on branch feature"
    );
    // A commit made while the rebase is stopped runs its hook during it.
    clear(&repo, &names);
    repo.install();
    repo.write("f.txt", "both\n").stage(&["f.txt"]);
    let commit = repo.git_try(&["commit", "-qm", "resolved"]);
    commit.expect_code(0);
    assert!(
        !ran(&repo, "no_rebase") && ran(&repo, "rebase_only"),
        "{}",
        commit.context
    );
    let mut cont = repo.git_command(&["rebase", "--continue"]);
    cont.env("GIT_EDITOR", "true");
    let cont = common::finish(&mut cont, repo.path());
    cont.expect_code(0);
    clear(&repo, &names);
    let run = repo.precheck(&["run", "--all"]);
    run.expect_code(0);
    assert!(ran(&repo, "no_rebase") && !ran(&repo, "rebase_only"));
    assert_eq!(
        row(&run, &run.stdout, "rebase_only"),
        "rebase_only skipped: only during a rebase"
    );
}

#[test]
fn skip_and_only_on_branches_with_names_and_globs() {
    let repo = repo_with(&format!(
        "{}{}",
        marking("not_main", "skip = [{ branch = 'main' }]"),
        marking(
            "release_only",
            "only = [{ branch = ['release/*', 'hotfix'] }]"
        )
    ));
    let names = ["not_main", "release_only"];
    let run = repo.precheck(&["run"]);
    run.expect_code(0);
    assert!(!ran(&repo, "not_main") && !ran(&repo, "release_only"));
    assert_eq!(
        row(&run, &run.stdout, "not_main"),
        "not_main skipped: on branch main"
    );
    assert_eq!(
        row(&run, &run.stdout, "release_only"),
        "release_only skipped: only on branch release/* or hotfix"
    );
    for branch in ["release/1.2", "hotfix"] {
        repo.git(&["checkout", "-q", "-b", branch]);
        clear(&repo, &names);
        repo.precheck(&["run"]).expect_code(0);
        assert!(
            ran(&repo, "not_main") && ran(&repo, "release_only"),
            "on {branch}"
        );
    }
    // A `*` stays within one part of the name.
    repo.git(&["checkout", "-q", "-b", "release/2/fix"]);
    clear(&repo, &names);
    repo.precheck(&["run"]).expect_code(0);
    assert!(ran(&repo, "not_main") && !ran(&repo, "release_only"));
}

#[test]
fn skip_and_only_env_and_the_reason_in_list_run_json_and_hook() {
    let repo = repo_with(&format!(
        "{}{}{}",
        marking("no_ci", "skip = [{ env = 'CI' }]"),
        marking("ci_only", "only = [{ env = 'CI' }]"),
        marking("after", "needs = ['no_ci']")
    ));
    let names = ["no_ci", "ci_only", "after"];
    let with = |value: &str, args: &[&str]| {
        let mut cmd = repo.command(args);
        cmd.env("CI", value);
        common::finish(&mut cmd, repo.path())
    };
    // Unset, or set to nothing.
    for value in [None, Some("")] {
        let run = match value {
            None => repo.precheck(&["run"]),
            Some(v) => with(v, &["run"]),
        };
        run.expect_code(0);
        assert!(
            ran(&repo, "no_ci") && !ran(&repo, "ci_only"),
            "{}",
            run.context
        );
        assert_eq!(
            row(&run, &run.stdout, "ci_only"),
            "ci_only skipped: only when CI is set"
        );
        clear(&repo, &names);
    }
    let run = with("true", &["run"]);
    run.expect_code(0);
    assert!(
        !ran(&repo, "no_ci") && ran(&repo, "ci_only") && ran(&repo, "after"),
        "a skipped need holds nothing back\n{}",
        run.context
    );
    assert_eq!(row(&run, &run.stdout, "no_ci"), "no_ci skipped: CI is set");
    assert!(
        run.stdout
            .contains("passed: 2 passed, 0 failed, 1 skipped in"),
        "{}",
        run.context
    );
    let json = with("true", &["run", "--format", "json"]);
    json.expect_code(0);
    let entry = json.check("no_ci");
    assert_eq!(entry["status"], "skipped_by_condition", "{}", json.context);
    assert_eq!(entry["detail"], "CI is set", "{}", json.context);
    let list = with("true", &["list"]);
    list.expect_code(0);
    assert_eq!(
        row(&list, &list.stdout, "no_ci"),
        "no_ci skipped: CI is set"
    );
    let list = with("true", &["list", "--format", "json"]);
    let no_ci = check_of(&list.json(), "no_ci");
    assert_eq!(no_ci["decision"], "skipped_by_condition");
    assert_eq!(no_ci["reason"], "skipped: CI is set");
    let hook = with("true", &["hook", "pre-commit"]);
    hook.expect_code(0);
    assert!(
        hook.stdout.contains("skipped: no_ci (CI is set)\n"),
        "{}",
        hook.context
    );
}
