//! Everything precheck keeps under `.git/precheck`: run records, the result
//! cache and the duration history.

pub mod cache;
pub mod history;
pub mod runs;
