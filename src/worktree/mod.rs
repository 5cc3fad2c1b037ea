//! The repository and its work tree: git (the only user of git2 and of the
//! git binary), the work-tree lock, the staged snapshot with its restore
//! order, the fixers' merge of their changes, and what changed while the
//! checks ran.

pub mod drift;
pub mod fixes;
pub mod git;
pub mod lock;
pub mod snapshot;
