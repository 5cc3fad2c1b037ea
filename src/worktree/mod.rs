//! The repository and its work tree: git (the only user of git2 and of the
//! git binary), the work-tree lock, the staged snapshot with its restore
//! order, and the fixers' merge of their changes.

pub mod fixes;
pub mod git;
pub mod lock;
pub mod snapshot;
