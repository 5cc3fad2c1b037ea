//! Work over many files at once: on every core, in a pool of its own (the
//! checks' pool is busy waiting for processes), in the items' order. Used
//! by the built-ins over their files and by the fixers' fingerprints.
//!
//! A check's worker is a thread of the checks' rayon pool. Such a thread
//! must never wait in this pool's `install`: rayon lets a thread of another
//! pool that waits there run its own pool's queued jobs meanwhile, and the
//! checks' pool queues its workers' serve loops, which return only when the
//! run ends, so the built-in under it would never finish (a run that hung
//! for good, found by the built-ins' benchmark). From there the work is
//! handed over by a plain thread, which waits without taking anything.

use std::sync::OnceLock;

use rayon::prelude::*;

/// Below this many items one thread does them all: a pool costs more.
const ALONE_BELOW: usize = 256;

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("precheck-files-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// `work` on each item, in their order.
pub fn map<'a, T: Sync, R: Send>(
    items: &'a [T],
    work: impl Fn(&'a T) -> R + Sync + Send,
) -> Vec<R> {
    match pool() {
        Some(pool) if items.len() >= ALONE_BELOW => {
            let all = || pool.install(|| items.par_iter().map(&work).collect());
            let in_another_pool =
                rayon::current_thread_index().is_some() && pool.current_thread_index().is_none();
            if !in_another_pool {
                return all();
            }
            std::thread::scope(|s| {
                match std::thread::Builder::new().spawn_scoped(s, all) {
                    Ok(handle) => match handle.join() {
                        Ok(out) => out,
                        // The work's panic, carried on in the caller (a
                        // built-in's is caught and reported by its worker).
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    // No thread to be had: this one does it all.
                    Err(_) => items.iter().map(&work).collect(),
                }
            })
        }
        // No pool (no threads to be had): one thread does it.
        _ => items.iter().map(work).collect(),
    }
}
