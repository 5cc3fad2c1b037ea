//! Fault injection for tests: named points on the snapshot's path where a
//! debug build of precheck can kill itself with SIGKILL or pause, so that a
//! test can prove that a crash at every step loses nothing and that writes
//! racing a restore are kept.
//!
//! Honoured only in debug builds (`cargo test` builds the binary that way);
//! in a release build every point is a no-op and no variable is read.
//!
//! - `PRECHECK_FAULT_TRACE=FILE`: each point reached appends its name and a
//!   newline to FILE.
//! - `PRECHECK_FAULT_KILL_AT=N`: the N-th point reached (from 1) kills
//!   precheck with SIGKILL, after writing its name to the trace.
//! - `PRECHECK_FAULT_PAUSE=NAME`: at the first point named NAME, create
//!   `FILE.paused` (FILE from the trace variable) and wait until it is
//!   removed.
//! - `PRECHECK_FAULT_WATCH_FROM=N`: watch a tree's folders from N tracked
//!   files on (0: always), so that a small test tree takes the path of a
//!   big one.

/// Marks one step. `name` says which (for example `set-aside 3/7`).
#[cfg(debug_assertions)]
pub fn point(name: &str) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    struct Config {
        trace: Option<std::path::PathBuf>,
        kill_at: Option<usize>,
        pause: Option<String>,
    }
    static CONFIG: OnceLock<Config> = OnceLock::new();
    static REACHED: AtomicUsize = AtomicUsize::new(0);
    static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let config = CONFIG.get_or_init(|| Config {
        trace: std::env::var_os("PRECHECK_FAULT_TRACE").map(Into::into),
        kill_at: std::env::var("PRECHECK_FAULT_KILL_AT")
            .ok()
            .and_then(|n| n.parse().ok()),
        pause: std::env::var("PRECHECK_FAULT_PAUSE").ok(),
    });
    let Some(trace) = &config.trace else { return };
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(trace)
    {
        let _ = writeln!(f, "{name}");
        let _ = f.sync_all();
    }
    if config.kill_at == Some(n) {
        // SAFETY: sending a signal to ourselves.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    if config.pause.as_deref() == Some(name) && !PAUSED.swap(true, Ordering::SeqCst) {
        let mut flag = trace.clone().into_os_string();
        flag.push(".paused");
        let flag = std::path::PathBuf::from(flag);
        let _ = std::fs::write(&flag, name);
        while flag.exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_name: &str) {}

/// The number of tracked files from which folders are watched, when a
/// test sets it.
#[cfg(debug_assertions)]
pub fn watch_from() -> Option<usize> {
    std::env::var("PRECHECK_FAULT_WATCH_FROM")
        .ok()
        .and_then(|n| n.parse().ok())
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn watch_from() -> Option<usize> {
    None
}
