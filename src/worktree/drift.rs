//! What in the work tree changed while the checks ran, after their cache
//! keys were made: a pass is remembered under the key of the tree it saw,
//! never under the key of a tree that an editor, an agent or a check
//! changed meanwhile (a check may read any file, so its key holds them all).
//!
//! Two ways of telling, both started just before the keys are made:
//! - in a big tree, the tracked files' folders are watched (inotify): an
//!   entry written, touched, made, removed or renamed in one of them is an
//!   event. Its cost does not grow with the number of files.
//! - a [`Mark`] by the file system's clock: a file changed since has a
//!   change time (ctime, which no one can set back) at or after it. Used for
//!   files in folders not watched (untracked ones), and for every file in a
//!   small tree, or when the watch cannot be had or lost events (out of
//!   watches, a full queue).
//!   A folder whose change time moved had an entry made, removed or renamed.
//!
//! A file so found is still unchanged when it holds the key's bytes again
//! (a check that writes a file of the tree the same, a write in the very
//! tick of the mark), or when it is one the run itself put in place just
//! before (unstaged changes set aside; told by their metadata just after).
//! A folder made or gone, or one whose change time moved, has the tree
//! listed again; a new file is a change unless git ignores it.
//!
//! Left open, as git leaves it for its index: a file written and written
//! back to the same bytes while the checks ran looks unchanged; and, with
//! change times only, a write in the tick a file was put in place, of the
//! same size, looks like no write.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::fs::{self, Metadata, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::sys::watch::Watch;
use crate::worktree::git::{content_id, Input};

/// An index entry's mode for a submodule.
const GITLINK: u32 = 0o160000;

/// From this many index entries the folders are watched. Below, looking
/// at every file again costs less than a watch, whose end waits out a
/// grace period of the kernel's (about 13 ms here; 20,000 files looked at
/// again cost about 30 ms, 1,000 about 1.5).
const WATCH_FROM: usize = 8_000;

/// From when changes count.
pub struct Mark {
    ctime: (i64, i64),
    /// The folders watched since, when all of them could be.
    watch: Option<(Watch, HashSet<PathBuf>)>,
}

impl Mark {
    /// Now: the file system's clock read in `run_dir` (the run's own
    /// folder: a file made there, unlinked and touched; no other run can
    /// touch it, nothing is left), and, for a big tree (`entries` in its
    /// index), the folders of its `tracked` files (under `root`) watched.
    /// None when the clock cannot be read.
    pub fn now(
        run_dir: &Path,
        root: &Path,
        entries: usize,
        tracked: impl FnOnce() -> Option<Vec<PathBuf>>,
    ) -> Option<Mark> {
        let path = run_dir.join(".mark");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .ok()?;
        let _ = fs::remove_file(&path);
        file.set_modified(std::time::SystemTime::now()).ok()?;
        let m = file.metadata().ok()?;
        let from = crate::fault::watch_from().unwrap_or(WATCH_FROM);
        let watch = (entries >= from)
            .then(tracked)
            .flatten()
            .map(|tracked| folders_of(tracked.iter().map(PathBuf::as_path)))
            .and_then(|folders| {
                let mut w = Watch::new()?;
                folders
                    .iter()
                    .all(|f| w.add(root, f))
                    .then(|| (w, folders.into_iter().collect()))
            });
        Some(Mark {
            ctime: changed_at(&m),
            watch,
        })
    }

    /// Last changed before this moment.
    fn after(&self, m: &Metadata) -> bool {
        changed_at(m) < self.ctime
    }
}

fn changed_at(m: &Metadata) -> (i64, i64) {
    (m.ctime(), m.ctime_nsec())
}

/// The folders holding `paths` (and the root, ""), each once. (Over every
/// file of the tree on each run: bytes, and the folder before remembered,
/// since paths come sorted.)
fn folders_of<'p>(paths: impl Iterator<Item = &'p Path>) -> Vec<PathBuf> {
    let mut folders: HashSet<&[u8]> = HashSet::new();
    folders.insert(b"");
    let mut last: &[u8] = b"";
    for path in paths {
        let mut dir = parent(path.as_os_str().as_bytes());
        if dir == last {
            continue;
        }
        last = dir;
        while folders.insert(dir) {
            dir = parent(dir);
        }
    }
    let mut out: Vec<PathBuf> = folders
        .into_iter()
        .map(|f| PathBuf::from(OsStr::from_bytes(f)))
        .collect();
    out.sort();
    out
}

/// The folder holding a relative path, as bytes ("" for the root).
fn parent(path: &[u8]) -> &[u8] {
    path.iter()
        .rposition(|&b| b == b'/')
        .map_or(&[][..], |at| &path[..at])
}

/// What changed since a mark.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    /// The paths (relative to the root) that changed, appeared or went.
    Paths(BTreeSet<PathBuf>),
    /// It could not be told (no mark): take everything as changed.
    Unknown,
}

impl Drift {
    /// Whether nothing that `seen` accepts changed (`seen`: a check's
    /// inputs).
    pub fn spares(&self, seen: impl Fn(&Path) -> bool) -> bool {
        match self {
            Drift::Paths(paths) => !paths.iter().any(|p| seen(p)),
            Drift::Unknown => false,
        }
    }
}

/// What the tree is asked, to tell a change from none.
pub struct Tree<P, I, L> {
    pub root: PathBuf,
    /// Whether the run put the file at this path there, as it now is.
    pub put: P,
    /// Whether git ignores the path.
    pub ignored: I,
    /// The tree's files listed again, as for the keys.
    pub relist: L,
}

/// What changed under the tree's root since `mark` among the files the
/// keys were made of (`inputs`), and which files appeared or went.
pub fn since<P, I, L>(mark: Option<Mark>, inputs: &[Input], tree: Tree<P, I, L>) -> Drift
where
    P: Fn(&Path, &Metadata) -> bool + Sync,
    I: FnMut(&Path) -> bool,
    L: FnOnce() -> Option<Vec<Input>>,
{
    let Some(mut mark) = mark else {
        return Drift::Unknown;
    };
    let Tree {
        root,
        put,
        mut ignored,
        relist,
    } = tree;
    let watch = mark.watch.take();
    let events = watch.and_then(|(w, watched)| Some((w.events()?, watched)));
    let mark = &mark;
    // The inputs to look at, and the folders whose change times tell.
    let mut relisted = false;
    let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
    let (looked_at, folders): (Vec<&Input>, Vec<PathBuf>) = match events {
        Some((events, watched)) => {
            // Inputs come sorted by their paths' bytes.
            let find = |path: &Path| {
                let wanted = path.as_os_str().as_bytes();
                inputs
                    .binary_search_by(|i| i.path.as_os_str().as_bytes().cmp(wanted))
                    .ok()
                    .map(|at| &inputs[at])
            };
            let mut named: Vec<&Input> = Vec::new();
            let mut seen: HashSet<PathBuf> = HashSet::new();
            for e in events {
                if !seen.insert(e.path.clone()) {
                    continue;
                }
                if e.folder {
                    relisted = true;
                } else if let Some(i) = find(&e.path) {
                    named.push(i);
                } else if !ignored(&e.path) {
                    // Not in the key's tree: made (or made and removed)
                    // while the checks ran.
                    paths.insert(e.path);
                }
            }
            // Untracked files in folders no one watched: by change time.
            let watched: HashSet<&[u8]> =
                watched.iter().map(|f| f.as_os_str().as_bytes()).collect();
            let mut last: (&[u8], bool) = (b"", true);
            let unwatched: Vec<&Input> = inputs
                .iter()
                .filter(|i| in_tree(i))
                .filter(|i| {
                    let dir = parent(i.path.as_os_str().as_bytes());
                    if dir != last.0 {
                        last = (dir, watched.contains(dir));
                    }
                    !last.1
                })
                .collect();
            let folders = folders_of(unwatched.iter().map(|i| i.path.as_path()))
                .into_iter()
                .filter(|f| !watched.contains(f.as_os_str().as_bytes()))
                .collect();
            named.extend(unwatched);
            (named, folders)
        }
        None => {
            let all: Vec<&Input> = inputs.iter().filter(|i| in_tree(i)).collect();
            let folders = folders_of(all.iter().map(|i| i.path.as_path()));
            (all, folders)
        }
    };
    let looked = crate::parallel::map(&looked_at, |i| {
        if !in_tree(i) {
            return None;
        }
        let path = root.join(&i.path);
        let changed = match fs::symlink_metadata(&path) {
            // Touched since: changed unless the run put it there, or its
            // bytes are the key's.
            Ok(m) => {
                !mark.after(&m)
                    && !put(&i.path, &m)
                    && content_id(&path).ok().flatten() != Some(i.id)
            }
            // Gone, unless it was gone for the key too.
            Err(_) => !i.id.is_zero(),
        };
        changed.then(|| i.path.clone())
    });
    paths.extend(looked.into_iter().flatten());
    let moved = crate::parallel::map(&folders, |dir| {
        fs::symlink_metadata(root.join(dir)).map_or(true, |m| !mark.after(&m))
    });
    if relisted || moved.contains(&true) {
        let Some(now) = relist() else {
            return Drift::Unknown;
        };
        paths.extend(differing(inputs, &now));
    }
    Drift::Paths(paths)
}

/// Whether the work tree holds the input as a file to look at: a
/// submodule is keyed by the commit its entry names, not by what its
/// folder holds; a file outside a sparse checkout's cone is absent on
/// purpose.
fn in_tree(i: &Input) -> bool {
    i.mode != GITLINK && !i.sparse
}

/// The paths in one listing and not the other, or in both but otherwise.
fn differing(before: &[Input], now: &[Input]) -> Vec<PathBuf> {
    let key = |i: &Input| (i.path.clone(), i.mode, i.id);
    let a: BTreeSet<_> = before.iter().map(key).collect();
    let b: BTreeSet<_> = now.iter().map(key).collect();
    a.symmetric_difference(&b)
        .map(|(p, _, _)| p.clone())
        .collect()
}
