//! Work over many files at once: on every core, in a pool of its own (the
//! checks' pool is busy waiting for processes), in the items' order. Used
//! by the built-ins over their files and by the fixers' fingerprints.

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
            pool.install(|| items.par_iter().map(work).collect())
        }
        // No pool (no threads to be had): one thread does it.
        _ => items.iter().map(work).collect(),
    }
}
