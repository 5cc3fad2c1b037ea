//! `precheck list`: the plan for a change, with the reason each check runs
//! or not and the memory it is expected to use, as text or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::cli::ListArgs;
use crate::commands::{change_of, display_path, load_config, selection};
use crate::exit::Exit;
use crate::outcome::DecisionKind;
use crate::pipeline::{default_jobs, files_of, memory_cap};
use crate::plan::{self, Decision};
use crate::report::TextFormat;
use crate::store::history;
use crate::units::format_size;
use crate::worktree::snapshot;

pub fn list(config_path: Option<PathBuf>, args: ListArgs) -> Result<Exit> {
    if args.builtins {
        return builtins(args.format);
    }
    let repo = snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    let files = files_of(&repo, &change_of(&repo, &args.files)?)?;
    let sel = selection(&repo, Vec::new(), args.files.hook.clone());
    let plan = plan::plan(&config, &files, &sel)?;
    let cap = memory_cap(&config, None)?;
    let past = history::read(repo.git_dir());
    let rows: Vec<ListRow> = config
        .checks
        .iter()
        .zip(&plan.decisions)
        .map(|(c, d)| {
            let h = past.get(&c.name);
            let (memory, source) = history::expected_memory(c, h, config.settings.default_memory);
            ListRow {
                name: &c.name,
                run: c.run.display(),
                hooks: &c.hooks,
                glob: &c.glob,
                exclude: &c.exclude,
                needs: &c.needs,
                dir: c.dir.as_deref(),
                memory_bytes: memory,
                memory_declared: c.memory.is_some(),
                memory_source: match source {
                    history::Source::Declared => "declared",
                    history::Source::Learned => "learned",
                    history::Source::Default => "default",
                    history::Source::InProcess => "in process",
                },
                measured_runs: h.map_or(0, |h| h.peaks.len()),
                measured_median_bytes: h.and_then(history::History::median_peak),
                measured_max_bytes: h.and_then(history::History::max_peak),
                typical_duration_ms: h
                    .and_then(history::History::median_duration)
                    .map(|d| d.as_millis()),
                memory_limit_bytes: c.memory_limit,
                timeout_ms: c.timeout.map(|t| t.as_millis()),
                fix: c.fix,
                decision: d.kind(),
                reason: d.reason(c, &sel),
                files: match d {
                    Decision::Run { files } => files.len(),
                    _ => 0,
                },
                paths: match d {
                    Decision::Run { files } => files
                        .iter()
                        .map(|f| f.to_string_lossy().into_owned())
                        .collect(),
                    _ => Vec::new(),
                },
                hint: history::underestimate(c, h),
                local: config.local_check(&c.name).map(|t| LocalRow {
                    added: t.added,
                    keys: &t.keys,
                }),
            }
        })
        .collect();
    let local = config.local.as_ref().map(|l| {
        serde_json::json!({
            "path": l.path,
            "settings": l.settings,
            "services": l.services.iter().map(|t| serde_json::json!({
                "name": t.name,
                "added": t.added,
                "keys": t.keys,
            })).collect::<Vec<_>>(),
        })
    });
    let json = args.format == TextFormat::Json;
    let mut out = crate::report::stdout();
    if json {
        let doc = serde_json::json!({
            "version": 1,
            "hook": sel.hook,
            "settings": {
                "jobs": default_jobs(&config),
                "memory_cap_bytes": cap,
                "default_memory_bytes": config.settings.default_memory,
                "fail_fast": config.settings.fail_fast,
                "output_lines": config.settings.output_lines,
            },
            "checks": rows,
            "local": local,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Exit::Passed);
    }
    let source = match &config.local {
        Some(l) if l.settings.is_empty() => format!(
            "{} and {}",
            display_path(&config.path).display(),
            l.path.display()
        ),
        Some(l) => format!(
            "{} and {} (which sets {})",
            display_path(&config.path).display(),
            l.path.display(),
            l.settings.join(", ")
        ),
        None => display_path(&config.path).display().to_string(),
    };
    writeln!(
        out,
        "{} checks in {source}; jobs {}, memory cap {}, default memory {}",
        rows.len(),
        default_jobs(&config),
        format_size(cap),
        format_size(config.settings.default_memory)
    )?;
    for r in &rows {
        let memory = match r.memory_source {
            "learned" => format!(
                "{} (learned: 90th percentile of {} measured runs + {:.0}%)",
                format_size(r.memory_bytes),
                r.measured_runs,
                history::MARGIN * 100.0
            ),
            source => format!("{} ({source})", format_size(r.memory_bytes)),
        };
        writeln!(out)?;
        writeln!(out, "{}  {}", console::style(r.name).bold(), r.reason)?;
        writeln!(out, "  run     {}", r.run)?;
        writeln!(out, "  hooks   {}", r.hooks.join(", "))?;
        if !r.glob.is_empty() {
            writeln!(out, "  glob    {}", r.glob.join(", "))?;
        }
        if !r.exclude.is_empty() {
            writeln!(out, "  exclude {}", r.exclude.join(", "))?;
        }
        if !r.needs.is_empty() {
            writeln!(out, "  needs   {}", r.needs.join(", "))?;
        }
        writeln!(out, "  memory  {memory}")?;
        if let (Some(median), Some(max)) = (r.measured_median_bytes, r.measured_max_bytes) {
            writeln!(
                out,
                "  peaks   median {}, max {} over the last {} runs",
                format_size(median),
                format_size(max),
                r.measured_runs
            )?;
        }
        if let Some(ms) = r.typical_duration_ms {
            writeln!(
                out,
                "  time    typically {}",
                crate::units::format_duration(std::time::Duration::from_millis(ms as u64))
            )?;
        }
        if let Some(hint) = &r.hint {
            writeln!(out, "  hint    {hint}")?;
        }
        if let (Some(l), Some(layer)) = (&r.local, &config.local) {
            let file = layer.path.display();
            if l.added {
                writeln!(out, "  local   added in {file}")?;
            } else {
                writeln!(out, "  local   {} from {file}", l.keys.join(", "))?;
            }
        }
    }
    Ok(Exit::Passed)
}

#[derive(Serialize)]
struct ListRow<'a> {
    name: &'a str,
    run: String,
    hooks: &'a [String],
    glob: &'a [String],
    exclude: &'a [String],
    needs: &'a [String],
    dir: Option<&'a str>,
    memory_bytes: u64,
    memory_declared: bool,
    memory_source: &'static str,
    measured_runs: usize,
    measured_median_bytes: Option<u64>,
    measured_max_bytes: Option<u64>,
    typical_duration_ms: Option<u128>,
    memory_limit_bytes: Option<u64>,
    timeout_ms: Option<u128>,
    fix: bool,
    decision: DecisionKind,
    reason: String,
    files: usize,
    /// The files it would be given (relative to the root), in order.
    paths: Vec<String>,
    hint: Option<String>,
    /// What checks.local.toml did to it: added it, or set these keys.
    local: Option<LocalRow<'a>>,
}

#[derive(Serialize)]
struct LocalRow<'a> {
    added: bool,
    keys: &'a [String],
}

/// `list --builtins`: every built-in, what it does and takes.
fn builtins(format: TextFormat) -> Result<Exit> {
    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        run: String,
        fixes: bool,
        description: &'static str,
    }
    let rows: Vec<Row> = crate::builtins::ALL
        .iter()
        .map(|(kind, name, what)| Row {
            name,
            run: format!("{}{name}", crate::builtins::PREFIX),
            fixes: kind.fixes(),
            description: what,
        })
        .collect();
    let mut out = crate::report::stdout();
    if format == TextFormat::Json {
        let doc = serde_json::json!({ "builtins": rows });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for r in &rows {
            writeln!(out, "{:width$}  {}", r.name, r.description)?;
        }
        writeln!(
            out,
            "\nUse one as `run = \"builtin:NAME\"`, or `run = [\"builtin:NAME\", \"--arg\", …]` with pre-commit-hooks' arguments."
        )?;
    }
    Ok(Exit::Passed)
}
