//! Signals: the only sender of signals to other processes, and the one
//! place precheck's own signal handlers are registered. Callers decide whom
//! to signal (by a process identity checked for pid reuse); this module only
//! delivers.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use anyhow::Result;

use crate::sys::proc::ProcId;

pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGKILL: i32 = libc::SIGKILL;

/// Sends `signal` to a process group and to each listed process.
pub fn send(pgid: Option<i32>, procs: &[ProcId], signal: i32) {
    // SAFETY: kill and killpg only send a signal; a stale pid is excluded by
    // the caller's start-time check, and errors (ESRCH) are harmless here.
    unsafe {
        if let Some(g) = pgid.filter(|g| *g > 1) {
            libc::killpg(g, signal);
        }
        let me = libc::getpid();
        for p in procs {
            if p.pid > 1 && p.pid != me {
                libc::kill(p.pid, signal);
            }
        }
    }
}

/// SIGKILL to each listed process, then waits (at most `within`) until
/// the kernel has taken them down, which the signal alone does not wait
/// for: what is read next (a record's state, a port) then says so.
pub fn kill_and_wait(procs: &[ProcId], within: std::time::Duration) {
    if procs.is_empty() {
        return;
    }
    send(None, procs, SIGKILL);
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline
        && procs
            .iter()
            .any(|p| crate::sys::proc::alive(p.pid, p.start))
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Does any process still belong to this process group? (Signal 0 only asks.)
pub fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 performs the permission and existence check only.
    pgid > 1 && unsafe { libc::killpg(pgid, 0) } == 0
}

/// Tells a running precheck (`pid`, whose identity the caller checked) that
/// a kill request waits for it in its run record.
pub fn notify_kill_request(pid: i32) {
    // SAFETY: a signal to one process; SIGUSR1 is registered by every run.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
    }
}

/// What a run listens for while its checks run.
pub struct Handlers {
    /// The number of SIGINT, SIGTERM or SIGHUP when one arrived, else 0.
    pub stop: Arc<AtomicUsize>,
    /// Set by SIGUSR1: `precheck kill` left a request.
    pub kill_asked: Arc<AtomicBool>,
}

/// Registers SIGINT, SIGTERM and SIGHUP (the number of the one received)
/// and SIGUSR1 (`precheck kill` has a request).
pub fn register() -> Result<Handlers> {
    let stop = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register_usize(sig, stop.clone(), sig as usize)?;
    }
    let kill_asked = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(libc::SIGUSR1, kill_asked.clone())?;
    Ok(Handlers { stop, kill_asked })
}
