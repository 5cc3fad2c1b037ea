//! Running checks: the scheduler's decisions, the supervision of running
//! process trees, the one process launcher (duct) and the shared memory
//! ledger. Nothing here prints; the report observes.

pub mod ledger;
pub mod scheduler;
pub mod spawn;
mod worker;
