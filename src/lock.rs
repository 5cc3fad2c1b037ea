//! The work-tree lock: only one precheck at a time may change the work tree
//! (set unstaged changes aside, run fixers, restore). A file under the git
//! dir holds the owner's pid and start time; a lock whose owner is gone is
//! stale and is cleared. The lock is released when dropped.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::memory;

pub struct TreeLock {
    path: PathBuf,
    token: String,
}

fn lock_path(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("worktree.lock")
}

fn own_token() -> String {
    let pid = std::process::id() as i32;
    let start = memory::proc_id(pid).map_or(0, |p| p.start);
    format!("{pid} {start}\n")
}

/// The pid of a live owner of the lock, or None when the lock is stale.
fn live_owner(text: &str) -> Option<i32> {
    let mut parts = text.split_whitespace();
    let pid: i32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    memory::proc_id(pid)
        .filter(|p| p.start == start)
        .map(|p| p.pid)
}

pub enum Attempt {
    Got(TreeLock),
    HeldBy(i32),
}

impl TreeLock {
    /// Takes the lock if it is free (clearing a stale one).
    pub fn try_acquire(git_dir: &Path) -> Result<Attempt> {
        let path = lock_path(git_dir);
        fs::create_dir_all(path.parent().expect("lock has a parent"))
            .with_context(|| format!("cannot create {}", path.display()))?;
        let token = own_token();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(token.as_bytes())?;
                    return Ok(Attempt::Got(TreeLock { path, token }));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    if text.is_empty() {
                        // Being written this instant, or left empty by a crash
                        // between create and write: look again shortly.
                        std::thread::sleep(Duration::from_millis(20));
                        let again = fs::read_to_string(&path).unwrap_or_default();
                        if again.is_empty() {
                            let _ = fs::remove_file(&path);
                        }
                        continue;
                    }
                    match live_owner(&text) {
                        Some(pid) => return Ok(Attempt::HeldBy(pid)),
                        None => {
                            // Stale: its owner died without releasing it.
                            let _ = fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
    }

    /// Waits for the lock, saying once who holds it; gives up (None) when a
    /// signal arrives while waiting.
    pub fn acquire(git_dir: &Path, signal: &AtomicUsize) -> Result<Option<TreeLock>> {
        let mut said = false;
        loop {
            match Self::try_acquire(git_dir)? {
                Attempt::Got(lock) => return Ok(Some(lock)),
                Attempt::HeldBy(pid) => {
                    if !said {
                        eprintln!(
                            "precheck: waiting for precheck (pid {pid}), which is using the work tree…"
                        );
                        said = true;
                    }
                    if signal.load(Ordering::SeqCst) != 0 {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

impl Drop for TreeLock {
    fn drop(&mut self) {
        if fs::read_to_string(&self.path).is_ok_and(|t| t == self.token) {
            let _ = fs::remove_file(&self.path);
        }
    }
}
