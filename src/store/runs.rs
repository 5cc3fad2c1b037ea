//! Run records on disk: each run's directory under the git dir
//! (`precheck/runs/ID/`) with `meta.json` (the run and its checks' states),
//! `events` (the changes since), one log per check, and `result.json` (the
//! final report). Old runs are pruned so that logs never grow without
//! bound. A run whose process died without finishing is *crashed*.
//!
//! Writing a run's record costs O(N) over a run of N checks: `meta.json` is
//! written whole twice (all checks waiting when the run starts, the final
//! state when it ends), each atomically (write, then rename), and every
//! change in between is one line appended to `events` (one `write`). A
//! reader of a running run applies the events to `meta.json` in order; a
//! torn last line (a crash mid-append) is ignored, so a crash leaves a
//! readable record.
//!
//! Runs in steady state create and delete no file: the oldest finished
//! run's folder is renamed for a new run ([`RunDir::create`]) and its files
//! are rewritten in place.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fsutil::replace;
use crate::outcome::{CheckState, Pending, RunState, Status};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::OpenOptionsExt;

use crate::exec::scheduler::Outcome;
use crate::exec::supervisor::Observer;
use crate::sys::proc;

pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
    /// Lent by an old run (see [`RunDir::create`]).
    recycled: bool,
    /// Run folders there were when this one was made (None: not counted).
    counted: Option<usize>,
}

fn runs_root(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("runs")
}

/// Year, month, day, and seconds into the day (UTC) of a Unix time.
fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem)
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (year, month, day, rem) = civil(secs);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// RFC 3339 in UTC with milliseconds, from Unix milliseconds.
pub fn rfc3339(ms: u64) -> String {
    let (year, month, day, rem) = civil((ms / 1000) as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// A unique, time-ordered name for a file written now: `YYYYMMDD-HHMMSS-PID`.
pub fn stamp_now() -> String {
    format!("{}-{}", utc_stamp(SystemTime::now()), std::process::id())
}

impl RunDir {
    /// A new run directory with a unique, time-ordered id. With `keep`
    /// (the number of finished runs kept), once that many runs exist, the
    /// oldest finished run, which pruning would delete after this run,
    /// lends its folder instead: renamed to the new id and emptied of its
    /// record, its files are rewritten in place, so a run in steady state
    /// creates and deletes no file (see `fsutil::replace` for why that
    /// matters).
    pub fn create(git_dir: &Path, keep: Option<usize>) -> Result<RunDir> {
        let root = runs_root(git_dir);
        crate::fsutil::private_dir(&root)?;
        let stamp = utc_stamp(SystemTime::now());
        let pid = std::process::id();
        let dirs = keep.map(|_| run_dirs(git_dir));
        let counted = dirs.as_ref().map(Vec::len);
        let mut spare = keep.zip(dirs).and_then(|(k, d)| recyclable(d, k));
        for n in 0.. {
            let id = if n == 0 {
                format!("{stamp}-{pid}")
            } else {
                format!("{stamp}-{pid}-{n}")
            };
            let path = root.join(&id);
            if fs::symlink_metadata(&path).is_ok() {
                continue;
            }
            if let Some(old) = spare.take() {
                crate::fault::point("recycle rename");
                if fs::rename(&old, &path).is_ok() {
                    let run = RunDir {
                        id,
                        path,
                        recycled: true,
                        counted,
                    };
                    crate::fault::point("recycle empty");
                    run.empty_record();
                    return Ok(run);
                }
            }
            // Not recursive: an existing folder means the id is taken.
            match std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), 0o700)
                .create(&path)
            {
                Ok(()) => {
                    crate::fsutil::private_dir(&path.join("logs"))?;
                    return Ok(RunDir {
                        id,
                        path,
                        recycled: false,
                        counted,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        unreachable!()
    }

    /// A recycled folder: the old run's result becomes the spare of this
    /// run's, and whatever else it held but its record, events and logs
    /// goes. Its events are overwritten by this run's, whose lines name
    /// this run; its logs are dealt with once this run's checks are known
    /// ([`Recorder::new`]). Until this run's record is written, the folder
    /// holds the old run's record, which names the old id, so no reader
    /// takes it for this run.
    fn empty_record(&self) {
        let _ = fs::rename(
            self.path.join(RESULT),
            self.path.join(format!(".{RESULT}.spare")),
        );
        let keep = [META, EVENTS, "logs"];
        for e in fs::read_dir(&self.path).into_iter().flatten().flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if keep.contains(&name.as_ref()) || name.ends_with(".spare") {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = fs::remove_dir_all(e.path());
            } else {
                let _ = fs::remove_file(e.path());
            }
        }
        let _ = crate::fsutil::private_dir(&self.path.join("logs"));
    }

    /// The directory of an existing run.
    pub fn open(git_dir: &Path, id: &str) -> Result<RunDir> {
        let path = runs_root(git_dir).join(id);
        if id.contains('/') || !path.join("logs").is_dir() {
            bail!(
                "no run `{id}` in {}\nhint: `precheck tasks` lists the runs",
                runs_root(git_dir).display()
            );
        }
        Ok(RunDir {
            id: id.to_string(),
            path,
            recycled: false,
            counted: None,
        })
    }

    /// Whether runs may now be over `keep`: not when this run took over a
    /// folder and there were no more than `keep` (the count is unchanged;
    /// a run started meanwhile prunes after itself).
    pub fn may_exceed(&self, keep: usize) -> bool {
        match self.counted {
            Some(n) if self.recycled => n > keep,
            Some(n) => n + 1 > keep,
            None => true,
        }
    }

    pub fn log_path(&self, check: &str) -> PathBuf {
        self.path.join("logs").join(format!("{check}.log"))
    }

    /// Writes `result.json` atomically (not synced: a record, not the user's work).
    pub fn write_result(&self, json: &str) -> Result<()> {
        replace(&self.path.join(RESULT), json.as_bytes(), false)
    }
}

/// The record of one run, as `meta.json` holds it; part of the
/// `tasks --format json` contract through [`Meta::summary`].
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Meta {
    pub version: u32,
    pub id: String,
    /// What started it: `run` or a hook's name.
    pub trigger: String,
    /// Never written `crashed`: a running run whose process is gone reads
    /// as crashed (see [`Meta::state`]; a record read then says so).
    pub state: RunState,
    pub started_ms: u64,
    pub finished_ms: Option<u64>,
    pub pid: u32,
    pub pid_start: u64,
    /// The pid namespace of `pid` (absent in records from before it was
    /// recorded): a run of another namespace is never judged crashed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<u64>,
    pub exit_code: Option<i32>,
    pub checks: Vec<MetaCheck>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MetaCheck {
    pub name: String,
    /// `waiting`, `running`, or a final status of the JSON report.
    pub state: CheckState,
    pub started_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    /// Process group of its current process, while it runs.
    pub pgid: Option<i32>,
    pub log: PathBuf,
}

impl Meta {
    /// The record of a run that process `pid` has just started, its checks
    /// all waiting.
    pub fn started(id: &str, trigger: &str, pid: u32, checks: &[(String, PathBuf)]) -> Meta {
        Meta {
            version: 1,
            id: id.to_string(),
            trigger: trigger.to_string(),
            state: RunState::Running,
            started_ms: now_ms(),
            finished_ms: None,
            pid,
            pid_start: proc::proc_id(pid as i32).map_or(0, |p| p.start),
            pid_ns: Some(proc::pid_ns()),
            exit_code: None,
            checks: checks
                .iter()
                .map(|(name, log)| MetaCheck {
                    name: name.clone(),
                    state: CheckState::WAITING,
                    started_ms: None,
                    duration_ms: None,
                    pgid: None,
                    log: log.clone(),
                })
                .collect(),
        }
    }

    /// The state, with a run whose process died while running shown as crashed.
    pub fn state(&self) -> RunState {
        if self.state == RunState::Running && !self.alive() {
            RunState::Crashed
        } else {
            self.state
        }
    }

    pub fn alive(&self) -> bool {
        proc::alive_in(self.pid as i32, self.pid_start, self.pid_ns)
    }

    /// Started in this process's pid namespace (or recorded before
    /// namespaces were): its pid names its process here, to signal.
    pub fn in_our_namespace(&self) -> bool {
        proc::in_our_pid_ns(self.pid_ns)
    }

    /// The owner token its processes carry (see `sys::child`).
    pub fn owner_token(&self) -> String {
        crate::sys::child::token(self.pid as i32, self.pid_start, self.pid_ns)
    }

    pub fn finished(&self) -> bool {
        self.state().finished()
    }

    pub fn duration_ms(&self) -> u64 {
        self.finished_ms
            .unwrap_or_else(now_ms)
            .saturating_sub(self.started_ms)
    }
}

/// A line of a run's `events` file: one change, and the run it belongs to.
/// A recycled folder's file is overwritten from its start, never truncated
/// (freeing blocks costs as much as creating a file on some file systems),
/// so the old run's lines left past the new ones are told apart by `run`.
#[derive(Serialize, Deserialize, Debug)]
struct Line {
    run: String,
    #[serde(flatten)]
    event: Event,
}

/// One change to a running run's record.
#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Started {
        check: usize,
        at_ms: u64,
    },
    Spawned {
        check: usize,
        pgid: i32,
    },
    Finished {
        check: usize,
        state: CheckState,
        duration_ms: u64,
    },
}

impl Meta {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Started { check, at_ms } => {
                if let Some(c) = self.checks.get_mut(check) {
                    c.state = CheckState::RUNNING;
                    c.started_ms = Some(at_ms);
                }
            }
            Event::Spawned { check, pgid } => {
                if let Some(c) = self.checks.get_mut(check) {
                    c.pgid = Some(pgid);
                }
            }
            Event::Finished {
                check,
                state,
                duration_ms,
            } => {
                if let Some(c) = self.checks.get_mut(check) {
                    c.state = state;
                    c.duration_ms = Some(duration_ms);
                    c.pgid = None;
                }
            }
        }
    }
}

/// In a recycled folder: the old run's logs of checks this run does not
/// have go, and this run's checks' logs are emptied (a check that never
/// starts shows no old output).
fn clear_old_logs(logs: &Path, checks: &[(String, PathBuf)]) {
    let ours: std::collections::HashSet<&std::ffi::OsStr> = checks
        .iter()
        .filter_map(|(_, log)| log.file_name())
        .collect();
    for e in fs::read_dir(logs).into_iter().flatten().flatten() {
        if !ours.contains(e.file_name().as_os_str()) {
            let _ = fs::remove_file(e.path());
        } else if e.metadata().is_ok_and(|m| m.len() > 0) {
            let _ = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(e.path());
        }
    }
}

/// Reads a run's record: `meta.json`, and for a running run the events
/// appended since, in order (a torn or unreadable line is skipped). A
/// folder whose record names another run is being taken over by a new run
/// (or was, when precheck died): it is no run's record.
fn read_record(dir: &Path) -> Option<Meta> {
    let meta = read_running(dir)?;
    if meta.state == RunState::Running {
        crate::fault::point("run-record-read");
    }
    if meta.state != RunState::Running || meta.alive() {
        return Some(meta);
    }
    // Gone: but it may have ended between the read and the look, and a run
    // writes its last record before it exits. Only a record still running
    // once its process is gone is a crash.
    let mut meta = read_running(dir)?;
    if meta.state == RunState::Running {
        settle_crashed(dir, &mut meta);
    }
    Some(meta)
}

/// A run's `meta.json` and, while it says running, the events since.
fn read_running(dir: &Path) -> Option<Meta> {
    let bytes = fs::read(dir.join(META)).ok()?;
    let mut meta: Meta = serde_json::from_slice(&bytes).ok()?;
    if dir.file_name() != Some(std::ffi::OsStr::new(&meta.id)) {
        return None;
    }
    if meta.state == RunState::Running {
        if let Ok(events) = fs::read(dir.join(EVENTS)) {
            for line in events.split(|&b| b == b'\n') {
                match serde_json::from_slice::<Line>(line) {
                    Ok(line) if line.run == meta.id => meta.apply(line.event),
                    _ => {}
                }
            }
        }
    }
    Some(meta)
}

fn settle_crashed(dir: &Path, meta: &mut Meta) {
    let last = [EVENTS, META]
        .iter()
        .filter_map(|f| fs::metadata(dir.join(f)).ok()?.modified().ok())
        .max()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(meta.started_ms, |d| d.as_millis() as u64)
        .max(meta.started_ms);
    meta.state = RunState::Crashed;
    meta.finished_ms = Some(last);
    for c in &mut meta.checks {
        if c.state == CheckState::RUNNING {
            c.state = CheckState::Ended(Status::Crashed);
            c.duration_ms = c.started_ms.map(|s| last.saturating_sub(s));
        } else if c.state == CheckState::WAITING {
            c.state = CheckState::Ended(Status::NotStarted);
        }
    }
}

/// How many checks of a run are in each state: every check counted once.
/// `failed` is the checks' own failures (failed, timed out, over their
/// memory limit); stopped ones are counted apart.
#[derive(Serialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub cached: usize,
    pub failed: usize,
    pub killed: usize,
    pub interrupted: usize,
    pub crashed: usize,
    pub running: usize,
    pub waiting: usize,
    pub skipped: usize,
    pub not_started: usize,
}

impl Counts {
    pub fn of(meta: &Meta) -> Counts {
        let mut c = Counts::default();
        for check in &meta.checks {
            let n = match check.state {
                CheckState::Pending(Pending::Waiting) => &mut c.waiting,
                CheckState::Pending(Pending::Running) => &mut c.running,
                CheckState::Ended(s) => match s {
                    Status::Passed => &mut c.passed,
                    Status::Cached => &mut c.cached,
                    Status::Failed | Status::TimedOut | Status::KilledMemory => &mut c.failed,
                    Status::Killed => &mut c.killed,
                    Status::Interrupted => &mut c.interrupted,
                    Status::Crashed => &mut c.crashed,
                    Status::NotStarted => &mut c.not_started,
                    Status::SkippedNeeds
                    | Status::SkippedNoFiles
                    | Status::SkippedByUser
                    | Status::SkippedByCondition => &mut c.skipped,
                },
            };
            *n += 1;
        }
        c
    }

    /// "2 passed, 1 failed", the states with checks in them, in this order.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.passed, "passed"),
            (self.cached, "cached"),
            (self.failed, "failed"),
            (self.killed, "killed"),
            (self.interrupted, "interrupted"),
            (self.crashed, "crashed"),
            (self.running, "running"),
            (self.waiting, "waiting"),
            (self.skipped, "skipped"),
            (self.not_started, "not started"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        if parts.is_empty() {
            "no checks".into()
        } else {
            parts.join(", ")
        }
    }
}

const META: &str = "meta.json";
const EVENTS: &str = "events";
const RESULT: &str = "result.json";

/// The oldest finished run's folder, once `keep` runs exist: the one
/// pruning would delete next (only the few oldest are looked at). A folder
/// whose record names another run is being taken over by a new run right
/// now, and is left alone; unless nothing touched it for a minute: then
/// the run taking it over died, and the folder is free again.
fn recyclable(dirs: Vec<PathBuf>, keep: usize) -> Option<PathBuf> {
    if dirs.len() < keep {
        return None;
    }
    /// What deciding needs of a record, read without its checks.
    #[derive(Deserialize)]
    struct Head {
        id: String,
        state: RunState,
        pid: u32,
        pid_start: u64,
        #[serde(default)]
        pid_ns: Option<u64>,
    }
    let abandoned = |d: &Path| {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(d).is_ok_and(|m| {
            let touched = m.ctime().max(m.mtime());
            let now = now_ms() as i64 / 1000;
            now - touched > TAKE_OVER_SECS
        })
    };
    dirs.into_iter().rev().take(3).find(|d| {
        let Ok(bytes) = fs::read(d.join(META)) else {
            return false;
        };
        let Ok(h) = serde_json::from_slice::<Head>(&bytes) else {
            return false;
        };
        if d.file_name() != Some(std::ffi::OsStr::new(&h.id)) {
            return abandoned(d);
        }
        h.state != RunState::Running || !proc::alive_in(h.pid as i32, h.pid_start, h.pid_ns)
    })
}

/// A take-over takes milliseconds; a folder left half taken over for this
/// long was left by a run that died.
const TAKE_OVER_SECS: i64 = 60;

/// Keeps a run's record up to date as the scheduler reports.
pub struct Recorder {
    dir: PathBuf,
    events: Option<File>,
    pub meta: Meta,
}

impl Recorder {
    pub fn new(run: &RunDir, trigger: &str, checks: &[(String, PathBuf)]) -> Result<Recorder> {
        let pid = std::process::id();
        // Written from its start; what a recycled folder's old run left
        // there names that run, so it never applies to this one.
        let events = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(run.path.join(EVENTS))
            .with_context(|| format!("cannot create {}", run.path.join(EVENTS).display()))?;
        if run.recycled {
            crate::fault::point("recycle logs");
            clear_old_logs(&run.path.join("logs"), checks);
        }
        let r = Recorder {
            dir: run.path.clone(),
            events: Some(events),
            meta: Meta::started(&run.id, trigger, pid, checks),
        };
        r.save()?;
        Ok(r)
    }

    fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.meta)?;
        crate::fault::point(&format!("record meta {}", bytes.len()));
        replace(&self.dir.join(META), &bytes, false)
    }

    /// Applies a change and appends it to `events`: one `write`, so a
    /// reader sees the whole line or none of it.
    fn record(&mut self, event: Event) {
        let line = Line {
            run: self.meta.id.clone(),
            event,
        };
        let Ok(mut bytes) = serde_json::to_vec(&line) else {
            return;
        };
        bytes.push(b'\n');
        crate::fault::point(&format!("record event {}", bytes.len()));
        if let Some(f) = &mut self.events {
            let _ = f.write_all(&bytes);
        }
        self.meta.apply(line.event);
    }

    /// The run ended: its state and exit status, written whole (the
    /// events folded in; readers ignore the events of a finished run).
    pub fn finish(&mut self, state: RunState, exit_code: i32) -> Result<()> {
        self.meta.state = state;
        self.meta.exit_code = Some(exit_code);
        self.meta.finished_ms = Some(now_ms());
        for c in &mut self.meta.checks {
            if c.state.ended().is_none() {
                c.state = CheckState::Ended(Status::NotStarted);
            }
        }
        self.save()?;
        // A reader ignores the events of a finished run; the file stays
        // as it is, for the run that recycles this folder.
        self.events = None;
        Ok(())
    }
}

impl Observer for Recorder {
    fn started(&mut self, job: usize) {
        self.record(Event::Started {
            check: job,
            at_ms: now_ms(),
        });
    }

    fn spawned(&mut self, job: usize, pid: u32) {
        self.record(Event::Spawned {
            check: job,
            pgid: pid as i32,
        });
    }

    fn finished(&mut self, job: usize, outcome: &Outcome) {
        self.record(Event::Finished {
            check: job,
            state: CheckState::Ended(outcome.status),
            duration_ms: outcome.duration.as_millis() as u64,
        });
    }

    fn warn(&mut self, _message: &str) {}

    fn tick(&mut self, _live: &crate::exec::supervisor::Live) {}
}

/// Every run's record, newest first (runs without a readable record are skipped).
pub fn list(git_dir: &Path) -> Vec<Meta> {
    run_dirs(git_dir)
        .into_iter()
        .filter_map(|d| read_record(&d))
        .collect()
}

/// The `--format json` document a finished run wrote (`result.json`), if
/// it is there and names this run.
pub fn result(git_dir: &Path, id: &str) -> Option<serde_json::Value> {
    let bytes = fs::read(runs_root(git_dir).join(id).join(RESULT)).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    (doc["run_id"] == id).then_some(doc)
}

/// The run with this id, or the newest one.
pub fn find(git_dir: &Path, id: Option<&str>) -> Result<Meta> {
    match id {
        Some(id) => (!id.contains('/'))
            .then(|| read_record(&runs_root(git_dir).join(id)))
            .flatten()
            .with_context(|| format!("no run `{id}`\nhint: `precheck tasks` lists the runs")),
        None => run_dirs(git_dir)
            .iter()
            .find_map(|d| read_record(d))
            .context("no runs recorded yet\nhint: `precheck run` starts one"),
    }
}

/// Who holds the work tree, for a run that waits for it, and how not to
/// wait.
pub fn holders(git_dir: &Path) -> String {
    let me = std::process::id();
    let running: Vec<Meta> = list(git_dir)
        .into_iter()
        .filter(|m| m.state() == RunState::Running && m.pid != me)
        .collect();
    let aside = "or run without setting changes aside (`precheck run --no-stash`; for a commit, `PRECHECK_NO_STASH=1 git commit`)";
    match running.first() {
        None => format!(
            "waiting for another precheck, which is using the work tree…\n  not to wait: {aside}"
        ),
        Some(first) => {
            let names: Vec<String> = running
                .iter()
                .map(|m| format!("run {} (pid {})", m.id, m.pid))
                .collect();
            format!(
                "waiting for {}, which is using the work tree…\n  not to wait: stop it with `precheck kill --run {}`, {aside}",
                names.join(", "),
                first.id
            )
        }
    }
}

/// Asks a running run to stop some checks (`*`: all of it).
pub fn request_kill(git_dir: &Path, meta: &Meta, names: &[String]) -> Result<()> {
    let path = runs_root(git_dir).join(&meta.id).join("kill");
    let mut text = fs::read_to_string(&path).unwrap_or_default();
    for n in names {
        text.push_str(n);
        text.push('\n');
    }
    replace(&path, text.as_bytes(), false)?;
    // The run's process, whose identity was just checked (a pid of another
    // namespace names another process here: that run reads the request
    // when it next looks, about every tick).
    if meta.in_our_namespace() && meta.alive() {
        crate::sys::signal::notify_kill_request(meta.pid as i32);
    }
    Ok(())
}

/// The kill requests addressed to a run (consumed).
pub fn take_kill_requests(run: &RunDir) -> Vec<String> {
    let path = run.path.join("kill");
    // Looked for every tick: usually there is none, and nothing to remove.
    let Ok(text) = fs::read_to_string(&path) else {
        return Vec::new();
    };
    let _ = fs::remove_file(&path);
    text.lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Removes every finished run's record; returns how many.
pub fn clean(git_dir: &Path) -> usize {
    let mut n = 0;
    for m in list(git_dir) {
        if m.finished() && remove_run(git_dir, &m.id) {
            n += 1;
        }
    }
    n
}

/// Removes a finished run's folder; false if it was gone or taken. It is
/// renamed to a private name first: a new run may be taking the same
/// folder over at this moment (`RunDir::create`), and exactly one of the
/// two renames wins. Deleting in place could empty the folder after the
/// new run had made it its own.
fn remove_run(git_dir: &Path, id: &str) -> bool {
    let root = runs_root(git_dir);
    let doomed = root.join(format!(".removing-{}-{id}", std::process::id()));
    if fs::rename(root.join(id), &doomed).is_err() {
        return false;
    }
    fs::remove_dir_all(&doomed).is_ok()
}

/// Run directories, newest first.
fn run_dirs(git_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(runs_root(git_dir))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                // Not a folder being removed (see `remove_run`).
                .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// Removes all but the newest `keep` finished runs.
pub fn prune(git_dir: &Path, keep: usize) {
    // Counting folders is cheap; reading records only when over the bound.
    if run_dirs(git_dir).len() <= keep {
        return;
    }
    let finished = list(git_dir).into_iter().filter(Meta::finished);
    for m in finished.skip(keep) {
        remove_run(git_dir, &m.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_794_787_200 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(utc_stamp(t), "20261116-030405");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        assert_eq!(
            rfc3339((1_794_787_200 + 3 * 3600 + 4 * 60 + 5) * 1000 + 67),
            "2026-11-16T03:04:05.067Z"
        );
    }
}
