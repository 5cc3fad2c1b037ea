//! The one integration-test binary: every file here is a module of it, all
//! driving the real precheck binary through the builder in `common`. One
//! binary links once and runs its tests on one shared pool of threads.

mod common;

mod agents;
mod background;
mod builtins;
mod cache;
mod cache_soundness;
mod ci;
mod config_errors;
mod coverage;
mod files;
mod gate;
mod hooks;
mod identity;
mod import;
mod init;
mod layers;
mod live_view;
mod local;
mod nothing_lost;
mod run;
mod scheduler;
mod screens;
mod services;
mod snapshot;
