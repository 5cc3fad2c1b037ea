//! One builder for every integration test: a throwaway git repository with a
//! fixed identity, a `checks.toml`, staged files, and the real precheck binary
//! run inside it. A failed expectation prints the command, the directory,
//! stdout and stderr.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_precheck");

pub struct TestRepo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

/// What one run of precheck did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub context: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.context))
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit status\n{}", self.context);
        self
    }

    /// The entry of one check in the JSON report.
    pub fn check(&self, name: &str) -> serde_json::Value {
        let doc = self.json();
        doc["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no check `{name}` in the report\n{}", self.context))
    }
}

/// The environment every child gets: no user or system git config, no hook
/// variables inherited from an outer git, no colour, and nothing an outer
/// precheck set (the suite runs as a check of precheck's own checks.toml,
/// under a hook shim that sets `PRECHECK_HOOKS_DIR`) or a CI runner set.
pub fn clean_env(cmd: &mut Command, home: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("GIT_")
            || k.starts_with("PRECHECK_")
            || k == "CI"
            || k == "GITHUB_ACTIONS"
            || k == "NO_COLOR"
            || k == "CLICOLOR_FORCE"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1");
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let repo = TestRepo { dir, home };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> &TestRepo {
        let p = self.file(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, contents).unwrap();
        self
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        fs::read_to_string(self.file(&rel))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", rel.as_ref().display()))
    }

    pub fn checks(&self, toml: &str) -> &TestRepo {
        self.write("checks.toml", toml)
    }

    pub fn git(&self, args: &[&str]) -> Output {
        self.git_os(args.iter().map(OsStr::new))
    }

    pub fn git_os<'a>(&self, args: impl IntoIterator<Item = &'a OsStr>) -> Output {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(self.path());
        clean_env(&mut cmd, self.home.path());
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "git {:?} failed in {}\n{}",
            cmd.get_args().collect::<Vec<_>>(),
            self.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs git and returns its output whatever the status (for `git commit`
    /// through hooks, which may fail on purpose).
    pub fn git_try(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null());
        clean_env(&mut cmd, self.home.path());
        finish(&mut cmd, self.path())
    }

    /// A `git` command with the test environment, not yet run.
    pub fn git_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null());
        clean_env(&mut cmd, self.home.path());
        cmd
    }

    /// The bytes of an object, like `git show SPEC` (`:path` for the index).
    pub fn show(&self, spec: &str) -> Vec<u8> {
        self.git(&["cat-file", "blob", spec]).stdout
    }

    pub fn bytes(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        fs::read(self.file(&rel))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", rel.as_ref().display()))
    }

    /// `precheck install`, which must succeed.
    pub fn install(&self) -> &TestRepo {
        self.precheck(&["install"]).expect_code(0);
        self
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn stage(&self, paths: &[&str]) -> &TestRepo {
        let mut args = vec!["add", "--"];
        args.extend(paths);
        self.git(&args);
        self
    }

    pub fn commit(&self, message: &str) -> &TestRepo {
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self
    }

    /// A `Command` for precheck in this repository, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.program(BIN);
        cmd.args(args);
        cmd
    }

    /// Any program, started as precheck is: in the repository, with the
    /// tests' clean environment and no stdin.
    pub fn program(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path());
        clean_env(&mut cmd, self.home.path());
        cmd.stdin(Stdio::null());
        cmd
    }

    pub fn precheck(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        finish(&mut cmd, self.path())
    }
}

pub fn finish(cmd: &mut Command, dir: &Path) -> Run {
    let out = cmd.output().expect("precheck runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let context = format!(
        "command: {:?} {:?}\ndirectory: {}\nstatus: {:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>(),
        dir.display(),
        out.status,
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        context,
    }
}

/// A shell snippet that appends "NAME start|end NANOS" to `times.log`, for
/// ordering and overlap assertions without wall-clock bounds.
pub fn timed(name: &str, body: &str) -> String {
    format!(
        "echo \"{name} start $(date +%s%N)\" >> times.log; {body}; echo \"{name} end $(date +%s%N)\" >> times.log"
    )
}

/// Intervals written by [`timed`] checks: name -> (start, end).
pub fn intervals(repo: &TestRepo) -> std::collections::BTreeMap<String, (u128, u128)> {
    let mut map = std::collections::BTreeMap::new();
    for line in repo.read("times.log").lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let t: u128 = parts[2].parse().unwrap();
        let e = map.entry(parts[0].to_string()).or_insert((0, 0));
        if parts[1] == "start" {
            e.0 = t;
        } else {
            e.1 = t;
        }
    }
    map
}

/// The most intervals that hold at one instant.
pub fn max_overlap(intervals: &std::collections::BTreeMap<String, (u128, u128)>) -> usize {
    let mut events: Vec<(u128, i32)> = Vec::new();
    for (s, e) in intervals.values() {
        assert!(e > s, "every check wrote a start and an end: {intervals:?}");
        events.push((*s, 1));
        events.push((*e, -1));
    }
    // Ends sort before starts at the same instant.
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

/// Is this process still there (a zombie counts as gone)?
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let after = &s[s.rfind(')').unwrap() + 1..];
            !after.trim_start().starts_with('Z')
        }
        Err(_) => false,
    }
}

/// Waits until `cond` holds, polling; panics with `what` after a generous limit.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What is at one path: kind, permission bits, bytes (a symlink's target).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub kind: &'static str,
    pub mode: u32,
    pub bytes: Vec<u8>,
}

pub fn item(path: &Path) -> Option<Item> {
    let meta = fs::symlink_metadata(path).ok()?;
    Some(if meta.file_type().is_symlink() {
        Item {
            kind: "link",
            mode: 0,
            bytes: fs::read_link(path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes(),
        }
    } else if meta.is_dir() {
        Item {
            kind: "dir",
            mode: 0,
            bytes: Vec::new(),
        }
    } else {
        Item {
            kind: "file",
            mode: meta.mode() & 0o777,
            bytes: fs::read(path).unwrap(),
        }
    })
}

/// Every path under `dir` (not `.git`), with what is there.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Item> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Item>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".git") {
                continue;
            }
            let it = item(&path).unwrap();
            let is_dir = it.kind == "dir";
            out.insert(rel, it);
            if is_dir {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Starts `precheck run ARGS --background` and returns the run id.
pub fn start(repo: &TestRepo, args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--background");
    let run = repo.precheck(&all);
    run.expect_code(0);
    let id = run.stdout.lines().next().unwrap_or_default().to_string();
    assert!(
        !id.is_empty() && run.stdout.lines().count() == 1,
        "{}",
        run.context
    );
    assert!(
        run.stderr.contains(&format!("precheck wait --run {id}")),
        "{}",
        run.context
    );
    id
}

/// A run's row in `tasks --format json`.
pub fn task(repo: &TestRepo, id: &str) -> serde_json::Value {
    let doc = repo.precheck(&["tasks", "--format", "json"]).json();
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("run {id} not listed: {doc}"))
}

/// A small file system of our own (tmpfs), for a real full disk. Needs
/// root (CI runs as root); says so and returns None elsewhere.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(SmallDisk { dir })
    }
}

impl SmallDisk {
    /// A copy of the repository (its .git too) on this disk: its root.
    pub fn holding(&self, repo: &TestRepo) -> PathBuf {
        let root = self.dir.path().join("repo");
        let cp = std::process::Command::new("cp")
            .arg("-a")
            .arg(repo.path())
            .arg(&root)
            .status()
            .unwrap();
        assert!(cp.success());
        root
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l"])
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system `dir` is on, but for `leave` bytes.
pub fn fill(dir: &Path, leave: u64) {
    let path = dir.join("filler");
    let mut f = fs::File::create(&path).unwrap();
    let chunk = vec![7u8; 4096];
    use std::io::Write;
    loop {
        // SAFETY: statvfs on a valid path into a zeroed struct.
        let free = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            libc::statvfs(c.as_ptr(), &mut st);
            st.f_bavail as u64 * st.f_frsize as u64
        };
        if free <= leave || f.write_all(&chunk).is_err() {
            break;
        }
    }
    f.sync_all().ok();
}
