//! The staged snapshot: while pre-commit checks run, the work tree holds
//! exactly what is being committed, and afterwards every unstaged byte is
//! back. It owns the order of every step that touches the user's files, on
//! the way out and back, and the recovery after a crash.
//!
//! The invariant: at every instant, the user's version of every file exists,
//! complete, in exactly one place (its path in the work tree, the snapshot's
//! `files/`, or `recovered/`), and nothing that is not provably ours is ever
//! overwritten or deleted. How:
//!
//! 1. **Refuse rather than guess.** Every path is inspected first; a path
//!    occupied by something git does not track (a file or symlink where the
//!    index has a folder, a folder where it has a file) or that cannot be
//!    inspected stops the run before anything changes.
//! 2. **Copies before risk.** The index versions are written into the
//!    snapshot folder first (filters applied by `git cat-file`, so a failing
//!    filter fails here, before anything moves). A full disk fails here too.
//! 3. The manifest (paths, HEAD, the index entries, our owner token) is
//!    written and synced before anything in the work tree moves.
//! 4. Each user version is *renamed* into `files/` (no copy, no truncation),
//!    then each index version is renamed into its place, never over
//!    anything.
//! 5. **Restore compares before it moves.** Each path is checked right
//!    before and right after it is taken out: only what we wrote (or what a
//!    check wrote and the plan merged) is replaced, and the user's version
//!    goes back without replacing anything (`RENAME_NOREPLACE`). Whatever
//!    someone else wrote meanwhile is kept, and the user's version goes to
//!    `recovered/`, with a note that says so.
//! 6. **Recovery** after a crash first kills every process the dead precheck
//!    started (found by its owner mark), then does step 5 from the manifest,
//!    comparing contents with the index versions it recorded; when HEAD or a
//!    path's index entry moved since, drafts go to `recovered/` instead of
//!    over newer work.
//!
//! Every step has a named fault point (see `fault`), so that a test can kill
//! precheck at each one.
//!
//! Why one file over 500 lines: the invariant holds only if each step on
//! the way out is read beside its way back and its recovery after a crash;
//! `tests/it/nothing_lost.rs` enumerates a crash at every one of those steps.

use std::ffi::OsStr;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::fault;
use crate::fsutil::private_dir;
use crate::store::runs;
use crate::worktree::git::{self, Repo};

const MANIFEST_VERSION: u32 = 2;

/// What was written in a path's place: the index entry, as it was then.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Written {
    /// The index entry's content id (hex).
    id: String,
    /// The index entry's mode (0o100644, 0o100755, 0o120000).
    mode: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Entry {
    /// Path relative to the root, as raw bytes.
    path: Vec<u8>,
    /// Name under `files/` of the user's version, when the work tree had one.
    #[serde(default)]
    saved: Option<String>,
    /// The version written in its place: the index's, or a pushed commit's
    /// (None: nothing, as for an intent-to-add entry or a file the commit
    /// does not have).
    #[serde(default)]
    wrote: Option<Written>,
    /// The index entry when it was set aside, to tell whether the index
    /// moved since.
    #[serde(default)]
    index: Option<Written>,
    /// `index` was recorded (older manifests lack it: `wrote` stands for it).
    #[serde(default)]
    index_recorded: bool,
    /// The outermost folder that did not exist and that writing the index
    /// version creates; removed again if empty.
    #[serde(default)]
    made_dir: Option<Vec<u8>>,
}

impl Entry {
    fn rel(&self) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(&self.path))
    }

    /// The index entry it was set aside with.
    fn index_then(&self) -> Option<&Written> {
        if self.index_recorded {
            self.index.as_ref()
        } else {
            self.wrote.as_ref()
        }
    }
}

/// What a snapshot puts in the work tree in place of the user's files.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// The index: what is being committed.
    Index,
    /// A commit's tree: what is being pushed.
    Commit(crate::worktree::git::Oid),
}

fn written(entry: Option<(crate::worktree::git::Oid, u32)>) -> Option<Written> {
    entry.map(|(id, mode)| Written {
        id: id.to_string(),
        mode,
    })
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    version: u32,
    pid: u32,
    /// The owner mark of every process the precheck that wrote it started.
    #[serde(default)]
    owner: String,
    root: Vec<u8>,
    /// HEAD when the files were set aside.
    #[serde(default)]
    head: Option<String>,
    entries: Vec<Entry>,
}

fn snapshot_dir(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("snapshot")
}

/// Syncs a directory, so that renames in it survive a power loss.
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// Moves a file or symlink by renaming. Across file systems: a copy to a
/// temporary name beside the target, synced, renamed into place, and only
/// then the original removed, so one complete version exists at every
/// instant.
fn move_path(from: &Path, to: &Path) -> Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp = to.with_extension("precheck-copy");
            let meta = fs::symlink_metadata(from)?;
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(from)?, &tmp)?;
            } else {
                fs::copy(from, &tmp)?;
                fs::File::open(&tmp)?.sync_all()?;
            }
            fs::rename(&tmp, to)?;
            fs::remove_file(from)?;
            Ok(())
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
        }
    }
}

/// Moves `from` to `to` only if nothing is at `to` (the kernel checks, so a
/// file created there at any moment is never replaced).
fn move_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    let Err(err) = crate::fsutil::rename2(from, to, libc::RENAME_NOREPLACE) else {
        return Ok(());
    };
    match err.raw_os_error() {
        // The file system cannot do it: a hard link refuses an existing
        // target just the same.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Some(libc::EXDEV) => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(ErrorKind::AlreadyExists.into());
            }
            move_path(from, to).map_err(std::io::Error::other)
        }
        _ => Err(err),
    }
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// What a file's metadata says about it: if none of this changed, nobody
/// wrote to it. `ctime` changes when the file is renamed, so it is compared
/// only before a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
}

impl Stamp {
    fn of(m: &fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            mode: m.mode(),
        }
    }

    fn same_file(&self, other: &Stamp) -> bool {
        (self.dev, self.ino, self.size, self.mtime, self.mode)
            == (other.dev, other.ino, other.size, other.mtime, other.mode)
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    fs::symlink_metadata(path).ok().map(|m| Stamp::of(&m))
}

/// What is at a tracked path now, found before anything is touched.
enum Place {
    /// A file or symlink: the user's version.
    Present,
    /// Nothing; `made_dir` is the outermost missing folder above it.
    Absent { made_dir: Option<PathBuf> },
}

/// Inspects `rel` component by component without following symlinks: every
/// folder above it must be a real folder (or missing), and the path itself a
/// file, a symlink or nothing. Otherwise says why it cannot be set aside.
fn inspect(root: &Path, rel: &Path) -> std::result::Result<Place, String> {
    let parts: Vec<Component> = rel.components().collect();
    if parts.is_empty() || parts.iter().any(|c| !matches!(c, Component::Normal(_))) {
        return Err("not a plain relative path".into());
    }
    let mut cur = root.to_path_buf();
    let mut prefix = PathBuf::new();
    for (k, part) in parts.iter().enumerate() {
        cur.push(part);
        prefix.push(part);
        let last = k + 1 == parts.len();
        match fs::symlink_metadata(&cur) {
            Ok(m) if !last && m.file_type().is_symlink() => {
                return Err(format!(
                    "`{}` is a symlink where the index has a folder",
                    prefix.display()
                ))
            }
            Ok(m) if !last && !m.is_dir() => {
                return Err(format!(
                    "`{}` is a file git does not track where the index has a folder",
                    prefix.display()
                ))
            }
            Ok(_) if !last => {}
            Ok(m) if m.is_dir() => {
                return Err("a folder git does not track is where the index has a file".into())
            }
            Ok(_) => return Ok(Place::Present),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Place::Absent {
                    made_dir: (!last).then_some(prefix),
                })
            }
            Err(e) => return Err(format!("cannot inspect `{}`: {e}", prefix.display())),
        }
    }
    unreachable!("the last component returns")
}

/// The files a run put in place of unstaged changes, with their metadata
/// just after.
pub struct Placed(std::collections::HashMap<PathBuf, Stamp>);

impl Placed {
    /// Whether the file at `rel` (`meta`: its metadata now) is the version
    /// the run put there, untouched since.
    pub fn holds(&self, rel: &Path, meta: &fs::Metadata) -> bool {
        self.0.get(rel).is_some_and(|s| *s == Stamp::of(meta))
    }
}

/// Unstaged changes set aside for the length of a run.
pub struct Snapshot<'r> {
    repo: &'r Repo,
    dir: PathBuf,
    manifest: Manifest,
    /// The metadata of each index version put in place, just after; None
    /// where nothing was put (yet).
    stamps: Vec<Option<Stamp>>,
    done: bool,
}

/// What the restore did.
#[derive(Debug, Default)]
pub struct Restored {
    /// Files a check changed that also had unstaged changes, merged cleanly.
    pub merged: Vec<PathBuf>,
    /// Files where they conflicted: the user's version was kept.
    pub conflicts: Vec<PathBuf>,
    /// The checks' changes to the conflicting files.
    pub patch: Option<PathBuf>,
    /// Files written by someone else while precheck restored them: theirs
    /// was kept, the user's version is in `recovered/`. One line each.
    pub kept_aside: Vec<String>,
}

/// How every set-aside file will come back, decided before fixes are staged.
struct Prepared {
    plans: Vec<Plan>,
}

impl Prepared {
    /// Files a check changed whose change conflicts with the user's
    /// unstaged changes: these must not be staged.
    fn conflicting(&self) -> Vec<PathBuf> {
        self.plans
            .iter()
            .filter(|p| matches!(p.how, How::Conflict(_)))
            .map(|p| p.rel.clone())
            .collect()
    }
}

/// How a run's snapshot ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// How many paths were set aside.
    pub stashed: usize,
    /// What the restore did; None when nothing was set aside.
    pub restored: Option<Restored>,
}

/// Ends a run's snapshot in the one order that loses nothing: how every
/// set-aside file comes back is decided first, from what the checks left;
/// then `stage` stages fixes, given the files whose fix conflicts with the
/// set-aside changes (these must not be staged); the manifest records what
/// was staged, so a crash after it is not mistaken for newer work; then
/// the files come back.
pub fn end(
    snapshot: Option<Snapshot>,
    stage: Option<impl FnOnce(&[PathBuf]) -> Result<()>>,
) -> Result<Ended> {
    let Some(mut snapshot) = snapshot else {
        if let Some(stage) = stage {
            stage(&[])?;
        }
        return Ok(Ended::default());
    };
    let prepared = snapshot.prepare();
    if let Some(stage) = stage {
        stage(&prepared.conflicting())?;
        snapshot.note_staged()?;
    }
    Ok(Ended {
        stashed: snapshot.len(),
        restored: Some(snapshot.restore(prepared)?),
    })
}

/// How one entry will be restored.
struct Plan {
    rel: PathBuf,
    /// What the work tree must hold for the restore to replace it: what we
    /// wrote, or what a check left there (None: nothing).
    expect: Option<Stamp>,
    how: How,
}

enum How {
    /// Put the user's version back (or nothing, if it had none).
    Back,
    /// A check changed it: the user's file gets these merged bytes.
    Merged(Vec<u8>),
    /// A check changed it and the change conflicts (or cannot be merged):
    /// the user's version wins; this patch holds the check's change.
    Conflict(Vec<u8>),
}

impl<'r> Snapshot<'r> {
    /// Sets `unstaged` aside with `source`'s versions in their place; None
    /// when there are none.
    pub fn take(
        repo: &'r Repo,
        unstaged: &[PathBuf],
        source: Source,
    ) -> Result<Option<Snapshot<'r>>> {
        if unstaged.is_empty() {
            return Ok(None);
        }
        let dir = snapshot_dir(repo.git_dir());
        if exists(&dir) {
            anyhow::bail!(
                "{} already holds unstaged changes set aside by an earlier precheck; run any precheck command to restore them",
                dir.display()
            );
        }
        let root = repo.root();
        // 1. Inspect every path before anything is touched.
        let mut places = Vec::with_capacity(unstaged.len());
        let mut refused = Vec::new();
        for u in unstaged {
            match inspect(root, u) {
                Ok(p) => places.push(p),
                Err(why) => refused.push(format!("  {}: {why}", u.display())),
            }
        }
        if !refused.is_empty() {
            let more = refused.len().saturating_sub(10);
            refused.truncate(10);
            if more > 0 {
                refused.push(format!("  … and {more} more"));
            }
            anyhow::bail!(
                "cannot set unstaged changes aside safely, so nothing was changed:\n{}\nhint: move that path out of the way, or stage it (`git add`/`git rm`); or check the work tree as it is with `precheck run --no-stash` (in the hook: PRECHECK_NO_STASH=1 git commit …)",
                refused.join("\n")
            );
        }
        let paths = unstaged;
        let index = repo.index_entries(paths)?;
        let versions = match source {
            Source::Index => index.clone(),
            Source::Commit(tip) => repo.tree_entries(tip, paths)?,
        };
        let entries: Vec<Entry> = paths
            .iter()
            .zip(&places)
            .zip(index.iter().zip(&versions))
            .enumerate()
            .map(|(i, ((p, place), (ix, version)))| Entry {
                path: p.as_os_str().as_bytes().to_vec(),
                saved: matches!(place, Place::Present).then(|| i.to_string()),
                wrote: written(*version),
                index: written(*ix),
                index_recorded: true,
                made_dir: match place {
                    Place::Absent {
                        made_dir: Some(d), ..
                    } => Some(d.as_os_str().as_bytes().to_vec()),
                    _ => None,
                },
            })
            .collect();
        // 2. The index versions, written into the snapshot folder first.
        private_dir(&dir.join("files"))?;
        private_dir(&dir.join("index"))?;
        let staged = stage_versions(repo, &dir, &entries, source);
        if let Err(e) = staged {
            // Nothing in the work tree moved yet; what is there is ours.
            let _ = fs::remove_dir_all(&dir);
            let free = free_space(repo.git_dir()).map_or(String::new(), |b| {
                format!(
                    " ({} free on the disk holding {})",
                    crate::units::format_size(b),
                    repo.git_dir().display()
                )
            });
            return Err(e.context(format!(
                "could not prepare the staged versions{free}; nothing was changed"
            )));
        }
        // 3. The manifest is on disk before any file moves.
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            pid: std::process::id(),
            owner: crate::sys::child::owner_token().to_string(),
            root: root.as_os_str().as_bytes().to_vec(),
            head: repo.head().map(|h| h.to_string()),
            entries,
        };
        if let Err(e) = write_manifest(&dir, &manifest) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e.context("could not write the snapshot's manifest; nothing was changed"));
        }
        fault::point("manifest");
        let mut snapshot = Snapshot {
            repo,
            dir,
            stamps: vec![None; manifest.entries.len()],
            manifest,
            done: false,
        };
        if let Err(e) = snapshot.set_aside() {
            // Put back whatever moved before failing.
            let undo = snapshot.restore_all();
            return Err(match undo {
                Ok(r) if r.kept_aside.is_empty() => {
                    e.context("could not set unstaged changes aside; the work tree is as it was")
                }
                Ok(r) => e.context(format!(
                    "could not set unstaged changes aside; the work tree is as it was except:\n{}",
                    r.kept_aside.join("\n")
                )),
                Err(u) => e.context(format!(
                    "could not set unstaged changes aside, and putting them back failed too ({u:#}); they are in {}",
                    snapshot.dir.display()
                )),
            });
        }
        Ok(Some(snapshot))
    }

    /// Steps 4: user versions out, index versions in.
    fn set_aside(&mut self) -> Result<()> {
        let root = self.repo.root().to_path_buf();
        let files = self.dir.join("files");
        let n = self.manifest.entries.len();
        for (k, e) in self.manifest.entries.iter().enumerate() {
            if let Some(name) = &e.saved {
                move_path(&root.join(e.rel()), &files.join(name))?;
                fault::point(&format!("set-aside {}/{n}", k + 1));
            }
        }
        sync_dir(&files)?;
        for (k, e) in self.manifest.entries.iter().enumerate() {
            if e.wrote.is_none() {
                continue;
            }
            let cur = root.join(e.rel());
            // Only folders found missing before are made (they were checked
            // to be no symlink or file then).
            if e.made_dir.is_some() {
                if let Some(parent) = cur.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
            }
            move_no_replace(&self.dir.join("index").join(e.rel()), &cur).with_context(
                || {
                    format!(
                        "cannot write the staged version of {} (something was created there meanwhile?)",
                        e.rel().display()
                    )
                },
            )?;
            self.stamps[k] = stamp(&cur);
            fault::point(&format!("index-version {}/{n}", k + 1));
        }
        Ok(())
    }

    /// How many files were set aside.
    pub fn len(&self) -> usize {
        self.manifest.entries.len()
    }

    /// The versions this run put in place, as they were just after.
    pub fn placed(&self) -> Placed {
        Placed(
            self.manifest
                .entries
                .iter()
                .zip(&self.stamps)
                .filter_map(|(e, stamp)| Some((e.rel(), (*stamp)?)))
                .collect(),
        )
    }

    /// Records that fixes were staged: the index entries the manifest holds
    /// are read again, so that a recovery after a crash from here on does
    /// not take the staged fixes for newer work.
    fn note_staged(&mut self) -> Result<()> {
        let paths: Vec<PathBuf> = self.manifest.entries.iter().map(Entry::rel).collect();
        let index = self.repo.index_entries(&paths)?;
        for (e, ix) in self.manifest.entries.iter_mut().zip(index) {
            e.wrote = written(ix);
            e.index = written(ix);
            e.index_recorded = true;
        }
        write_manifest(&self.dir, &self.manifest)
    }

    /// Which set-aside files a check changed, and how each comes back.
    /// Never fails: what cannot be merged is a conflict (the user's version
    /// wins).
    fn plans(&self) -> Vec<Plan> {
        let root = self.repo.root();
        let files = self.dir.join("files");
        let scratch = self.dir.join("merge-scratch");
        self.manifest
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let rel = e.rel();
                let cur = root.join(&rel);
                let now = stamp(&cur);
                let ours = self.stamps[i];
                // Unchanged metadata: nobody wrote it.
                let untouched = match (now, ours) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                };
                if untouched {
                    return Plan {
                        rel,
                        expect: ours,
                        how: How::Back,
                    };
                }
                let theirs = now
                    .filter(|s| s.mode & libc::S_IFMT == libc::S_IFREG)
                    .and_then(|_| fs::read(&cur).ok());
                let base = if e.wrote.is_some() {
                    self.repo.index_smudged(&rel).ok().flatten()
                } else {
                    Some(Vec::new())
                };
                let user = e.saved.as_ref().and_then(|n| {
                    let p = files.join(n);
                    fs::symlink_metadata(&p)
                        .ok()
                        .filter(|m| m.is_file())
                        .and_then(|_| fs::read(p).ok())
                });
                let patch = |base: &[u8]| {
                    self.repo
                        .patch(&rel, base, theirs.as_deref().unwrap_or_default())
                        .unwrap_or_default()
                };
                let how = match (&user, &theirs, &base) {
                    (Some(user), Some(theirs), Some(base)) => {
                        match self.repo.merge_contents(base, user, theirs, &scratch) {
                            Ok((merged, true)) => How::Merged(merged),
                            _ => How::Conflict(patch(base)),
                        }
                    }
                    _ => How::Conflict(patch(base.as_deref().unwrap_or_default())),
                };
                Plan {
                    rel,
                    expect: now,
                    how,
                }
            })
            .collect()
    }

    /// Decides how each file will come back (merging what checks changed),
    /// before anything else (staging fixes) changes the index.
    fn prepare(&self) -> Prepared {
        Prepared {
            plans: self.plans(),
        }
    }

    /// Puts every file back as `prepared` says; deletes the folder only
    /// when all are back.
    fn restore(mut self, prepared: Prepared) -> Result<Restored> {
        self.restore_with(prepared.plans)
    }

    fn restore_all(&mut self) -> Result<Restored> {
        let plans = self.plans();
        self.restore_with(plans)
    }

    fn restore_with(&mut self, plans: Vec<Plan>) -> Result<Restored> {
        let root = self.repo.root().to_path_buf();
        let mut out = Restored::default();
        let mut patch = Vec::new();
        let mut aside = Aside::new(&self.dir);
        let n = self.manifest.entries.len();
        for (k, (e, plan)) in self.manifest.entries.iter().zip(plans).enumerate() {
            let rel = e.rel();
            let saved = e.saved.as_ref().map(|n| self.dir.join("files").join(n));
            if saved.as_deref().is_some_and(|s| !exists(s)) {
                // Never moved (a failure while setting aside): still in place.
                continue;
            }
            let merged = match plan.how {
                How::Back => None,
                How::Merged(bytes) => Some(bytes),
                How::Conflict(p) => {
                    patch.extend_from_slice(&p);
                    out.conflicts.push(rel.clone());
                    None
                }
            };
            let is_merge = merged.is_some();
            let put = PutBack {
                dir: &self.dir,
                root: &root,
                k,
                entry: e,
                saved: saved.as_deref(),
                merged,
            };
            match put.run(plan.expect)? {
                Outcome::Restored => {
                    if is_merge {
                        out.merged.push(rel.clone());
                    }
                }
                Outcome::Theirs(why) => {
                    if let Some(s) = &saved {
                        let to = aside.keep(s, &rel)?;
                        out.kept_aside.push(format!(
                            "precheck: {} {why} while precheck restored it, so it was left as it is; your unstaged version is in {}",
                            rel.display(),
                            to.display()
                        ));
                    }
                }
            }
            fault::point(&format!("restore {}/{n}", k + 1));
        }
        if !patch.is_empty() {
            let fixes = self
                .dir
                .parent()
                .expect("snapshot has a parent")
                .join("fixes");
            private_dir(&fixes)?;
            let path = fixes.join(format!("{}.patch", runs::stamp_now()));
            match crate::fsutil::write_atomic(&path, &patch, true) {
                Ok(()) => out.patch = Some(path),
                Err(e) => out.kept_aside.push(format!(
                    "precheck: could not save the checks' changes to {} as a patch ({e:#}); your versions were kept",
                    out.conflicts
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        finish_dir(&self.dir)?;
        self.done = true;
        Ok(out)
    }
}

/// Where a user's version goes when the work tree holds newer work:
/// `recovered/STAMP/PATH`, private.
struct Aside {
    base: PathBuf,
}

impl Aside {
    fn new(snapshot: &Path) -> Aside {
        Aside {
            base: snapshot
                .parent()
                .expect("snapshot has a parent")
                .join("recovered")
                .join(runs::stamp_now()),
        }
    }

    /// Moves `from` to `recovered/STAMP/rel` (never over anything).
    fn keep(&mut self, from: &Path, rel: &Path) -> Result<PathBuf> {
        let mut target = self.base.join(rel);
        private_dir(target.parent().expect("has a parent"))?;
        let mut n = 1;
        while exists(&target) {
            n += 1;
            target = self.base.join(format!("{}.{n}", rel.display()));
        }
        move_path(from, &target)?;
        Ok(target)
    }
}

enum Outcome {
    Restored,
    /// Someone else's work is in the path (the reason, for the note): it
    /// was kept, and the user's version must go aside.
    Theirs(&'static str),
}

/// Putting one entry's user version back in place.
struct PutBack<'a> {
    dir: &'a Path,
    root: &'a Path,
    k: usize,
    entry: &'a Entry,
    saved: Option<&'a Path>,
    /// Bytes to write instead of the saved file (a clean merge).
    merged: Option<Vec<u8>>,
}

impl PutBack<'_> {
    /// Takes out what is in the path if it is exactly what we expect there
    /// (`expect`, checked before the move and again after it), then puts
    /// the user's version back without replacing anything.
    fn run(self, expect: Option<Stamp>) -> Result<Outcome> {
        let rel = self.entry.rel();
        let cur = self.root.join(&rel);
        fault::point(&format!("restore-look {}", rel.display()));
        let now = stamp(&cur);
        match (now, expect) {
            (None, None) => {}
            (Some(a), Some(b)) if a == b => {}
            (Some(_), _) => return Ok(Outcome::Theirs("was written")),
            (None, Some(_)) => return Ok(Outcome::Theirs("was deleted")),
        }
        let out_dir = self.dir.join("out");
        let taken = out_dir.join(self.k.to_string());
        if now.is_some() {
            private_dir(&out_dir)?;
            if let Err(e) = fs::rename(&cur, &taken) {
                if e.kind() == ErrorKind::NotFound {
                    return Ok(Outcome::Theirs("was deleted"));
                }
                return Err(e).with_context(|| format!("cannot move {}", cur.display()));
            }
            fault::point(&format!("restore-take {}", rel.display()));
            let ours = stamp(&taken)
                .zip(expect)
                .is_some_and(|(t, x)| x.same_file(&t));
            if !ours {
                // Swapped between the look and the move: give it back.
                if move_no_replace(&taken, &cur).is_err() {
                    Aside::new(self.dir).keep(&taken, &rel)?;
                }
                return Ok(Outcome::Theirs("was written"));
            }
        }
        let placed = match (&self.merged, self.saved) {
            (Some(bytes), Some(saved)) => {
                let mode = fs::symlink_metadata(saved)?.mode() & 0o7777;
                let tmp = self.dir.join("merge").join(self.k.to_string());
                let written = write_new(&tmp, bytes, mode);
                fault::point(&format!("merge-write {}", rel.display()));
                match written {
                    // The merge could not be written (a full disk): the
                    // user's version goes back as it was.
                    Err(_) => self.place(saved, &cur)?,
                    Ok(()) => match self.place(&tmp, &cur)? {
                        Outcome::Restored => {
                            fs::remove_file(saved)?;
                            Outcome::Restored
                        }
                        theirs => theirs,
                    },
                }
            }
            (_, Some(saved)) => self.place(saved, &cur)?,
            (_, None) => {
                if let Some(d) = &self.entry.made_dir {
                    remove_empty_dirs(&cur, &self.root.join(OsStr::from_bytes(d)));
                }
                Outcome::Restored
            }
        };
        if now.is_some() {
            fs::remove_file(&taken)
                .with_context(|| format!("cannot remove {}", taken.display()))?;
        }
        Ok(placed)
    }

    /// Moves `from` into the empty path `cur` (creating missing folders, never
    /// through a symlink).
    fn place(&self, from: &Path, cur: &Path) -> Result<Outcome> {
        let rel = self.entry.rel();
        match inspect(self.root, &rel) {
            Ok(Place::Absent { made_dir: None }) => {}
            Ok(Place::Absent { made_dir: Some(_) }) => {
                if let Some(parent) = cur.parent() {
                    fs::create_dir_all(parent)?;
                }
            }
            Ok(Place::Present) => return Ok(Outcome::Theirs("was created")),
            Err(_) => return Ok(Outcome::Theirs("was blocked by a file or symlink")),
        }
        match move_no_replace(from, cur) {
            Ok(()) => Ok(Outcome::Restored),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Outcome::Theirs("was created")),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                Ok(Outcome::Theirs("was blocked by a file or symlink"))
            }
            Err(e) => Err(e).with_context(|| format!("cannot put back {}", cur.display())),
        }
    }
}

/// Writes a new file, synced, with `mode`; never over an existing one.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    private_dir(path.parent().expect("has a parent"))?;
    let _ = fs::remove_file(path);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)?;
        f.write_all(bytes)?;
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        f.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the version of every entry that has one to `index/PATH` (git
/// writes them, with its filters; only into the snapshot folder).
fn stage_versions(repo: &Repo, dir: &Path, entries: &[Entry], source: Source) -> Result<()> {
    let paths: Vec<PathBuf> = entries
        .iter()
        .filter(|e| e.wrote.is_some())
        .map(Entry::rel)
        .collect();
    match source {
        Source::Index => repo.checkout_index_to(&paths, &dir.join("index"))?,
        Source::Commit(tip) => {
            repo.checkout_tree_to(tip, &paths, &dir.join("index"), &dir.join("scratch.index"))?
        }
    }
    fault::point("stage-index");
    Ok(())
}

/// Bytes free for us on the file system holding `path`.
fn free_space(path: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills a struct we own from a valid path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut st) == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    crate::fsutil::write_atomic(
        &dir.join("manifest.json"),
        &serde_json::to_vec(manifest)?,
        true,
    )?;
    sync_dir(dir)
}

/// Removes folders from `path`'s parent up to `top` (included) while they
/// are empty: the folders writing an index version created.
fn remove_empty_dirs(path: &Path, top: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if !d.starts_with(top) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Deletes the snapshot folder once every user version is out of it: the
/// folders of derived files go whole; `files/` must be empty; the manifest
/// goes last.
fn finish_dir(dir: &Path) -> Result<()> {
    for derived in ["index", "out", "merge", "merge-scratch"] {
        let d = dir.join(derived);
        if exists(&d) {
            fs::remove_dir_all(&d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    let files = dir.join("files");
    if exists(&files) {
        fs::remove_dir(&files).with_context(|| {
            format!(
                "{} still holds files; they are your unstaged versions (see the README's \"Recovering by hand\")",
                files.display()
            )
        })?;
    }
    fs::remove_file(dir.join("manifest.json")).or_else(|e| {
        if e.kind() == ErrorKind::NotFound {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    for leftover in fs::read_dir(dir).into_iter().flatten().flatten() {
        // Temporary files of an atomic write that did not finish, the
        // scratch index of a pushed commit's versions.
        let _ = fs::remove_file(leftover.path());
    }
    fs::remove_dir(dir).with_context(|| format!("cannot remove {}", dir.display()))
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if !self.done {
            match self.restore_all() {
                Ok(r) => {
                    for note in r.kept_aside {
                        crate::report::errln!("{note}");
                    }
                }
                Err(e) => crate::report::errln!(
                    "precheck: could not restore your unstaged changes: {e:#}\nthey are safe in {}; run any precheck command to retry, or see the README's \"Recovering by hand\"",
                    self.dir.display()
                ),
            }
        }
    }
}

/// Does the file at `cur` hold the index version we wrote there? By
/// content: the blob itself, or as git's filters would have written it.
fn holds_written(repo: &Repo, cur: &Path, rel: &Path, w: &Written) -> bool {
    let Ok(meta) = fs::symlink_metadata(cur) else {
        return false;
    };
    let link = w.mode & 0o170000 == 0o120000;
    if meta.file_type().is_symlink() != link || (!link && !meta.is_file()) {
        return false;
    }
    if !link && (meta.mode() & 0o100 != 0) != (w.mode & 0o111 != 0) {
        return false;
    }
    let Ok(Some(id)) = git::content_id(cur) else {
        return false;
    };
    if id.to_string() == w.id {
        return true;
    }
    !link
        && crate::worktree::git::Oid::from_str(&w.id)
            .ok()
            .and_then(|oid| repo.blob_smudged(rel, oid).ok())
            .and_then(|bytes| git::bytes_id(&bytes))
            == Some(id)
}

/// Stops every process a dead precheck started (found by its owner mark)
/// and waits until they are gone: none may write while files move.
fn stop_owned(owner: &str) -> Result<()> {
    if owner.is_empty() {
        return Ok(());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = crate::sys::proc::with_env(crate::sys::child::OWNER_ENV, owner);
        if left.is_empty() {
            return Ok(());
        }
        crate::sys::signal::send(None, &left, crate::sys::signal::SIGKILL);
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "processes started by the precheck that died are still running ({}); nothing was restored yet: stop them, then run any precheck command",
                left.iter()
                    .map(|p| p.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// After a crash: restores a snapshot left by a precheck that died. The
/// caller holds the work-tree lock, so no live precheck owns it. Returns
/// what it did, for the user.
pub fn recover(repo: &Repo) -> Result<Vec<String>> {
    let dir = snapshot_dir(repo.git_dir());
    if !exists(&dir) {
        return Ok(Vec::new());
    }
    let manifest: Manifest = match fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(m) => m,
        None => {
            // The manifest is written before anything moves: without one,
            // nothing was set aside (what is there is derived).
            let files = dir.join("files");
            if fs::read_dir(&files)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true)
            {
                fs::remove_dir_all(&dir)?;
                return Ok(Vec::new());
            }
            anyhow::bail!(
                "{} holds files but no readable manifest; move them back by hand (see the README's \"Recovering by hand\")",
                dir.display()
            );
        }
    };
    stop_owned(&manifest.owner)?;
    let root = repo.root().to_path_buf();
    let head_now = repo.head().map(|h| h.to_string());
    let head_moved = manifest.head != head_now;
    let paths: Vec<PathBuf> = manifest.entries.iter().map(Entry::rel).collect();
    let index_now = repo.index_entries(&paths)?;
    let mut aside = Aside::new(&dir);
    let mut notes = Vec::new();
    let mut restored = 0;
    let mut moved_history = 0;
    let n = manifest.entries.len();
    for (k, (e, ix)) in manifest.entries.iter().zip(&index_now).enumerate() {
        let rel = e.rel();
        let cur = root.join(&rel);
        let saved = e.saved.as_ref().map(|n| dir.join("files").join(n));
        let history_moved = head_moved || written(*ix).as_ref() != e.index_then();
        // A version of ours taken out by a restore that did not finish.
        let taken = dir.join("out").join(k.to_string());
        if exists(&taken) {
            let ours = e
                .wrote
                .as_ref()
                .is_some_and(|w| holds_written(repo, &taken, &rel, w));
            if ours {
                fs::remove_file(&taken)?;
            } else {
                let to = aside.keep(&taken, &rel)?;
                notes.push(format!(
                    "precheck: a version of {} that a restore had taken out is in {}",
                    rel.display(),
                    to.display()
                ));
            }
        }
        let Some(saved) = saved.filter(|s| exists(s)) else {
            // No user version here: it never moved (still in place) or is
            // already back; or the user had none, and what we wrote goes.
            if e.saved.is_none() && !history_moved {
                if let Some(w) = &e.wrote {
                    let ours = holds_written(repo, &cur, &rel, w);
                    if ours {
                        fs::remove_file(&cur)?;
                    }
                    if ours || !exists(&cur) {
                        if let Some(d) = &e.made_dir {
                            remove_empty_dirs(&cur, &root.join(OsStr::from_bytes(d)));
                        }
                    }
                }
            }
            fault::point(&format!("recover {}/{n}", k + 1));
            continue;
        };
        if history_moved {
            let to = aside.keep(&saved, &rel)?;
            moved_history += 1;
            notes.push(format!(
                "precheck: {} was committed or staged since it was set aside, so your earlier unstaged version was not laid over it: it is in {}",
                rel.display(),
                to.display()
            ));
            fault::point(&format!("recover {}/{n}", k + 1));
            continue;
        }
        let expect = stamp(&cur);
        let ours_now = match (&e.wrote, expect) {
            (_, None) => true,
            (Some(w), Some(_)) => holds_written(repo, &cur, &rel, w),
            (None, Some(_)) => false,
        };
        let outcome = if ours_now {
            let put = PutBack {
                dir: &dir,
                root: &root,
                k,
                entry: e,
                saved: Some(&saved),
                merged: None,
            };
            put.run(expect)?
        } else {
            Outcome::Theirs("changed")
        };
        match outcome {
            Outcome::Restored => restored += 1,
            Outcome::Theirs(why) => {
                let to = aside.keep(&saved, &rel)?;
                notes.push(format!(
                    "precheck: {} {why} since then, so it was left as it is; your earlier unstaged version is in {}",
                    rel.display(),
                    to.display()
                ));
            }
        }
        fault::point(&format!("recover {}/{n}", k + 1));
    }
    // Anything still in files/ has no entry left to go to: keep it aside.
    for left in fs::read_dir(dir.join("files"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let to = aside.keep(&left.path(), Path::new(&left.file_name()))?;
        notes.push(format!(
            "precheck: an unstaged version with no place left is in {}",
            to.display()
        ));
    }
    finish_dir(&dir)?;
    let mut out = vec![format!(
        "precheck: restored {restored} file{} with unstaged changes that a precheck (pid {}) set aside before it died",
        crate::units::plural(restored),
        manifest.pid
    )];
    if moved_history > 0 {
        out.push(format!(
            "precheck: HEAD or the index moved since then{}; see below",
            if head_moved {
                " (a commit was made)"
            } else {
                ""
            }
        ));
    }
    out.extend(notes);
    Ok(out)
}

/// The repository the current directory is in, after recovery: every
/// command opens it here and nowhere else, so every command first stops
/// what a dead precheck left running and restores its snapshot.
pub fn open_repo() -> Result<Repo> {
    let repo = Repo::open()?;
    crate::fsutil::tighten(&repo.git_dir().join("precheck"));
    recover_if_needed(&repo)?;
    Ok(repo)
}

/// Stops what a dead precheck left running, and restores its snapshot if
/// there is one and no live precheck holds the work tree. Cheap when there is
/// nothing to do (a directory read and a stat).
fn recover_if_needed(repo: &Repo) -> Result<()> {
    let reaped = crate::exec::ledger::reap_dead(repo.common_dir());
    if reaped > 0 {
        crate::report::errln!(
            "precheck: stopped {reaped} process{} left running by a precheck that died",
            if reaped == 1 { "" } else { "es" }
        );
    }
    let journal = crate::fsutil::rewrite_journal(repo.git_dir());
    let snapshot = exists(&snapshot_dir(repo.git_dir()));
    if !snapshot && !crate::fsutil::rewrites_noted(&journal) {
        return Ok(());
    }
    let lock = match crate::worktree::lock::TreeLock::try_acquire(
        repo.git_dir(),
        crate::worktree::lock::Mode::Exclusive,
    )? {
        crate::worktree::lock::Attempt::Got(lock) => lock,
        crate::worktree::lock::Attempt::Busy => return Ok(()),
    };
    // Alone on the work tree: no built-in fixer is rewriting, so a noted
    // rewrite was cut short by a crash (the user's file is whole).
    let swept = crate::fsutil::sweep_rewrites(&journal);
    if swept > 0 {
        crate::report::errln!(
            "precheck: removed {swept} unfinished rewrite{} of a built-in fixer that died (the files themselves are whole)",
            if swept == 1 { "" } else { "s" }
        );
    }
    if snapshot {
        for note in recover(repo)? {
            crate::report::errln!("{note}");
        }
    }
    drop(lock);
    Ok(())
}
