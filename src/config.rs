//! `checks.toml`: the serde types that read it, the sizes and durations it
//! speaks in, and the validation that turns it into a [`Config`].
//!
//! Every error points at the exact span in the file (`checks.toml:LINE:COL`,
//! the line, a caret) and names the key; nothing here panics on bad input.
//! It reads checks.toml and, laid over it, a developer's own
//! `checks.local.toml` (same schema; a key it sets replaces the shared
//! one), and touches neither git nor processes.
//!
//! Why one file over 500 lines: the contract of checks.toml is read in one
//! place, so that every key, its type, its span and its error live together
//! (a key added here is added to the parser, the validation and the errors
//! at once).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// The hooks a check may name. `manual` checks run only when named or with `--hook manual`.
pub const HOOKS: &[&str] = &[
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-rebase",
    "post-rewrite",
    "manual",
];

/// The hook a check belongs to when it names none.
pub const DEFAULT_HOOK: &str = "pre-commit";

/// Every hook git knows (githooks(5)), for telling a typo from a hook that
/// simply has no checks.
pub const GIT_HOOKS: &[&str] = &[
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "fsmonitor-watchman",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
    "post-index-change",
];

/// The placeholder replaced by the check's files, each as its own argument.
pub const FILES_PLACEHOLDER: &str = "{files}";
/// The placeholder replaced by the commit message file's path (commit-msg hooks).
pub const MSG_PLACEHOLDER: &str = "{msg}";

/// The per-developer file laid over checks.toml, at the repository root
/// and never tracked: it turns checks off, changes keys and settings, adds
/// checks and services.
pub const LOCAL_FILE: &str = "checks.local.toml";

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub settings: Settings,
    /// In file order (checks the local file adds come last, in its order).
    pub checks: Vec<Check>,
    /// Long-running processes checks may need, in file order.
    pub services: Vec<Service>,
    /// What checks.local.toml changed, when there is one.
    pub local: Option<Layer>,
}

impl Config {
    /// The service called `name`, if there is one.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// What the local file did to the check called `name`, if anything.
    pub fn local_check(&self, name: &str) -> Option<&Touched> {
        self.local.as_ref()?.checks.iter().find(|t| t.name == name)
    }

    /// Where `skip = true` of the check `name` was written: the local
    /// file's name, or the shared file's.
    pub fn skip_source(&self, name: &str) -> String {
        let local = self
            .local_check(name)
            .is_some_and(|t| t.keys.iter().any(|k| k == "skip"));
        let path = match (&self.local, local) {
            (Some(layer), true) => &layer.path,
            _ => &self.path,
        };
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// What the local file laid over the shared one: provenance for `list`
/// and for the reasons of the plan. Not part of any check, so that where a
/// key was written never changes a check's cache key, only its value does.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub path: PathBuf,
    /// The settings it set, by key.
    pub settings: Vec<String>,
    /// The checks it added or changed, in its order.
    pub checks: Vec<Touched>,
    pub services: Vec<Touched>,
}

/// A check or service the local file added (declared whole) or changed
/// (the keys it set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub name: String,
    pub added: bool,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub jobs: Option<usize>,
    pub memory: Option<MemoryCap>,
    pub default_memory: u64,
    pub fail_fast: bool,
    pub output_lines: usize,
    /// Finished runs' records kept under the git dir.
    pub keep_runs: usize,
    /// Passing results are cached.
    pub cache: bool,
    /// Untracked files are set aside too while pre-commit checks run, so
    /// they see exactly the tree the commit will hold.
    pub hide_untracked: bool,
    /// A hook that passed shows its table too (else only the verdict line).
    pub hook_table: bool,
}

/// How many finished runs are kept by default (`settings.keep_runs`).
pub const KEEP_RUNS: usize = 20;

pub const DEFAULT_MEMORY: u64 = 512 * MIB;
pub const DEFAULT_OUTPUT_LINES: usize = 200;

/// The memory cap as written: bytes, or a share of total physical memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryCap {
    Bytes(u64),
    Percent(f64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Runs with `sh -c`.
    Shell(String),
    /// Executed directly; element 0 is the program.
    Exec(Vec<String>),
    /// Run in process by precheck itself (`builtin:NAME`).
    Builtin(crate::builtins::Builtin),
}

impl Run {
    pub fn uses_files(&self) -> bool {
        match self {
            Run::Shell(s) => s.contains(FILES_PLACEHOLDER),
            Run::Exec(v) => v.iter().any(|a| a == FILES_PLACEHOLDER),
            Run::Builtin(b) => b.kind.takes_files(),
        }
    }

    /// How the command reads in a listing.
    pub fn display(&self) -> String {
        match self {
            Run::Shell(s) => s.clone(),
            Run::Exec(v) => v.join(" "),
            Run::Builtin(b) => b.display(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub run: Run,
    pub glob: Vec<String>,
    pub exclude: Vec<String>,
    /// Regular expressions a file's path must all match (searched, like
    /// pre-commit's `files`; an array holds its top-level `files` and a hook's).
    pub regex: Vec<String>,
    /// A regular expression of paths never given to it.
    pub exclude_regex: Option<String>,
    /// Declared expected peak; `None` means `default_memory`.
    pub memory: Option<u64>,
    pub memory_limit: Option<u64>,
    pub timeout: Option<Duration>,
    /// Names of checks this one needs; all exist and form no cycle.
    pub needs: Vec<String>,
    /// Working directory relative to the repository root.
    pub dir: Option<String>,
    pub env: Vec<(String, String)>,
    pub hooks: Vec<String>,
    /// It may modify files: it never runs beside a check whose files overlap.
    pub fix: bool,
    /// Files it fixed are staged again (in a pre-commit hook).
    pub stage_fixed: bool,
    /// Its passes may be cached.
    pub cache: bool,
    /// Files its result depends on (globs), narrowing its cache key; empty
    /// means every file of the tree it runs on.
    pub inputs: Vec<String>,
    /// `skip = true`: never runs.
    pub off: bool,
    /// `skip = [...]`: skipped when any of these holds.
    pub skip: Vec<Condition>,
    /// `only = [...]`: runs only when one of these holds (empty: always).
    pub only: Vec<Condition>,
}

/// A fact about the repository or the environment that `skip` and `only`
/// test; the plan is given the facts and decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A merge is in progress (`MERGE_HEAD`).
    Merge,
    /// A rebase is in progress.
    Rebase,
    /// The current branch's short name matches one of these globs.
    Branch(Vec<String>),
    /// The variable is set and not empty.
    Env(String),
}

/// What starts a check's or a service's process: its command, its
/// directory and its environment.
pub struct Command<'a> {
    pub run: &'a Run,
    pub dir: Option<&'a str>,
    pub env: &'a [(String, String)],
}

impl Service {
    pub fn command(&self) -> Command<'_> {
        Command {
            run: &self.run,
            dir: self.dir.as_deref(),
            env: &self.env,
        }
    }
}

impl Check {
    pub fn command(&self) -> Command<'_> {
        Command {
            run: &self.run,
            dir: self.dir.as_deref(),
            env: &self.env,
        }
    }

    /// Whether it reads every file name in the index, not only its files
    /// (the built-in check-case-conflict).
    pub fn reads_every_name(&self) -> bool {
        matches!(&self.run, Run::Builtin(b) if b.kind == crate::builtins::Kind::CheckCaseConflict)
    }

    /// A file check runs only when the change holds files for it.
    pub fn is_file_check(&self) -> bool {
        !self.glob.is_empty() || !self.regex.is_empty() || self.run.uses_files()
    }
}

/// How long a service may take to become ready unless `ready_timeout` says.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A long-running process (a dev server, a watcher) that checks may need:
/// started before them, ready before they start, stopped after the last.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub run: Run,
    pub ready: Ready,
    pub ready_timeout: Duration,
    /// Declared memory; `None` means `default_memory`.
    pub memory: Option<u64>,
    pub dir: Option<String>,
    pub env: Vec<(String, String)>,
}

/// When a service counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// An HTTP GET of this URL answers with a status below 500.
    Url(Url),
    /// A TCP connection to this port on the local host is accepted.
    Port(u16),
    /// A line of its output matches this regular expression.
    Log(String),
    /// As soon as its process has started (no probe declared).
    Started,
}

/// A plain `http://` URL, as a probe needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// As written.
    pub text: String,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// With its query, starting with `/`.
    pub path: String,
}

impl Ready {
    /// How it reads in messages: `http://…`, `port 5173`, `log /re/`.
    pub fn describe(&self) -> String {
        match self {
            Ready::Url(u) => u.text.clone(),
            Ready::Port(p) => format!("port {p}"),
            Ready::Log(re) => format!("a log line matching /{re}/"),
            Ready::Started => "its start".into(),
        }
    }
}

/// Reads an `http://host[:port][/path]` URL; what is wrong otherwise.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let rest = match text.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(format!(
            "`{text}`: https is not probed; use an http:// URL, or `ready_port` for a TLS server"
        ))
        }
        _ => {
            return Err(format!(
                "`{text}` is not an http:// URL; write it like \"http://127.0.0.1:5173/\""
            ))
        }
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    if authority.contains('@') {
        return Err(format!(
            "`{text}`: a user or password in the URL is not supported"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: an IPv6 host needs its closing `]`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace()) {
        return Err(format!("`{text}` names no host"));
    }
    let port = match port {
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("`{text}`: `{p}` is not a port (1 to 65535)"))?,
    };
    if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{text}`: the path may not hold spaces or control characters"
        ));
    }
    Ok(Url {
        text: text.to_string(),
        host: host.to_string(),
        port,
        path,
    })
}

/// A user-facing error in `checks.toml`, with the position it is about.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    source_line: String,
    width: usize,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        )
    }
}

impl std::error::Error for ConfigError {}

/// The text errors point into: checks.toml, and the local file laid over
/// it. The local file is parsed behind as many newlines as checks.toml has
/// bytes, so that one span says both which file and where.
struct Source<'a> {
    files: Vec<(&'a Path, &'a str)>,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        // The file the span starts in; its first byte is at `base`.
        let (mut at, mut base) = (0, 0);
        for (i, (_, text)) in self.files.iter().enumerate() {
            at = i;
            if span.start < base + text.len() || i + 1 == self.files.len() {
                break;
            }
            base += text.len();
        }
        let (path, text) = self.files[at];
        let span = span.start.saturating_sub(base)..span.end.saturating_sub(base);
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end);
        let width = text[start..end].chars().count();
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line: text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            width,
        }
    }
}

// ---- raw serde types: exactly the file's shape, with spans ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    checks: IndexMap<Spanned<String>, Spanned<RawCheck>>,
    #[serde(default)]
    services: IndexMap<Spanned<String>, Spanned<RawService>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    run: Option<Spanned<toml::Value>>,
    ready: Option<Spanned<String>>,
    ready_port: Option<Spanned<i64>>,
    ready_log: Option<Spanned<String>>,
    ready_timeout: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
    dir: Option<Spanned<String>>,
    env: Option<IndexMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    jobs: Option<Spanned<i64>>,
    memory: Option<Spanned<String>>,
    default_memory: Option<Spanned<String>>,
    fail_fast: Option<bool>,
    output_lines: Option<Spanned<i64>>,
    keep_runs: Option<Spanned<i64>>,
    cache: Option<bool>,
    untracked: Option<Spanned<String>>,
    hook_output: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    run: Option<Spanned<toml::Value>>,
    glob: Option<Spanned<toml::Value>>,
    exclude: Option<Spanned<toml::Value>>,
    regex: Option<Spanned<toml::Value>>,
    exclude_regex: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
    memory_limit: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    needs: Option<Vec<Spanned<String>>>,
    dir: Option<Spanned<String>>,
    env: Option<IndexMap<String, String>>,
    hooks: Option<Vec<Spanned<String>>>,
    fix: Option<bool>,
    stage_fixed: Option<bool>,
    cache: Option<bool>,
    inputs: Option<Spanned<toml::Value>>,
    skip: Option<Spanned<RawGate>>,
    only: Option<Spanned<RawGate>>,
}

/// `skip` or `only` as written: `true`/`false`, or a list of conditions
/// (each with its own span, for errors).
enum RawGate {
    Always(bool),
    Conditions(Vec<Spanned<toml::Value>>),
}

impl<'de> Deserialize<'de> for RawGate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawGate, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawGate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(CONDITIONS_FORM)
            }
            fn visit_bool<E>(self, b: bool) -> Result<RawGate, E> {
                Ok(RawGate::Always(b))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawGate, E> {
                Err(E::custom(format!(
                    "a list is expected: write [\"{s}\"]; {CONDITIONS_FORM}"
                )))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawGate, A::Error> {
                let mut out = Vec::new();
                while let Some(c) = seq.next_element()? {
                    out.push(c);
                }
                Ok(RawGate::Conditions(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// How `skip` and `only` are written, for errors.
const CONDITIONS_FORM: &str = "`skip` is true, or a list of conditions like [\"merge\", \"rebase\", { branch = \"main\" }, { env = \"CI\" }] (`only` takes the same list)";

/// Reads and validates the file at `path`, with the local file at `local`
/// laid over it when that file exists.
pub fn load(path: &Path, local: Option<&Path>) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}\nhint: create one with `precheck init`, or point at one with --config PATH",
            path.display()
        )
    })?;
    with_local(path, &text, local)
}

/// Parses a checks file read from git (the index, a commit) rather than
/// from disk; `path` says which, in errors. The local file at `local` is
/// read from disk: it is never tracked.
pub fn parse_bytes(path: &Path, bytes: Vec<u8>, local: Option<&Path>) -> anyhow::Result<Config> {
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
    with_local(path, &text, local)
}

fn with_local(path: &Path, text: &str, local: Option<&Path>) -> anyhow::Result<Config> {
    let local_text = local.map(read_local).transpose()?.flatten();
    Ok(parse_layered(path, text, local.zip(local_text.as_deref()))?)
}

/// The local file's text; None when there is none.
pub fn read_local(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Parses `text` as the contents of `path` (used in errors only).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_layered(path, text, None)
}

/// Parses `text` as the contents of `path`, with `local` (its path and
/// text) laid over it: a key it sets replaces the shared one, a check or
/// service it names that the shared file lacks is added.
pub fn parse_layered(
    path: &Path,
    text: &str,
    local: Option<(&Path, &str)>,
) -> Result<Config, ConfigError> {
    let mut src = Source {
        files: vec![(path, text)],
    };
    let toml_error = |src: &Source, e: toml::de::Error, at: usize| {
        src.error(e.span().unwrap_or(at..at), e.message().trim().to_string())
    };
    let mut raw: RawFile = toml::from_str(text).map_err(|e| toml_error(&src, e, 0))?;
    let mut layer = None;
    if let Some((local_path, local_text)) = local {
        src.files.push((local_path, local_text));
        // Behind checks.toml's length in newlines: its spans are past
        // checks.toml's, so errors find their file (see `Source`).
        let padded = format!("{}{local_text}", "\n".repeat(text.len()));
        let top: RawFile = toml::from_str(&padded).map_err(|e| toml_error(&src, e, text.len()))?;
        layer = Some(overlay(&mut raw, top, local_path));
    }
    let settings = settings(&src, raw.settings)?;
    let mut checks = Vec::with_capacity(raw.checks.len());
    let mut needs_spans = Vec::new();
    for (name, body) in raw.checks {
        let (check, spans) = check(&src, name, body)?;
        checks.push(check);
        needs_spans.push(spans);
    }
    let mut services = Vec::with_capacity(raw.services.len());
    for (name, body) in raw.services {
        if checks.iter().any(|c| &c.name == name.get_ref()) {
            return Err(src.error(
                name.span(),
                format!(
                    "`{}` is both a check and a service; rename one (`needs` names either)",
                    name.get_ref()
                ),
            ));
        }
        services.push(service(&src, name, body)?);
    }
    validate_needs(&src, &checks, &services, &needs_spans)?;
    Ok(Config {
        path: path.to_path_buf(),
        settings,
        checks,
        services,
        local: layer,
    })
}

/// Sets each of `fields` that the local file set on `base`, and names it
/// in `keys`. The fields are destructured from the local table without
/// `..`, so a key added to the schema and not here does not compile.
macro_rules! lay {
    ($base:expr, $keys:expr, $($field:ident),* $(,)?) => {$(
        if let Some(v) = $field {
            $base.$field = Some(v);
            $keys.push(stringify!($field).to_string());
        }
    )*};
}

/// Lays the local file `top` over `base`; what it touched.
fn overlay(base: &mut RawFile, top: RawFile, path: &Path) -> Layer {
    let mut layer = Layer {
        path: path.to_path_buf(),
        ..Layer::default()
    };
    let RawSettings {
        jobs,
        memory,
        default_memory,
        fail_fast,
        output_lines,
        keep_runs,
        cache,
        untracked,
        hook_output,
    } = top.settings;
    lay!(
        base.settings,
        layer.settings,
        jobs,
        memory,
        default_memory,
        fail_fast,
        output_lines,
        keep_runs,
        cache,
        untracked,
        hook_output
    );
    for (name, body) in top.checks {
        let span = body.span();
        let (target, added) = match base.checks.get_mut(&name) {
            Some(b) => (b.get_mut(), false),
            None => {
                let fresh = Spanned::new(span, RawCheck::default());
                (
                    base.checks.entry(name.clone()).or_insert(fresh).get_mut(),
                    true,
                )
            }
        };
        let RawCheck {
            run,
            glob,
            exclude,
            regex,
            exclude_regex,
            memory,
            memory_limit,
            timeout,
            needs,
            dir,
            env,
            hooks,
            fix,
            stage_fixed,
            cache,
            inputs,
            skip,
            only,
        } = body.into_inner();
        let mut keys = Vec::new();
        lay!(
            target,
            keys,
            run,
            glob,
            exclude,
            regex,
            exclude_regex,
            memory,
            memory_limit,
            timeout,
            needs,
            dir,
            env,
            hooks,
            fix,
            stage_fixed,
            cache,
            inputs,
            skip,
            only,
        );
        layer.checks.push(Touched {
            name: name.into_inner(),
            added,
            keys,
        });
    }
    for (name, body) in top.services {
        let span = body.span();
        let (target, added) = match base.services.get_mut(&name) {
            Some(b) => (b.get_mut(), false),
            None => {
                let fresh = Spanned::new(span, RawService::default());
                (
                    base.services.entry(name.clone()).or_insert(fresh).get_mut(),
                    true,
                )
            }
        };
        let RawService {
            run,
            ready,
            ready_port,
            ready_log,
            ready_timeout,
            memory,
            dir,
            env,
        } = body.into_inner();
        let mut keys = Vec::new();
        // One probe: the local file's replaces the shared one's.
        if ready.is_some() || ready_port.is_some() || ready_log.is_some() {
            (target.ready, target.ready_port, target.ready_log) = (None, None, None);
        }
        lay!(
            target,
            keys,
            run,
            ready,
            ready_port,
            ready_log,
            ready_timeout,
            memory,
            dir,
            env
        );
        layer.services.push(Touched {
            name: name.into_inner(),
            added,
            keys,
        });
    }
    layer
}

fn settings(src: &Source, raw: RawSettings) -> Result<Settings, ConfigError> {
    let jobs = match raw.jobs {
        Some(j) if *j.get_ref() < 1 => {
            return Err(src.error(j.span(), "`jobs` must be at least 1"));
        }
        Some(j) => Some(*j.get_ref() as usize),
        None => None,
    };
    let memory = match raw.memory {
        Some(m) => Some(
            parse_memory_cap(m.get_ref())
                .map_err(|e| src.error(m.span(), format!("`memory`: {e}")))?,
        ),
        None => None,
    };
    let default_memory = match raw.default_memory {
        Some(m) => spanned_size(src, &m, "default_memory")?,
        None => DEFAULT_MEMORY,
    };
    let output_lines = match raw.output_lines {
        Some(n) if *n.get_ref() < 0 => {
            return Err(src.error(n.span(), "`output_lines` must be 0 or more"));
        }
        Some(n) => *n.get_ref() as usize,
        None => DEFAULT_OUTPUT_LINES,
    };
    let keep_runs = match raw.keep_runs {
        Some(n) if *n.get_ref() < 1 => {
            return Err(src.error(n.span(), "`keep_runs` must be at least 1"));
        }
        Some(n) => *n.get_ref() as usize,
        None => KEEP_RUNS,
    };
    let hide_untracked = either(src, raw.untracked, "untracked", ["show", "hide"])?;
    let hook_table = either(src, raw.hook_output, "hook_output", ["brief", "table"])?;
    Ok(Settings {
        jobs,
        memory,
        default_memory,
        fail_fast: raw.fail_fast.unwrap_or(false),
        output_lines,
        keep_runs,
        cache: raw.cache.unwrap_or(true),
        hide_untracked,
        hook_table,
    })
}

fn check(
    src: &Source,
    name: Spanned<String>,
    body: Spanned<RawCheck>,
) -> Result<(Check, Vec<Range<usize>>), ConfigError> {
    let name = task_name(src, name, "check")?;
    let body_span = body.span();
    let raw = body.into_inner();
    let who = format!("check `{name}`");
    let run = run(src, &who, body_span, raw.run)?;
    let run_kind = match &run {
        Run::Builtin(b) => Some(b.kind),
        _ => None,
    };
    let glob = string_list(src, &name, "glob", raw.glob)?;
    let inputs = string_list(src, &name, "inputs", raw.inputs)?;
    let regex = regex_list(src, &who, raw.regex)?;
    let exclude_regex = raw
        .exclude_regex
        .map(|v| regex_of(src, v, &who, "exclude_regex"))
        .transpose()?;
    let exclude = string_list(src, &name, "exclude", raw.exclude)?;
    let memory = raw
        .memory
        .map(|m| spanned_size(src, &m, "memory"))
        .transpose()?;
    let dir = work_dir(src, raw.dir)?;
    let memory_limit = match &raw.memory_limit {
        Some(m) => {
            let limit = spanned_size(src, m, "memory_limit")?;
            if limit == 0 {
                return Err(src.error(
                    m.span(),
                    format!("check `{name}`: `memory_limit` of 0 would kill the check at once; remove the key for no limit"),
                ));
            }
            if memory.is_some_and(|expected| limit < expected) {
                return Err(src.error(
                    m.span(),
                    format!("check `{name}`: `memory_limit` is below its expected `memory`; raise the limit or lower `memory`"),
                ));
            }
            Some(limit)
        }
        None => None,
    };
    let timeout = raw
        .timeout
        .map(|t| {
            positive_duration(
                src,
                &t,
                "`timeout`",
                format!("check `{name}`: `timeout` of 0 would stop the check at once; remove the key for no timeout"),
            )
        })
        .transpose()?;
    let mut needs_spans = Vec::new();
    let mut needs = Vec::new();
    for n in raw.needs.unwrap_or_default() {
        needs_spans.push(n.span());
        needs.push(n.into_inner());
    }
    let hooks = match raw.hooks {
        Some(hooks) => {
            let mut out = Vec::new();
            for h in hooks {
                if !HOOKS.contains(&h.get_ref().as_str()) {
                    return Err(src.error(
                        h.span(),
                        format!(
                            "unknown hook `{}`; expected one of {}",
                            h.get_ref(),
                            HOOKS.join(", ")
                        ),
                    ));
                }
                out.push(h.into_inner());
            }
            out
        }
        None => vec![DEFAULT_HOOK.to_string()],
    };
    let (off, skip) = gate(src, &who, "skip", raw.skip)?;
    let (_, only) = gate(src, &who, "only", raw.only)?;
    // A check run only by hand (a deploy, a release) is run again each time
    // it is asked for, unless it opts in.
    let cache = raw.cache.unwrap_or(!hooks.iter().all(|h| h == "manual"));
    Ok((
        Check {
            name,
            run,
            glob,
            exclude,
            regex,
            exclude_regex,
            memory,
            memory_limit,
            timeout,
            needs,
            dir,
            env: raw.env.unwrap_or_default().into_iter().collect(),
            hooks,
            // Staging what it fixed makes it a fixer.
            fix: raw.fix.unwrap_or(matches!(&run_kind, Some(k) if k.fixes()))
                || raw.stage_fixed.unwrap_or(false),
            stage_fixed: raw.stage_fixed.unwrap_or(false),
            cache,
            inputs,
            off,
            skip,
            only,
        },
        needs_spans,
    ))
}

/// `skip` or `only` (`key`) of `who`: whether it is `true` (`skip` only),
/// and its conditions.
fn gate(
    src: &Source,
    who: &str,
    key: &str,
    value: Option<Spanned<RawGate>>,
) -> Result<(bool, Vec<Condition>), ConfigError> {
    let Some(value) = value else {
        return Ok((false, Vec::new()));
    };
    let span = value.span();
    match value.into_inner() {
        RawGate::Always(b) if key == "skip" => Ok((b, Vec::new())),
        RawGate::Always(_) => Err(src.error(
            span,
            format!("{who}: `only` takes a list of conditions, like [{{ branch = \"main\" }}]; to turn the check off, write `skip = true`"),
        )),
        RawGate::Conditions(list) if list.is_empty() && key == "only" => Err(src.error(
            span,
            format!("{who}: `only = []` names no condition, so the check would never run; list conditions, or remove the key"),
        )),
        RawGate::Conditions(list) => Ok((
            false,
            list.into_iter()
                .map(|c| condition(src, who, key, c))
                .collect::<Result<_, _>>()?,
        )),
    }
}

/// One condition of `skip` or `only`.
fn condition(
    src: &Source,
    who: &str,
    key: &str,
    value: Spanned<toml::Value>,
) -> Result<Condition, ConfigError> {
    let span = value.span();
    let bad = |what: String| {
        src.error(
            span.clone(),
            format!("{who}: `{key}`: {what}; a condition is \"merge\", \"rebase\", {{ branch = \"NAME\" }} or {{ env = \"VAR\" }}"),
        )
    };
    let table = match value.into_inner() {
        toml::Value::String(s) => {
            return match s.as_str() {
                "merge" => Ok(Condition::Merge),
                "rebase" => Ok(Condition::Rebase),
                other => Err(bad(format!("unknown condition `{other}`"))),
            }
        }
        toml::Value::Table(t) => t,
        other => return Err(bad(format!("a condition is not {}", other.type_str()))),
    };
    if table.len() != 1 {
        return Err(bad(format!(
            "a table holds one condition, not {}: write each as an element of its own",
            table.len()
        )));
    }
    let Some((name, value)) = table.into_iter().next() else {
        return Err(bad("an empty table".into()));
    };
    match (name.as_str(), value) {
        ("branch", value) => {
            let names = match value {
                toml::Value::String(b) => vec![b],
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|v| match v {
                        toml::Value::String(b) => Some(b),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| bad("`branch` is a name or a list of names".into()))?,
                other => {
                    return Err(bad(format!(
                    "`branch` is a name or a list of names (globs like \"release/*\" too), not {}",
                    other.type_str()
                )))
                }
            };
            for b in &names {
                if b.is_empty() {
                    return Err(bad("`branch` names an empty branch".into()));
                }
                if let Err(e) = globset::Glob::new(b) {
                    return Err(bad(format!("bad branch pattern `{b}`: {}", e.kind())));
                }
            }
            Ok(Condition::Branch(names))
        }
        ("env", toml::Value::String(v)) if !v.is_empty() && !v.contains(['=', '\0']) => {
            Ok(Condition::Env(v))
        }
        ("env", _) => Err(bad(
            "`env` is the name of an environment variable, like \"CI\"".into(),
        )),
        (other, _) => Err(bad(format!("unknown condition `{other}`"))),
    }
}

/// A check's or a service's name, which `needs`, `--skip` and file names use.
fn task_name(src: &Source, name: Spanned<String>, kind: &str) -> Result<String, ConfigError> {
    let span = name.span();
    let name = name.into_inner();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',' || c == '/') {
        return Err(src.error(
            span,
            format!("{kind} name `{name}` must be non-empty, without spaces, commas or slashes"),
        ));
    }
    Ok(name)
}

/// `dir`: a path inside the repository, relative to its root.
fn work_dir(src: &Source, dir: Option<Spanned<String>>) -> Result<Option<String>, ConfigError> {
    let Some(d) = dir else {
        return Ok(None);
    };
    let p = Path::new(d.get_ref());
    if p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) {
        return Err(src.error(
            d.span(),
            "`dir` must be a path inside the repository, relative to its root",
        ));
    }
    Ok(Some(d.into_inner()))
}

fn service(
    src: &Source,
    name: Spanned<String>,
    body: Spanned<RawService>,
) -> Result<Service, ConfigError> {
    let name = task_name(src, name, "service")?;
    let body_span = body.span();
    let raw = body.into_inner();
    let who = format!("service `{name}`");
    let run = run(src, &who, body_span.clone(), raw.run)?;
    if let Run::Builtin(b) = &run {
        return Err(src.error(
            body_span,
            format!("{who}: `builtin:{}` is a check, not a long-running process; a service runs a command", b.kind.name()),
        ));
    }
    if run.uses_files() {
        return Err(src.error(
            body_span,
            format!("{who}: a service is given no files; remove {FILES_PLACEHOLDER} from `run`"),
        ));
    }
    let mut ready = Vec::new();
    if let Some(u) = raw.ready {
        let url = parse_url(u.get_ref())
            .map_err(|e| src.error(u.span(), format!("{who}: `ready`: {e}")))?;
        ready.push((u.span(), Ready::Url(url)));
    }
    if let Some(p) = raw.ready_port {
        let port = u16::try_from(*p.get_ref())
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| {
                src.error(
                    p.span(),
                    format!(
                        "{who}: `ready_port` must be a port from 1 to 65535, not {}",
                        p.get_ref()
                    ),
                )
            })?;
        ready.push((p.span(), Ready::Port(port)));
    }
    if let Some(l) = raw.ready_log {
        let span = l.span();
        ready.push((span, Ready::Log(regex_of(src, l, &who, "ready_log")?)));
    }
    if ready.len() > 1 {
        return Err(src.error(
            ready[1].0.clone(),
            format!("{who}: give one of `ready`, `ready_port` and `ready_log`, not several"),
        ));
    }
    let ready = ready.pop().map_or(Ready::Started, |(_, r)| r);
    let ready_timeout = match raw.ready_timeout {
        Some(t) => {
            let d = positive_duration(
                src,
                &t,
                &format!("{who}: `ready_timeout`"),
                format!("{who}: `ready_timeout` of 0 leaves it no time to start; remove the key for the default of 60s"),
            )?;
            if ready == Ready::Started {
                return Err(src.error(
                    t.span(),
                    format!("{who}: `ready_timeout` needs a probe to wait for: add `ready`, `ready_port` or `ready_log`"),
                ));
            }
            d
        }
        None => DEFAULT_READY_TIMEOUT,
    };
    let memory = raw
        .memory
        .map(|m| spanned_size(src, &m, "memory"))
        .transpose()?;
    Ok(Service {
        name,
        run,
        ready,
        ready_timeout,
        memory,
        dir: work_dir(src, raw.dir)?,
        env: raw.env.unwrap_or_default().into_iter().collect(),
    })
}

/// A `run` naming a built-in: its name and arguments checked here, at the
/// `run` line, rather than when it runs.
fn builtin(
    src: &Source,
    span: Range<usize>,
    name: &str,
    args: Vec<String>,
) -> Result<Run, ConfigError> {
    if args.iter().any(|a| a == FILES_PLACEHOLDER) {
        return Err(src.error(
            span,
            format!("built-ins are given the check's files themselves; remove {FILES_PLACEHOLDER}"),
        ));
    }
    crate::builtins::parse(name, &args)
        .map(Run::Builtin)
        .map_err(|e| {
            src.error(
                span,
                format!("{e}\nhint: `precheck list --builtins` lists them with their arguments"),
            )
        })
}

/// `run`, of the check or service `who` (whose table is at `table`).
fn run(
    src: &Source,
    who: &str,
    table: Range<usize>,
    value: Option<Spanned<toml::Value>>,
) -> Result<Run, ConfigError> {
    let Some(value) = value else {
        return Err(src.error(
            table,
            format!("{who} has no `run`; add `run = \"command\"`"),
        ));
    };
    let name = who;
    let span = value.span();
    let empty = || src.error(span.clone(), format!("{name}: `run` is empty"));
    match value.into_inner() {
        toml::Value::String(s) if s.trim().is_empty() => Err(empty()),
        toml::Value::String(s) => match s.trim_start().strip_prefix(crate::builtins::PREFIX) {
            Some(rest) => {
                let mut words = rest.split_whitespace().map(String::from);
                let name = words.next().unwrap_or_default();
                builtin(src, span, &name, words.collect())
            }
            None => Ok(Run::Shell(s)),
        },
        toml::Value::Array(items) => {
            let mut args = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    toml::Value::String(s) => args.push(s),
                    _ => {
                        return Err(src.error(
                            span,
                            format!("{name}: every element of `run` must be a string"),
                        ));
                    }
                }
            }
            if args.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(empty());
            }
            if let Some(name) = args[0].strip_prefix(crate::builtins::PREFIX) {
                return builtin(src, span, name, args[1..].to_vec());
            }
            if args[0] == FILES_PLACEHOLDER {
                return Err(src.error(
                    span,
                    format!("{name}: the first element of `run` must be the program, not {FILES_PLACEHOLDER}"),
                ));
            }
            for placeholder in [FILES_PLACEHOLDER, MSG_PLACEHOLDER] {
                if let Some(a) = args
                    .iter()
                    .find(|a| a.contains(placeholder) && *a != placeholder)
                {
                    return Err(src.error(
                        span,
                        format!("{name}: `{a}`: in an array, {placeholder} must be an element of its own"),
                    ));
                }
            }
            Ok(Run::Exec(args))
        }
        other => Err(src.error(
            span,
            format!(
                "{name}: `run` must be a string (run with sh -c) or an array of strings, not {}",
                other.type_str()
            ),
        )),
    }
}

fn string_list(
    src: &Source,
    name: &str,
    key: &str,
    value: Option<Spanned<toml::Value>>,
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let span = value.span();
    let err = || {
        src.error(
            span.clone(),
            format!("check `{name}`: `{key}` must be a string or an array of strings"),
        )
    };
    let list = match value.into_inner() {
        toml::Value::String(s) => vec![s],
        toml::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s),
                _ => Err(err()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(err()),
    };
    for pattern in &list {
        if let Err(e) = globset::Glob::new(pattern) {
            return Err(src.error(
                span,
                format!(
                    "check `{name}`: bad pattern `{pattern}` in `{key}`: {}",
                    e.kind()
                ),
            ));
        }
    }
    Ok(list)
}

/// A setting that is one of two words: false for the first (the
/// default), true for the second.
fn either(
    src: &Source,
    value: Option<Spanned<String>>,
    key: &str,
    [default, other]: [&str; 2],
) -> Result<bool, ConfigError> {
    let Some(v) = value else {
        return Ok(false);
    };
    match v.get_ref().as_str() {
        w if w == default => Ok(false),
        w if w == other => Ok(true),
        w => Err(src.error(
            v.span(),
            format!("`{key}` is \"{default}\" (the default) or \"{other}\", not `{w}`"),
        )),
    }
}

/// `key` of `who`, a regular expression that must compile.
fn regex_of(
    src: &Source,
    value: Spanned<String>,
    who: &str,
    key: &str,
) -> Result<String, ConfigError> {
    match regex::Regex::new(value.get_ref()) {
        Ok(_) => Ok(value.into_inner()),
        Err(e) => Err(src.error(
            value.span(),
            format!("{who}: `{key}` is not a valid regular expression: {e}"),
        )),
    }
}

/// `regex`: one regular expression, or an array of them that must all match.
fn regex_list(
    src: &Source,
    who: &str,
    value: Option<Spanned<toml::Value>>,
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let span = value.span();
    let items = match value.into_inner() {
        toml::Value::String(s) => vec![s],
        toml::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s),
                _ => Err(()),
            })
            .collect::<Result<_, _>>()
            .map_err(|()| {
                src.error(
                    span.clone(),
                    format!("{who}: `regex` must be a string or an array of strings"),
                )
            })?,
        _ => {
            return Err(src.error(
                span,
                format!("{who}: `regex` must be a string or an array of strings"),
            ))
        }
    };
    items
        .into_iter()
        .map(|r| regex_of(src, Spanned::new(span.clone(), r), who, "regex"))
        .collect()
}

/// A duration above zero: `label` names it in a parse error, `zero` is
/// the error for 0.
fn positive_duration(
    src: &Source,
    value: &Spanned<String>,
    label: &str,
    zero: String,
) -> Result<Duration, ConfigError> {
    let d = parse_duration(value.get_ref())
        .map_err(|e| src.error(value.span(), format!("{label}: {e}")))?;
    if d.is_zero() {
        return Err(src.error(value.span(), zero));
    }
    Ok(d)
}

fn spanned_size(src: &Source, value: &Spanned<String>, key: &str) -> Result<u64, ConfigError> {
    parse_size(value.get_ref()).map_err(|e| src.error(value.span(), format!("`{key}`: {e}")))
}

fn validate_needs(
    src: &Source,
    checks: &[Check],
    services: &[Service],
    spans: &[Vec<Range<usize>>],
) -> Result<(), ConfigError> {
    let index: HashMap<&str, usize> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    for (i, check) in checks.iter().enumerate() {
        for (j, need) in check.needs.iter().enumerate() {
            if services.iter().any(|s| &s.name == need) {
                continue;
            }
            if !index.contains_key(need.as_str()) {
                return Err(src.error(
                    spans[i][j].clone(),
                    format!(
                        "check `{}` needs `{need}`, which is neither a check nor a service in {}",
                        check.name,
                        if src.files.len() > 1 {
                            "either file"
                        } else {
                            "this file"
                        }
                    ),
                ));
            }
            if need == &check.name {
                return Err(src.error(
                    spans[i][j].clone(),
                    format!("check `{}` needs itself", check.name),
                ));
            }
        }
    }
    // Depth-first search with colours; the stack names the cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        checks: &[Check],
        index: &HashMap<&str, usize>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::Active;
        stack.push(i);
        // Services need nothing, so only checks can close a cycle.
        for j in checks[i]
            .needs
            .iter()
            .filter_map(|n| index.get(n.as_str()).copied())
        {
            match marks[j] {
                Mark::Active => {
                    let from = stack.iter().position(|&k| k == j).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(j, checks, index, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; checks.len()];
    for i in 0..checks.len() {
        if marks[i] == Mark::New {
            if let Some(cycle) = visit(i, checks, &index, &mut marks, &mut Vec::new()) {
                let first = cycle[0];
                let second = cycle[1];
                let at = checks[first]
                    .needs
                    .iter()
                    .position(|n| n == &checks[second].name)
                    .unwrap_or(0);
                let names: Vec<&str> = cycle.iter().map(|&k| checks[k].name.as_str()).collect();
                return Err(src.error(
                    spans[first][at].clone(),
                    format!("dependency cycle in `needs`: {}", names.join(" -> ")),
                ));
            }
        }
    }
    Ok(())
}

pub use crate::units::{GIB, KIB, MIB};

/// `512MiB`, `2GiB`, `1.5G`, `800MB`, `1024` (bytes). `K`, `M`, `G`, `T` and the
/// `-iB` forms are binary; `KB`, `MB`, `GB`, `TB` are decimal.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        format!("`{text}` is not a size; write it like \"512MiB\", \"2GiB\", \"1.5G\" or \"800MB\"")
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let multiplier = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KiB" | "k" => KIB as f64,
        "M" | "MiB" => MIB as f64,
        "G" | "GiB" => GIB as f64,
        "T" | "TiB" => (GIB * 1024) as f64,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = value * multiplier;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// A size, or a share of total memory such as `75%`.
pub fn parse_memory_cap(text: &str) -> Result<MemoryCap, String> {
    if let Some(p) = text.trim().strip_suffix('%') {
        let share: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a percentage like \"75%\""))?;
        if !(share > 0.0 && share <= 100.0) {
            return Err(format!(
                "`{text}`: a share of memory must be above 0% and at most 100%"
            ));
        }
        return Ok(MemoryCap::Percent(share));
    }
    let bytes = parse_size(text)?;
    if bytes == 0 {
        return Err("the memory cap must be above zero".into());
    }
    Ok(MemoryCap::Bytes(bytes))
}

/// `90s`, `10m`, `1h30m`, `500ms`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write it like \"90s\", \"10m\" or \"1h30m\"");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * seconds;
        rest = tail;
    }
    if !total.is_finite() {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_binary_and_decimal() {
        assert_eq!(parse_size("512MiB"), Ok(512 * MIB));
        assert_eq!(parse_size("2GiB"), Ok(2 * GIB));
        assert_eq!(parse_size("1.5G"), Ok(3 * GIB / 2));
        assert_eq!(parse_size("800MB"), Ok(800_000_000));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn memory_cap_percent() {
        assert_eq!(parse_memory_cap("75%"), Ok(MemoryCap::Percent(75.0)));
        assert!(parse_memory_cap("150%").is_err());
    }
}
