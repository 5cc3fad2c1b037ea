//! `precheck mcp`: the Model Context Protocol over stdio, for coding agents
//! (through the `rmcp` SDK, not hand-written JSON-RPC). Its tools mirror
//! the CLI: `run`, `tasks`, `wait`, `log`, `kill`, `list`. Each runs this
//! same precheck binary with `--format json` in the server's directory and
//! returns that document (so a tool's answer is the CLI's answer, word for
//! word), trimmed where the CLI gives more than an agent's context wants:
//! tails are bounded, and `log` can keep only the failing checks. `wait`
//! sends progress notifications while runs go on, when the client asked
//! for them.
//!
//! It decides nothing about runs and touches no record itself.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Meta, ProgressNotificationParam};
use rmcp::{tool, tool_router, Peer, RoleServer, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::exit::Exit;
use crate::outcome::CheckState;

/// Lines of each check's log a tool returns unless asked otherwise.
const TAIL: usize = 20;
/// Most lines of a tail a tool returns, whatever it is asked.
const TAIL_MAX: usize = 200;
/// How long `wait` waits unless told (MCP clients time requests out).
const WAIT_DEFAULT: Duration = Duration::from_secs(300);

#[derive(Clone)]
struct Server {
    exe: PathBuf,
    dir: PathBuf,
}

#[derive(Deserialize, JsonSchema, Default)]
struct RunParams {
    /// Checks to run by name (default: the hook's checks)
    #[serde(default)]
    checks: Vec<String>,
    /// Run on these files (relative to the repository) instead of the staged ones
    #[serde(default)]
    files: Vec<String>,
    /// Run on every tracked file
    #[serde(default)]
    all: bool,
    /// The hook whose checks run (default pre-commit; `manual` for on-demand checks)
    hook: Option<String>,
    /// Start in the background and return the run id at once (default true)
    background: Option<bool>,
}

#[derive(Deserialize, JsonSchema, Default)]
struct WaitParams {
    /// Run ids (default: every run still going, else the latest)
    #[serde(default)]
    runs: Vec<String>,
    /// Give up after this long, like "90s" or "10m" (default 5m); "0" looks once
    timeout: Option<String>,
    /// Return when the first of the runs ends
    #[serde(default)]
    any: bool,
    /// Lines of each check's log (default 20, at most 200)
    tail: Option<usize>,
}

#[derive(Deserialize, JsonSchema, Default)]
struct LogParams {
    /// The run (default: the latest)
    run: Option<String>,
    /// Only this check
    check: Option<String>,
    /// Lines of each check's log (default 20, at most 200)
    tail: Option<usize>,
    /// Only the checks that did not pass or get skipped
    #[serde(default)]
    failures_only: bool,
}

#[derive(Deserialize, JsonSchema, Default)]
struct KillParams {
    /// The run (default: the latest running run)
    run: Option<String>,
    /// Only this check (default: the whole run)
    check: Option<String>,
}

/// What a precheck command printed and how it ended.
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Server {
    async fn precheck(&self, args: &[String]) -> Result<Output, rmcp::ErrorData> {
        let out = tokio::process::Command::new(&self.exe)
            .args(args)
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| {
                rmcp::ErrorData::internal_error(format!("cannot run precheck: {e}"), None)
            })?;
        Ok(Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// A command's JSON document, or its error as the tool's error result.
    async fn document(
        &self,
        args: &[String],
    ) -> Result<Result<Value, CallToolResult>, rmcp::ErrorData> {
        let out = self.precheck(args).await?;
        Ok(match serde_json::from_str::<Value>(&out.stdout) {
            Ok(doc) if out.code != Exit::Usage.code() => Ok(doc),
            _ => Err(failure(&out)),
        })
    }

    /// A command's JSON document as the tool's result, or its error.
    async fn answer(&self, args: &[String]) -> Result<CallToolResult, rmcp::ErrorData> {
        Ok(match self.document(args).await? {
            Ok(doc) => CallToolResult::structured(doc),
            Err(e) => e,
        })
    }
}

/// Command-line words.
fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|w| w.to_string()).collect()
}

/// A command that failed before it had an answer: its message, as an
/// error result the agent reads.
fn failure(out: &Output) -> CallToolResult {
    CallToolResult::structured_error(json!({
        "exit_code": out.code,
        "error": out.stderr.trim(),
    }))
}

fn tail_of(asked: Option<usize>) -> String {
    asked.unwrap_or(TAIL).min(TAIL_MAX).to_string()
}

/// A check document's state that ended neither in a pass nor in a skip.
fn failing(check: &Value) -> bool {
    serde_json::from_value::<CheckState>(check["state"].clone())
        .ok()
        .and_then(CheckState::ended)
        .is_some_and(|s| !s.passed() && !s.skipped())
}

#[tool_router(server_handler)]
impl Server {
    /// Runs checks, by default in the background: returns the run id at once
    /// (then `wait` and `log`). In the foreground it returns the run's report.
    #[tool(
        description = "Run checks. Background by default: returns {run_id}; use wait/log next. With background=false returns the run's JSON report (status, exit_code, and per check: status, exit_code, detail, a bounded tail, log path)."
    )]
    async fn run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let mut args = vec!["run".to_string()];
        args.extend(p.checks.iter().cloned());
        if p.all {
            args.push("--all".into());
        }
        if !p.files.is_empty() {
            args.push("--files".into());
            args.extend(p.files.iter().cloned());
        }
        if let Some(h) = &p.hook {
            args.extend(["--hook".into(), h.clone()]);
        }
        if p.background.unwrap_or(true) {
            args.push("--background".into());
            let out = self.precheck(&args).await?;
            let id = out
                .stdout
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            if out.code != 0 || id.is_empty() {
                return Ok(failure(&out));
            }
            return Ok(CallToolResult::structured(json!({
                "run_id": id,
                "next": format!("wait with runs=[\"{id}\"], then log with run=\"{id}\""),
            })));
        }
        args.extend(["--format".into(), "json".into()]);
        self.answer(&args).await
    }

    #[tool(
        description = "Running and recent runs, newest first: id, trigger, state, duration, pid and counts of checks per state."
    )]
    async fn tasks(&self) -> Result<CallToolResult, rmcp::ErrorData> {
        self.answer(&words(&["tasks", "--format", "json"])).await
    }

    #[tool(
        description = "Wait until runs end (all, or the first with any=true), up to timeout (default 5m). Returns {runs: [{id, state, exit_code, counts, checks: [{name, state, exit_code, detail, tail, log}]}], timed_out, first_ended}. Sends progress notifications while waiting."
    )]
    async fn wait(
        &self,
        Parameters(p): Parameters<WaitParams>,
        meta: Meta,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let limit = match p.timeout.as_deref().map(str::trim) {
            None => WAIT_DEFAULT,
            Some("0") => Duration::ZERO,
            Some(t) => match crate::config::parse_duration(t) {
                Ok(d) => d,
                Err(e) => {
                    return Ok(CallToolResult::structured_error(
                        json!({ "error": format!("timeout: {e}") }),
                    ))
                }
            },
        };
        let token = meta.get_progress_token();
        let start = Instant::now();
        // Reported when more checks have ended: progress only increases.
        let mut reported = None;
        loop {
            // Waits a second at a time, to report progress in between.
            let left = limit.saturating_sub(start.elapsed());
            let slice = left.min(Duration::from_secs(1));
            let mut args = vec!["wait".to_string()];
            for r in &p.runs {
                args.extend(["--run".into(), r.clone()]);
            }
            if p.any {
                args.push("--any".into());
            }
            args.extend([
                "--timeout".into(),
                format!("{}ms", slice.as_millis()),
                "--tail".into(),
                tail_of(p.tail),
                "--format".into(),
                "json".into(),
            ]);
            let doc = match self.document(&args).await? {
                Ok(d) => d,
                Err(e) => return Ok(e),
            };
            if doc["timed_out"] != true || start.elapsed() >= limit {
                return Ok(CallToolResult::structured(doc));
            }
            let (ended, total) = progress(&doc);
            if let Some(token) = token.as_ref().filter(|_| reported < Some(ended)) {
                reported = Some(ended);
                let _ = peer
                    .notify_progress(ProgressNotificationParam {
                        progress_token: token.clone(),
                        progress: ended as f64,
                        total: Some(total as f64),
                        message: Some(format!("{ended} of {total} checks ended")),
                    })
                    .await;
            }
        }
    }

    #[tool(
        description = "A run's checks (default: the latest run): state, counts, and per check exit_code, detail, a bounded tail (default 20 lines) and the log path. failures_only keeps the checks that neither passed nor were skipped."
    )]
    async fn log(
        &self,
        Parameters(p): Parameters<LogParams>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        // The CLI checks the run and the check (and says so when there is
        // none); the document is the whole run, narrowed here.
        let mut args = vec!["log".to_string()];
        if let Some(c) = &p.check {
            args.push(c.clone());
        }
        if let Some(r) = &p.run {
            args.extend(["--run".into(), r.clone()]);
        }
        args.extend(words(&["--tail", &tail_of(p.tail), "--format", "json"]));
        let mut doc = match self.document(&args).await? {
            Ok(d) => d,
            Err(e) => return Ok(e),
        };
        if let Some(checks) = doc["checks"].as_array_mut() {
            if let Some(name) = &p.check {
                checks.retain(|c| c["name"] == name.as_str());
            }
            if p.failures_only {
                checks.retain(failing);
            }
        }
        Ok(CallToolResult::structured(doc))
    }

    #[tool(
        description = "Stop a run, or one of its checks (the whole process tree: SIGTERM, then SIGKILL). Returns what precheck said."
    )]
    async fn kill(
        &self,
        Parameters(p): Parameters<KillParams>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let mut args = vec!["kill".to_string()];
        if let Some(c) = &p.check {
            args.push(c.clone());
        }
        if let Some(r) = &p.run {
            args.extend(["--run".into(), r.clone()]);
        }
        let out = self.precheck(&args).await?;
        if out.code != 0 {
            return Ok(failure(&out));
        }
        Ok(CallToolResult::structured(
            json!({ "message": out.stdout.trim() }),
        ))
    }

    #[tool(
        description = "The checks as the scheduler sees them (checks.toml): for each, whether and why it would run now, its memory and what it needs."
    )]
    async fn list(&self) -> Result<CallToolResult, rmcp::ErrorData> {
        self.answer(&words(&["list", "--format", "json"])).await
    }
}

/// Ended and total checks of the runs in a `wait` document (from each
/// run's counts: all but the running and the waiting ones have ended).
fn progress(doc: &Value) -> (u64, u64) {
    let mut ended = 0;
    let mut total = 0;
    for run in doc["runs"].as_array().into_iter().flatten() {
        let counts = run["counts"].as_object().into_iter().flatten();
        for (state, n) in counts {
            let n = n.as_u64().unwrap_or(0);
            total += n;
            if state != "running" && state != "waiting" {
                ended += n;
            }
        }
    }
    (ended, total)
}

/// Serves MCP on stdin and stdout until the client closes them, for the
/// repository at `dir` (default: the current directory).
pub fn serve(dir: Option<PathBuf>) -> Result<Exit> {
    let dir = match dir {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory\nhint: precheck mcp [DIR], DIR being the repository to serve",
            dir.display()
        );
    }
    let server = Server {
        exe: std::env::current_exe().context("cannot find precheck's own path")?,
        dir,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the MCP server")?;
    runtime.block_on(async move {
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .context("cannot start the MCP session")?;
        service.waiting().await.context("the MCP session failed")?;
        anyhow::Ok(())
    })?;
    Ok(Exit::Passed)
}
