//! Ownership of child processes: every process precheck starts (checks,
//! their batches, git helpers) carries this precheck's owner mark in its
//! environment. What a precheck killed outright had started is found later
//! by that mark and stopped before anything it could still write to is
//! touched.
//!
//! A child can also be *tied* to precheck: the kernel kills it when
//! precheck dies (the parent-death signal). Tying needs code in the child
//! before exec, which makes std fork the whole process instead of using
//! its cheap vfork-style spawn, so precheck ties only where a child
//! outliving it could touch files it has set aside: its git helpers, and
//! checks while the user's unstaged changes are set aside.
//!
//! While checks run, precheck is the subreaper of everything they start
//! (`adopt_orphans`): a process whose parent exits is reparented to
//! precheck rather than to init, so it stays in precheck's tree, is
//! measured and is stopped with its check. Such adopted processes are
//! reaped here once they exit.
//!
//! It only prepares commands and adopts orphans; it never starts or signals
//! a process.

use std::process::Command;

pub use crate::env::OWNER as OWNER_ENV;

/// This process's owner token (`PID-STARTTIME-PIDNS`), read once: who
/// started a process, in terms no other process can share (the pid
/// namespace too, since a pid means another process in another one).
pub fn owner_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let pid = std::process::id() as i32;
        let start = crate::sys::proc::proc_id(pid).map_or(0, |p| p.start);
        token(pid, start, Some(crate::sys::proc::pid_ns()))
    })
}

/// The owner token of the run process `pid`, started at `start` in pid
/// namespace `ns` (None: a record from before namespaces were recorded,
/// whose token had two parts).
pub fn token(pid: i32, start: u64, ns: Option<u64>) -> String {
    match ns {
        Some(ns) => format!("{pid}-{start}-{ns}"),
        None => format!("{pid}-{start}"),
    }
}

/// Whether the process an owner token names is still running, as far as
/// this process can tell (see `proc::alive_in`); None for a name that is
/// not a token.
pub fn token_alive(token: &str) -> Option<bool> {
    let mut parts = token.split('-');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    let ns = match parts.next() {
        Some(ns) => Some(ns.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(crate::sys::proc::alive_in(pid, start, ns))
}

/// Marks `cmd` as ours: the owner token in its environment.
pub fn own(cmd: &mut Command) {
    cmd.env(OWNER_ENV, owner_token());
}

/// Ties `cmd` to precheck: SIGKILL to it when precheck dies (it exits at
/// once if precheck is already gone).
pub fn tie(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; this runs in
    // the child between fork and exec.
    unsafe {
        let parent = libc::getpid();
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Starts `cmd` in a session of its own (it leads its process group too):
/// closing the terminal or the calling shell does not reach it.
pub fn detach(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe; it runs in the child between
    // fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// Makes this process the subreaper of its descendants (`on`), or stops.
/// Failing (an old kernel) only means orphans go to init, as before.
pub fn adopt_orphans(on: bool) {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a process flag.
    unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        );
    }
}

/// Reaps one exited child adopted as an orphan (never a process some other
/// part of precheck waits for: the caller makes sure of that).
pub fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid on one specific pid, without blocking.
    unsafe {
        libc::waitpid(pid, &mut status, libc::WNOHANG);
    }
}
