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
//! Only passes are stored, in one file of fixed slots,
//! `.git/precheck/cache/slots`: a key picks a set of [`WAYS`] slots, and a
//! new pass takes the set's empty slot or its oldest pass, so the cache is
//! bounded ([`SETS`] × [`WAYS`] passes) without listing or pruning
//! anything, and storing a pass writes into blocks allocated when the file
//! was made. Each slot carries a checksum and its whole key: a slot torn by
//! a crash or by two runs writing at once, damaged, or holding another
//! key's pass is a miss, never a pass.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Check, Config};
use crate::exec::scheduler::Job;
use crate::exec::supervisor::RunResult;
use crate::outcome::Status;
use crate::plan::Matcher;
use crate::store::runs;
use crate::worktree::drift::Drift;
use crate::worktree::fixes::Modified;
use crate::worktree::git::Input;

/// Sets of slots in the slots file; a key's first four hex digits pick one.
pub const SETS: usize = 2048;
/// Slots per set: a new pass replaces the set's oldest.
pub const WAYS: usize = 4;
/// Bytes per slot: checksum, format, name length, key, three numbers, name.
const SLOT: usize = 128;
const SLOTS_FILE: &str = "slots";
const FILE_LEN: u64 = (SETS * WAYS * SLOT) as u64;
/// The slot layout's version.
const FORMAT: u8 = 2;
const NAME_AT: usize = 54;

pub struct Cache {
    dir: PathBuf,
    /// The slots file, opened at the first lookup and kept for the others.
    reader: std::cell::OnceCell<Option<fs::File>>,
}

/// A cached pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The check's name, cut to the slot's room (it is not part of the
    /// lookup: the key covers the check's whole entry).
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
    let held = Held::by(check)?;
    field(&mut buf, b"inputs");
    for input in inputs.iter().filter(|i| held.holds(&i.path)) {
        field(&mut buf, input.path.as_os_str().as_bytes());
        buf.extend_from_slice(&input.mode.to_le_bytes());
        buf.extend_from_slice(input.id.as_bytes());
    }
    crate::worktree::git::blob_id(&buf).map(|oid| oid.to_string())
}

/// The files of the tree a check's key holds: every one, unless its
/// `inputs` narrow them.
struct Held(Option<Matcher>);

impl Held {
    /// None when its `inputs` patterns do not parse (no key, then).
    fn by(check: &Check) -> Option<Held> {
        if check.inputs.is_empty() {
            return Some(Held(None));
        }
        Matcher::from_patterns(&check.inputs, &[])
            .ok()
            .map(|m| Held(Some(m)))
    }

    fn holds(&self, path: &Path) -> bool {
        self.0.as_ref().is_none_or(|m| m.matches(path))
    }
}

/// A key's 20 bytes, from its 40 hex digits.
fn key_bytes(key: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    if key.len() != 40 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(key.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn set_of(id: &[u8; 20]) -> usize {
    usize::from(u16::from_be_bytes([id[0], id[1]])) % SETS
}

/// The [`WAYS`] slots of `set`; None when the file is shorter.
fn read_set(file: &fs::File, set: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; WAYS * SLOT];
    file.read_exact_at(&mut buf, (set * WAYS * SLOT) as u64)
        .ok()?;
    Some(buf)
}

/// FNV-1a over a slot's body: catches a torn or damaged slot.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn encode(e: &Entry) -> [u8; SLOT] {
    let mut s = [0u8; SLOT];
    let mut cut = e.check.len().min(SLOT - NAME_AT);
    while !e.check.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = &e.check[..cut];
    s[8] = FORMAT;
    s[9] = name.len() as u8;
    s[10..30].copy_from_slice(&key_bytes(&e.key).unwrap_or_default());
    s[30..38].copy_from_slice(&e.created_ms.to_le_bytes());
    s[38..46].copy_from_slice(&e.duration_ms.to_le_bytes());
    s[46..54].copy_from_slice(&e.peak_memory_bytes.to_le_bytes());
    s[NAME_AT..NAME_AT + name.len()].copy_from_slice(name.as_bytes());
    let sum = checksum(&s[8..]);
    s[..8].copy_from_slice(&sum.to_le_bytes());
    s
}

/// The pass in a slot; None for an empty, torn or damaged one.
fn decode(s: &[u8]) -> Option<Entry> {
    let number = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    if s.len() != SLOT || number(0) != checksum(&s[8..]) || s[8] != FORMAT {
        return None;
    }
    let name = s.get(NAME_AT..NAME_AT + usize::from(s[9]))?;
    Some(Entry {
        check: String::from_utf8_lossy(name).into_owned(),
        key: s[10..30].iter().map(|b| format!("{b:02x}")).collect(),
        created_ms: number(30),
        duration_ms: number(38),
        peak_memory_bytes: number(46),
    })
}

/// Stores a pass in its key's set, over the same key's older pass, an
/// empty or damaged slot, or else the set's oldest pass.
fn put_into(file: &fs::File, entry: &Entry) {
    let Some(id) = key_bytes(&entry.key) else {
        return;
    };
    let set = set_of(&id);
    let Some(slots) = read_set(file, set) else {
        return;
    };
    let age = |slot: &[u8]| match decode(slot) {
        Some(e) if e.key == entry.key => (0, 0),
        None => (0, 1),
        Some(e) => (1, e.created_ms),
    };
    let way = slots
        .chunks_exact(SLOT)
        .enumerate()
        .min_by_key(|(_, slot)| age(slot))
        .map_or(0, |(w, _)| w);
    let offset = (set * WAYS + way) * SLOT;
    crate::fault::point("cache store");
    use std::os::unix::fs::FileExt;
    let _ = file.write_all_at(&encode(entry), offset as u64);
}

impl Cache {
    pub fn open(git_dir: &Path) -> Cache {
        Cache {
            dir: git_dir.join("precheck").join("cache"),
            reader: std::cell::OnceCell::new(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(SLOTS_FILE)
    }

    /// The cached pass for `key`; anything unreadable is a miss.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let id = key_bytes(key)?;
        let file = self
            .reader
            .get_or_init(|| fs::File::open(self.path()).ok())
            .as_ref()?;
        let set = read_set(file, set_of(&id))?;
        set.chunks_exact(SLOT)
            .filter_map(decode)
            .find(|e| e.key == key)
    }

    /// Stores a pass.
    #[cfg(test)]
    fn put(&self, entry: &Entry) {
        if let Some(file) = self.writable() {
            put_into(&file, entry);
        }
    }

    /// The slots file open for writing, made (whole, zeroed, under a
    /// temporary name renamed into place) the first time, or again when it
    /// is not whole: its blocks are allocated once, so that storing a pass
    /// afterwards never creates a file or allocates a block, which on some
    /// file systems costs half a millisecond. Entries of the
    /// one-file-per-pass layout that came before it are removed then.
    fn writable(&self) -> Option<fs::File> {
        let path = self.path();
        let open = || fs::OpenOptions::new().read(true).write(true).open(&path);
        let whole = |f: &fs::File| f.metadata().is_ok_and(|m| m.len() == FILE_LEN);
        let existing = match open() {
            Ok(f) if whole(&f) => return Some(f),
            Ok(_) => true,
            Err(_) => false,
        };
        crate::fsutil::private_dir(&self.dir).ok()?;
        // What the one-file-per-pass layout left, and the half-made slots
        // files of runs killed while making one (a run making one now loses
        // its attempt, and only caches nothing this time).
        let half_made = format!(".{SLOTS_FILE}.");
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = e.file_name();
            let name = name.as_encoded_bytes();
            if name.ends_with(b".json")
                || name.ends_with(b".spare")
                || name.starts_with(half_made.as_bytes())
            {
                let _ = fs::remove_file(e.path());
            }
        }
        let tmp = self
            .dir
            .join(format!(".{SLOTS_FILE}.{}", std::process::id()));
        let made = (|| -> std::io::Result<()> {
            let mut f = crate::fsutil::create_private(&tmp)?;
            std::io::Write::write_all(&mut f, &vec![0u8; FILE_LEN as usize])?;
            crate::fault::point("cache made");
            if existing {
                // Cut short or grown: replaced whole.
                return fs::rename(&tmp, &path);
            }
            // Another run may have made it meanwhile: theirs stays.
            match crate::fsutil::rename2(&tmp, &path, libc::RENAME_NOREPLACE) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            }
        })();
        let _ = fs::remove_file(&tmp);
        made.ok()?;
        open().ok().filter(whole)
    }

    /// The passes stored (not counting empty or damaged slots).
    pub fn count(&self) -> usize {
        fs::read(self.path()).map_or(0, |bytes| {
            bytes.chunks_exact(SLOT).filter_map(decode).count()
        })
    }

    /// Removes every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let n = self.count();
        let _ = fs::remove_dir_all(&self.dir);
        n
    }

    /// Stores the passes of cacheable checks (not of fixers that changed
    /// files, nor of checks whose inputs changed while they ran: `drift`
    /// tells which did, asked once, at the first pass to store).
    #[allow(clippy::too_many_arguments)]
    pub fn remember_passes(
        &self,
        config: &Config,
        keys: &[Option<String>],
        jobs: &[Job],
        job_of: &[Option<usize>],
        result: &RunResult,
        modified: &[Modified],
        drift: impl FnOnce() -> Drift,
    ) {
        let mut drift = Some(drift);
        let mut drifted: Option<Drift> = None;
        // Opened (made, the first time) at the first pass to store.
        let mut writer: Option<Option<fs::File>> = None;
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
            // It may have seen another tree than its key's.
            let now = drifted.get_or_insert_with(|| drift.take().map_or(Drift::Unknown, |d| d()));
            // (A check whose `inputs` do not parse has no key: not here.)
            if Held::by(check).is_none_or(|held| !now.spares(|p| held.holds(p))) {
                continue;
            }
            let Some(file) = writer.get_or_insert_with(|| self.writable()) else {
                return;
            };
            put_into(
                file,
                &Entry {
                    check: check.name.clone(),
                    key: key.clone(),
                    created_ms: runs::now_ms(),
                    duration_ms: outcome.duration.as_millis() as u64,
                    peak_memory_bytes: outcome.peak,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, check: &str, created_ms: u64) -> Entry {
        Entry {
            check: check.into(),
            key: key.into(),
            created_ms,
            duration_ms: 7,
            peak_memory_bytes: 1 << 30,
        }
    }

    #[test]
    fn a_slot_reads_back_what_was_stored_and_a_long_name_is_cut_whole() {
        let e = entry(&"ab".repeat(20), "lint", 5);
        assert_eq!(decode(&encode(&e)), Some(e));
        let long = entry(&"01".repeat(20), &"é".repeat(100), 5);
        let back = decode(&encode(&long)).unwrap();
        assert!(back.check.len() <= SLOT - NAME_AT && back.check.chars().all(|c| c == 'é'));
        assert_eq!(decode(&[0u8; SLOT]), None, "an empty slot holds nothing");
        assert_eq!(key_bytes("xyz"), None);
    }

    #[test]
    fn a_full_set_gives_its_oldest_slot_to_a_new_pass() {
        let dir = std::env::temp_dir().join(format!("precheck-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let cache = Cache::open(&dir);
        // Five keys of one set (same first four hex digits), four ways.
        let key = |i: u8| format!("beef{}{i:02x}", "0".repeat(34));
        for i in 0..4 {
            cache.put(&entry(&key(i), "c", 100 + u64::from(i)));
        }
        // The same key again takes its own slot, not another.
        cache.put(&entry(&key(0), "c", 200));
        assert!((0..4).all(|i| cache.get(&key(i)).is_some()));
        cache.put(&entry(&key(4), "c", 300));
        assert!(cache.get(&key(1)).is_none(), "the oldest went");
        for i in [0, 2, 3, 4] {
            assert!(cache.get(&key(i)).is_some(), "key {i}");
        }
        assert_eq!(cache.get(&key(0)).unwrap().created_ms, 200);
        assert_eq!(cache.count(), 4);
        assert_eq!(
            fs::metadata(dir.join("precheck/cache/slots"))
                .unwrap()
                .len(),
            FILE_LEN
        );
        assert_eq!(cache.clear(), 4);
        let _ = fs::remove_dir_all(&dir);
    }
}
