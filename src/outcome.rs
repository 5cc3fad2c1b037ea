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
    NotStarted,
    Interrupted,
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
            Status::NotStarted => "not_started",
            Status::Interrupted => "interrupted",
        }
    }

    /// Passed now or, cached, before.
    pub fn passed(self) -> bool {
        matches!(self, Status::Passed | Status::Cached)
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::TimedOut | Status::KilledMemory | Status::Killed
        )
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
            Status::NotStarted,
            Status::Interrupted,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.key())
            );
        }
    }
}
