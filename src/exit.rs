//! Every exit status precheck uses, named once. Scripts and hooks rely on these.

/// Every check that ran passed (or nothing needed to run).
pub const PASSED: i32 = 0;
/// At least one check failed, timed out or was killed for memory.
pub const FAILED: i32 = 1;
/// Bad usage, a bad checks.toml, or an environment precheck cannot work in.
pub const USAGE: i32 = 2;
/// `precheck wait --timeout` ran out before the runs ended (as timeout(1)).
pub const WAIT_TIMEOUT: i32 = 124;
/// Interrupted by SIGHUP (128 + 1).
pub const HANGUP: i32 = 129;
/// Interrupted by SIGINT, Ctrl-C (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// Interrupted by SIGTERM (128 + 15).
pub const TERMINATED: i32 = 143;

/// The exit status for a run stopped by `signal`.
pub fn for_signal(signal: i32) -> i32 {
    match signal {
        libc::SIGHUP => HANGUP,
        libc::SIGTERM => TERMINATED,
        _ => INTERRUPTED,
    }
}
