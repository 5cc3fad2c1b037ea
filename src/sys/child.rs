//! Ownership of child processes: every process precheck starts (checks,
//! their batches, git helpers) carries this precheck's owner mark in its
//! environment and is killed by the kernel when precheck dies. What a
//! precheck killed outright had started (grandchildren that outlived the
//! parent-death signal included) is found later by that mark and stopped
//! before anything it could still write to is touched.
//!
//! It only prepares commands; it never starts or signals a process.

use std::process::Command;

pub use crate::env::OWNER as OWNER_ENV;

/// This process's owner token (`PID-STARTTIME`), read once.
pub fn owner_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let pid = std::process::id() as i32;
        let start = crate::sys::proc::proc_id(pid).map_or(0, |p| p.start);
        format!("{pid}-{start}")
    })
}

/// Marks `cmd` as ours: the owner token in its environment, and SIGKILL to
/// it when precheck dies (it exits at once if precheck is already gone).
pub fn own(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.env(OWNER_ENV, owner_token());
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
