//! `precheck run` end to end: the report (human and JSON), missing programs,
//! huge output, and the `list` command.

use crate::common::TestRepo;

#[test]
fn json_report_is_the_documented_contract() {
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\noutput_lines = 2\n\
         [checks.ok]\nrun = 'echo fine'\n\
         [checks.bad]\nrun = 'echo one; echo two; echo three; exit 4'\n\
         [checks.docs]\nrun = 'true'\nglob = '*.md'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    let doc = run.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["exit_code"], 1);
    assert!(doc["duration_ms"].is_u64());
    assert!(doc["peak_memory_bytes"].is_u64());
    let names: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ok", "bad", "docs"], "config order");
    let bad = run.check("bad");
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["exit_code"], 4);
    assert_eq!(bad["signal"], serde_json::Value::Null);
    assert_eq!(bad["tail"], "two\nthree");
    let log = bad["log"].as_str().unwrap();
    assert!(std::path::Path::new(log).is_absolute());
    assert_eq!(std::fs::read_to_string(log).unwrap(), "one\ntwo\nthree\n");
    assert_eq!(run.check("ok")["status"], "passed");
    assert_eq!(run.check("docs")["status"], "skipped_no_files");
    assert!(
        run.stderr.is_empty(),
        "JSON mode prints no progress\n{}",
        run.context
    );
}

#[test]
fn human_report_blocks_and_summary() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.alpha]\nrun = 'for i in 1 2 3; do echo alpha-$i; sleep 0.05; done; exit 1'\n\
         [checks.beta]\nrun = 'for i in 1 2 3; do echo beta-$i; sleep 0.05; done; exit 2'\n\
         [checks.gamma]\nrun = 'echo gamma-quiet'\n",
    );
    let run = repo.precheck(&["run"]);
    run.expect_code(1);
    let out = &run.stdout;
    // Each failing check's output is one block, in config order, never interleaved.
    let a = out.find("── alpha failed (exit 1)").expect("alpha block");
    let b = out.find("── beta failed (exit 2)").expect("beta block");
    assert!(a < b, "{}", run.context);
    assert!(
        out[a..b].contains("alpha-1\nalpha-2\nalpha-3\n"),
        "{}",
        run.context
    );
    assert!(!out[a..b].contains("beta-"), "{}", run.context);
    assert!(
        !out.contains("gamma-quiet"),
        "passing output stays in its log"
    );
    assert!(out.contains("gamma  passed"), "{}", run.context);
    assert!(
        out.contains("failed: 1 passed, 2 failed"),
        "{}",
        run.context
    );
    // Not a terminal: plain progress lines on stderr.
    assert!(run.stderr.contains("start alpha"), "{}", run.context);
    assert!(run.stderr.contains("FAIL  beta"), "{}", run.context);
    assert!(!run.stderr.contains('\x1b'), "no escape codes when piped");
}

#[test]
fn quiet_prints_only_failures_and_the_summary() {
    let repo = TestRepo::new();
    repo.checks("[checks.ok]\nrun = 'true'\n[checks.bad]\nrun = 'echo broken; exit 1'\n");
    let run = repo.precheck(&["run", "-q"]);
    run.expect_code(1);
    assert!(run.stderr.is_empty(), "{}", run.context);
    assert!(run.stdout.contains("broken"));
    assert!(!run.stdout.contains("ok  "), "{}", run.context);
    let ok = TestRepo::new();
    ok.checks("[checks.ok]\nrun = 'true'\n");
    let run = ok.precheck(&["run", "-q"]);
    run.expect_code(0);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.context);
}

#[test]
fn missing_program_is_named_in_both_forms() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.arr]\nrun = ['no-such-linter-xyz', '--check']\n\
         [checks.str]\nrun = 'no-such-tool-abc --fix'\n",
    );
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    let arr = run.check("arr");
    assert_eq!(arr["status"], "failed");
    assert!(arr["detail"]
        .as_str()
        .unwrap()
        .starts_with("program `no-such-linter-xyz` not found"));
    let s = run.check("str");
    assert_eq!(s["exit_code"], 127);
    assert!(s["detail"]
        .as_str()
        .unwrap()
        .starts_with("program `no-such-tool-abc` not found"));
    let human = repo.precheck(&["run"]);
    assert!(
        human
            .stdout
            .contains("check `arr`: program `no-such-linter-xyz` not found"),
        "{}",
        human.context
    );
}

#[test]
fn fifty_megabytes_of_output_leave_precheck_small() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.noisy]\nrun = 'yes \"a line of output that repeats\" | head -c 52428800; exit 1'\n\
         [checks.oneline]\nrun = 'head -c 52428800 /dev/zero | tr \"\\\\0\" x; exit 1'\n",
    );
    let (code, max_rss, stdout) = run_with_rusage(&repo, &["run", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let noisy = doc["checks"][0]["log"].as_str().unwrap();
    assert_eq!(std::fs::metadata(noisy).unwrap().len(), 52_428_800);
    assert!(
        stdout.len() < 200_000,
        "the report shows a tail, not the log: {}",
        stdout.len()
    );
    // Max resident memory of precheck (and of the small tools it ran).
    assert!(
        max_rss < 40 * 1024 * 1024,
        "precheck grew to {max_rss} bytes"
    );
}

/// Runs precheck with `args` in `repo` and returns its exit code, its peak
/// resident memory and its stdout.
///
/// The peak is taken by a small python3 parent that forks precheck and asks
/// the kernel for its children's peak once it is reaped. wait4 on a child of
/// this test process would not do: the kernel carries the peak of the
/// memory a process leaves at exec into its own, and a child spawned from
/// here leaves this test binary's (shared by vfork), which holds the output
/// of every test running beside this one.
fn run_with_rusage(repo: &TestRepo, args: &[&str]) -> (i32, u64, String) {
    const PARENT: &str = "import os, resource, sys\n\
        pid = os.fork()\n\
        if pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n\
        _, status = os.waitpid(pid, 0)\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
        sys.exit(os.waitstatus_to_exitcode(status))\n";
    let out = repo
        .program("python3")
        .arg("-c")
        .arg(PARENT)
        .arg(crate::common::BIN)
        .args(args)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak from the python3 parent: {stderr}"));
    let code = out.status.code().expect("exited");
    (
        code,
        kib * 1024,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn list_shows_what_the_scheduler_sees() {
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\ndefault_memory = \"300MiB\"\n\
         [checks.build]\nrun = 'true'\nmemory = \"2GiB\"\n\
         [checks.lint]\nrun = 'true {files}'\nglob = '*.rs'\nneeds = [\"build\"]\n\
         [checks.push]\nrun = 'true'\nhooks = [\"pre-push\"]\n",
    );
    let run = repo.precheck(&["list"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("build  runs on every run of its hook"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("lint  skipped: no files"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("push  not a pre-commit check"),
        "{}",
        run.context
    );
    assert!(
        run.stdout.contains("memory  300MiB (default)"),
        "{}",
        run.context
    );
    let json = repo.precheck(&["list", "--format", "json"]).json();
    assert_eq!(json["checks"][0]["memory_bytes"], 2u64 << 30);
    assert_eq!(json["checks"][1]["needs"][0], "build");
    assert_eq!(json["checks"][1]["decision"], "skipped_no_files");
    assert_eq!(json["checks"][2]["decision"], "not_in_hook");
}

/// The over-cap policy is decided once: its warning is printed once, and a
/// cached pass (which runs nothing) gets none.
#[test]
fn a_check_over_the_cap_is_announced_once() {
    let repo = TestRepo::new();
    repo.checks("[checks.big]\nrun = 'true'\nmemory = '8GiB'\n");
    let run = repo.precheck(&["run", "--all", "--memory", "1GiB"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr.matches("more than the 1GiB cap").count(),
        1,
        "{}",
        run.context
    );
    let cached = repo.precheck(&["run", "--all", "--memory", "1GiB"]);
    cached.expect_code(0);
    assert!(cached.stdout.contains("cached"), "{}", cached.context);
    assert!(
        !cached.stderr.contains("more than the 1GiB cap"),
        "{}",
        cached.context
    );
}

/// A string `run` that is only a program and its words is started without sh
/// (one process fewer per check); what the program sees must not change:
/// argv[0], its arguments, its environment (sh exports PWD), and sh's own
/// handling of files that are not executable or have no `#!` line. Each
/// command runs twice, once plain and once made shell text by a `;`.
#[test]
fn a_plain_string_run_starts_its_program_as_sh_would() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    let out = repo.path().join(".git/out");
    std::fs::create_dir(&out).unwrap();
    let show = "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" \"PWD=$PWD\" > \"$OUT/$NAME\"\n";
    repo.write("sub/bin/show.sh", show)
        .write("sub/show.sh", show)
        .write(
            "sub/bare",
            "printf '%s\\n' \"$0\" \"$@\" \"PWD=$PWD\" > \"$OUT/$NAME\"\n",
        )
        .write("sub/notexec.sh", show)
        .write("sub/a -b.txt", "x\n")
        .write("other/keep", "");
    for exe in ["sub/bin/show.sh", "sub/show.sh", "sub/bare"] {
        std::fs::set_permissions(repo.file(exe), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = repo.file("sub/bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut toml = String::new();
    for (name, run) in [
        ("path", "show.sh a=b --x {files} end"),
        ("env", "env"),
        ("rel", "./show.sh {files}"),
        ("bare", "./bare {files}"),
        ("notexec", "./notexec.sh"),
    ] {
        for (form, tail) in [("plain", ""), ("sh", ";")] {
            toml.push_str(&format!(
                "[checks.{name}-{form}]\nrun = \"{run}{tail}\"\ndir = \"sub\"\nglob = \"sub/*.txt\"\n\
                 env = {{ OUT = \"{}\", NAME = \"{name}\", PATH = \"{path}\" }}\n",
                out.display()
            ));
        }
    }
    repo.checks(&toml);
    repo.stage(&["."]).commit("scripts");
    let outputs = |form: &str| -> Vec<String> {
        let mut cmd = repo.command(&["run", "--all", "--format", "json", "--no-cache", "--"]);
        cmd.args(["path", "env", "rel", "bare", "notexec"].map(|n| format!("{n}-{form}")));
        // Started from another directory, with that directory as PWD.
        cmd.current_dir(repo.file("other"))
            .env("PWD", repo.file("other"));
        let run = crate::common::finish(&mut cmd, repo.path());
        run.expect_code(1);
        for name in ["path", "env", "rel", "bare"] {
            assert_eq!(
                run.check(&format!("{name}-{form}"))["status"],
                "passed",
                "{}",
                run.context
            );
        }
        assert_eq!(
            run.check(&format!("notexec-{form}"))["exit_code"],
            126,
            "{}",
            run.context
        );
        let env_log = run.check(&format!("env-{form}"))["log"]
            .as_str()
            .unwrap()
            .to_string();
        let mut seen: Vec<String> = ["path", "rel", "bare"]
            .iter()
            .map(|n| std::fs::read_to_string(out.join(n)).unwrap())
            .collect();
        let mut env: Vec<String> = std::fs::read_to_string(env_log)
            .unwrap()
            .lines()
            // Its run's mark differs, as it should.
            .filter(|l| !l.starts_with("PRECHECK_OWNER="))
            .map(String::from)
            .collect();
        env.sort();
        seen.push(env.join("\n"));
        seen
    };
    let plain = outputs("plain");
    let sh = outputs("sh");
    assert_eq!(plain, sh, "the plain form saw something else");
    let sub = std::fs::canonicalize(repo.file("sub")).unwrap();
    assert_eq!(
        plain[0],
        format!(
            "{}/show.sh\na=b\n--x\na -b.txt\nend\nPWD={}\n",
            bin.display(),
            sub.display()
        )
    );
    assert!(
        plain[3].contains(&format!("PWD={}\n", sub.display())),
        "{}",
        plain[3]
    );
}
