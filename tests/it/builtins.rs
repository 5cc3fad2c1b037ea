//! The built-in checks against pre-commit-hooks: the same tree, each hook
//! run by the real pre-commit (as a local hook running the real
//! pre-commit-hooks script, with its manifest's `types`) in one copy and
//! by precheck in another, one after the other in the same order; after
//! each, the two trees must hold the same bytes and the two tools the same
//! verdict and (where pre-commit-hooks' words are its own, not a parser's)
//! the same messages. Then each fixer in a real commit with unstaged
//! changes in the same file, and the errors of a bad `builtin:`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, TestRepo};

/// The tree every built-in is run on: the cases pre-commit-hooks' own
/// tests and documentation name (CRLF, a lone CR, markdown line breaks,
/// only newlines, an empty file, binaries, names identify types by name).
fn corpus() -> Vec<(&'static str, &'static [u8], bool)> {
    vec![
        ("ws/plain.txt", b"a  \nb\t\n\n  \nc ", false),
        ("ws/crlf.txt", b"x \r\ny\t\r\nz", false),
        ("ws/lone-cr.txt", b"a \rb \n", false),
        ("ws/doc.md", b"line break  \nnot   \n   \n", false),
        ("ws/ctl.txt", b"a\x0b\x0c \n", false),
        ("bin/blob.bin", b"\x00\x01  \nx", false),
        ("eof/none.txt", b"abc", false),
        ("eof/many.txt", b"abc\n\n\n", false),
        ("eof/crlf.txt", b"abc\r\n\r\n", false),
        ("eof/only-newlines.txt", b"\n\n", false),
        ("eof/empty.txt", b"", false),
        ("eof/cr.txt", b"abc\r\r", false),
        ("mle/mixed.txt", b"a\r\nb\nc\r\nd", false),
        ("mle/tie.txt", b"a\r\nb\n", false),
        ("mle/cr.txt", b"a\rb\rc\n", false),
        (
            "mc/conflict.txt",
            b"<<<<<<< HEAD\na\n=======\nb\n>>>>>>> branch\n",
            false,
        ),
        ("mc/fine.txt", b"====== six\n <<<<<<< indented\n", false),
        ("json/ok.json", b"{\"a\": [1, 2, {\"b\": null}]}\n", false),
        (
            "json/dup.json",
            b"{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}}\n",
            false,
        ),
        ("json/bad.json", b"{\"a\": }\n", false),
        ("json/.babelrc", b"{\"x\": 1,}\n", false),
        // identify types these by name, not by their first KiB: a PDF that
        // reads as text is binary, a Dockerfile with a NUL is text, and a
        // Pipfile by another extension is TOML.
        ("names/doc.pdf", b"%PDF-1.4  \nsome text \n", false),
        ("names/Dockerfile.dev", b"FROM x  \n\0\n", false),
        ("toml/Pipfile.old", b"[packages\n", false),
        // What Python's json reads and a strict parser would not.
        (
            "json/nan.json",
            b"{\"a\": NaN, \"b\": [Infinity, -Infinity, 1e400]}\n",
            false,
        ),
        ("json/bom.json", b"\xef\xbb\xbf{\"a\": 1}\n", false),
        (
            "json/utf16.json",
            b"\xff\xfe{\0\"\0a\0\"\0:\0 \x001\0}\0\n\0",
            false,
        ),
        ("json/surrogate.json", b"[\"\\ud800\"]\n", false),
        (
            "json/escaped-dup.json",
            b"{\"a\": 1, \"\\u0061\": 2}\n",
            false,
        ),
        ("yaml/ok.yaml", b"a: 1\nb: [1, 2]\n", false),
        ("yaml/bad.yml", b"a: [1, 2\n", false),
        ("yaml/multi.yaml", b"a: 1\n---\nb: 2\n", false),
        ("yaml/tag.yaml", b"Resources: !Ref x\n", false),
        ("yaml/std-tag.yaml", b"a: !!str 1\n", false),
        ("yaml/.clang-format", b"BasedOnStyle: [\n", false),
        ("toml/ok.toml", b"a = 1\n[b]\nc = \"d\"\n", false),
        ("toml/bad.toml", b"a = \n", false),
        ("toml/dup.toml", b"a = 1\na = 2\n", false),
        ("toml/Pipfile", b"[packages\n", false),
        (
            "keys/id",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
            false,
        ),
        (
            "keys/note.txt",
            b"a BEGIN PGP PRIVATE KEY BLOCK here\n",
            false,
        ),
        ("exe/no-shebang.sh", b"echo hi\n", true),
        ("exe/ok.sh", b"#!/bin/sh\necho\n", true),
        ("exe/binary", b"\x7fELF\x00\x00", true),
        ("grep/a.txt", b"ok\nsome todo here\nFIXME\n", false),
        ("big/new.dat", &[b'x'; 3000], false),
        ("big/exact.dat", &[b'x'; 2048], false),
        ("case/readme", b"new\n", false),
        ("case/A.txt", b"one\n", false),
        ("case/a.txt", b"two\n", false),
    ]
}

/// Committed before the corpus is staged: a file a new name conflicts
/// with, and a large file that is not added (only changed).
fn base() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("case/README", b"old\n".to_vec()),
        ("big/old.dat", vec![b'y'; 5000]),
    ]
}

/// (precheck check, pre-commit-hooks script, args, pre-commit types,
/// whether its messages are pre-commit-hooks' own words).
struct Hook {
    id: &'static str,
    script: &'static str,
    args: &'static [&'static str],
    types: &'static str,
    words: bool,
}

const HOOKS: &[Hook] = &[
    Hook {
        id: "trailing-whitespace",
        script: "trailing-whitespace-fixer",
        args: &["--markdown-linebreak-ext=md"],
        types: "[text]",
        words: true,
    },
    Hook {
        id: "end-of-file-fixer",
        script: "end-of-file-fixer",
        args: &[],
        types: "[text]",
        words: true,
    },
    Hook {
        id: "mixed-line-ending",
        script: "mixed-line-ending",
        args: &[],
        types: "[text]",
        words: true,
    },
    Hook {
        id: "check-merge-conflict",
        script: "check-merge-conflict",
        args: &["--assume-in-merge"],
        types: "[text]",
        words: true,
    },
    Hook {
        id: "check-added-large-files",
        script: "check-added-large-files",
        args: &["--maxkb=2"],
        types: "[file]",
        words: true,
    },
    Hook {
        id: "check-yaml",
        script: "check-yaml",
        args: &[],
        types: "[yaml]",
        words: false,
    },
    Hook {
        id: "check-toml",
        script: "check-toml",
        args: &[],
        types: "[toml]",
        words: false,
    },
    Hook {
        id: "check-json",
        script: "check-json",
        args: &[],
        types: "[json]",
        words: false,
    },
    Hook {
        id: "check-case-conflict",
        script: "check-case-conflict",
        args: &[],
        types: "[file]",
        words: true,
    },
    Hook {
        id: "check-executables-have-shebangs",
        script: "check-executables-have-shebangs",
        args: &[],
        types: "[text, executable]",
        words: true,
    },
    Hook {
        id: "check-symlinks",
        script: "check-symlinks",
        args: &[],
        types: "[symlink]",
        words: true,
    },
    Hook {
        id: "detect-private-key",
        script: "detect-private-key",
        args: &[],
        types: "[text]",
        words: true,
    },
];

/// A virtual environment with pre-commit and pre-commit-hooks, made once
/// under target/ (CI makes it in `.ci/run`). None, with the reason, when
/// it cannot be made; under CI that fails the test.
fn python_tools() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pre-commit-hooks-venv");
    let bin = venv.join("bin");
    if bin.join("trailing-whitespace-fixer").exists() && bin.join("pre-commit").exists() {
        return Ok(bin);
    }
    // One test makes it; a lock keeps two test binaries from racing.
    let made = Command::new("sh")
        .arg("-c")
        .arg(
            "flock \"$1.lock\" sh -c 'test -x \"$1/bin/pre-commit\" || { python3 -m venv \"$1\" && \"$1/bin/pip\" install -q pre-commit==4.7.0 pre-commit-hooks==6.0.0; }' sh \"$1\"",
        )
        .arg("sh")
        .arg(&venv)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "cannot install pre-commit and pre-commit-hooks: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    Ok(bin)
}

fn tools_or_skip() -> Option<PathBuf> {
    match python_tools() {
        Ok(bin) => Some(bin),
        Err(why) if std::env::var_os("CI").is_some() => panic!("{why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn lay_out(repo: &TestRepo) {
    for (path, bytes) in base() {
        repo.write(path, bytes);
    }
    repo.stage(&["."]).commit("base");
    repo.write("big/old.dat", vec![b'z'; 5000]);
    for (path, bytes, exe) in corpus() {
        repo.write(path, bytes);
        if exe {
            std::fs::set_permissions(repo.file(path), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
    }
    std::os::unix::fs::symlink("nowhere", repo.file("link-broken")).unwrap();
    std::os::unix::fs::symlink("eof/none.txt", repo.file("link-ok")).unwrap();
}

fn pre_commit_config(bin: &Path) -> String {
    let mut s = String::from("repos:\n- repo: local\n  hooks:\n");
    for h in HOOKS {
        s.push_str(&format!(
            "  - id: {}\n    name: {}\n    entry: {}\n    language: system\n    types: {}\n    args: {:?}\n",
            h.id,
            h.id,
            bin.join(h.script).display(),
            h.types,
            h.args
        ));
    }
    s.push_str(&format!(
        "  - id: pygrep\n    name: pygrep\n    entry: 'TODO|FIXME'\n    language: pygrep\n    args: [-i]\n    types: [text]\n  - id: no-commit-to-branch\n    name: no-commit-to-branch\n    entry: {}\n    language: system\n    pass_filenames: false\n    always_run: true\n",
        bin.join("no-commit-to-branch").display()
    ));
    s
}

fn checks_toml() -> String {
    let mut s = String::new();
    for h in HOOKS {
        let mut run = vec![format!("builtin:{}", h.id)];
        run.extend(h.args.iter().map(|a| a.to_string()));
        s.push_str(&format!(
            "[checks.{}]\nrun = {:?}\ncache = false\n",
            h.id, run
        ));
    }
    s.push_str(
        "[checks.pygrep]\nrun = [\"builtin:pygrep\", \"-i\", \"TODO|FIXME\"]\ncache = false\n",
    );
    s.push_str(
        "[checks.no-commit-to-branch]\nrun = \"builtin:no-commit-to-branch\"\ncache = false\n",
    );
    s
}

/// The work tree's files and links, with their bytes (a link: its target).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (path, item) in common::tree(dir) {
        let p = path.to_string_lossy().to_string();
        if p.starts_with(".git/") || p == ".git" {
            continue;
        }
        out.push((p, format!("{item:?}").into_bytes()));
    }
    out
}

/// pre-commit's output for one hook, less its own lines.
fn hook_output(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("- hook id:")
                && !l.starts_with("- exit code:")
                && !l.starts_with("- duration:")
                && !l.starts_with("- files were modified")
                && !l.contains("......")
        })
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// The files a message names, for parsers whose words differ.
fn named(lines: &BTreeSet<String>, files: &[String]) -> BTreeSet<String> {
    files
        .iter()
        .filter(|f| {
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{f}:")) || l.contains(&format!("\"{f}\"")))
        })
        .cloned()
        .collect()
}

#[test]
fn every_builtin_does_what_pre_commit_hooks_does_on_the_same_tree() {
    let Some(bin) = tools_or_skip() else {
        return;
    };
    let ours = TestRepo::new();
    let theirs = TestRepo::new();
    for repo in [&ours, &theirs] {
        repo.write(".pre-commit-config.yaml", pre_commit_config(&bin));
        repo.checks(&checks_toml());
        lay_out(repo);
        repo.stage(&["."]);
    }
    let files: Vec<String> = snapshot(ours.path()).into_iter().map(|(p, _)| p).collect();
    let ids = HOOKS
        .iter()
        .map(|h| (h.id, h.words))
        // pre-commit-hooks' no-commit-to-branch fails without a word;
        // precheck names the branch.
        .chain([("pygrep", true), ("no-commit-to-branch", false)]);
    for (id, words) in ids {
        let mut cmd = Command::new(bin.join("pre-commit"));
        cmd.args(["run", id, "--all-files", "--verbose", "--color=never"])
            .current_dir(theirs.path());
        common::clean_env(&mut cmd, theirs.home());
        cmd.env("PRE_COMMIT_HOME", theirs.home().join("pre-commit"));
        let them = common::finish(&mut cmd, theirs.path());
        let us = ours.precheck(&["run", id, "--all", "--format", "json"]);
        let entry = us.check(id);
        let log = entry["log"]
            .as_str()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default();
        let ours_lines: BTreeSet<String> = log
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.trim_end().to_string())
            .collect();
        let theirs_lines = hook_output(&them.stdout);
        assert_eq!(
            snapshot(ours.path()),
            snapshot(theirs.path()),
            "{id}: the trees differ after it\n--- pre-commit ---\n{}\n--- precheck ---\n{}",
            them.context,
            us.context
        );
        assert_eq!(
            us.code != 0,
            them.code != 0,
            "{id}: one failed, the other passed\n--- pre-commit ---\n{}\n--- precheck ---\n{}\n{log}",
            them.context,
            us.context
        );
        if words {
            assert_eq!(
                ours_lines, theirs_lines,
                "{id}: the messages differ\n{}",
                them.context
            );
        } else {
            assert_eq!(
                named(&ours_lines, &files),
                named(&theirs_lines, &files),
                "{id}: they fail different files\n--- pre-commit ---\n{}\n--- precheck ---\n{log}",
                them.context
            );
        }
        // The next hook starts from the same staged tree in both.
        for repo in [&ours, &theirs] {
            repo.git(&["add", "-A"]);
        }
    }
}

/// A fixer in a real commit, with unstaged changes in the same file: the
/// commit is blocked, the fix is merged into the work tree beside the
/// unstaged change, the index keeps what was staged; with `stage_fixed`
/// the fixed content is committed and the unstaged change stays unstaged.
#[test]
fn fixers_in_a_commit_keep_the_unstaged_change_in_the_same_file() {
    for builtin in [
        "trailing-whitespace",
        "end-of-file-fixer",
        "mixed-line-ending",
    ] {
        for stage_fixed in [false, true] {
            let repo = TestRepo::new();
            repo.checks(&format!(
                "[checks.fix]\nrun = \"builtin:{builtin}\"\nstage_fixed = {stage_fixed}\n"
            ));
            let lines: Vec<String> = (0..40).map(|i| format!("line {i}\n")).collect();
            repo.write("f.txt", lines.concat())
                .stage(&["."])
                .commit("base")
                .install();
            // Staged: a fault near the top (and, for the end-of-file fixer, at
            // the end); unstaged on top: an edit near the bottom.
            let mut staged = lines.clone();
            let (bad, good) = match builtin {
                "trailing-whitespace" => ("line 1   \n", "line 1\n"),
                "end-of-file-fixer" => ("line 1\n", "line 1\n"),
                _ => ("line 1\r\n", "line 1\n"),
            };
            staged[1] = bad.to_string();
            let mut staged_text = staged.concat();
            if builtin == "end-of-file-fixer" {
                staged_text.push_str("\n\n");
            }
            repo.write("f.txt", &staged_text).stage(&["f.txt"]);
            let unstaged_text = staged_text.replace("line 38\n", "line 38 edited\n");
            repo.write("f.txt", &unstaged_text);
            let commit = repo.git_try(&["commit", "-qm", "change"]);
            let mut fixed = staged.clone();
            fixed[1] = good.to_string();
            let fixed_text = fixed.concat();
            let fixed_and_unstaged = fixed_text.replace("line 38\n", "line 38 edited\n");
            if stage_fixed {
                commit.expect_code(0);
                assert_eq!(
                    String::from_utf8(repo.show("HEAD:f.txt")).unwrap(),
                    fixed_text,
                    "{builtin}: the fixed content is committed"
                );
            } else {
                assert_ne!(
                    commit.code, 0,
                    "{builtin}: a fix blocks the commit\n{}",
                    commit.context
                );
                assert_eq!(
                    String::from_utf8(repo.show(":f.txt")).unwrap(),
                    staged_text,
                    "{builtin}: the index keeps what was staged"
                );
                assert!(
                    commit.stderr.contains("f.txt"),
                    "{builtin}: the fixed file is named\n{}",
                    commit.context
                );
            }
            assert_eq!(
                repo.read("f.txt"),
                fixed_and_unstaged,
                "{builtin} (stage_fixed = {stage_fixed}): the work tree has the fix and the unstaged edit\n{}",
                commit.context
            );
        }
    }
}

/// A fixer rewrites a file by a rename, keeping its mode; a file it need
/// not change is not touched (same inode, same mtime).
#[test]
fn a_fixer_keeps_modes_and_leaves_clean_files_alone() {
    use std::os::unix::fs::MetadataExt;
    let repo = TestRepo::new();
    repo.checks("[checks.ws]\nrun = \"builtin:trailing-whitespace\"\n");
    repo.write("dirty.sh", "#!/bin/sh  \necho\n")
        .write("clean.txt", "clean\n");
    std::fs::set_permissions(
        repo.file("dirty.sh"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    repo.stage(&["."]);
    let before = std::fs::metadata(repo.file("clean.txt")).unwrap();
    repo.precheck(&["run", "--all"]).expect_code(1);
    assert_eq!(repo.read("dirty.sh"), "#!/bin/sh\necho\n");
    let mode = std::fs::metadata(repo.file("dirty.sh")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o750, "the mode is kept");
    let after = std::fs::metadata(repo.file("clean.txt")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
    // Nothing of precheck's is left beside the files.
    let names: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("precheck"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// A typo in a built-in's name or argument is an error at its `run`, with
/// what is accepted; `list --builtins` lists them.
#[test]
fn a_bad_builtin_is_an_error_at_its_line() {
    let repo = TestRepo::new();
    repo.checks("[checks.a]\nrun = \"true\"\n\n[checks.j]\nrun = \"builtin:check-jsn\"\n");
    let r = repo.precheck(&["list"]);
    r.expect_code(2);
    assert!(r.stderr.contains("checks.toml:5:7"), "{}", r.context);
    assert!(
        r.stderr.contains("no built-in check is called `check-jsn`"),
        "{}",
        r.context
    );
    repo.checks("[checks.big]\nrun = [\"builtin:check-added-large-files\", \"--maxkb=lots\"]\n");
    let r = repo.precheck(&["run", "--all"]);
    r.expect_code(2);
    assert!(r.stderr.contains("checks.toml:2:7"), "{}", r.context);
    assert!(
        r.stderr
            .contains("`--maxkb=lots`: expected a whole number of KB"),
        "{}",
        r.context
    );
    repo.checks("[services.s]\nrun = \"builtin:check-json\"\n");
    repo.precheck(&["list"]).expect_code(2);
    let r = repo.precheck(&["list", "--builtins"]);
    r.expect_code(0);
    for name in [
        "trailing-whitespace",
        "check-yaml",
        "no-commit-to-branch",
        "pygrep",
    ] {
        assert!(r.stdout.contains(name), "{name}\n{}", r.context);
    }
}

/// Built-ins look only at their type of file: a binary is no text, a
/// YAML check sees no JSON; `list` shows the files each would get.
#[test]
fn builtins_get_the_files_of_their_type() {
    let repo = TestRepo::new();
    repo.checks(
        "[checks.yaml]\nrun = \"builtin:check-yaml\"\n\
         [checks.branch]\nrun = [\"builtin:no-commit-to-branch\", \"--branch\", \"release\"]\n",
    );
    repo.write("a.yaml", "a: [\n")
        .write("b.json", "{")
        .write("sub/.clang-format", "x: 1\n")
        .stage(&["."]);
    let list = repo.precheck(&["list", "--format", "json"]);
    list.expect_code(0);
    let doc = list.json();
    let yaml = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "yaml")
        .unwrap()
        .clone();
    // a.yaml and sub/.clang-format, not b.json.
    assert_eq!(yaml["files"], 2, "{}", list.context);
    // In precheck's own process: a small figure, not default_memory.
    assert_eq!(yaml["memory_source"], "in process", "{}", list.context);
    assert_eq!(yaml["memory_bytes"], 64 * 1024 * 1024, "{}", list.context);
    let run = repo.precheck(&["run", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.check("yaml")["status"], "failed");
    assert_eq!(
        run.check("branch")["status"],
        "passed",
        "main is not protected here"
    );
}

/// Built-ins over many files (their work spread over the cores) beside
/// other checks' workers: every run ends. A built-in's worker used to wait
/// for its files' pool in a way that let it pick up another worker's serve
/// loop, which never returns: the run hung for good, more often with more
/// workers. Each run here gets a minute before it counts as hung.
#[test]
fn builtins_over_many_files_never_hang_beside_other_workers() {
    let repo = TestRepo::new();
    for i in 0..600 {
        repo.write(format!("d{}/f{i}.txt", i / 100), format!("line {i}\n"));
    }
    let names = [
        "trailing-whitespace",
        "end-of-file-fixer",
        "mixed-line-ending",
        "check-merge-conflict",
        "detect-private-key",
        "check-case-conflict",
        "check-symlinks",
        "check-added-large-files",
    ];
    let toml: String = names
        .iter()
        .map(|n| format!("[checks.{n}]\nrun = \"builtin:{n}\"\n"))
        .collect();
    repo.checks(&toml);
    repo.git(&["add", "-A"]);
    repo.commit("base");
    for round in 0..8 {
        let mut child = repo
            .command(&["run", "--all", "--no-cache", "-q", "-j", "8"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("precheck starts");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("round {round}: precheck run hung (killed after a minute)");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "round {round}: every check passes");
    }
}

/// A run keeps what it looked at and read of each file (its stat until
/// something may have written files, its bytes while its stamp holds), so
/// every write made during the run must be seen by what runs after it.
/// The files are aged past the racy window first, so that their reads are
/// kept. Then, in one run: a fixer process rewrites a.json to broken JSON
/// of the same size (check-json, after it, must fail on it); the built-in
/// trailing-whitespace rewrites b.txt (a built-in grep after it must see
/// the fixed line, and the run must report both files as changed).
#[test]
fn what_runs_after_a_write_reads_what_was_written() {
    let repo = TestRepo::new();
    repo.write("a.json", "{\"a\": 1}\n")
        .write("b.txt", "key  \n")
        .write(
            "break.py",
            "open('a.json', 'w').write('{\"a\":,1}\\n')\n",
        )
        .checks(
            "[checks.break-json]\nrun = \"python3 break.py\"\nfix = true\n\
             [checks.trailing-whitespace]\nrun = \"builtin:trailing-whitespace\"\nglob = \"*.txt\"\n\
             [checks.check-json]\nrun = \"builtin:check-json\"\n\
             [checks.fixed-line]\nrun = [\"builtin:pygrep\", \"y$\"]\nglob = \"*.txt\"\n",
        );
    repo.git(&["add", "-A"]);
    repo.commit("base");
    // Older than the racy window (a few seconds), by the clock that stamps
    // files: kept reads are only taken of settled files.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let run = repo.precheck(&["run", "--all", "--no-cache", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(repo.bytes("a.json"), b"{\"a\":,1}\n");
    assert_eq!(repo.bytes("b.txt"), b"key\n");
    let json = run.check("check-json");
    assert_eq!(
        json["status"], "failed",
        "check-json read the fixer's a.json\n{}",
        run.context
    );
    assert!(
        json["tail"].as_str().unwrap().contains("a.json"),
        "check-json names a.json\n{}",
        run.context
    );
    let grep = run.check("fixed-line");
    assert_eq!(
        grep["status"], "failed",
        "the grep read trailing-whitespace's b.txt\n{}",
        run.context
    );
    assert!(
        grep["tail"].as_str().unwrap().contains("b.txt:1:key"),
        "{}",
        run.context
    );
    let doc = run.json();
    let modified: BTreeSet<&str> = doc["modified_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        modified,
        BTreeSet::from(["a.json", "b.txt"]),
        "both rewrites are reported\n{}",
        run.context
    );
}

/// A built-in fixer's rewrite killed (SIGKILL) at each of its steps, one
/// run per step, over every step a run reaches: each file is then whole,
/// its old bytes or its fixed ones, and the next precheck command removes
/// the fresh file a rewrite left beside it and the note of it.
#[test]
fn a_fixer_killed_at_any_step_of_a_rewrite_leaves_whole_files_and_no_strays() {
    use std::os::unix::process::ExitStatusExt;
    const A: (&str, &[u8], &[u8]) = ("a.txt", b"one  \nkeep\n", b"one\nkeep\n");
    const B: (&str, &[u8], &[u8]) = ("sub/b.txt", b"two\t\n", b"two\n");
    let repo = TestRepo::new();
    repo.checks("[checks.tw]\nrun = \"builtin:trailing-whitespace\"\nglob = \"*.txt\"\n");
    repo.write(A.0, A.1).write(B.0, B.1);
    repo.git(&["add", "-A"]);
    repo.commit("base");
    let strays = |repo: &TestRepo| -> Vec<String> {
        let mut found = Vec::new();
        for dir in [repo.path().to_path_buf(), repo.file("sub")] {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.contains(".precheck-") {
                    found.push(name);
                }
            }
        }
        found
    };
    let journal = repo.file(".git/precheck/rewrites");
    let mut killed_at = Vec::new();
    for n in 1.. {
        repo.write(A.0, A.1).write(B.0, B.1);
        let trace = repo.home().join(format!("trace-{n}"));
        let out = repo
            .command(&["run", "--all", "--no-cache", "-q"])
            .env("PRECHECK_FAULT_TRACE", &trace)
            .env("PRECHECK_FAULT_KILL_AT", n.to_string())
            .output()
            .expect("precheck runs");
        let point = std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        let killed = out.status.signal() == Some(libc::SIGKILL);
        for (path, old, fixed) in [A, B] {
            let now = repo.bytes(path);
            assert!(
                now == old || now == fixed,
                "killed at {point}: {path} is neither its old bytes nor its fixed ones: {now:?}"
            );
        }
        if !killed {
            // A run that fixes files fails (the fixer rules), fixed.
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(repo.bytes(A.0), A.2);
            assert_eq!(repo.bytes(B.0), B.2);
            assert!(
                strays(&repo).is_empty(),
                "a whole run leaves no stray: {:?}",
                strays(&repo)
            );
            break;
        }
        killed_at.push(point.clone());
        // Any command recovers first.
        repo.precheck(&["list"]).expect_code(0);
        assert!(
            strays(&repo).is_empty(),
            "killed at {point}: left after recovery: {:?}",
            strays(&repo)
        );
        assert!(
            std::fs::read_dir(&journal).map_or(true, |mut d| d.next().is_none()),
            "killed at {point}: the notes of rewrites are struck out"
        );
    }
    for step in [
        "rewrite-noted",
        "rewrite-created",
        "rewrite-synced",
        "rewrite-renamed",
    ] {
        assert_eq!(
            killed_at.iter().filter(|p| *p == step).count(),
            2,
            "each file's rewrite was killed at {step}: {killed_at:?}"
        );
    }
}

/// A built-in fixer on a full disk: the rewrite cannot be written, so the
/// check fails and says why, the user's file keeps every byte, and neither
/// a half-written file beside it nor a note of it is left. With room again
/// the fix goes through.
#[test]
fn a_fixer_on_a_full_disk_fails_and_leaves_the_file_whole() {
    let Some(disk) = common::SmallDisk::mount("8m") else {
        return;
    };
    let repo = TestRepo::new();
    repo.checks("[checks.tw]\nrun = \"builtin:trailing-whitespace\"\nglob = \"*.txt\"\n");
    let old: Vec<u8> = (0..150_000u32)
        .flat_map(|i| format!("{:06} \n", i % 1000).into_bytes())
        .collect();
    let fixed: Vec<u8> = (0..150_000u32)
        .flat_map(|i| format!("{:06}\n", i % 1000).into_bytes())
        .collect();
    repo.write("big.txt", &old);
    repo.git(&["add", "-A"]);
    repo.commit("base");
    let root = disk.holding(&repo);
    let run = || {
        let mut cmd = repo.command(&["run", "--all", "--no-cache", "--format", "json"]);
        cmd.current_dir(&root);
        common::finish(&mut cmd, &root)
    };
    let strays = || -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".precheck-"))
            .collect();
        let notes = root.join(".git/precheck/rewrites");
        found.extend(
            std::fs::read_dir(notes)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| format!("note {}", e.file_name().to_string_lossy())),
        );
        found
    };
    // Room for the run's own small files, not for a second big.txt.
    // No room at all: the run cannot keep its record, so it stops before
    // anything, and says what to do.
    common::fill(disk.dir.path(), 0);
    let none = run();
    assert_eq!(none.code, 2, "{}", none.context);
    assert!(
        none.stderr.contains("No space left") && none.stderr.contains("hint: free some space"),
        "{}",
        none.context
    );
    assert!(std::fs::read(root.join("big.txt")).unwrap() == old);
    std::fs::remove_file(disk.dir.path().join("filler")).unwrap();
    // Room for the run's own small files, not for a second big.txt.
    common::fill(disk.dir.path(), 300_000);
    let full = run();
    assert_eq!(full.code, 1, "{}", full.context);
    let tail = full.check("tw")["tail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        tail.contains("big.txt: cannot rewrite") && tail.contains("No space left"),
        "{}",
        full.context
    );
    assert!(
        std::fs::read(root.join("big.txt")).unwrap() == old,
        "every byte kept"
    );
    assert!(strays().is_empty(), "{:?}", strays());
    std::fs::remove_file(disk.dir.path().join("filler")).unwrap();
    let roomy = run();
    assert_eq!(roomy.code, 1, "a fixer that fixed fails\n{}", roomy.context);
    assert!(std::fs::read(root.join("big.txt")).unwrap() == fixed);
    assert!(strays().is_empty(), "{:?}", strays());
}
