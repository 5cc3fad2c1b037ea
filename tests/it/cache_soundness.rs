//! A cached pass is always a pass that would be earned again: after random
//! changes to everything a check may read (files inside and outside its
//! glob, the script it runs, checks.toml, its `env`, `timeout`, the PATH
//! that picks its tool, untracked files), the verdict with the cache equals
//! the verdict without it, every time.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{self, TestRepo};

const SCRIPT_OK: &str = "#!/bin/sh\n! grep -qs BAD conf.toml sub/deep.cfg untracked.txt\n";
const SCRIPT_STRICT: &str =
    "#!/bin/sh\n! grep -qs -e BAD -e STRICT conf.toml sub/deep.cfg untracked.txt\n";

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn config(mode: &str, timeout: &str) -> String {
    format!(
        "[checks.script]\nrun = './check.sh'\n\
         [checks.py]\nrun = ['tool']\nglob = ['*.py']\n\
         [checks.shell_tool]\nrun = 'tool'\n\
         [checks.env]\nrun = 'test \"$MODE\" != bad'\nenv = {{ MODE = \"{mode}\" }}\n\
         [checks.slow]\nrun = 'sleep 0.1'\ntimeout = \"{timeout}\"\n"
    )
}

/// A small deterministic generator (no dependency needed for this).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[(self.next() as usize) % of.len()]
    }
}

fn verdict(repo: &TestRepo, path: &str, no_cache: bool) -> (i32, Vec<String>) {
    let mut args = vec!["run", "--all", "--format", "json"];
    if no_cache {
        args.push("--no-cache");
    }
    let mut cmd = repo.command(&args);
    cmd.env("PATH", path);
    let run = common::finish(&mut cmd, repo.path());
    let doc = run.json();
    let failed: Vec<String> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !matches!(c["status"].as_str(), Some("passed") | Some("cached")))
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    (run.code, failed)
}

fn differential(seed: u64, steps: usize) {
    let repo = TestRepo::new();
    let tools = tempfile::tempdir().unwrap();
    for (dir, code) in [("good", 0), ("bad", 1)] {
        std::fs::create_dir(tools.path().join(dir)).unwrap();
        executable(
            &tools.path().join(dir).join("tool"),
            &format!("#!/bin/sh\nexit {code}\n"),
        );
    }
    let base_path = std::env::var("PATH").unwrap_or_default();
    let path_of = |which: &str| format!("{}:{base_path}", tools.path().join(which).display());
    repo.checks(&config("good", "5s"));
    repo.write(".gitignore", "/untracked.txt\n");
    executable(&repo.file("check.sh"), SCRIPT_OK);
    repo.write("conf.toml", "ok\n")
        .write("sub/deep.cfg", "ok\n")
        .write("a.py", "print(1)\n");
    repo.stage(&["."]).commit("base");
    // untracked.txt is ignored above only to start; the mutation below
    // removes the ignore so that it becomes visible untracked content.
    let mut rng = Rng(seed);
    let mut path = path_of("good");
    let (mut mode, mut timeout) = ("good", "5s");
    for step in 0..steps {
        let what = rng.pick(&[
            "inside",
            "outside",
            "deep",
            "script",
            "mode",
            "timeout",
            "path",
            "untracked",
            "stage",
        ]);
        match what {
            "inside" => {
                repo.write("a.py", rng.pick(&["print(1)\n", "print(2)\n"]));
            }
            "outside" => {
                repo.write("conf.toml", rng.pick(&["ok\n", "BAD\n", "STRICT\n"]));
            }
            "deep" => {
                repo.write("sub/deep.cfg", rng.pick(&["ok\n", "BAD\n"]));
            }
            "script" => executable(
                &repo.file("check.sh"),
                rng.pick(&[SCRIPT_OK, SCRIPT_STRICT]),
            ),
            "mode" => {
                mode = rng.pick(&["good", "bad"]);
                repo.checks(&config(mode, timeout));
            }
            "timeout" => {
                timeout = rng.pick(&["5s", "20ms"]);
                repo.checks(&config(mode, timeout));
            }
            "path" => path = path_of(rng.pick(&["good", "bad"])),
            "untracked" => {
                repo.write(".gitignore", "");
                repo.write("untracked.txt", rng.pick(&["ok\n", "BAD\n"]));
            }
            _ => {
                repo.stage(&["."]);
            }
        }
        let cached = verdict(&repo, &path, false);
        let fresh = verdict(&repo, &path, true);
        assert_eq!(
            cached, fresh,
            "seed {seed}, step {step} ({what}): the cache changed the verdict"
        );
    }
}

/// Four seeds in the suite; a longer soak sets `CACHE_SOAK_SEEDS`, e.g.
/// `CACHE_SOAK_SEEDS=200 cargo test --release --test it the_cache_never`.
#[test]
fn the_cache_never_changes_a_verdict() {
    let seeds: u64 = std::env::var("CACHE_SOAK_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    for seed in 1..=seeds {
        differential(seed, 20);
    }
}

#[test]
fn a_commit_msg_check_sees_every_new_message() {
    let repo = TestRepo::new();
    repo.checks("[checks.msg]\nrun = '! grep -q bad {msg}'\nhooks = ['commit-msg']\n");
    repo.write("a.txt", "a\n")
        .stage(&["."])
        .commit("base")
        .install();
    repo.write("a.txt", "b\n").stage(&["a.txt"]);
    repo.git_try(&["commit", "-qm", "good message"])
        .expect_code(0);
    let amend = repo.git_try(&["commit", "--amend", "-qm", "bad message"]);
    assert_ne!(
        amend.code, 0,
        "not served from the cache\n{}",
        amend.context
    );
    let subject = repo.git(&["log", "-1", "--format=%s"]).stdout;
    assert_eq!(subject, b"good message\n");
}

#[test]
fn a_manual_check_runs_every_time_unless_it_opts_in() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.deploy]\nrun = 'echo deploy >> ran.log'\nhooks = ['manual']\n\
         [checks.report]\nrun = 'echo report >> ran.log'\nhooks = ['manual']\ncache = true\n",
    );
    repo.write(".gitignore", "ran.log\n")
        .stage(&["."])
        .commit("base");
    for _ in 0..2 {
        repo.precheck(&["run", "--all", "--hook", "manual"])
            .expect_code(0);
    }
    let ran = repo.read("ran.log");
    assert_eq!(ran.matches("deploy").count(), 2, "{ran}");
    assert_eq!(ran.matches("report").count(), 1, "opted in: {ran}");
}
