//! What in the work tree changed while the checks ran, after their cache
//! keys were made: a pass is remembered under the key of the tree it saw,
//! never under the key of a tree that an editor, an agent or a check
//! changed meanwhile (a check may read any file, so its key holds them all).
//!
//! A file changed since the keys has a change time (ctime, which no one can
//! set back) at or after a [`Mark`] taken by the same file system's clock
//! just before them; one changed before has an earlier one. A folder whose
//! change time moved had an entry added, removed or renamed: a file that
//! was not there for the key (or one gone) is found by listing the tree's
//! files again. Files the run itself put in place just before (unstaged
//! changes set aside) are told by the metadata recorded as they were put;
//! a file touched since whose bytes are still the key's is unchanged (a
//! check that writes a file of the tree the same again, a write in the
//! very tick of the mark).
//!
//! Left open, as git leaves it for its index: a write in the same tick of
//! the clock as a file was put in place, of the same size, looks like no
//! write; and a file written and written back to the same bytes while the
//! checks ran looks unchanged.

use std::collections::BTreeSet;
use std::fs::{self, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::worktree::git::{content_id, Input};

/// An index entry's mode for a submodule.
const GITLINK: u32 = 0o160000;

/// A moment by the clock of a file system.
pub struct Mark {
    ctime: (i64, i64),
}

impl Mark {
    /// Now, as the file system holding `dir` stamps a change: the change
    /// time of a file touched there now (made, unlinked, then touched: no
    /// other run can touch it, nothing is left). `dir` is the run's own
    /// folder. None when it cannot be told.
    pub fn now(dir: &Path) -> Option<Mark> {
        let path = dir.join(".mark");
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
        Some(Mark {
            ctime: changed_at(&m),
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

/// What changed under `root` since `mark` among the files the keys were
/// made of (`inputs`), and which files appeared or went: `put(rel, meta)`
/// says whether the run itself put the file there as it now is; `relist`
/// lists the tree's files again, as the keys were made, when a folder
/// changed.
pub fn since(
    mark: Option<&Mark>,
    root: &Path,
    inputs: &[Input],
    put: impl Fn(&Path, &Metadata) -> bool + Sync,
    relist: impl FnOnce() -> Option<Vec<Input>>,
) -> Drift {
    let Some(mark) = mark else {
        return Drift::Unknown;
    };
    let looked = crate::parallel::map(inputs, |i| {
        // A submodule is keyed by the commit its entry names, not by what
        // its folder holds.
        if i.mode == GITLINK {
            return None;
        }
        let path = root.join(&i.path);
        let changed = match fs::symlink_metadata(&path) {
            // Touched since: changed unless the run put it there, or its
            // bytes are the key's (written again the same, or touched in
            // the very tick of the mark).
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
    let mut paths: BTreeSet<PathBuf> = looked.into_iter().flatten().collect();
    let mut folders: BTreeSet<&Path> = BTreeSet::new();
    folders.insert(Path::new(""));
    for i in inputs {
        let mut p = i.path.parent();
        while let Some(dir) = p {
            if !folders.insert(dir) {
                break;
            }
            p = dir.parent();
        }
    }
    let folders: Vec<&Path> = folders.into_iter().collect();
    let moved = crate::parallel::map(&folders, |dir| {
        fs::symlink_metadata(root.join(dir)).map_or(true, |m| !mark.after(&m))
    });
    if moved.contains(&true) {
        let Some(now) = relist() else {
            return Drift::Unknown;
        };
        paths.extend(differing(inputs, &now));
    }
    Drift::Paths(paths)
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
