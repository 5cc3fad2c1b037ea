//! Running checks: the scheduler's decisions (pure), the supervisor that
//! carries them out and watches running process trees, the workers that run
//! a check's batches, the one process launcher (duct) and the shared memory
//! ledger. Nothing here prints; the report observes.

pub mod builtin;
pub mod ledger;
pub mod probe;
pub mod scheduler;
pub mod spawn;
pub mod supervisor;
mod worker;
