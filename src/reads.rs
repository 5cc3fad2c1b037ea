//! What a run has looked at and read of the files, so that each file is
//! looked at (stat) and read once a run, not once per built-in and twice
//! more for the fixers' fingerprints. Two memories:
//!
//! - **Looks** (`look`): a file's stat, taken once and handed out again
//!   until something may have written files since: a process a check ran
//!   ended ([`processes_ended`]: a fixer's output must be seen by the
//!   checks after it), precheck itself rewrote a file ([`rewrote`]: a
//!   built-in fixer), or a new run began ([`new_run`]). Built-ins run in
//!   this process and write nothing but through [`rewrote`], so between
//!   those events a file on disk changes only by something outside the
//!   run (an editor, an agent), and such a change races the checks as it
//!   always did: the run sees each file as it was when first looked at.
//! - **Reads** (`bytes`, `fingerprint`): a file's bytes (within a budget)
//!   and its fingerprint, handed out again to a look with the same stamp
//!   (device, inode, size, mode, modification and change times to the
//!   nanosecond) in the same epoch, under the same trust as the look. A
//!   read is handed out across epochs only when the file had not been
//!   touched for a while before the read began (git's "racily clean"
//!   rule, with a window wider than the coarsest file system's clock), so
//!   any later change, even during the read, gives the file another stamp;
//!   the change time cannot be set back by a writer, and a file replaced by
//!   another is another inode. When in doubt a file is read again: this
//!   can cost a read, never give stale bytes for a stamp.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs::Metadata;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A file touched this close to its read (or after) is not kept: its next
/// change could fall within the same clock tick (FAT's is two seconds).
const RACY: Duration = Duration::from_secs(3);

/// Most bytes kept at once; past it only fingerprints are kept.
const BUDGET: usize = 64 << 20;

/// Files bigger than this are fingerprinted as a stream, never kept whole.
const WHOLE_UP_TO: u64 = 4 << 20;

/// Looks taken before the latest of these are not handed out.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Changes whenever files may have been written: what was learned of them
/// at another value is to be asked again.
fn epoch() -> u64 {
    EPOCH.load(Ordering::SeqCst)
}

/// A run begins: nothing looked at before counts.
pub fn new_run() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// A process a check ran has ended: it may have written any file.
pub fn processes_ended() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// precheck rewrote a file (a built-in fixer). Every file is looked at
/// again, not only the one by this name: another name may reach it (a
/// check's `dir` through a link).
pub fn rewrote() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// What stat says of a file: equal stamps, same file, same content.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mode: m.mode(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// Untouched for the racy window before `read_at`.
    fn settled(&self, read_at: SystemTime) -> bool {
        let Ok(since) = read_at.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let limit = since.saturating_sub(RACY);
        let at = |(s, ns): (i64, i64)| {
            u64::try_from(s).map(|s| Duration::new(s, u32::try_from(ns).unwrap_or(0)))
        };
        matches!((at(self.mtime), at(self.ctime)), (Ok(m), Ok(c)) if m < limit && c < limit)
    }
}

/// A kept read of one stamp.
struct Kept {
    stamp: Stamp,
    bytes: Option<Arc<[u8]>>,
    print: Option<u64>,
    /// Settled when read (good for every later look with its stamp), else
    /// the epoch it was read in (good for looks of that epoch only, which
    /// trust their stat as this read does).
    settled: bool,
    epoch: u64,
}

#[derive(Default)]
struct Entry {
    /// The file's stat (links not followed) and the epoch it was taken in.
    look: Option<(u64, Metadata)>,
    read: Option<Kept>,
}

/// Entries by path, in shards (every core looks things up at once).
#[derive(Default)]
struct Shard {
    files: HashMap<Box<[u8]>, Entry, BuildHasherDefault<PathHasher>>,
}

/// Bytes kept, over every shard (one budget: a file as big as
/// `WHOLE_UP_TO` must fit, whichever shard it falls in).
static HELD: AtomicUsize = AtomicUsize::new(0);

const SHARDS: usize = 64;

/// FNV-1a over a path's bytes: paths are not chosen to collide, and a
/// run looks up hundreds of thousands of them (SipHash cost more than
/// the lookups).
#[derive(Default)]
struct PathHasher(u64);

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn shard(key: &[u8]) -> &'static Mutex<Shard> {
    static STORE: OnceLock<Vec<Mutex<Shard>>> = OnceLock::new();
    let store = STORE.get_or_init(|| (0..SHARDS).map(|_| Mutex::default()).collect());
    let mut h = PathHasher::default();
    h.write(key);
    // The high bits: the map itself uses the low ones.
    &store[(h.finish() >> 58) as usize % SHARDS]
}

fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// The stat of `path`, links not followed (`symlink_metadata`): looked at
/// once until something may have written files.
pub fn look(path: &Path) -> std::io::Result<Metadata> {
    let epoch = EPOCH.load(Ordering::SeqCst);
    if let Ok(s) = shard(key(path)).lock() {
        if let Some((at, meta)) = s.files.get(key(path)).and_then(|e| e.look.as_ref()) {
            if *at == epoch {
                return Ok(meta.clone());
            }
        }
    }
    let meta = std::fs::symlink_metadata(path)?;
    if let Ok(mut s) = shard(key(path)).lock() {
        s.files.entry(key(path).into()).or_default().look = Some((epoch, meta.clone()));
    }
    Ok(meta)
}

/// A kept read's bytes (when within the budget) and fingerprint (when taken).
type Found = (Option<Arc<[u8]>>, Option<u64>);

fn kept(path: &Path, stamp: Stamp) -> Option<Found> {
    let s = shard(key(path)).lock().ok()?;
    let k = s.files.get(key(path))?.read.as_ref()?;
    let good = k.stamp == stamp && (k.settled || k.epoch == epoch());
    good.then(|| (k.bytes.clone(), k.print))
}

/// Keeps a read made in `epoch` (taken before it began) of a file whose
/// stamp was `stamp`, `settled` or not when the read began.
fn keep(path: &Path, stamp: Stamp, (settled, epoch): (bool, u64), found: Found) {
    let Ok(mut s) = shard(key(path)).lock() else {
        return;
    };
    let (bytes, print) = found;
    let len = bytes.as_ref().map_or(0, |b| b.len());
    let room = HELD.load(Ordering::Relaxed) + len <= BUDGET;
    let bytes = bytes.filter(|_| room);
    let held = bytes.as_ref().map_or(0, |b| b.len());
    let entry = s.files.entry(key(path).into()).or_default();
    let old = entry.read.replace(Kept {
        stamp,
        bytes,
        print,
        settled,
        epoch,
    });
    let freed = old.and_then(|o| o.bytes).map_or(0, |b| b.len());
    HELD.fetch_add(held, Ordering::Relaxed);
    HELD.fetch_sub(freed, Ordering::Relaxed);
}

/// Adds the fingerprint to a kept read of `stamp`.
fn add_print(path: &Path, stamp: Stamp, print: u64) {
    if let Ok(mut s) = shard(key(path)).lock() {
        if let Some(k) = s.files.get_mut(key(path)).and_then(|e| e.read.as_mut()) {
            if k.stamp == stamp {
                k.print = Some(print);
            }
        }
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Reads a whole file of about `size` bytes.
fn read_all(path: &Path, size: u64) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0) + 1];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2 + 4096, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// When a read begins: whether the file had settled, and the epoch.
fn begin(stamp: Stamp) -> (bool, u64) {
    let epoch = epoch();
    (stamp.settled(SystemTime::now()), epoch)
}

/// The bytes of the regular file at `path`, whose stat (through links or
/// not, as the caller looked) is `meta`: kept ones when the stamp
/// matches (and the read was settled or made in this epoch), else read
/// now and kept.
pub fn bytes(path: &Path, meta: &Metadata) -> std::io::Result<Arc<[u8]>> {
    let stamp = Stamp::of(meta);
    if let Some((Some(bytes), _)) = kept(path, stamp) {
        return Ok(bytes);
    }
    let began = begin(stamp);
    let bytes: Arc<[u8]> = read_all(path, meta.size())?.into();
    // Kept under the stamp seen before the read: when settled, any change
    // since (even during the read) gave the file another stamp, and what
    // was read is never handed out for it; when not, it is handed out only
    // to looks of this epoch, which see the file as this one did.
    if meta.size() <= WHOLE_UP_TO {
        keep(path, stamp, began, (Some(bytes.clone()), None));
    }
    Ok(bytes)
}

/// A fingerprint of the content at `path` (links followed); None when
/// there is no regular file to read.
pub fn fingerprint(path: &Path) -> Option<u64> {
    let looked = look(path).ok()?;
    let meta = if looked.file_type().is_symlink() {
        std::fs::metadata(path).ok()?
    } else {
        looked
    };
    if !meta.is_file() {
        return None;
    }
    let stamp = Stamp::of(&meta);
    match kept(path, stamp) {
        Some((_, Some(print))) => return Some(print),
        Some((Some(bytes), None)) => {
            let print = hash(&bytes);
            add_print(path, stamp, print);
            return Some(print);
        }
        _ => {}
    }
    if meta.size() <= WHOLE_UP_TO {
        let print = hash(&bytes(path, &meta).ok()?);
        add_print(path, stamp, print);
        return Some(print);
    }
    // Big: streamed, and only its fingerprint kept.
    let began = begin(stamp);
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = DefaultHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
    }
    let print = h.finish();
    keep(path, stamp, began, (None, Some(print)));
    Some(print)
}
