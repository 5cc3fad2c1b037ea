//! The result cache: a check that passed is not run again while nothing it
//! depends on changed.
//!
//! A check's key is a SHA-1 over everything its result may depend on:
//! - its whole resolved entry in checks.toml (`run`, `dir`, `env`, `timeout`,
//!   `memory_limit`, `fix`, globs, …) and the files it is given;
//! - the path, mode and content id of every file of the tree it runs on
//!   (tracked content as checked, plus the untracked files it can see), or
//!   only of those its `inputs` globs match;
//! - the hook and the hook's own inputs (the commit message's bytes, the
//!   pushed refs, the hook's arguments);
//! - the environment (`PATH` and every other variable but the volatile ones
//!   listed in [`VOLATILE`]), and the identity of the program it starts;
//! - precheck's version.
//!
//! Only passes are stored, one
//! small file per key under `.git/precheck/cache/`; the oldest are dropped
//! beyond [`MAX_ENTRIES`] (checked on about one store in 32). An entry that cannot be read or parsed is a miss,
//! never a pass.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Check, Config};
use crate::exec::scheduler::Job;
use crate::exec::supervisor::RunResult;
use crate::outcome::Status;
use crate::plan::Matcher;
use crate::store::runs;
use crate::worktree::fixes::Modified;
use crate::worktree::git::Input;

/// Most entries kept; beyond it the oldest are dropped.
pub const MAX_ENTRIES: usize = 2000;

pub struct Cache {
    dir: PathBuf,
}

/// A cached pass.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Entry {
    pub version: u32,
    pub check: String,
    /// Must equal the key it is stored under.
    pub key: String,
    pub created_ms: u64,
    pub duration_ms: u64,
    pub peak_memory_bytes: u64,
}

impl Entry {
    pub fn age(&self) -> Duration {
        Duration::from_millis(runs::now_ms().saturating_sub(self.created_ms))
    }
}

/// Appends a length-prefixed field, so that no two inputs hash alike.
fn field(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// Environment variables that say where or how precheck was started, not
/// what a check computes: left out of the key so that a terminal, a hook and
/// a script share passes. Names ending in `*` are prefixes.
pub const VOLATILE: &[&str] = &[
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "TERM",
    "TERM_*",
    "COLORTERM",
    "COLUMNS",
    "LINES",
    "SSH_*",
    "DISPLAY",
    "WINDOWID",
    "TMUX",
    "TMUX_PANE",
    "STY",
    "XDG_SESSION_*",
    "XDG_VTNR",
    "GPG_TTY",
    "LS_COLORS",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "GIT_*",
    "PRECHECK_*",
    "MAIL",
    "HISTFILE",
    "PS1",
    "PS2",
    "PROMPT_COMMAND",
];

fn volatile(name: &str) -> bool {
    VOLATILE.iter().any(|v| match v.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *v,
    })
}

/// What the key covers besides the check and the files: the hook, its
/// inputs, and the environment, once per run.
pub struct Context {
    buf: Vec<u8>,
}

impl Context {
    /// `hook` and its own inputs (message bytes, pushed refs, arguments).
    pub fn new(hook: &str, hook_inputs: &[u8]) -> Context {
        let mut buf = Vec::new();
        field(&mut buf, hook.as_bytes());
        field(&mut buf, hook_inputs);
        let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
            .filter(|(k, _)| !volatile(&k.to_string_lossy()))
            .collect();
        vars.sort();
        for (k, v) in vars {
            field(&mut buf, k.as_bytes());
            field(&mut buf, v.as_bytes());
        }
        Context { buf }
    }
}

/// The key of `check` over `files` (what it is given) and the repository's
/// `inputs`; `program` is [`crate::exec::spawn::program_identity`]. None when
/// its input globs cannot be built.
pub fn key(
    check: &Check,
    files: &[PathBuf],
    inputs: &[Input],
    context: &Context,
    program: &[u8],
) -> Option<String> {
    let mut buf = Vec::with_capacity(4096);
    field(&mut buf, b"precheck-cache-2");
    field(&mut buf, env!("CARGO_PKG_VERSION").as_bytes());
    // The whole resolved entry: any change to it is another check.
    field(&mut buf, format!("{check:?}").as_bytes());
    field(&mut buf, &context.buf);
    field(&mut buf, program);
    field(&mut buf, b"files");
    for f in files {
        field(&mut buf, f.as_os_str().as_bytes());
    }
    // Every file of the tree, unless `inputs` narrows it.
    let matcher = if check.inputs.is_empty() {
        None
    } else {
        Some(Matcher::from_patterns(&check.inputs, &[]).ok()?)
    };
    field(&mut buf, b"inputs");
    for input in inputs
        .iter()
        .filter(|i| matcher.as_ref().is_none_or(|m| m.matches(&i.path)))
    {
        field(&mut buf, input.path.as_os_str().as_bytes());
        buf.extend_from_slice(&input.mode.to_le_bytes());
        buf.extend_from_slice(input.id.as_bytes());
    }
    crate::worktree::git::blob_id(&buf).map(|oid| oid.to_string())
}

impl Cache {
    pub fn open(git_dir: &Path) -> Cache {
        Cache {
            dir: git_dir.join("precheck").join("cache"),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The cached pass for `key`; anything unreadable is a miss.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let bytes = fs::read(self.path(key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == key && entry.version == 1).then_some(entry)
    }

    /// Stores a pass, written atomically, and keeps the cache bounded.
    pub fn put(&self, entry: &Entry) {
        if crate::fsutil::private_dir(&self.dir).is_err() {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(entry) {
            let _ = crate::fsutil::replace(&self.path(&entry.key), &bytes, false);
        }
    }

    /// Drops the oldest entries beyond the bound.
    pub fn prune(&self) {
        // Counting names is cheap; reading each entry's time only when over.
        if self.entries().count() <= MAX_ENTRIES {
            return;
        }
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = self
            .entries()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        let excess = entries.len() - MAX_ENTRIES;
        for (_, p) in entries.into_iter().take(excess) {
            crate::fsutil::remove_replaced(&p);
        }
    }

    /// The entries on disk (not the spare inodes `fsutil::replace` keeps
    /// beside them, whose names start with a dot).
    fn entries(&self) -> impl Iterator<Item = fs::DirEntry> {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
    }

    /// Removes every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let n = self.entries().count();
        let _ = fs::remove_dir_all(&self.dir);
        n
    }

    /// Stores the passes of cacheable checks (not of fixers that changed files).
    pub fn remember_passes(
        &self,
        config: &Config,
        keys: &[Option<String>],
        jobs: &[Job],
        job_of: &[Option<usize>],
        result: &RunResult,
        modified: &[Modified],
    ) {
        let mut prune_due = false;
        for (i, check) in config.checks.iter().enumerate() {
            let (Some(key), Some(j)) = (&keys[i], job_of[i]) else {
                continue;
            };
            let outcome = &result.outcomes[j];
            if outcome.status != Status::Passed || modified.iter().any(|m| m.check == check.name) {
                continue;
            }
            // It saw what a fixer wrote, not the content its key was made of.
            if jobs[j]
                .after
                .iter()
                .any(|&a| modified.iter().any(|m| m.check == jobs[a].name))
            {
                continue;
            }
            self.put(&Entry {
                version: 1,
                check: check.name.clone(),
                key: key.clone(),
                created_ms: runs::now_ms(),
                duration_ms: outcome.duration.as_millis() as u64,
                peak_memory_bytes: outcome.peak,
            });
            // The bound is looked at on about one store in 32 (chosen by the
            // key's last byte): listing a folder of thousands of entries on
            // every commit would cost more than the cache saves, and the
            // cache runs at most a few dozen entries over meanwhile.
            prune_due |=
                u8::from_str_radix(&key[key.len().saturating_sub(2)..], 16).is_ok_and(|b| b < 8);
        }
        if prune_due {
            self.prune();
        }
    }
}
