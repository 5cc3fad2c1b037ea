//! Records of the services `precheck up` started, under the git dir
//! (`precheck/services/NAME.json`, its output in `NAME.log`): which process
//! runs it, since when, how it became ready and what memory it reserves.
//! They outlive the terminal that started them, like background runs; a
//! record whose process is gone says so when read.
//!
//! It only records and reads: starting, probing and stopping are the
//! `up`/`down` commands'.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Service;
use crate::sys::{child, proc};

/// How a recorded service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Started; its probe has not answered yet.
    Starting,
    Ready,
    /// Not ready in time, or ended before it was: stopped.
    Failed,
    /// Stopped by `down` or `kill`.
    Stopped,
    /// Its process ended without being stopped (read, never written).
    Exited,
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            ServiceState::Starting => "starting",
            ServiceState::Ready => "ready",
            ServiceState::Failed => "failed",
            ServiceState::Stopped => "stopped",
            ServiceState::Exited => "exited",
        };
        f.write_str(word)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    /// The service's first process, which leads its own session and group.
    pub pid: i32,
    pub start: u64,
    pub pid_ns: u64,
    pub started_ms: u64,
    pub state: ServiceState,
    /// How it became ready, and when.
    pub ready: Option<String>,
    pub ready_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// What it reserves under the memory cap.
    pub memory: u64,
    /// What its probe looks at (a URL, a port, a log pattern).
    pub probe: String,
    pub log: PathBuf,
    /// The value of `PRECHECK_SERVICE` in its processes.
    pub marker: String,
}

impl Record {
    /// The owner token of its first process.
    pub fn token(&self) -> String {
        child::token(self.pid, self.start, Some(self.pid_ns))
    }

    /// Whether its first process still runs.
    pub fn alive(&self) -> bool {
        proc::alive_in(self.pid, self.start, Some(self.pid_ns))
    }

    /// Its state as it stands now: a record that says starting or ready
    /// whose process is gone says exited.
    pub fn state_now(&self) -> ServiceState {
        match self.state {
            ServiceState::Starting | ServiceState::Ready if !self.alive() => ServiceState::Exited,
            s => s,
        }
    }

    /// Running, whatever its probe said so far.
    pub fn running(&self) -> bool {
        matches!(
            self.state_now(),
            ServiceState::Starting | ServiceState::Ready
        )
    }
}

fn dir(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("services")
}

/// Where a service's output goes.
pub fn log_path(git_dir: &Path, name: &str) -> PathBuf {
    dir(git_dir).join(format!("{name}.log"))
}

/// Writes a record whole (readers see the old one or the new one).
pub fn write(git_dir: &Path, record: &Record) -> Result<()> {
    let dir = dir(git_dir);
    crate::fsutil::private_dir(&dir)?;
    let bytes = serde_json::to_vec_pretty(record)?;
    crate::fsutil::write_atomic(&dir.join(format!("{}.json", record.name)), &bytes, false)
        .context("cannot write the service's record")
}

pub fn read(git_dir: &Path, name: &str) -> Option<Record> {
    let text = std::fs::read(dir(git_dir).join(format!("{name}.json"))).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Held while one `up` or `down` starts or stops services, so that two
/// at once never both start one service (the second would fail on its
/// port and write over the first's record). Released when dropped, or when
/// its process dies. `waiting` is called first when it is held elsewhere.
pub fn lock(git_dir: &Path, waiting: impl FnOnce()) -> Result<std::fs::File> {
    let dir = dir(git_dir);
    crate::fsutil::private_dir(&dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .context("cannot open the services' lock")?;
    if file.try_lock().is_err() {
        waiting();
        file.lock().context("cannot lock the services")?;
    }
    Ok(file)
}

/// Every recorded service, by name.
pub fn list(git_dir: &Path) -> Vec<Record> {
    let mut out: Vec<Record> = std::fs::read_dir(dir(git_dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            read(git_dir, name.strip_suffix(".json")?)
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// How a run finds `service` already running without it: started by
/// `precheck up` and ready, else (for a URL or port probe) anything that
/// answers it now. None: the run starts its own.
pub fn running_elsewhere(git_dir: &Path, service: &Service) -> Option<String> {
    if let Some(r) = read(git_dir, &service.name) {
        if r.state == ServiceState::Ready && r.alive() {
            return Some(format!(
                "reused: started by `precheck up` (pid {}); left running",
                r.pid
            ));
        }
    }
    crate::exec::probe::answers(&service.ready)
        .map(|how| format!("reused: {how} (not started by this run); left running"))
}
