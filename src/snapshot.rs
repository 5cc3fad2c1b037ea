//! The staged snapshot: while pre-commit checks run, the work tree holds
//! exactly what is being committed, and afterwards every unstaged byte is
//! back.
//!
//! How: each tracked file whose work tree differs from the index (content,
//! mode, type, deletion, intent-to-add) is *moved* (renamed: no copy, the
//! bytes and metadata stay as they were) into a private folder under the git
//! dir, after a manifest listing them has been written and synced; then the
//! index version is written in its place (`git checkout-index`). Restoring
//! moves each file back. Untracked and ignored files are never touched.
//!
//! The snapshot is a guard: it is restored on every path out of a run
//! (passed, failed, signals, errors, panics unwinding), and after a crash the
//! next precheck command restores it ([`recover`]). The folder is deleted
//! only after every file is back. When a check changed a file that had
//! unstaged changes, the two are merged; if they conflict the user's version
//! wins and the check's changes are saved as a patch.

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::git::{Repo, Unstaged};
use crate::runs;

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Entry {
    /// Path relative to the root, as raw bytes.
    path: Vec<u8>,
    /// Name under `files/` of the user's version, when the work tree had one.
    saved: Option<String>,
    /// The index version was written into the work tree in its place.
    wrote_index: bool,
}

impl Entry {
    fn rel(&self) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(&self.path))
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    version: u32,
    pid: u32,
    root: Vec<u8>,
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

/// Moves a file (or symlink) by renaming; across file systems, by copying,
/// syncing, then removing the original.
fn move_path(from: &Path, to: &Path) -> Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let meta = fs::symlink_metadata(from)?;
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(from)?, to)?;
            } else {
                fs::copy(from, to)?;
                fs::File::open(to)?.sync_all()?;
            }
            fs::remove_file(from)?;
            Ok(())
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
        }
    }
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

fn remove(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
    .with_context(|| format!("cannot remove {}", p.display()))
}

/// Removes the folders that writing the index version of `path` created,
/// as far up as they are empty (a deleted folder stays deleted).
fn remove_empty_parents(path: &Path, root: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// What a file's metadata says about it: if none of this changed, nobody
/// wrote to it.
type Stamp = (u64, u64, u64, i64, i64, i64, i64, u32);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path).ok()?;
    Some((
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.mode(),
    ))
}

/// Unstaged changes set aside for the length of a run.
pub struct Snapshot<'r> {
    repo: &'r Repo,
    dir: PathBuf,
    entries: Vec<Entry>,
    /// The metadata of each index version written, just after writing it.
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
}

/// How every set-aside file will come back, decided before fixes are staged.
pub struct Prepared {
    plans: Vec<Plan>,
    paths: Vec<PathBuf>,
}

impl Prepared {
    /// Files a check changed whose change conflicts with the user's
    /// unstaged changes: these must not be staged.
    pub fn conflicting(&self) -> Vec<PathBuf> {
        self.plans
            .iter()
            .zip(&self.paths)
            .filter(|(p, _)| matches!(p, Plan::Conflict(_)))
            .map(|(_, path)| path.clone())
            .collect()
    }
}

/// How one entry will be restored.
enum Plan {
    /// Put the user's version back (or nothing, if it had none).
    Back,
    /// A check changed it: write these merged bytes with the user's file.
    Merged(Vec<u8>),
    /// A check changed it and the change conflicts: the user's version
    /// wins; this patch holds the check's change.
    Conflict(Vec<u8>),
}

impl<'r> Snapshot<'r> {
    /// Sets `unstaged` (from [`Repo::unstaged`]) aside; None when there are none.
    pub fn take(repo: &'r Repo, unstaged: &[Unstaged]) -> Result<Option<Snapshot<'r>>> {
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
        let files = dir.join("files");
        fs::create_dir_all(&files).with_context(|| format!("cannot create {}", files.display()))?;
        let root = repo.root();
        let entries: Vec<Entry> = unstaged
            .iter()
            .enumerate()
            .map(|(i, u)| Entry {
                path: u.path.as_os_str().as_bytes().to_vec(),
                saved: exists(&root.join(&u.path)).then(|| i.to_string()),
                wrote_index: u.in_index,
            })
            .collect();
        let manifest = Manifest {
            version: 1,
            pid: std::process::id(),
            root: root.as_os_str().as_bytes().to_vec(),
            entries: entries.clone(),
        };
        // The manifest is on disk before any file moves.
        runs::write_atomic(
            &dir.join("manifest.json"),
            &serde_json::to_vec(&manifest)?,
            true,
        )?;
        sync_dir(&dir)?;
        let mut snapshot = Snapshot {
            repo,
            dir,
            entries,
            stamps: Vec::new(),
            done: false,
        };
        if let Err(e) = snapshot.set_aside() {
            // Put back whatever moved before failing.
            let undo = snapshot.restore_all();
            return Err(match undo {
                Ok(_) => e.context("could not set unstaged changes aside; the work tree is as it was"),
                Err(u) => e.context(format!(
                    "could not set unstaged changes aside, and putting them back failed too ({u:#}); they are in {}",
                    snapshot.dir.display()
                )),
            });
        }
        Ok(Some(snapshot))
    }

    fn set_aside(&mut self) -> Result<()> {
        let root = self.repo.root();
        let files = self.dir.join("files");
        for e in &self.entries {
            if let Some(name) = &e.saved {
                move_path(&root.join(e.rel()), &files.join(name))?;
            }
        }
        sync_dir(&files)?;
        let write: Vec<PathBuf> = self
            .entries
            .iter()
            .filter(|e| e.wrote_index)
            .map(Entry::rel)
            .collect();
        self.repo.checkout_index(&write)?;
        self.stamps = self
            .entries
            .iter()
            .map(|e| e.wrote_index.then(|| stamp(&root.join(e.rel()))).flatten())
            .collect();
        Ok(())
    }

    /// How many files were set aside.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Which set-aside files a check changed; `restore` merges those.
    fn plans(&self) -> Result<Vec<Plan>> {
        let root = self.repo.root();
        let scratch = self.dir.join("merge");
        let mut plans = Vec::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            let rel = e.rel();
            let cur = root.join(&rel);
            // Unchanged metadata: nobody wrote it (no diff of the whole tree needed).
            let touched = if e.wrote_index {
                let before = self.stamps.get(i).copied().flatten();
                before.is_none() || before != stamp(&cur)
            } else {
                exists(&cur)
            };
            if !touched {
                plans.push(Plan::Back);
                continue;
            }
            let base = if e.wrote_index {
                self.repo.index_smudged(&rel)?.unwrap_or_default()
            } else {
                Vec::new()
            };
            let theirs = fs::read(&cur).ok();
            let ours = e
                .saved
                .as_ref()
                .and_then(|n| fs::read(self.dir.join("files").join(n)).ok());
            let plan = match (&ours, &theirs) {
                (Some(ours), Some(theirs)) => {
                    let (merged, clean) =
                        self.repo.merge_contents(&base, ours, theirs, &scratch)?;
                    if clean {
                        Plan::Merged(merged)
                    } else {
                        Plan::Conflict(self.repo.patch(&rel, &base, theirs)?)
                    }
                }
                _ => Plan::Conflict(self.repo.patch(
                    &rel,
                    &base,
                    theirs.as_deref().unwrap_or_default(),
                )?),
            };
            plans.push(plan);
        }
        Ok(plans)
    }

    /// Decides how each file will come back (merging what checks changed),
    /// before anything else (staging fixes) changes the index.
    pub fn prepare(&self) -> Result<Prepared> {
        Ok(Prepared {
            plans: self.plans()?,
            paths: self.entries.iter().map(Entry::rel).collect(),
        })
    }

    /// Puts every file back as `prepared` says; deletes the folder only
    /// when all are back.
    pub fn restore(mut self, prepared: Prepared) -> Result<Restored> {
        self.restore_with(prepared.plans)
    }

    fn restore_all(&mut self) -> Result<Restored> {
        let plans = self.plans()?;
        self.restore_with(plans)
    }

    fn restore_with(&mut self, plans: Vec<Plan>) -> Result<Restored> {
        let root = self.repo.root().to_path_buf();
        let files = self.dir.join("files");
        let mut out = Restored::default();
        let mut patch = Vec::new();
        for (e, plan) in self.entries.iter().zip(plans) {
            let rel = e.rel();
            let cur = root.join(&rel);
            let saved = e.saved.as_ref().map(|n| files.join(n));
            let saved_there = saved.as_deref().is_some_and(exists);
            if e.saved.is_some() && !saved_there {
                // Never moved (a failure while setting aside): still in place.
                continue;
            }
            match plan {
                Plan::Back => {}
                Plan::Merged(bytes) => {
                    if let Some(s) = &saved {
                        fs::write(s, bytes)?;
                    }
                    out.merged.push(rel.clone());
                }
                Plan::Conflict(p) => {
                    patch.extend_from_slice(&p);
                    out.conflicts.push(rel.clone());
                }
            }
            remove(&cur)?;
            match &saved {
                Some(s) => {
                    if let Some(parent) = cur.parent().filter(|p| !p.exists()) {
                        fs::create_dir_all(parent)?;
                    }
                    move_path(s, &cur)?;
                }
                None => remove_empty_parents(&cur, &root),
            }
        }
        if !patch.is_empty() {
            let fixes = self
                .dir
                .parent()
                .expect("snapshot has a parent")
                .join("fixes");
            fs::create_dir_all(&fixes)?;
            let path = fixes.join(format!("{}.patch", crate::runs::stamp_now()));
            runs::write_atomic(&path, &patch, true)?;
            out.patch = Some(path);
        }
        fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        self.done = true;
        Ok(out)
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.restore_all() {
                eprintln!(
                    "precheck: could not restore your unstaged changes: {e:#}\nthey are safe in {}; run any precheck command to retry, or see the README's \"Recovering by hand\"",
                    self.dir.display()
                );
            }
        }
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
            // nothing was set aside.
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
    let root = repo.root();
    let written: Vec<PathBuf> = manifest
        .entries
        .iter()
        .filter(|e| e.wrote_index)
        .map(Entry::rel)
        .collect();
    let differing: std::collections::HashSet<PathBuf> =
        repo.differing(&written)?.into_iter().collect();
    let mut kept_aside = Vec::new();
    let recovered = dir
        .parent()
        .expect("snapshot has a parent")
        .join("recovered")
        .join(crate::runs::stamp_now());
    let mut restored = 0;
    for e in &manifest.entries {
        let rel = e.rel();
        let cur = root.join(&rel);
        let saved = e.saved.as_ref().map(|n| dir.join("files").join(n));
        match saved {
            Some(s) if exists(&s) => {
                // The work tree holds what we wrote (or nothing): safe to replace.
                let ours_in_place = !exists(&cur) || (e.wrote_index && !differing.contains(&rel));
                if ours_in_place {
                    remove(&cur)?;
                    if let Some(parent) = cur.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    move_path(&s, &cur)?;
                    restored += 1;
                } else {
                    // Changed since the crash: keep both.
                    let target = recovered.join(&rel);
                    fs::create_dir_all(target.parent().expect("has a parent"))?;
                    move_path(&s, &target)?;
                    kept_aside.push((rel, target));
                }
            }
            Some(_) => {} // never moved: the user's file is still in place
            None => {
                // The work tree had no file; remove the index version we wrote.
                if e.wrote_index && exists(&cur) && !differing.contains(&rel) {
                    remove(&cur)?;
                    remove_empty_parents(&cur, root);
                }
            }
        }
    }
    fs::remove_dir_all(&dir)?;
    let mut notes = vec![format!(
        "precheck: restored {restored} file{} with unstaged changes that a precheck (pid {}) set aside before it died",
        crate::plan::plural(restored),
        manifest.pid
    )];
    for (rel, target) in kept_aside {
        notes.push(format!(
            "precheck: {} changed since then, so it was left as it is; your earlier unstaged version is in {}",
            rel.display(),
            target.display()
        ));
    }
    Ok(notes)
}

/// Stops what a dead precheck left running, and restores its snapshot if
/// there is one and no live precheck holds the work tree. Cheap when there is
/// nothing to do (a directory read and a stat).
pub fn recover_if_needed(repo: &Repo) -> Result<()> {
    let reaped = crate::ledger::reap_dead(repo.git_dir());
    if reaped > 0 {
        eprintln!(
            "precheck: stopped {reaped} process{} left running by a precheck that died",
            if reaped == 1 { "" } else { "es" }
        );
    }
    if !exists(&snapshot_dir(repo.git_dir())) {
        return Ok(());
    }
    let lock =
        match crate::lock::TreeLock::try_acquire(repo.git_dir(), crate::lock::Mode::Exclusive)? {
            crate::lock::Attempt::Got(lock) => lock,
            crate::lock::Attempt::Busy => return Ok(()),
        };
    for note in recover(repo)? {
        eprintln!("{note}");
    }
    drop(lock);
    Ok(())
}
