//! The live view: while checks run, what is happening, redrawn in place on
//! a terminal, one plain line per start and end otherwise (CI, a pipe,
//! TERM=dumb), nothing with `-q` or a machine format. It is the scheduler's
//! [`Observer`], and at the end hands the screen to the chosen format.

use std::io::{self, Write};
use std::time::Duration;

use console::{style, Term};

use crate::exec::scheduler::{Outcome, Status};
use crate::exec::supervisor::{Live, Observer};
use crate::report::{human, json, junit, status_text, Entry, Format, Summary, Tail};
use crate::units::{format_duration, format_size};

/// How progress is shown while checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Live,
    Plain,
    Silent,
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The live view and the final report of one run.
pub struct Reporter {
    progress: Progress,
    format: Format,
    quiet: bool,
    /// A hook's run: while it passes, only the verdict line stays on screen.
    brief: bool,
    names: Vec<String>,
    err: Term,
    /// Lines of the live block now on screen, to be cleared before redrawing.
    drawn: usize,
    frame: usize,
    last: Option<Live>,
}

impl Reporter {
    /// `names` are the scheduler's jobs, by job index.
    pub fn new(format: Format, quiet: bool, brief: bool, names: Vec<String>) -> Reporter {
        let err = Term::stderr();
        let ci = std::env::var_os(crate::env::CI).is_some_and(|v| !v.is_empty() && v != "false");
        let dumb = std::env::var(crate::env::TERM).is_ok_and(|t| t == "dumb");
        let progress = if format != Format::Human || quiet {
            Progress::Silent
        } else if err.is_term() && !ci && !dumb {
            Progress::Live
        } else if brief {
            // Lines that stay: a brief hook prints none while it runs.
            Progress::Silent
        } else {
            Progress::Plain
        };
        Reporter {
            progress,
            format,
            quiet,
            brief,
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

    /// Ends the live view and prints the result.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.clear();
        let mut out = io::stdout().lock();
        match self.format {
            Format::Json => writeln!(out, "{}", json::json(summary))?,
            Format::Junit => write!(out, "{}", junit::junit(summary))?,
            Format::Human => human::print(&mut out, summary, self.quiet, self.brief)?,
        }
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
        if self.progress == Progress::Silent || (self.brief && !outcome.status.is_failure()) {
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

    fn ready(&mut self, job: usize, how: &str, after: Duration) {
        if self.brief {
            return;
        }
        let line = match self.progress {
            Progress::Silent => return,
            Progress::Plain => format!("ready {} ({how})", self.names[job]),
            Progress::Live => format!(
                "{} {} ready in {} ({how})",
                style("●").green(),
                style(&self.names[job]).bold(),
                format_duration(after)
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
            Progress::Silent => crate::report::errln!("{line}"),
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
