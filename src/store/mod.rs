//! Everything precheck keeps under `.git/precheck`: run records, the result
//! cache, the duration history and the services `precheck up` started.

pub mod cache;
pub mod history;
pub mod runs;
pub mod services;
