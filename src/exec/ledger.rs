//! The memory ledger: runs in the same repository (in any of its work
//! trees) share the memory cap. Each live run keeps one small file under
//! the common git dir's `precheck/ledger/` holding
//! the expected memory of its running checks; admitting a check happens
//! under an exclusive lock on the ledger (`File::lock`, flock(2)), so two runs never both take the
//! last free memory. Files of dead runs are ignored and removed.
//!
//! A run's file is created once and then rewritten in place (one `pwrite`
//! of a fixed-width number), always under the lock, so a reader (also under
//! the lock) never sees half a number and a run of N checks creates no
//! file per check. A run that ends renames its file to `spare` for the next
//! run to take, so runs in steady state create none at all.
//! A service started by `precheck up` outlives the command: its memory is
//! a file named `service-TOKEN` after the service's own process, counted
//! for as long as that process lives (and dropped by the first reader once
//! it is gone).
//! It only records and reads memory: what to admit with it is the
//! scheduler's decision.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::sys::proc;

pub struct Ledger {
    dir: PathBuf,
    own: PathBuf,
    file: File,
    lock: File,
    /// What our file says now, to skip needless writes.
    written: u64,
}

/// The ledger is held while this lives.
pub struct Held<'a> {
    ledger: &'a mut Ledger,
}

impl Ledger {
    pub fn open(git_dir: &Path) -> Result<Ledger> {
        let dir = git_dir.join("precheck").join("ledger");
        crate::fsutil::private_dir(&dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(".lock"))
            .context("cannot open the memory ledger")?;
        let own = dir.join(crate::sys::child::owner_token());
        // The file a finished run left for the next (no file created).
        let _ = fs::rename(dir.join(SPARE), &own);
        // Not truncated: every write covers the whole fixed-width number.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&own)
            .context("cannot open the memory ledger")?;
        let mut ledger = Ledger {
            own,
            dir,
            file,
            lock,
            written: u64::MAX,
        };
        ledger.write(0);
        Ok(ledger)
    }

    /// Writes our number in place; the caller holds the lock.
    fn write(&mut self, bytes: u64) {
        use std::os::unix::fs::FileExt;
        if bytes != self.written {
            let _ = self
                .file
                .write_all_at(format!("{bytes:020}\n").as_bytes(), 0);
            self.written = bytes;
        }
    }

    /// Takes the ledger's lock (blocking: it is only ever held briefly).
    pub fn hold(&mut self) -> Held<'_> {
        // Unlocked in Held's drop. Should locking fail, admission goes on
        // unlocked, as a run without a ledger would.
        let _ = self.lock.lock();
        Held { ledger: self }
    }

    /// Records what this run holds now.
    pub fn set_own(&mut self, bytes: u64) {
        if bytes != self.written {
            self.hold().set_own(bytes);
        }
    }
}

/// Memory held elsewhere: by other runs and by services `precheck up`
/// started (`services` is part of `total`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Others {
    pub total: u64,
    pub services: u64,
}

/// The ledger file of a service `precheck up` started.
const SERVICE_PREFIX: &str = "service-";

impl Held<'_> {
    /// Expected memory held by the other live runs and by services.
    pub fn others(&self) -> Others {
        others(&self.ledger.dir, Some(&self.ledger.own))
    }

    pub fn set_own(&mut self, bytes: u64) {
        self.ledger.write(bytes);
    }
}

/// What the ledger in `dir` holds, but for the file `own`.
fn others(dir: &Path, own: Option<&Path>) -> Others {
    let Ok(entries) = fs::read_dir(dir) else {
        return Others::default();
    };
    let mut out = Others::default();
    for e in entries.flatten() {
        let path = e.path();
        if Some(path.as_path()) == own {
            continue;
        }
        let name = e.file_name();
        let number = || {
            fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        if let Some(token) = name.to_str().and_then(|n| n.strip_prefix(SERVICE_PREFIX)) {
            match crate::sys::child::token_alive(token) {
                Some(true) => {
                    let n = number();
                    out.total += n;
                    out.services += n;
                }
                // Its process is gone: so is what it held.
                _ => {
                    let _ = fs::remove_file(&path);
                }
            }
            continue;
        }
        match owner_alive(&name) {
            Some(true) => {}
            Some(false) => {
                // A run that died: what it left running still uses
                // memory nobody counts, so it is stopped now, not when
                // some later command starts.
                reap(&path, &name);
                continue;
            }
            None => continue,
        }
        out.total += number();
    }
    out
}

/// Reserves `bytes` for the service whose first process has owner token
/// `token`, for as long as that process lives (the common git dir, as for
/// [`Ledger::open`]).
pub fn reserve_service(git_dir: &Path, token: &str, bytes: u64) -> Result<()> {
    let dir = git_dir.join("precheck").join("ledger");
    crate::fsutil::private_dir(&dir)?;
    crate::fsutil::write_atomic(
        &dir.join(format!("{SERVICE_PREFIX}{token}")),
        format!("{bytes:020}\n").as_bytes(),
        false,
    )
}

/// Gives back what a stopped service reserved.
pub fn release_service(git_dir: &Path, token: &str) {
    let path = git_dir
        .join("precheck")
        .join("ledger")
        .join(format!("{SERVICE_PREFIX}{token}"));
    let _ = fs::remove_file(path);
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.ledger.lock.unlock();
    }
}

/// Whether the run a ledger file is named after (its owner token) is
/// still running; None for a name that is not a token (the lock file).
fn owner_alive(name: &std::ffi::OsStr) -> Option<bool> {
    crate::sys::child::token_alive(name.to_str()?)
}

/// After a crash: stops whatever a run that died without cleaning up had
/// started (found by the owner token in their environment), and drops its
/// ledger file. Cheap when no run died: one directory read. `git_dir` is
/// the common one, as for [`Ledger::open`].
pub fn reap_dead(git_dir: &Path) -> usize {
    let dir = git_dir.join("precheck").join("ledger");
    let mut stopped = 0;
    for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
        if owner_alive(&e.file_name()) == Some(false) {
            stopped += reap(&e.path(), &e.file_name());
        }
    }
    stopped
}

/// Stops what the dead run named `token` left running (found by the token
/// in their environment) and drops its ledger file; how many were stopped.
fn reap(path: &Path, token: &std::ffi::OsStr) -> usize {
    let Some(token) = token.to_str() else {
        return 0;
    };
    let orphans = proc::with_env(crate::sys::child::OWNER_ENV, token);
    crate::sys::signal::kill_and_wait(&orphans, std::time::Duration::from_secs(1));
    let _ = fs::remove_file(path);
    orphans.len()
}

/// The name of the file a finished run leaves for the next one to take
/// (neither counted nor reaped: it is no run's token).
const SPARE: &str = "spare";

impl Drop for Ledger {
    fn drop(&mut self) {
        // Zero first: whoever reads it before the rename sees nothing held.
        self.hold().set_own(0);
        if fs::rename(&self.own, self.dir.join(SPARE)).is_err() {
            let _ = fs::remove_file(&self.own);
        }
    }
}
