//! The commands: one file per command family. Each parses nothing (clap did),
//! opens the repository through the snapshot (which recovers first), and
//! hands a run to the pipeline or reads the store.

pub mod doctor;
pub mod import;
pub mod init;
pub mod install;
pub mod tasks;
