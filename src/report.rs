//! The report: the only writer to the terminal.
//!
//! During a run it is the scheduler's [`Observer`]: a live view redrawn in
//! place on a terminal, one plain line per start and end otherwise, nothing
//! with `-q` or `--format json`. At the end it prints each failing check's
//! output as one block (in config order, never interleaved), then a summary
//! table, or the whole result as one JSON document.
//!
//! Progress goes to stderr; results (failure blocks, summary, JSON) to stdout.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use console::{style, Term};
use serde::Serialize;

use crate::exec::scheduler::{Live, Observer, Outcome, Status};
use crate::units::{format_duration, format_size};
use crate::worktree::fixes::Modified;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// JUnit XML, as CI systems display test reports.
    Junit,
}

/// Commands other than `run` print text or JSON; JUnit describes test runs only.
pub fn json_or_human(format: Format) -> anyhow::Result<bool> {
    match format {
        Format::Junit => {
            anyhow::bail!("--format junit is for `precheck run`; use human or json here")
        }
        f => Ok(f == Format::Json),
    }
}

/// How progress is shown while checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Live,
    Plain,
    Silent,
}

/// The JSON name of a status; part of the `--format json` contract.
pub fn status_key(status: Status) -> &'static str {
    status.key()
}

/// A status as a person reads it.
fn status_text(e: &Entry) -> String {
    match e.status {
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
        Status::NotStarted => "not started".into(),
        Status::Interrupted => "interrupted".into(),
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
}

impl Entry {
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
    pub interrupted: bool,
    pub exit_code: i32,
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

impl Summary {
    /// Something changed files that the user must look at before committing.
    fn needs_review(&self) -> bool {
        self.modified.iter().any(|m| !m.staged) || !self.fix_conflicts.is_empty()
    }

    pub fn status(&self) -> &'static str {
        if self.interrupted {
            "interrupted"
        } else if self.entries.iter().any(|e| e.status.is_failure()) || self.needs_review() {
            "failed"
        } else {
            "passed"
        }
    }

    /// A run whose checks passed but left changes to review fails too.
    pub fn settle_exit_code(&mut self) {
        if self.exit_code == crate::exit::PASSED && self.needs_review() {
            self.exit_code = crate::exit::FAILED;
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    status: &'a str,
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
    status: &'a str,
    exit_code: Option<i32>,
    signal: Option<i32>,
    duration_ms: u128,
    peak_memory_bytes: u64,
    log: Option<&'a Path>,
    tail: &'a str,
    detail: Option<&'a str>,
}

/// The `--format json` document.
pub fn json(summary: &Summary) -> String {
    let doc = JsonReport {
        version: 1,
        status: summary.status(),
        exit_code: summary.exit_code,
        duration_ms: summary.duration.as_millis(),
        peak_memory_bytes: summary.peak,
        run_id: &summary.run_id,
        checks: summary
            .entries
            .iter()
            .map(|e| JsonCheck {
                name: &e.name,
                status: status_key(e.status),
                exit_code: e.exit_code,
                signal: e.signal,
                duration_ms: e.duration.as_millis(),
                peak_memory_bytes: e.peak,
                log: e.log.as_deref(),
                tail: &e.tail.text,
                detail: e.detail.as_deref(),
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

/// Data for a GitHub Actions workflow command (`properties` also escape `:` and `,`).
fn github_escape(text: &str, property: bool) -> String {
    let mut out = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// Text as XML 1.0 character data or attribute value: escaped, and without
/// the control characters XML cannot hold.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The `--format junit` document: one test case per check.
pub fn junit(summary: &Summary) -> String {
    let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let failures = summary
        .entries
        .iter()
        .filter(|e| e.status.is_failure())
        .count();
    let skipped = summary
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.status,
                Status::SkippedNeeds
                    | Status::SkippedNoFiles
                    | Status::SkippedByUser
                    | Status::NotStarted
                    | Status::Interrupted
            )
        })
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"precheck\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t}\">\n",
        n = summary.entries.len(),
        t = secs(summary.duration)
    ));
    x.push_str(&format!(
        "  <testsuite name=\"precheck\" id=\"{id}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t}\">\n",
        id = xml(&summary.run_id),
        n = summary.entries.len(),
        t = secs(summary.duration)
    ));
    for e in &summary.entries {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"precheck\" time=\"{}\"",
            xml(&e.name),
            secs(e.duration)
        ));
        let text = status_text(e);
        if e.status.is_failure() {
            let mut body = String::new();
            if let Some(d) = &e.detail {
                body.push_str(d);
                body.push('\n');
            }
            body.push_str(&e.tail.text);
            if let Some(log) = &e.log {
                body.push_str(&format!("\n(full log: {})", log.display()));
            }
            x.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&text),
                status_key(e.status),
                xml(&body)
            ));
        } else if e.status.passed() {
            x.push_str("/>\n");
        } else {
            x.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml(&text)
            ));
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// A path as a shell word, quoted when it needs to be.
fn quote_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
        && !s.starts_with('-')
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The live view and the final report of one run.
pub struct Reporter {
    progress: Progress,
    format: Format,
    quiet: bool,
    names: Vec<String>,
    err: Term,
    /// Lines of the live block now on screen, to be cleared before redrawing.
    drawn: usize,
    frame: usize,
    last: Option<Live>,
}

impl Reporter {
    /// `names` are the scheduler's jobs, by job index.
    pub fn new(format: Format, quiet: bool, names: Vec<String>) -> Reporter {
        let err = Term::stderr();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let progress = if format != Format::Human || quiet {
            Progress::Silent
        } else if err.is_term() && !ci && !dumb {
            Progress::Live
        } else {
            Progress::Plain
        };
        Reporter {
            progress,
            format,
            quiet,
            names,
            err,
            drawn: 0,
            frame: 0,
            last: None,
        }
    }

    fn width(&self) -> usize {
        self.err.size().1.max(20) as usize
    }

    fn clear(&mut self) {
        if self.drawn > 0 {
            let _ = self.err.clear_last_lines(self.drawn);
            self.drawn = 0;
        }
    }

    /// A line that stays: above the live block, which is redrawn after it.
    fn say(&mut self, line: &str) {
        match self.progress {
            Progress::Silent => {}
            Progress::Plain => {
                let _ = self.err.write_line(line);
            }
            Progress::Live => {
                self.clear();
                let width = self.width();
                let _ = self
                    .err
                    .write_line(&console::truncate_str(line, width, "…"));
                self.redraw();
            }
        }
    }

    fn redraw(&mut self) {
        let Some(Live {
            running,
            waiting,
            waiting_memory,
            reserved,
            cap,
            others,
        }) = self.last.clone()
        else {
            return;
        };
        self.clear();
        let width = self.width();
        let spin = SPINNER[self.frame % SPINNER.len()];
        let mut lines = Vec::new();
        for (job, elapsed, rss) in &running {
            lines.push(format!(
                "  {} {} {} {}",
                style(spin).cyan(),
                style(&self.names[*job]).bold(),
                style(format_duration(*elapsed)).dim(),
                style(format_size(*rss)).dim()
            ));
        }
        let mut status = format!("  {} running, {} waiting", running.len(), waiting);
        if waiting_memory > 0 {
            status.push_str(&format!(" ({waiting_memory} for memory)"));
        }
        status.push_str(&format!(
            " · memory {} of {} reserved",
            format_size(reserved),
            format_size(cap)
        ));
        if others > 0 {
            status.push_str(&format!(", {} by other runs", format_size(others)));
        }
        lines.push(style(status).dim().to_string());
        for line in &lines {
            let _ = self
                .err
                .write_line(&console::truncate_str(line, width, "…"));
        }
        self.drawn = lines.len();
        let _ = self.err.flush();
    }

    /// What fixers changed, and what the user should do about it.
    fn changes_block(&self, out: &mut impl Write, summary: &Summary) -> io::Result<()> {
        if !summary.modified.is_empty() {
            let header = "── files changed by fixers ";
            writeln!(out)?;
            writeln!(
                out,
                "{}{}",
                style(header).yellow().bold(),
                style("─".repeat(33)).yellow()
            )?;
            for m in &summary.modified {
                let note = match (m.staged, summary.fix_merged.contains(&m.path)) {
                    (true, true) => " (staged; also merged into your unstaged changes)",
                    (true, false) => " (staged)",
                    (false, true) => " (merged into your unstaged changes)",
                    (false, false) => "",
                };
                writeln!(out, "  {}: {}{note}", m.check, m.path.display())?;
            }
            let unstaged: Vec<String> = summary
                .modified
                .iter()
                .filter(|m| !m.staged && !summary.fix_conflicts.contains(&m.path))
                .map(|m| quote_path(&m.path))
                .collect();
            if !unstaged.is_empty() {
                writeln!(
                    out,
                    "Review the changes (git diff), accept them with `git add {}`, then commit again.",
                    unstaged.join(" ")
                )?;
            }
        }
        if !summary.fix_conflicts.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{}",
                style("── fixes that conflict with your unstaged changes ──")
                    .yellow()
                    .bold()
            )?;
            for p in &summary.fix_conflicts {
                writeln!(out, "  {}", p.display())?;
            }
            if let Some(patch) = &summary.fix_patch {
                writeln!(
                    out,
                    "Your unstaged changes were kept. The fixers' changes are in {}\n(apply them with `git apply --3way {}`).",
                    patch.display(),
                    quote_path(patch)
                )?;
            }
        }
        Ok(())
    }

    /// Ends the live view and prints the result.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.clear();
        let mut out = io::stdout().lock();
        match self.format {
            Format::Json => {
                writeln!(out, "{}", json(summary))?;
                return out.flush();
            }
            Format::Junit => {
                write!(out, "{}", junit(summary))?;
                return out.flush();
            }
            Format::Human => {}
        }
        let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        for w in &summary.warnings {
            eprintln!("{} {w}", style("warning:").yellow().bold());
        }
        let failures: Vec<&Entry> = summary
            .entries
            .iter()
            .filter(|e| e.status.is_failure())
            .collect();
        for e in &failures {
            let header = format!("── {} {} ", e.name, status_text(e));
            writeln!(out)?;
            if github {
                // Folded in the log viewer, and annotated on the run's page.
                writeln!(
                    out,
                    "::error title={}::{}",
                    github_escape(&format!("precheck: {}", e.name), true),
                    github_escape(&status_text(e), false)
                )?;
                writeln!(out, "::group::{}", github_escape(&header, false))?;
            }
            writeln!(
                out,
                "{}{}",
                style(&header).red().bold(),
                style("─".repeat(60usize.saturating_sub(console::measure_text_width(&header))))
                    .red()
            )?;
            if let Some(d) = &e.detail {
                writeln!(out, "check `{}`: {d}", e.name)?;
            }
            if !e.tail.text.is_empty() {
                writeln!(out, "{}", e.tail.text)?;
            }
            if let Some(log) = &e.log {
                let note = if e.tail.cut {
                    format!(
                        "(last {} lines; full log: {})",
                        summary.output_lines,
                        log.display()
                    )
                } else {
                    format!("(full log: {})", log.display())
                };
                writeln!(out, "{}", style(note).dim())?;
            }
            if github {
                writeln!(out, "::endgroup::")?;
            }
        }
        self.changes_block(&mut out, summary)?;
        if !self.quiet || !failures.is_empty() || summary.interrupted {
            writeln!(out)?;
        }
        let rows: Vec<&Entry> = if self.quiet {
            failures.clone()
        } else {
            summary.entries.iter().collect()
        };
        let name_w = rows
            .iter()
            .map(|e| e.name.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let texts: Vec<String> = rows.iter().map(|e| status_text(e)).collect();
        let status_w = texts
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        if !rows.is_empty() {
            writeln!(
                out,
                "{}",
                style(format!(
                    "{:name_w$}  {:status_w$}  {:>8}  {:>8}",
                    "check", "status", "time", "memory"
                ))
                .dim()
            )?;
        }
        for (e, text) in rows.iter().zip(&texts) {
            let ran = !matches!(
                e.status,
                Status::Cached
                    | Status::SkippedNeeds
                    | Status::SkippedNoFiles
                    | Status::SkippedByUser
                    | Status::NotStarted
            );
            let padded = format!("{text:status_w$}");
            let colored = match e.status {
                Status::Passed | Status::Cached => style(padded).green(),
                s if s.is_failure() => style(padded).red().bold(),
                Status::Interrupted => style(padded).yellow(),
                _ => style(padded).dim(),
            };
            let (time, mem) = if ran {
                // A check that ended before the first reading has no measured peak.
                let mem = if e.peak == 0 {
                    "-".into()
                } else {
                    format_size(e.peak)
                };
                (format_duration(e.duration), mem)
            } else {
                (String::new(), String::new())
            };
            let line = format!("{:name_w$}  {colored}  {time:>8}  {mem:>8}", e.name);
            writeln!(out, "{}", line.trim_end())?;
        }
        let count =
            |f: &dyn Fn(Status) -> bool| summary.entries.iter().filter(|e| f(e.status)).count();
        let passed = count(&|s| s == Status::Passed);
        let cached = count(&|s| s == Status::Cached);
        let failed = count(&|s| s.is_failure());
        let skipped = count(&|s| {
            matches!(
                s,
                Status::SkippedNeeds | Status::SkippedNoFiles | Status::SkippedByUser
            )
        });
        let other = summary.entries.len() - passed - cached - failed - skipped;
        let mut parts = vec![format!("{passed} passed"), format!("{failed} failed")];
        if cached > 0 {
            parts.push(format!("{cached} cached"));
        }
        if skipped > 0 {
            parts.push(format!("{skipped} skipped"));
        }
        if other > 0 {
            parts.push(format!("{other} not finished"));
        }
        let verdict = match summary.status() {
            "passed" => style("passed").green().bold(),
            "failed" => style("failed").red().bold(),
            _ => style("interrupted").yellow().bold(),
        };
        if summary.stashed > 0 && !self.quiet {
            writeln!(
                out,
                "{}",
                style(format!(
                    "unstaged changes in {} file{} were set aside while the checks ran, and restored",
                    summary.stashed,
                    crate::units::plural(summary.stashed)
                ))
                .dim()
            )?;
        }
        writeln!(
            out,
            "{verdict}: {} in {}, peak memory {} (run {})",
            parts.join(", "),
            format_duration(summary.duration),
            format_size(summary.peak),
            summary.run_id
        )?;
        out.flush()
    }
}

impl Observer for Reporter {
    fn started(&mut self, job: usize) {
        if self.progress == Progress::Plain {
            let line = format!("start {}", self.names[job]);
            self.say(&line);
        }
    }

    fn finished(&mut self, job: usize, outcome: &Outcome) {
        if self.progress == Progress::Silent {
            return;
        }
        let entry = Entry::new(&self.names[job], outcome, None, Tail::default());
        let mark = match outcome.status {
            Status::Passed | Status::Cached => style("✓").green(),
            s if s.is_failure() => style("✗").red(),
            _ => style("-").dim(),
        };
        let ran = outcome.duration > Duration::ZERO;
        let line = if self.progress == Progress::Plain {
            let word = match outcome.status {
                Status::Passed | Status::Cached => "pass",
                s if s.is_failure() => "FAIL",
                Status::Interrupted | Status::NotStarted => "stop",
                _ => "skip",
            };
            format!("{word}  {} {}", entry.name, status_text(&entry))
        } else {
            format!(
                "{mark} {} {}",
                style(&entry.name).bold(),
                status_text(&entry)
            )
        };
        let line = match (ran, outcome.peak) {
            (false, _) => line,
            (true, 0) => format!("{line} {}", format_duration(outcome.duration)),
            (true, peak) => format!(
                "{line} {} {}",
                format_duration(outcome.duration),
                format_size(peak)
            ),
        };
        self.say(&line);
    }

    fn warn(&mut self, message: &str) {
        if self.format != Format::Human {
            return;
        }
        let line = format!("{} {message}", style("warning:").yellow().bold());
        match self.progress {
            Progress::Silent => eprintln!("{line}"),
            _ => self.say(&line),
        }
    }

    fn tick(&mut self, live: &Live) {
        if self.progress != Progress::Live {
            return;
        }
        self.frame += 1;
        self.last = Some(live.clone());
        self.redraw();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
