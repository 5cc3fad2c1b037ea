//! Whole-output snapshots of the main screens, exactly as a person sees them:
//! `precheck run` passing and failing, a commit blocked by the hook, `list`
//! (human and JSON), `run --format json`, a background run through `wait`
//! and `tasks`, and `doctor`. A screen is the exit status, stdout and stderr,
//! whole. Only what differs from one run to the next is replaced, by a
//! bracketed placeholder: times, memory and disk figures, run ids, pids,
//! dates and the temporary paths; everything else, spacing included, is
//! pinned.
//!
//! The checks run one at a time (`jobs = 1`), so that the progress lines on
//! stderr come in one order, and `memory` is set, so that nothing depends on
//! the machine's size.

use regex::{Captures, Regex};

use crate::common::{Run, TestRepo};

/// Durations as precheck writes them for people: `250ms`, `1.5s`, `2m05s`, `1h02m`.
const DURATION: &str = r"\d+ms|\d+\.\d+s|\d+m\d{2}s|\d+h\d{2}m";
/// Sizes as precheck writes them for people: `512B`, `3.4MiB`, `2GiB`.
const SIZE: &str = r"\d+(?:\.\d)?(?:B|KiB|MiB|GiB)";

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap()
}

/// Replaces each `pattern` with `placeholder`. In a column (a space follows),
/// the placeholder is padded to the width of what it replaces, so that the
/// columns after it stay where they were.
fn fixed_width(text: &str, pattern: &str, placeholder: &str) -> String {
    let re = re(&format!("(?:{pattern})( ?)"));
    re.replace_all(text, |c: &Captures| {
        let width = c[0].len() - c[1].len();
        if c[1].is_empty() {
            placeholder.to_string()
        } else {
            format!("{placeholder:width$} ")
        }
    })
    .into_owned()
}

/// Replaces each `pattern` with `placeholder`. Right-aligned in a column (two
/// spaces or more before it), the placeholder keeps the same right edge.
fn right_aligned(text: &str, pattern: &str, placeholder: &str) -> String {
    let re = re(&format!(r"( *)\b(?:{pattern})\b"));
    re.replace_all(text, |c: &Captures| {
        if c[1].len() >= 2 {
            let width = c[0].len().max(placeholder.len() + 2);
            format!("{placeholder:>width$}")
        } else {
            format!("{}{placeholder}", &c[1])
        }
    })
    .into_owned()
}

/// What varies from run to run, replaced by placeholders.
fn normalize(repo: &TestRepo, text: &str) -> String {
    let mut paths = Vec::new();
    for (path, name) in [(repo.path(), "[REPO]"), (repo.home(), "[HOME]")] {
        paths.push((path.to_path_buf(), name));
        if let Ok(real) = path.canonicalize() {
            paths.push((real, name));
        }
    }
    // The longer spelling first, should one contain the other.
    paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.as_os_str().len()));
    let mut s = text.to_string();
    for (path, name) in &paths {
        s = s.replace(path.to_str().unwrap(), name);
    }
    // A run id is a UTC stamp and a pid: 20261201-162235-12055.
    s = re(r"\b\d{8}-\d{6}-\d+\b")
        .replace_all(&s, "[RUN]")
        .into_owned();
    // The ID column of `tasks` is as wide as the longest id.
    s = re(r"(?m)^(ID|\[RUN\]) +")
        .replace_all(&s, |c: &Captures| format!("{:7}", &c[1]))
        .into_owned();
    s = re(r"\(pid \d+\)")
        .replace_all(&s, "(pid [PID])")
        .into_owned();
    s = re(r#""pid": \d+"#)
        .replace_all(&s, r#""pid": [PID]"#)
        .into_owned();
    s = fixed_width(
        &s,
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?",
        "[DATE]",
    );
    s = right_aligned(&s, DURATION, "[TIME]");
    // A table row ends with the measured peak, or `-` when none was taken.
    s = re(&format!(r"(?m)\[TIME\]( +(?:-|{SIZE}))$"))
        .replace_all(&s, |c: &Captures| {
            let width = c[1].len().max("[MEM]".len() + 2);
            format!("[TIME]{:>width$}", "[MEM]")
        })
        .into_owned();
    s = re(&format!("peak memory {SIZE}"))
        .replace_all(&s, "peak memory [MEM]")
        .into_owned();
    s = re(&format!(r"(\d+ files?), {SIZE} in "))
        .replace_all(&s, "$1, [SIZE] in ")
        .into_owned();
    s = re(r#""((?:typical_)?duration_ms)": \d+"#)
        .replace_all(&s, r#""$1": [MS]"#)
        .into_owned();
    s = re(r#""peak_memory_bytes": \d+"#)
        .replace_all(&s, r#""peak_memory_bytes": [BYTES]"#)
        .into_owned();
    s
}

/// One screen: the exit status, then stdout and stderr whole.
fn screen(repo: &TestRepo, run: &Run) -> String {
    let stream = |name: &str, text: &str| {
        let mut s = format!("----- {name}\n{text}");
        if !text.is_empty() && !text.ends_with('\n') {
            s.push_str("[no newline at end]\n");
        }
        s
    };
    normalize(
        repo,
        &format!(
            "exit {}\n{}{}----- end\n",
            run.code,
            stream("stdout", &run.stdout),
            stream("stderr", &run.stderr)
        ),
    )
}

/// The placeholders keep every column in place whatever the figures: a
/// fast or a slow check, a peak measured or not, a pid of any length.
#[test]
fn placeholders_keep_the_columns() {
    let repo = TestRepo::new();
    let screen = |time: &str, mem: &str, peak: &str, id: &str| {
        let id_pad = " ".repeat(id.len() - 2);
        normalize(
            &repo,
            &format!(
                "check  status      time    memory\n\
                 fmt    passed  {time:>8}  {mem:>8}\n\
                 done in {time}, peak memory {peak} (run {id})\n\
                 ID{id_pad}  STARTED                   TIME\n\
                 {id}  2026-12-01 16:23:56   {time:>8}\n"
            ),
        )
    };
    let expected = "check  status      time    memory\n\
                    fmt    passed    [TIME]     [MEM]\n\
                    done in [TIME], peak memory [MEM] (run [RUN])\n\
                    ID     STARTED                   TIME\n\
                    [RUN]  [DATE]                  [TIME]\n";
    assert_eq!(screen("3ms", "-", "0B", "20261201-162356-7"), expected);
    assert_eq!(
        screen("12.5s", "3.4MiB", "3.4MiB", "20261201-162356-4194303"),
        expected
    );
    assert_eq!(
        screen("1h02m", "512B", "1GiB", "20261201-162356-31337"),
        expected
    );
}

const LINT_PASSES: &str = "echo linted";
const LINT_FAILS: &str = "echo \"a.txt:1: trailing space\"; echo \"1 problem\"; exit 1";

/// Three checks: `fmt` on .txt files, `lint` on every run, `docs` on .md
/// files (none staged, so skipped). `a.txt` is committed, then changed and
/// staged with a new `b.txt`.
fn project(lint: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(&format!(
        "[settings]\njobs = 1\nmemory = \"2GiB\"\n\n\
         [checks.fmt]\nrun = \"echo formatting {{files}}\"\nglob = \"*.txt\"\n\n\
         [checks.lint]\nrun = '{lint}'\n\n\
         [checks.docs]\nrun = \"true\"\nglob = \"*.md\"\n"
    ));
    repo.write("a.txt", "a\n").stage(&["."]).commit("base");
    repo.write("a.txt", "b\n")
        .write("b.txt", "new\n")
        .stage(&["a.txt", "b.txt"]);
    repo
}

#[test]
fn run_all_passing() {
    let repo = project(LINT_PASSES);
    let run = repo.precheck(&["run"]);
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 0
        ----- stdout

        check  status                 time    memory
        fmt    passed               [TIME]     [MEM]
        lint   passed               [TIME]     [MEM]
        docs   skipped: no files
        passed: 2 passed, 0 failed, 1 skipped in [TIME], peak memory [MEM] (run [RUN])
        ----- stderr
        start fmt
        pass  fmt passed [TIME]
        start lint
        pass  lint passed [TIME]
        ----- end
        ");
}

#[test]
fn run_with_one_failure() {
    let repo = project(LINT_FAILS);
    let run = repo.precheck(&["run"]);
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 1
        ----- stdout

        ── lint failed (exit 1) ────────────────────────────────────
        a.txt:1: trailing space
        1 problem
        (full log: [REPO]/.git/precheck/runs/[RUN]/logs/lint.log)

        check  status                 time    memory
        fmt    passed               [TIME]     [MEM]
        lint   failed (exit 1)      [TIME]     [MEM]
        docs   skipped: no files
        failed: 1 passed, 1 failed, 1 skipped in [TIME], peak memory [MEM] (run [RUN])
        ----- stderr
        start fmt
        pass  fmt passed [TIME]
        start lint
        FAIL  lint failed (exit 1) [TIME]
        ----- end
        ");
}

#[test]
fn run_json_with_one_failure() {
    let repo = project(LINT_FAILS);
    let run = repo.precheck(&["run", "--format", "json"]);
    insta::assert_snapshot!(screen(&repo, &run), @r#"
        exit 1
        ----- stdout
        {
          "version": 1,
          "status": "failed",
          "exit_code": 1,
          "duration_ms": [MS],
          "peak_memory_bytes": [BYTES],
          "run_id": "[RUN]",
          "checks": [
            {
              "name": "fmt",
              "status": "passed",
              "exit_code": 0,
              "signal": null,
              "duration_ms": [MS],
              "peak_memory_bytes": [BYTES],
              "log": "[REPO]/.git/precheck/runs/[RUN]/logs/fmt.log",
              "tail": "",
              "detail": null,
              "kind": "check"
            },
            {
              "name": "lint",
              "status": "failed",
              "exit_code": 1,
              "signal": null,
              "duration_ms": [MS],
              "peak_memory_bytes": [BYTES],
              "log": "[REPO]/.git/precheck/runs/[RUN]/logs/lint.log",
              "tail": "a.txt:1: trailing space\n1 problem",
              "detail": null,
              "kind": "check"
            },
            {
              "name": "docs",
              "status": "skipped_no_files",
              "exit_code": null,
              "signal": null,
              "duration_ms": [MS],
              "peak_memory_bytes": [BYTES],
              "log": null,
              "tail": "",
              "detail": null,
              "kind": "check"
            }
          ],
          "stashed_files": 0,
          "modified_files": [],
          "fix_conflicts": [],
          "fix_merged": [],
          "fix_patch": null
        }
        ----- stderr
        ----- end
        "#);
}

#[test]
fn commit_blocked_by_the_hook() {
    let repo = project(LINT_FAILS);
    repo.install();
    // An unstaged change, set aside while the checks run.
    repo.write("a.txt", "b\nunstaged\n");
    let run = repo.git_try(&["commit", "-m", "add b"]);
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 1
        ----- stdout
        ----- stderr

        ── lint failed (exit 1) ────────────────────────────────────
        a.txt:1: trailing space
        1 problem
        (full log: [REPO]/.git/precheck/runs/[RUN]/logs/lint.log)

        check  status                 time    memory
        fmt    passed               [TIME]     [MEM]
        lint   failed (exit 1)      [TIME]     [MEM]
        docs   skipped: no files
        unstaged changes in 1 file were set aside while the checks ran, and restored
        failed: 1 passed, 1 failed, 1 skipped in [TIME], peak memory [MEM] (run [RUN])
        ----- end
        ");
}

/// Checks that show every reason the plan gives and every line `list` has.
fn planned() -> TestRepo {
    let repo = TestRepo::new();
    repo.checks(
        r#"[settings]
jobs = 2
memory = "4GiB"

[checks.fmt]
run = "rustfmt --check {files}"
glob = "*.rs"
exclude = "vendor/**"
fix = true

[checks.clippy]
run = ["cargo", "clippy", "--", "-D", "warnings"]
glob = ["*.rs", "Cargo.toml"]
needs = ["fmt"]
memory = "1.5GiB"
timeout = "10m"

[checks.docs]
run = "mdlint {files}"
glob = "*.md"

[checks.secrets]
run = "! grep -n SECRET {files}"

[checks.todo]
run = "! grep -n TODO {files}"

[checks.message]
run = "grep -q . {msg}"
hooks = ["commit-msg"]

[checks.bench]
run = "sh bench.sh"
hooks = ["manual"]
"#,
    );
    repo.write("src/main.rs", "fn main() {}\n")
        .write("vendor/dep.rs", "\n")
        .write("notes.txt", "\n")
        .stage(&["."]);
    repo
}

#[test]
fn list_with_every_reason() {
    let repo = planned();
    let mut cmd = repo.command(&["list"]);
    cmd.env("PRECHECK_SKIP", "todo");
    let run = crate::common::finish(&mut cmd, repo.path());
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 0
        ----- stdout
        7 checks in checks.toml; jobs 2, memory cap 4GiB, default memory 512MiB

        fmt  1 matching file
          run     rustfmt --check {files}
          hooks   pre-commit
          glob    *.rs
          exclude vendor/**
          memory  512MiB (default)

        clippy  2 matching files
          run     cargo clippy -- -D warnings
          hooks   pre-commit
          glob    *.rs, Cargo.toml
          needs   fmt
          memory  1.5GiB (declared)

        docs  skipped: no files
          run     mdlint {files}
          hooks   pre-commit
          glob    *.md
          memory  512MiB (default)

        secrets  4 matching files
          run     ! grep -n SECRET {files}
          hooks   pre-commit
          memory  512MiB (default)

        todo  skipped: PRECHECK_SKIP
          run     ! grep -n TODO {files}
          hooks   pre-commit
          memory  512MiB (default)

        message  not a pre-commit check
          run     grep -q . {msg}
          hooks   commit-msg
          memory  512MiB (default)

        bench  not a pre-commit check
          run     sh bench.sh
          hooks   manual
          memory  512MiB (default)
        ----- stderr
        ----- end
        ");
}

#[test]
fn list_json() {
    let repo = planned();
    let run = repo.precheck(&["list", "--format", "json"]);
    insta::assert_snapshot!(screen(&repo, &run), @r#"
        exit 0
        ----- stdout
        {
          "checks": [
            {
              "decision": "run",
              "dir": null,
              "exclude": [
                "vendor/**"
              ],
              "files": 1,
              "fix": true,
              "glob": [
                "*.rs"
              ],
              "hint": null,
              "hooks": [
                "pre-commit"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "fmt",
              "needs": [],
              "paths": [
                "src/main.rs"
              ],
              "reason": "1 matching file",
              "run": "rustfmt --check {files}",
              "timeout_ms": null,
              "typical_duration_ms": null
            },
            {
              "decision": "run",
              "dir": null,
              "exclude": [],
              "files": 2,
              "fix": false,
              "glob": [
                "*.rs",
                "Cargo.toml"
              ],
              "hint": null,
              "hooks": [
                "pre-commit"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 1610612736,
              "memory_declared": true,
              "memory_limit_bytes": null,
              "memory_source": "declared",
              "name": "clippy",
              "needs": [
                "fmt"
              ],
              "paths": [
                "src/main.rs",
                "vendor/dep.rs"
              ],
              "reason": "2 matching files",
              "run": "cargo clippy -- -D warnings",
              "timeout_ms": 600000,
              "typical_duration_ms": null
            },
            {
              "decision": "skipped_no_files",
              "dir": null,
              "exclude": [],
              "files": 0,
              "fix": false,
              "glob": [
                "*.md"
              ],
              "hint": null,
              "hooks": [
                "pre-commit"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "docs",
              "needs": [],
              "paths": [],
              "reason": "skipped: no files",
              "run": "mdlint {files}",
              "timeout_ms": null,
              "typical_duration_ms": null
            },
            {
              "decision": "run",
              "dir": null,
              "exclude": [],
              "files": 4,
              "fix": false,
              "glob": [],
              "hint": null,
              "hooks": [
                "pre-commit"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "secrets",
              "needs": [],
              "paths": [
                "checks.toml",
                "notes.txt",
                "src/main.rs",
                "vendor/dep.rs"
              ],
              "reason": "4 matching files",
              "run": "! grep -n SECRET {files}",
              "timeout_ms": null,
              "typical_duration_ms": null
            },
            {
              "decision": "run",
              "dir": null,
              "exclude": [],
              "files": 4,
              "fix": false,
              "glob": [],
              "hint": null,
              "hooks": [
                "pre-commit"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "todo",
              "needs": [],
              "paths": [
                "checks.toml",
                "notes.txt",
                "src/main.rs",
                "vendor/dep.rs"
              ],
              "reason": "4 matching files",
              "run": "! grep -n TODO {files}",
              "timeout_ms": null,
              "typical_duration_ms": null
            },
            {
              "decision": "not_in_hook",
              "dir": null,
              "exclude": [],
              "files": 0,
              "fix": false,
              "glob": [],
              "hint": null,
              "hooks": [
                "commit-msg"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "message",
              "needs": [],
              "paths": [],
              "reason": "not a pre-commit check",
              "run": "grep -q . {msg}",
              "timeout_ms": null,
              "typical_duration_ms": null
            },
            {
              "decision": "not_in_hook",
              "dir": null,
              "exclude": [],
              "files": 0,
              "fix": false,
              "glob": [],
              "hint": null,
              "hooks": [
                "manual"
              ],
              "local": null,
              "measured_max_bytes": null,
              "measured_median_bytes": null,
              "measured_runs": 0,
              "memory_bytes": 536870912,
              "memory_declared": false,
              "memory_limit_bytes": null,
              "memory_source": "default",
              "name": "bench",
              "needs": [],
              "paths": [],
              "reason": "not a pre-commit check",
              "run": "sh bench.sh",
              "timeout_ms": null,
              "typical_duration_ms": null
            }
          ],
          "hook": "pre-commit",
          "local": null,
          "settings": {
            "default_memory_bytes": 536870912,
            "fail_fast": false,
            "jobs": 2,
            "memory_cap_bytes": 4294967296,
            "output_lines": 200
          },
          "version": 1
        }
        ----- stderr
        ----- end
        "#);
}

#[test]
fn background_run_then_wait_and_tasks() {
    let repo = project(LINT_FAILS);
    let start = repo.precheck(&["run", "--background"]);
    insta::assert_snapshot!(screen(&repo, &start), @r"
        exit 0
        ----- stdout
        [RUN]
        ----- stderr
        started run [RUN] in the background (pid [PID])
          follow: precheck log --run [RUN] -f CHECK   (or without CHECK: its checks)
          wait:   precheck wait --run [RUN]
          stop:   precheck kill --run [RUN]
          list:   precheck tasks
        ----- end
        ");
    let id = start.stdout.trim();
    let wait = repo.precheck(&["wait", "--run", id]);
    insta::assert_snapshot!(screen(&repo, &wait), @r"
        exit 1
        ----- stdout
        run [RUN]: failed in [TIME]: 1 passed, 1 failed
          lint                 failed  (precheck log lint --run [RUN])
        ----- stderr
        ----- end
        ");
    let tasks = repo.precheck(&["tasks"]);
    insta::assert_snapshot!(screen(&repo, &tasks), @r"
        exit 0
        ----- stdout
        ID     TRIGGER     STATE        STARTED                   TIME  CHECKS
        [RUN]  run         failed       [DATE]                  [TIME]  1 passed, 1 failed
        ----- stderr
        ----- end
        ");
}

#[test]
fn doctor_all_good() {
    let repo = project(LINT_PASSES);
    repo.install();
    repo.precheck(&["run"]).expect_code(0);
    let run = repo.precheck(&["doctor"]);
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 0
        ----- stdout
        ok    repository: [REPO]
        ok    config: [REPO]/checks.toml (3 checks)
        ok    hook pre-commit: installed, calls this precheck
        ok    no unstaged changes left over from a crash
        info  cache: 2 passes, 1MiB in [REPO]/.git/precheck/cache
        info  run records: 6 files, [SIZE] in [REPO]/.git/precheck/runs

        all good
        ----- stderr
        ----- end
        ");
}

#[test]
fn doctor_with_problems() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.local]\nrun = './check.sh {files}'\n\
         [checks.missing]\nrun = 'no-such-linter {files}'\n\
         [checks.message]\nrun = 'test -s {msg}'\nhooks = ['commit-msg']\n",
    );
    repo.write("check.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        repo.file("check.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let run = repo.precheck(&["doctor"]);
    insta::assert_snapshot!(screen(&repo, &run), @r"
        exit 1
        ----- stdout
        ok    repository: [REPO]
        ok    config: [REPO]/checks.toml (3 checks)
        ok    check `local`: `./check.sh` is [REPO]/./check.sh
        FAIL  check `missing`: program `no-such-linter` not found (install it, or fix `run`)
        FAIL  hook pre-commit: not installed in [REPO]/.git/hooks; run `precheck install`
        FAIL  hook commit-msg: not installed in [REPO]/.git/hooks; run `precheck install`
        ok    no unstaged changes left over from a crash
        info  cache: 0 passes, 0B in [REPO]/.git/precheck/cache
        info  run records: 0 files, [SIZE] in [REPO]/.git/precheck/runs

        3 problems found
        ----- stderr
        ----- end
        ");
}
