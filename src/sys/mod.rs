//! The operating system, Linux only: the `/proc` and cgroup reader, the
//! process identity of every child precheck starts, signals, and inotify.

pub mod child;
pub mod proc;
pub mod signal;
pub mod watch;
