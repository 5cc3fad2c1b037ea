//! Which files a check gets, and how: globs, `dir`, `{files}` as separate
//! arguments whatever the names hold, and batches under the argument limit.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::common::{self, TestRepo};

/// Names that break naive shell pasting.
fn weird_names() -> Vec<Vec<u8>> {
    vec![
        b"with space.txt".to_vec(),
        b"quote'single.txt".to_vec(),
        b"quote\"double.txt".to_vec(),
        b"$(touch pwned).txt".to_vec(),
        b"`touch pwned2`.txt".to_vec(),
        b"-n.txt".to_vec(),
        b"--help.txt".to_vec(),
        b"new\nline.txt".to_vec(),
        b"semi;colon.txt".to_vec(),
        b"latin1-\xe9.txt".to_vec(),
    ]
}

fn stage_weird(repo: &TestRepo) -> Vec<Vec<u8>> {
    let names = weird_names();
    for n in &names {
        std::fs::write(repo.path().join(OsStr::from_bytes(n)), b"x").unwrap();
    }
    let mut args: Vec<&OsStr> = vec![OsStr::new("add"), OsStr::new("--")];
    args.extend(names.iter().map(|n| OsStr::from_bytes(n)));
    repo.git_os(args);
    names
}

fn received(repo: &TestRepo, file: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(repo.file(file)).unwrap();
    let mut got: Vec<Vec<u8>> = bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    got.sort();
    got
}

/// Stages the weird names, runs `checks` (whose check writes the arguments it
/// got, NUL-separated, to got.bin) and asserts each name arrived intact.
fn assert_weird_names_arrive(checks: &str) {
    let repo = TestRepo::new();
    repo.checks(checks);
    let names = stage_weird(&repo);
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(0);
    // A name that starts with `-` arrives as `./-…`: never as an option.
    let mut names: Vec<Vec<u8>> = names
        .into_iter()
        .map(|n| {
            if n.starts_with(b"-") {
                [b"./".as_slice(), &n].concat()
            } else {
                n
            }
        })
        .collect();
    names.sort();
    assert_eq!(received(&repo, "got.bin"), names, "{}", run.context);
    assert!(!repo.file("pwned").exists());
    assert!(!repo.file("pwned2").exists());
}

#[test]
fn weird_names_arrive_intact_in_shell_form() {
    assert_weird_names_arrive(
        "[checks.names]\nrun = \"printf '%s\\\\0' {files} > got.bin\"\nglob = \"*.txt\"\n",
    );
}

#[test]
fn weird_names_arrive_intact_in_array_form() {
    assert_weird_names_arrive(
        "[checks.names]\nrun = [\"sh\", \"-c\", \"printf '%s\\\\0' \\\"$@\\\" > got.bin\", \"sh\", \"{files}\"]\nglob = \"*.txt\"\n",
    );
}

#[test]
fn long_file_lists_are_batched_and_every_file_arrives_once() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.all]\nrun = \"printf '%s\\\\0' {files} >> got.bin; echo batch >> batches\"\nglob = \"*.c\"\n",
    );
    // 30,000 index entries with long names (about 3.6 MB of arguments, over
    // ARG_MAX), added straight to the index: no need to create the files.
    let mut input = String::new();
    let empty = String::from_utf8(repo.git(&["hash-object", "-w", "/dev/null"]).stdout).unwrap();
    let empty = empty.trim();
    let mut expected = Vec::new();
    for i in 0..30_000 {
        let name = format!(
            "src/{}/file-number-{i:06}-with-a-long-name-to-fill-the-argument-space.c",
            i % 37
        );
        input.push_str(&format!("100644 {empty}\t{name}\n"));
        expected.push(name.into_bytes());
    }
    let mut cmd = std::process::Command::new("git");
    cmd.args(["update-index", "--index-info"])
        .current_dir(repo.path());
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(0);
    expected.sort();
    let got = received(&repo, "got.bin");
    assert_eq!(got.len(), expected.len(), "{}", run.context);
    assert_eq!(got, expected);
    let batches = repo.read("batches").lines().count();
    assert!(batches >= 2, "expected several batches, got {batches}");
}

#[test]
fn globs_excludes_dir_and_skips() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.web]\nrun = \"printf '%s\\\\n' {files} > ../web-got\"\ndir = \"web\"\nglob = \"*.js\"\nexclude = [\"web/vendor/**\"]\n\
         [checks.docs]\nrun = 'true'\nglob = '*.md'\n\
         [checks.always]\nrun = 'touch always-ran'\n",
    );
    repo.write("web/a.js", "1")
        .write("web/sub/b.js", "1")
        .write("web/vendor/c.js", "1")
        .write("top.js", "1");
    repo.stage(&["web", "top.js"]);
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(0);
    let got = repo.read("web-got");
    let mut lines: Vec<&str> = got.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec!["a.js", "sub/b.js"],
        "paths relative to dir, vendor excluded, top.js outside dir"
    );
    assert_eq!(run.check("docs")["status"], "skipped_no_files");
    assert_eq!(run.check("always")["status"], "passed");
    assert!(repo.file("always-ran").exists());
}

#[test]
fn staged_all_and_explicit_files() {
    let repo = TestRepo::new();
    repo.checks("[checks.list]\nrun = \"printf '%s\\\\n' {files} > got.txt\"\nglob = '*.rs'\n");
    repo.write("old.rs", "1")
        .write("deleted.rs", "1")
        .stage(&["old.rs", "deleted.rs", "checks.toml"])
        .commit("one");
    repo.write("new.rs", "1")
        .write("unstaged.rs", "1")
        .stage(&["new.rs"]);
    repo.git(&["rm", "-q", "deleted.rs"]);
    repo.precheck(&["run"]).expect_code(0);
    assert_eq!(
        repo.read("got.txt"),
        "new.rs\n",
        "staged: added, not deleted, not unstaged"
    );
    repo.precheck(&["run", "--all"]).expect_code(0);
    assert_eq!(repo.read("got.txt"), "new.rs\nold.rs\n");
    repo.precheck(&["run", "--files", "unstaged.rs", "README"])
        .expect_code(0);
    assert_eq!(repo.read("got.txt"), "unstaged.rs\n");
}

#[test]
fn files_from_a_subdirectory_are_relative_to_it() {
    let repo = TestRepo::new();
    repo.checks("[checks.list]\nrun = \"printf '%s\\\\n' {files} > got.txt\"\nglob = '*.rs'\n");
    repo.write("sub/x.rs", "1");
    let mut cmd = repo.command(&["run", "--files", "x.rs"]);
    cmd.current_dir(repo.file("sub"));
    common::finish(&mut cmd, &repo.file("sub")).expect_code(0);
    assert_eq!(repo.read("got.txt"), "sub/x.rs\n");
}
