//! What past runs measured, per check: durations of passes and peak memory
//! of the newest runs (`.git/precheck/history.json`), and the estimates
//! drawn from them.
//!
//! A check that declares no `memory` is admitted with the 90th percentile of
//! its recent measured peaks plus a quarter (`MARGIN`), or `default_memory`
//! when nothing was measured yet. Durations feed the critical-path order.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::config::Check;
use crate::outcome::Status;

/// How many recent measurements of each check are kept.
pub const RUNS: usize = 10;
/// Added to the measured percentile, for growth and sampling gaps.
pub const MARGIN: f64 = 0.25;

#[derive(Debug, Default, Clone)]
pub struct History {
    /// Milliseconds of recent passes, newest first.
    pub durations: Vec<u64>,
    /// Measured peaks (bytes) of recent runs of the check, newest first.
    pub peaks: Vec<u64>,
}

fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

impl History {
    pub fn median_duration(&self) -> Option<Duration> {
        percentile(&self.durations, 0.5).map(Duration::from_millis)
    }

    pub fn median_peak(&self) -> Option<u64> {
        percentile(&self.peaks, 0.5)
    }

    pub fn max_peak(&self) -> Option<u64> {
        self.peaks.iter().copied().max()
    }

    /// The learned estimate: p90 of the peaks plus the margin.
    pub fn learned_memory(&self) -> Option<u64> {
        percentile(&self.peaks, 0.9).map(|p| (p as f64 * (1.0 + MARGIN)) as u64)
    }
}

fn path(git_dir: &Path) -> std::path::PathBuf {
    git_dir.join("precheck").join("history.json")
}

/// Each check's recent measurements: one small file, so that reading it
/// costs one open however many runs there were.
pub fn read(git_dir: &Path) -> HashMap<String, History> {
    let Ok(bytes) = fs::read(path(git_dir)) else {
        return HashMap::new();
    };
    let doc: HashMap<String, (Vec<u64>, Vec<u64>)> =
        serde_json::from_slice(&bytes).unwrap_or_default();
    doc.into_iter()
        .map(|(name, (durations, peaks))| (name, History { durations, peaks }))
        .collect()
}

/// Adds one run's measurements (name, status, duration, peak) to `all`
/// (what [`read`] gave at the start of the run), keeping the newest `RUNS`
/// of each check, and writes it back.
pub fn record<'a>(
    git_dir: &Path,
    mut all: HashMap<String, History>,
    checks: impl IntoIterator<Item = (&'a str, Status, u64, u64)>,
) {
    for (name, status, duration_ms, peak) in checks {
        let h = all.entry(name.to_string()).or_default();
        if status == Status::Passed {
            h.durations.insert(0, duration_ms);
            h.durations.truncate(RUNS);
        }
        // Runs that measured something (a kill for memory measured the most).
        if matches!(
            status,
            Status::Passed | Status::Failed | Status::KilledMemory
        ) && peak > 0
        {
            h.peaks.insert(0, peak);
            h.peaks.truncate(RUNS);
        }
    }
    let doc: HashMap<&String, (&Vec<u64>, &Vec<u64>)> = all
        .iter()
        .map(|(k, h)| (k, (&h.durations, &h.peaks)))
        .collect();
    if let Ok(bytes) = serde_json::to_vec(&doc) {
        let _ = crate::fsutil::replace(&path(git_dir), &bytes, false);
    }
}

/// Where the scheduler's figure for a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Declared,
    Learned,
    Default,
    /// A built-in: it runs in precheck's own process, whose memory no
    /// measure of a process tree sees; [`IN_PROCESS_MEMORY`] covers its
    /// buffers.
    InProcess,
}

/// What a built-in is admitted with unless it declares `memory`: the files
/// it holds while it reads them.
pub const IN_PROCESS_MEMORY: u64 = 64 * crate::units::MIB;

/// The expected memory the scheduler admits `check` with, and why.
pub fn expected_memory(check: &Check, history: Option<&History>, default: u64) -> (u64, Source) {
    if let Some(m) = check.memory {
        return (m, Source::Declared);
    }
    if matches!(check.run, crate::config::Run::Builtin(_)) {
        return (IN_PROCESS_MEMORY, Source::InProcess);
    }
    match history.and_then(History::learned_memory) {
        Some(m) => (m, Source::Learned),
        None => (default, Source::Default),
    }
}

/// The one rule for a declared figure that undermines the cap: the check
/// used more than twice what it declares.
pub fn underestimated(declared: u64, used: u64) -> bool {
    used > declared.saturating_mul(2)
}

/// A hint when a declared figure is far below what the check really uses.
pub fn underestimate(check: &Check, history: Option<&History>) -> Option<String> {
    let declared = check.memory?;
    let max = history.and_then(History::max_peak)?;
    underestimated(declared, max).then(|| {
        format!(
            "check `{}` declares memory = \"{}\" but used up to {} recently: raise it so the cap holds",
            check.name,
            crate::units::format_size(declared),
            crate::units::format_size(max)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_memory_is_p90_plus_margin() {
        let h = History {
            durations: vec![],
            peaks: (1..=10).map(|i| i * 100).collect(),
        };
        assert_eq!(h.learned_memory(), Some(1125));
        assert_eq!(h.median_peak(), Some(500));
        assert_eq!(History::default().learned_memory(), None);
    }
}
