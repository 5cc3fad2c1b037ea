//! Spawning: the only user of duct, the one launcher of check processes.
//!
//! It turns a check and its files into command lines (split into batches
//! under the OS argument limit, files always passed as separate arguments,
//! never pasted into shell text) and starts each as a process in its own
//! process group with stdin closed and stdout+stderr going to the check's log
//! file. It must not wait, measure or signal: the worker waits, and the
//! supervisor measures and signals (through `sys::signal`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::hash::Hash;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Mutex, OnceLock};

use crate::config::{Command, Run, FILES_PLACEHOLDER, MSG_PLACEHOLDER};

/// One process to start: a check runs one invocation per batch of files.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: OsString,
    /// The name the program sees as its argv[0] (a plain string `run`'s
    /// first word, as sh would pass it); None: the program's path.
    pub arg0: Option<OsString>,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    /// Dies with precheck (see `sys::child::tie`): set while files are set aside.
    pub tied: bool,
    /// Leads a session of its own, so that it outlives the terminal (a
    /// service `precheck up` starts); else only a process group.
    pub session: bool,
    /// A built-in, run by the worker in process instead of a program.
    pub builtin: Option<InProcess>,
}

/// A built-in check's work: what `exec::builtin` needs to do it.
#[derive(Debug, Clone)]
pub struct InProcess {
    pub builtin: crate::builtins::Builtin,
    /// The repository's root (the check's `dir` is the invocation's).
    pub root: PathBuf,
    /// Relative to the invocation's dir.
    pub files: Vec<PathBuf>,
}

/// Why a check cannot be started at all.
#[derive(Debug)]
pub struct Preflight(pub String);

use crate::env::MSG_FILE as MSG_ENV;

/// The shell script for a string `run`: `{files}` becomes `"$@"`, and the
/// files follow as positional parameters; `{msg}` becomes a quoted variable.
/// No file name is ever parsed by sh.
fn shell_script(run: &str) -> String {
    run.replace(FILES_PLACEHOLDER, "\"$@\"")
        .replace(MSG_PLACEHOLDER, &format!("\"${MSG_ENV}\""))
}

/// Shell words that make a command more than a program and its arguments:
/// sh's reserved words and its built-ins (which either have no program of
/// their name, or one that behaves differently), except `true` and `false`.
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "[", "[[", "alias", "bg", "break", "case", "cd", "chdir", "command", "continue",
    "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg",
    "fi", "for", "function", "getopts", "hash", "if", "in", "jobs", "kill", "let", "local",
    "printf", "pwd", "read", "readonly", "return", "select", "set", "shift", "source", "test",
    "then", "time", "times", "trap", "type", "typeset", "ulimit", "umask", "unalias", "unset",
    "until", "wait", "while",
];

/// A string `run` that sh would only split into words, as those words: no
/// quoting, expansion, redirection, operator, comment, assignment or
/// built-in, words separated by blanks, `{files}` and `{msg}` only as whole
/// words. Anything else (None) goes through sh.
fn plain_command(script: &str) -> Option<Vec<String>> {
    let words: Vec<String> = script
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let first = words.first()?;
    let plain = |w: &String| {
        w == FILES_PLACEHOLDER
            || w == MSG_PLACEHOLDER
            || w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./+,:=@%".contains(c))
    };
    let is_placeholder = first == FILES_PLACEHOLDER || first == MSG_PLACEHOLDER;
    (words.iter().all(plain)
        && !is_placeholder
        && !first.contains('=')
        && !SHELL_WORDS.contains(&first.as_str()))
    .then_some(words)
}

/// The program a plain command starts, if precheck can start it exactly as
/// sh would: found on PATH (or by its path), executable, and a binary or a
/// script with `#!` started by a name that is not relative (sh runs any
/// other file as a shell script itself). None:
/// leave it to sh, with its own messages and exit codes (127, 126).
fn direct_program(name: &str, dir: &Path, env: &[(String, String)]) -> Option<PathBuf> {
    static KNOWN: Memo<(String, PathBuf, Option<OsString>), Option<PathBuf>> = OnceLock::new();
    let key = (name.to_string(), dir.to_path_buf(), search_path(env));
    remembered(&KNOWN, key, || startable(name, dir, env))
}

fn startable(name: &str, dir: &Path, env: &[(String, String)]) -> Option<PathBuf> {
    use std::io::Read;
    let path = resolve_program(name, dir, env)?;
    let mut head = [0u8; 4];
    let mut file = File::open(&path).ok()?;
    file.read_exact(&mut head).ok()?;
    // The kernel gives a script the path it was started by as $0: sh's is
    // the name as written, which for a relative name precheck cannot pass
    // (it starts programs by a path from its own directory).
    let script = head.starts_with(b"#!");
    let same_name = !name.contains('/') || name.starts_with('/');
    (head == *b"\x7fELF" || (script && same_name)).then_some(path)
}

/// The PWD sh would export when started in `dir`: the inherited PWD if it
/// names the same directory, else the physical path.
fn shell_pwd(dir: &Path) -> String {
    static KNOWN: Memo<PathBuf, String> = OnceLock::new();
    remembered(&KNOWN, dir.to_path_buf(), || physical_or_inherited_pwd(dir))
}

/// Answers about the file system worked out once per process: most checks
/// share their directory and program, and a run has hundreds of checks.
type Memo<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

fn remembered<K: Eq + Hash, V: Clone>(memo: &Memo<K, V>, key: K, work: impl FnOnce() -> V) -> V {
    let known = memo.get_or_init(Default::default);
    if let Some(v) = known.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return v.clone();
    }
    let v = work();
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, v.clone());
    v
}

fn physical_or_inherited_pwd(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let same = |a: &Path| {
        let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(dir)) else {
            return false;
        };
        (x.dev(), x.ino()) == (y.dev(), y.ino())
    };
    match std::env::var_os(crate::env::PWD).and_then(|p| p.into_string().ok()) {
        Some(pwd) if pwd.starts_with('/') && same(Path::new(&pwd)) => pwd,
        _ => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .to_string_lossy()
            .into_owned(),
    }
}

/// The command lines for a check's (or service's) command over `files`
/// (relative to its dir); `msg` is the commit message file for `{msg}`.
pub fn invocations(
    check: &Command,
    root: &Path,
    files: &[PathBuf],
    msg: Option<&Path>,
) -> Result<Vec<Invocation>, Preflight> {
    let dir = match check.dir {
        Some(d) => root.join(d),
        None => root.to_path_buf(),
    };
    if !dir.is_dir() {
        return Err(Preflight(format!(
            "working directory `{}` does not exist\nhint: fix `dir` in checks.toml",
            dir.display()
        )));
    }
    if let Run::Builtin(b) = check.run {
        // One call over every file: no argument list to fit in.
        return Ok(vec![Invocation {
            program: b.display().into(),
            arg0: None,
            args: Vec::new(),
            dir,
            env: Vec::new(),
            tied: false,
            session: false,
            builtin: Some(InProcess {
                builtin: b.clone(),
                root: root.to_path_buf(),
                files: files.to_vec(),
            }),
        }]);
    }
    let arg = |a: &String| -> OsString {
        match msg {
            Some(m) if a == MSG_PLACEHOLDER => m.as_os_str().to_os_string(),
            _ => OsString::from(a),
        }
    };
    // argv around `{files}`: the words before it and after it.
    let split = |argv: &[String]| -> (Vec<OsString>, Vec<OsString>) {
        match argv.iter().position(|a| a == FILES_PLACEHOLDER) {
            Some(i) => (
                argv[1..i].iter().map(arg).collect(),
                argv[i + 1..].iter().map(arg).collect(),
            ),
            None => (argv[1..].iter().map(arg).collect(), Vec::new()),
        }
    };
    let plain = match check.run {
        Run::Shell(script) => plain_command(script)
            .and_then(|argv| Some((direct_program(&argv[0], &dir, check.env)?, argv))),
        Run::Exec(_) | Run::Builtin(_) => None,
    };
    let (program, arg0, before, after): (OsString, Option<OsString>, Vec<OsString>, Vec<OsString>) =
        match (check.run, plain) {
            // A plain command: started as sh would start it, without sh.
            (_, Some((program, argv))) => {
                let (before, after) = split(&argv);
                (
                    program.into_os_string(),
                    Some(argv[0].clone().into()),
                    before,
                    after,
                )
            }
            (Run::Shell(script), None) => (
                // By path: no search of PATH for every check.
                "/bin/sh".into(),
                None,
                vec!["-c".into(), shell_script(script).into(), "precheck".into()],
                Vec::new(),
            ),
            (Run::Builtin(_), None) => unreachable!("a built-in returned above"),
            (Run::Exec(argv), None) => {
                let program = resolve_program(&argv[0], &dir, check.env).ok_or_else(|| {
                    Preflight(format!(
                        "program `{}` not found\nhint: install it, or fix `run` in checks.toml (PATH and `dir` are searched)",
                        argv[0]
                    ))
                })?;
                let (before, after) = split(argv);
                (program.into_os_string(), None, before, after)
            }
        };
    let mut env = check.env.to_vec();
    if let Some(m) = msg {
        env.push((MSG_ENV.to_string(), m.to_string_lossy().into_owned()));
    }
    if arg0.is_some() && !env.iter().any(|(k, _)| k == crate::env::PWD) {
        // sh exports PWD (its working directory) to what it runs.
        env.push((crate::env::PWD.to_string(), shell_pwd(&dir)));
    }
    let make = |batch: &[PathBuf]| Invocation {
        program: program.clone(),
        arg0: arg0.clone(),
        args: before
            .iter()
            .cloned()
            .chain(batch.iter().map(|f| as_operand(f)))
            .chain(after.iter().cloned())
            .collect(),
        dir: dir.clone(),
        env: env.clone(),
        tied: false,
        session: false,
        builtin: None,
    };
    if !check.run.uses_files() || files.is_empty() {
        return Ok(vec![make(&[])]);
    }
    let fixed: usize = std::iter::once(&program)
        .chain(&before)
        .chain(&after)
        .map(|a| arg_cost(a.len()))
        .sum::<usize>()
        + env
            .iter()
            .map(|(k, v)| arg_cost(k.len() + v.len() + 1))
            .sum::<usize>();
    let budget = arg_budget().saturating_sub(fixed).max(arg_cost(4096));
    Ok(batches(files, budget).into_iter().map(make).collect())
}

/// The program a check starts, for its cache key: an array `run`'s first
/// element, or the first word of a string `run` when it is a plain command
/// name; resolved as it would be, and identified by its path and metadata
/// (another version installed, or another one first on PATH, is another
/// program). Empty when it cannot be found (the check will fail anyway).
pub fn program_identity(check: &crate::config::Check, root: &Path) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let name = match &check.run {
        Run::Exec(argv) => argv.first().cloned(),
        Run::Shell(script) => script
            .split_whitespace()
            .next()
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./+".contains(c))
            })
            .map(String::from),
        // Built-ins are precheck's own code: a new precheck is a new program.
        Run::Builtin(_) => std::env::current_exe()
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
    };
    let dir = match &check.dir {
        Some(d) => root.join(d),
        None => root.to_path_buf(),
    };
    let Some(path) = name.and_then(|n| resolve_program(&n, &dir, &check.env)) else {
        return Vec::new();
    };
    let real = std::fs::canonicalize(&path).unwrap_or(path);
    let mut id = real.as_os_str().as_encoded_bytes().to_vec();
    if let Ok(m) = std::fs::metadata(&real) {
        for n in [
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime() as u64,
            m.mtime_nsec() as u64,
        ] {
            id.extend_from_slice(&n.to_le_bytes());
        }
    }
    id
}

/// A file as an argument that no program takes for an option: a name that
/// starts with `-` is passed as `./-…` (relative to the check's dir).
fn as_operand(file: &Path) -> OsString {
    if std::os::unix::ffi::OsStrExt::as_bytes(file.as_os_str()).starts_with(b"-") {
        Path::new(".").join(file).into_os_string()
    } else {
        file.as_os_str().to_os_string()
    }
}

/// What one argument costs against ARG_MAX: its bytes, its NUL, its pointer.
fn arg_cost(len: usize) -> usize {
    len + 1 + std::mem::size_of::<usize>()
}

/// Room for arguments: ARG_MAX less this process's environment and a margin.
fn arg_budget() -> usize {
    // SAFETY: sysconf has no preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    let max = if max > 0 { max as usize } else { 128 * 1024 };
    let env: usize = std::env::vars_os()
        .map(|(k, v)| arg_cost(k.len() + v.len() + 1))
        .sum();
    // Keep well under the limit: the child's environment may differ a little.
    (max.saturating_sub(env) / 2).max(16 * 1024)
}

/// Splits files into consecutive batches whose arguments fit in `budget`;
/// every file is in exactly one batch, in order.
fn batches(files: &[PathBuf], budget: usize) -> Vec<&[PathBuf]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, f) in files.iter().enumerate() {
        let cost = arg_cost(f.as_os_str().len());
        if i > start && used + cost > budget {
            out.push(&files[start..i]);
            start = i;
            used = 0;
        }
        used += cost;
    }
    out.push(&files[start..]);
    out
}

/// Finds a program as `which` would, with the check's own PATH if it sets one;
/// a name with a slash is relative to the working directory.
/// Looked up once per program, directory and PATH (the cache key and the
/// start of a check both ask).
pub fn resolve_program(program: &str, dir: &Path, env: &[(String, String)]) -> Option<PathBuf> {
    static KNOWN: Memo<(String, PathBuf, Option<OsString>), Option<PathBuf>> = OnceLock::new();
    let path = search_path(env);
    let key = (program.to_string(), dir.to_path_buf(), path.clone());
    remembered(&KNOWN, key, || which::which_in(program, path, dir).ok())
}

/// The PATH a check's programs are looked up on: its own `env`'s, else ours.
fn search_path(env: &[(String, String)]) -> Option<OsString> {
    env.iter()
        .find(|(k, _)| k == crate::env::PATH)
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os(crate::env::PATH))
}

/// A started process, to wait for.
pub type Handle = duct::Handle;

/// Starts one invocation: own process group, stdin closed, output to `log`.
pub fn start(inv: &Invocation, log: &File) -> io::Result<Handle> {
    let (tied, session) = (inv.tied, inv.session);
    let arg0 = inv.arg0.clone();
    let mut expr = duct::cmd(&inv.program, &inv.args)
        .dir(&inv.dir)
        .stdin_null()
        // duct applies the outer redirection first: stderr joins stdout,
        // then stdout (both) goes to the log.
        .stderr_to_stdout()
        .stdout_file(log.try_clone()?)
        .unchecked()
        .before_spawn(move |cmd| {
            if session {
                crate::sys::child::detach(cmd);
            } else {
                cmd.process_group(0);
            }
            if let Some(name) = &arg0 {
                cmd.arg0(name);
            }
            // Found by its mark if it outlives precheck; killed with it
            // when tied.
            crate::sys::child::own(cmd);
            if tied {
                crate::sys::child::tie(cmd);
            }
            Ok(())
        });
    // What precheck tells itself is not for the checks (a check may run precheck).
    expr = expr
        .env_remove(crate::env::RUN_ID)
        .env_remove(crate::env::HOOKS_DIR);
    for (k, v) in &inv.env {
        expr = expr.env(k, v);
    }
    expr.start()
}

/// Exit code and signal of a finished process.
pub fn status_parts(status: ExitStatus) -> (Option<i32>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    (status.code(), status.signal())
}

/// How a process ended, in words: `exit code 1`, `killed by signal 9`.
pub fn exit_words(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

/// Reads the "program not found" that sh prints for exit 127, if that is what happened.
pub fn missing_program(log_tail: &str) -> Option<String> {
    log_tail.lines().rev().find_map(|line| {
        let line = line.trim_end();
        let rest = line
            .strip_suffix(": command not found")
            .or_else(|| line.strip_suffix(": not found"))?;
        let name = rest.rsplit(": ").next()?.trim();
        (!name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_file_once_in_order() {
        let files: Vec<PathBuf> = (0..1000)
            .map(|i| PathBuf::from(format!("f{i:04}")))
            .collect();
        let parts = batches(&files, 500);
        assert!(parts.len() > 1);
        let joined: Vec<PathBuf> = parts.concat();
        assert_eq!(joined, files);
        for p in &parts {
            let cost: usize = p.iter().map(|f| arg_cost(f.as_os_str().len())).sum();
            assert!(cost <= 500 || p.len() == 1);
        }
    }

    #[test]
    fn only_a_program_and_its_words_go_without_sh() {
        let words = |s: &str| plain_command(s).map(|w| w.join("|"));
        assert_eq!(words("true").as_deref(), Some("true"));
        assert_eq!(
            words("  cargo clippy --all-targets -- -D warnings").as_deref(),
            Some("cargo|clippy|--all-targets|--|-D|warnings")
        );
        assert_eq!(
            words("ruff check --line-length=100 {files}").as_deref(),
            Some("ruff|check|--line-length=100|{files}")
        );
        assert_eq!(words("./lint.sh {msg}").as_deref(), Some("./lint.sh|{msg}"));
        for shell in [
            "",
            "FOO=1 make",
            "cd web",
            "echo -e x",
            "exit 1",
            "true; false",
            "make && make test",
            "ls *.rs",
            "echo $HOME",
            "cat ~/x",
            "grep 'a b' f",
            "grep \"a\" f",
            "a\\ b",
            "sleep 1 &",
            "x > out",
            "x < in",
            "x | y",
            "x # comment",
            "x\ny",
            "x --files={files}",
            "{files}",
            "(x)",
            "x `y`",
            "x [ab]",
            "x ?",
            "x {a,b}",
            "if",
            "! x",
        ] {
            assert_eq!(words(shell), None, "{shell:?} must go through sh");
        }
    }

    #[test]
    fn sh_missing_program_is_recognised() {
        assert_eq!(
            missing_program("sh: 1: eslint: not found\n").as_deref(),
            Some("eslint")
        );
        assert_eq!(
            missing_program("bash: line 1: ruff: command not found").as_deref(),
            Some("ruff")
        );
        assert_eq!(missing_program("all good"), None);
    }
}
