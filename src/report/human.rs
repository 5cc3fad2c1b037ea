//! The final report for a person: each failing check's output as one
//! block (in config order, never interleaved), what fixers changed, then
//! a one-screen table and the verdict line. Warnings go to stderr.

use std::io::{self, Write};
use std::path::Path;

use console::style;

use crate::outcome::{RunState, Status};
use crate::report::{status_text, Entry, Summary};
use crate::units::{format_duration, format_size};

/// Prints the report of a finished run to `out`.
pub fn print(out: &mut impl Write, summary: &Summary, quiet: bool, brief: bool) -> io::Result<()> {
    let clean_pass = summary.state == RunState::Passed
        && summary.modified.is_empty()
        && summary.warnings.is_empty()
        && summary.fix_conflicts.is_empty();
    if brief && clean_pass {
        // A hook that passed: at most three lines (what was set aside,
        // services it reused, the verdict).
        return verdict(out, summary, quiet, true);
    }
    let github = std::env::var(crate::env::GITHUB_ACTIONS).is_ok_and(|v| v == "true");
    for w in &summary.warnings {
        crate::report::errln!("{} {w}", style("warning:").yellow().bold());
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
            style("─".repeat(60usize.saturating_sub(console::measure_text_width(&header)))).red()
        )?;
        if let Some(d) = &e.detail {
            let kind = if e.is_service { "service" } else { "check" };
            writeln!(out, "{kind} `{}`: {d}", e.name)?;
        }
        if !e.tail.text.is_empty() {
            writeln!(out, "{}", crate::report::neutralise(&e.tail.text))?;
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
    changes_block(out, summary)?;
    if !quiet || !failures.is_empty() || summary.state == RunState::Interrupted {
        writeln!(out)?;
    }
    let rows: Vec<&Entry> = if quiet {
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
        let ran = !(e.reused
            || e.status.skipped()
            || matches!(e.status, Status::Cached | Status::NotStarted));
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
    verdict(out, summary, quiet, false)
}

/// The lines that end every report: what was set aside, then (in a brief
/// report, which has no table to say so) services reused and checks
/// skipped by PRECHECK_SKIP or by their `skip` or `only`, and the verdict.
fn verdict(out: &mut impl Write, summary: &Summary, quiet: bool, brief: bool) -> io::Result<()> {
    let count = |f: &dyn Fn(Status) -> bool| summary.entries.iter().filter(|e| f(e.status)).count();
    let passed = count(&|s| s == Status::Passed);
    let cached = count(&|s| s == Status::Cached);
    let failed = count(&|s| s.is_failure());
    let skipped = count(&Status::skipped);
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
    let verdict = match summary.state {
        RunState::Passed => style("passed").green().bold(),
        RunState::Failed => style("failed").red().bold(),
        _ => style("interrupted").yellow().bold(),
    };
    if summary.stashed > 0 && !quiet {
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
    let reused: Vec<&str> = summary
        .entries
        .iter()
        .filter(|e| e.reused)
        .map(|e| e.name.as_str())
        .collect();
    let by_user: Vec<&str> = summary
        .entries
        .iter()
        .filter(|e| e.status == Status::SkippedByUser)
        .map(|e| e.name.as_str())
        .collect();
    let mut notes = Vec::new();
    if !reused.is_empty() {
        notes.push(format!(
            "reused running service{}: {} (left running)",
            crate::units::plural(reused.len()),
            reused.join(", ")
        ));
    }
    if !by_user.is_empty() {
        notes.push(format!("skipped by PRECHECK_SKIP: {}", by_user.join(", ")));
    }
    let by_condition: Vec<String> = summary
        .entries
        .iter()
        .filter(|e| e.status == Status::SkippedByCondition)
        .map(|e| format!("{} ({})", e.name, e.detail.as_deref().unwrap_or("?")))
        .collect();
    if !by_condition.is_empty() {
        notes.push(format!("skipped: {}", by_condition.join(", ")));
    }
    if brief && !notes.is_empty() && !quiet {
        writeln!(out, "{}", style(notes.join("; ")).dim())?;
    }
    writeln!(
        out,
        "{verdict}: {} in {}, peak memory {} (run {})",
        parts.join(", "),
        format_duration(summary.duration),
        format_size(summary.peak),
        summary.run_id
    )?;
    Ok(())
}

/// What fixers changed, and what the user should do about it.
fn changes_block(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    if !summary.modified.is_empty() {
        let header = "── files changed by fixers ";
        writeln!(out)?;
        writeln!(
            out,
            "{}{}",
            style(header).yellow().bold(),
            style("─".repeat(33)).yellow()
        )?;
        // A fixer over a whole tree may change thousands: one screen.
        const SHOWN: usize = 10;
        for m in summary.modified.iter().take(SHOWN) {
            let note = match (m.staged, summary.fix_merged.contains(&m.path)) {
                (true, true) => " (staged; also merged into your unstaged changes)",
                (true, false) => " (staged)",
                (false, true) => " (merged into your unstaged changes)",
                (false, false) => "",
            };
            writeln!(out, "  {}: {}{note}", m.check, m.path.display())?;
        }
        if summary.modified.len() > SHOWN {
            writeln!(
                out,
                "  … and {} more (all of them: `modified_files` in `--format json`)",
                summary.modified.len() - SHOWN
            )?;
        }
        let unstaged: Vec<String> = summary
            .modified
            .iter()
            .filter(|m| !m.staged && !summary.fix_conflicts.contains(&m.path))
            .map(|m| quote_path(&m.path))
            .collect();
        if unstaged.len() > SHOWN {
            writeln!(
                out,
                "Review the changes (git diff), stage the {} files to keep (git add), then commit again.",
                unstaged.len()
            )?;
        } else if !unstaged.is_empty() {
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
