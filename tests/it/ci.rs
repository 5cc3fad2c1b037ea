//! CI: JUnit reports, job matrices and shards, GitHub Actions folding and
//! annotations, completions, and `doctor`.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{self, TestRepo};

/// Parses a JUnit document with Python's XML parser and returns what the
/// schema requires, as JSON: the suites, their cases, failures and skips.
fn parse_junit(xml: &str) -> serde_json::Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == "testsuites", root.tag
out = {"tests": int(root.get("tests")), "failures": int(root.get("failures")), "suites": []}
for suite in root.findall("testsuite"):
    s = {"name": suite.get("name"), "tests": int(suite.get("tests")), "failures": int(suite.get("failures")),
         "skipped": int(suite.get("skipped")), "time": float(suite.get("time")), "cases": []}
    for case in suite.findall("testcase"):
        c = {"name": case.get("name"), "classname": case.get("classname"), "time": float(case.get("time"))}
        f = case.find("failure")
        if f is not None:
            c["failure"] = {"message": f.get("message"), "type": f.get("type"), "text": f.text or ""}
        if case.find("skipped") is not None:
            c["skipped"] = case.find("skipped").get("message")
        s["cases"].append(c)
    out["suites"].append(s)
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not valid JUnit XML:\n{xml}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn junit_report_parses_back_with_one_case_per_check() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.ok]\nrun = 'true'\n\
         [checks.bad]\nrun = 'echo \"<tag> & \\\"quotes\\\" \\x01\"; exit 2'\n\
         [checks.docs]\nrun = 'true'\nglob = '*.md'\n",
    );
    let run = repo.precheck(&["run", "--format", "junit"]);
    run.expect_code(1);
    assert!(run.stderr.is_empty(), "{}", run.context);
    let doc = parse_junit(&run.stdout);
    assert_eq!(doc["tests"], 3);
    assert_eq!(doc["failures"], 1);
    let suite = &doc["suites"][0];
    assert_eq!(suite["skipped"], 1);
    let cases = suite["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[0]["name"], "ok");
    assert!(cases[0].get("failure").is_none());
    let bad = &cases[1]["failure"];
    assert_eq!(bad["message"], "failed (exit 2)");
    assert_eq!(bad["type"], "failed");
    assert!(
        bad["text"].as_str().unwrap().contains("<tag> & \"quotes\""),
        "{doc}"
    );
    assert_eq!(cases[2]["skipped"], "skipped: no files");
}

fn matrix_repo() -> TestRepo {
    let repo = TestRepo::new();
    let mut toml = String::new();
    for (name, needs) in [
        ("build", ""),
        ("test", "build"),
        ("lint", ""),
        ("fmt", ""),
        ("docs", ""),
        ("bench", "build"),
    ] {
        toml.push_str(&format!(
            "[checks.{name}]\nrun = 'echo {name} >> ran.log'\ncache = false\n"
        ));
        if !needs.is_empty() {
            toml.push_str(&format!("needs = ['{needs}']\n"));
        }
    }
    repo.checks(&toml);
    repo
}

#[test]
fn matrix_and_shards_cover_every_check_exactly_once() {
    let repo = matrix_repo();
    let run = repo.precheck(&["ci", "matrix", "--all", "--shards", "3"]);
    run.expect_code(0);
    let doc = run.json();
    let include = doc["include"].as_array().unwrap();
    assert_eq!(include.len(), 3);
    assert_eq!(doc["shard"], serde_json::json!(["1/3", "2/3", "3/3"]));
    let mut seen = Vec::new();
    for entry in include {
        let shard = entry["shard"].as_str().unwrap();
        let listed: BTreeSet<String> = entry["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        // A job never waits for another: build, test and bench stay together.
        let together = ["build", "test", "bench"].map(String::from);
        let has = together.iter().filter(|c| listed.contains(*c)).count();
        assert!(has == 0 || has == 3, "{shard}: {listed:?}");
        let _ = std::fs::remove_file(repo.file("ran.log"));
        // Each CI job starts from a fresh clone: no durations recorded, the
        // same as when the matrix was made (the split depends on them).
        let _ = std::fs::remove_file(repo.file(".git/precheck/history.json"));
        repo.precheck(&["run", "--all", "--shard", shard, "-q"])
            .expect_code(0);
        let ran: BTreeSet<String> = repo.read("ran.log").lines().map(String::from).collect();
        assert_eq!(ran, listed, "shard {shard} runs what the matrix says");
        seen.extend(listed);
    }
    seen.sort();
    assert_eq!(
        seen,
        ["bench", "build", "docs", "fmt", "lint", "test"],
        "each check exactly once"
    );
    // By default one job per group.
    let default = repo.precheck(&["ci", "matrix", "--all"]).json();
    assert_eq!(default["include"].as_array().unwrap().len(), 4);
    repo.precheck(&["run", "--shard", "4/3"]).expect_code(2);
}

#[test]
fn github_actions_gets_groups_and_error_annotations() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'echo lint-output; exit 1'\n[checks.ok]\nrun = 'true'\n");
    let mut cmd = repo.command(&["run"]);
    cmd.env("GITHUB_ACTIONS", "true").env("CI", "true");
    let run = common::finish(&mut cmd, repo.path());
    run.expect_code(1);
    let out = &run.stdout;
    let error = out
        .find("::error title=precheck%3A lint::failed (exit 1)")
        .expect(out);
    let group = out.find("::group::── lint failed (exit 1)").expect(out);
    let body = out.find("lint-output").unwrap();
    let end = out.find("::endgroup::").unwrap();
    assert!(error < group && group < body && body < end, "{out}");
    assert!(!out.contains('\x1b'), "no colour in CI");
    assert!(!out.contains("::group::── ok"), "only failures are folded");
}

#[test]
fn completions_for_three_shells() {
    let repo = TestRepo::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = repo.precheck(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("precheck"), "{shell}");
        for sub in ["install", "tasks", "matrix"] {
            assert!(run.stdout.contains(sub), "{shell} completes {sub}");
        }
    }
    repo.precheck(&["completions", "tcsh"]).expect_code(2);
}

#[test]
fn doctor_finds_problems_and_says_all_good_when_fixed() {
    let repo = TestRepo::new();
    repo.checks("[checks.lint]\nrun = 'no-such-linter-q1 {files}'\n[checks.ok]\nrun = ['true']\n");
    let run = repo.precheck(&["doctor"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("FAIL  check `lint`: program `no-such-linter-q1` not found"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("FAIL  hook pre-commit: not installed"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("ok    check `ok`: `true` is"),
        "{}",
        run.context
    );
    repo.checks("[checks.ok]\nrun = ['true']\n");
    repo.install();
    let run = repo.precheck(&["doctor"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("ok    hook pre-commit: installed, calls this precheck"),
        "{}",
        run.context
    );
    assert!(run.stdout.contains("all good"), "{}", run.context);
}

#[test]
fn doctor_names_the_binary_the_hooks_run_when_it_is_not_this_one() {
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = ['true']\n");
    // Hooks installed by another copy of precheck.
    let other = repo.home().join("other-precheck");
    std::fs::copy(crate::common::BIN, &other).unwrap();
    let mut cmd = std::process::Command::new(&other);
    cmd.args(["install"]).current_dir(repo.path());
    crate::common::clean_env(&mut cmd, repo.home());
    crate::common::finish(&mut cmd, repo.path()).expect_code(0);
    let this = std::fs::canonicalize(crate::common::BIN).unwrap();
    let run = repo.precheck(&["doctor"]);
    run.expect_code(1);
    let want = format!(
        "hook pre-commit: installed but runs {} (another binary), not this precheck ({})",
        std::fs::canonicalize(&other).unwrap().display(),
        this.display()
    );
    assert!(run.stdout.contains(&want), "want {want}\n{}", run.context);
    std::fs::remove_file(&other).unwrap();
    let run = repo.precheck(&["doctor"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("(a binary that is not there any more)"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("run `precheck install`"),
        "{}",
        run.context
    );
}

#[test]
fn verbose_says_why_and_junit_is_refused_where_it_means_nothing() {
    let repo = TestRepo::new();
    repo.checks("[checks.docs]\nrun = 'true'\nglob = '*.md'\n[checks.push]\nrun = 'true'\nhooks = ['pre-push']\n");
    let run = repo.precheck(&["run", "-v"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("precheck: docs: skipped: no files"),
        "{}",
        run.context
    );
    assert!(
        run.stderr
            .contains("precheck: push: not a pre-commit check"),
        "{}",
        run.context
    );
    let list = repo.precheck(&["list", "--format", "junit"]);
    list.expect_code(2);
    assert!(
        list.stderr
            .contains("invalid value 'junit' for '--format <FORMAT>'")
            && list.stderr.contains("[possible values: human, json]"),
        "{}",
        list.context
    );
}

#[test]
fn colour_follows_no_color_and_clicolor_force() {
    let repo = TestRepo::new();
    repo.checks("[checks.bad]\nrun = 'exit 1'\n");
    let mut forced = repo.command(&["run"]);
    forced.env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1");
    let run = common::finish(&mut forced, repo.path());
    assert!(
        run.stdout.contains('\x1b'),
        "CLICOLOR_FORCE colours even when piped\n{}",
        run.context
    );
    let mut plain = repo.command(&["run"]);
    plain.env("NO_COLOR", "1").env("CLICOLOR_FORCE", "1");
    let run = common::finish(&mut plain, repo.path());
    assert!(
        !run.stdout.contains('\x1b'),
        "NO_COLOR wins\n{}",
        run.context
    );
}

#[test]
fn install_says_what_it_chains_under_husky() {
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n");
    repo.write(
        ".husky/_/pre-commit",
        "#!/usr/bin/env sh\n. \"$(dirname \"$0\")/husky.sh\"\n",
    );
    repo.git(&["config", "core.hooksPath", ".husky/_"]);
    let run = repo.precheck(&["install"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("core.hooksPath points at"),
        "{}",
        run.context
    );
    assert!(run.stdout.contains("(husky)"), "{}", run.context);
    assert!(
        run.stdout.contains("kept husky's hook as"),
        "{}",
        run.context
    );
    assert!(repo.file(".husky/_/pre-commit.legacy").exists());
}
