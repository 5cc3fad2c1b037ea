//! The report: the only writer to the terminal, split by audience. `live`
//! shows a run while it runs; at the end `human` prints failure blocks and
//! a table for a person, `json` and `junit` one document for a program.
//! This file holds what they share: the summary of a run and its entries,
//! the tail of a log, and the few lines other stages have to say.
//!
//! Progress goes to stderr; results (failure blocks, summary, JSON) to stdout.

// The one place that takes the process's stdout and stderr.
#![allow(clippy::disallowed_methods)]

pub mod human;
pub mod json;
pub mod junit;
pub mod live;

/// Writes a line to stderr, ignoring a closed or failing stream: what
/// precheck can print never decides a verdict or stops a run.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::report::write_err(format_args!($($arg)*))
    };
}

/// Writes a line to stdout, ignoring a closed or failing stream.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::report::write_out(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

pub fn write_err(line: std::fmt::Arguments) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn write_out(line: std::fmt::Arguments) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Is stdout a terminal (where a check's escape sequences would act)?
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    #[allow(clippy::disallowed_methods)]
    std::io::stdout().is_terminal()
}

/// Stdout, for a command whose output is a document or many lines. Its
/// write errors are the command's to judge (a closed pipe is no error).
pub fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

pub use json::json;
pub use live::Reporter;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::exec::scheduler::Outcome;
use crate::exit::Exit;
use crate::outcome::{RunState, Status};
use crate::plan::{Plan, Selection};
use crate::worktree::fixes::Modified;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// JUnit XML, as CI systems display test reports.
    Junit,
}

/// How commands other than `run` print: text or JSON (JUnit describes
/// test runs only, so it is not offered there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextFormat {
    Human,
    Json,
}

/// A status as a person reads it.
pub fn status_text(e: &Entry) -> String {
    match e.status {
        Status::Passed if e.reused => "service, reused".into(),
        Status::Passed if e.is_service => "service, served".into(),
        Status::Passed => "passed".into(),
        Status::Cached => match &e.detail {
            Some(d) => format!("cached ({d})"),
            None => "cached".into(),
        },
        Status::Failed => match (&e.detail, e.exit_code, e.signal) {
            (Some(d), _, _) => format!("failed: {}", first_line(d)),
            (None, Some(c), _) => format!("failed (exit {c})"),
            (None, None, Some(s)) => format!("failed (signal {s})"),
            _ => "failed".into(),
        },
        Status::TimedOut => "timed out".into(),
        Status::KilledMemory => "killed: memory".into(),
        Status::Killed => "killed".into(),
        Status::SkippedNeeds => format!("skipped: needs {}", e.detail.as_deref().unwrap_or("?")),
        Status::SkippedNoFiles => "skipped: no files".into(),
        Status::SkippedByUser => "skipped: PRECHECK_SKIP".into(),
        Status::SkippedByCondition => format!("skipped: {}", e.detail.as_deref().unwrap_or("?")),
        Status::NotStarted => "not started".into(),
        Status::Interrupted => "interrupted".into(),
        Status::Crashed => "crashed (its precheck died)".into(),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// One check's line in the final report.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration: Duration,
    pub peak: u64,
    pub log: Option<PathBuf>,
    pub tail: Tail,
    pub detail: Option<String>,
    /// A service the checks needed, not a check.
    pub is_service: bool,
    /// A service found running and used, neither started nor stopped.
    pub reused: bool,
}

impl Entry {
    /// The entry, as a service's (`reused`: found running).
    pub fn service(mut self, reused: bool) -> Entry {
        self.is_service = true;
        self.reused = reused;
        self
    }

    pub fn new(name: &str, outcome: &Outcome, log: Option<PathBuf>, tail: Tail) -> Entry {
        Entry {
            name: name.to_string(),
            status: outcome.status,
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            duration: outcome.duration,
            peak: outcome.peak,
            log,
            tail,
            detail: outcome.detail.clone(),
            is_service: false,
            reused: false,
        }
    }
}

/// The end of a log: at most N lines, each cut to a readable width.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    pub text: String,
    /// Whether the log holds more than `text` shows.
    pub cut: bool,
}

/// Longest line kept in a tail; longer ones are cut with a marker.
const TAIL_LINE_MAX: usize = 400;
/// Most bytes read from the end of a log to find its last lines.
const TAIL_READ_MAX: u64 = 1 << 20;

/// What a check wrote, made safe to show on a terminal: escape sequences
/// and control characters (which could clear the screen, move the cursor
/// or set the title) are shown, not obeyed: ESC as `^[`, other C0 controls
/// in caret form, C1 controls as `<U+009B>`. Newlines and tabs stay; a
/// carriage return before a newline goes. The log file keeps the bytes.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// What a check wrote, for JSON and JUnit: escape sequences removed whole
/// (CSI `ESC [ … final`, OSC `ESC ] … BEL or ESC \\`, two-byte `ESC x`),
/// and the other control characters but newline and tab dropped.
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    // Parameters and intermediates, up to the final byte.
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']' | 'P' | '_' | '^') => {
                    // A string, ended by BEL or ESC \\.
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {}
            _ => out.push(c),
        }
    }
    out
}

/// The last `lines` lines of the file at `path`, read from its end, so that a
/// huge log costs no more memory than its tail.
pub fn tail(path: &Path, lines: usize) -> Tail {
    if lines == 0 {
        return Tail::default();
    }
    let Ok(mut file) = File::open(path) else {
        return Tail::default();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    while start > 0 && (buf.iter().filter(|&&b| b == b'\n').count() <= lines) {
        let step = (64 * 1024).min(start);
        if len - start + step > TAIL_READ_MAX {
            break;
        }
        start -= step;
        let mut chunk = vec![0; step as usize];
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_exact(&mut chunk).is_err() {
            break;
        }
        chunk.extend_from_slice(&buf);
        buf = chunk;
    }
    let text = String::from_utf8_lossy(&buf);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let all: Vec<&str> = text.split('\n').collect();
    let skip = all.len().saturating_sub(lines);
    let cut = start > 0 || skip > 0;
    let kept: Vec<String> = all[skip..]
        .iter()
        .map(|l| {
            let l = l.trim_end_matches('\r');
            if l.len() > TAIL_LINE_MAX {
                let mut end = TAIL_LINE_MAX;
                while !l.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{} … ({} bytes cut)", &l[..end], l.len() - end)
            } else {
                l.to_string()
            }
        })
        .collect();
    Tail {
        text: if text.is_empty() {
            String::new()
        } else {
            kept.join("\n")
        },
        cut,
    }
}

/// Everything the final report says.
pub struct Summary {
    pub run_id: String,
    pub entries: Vec<Entry>,
    pub duration: Duration,
    pub peak: u64,
    /// The verdict, decided by the pipeline.
    pub state: RunState,
    pub exit: Exit,
    pub output_lines: usize,
    pub warnings: Vec<String>,
    /// Files whose unstaged changes were set aside during the checks.
    pub stashed: usize,
    /// Files fixers changed.
    pub modified: Vec<Modified>,
    /// Set-aside files whose fix conflicted with the user's unstaged changes.
    pub fix_conflicts: Vec<PathBuf>,
    /// Set-aside files whose fix merged cleanly with the unstaged changes.
    pub fix_merged: Vec<PathBuf>,
    /// Where the conflicting fixes were saved.
    pub fix_patch: Option<PathBuf>,
}

/// With `-v`: why each check runs or not, before the run.
pub fn reasons(config: &Config, plan: &Plan, sel: &Selection) {
    for (c, d) in config.checks.iter().zip(&plan.decisions) {
        crate::report::errln!("precheck: {}: {}", c.name, d.reason(c, sel));
    }
}

/// Lines that must reach the user whatever the format (stderr), such as
/// files the restore kept aside.
pub fn notes(lines: &[String]) {
    for line in lines {
        crate::report::errln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_on_terminals_and_removed_from_json() {
        let raw = "\u{1b}[2J\u{1b}]0;pwned\u{7}red \u{1b}[31mX\u{1b}[0m\r\nbell\u{7}\u{9b}1m\tend";
        assert_eq!(
            neutralise(raw),
            "^[[2J^[]0;pwned^Gred ^[[31mX^[[0m\nbell^G<U+009B>1m\tend"
        );
        assert_eq!(strip_escapes(raw), "red X\nbell1m\tend");
        assert_eq!(strip_escapes("a\u{1b}P1;2\u{1b}\\b"), "ab");
        assert_eq!(neutralise("plain text\n"), "plain text\n");
    }

    #[test]
    fn tail_reads_last_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let text: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&p, text).unwrap();
        let t = tail(&p, 3);
        assert_eq!(t.text, "line 99997\nline 99998\nline 99999");
        assert!(t.cut);
        std::fs::write(&p, "a\nb\n").unwrap();
        let t = tail(&p, 3);
        assert_eq!(t.text, "a\nb");
        assert!(!t.cut);
    }
}
