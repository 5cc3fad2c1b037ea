//! The work-tree lock, a readers–writer lock on a file under the git dir
//! (`File::lock`, flock(2) on Linux): runs that only read the work tree
//! share it; a run that changes it (sets unstaged changes aside, runs
//! fixers, restores) holds it alone. The kernel releases it when its holder dies, so a lock left by a
//! crashed precheck never blocks anyone.
//!
//! A run reads what it must set aside under the lock it holds: another run
//! may have files set aside until it lets go. [`TreeLock::for_run`] owns the
//! upgrade from shared to exclusive that follows from what it read.
//!
//! flock cannot upgrade in place: the shared hold is let go first, and
//! another run may take the tree alone, change it and let go before the
//! upgrade is had. So the lock file keeps a generation, a count that every
//! exclusive holder advances when it takes the lock: an upgrade that finds
//! it moved since the read reads again.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads the work tree: many at once.
    Shared,
    /// Changes the work tree: alone.
    Exclusive,
}

/// Held until dropped (closing the file releases the lock).
pub struct TreeLock {
    file: File,
}

fn lock_path(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("worktree.lock")
}

fn open(git_dir: &Path) -> Result<File> {
    let path = lock_path(git_dir);
    crate::fsutil::private_dir(path.parent().expect("lock has a parent"))?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// One non-blocking attempt.
fn try_lock(file: &File, mode: Mode) -> Result<bool> {
    let attempt = match mode {
        Mode::Shared => file.try_lock_shared(),
        Mode::Exclusive => file.try_lock(),
    };
    match attempt {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Interrupted => Ok(false),
        Err(TryLockError::Error(e)) => Err(e).context("cannot lock the work tree"),
    }
}

/// The lock just taken on `file`; taken alone, the generation is advanced
/// before it is handed out (see the module's note).
fn taken(file: File, mode: Mode) -> TreeLock {
    let lock = TreeLock { file };
    if mode == Mode::Exclusive {
        lock.advance();
    }
    lock
}

impl TreeLock {
    /// How many times the tree was taken alone: the lock file's
    /// modification time, which each exclusive holder moves on by one
    /// nanosecond (a count kept in the inode needs no free block: a full
    /// disk never stops a run from taking the lock).
    fn generation(&self) -> u128 {
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    }

    /// Counts one more exclusive hold (taken: nobody else moves the count
    /// meanwhile). Where it cannot be moved (a file system that keeps
    /// coarser times, or refuses), the holder's own upgrade sees a count
    /// that did not move by its step, and reads again.
    fn advance(&self) {
        if let Ok(now) = self.file.metadata().and_then(|m| m.modified()) {
            let _ = self
                .file
                .set_modified(now + std::time::Duration::from_nanos(1));
        }
    }
}

pub enum Attempt {
    Got(TreeLock),
    Busy,
}

impl TreeLock {
    /// Takes the lock if it is free now.
    pub fn try_acquire(git_dir: &Path, mode: Mode) -> Result<Attempt> {
        let file = open(git_dir)?;
        Ok(if try_lock(&file, mode)? {
            Attempt::Got(taken(file, mode))
        } else {
            Attempt::Busy
        })
    }

    /// Waits for the lock, saying once who holds it and how not to wait
    /// (`holders` words it); gives up (None) when a signal arrives while
    /// waiting.
    pub fn acquire(
        git_dir: &Path,
        mode: Mode,
        signal: &AtomicUsize,
        holders: impl Fn() -> String,
    ) -> Result<Option<TreeLock>> {
        let file = open(git_dir)?;
        let mut said = false;
        loop {
            if try_lock(&file, mode)? {
                return Ok(Some(taken(file, mode)));
            }
            if !said {
                crate::report::errln!("precheck: {}", holders());
                said = true;
            }
            if signal.load(Ordering::SeqCst) != 0 {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A run's hold on the work tree and what it read under it.
pub struct Held {
    pub lock: TreeLock,
    /// What `read` found: the paths the run sets aside.
    pub read: Vec<PathBuf>,
}

impl TreeLock {
    /// Takes the lock a run needs: shared to read the work tree, exclusive
    /// when `exclusive` or when `read` (called under the lock) finds paths
    /// to set aside. An upgrade that cannot be had at once waits and reads
    /// again, since the tree may have changed meanwhile. `shared`: a shared
    /// hold taken earlier, under which the first `read` began (it is
    /// upgraded the same way). None when a signal arrived while waiting.
    pub fn for_run(
        git_dir: &Path,
        exclusive: bool,
        mut shared: Option<TreeLock>,
        signal: &AtomicUsize,
        holders: impl Fn() -> String,
        mut read: impl FnMut() -> Result<Vec<PathBuf>>,
    ) -> Result<Option<Held>> {
        let mut mode = if exclusive {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        loop {
            let (lock, held) = match shared.take() {
                Some(lock) => (lock, Mode::Shared),
                None => match TreeLock::acquire(git_dir, mode, signal, &holders)? {
                    Some(lock) => (lock, mode),
                    None => return Ok(None),
                },
            };
            let generation = lock.generation();
            let found = read()?;
            if held == Mode::Shared && (mode == Mode::Exclusive || !found.is_empty()) {
                drop(lock);
                crate::fault::point("tree-lock-upgrade");
                mode = Mode::Exclusive;
                match TreeLock::try_acquire(git_dir, Mode::Exclusive)? {
                    Attempt::Got(alone) => {
                        // Free at once. What was read stands if nobody held
                        // the tree alone in between (the generation moved by
                        // this hold's own step only); else it is read again.
                        let moved = alone.generation() != generation.wrapping_add(1);
                        let read = if moved { read()? } else { found };
                        return Ok(Some(Held { lock: alone, read }));
                    }
                    // Wait, and read it again.
                    Attempt::Busy => continue,
                }
            }
            return Ok(Some(Held { lock, read: found }));
        }
    }
}
