//! The outcome vocabulary shared by the scheduler, the report, the run
//! records and history. A leaf.

use serde::{Deserialize, Serialize};

/// A check's outcome. Its serde name (`snake_case`) is the one spelling of
/// it in `--format json`, JUnit, run records, `tasks` and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// Passed before with the same inputs; not run again.
    Cached,
    Failed,
    TimedOut,
    KilledMemory,
    SkippedNeeds,
    /// Stopped on request (`precheck kill`).
    Killed,
    /// Decided by the plan, never by the scheduler; part of the shared vocabulary.
    SkippedNoFiles,
    /// Named in PRECHECK_SKIP; decided by the plan.
    SkippedByUser,
    /// Its `skip` or `only` in checks.toml (or checks.local.toml) kept it
    /// from running; decided by the plan, the reason in the entry's detail.
    SkippedByCondition,
    NotStarted,
    Interrupted,
    /// Running when its run's precheck died (read so from the record; never
    /// the outcome of a live run).
    Crashed,
}

impl Status {
    /// The name of a status in JSON and records (part of the contract).
    pub fn key(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Cached => "cached",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::KilledMemory => "killed_memory",
            Status::SkippedNeeds => "skipped_needs",
            Status::Killed => "killed",
            Status::SkippedNoFiles => "skipped_no_files",
            Status::SkippedByUser => "skipped_by_user",
            Status::SkippedByCondition => "skipped_by_condition",
            Status::NotStarted => "not_started",
            Status::Interrupted => "interrupted",
            Status::Crashed => "crashed",
        }
    }

    /// Passed now or, cached, before.
    pub fn passed(self) -> bool {
        matches!(self, Status::Passed | Status::Cached)
    }

    /// Not run by decision: its needs failed, no files, PRECHECK_SKIP, or
    /// its `skip` or `only`.
    pub fn skipped(self) -> bool {
        matches!(
            self,
            Status::SkippedNeeds
                | Status::SkippedNoFiles
                | Status::SkippedByUser
                | Status::SkippedByCondition
        )
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::TimedOut | Status::KilledMemory | Status::Killed
        )
    }
}

/// A run's state in its record and in `tasks`. `Crashed` is never written:
/// a record says `running` and its process is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Passed,
    Failed,
    Interrupted,
    /// Stopped by `precheck kill`.
    Killed,
    Crashed,
}

impl RunState {
    pub fn key(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Passed => "passed",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Killed => "killed",
            RunState::Crashed => "crashed",
        }
    }

    pub fn finished(self) -> bool {
        self != RunState::Running
    }
}

/// A check's state in a run record: not yet ended, or its final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CheckState {
    Pending(Pending),
    Ended(Status),
}

/// A check that has not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    Waiting,
    Running,
}

impl CheckState {
    pub const WAITING: CheckState = CheckState::Pending(Pending::Waiting);
    pub const RUNNING: CheckState = CheckState::Pending(Pending::Running);

    pub fn key(self) -> &'static str {
        match self {
            CheckState::Pending(Pending::Waiting) => "waiting",
            CheckState::Pending(Pending::Running) => "running",
            CheckState::Ended(s) => s.key(),
        }
    }

    pub fn ended(self) -> Option<Status> {
        match self {
            CheckState::Ended(s) => Some(s),
            CheckState::Pending(_) => None,
        }
    }
}

/// Why the plan runs a check or not, as `precheck list --format json`
/// names it (the reason in words comes with the plan's decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Run,
    SkippedNoFiles,
    NotInHook,
    NotSelected,
    SkippedByUser,
    SkippedByCondition,
    OtherShard,
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.key())
    }
}

impl std::fmt::Display for CheckState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_serde_name() {
        for s in [
            Status::Passed,
            Status::Cached,
            Status::Failed,
            Status::TimedOut,
            Status::KilledMemory,
            Status::SkippedNeeds,
            Status::Killed,
            Status::SkippedNoFiles,
            Status::SkippedByUser,
            Status::SkippedByCondition,
            Status::NotStarted,
            Status::Interrupted,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.key())
            );
            let state = CheckState::Ended(s);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                serde_json::to_string(&s).unwrap()
            );
            let back: CheckState = serde_json::from_str(&format!("\"{}\"", s.key())).unwrap();
            assert_eq!(back, state);
        }
    }

    #[test]
    fn states_read_back_as_written() {
        for s in [CheckState::WAITING, CheckState::RUNNING] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(text, format!("\"{}\"", s.key()));
            assert_eq!(serde_json::from_str::<CheckState>(&text).unwrap(), s);
        }
        for r in [
            RunState::Running,
            RunState::Passed,
            RunState::Failed,
            RunState::Interrupted,
            RunState::Killed,
            RunState::Crashed,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.key())
            );
        }
    }
}
