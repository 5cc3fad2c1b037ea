//! The `--format json` document of a run: a contract with scripts and
//! agents, grown by adding fields, never by renaming them.

use std::path::Path;

use serde::Serialize;

use crate::outcome::{RunState, Status};
use crate::report::Summary;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    status: RunState,
    exit_code: i32,
    duration_ms: u128,
    peak_memory_bytes: u64,
    run_id: &'a str,
    checks: Vec<JsonCheck<'a>>,
    stashed_files: usize,
    modified_files: Vec<JsonModified>,
    fix_conflicts: Vec<String>,
    fix_merged: Vec<String>,
    fix_patch: Option<&'a Path>,
}

#[derive(Serialize)]
struct JsonModified {
    path: String,
    check: String,
    staged: bool,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    name: &'a str,
    status: Status,
    exit_code: Option<i32>,
    signal: Option<i32>,
    duration_ms: u128,
    peak_memory_bytes: u64,
    log: Option<&'a Path>,
    tail: String,
    detail: Option<&'a str>,
    /// `check`, or `service` for a service the checks needed.
    kind: &'static str,
}

/// The `--format json` document.
pub fn json(summary: &Summary) -> String {
    let doc = JsonReport {
        version: 1,
        status: summary.state,
        exit_code: summary.exit.code(),
        duration_ms: summary.duration.as_millis(),
        peak_memory_bytes: summary.peak,
        run_id: &summary.run_id,
        checks: summary
            .entries
            .iter()
            .map(|e| JsonCheck {
                name: &e.name,
                status: e.status,
                exit_code: e.exit_code,
                signal: e.signal,
                duration_ms: e.duration.as_millis(),
                peak_memory_bytes: e.peak,
                log: e.log.as_deref(),
                tail: crate::report::strip_escapes(&e.tail.text),
                detail: e.detail.as_deref(),
                kind: if e.is_service { "service" } else { "check" },
            })
            .collect(),
        stashed_files: summary.stashed,
        modified_files: summary
            .modified
            .iter()
            .map(|m| JsonModified {
                path: m.path.to_string_lossy().into_owned(),
                check: m.check.clone(),
                staged: m.staged,
            })
            .collect(),
        fix_conflicts: summary
            .fix_conflicts
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        fix_merged: summary
            .fix_merged
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        fix_patch: summary.fix_patch.as_deref(),
    };
    serde_json::to_string_pretty(&doc).expect("the report serializes")
}
