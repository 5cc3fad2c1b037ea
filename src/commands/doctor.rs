//! `precheck doctor`: is this repository set up to work? The config parses,
//! every check's program is found, the hooks checks.toml uses are installed
//! and call this precheck, hooks precheck chained are there, no unstaged
//! changes are left over from a crash, and how much the cache and run records
//! hold. It only reads and reports; it changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::{self, Run};
use crate::exit::Exit;

/// Shell words that are not programs on PATH.
const SHELL_WORDS: &[&str] = &[
    "cd", "echo", "exit", "test", "[", "true", "false", "export", "set", "for", "if", "while",
    "case", "exec", "eval", "command", "printf", "read", "source", ".", "!", "{", "(", "until",
    "unset", "wait", "trap", "shift", "return", "type",
];

struct Findings {
    problems: usize,
}

impl Findings {
    fn ok(&self, text: &str) {
        crate::report::outln!("ok    {text}");
    }
    fn info(&self, text: &str) {
        crate::report::outln!("info  {text}");
    }
    fn problem(&mut self, text: &str) {
        self.problems += 1;
        crate::report::outln!("FAIL  {text}");
    }
}

/// The program a `run` starts, when it can be told without running it.
fn program(run: &Run) -> Option<String> {
    match run {
        Run::Exec(argv) => argv.first().cloned(),
        // precheck itself.
        Run::Builtin(_) => None,
        Run::Shell(script) => {
            let word = script
                .split_whitespace()
                .find(|w| !w.contains('='))?
                .trim_matches(|c| c == '\'' || c == '"');
            (!SHELL_WORDS.contains(&word) && !word.contains('$') && !word.is_empty())
                .then(|| word.to_string())
        }
    }
}

fn dir_size(dir: &Path) -> (usize, u64) {
    let mut stack = vec![dir.to_path_buf()];
    let (mut files, mut bytes) = (0, 0);
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => {
                    files += 1;
                    bytes += e.metadata().map_or(0, |m| m.len());
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

pub fn doctor(config_path: Option<PathBuf>) -> Result<Exit> {
    let repo = crate::worktree::snapshot::open_repo()?;
    let mut f = Findings { problems: 0 };
    f.ok(&format!("repository: {}", repo.root().display()));
    let path = config_path.unwrap_or_else(|| repo.root().join("checks.toml"));
    let local = crate::commands::local_path(&repo);
    let config = match config::load(&path, Some(&local)) {
        Ok(c) => {
            f.ok(&format!(
                "config: {} ({} checks)",
                path.display(),
                c.checks.len()
            ));
            if let Some(layer) = &c.local {
                let added = layer.checks.iter().filter(|t| t.added).count();
                f.ok(&format!(
                    "local: {} laid over it (adds {added} check{}, changes {}, sets {} setting{})",
                    layer.path.display(),
                    crate::units::plural(added),
                    layer.checks.len() - added,
                    layer.settings.len(),
                    crate::units::plural(layer.settings.len())
                ));
                if crate::commands::local_is_tracked(&repo) {
                    f.problem(&format!(
                        "local: {} is tracked by git, so everyone gets it; it is meant to be yours alone: `git rm --cached {}` and add it to .gitignore",
                        config::LOCAL_FILE,
                        config::LOCAL_FILE
                    ));
                }
            }
            Some(c)
        }
        Err(e) => {
            f.problem(&format!("config: {e:#}"));
            None
        }
    };
    let mut used_hooks: Vec<String> = Vec::new();
    if let Some(config) = &config {
        for c in &config.checks {
            for h in c.hooks.iter().filter(|h| *h != "manual") {
                if !used_hooks.contains(h) {
                    used_hooks.push(h.clone());
                }
            }
            let Some(prog) = program(&c.run) else {
                continue;
            };
            let dir = repo.root().join(c.dir.as_deref().unwrap_or("."));
            let path_var = c
                .env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| std::ffi::OsString::from(v))
                .or_else(|| std::env::var_os(crate::env::PATH));
            match which::which_in(&prog, path_var, &dir) {
                Ok(found) => f.ok(&format!(
                    "check `{}`: `{prog}` is {}",
                    c.name,
                    found.display()
                )),
                Err(_) => f.problem(&format!(
                    "check `{}`: program `{prog}` not found (install it, or fix `run`)",
                    c.name
                )),
            }
        }
    }
    let hooks_dir = repo.hooks_dir()?;
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| fs::canonicalize(p).ok());
    for hook in &used_hooks {
        let shim = hooks_dir.join(hook);
        match fs::read_to_string(&shim) {
            Ok(text) if text.contains("precheck-shim-version:") => {
                let target = super::install::shim_binary(&text);
                let points_here = me
                    .as_ref()
                    .is_some_and(|me| target.as_deref().is_some_and(|b| Path::new(b) == me));
                let this = me
                    .as_ref()
                    .map_or_else(|| "?".into(), |p| p.display().to_string());
                if points_here {
                    f.ok(&format!("hook {hook}: installed, calls this precheck"));
                } else {
                    let other = target.unwrap_or_else(|| "?".into());
                    let state = if Path::new(&other).is_file() {
                        "another binary"
                    } else {
                        "a binary that is not there any more"
                    };
                    f.problem(&format!(
                        "hook {hook}: installed but runs {other} ({state}), not this precheck ({this}); run `precheck install` with the precheck you mean to use"
                    ));
                }
            }
            Ok(_) => f.problem(&format!(
                "hook {hook}: {} is not precheck's; run `precheck install` (it keeps that hook as {hook}.legacy)",
                shim.display()
            )),
            Err(_) => f.problem(&format!(
                "hook {hook}: not installed in {}; run `precheck install`",
                hooks_dir.display()
            )),
        }
        if hooks_dir.join(format!("{hook}.legacy")).exists() {
            f.info(&format!(
                "hook {hook}: {hook}.legacy runs first (kept at install)"
            ));
        }
    }
    let state = repo.git_dir().join("precheck");
    if state.join("snapshot").exists() {
        f.problem(&format!(
            "unstaged changes set aside by a precheck that died are in {}; any precheck command (like `precheck list`) restores them",
            state.join("snapshot").display()
        ));
    } else {
        f.ok("no unstaged changes left over from a crash");
    }
    let passes = crate::store::cache::Cache::open(repo.git_dir()).count();
    for (what, dir, count) in [
        ("cache", "cache", Some(passes)),
        ("run records", "runs", None),
    ] {
        let (files, bytes) = dir_size(&state.join(dir));
        let counted = match count {
            Some(n) => format!("{n} pass{}", if n == 1 { "" } else { "es" }),
            None => format!("{files} files"),
        };
        f.info(&format!(
            "{what}: {counted}, {} in {}",
            crate::units::format_size(bytes),
            state.join(dir).display()
        ));
    }
    if f.problems == 0 {
        crate::report::outln!("\nall good");
        Ok(Exit::Passed)
    } else {
        crate::report::outln!(
            "\n{} problem{} found",
            f.problems,
            crate::units::plural(f.problems)
        );
        Ok(Exit::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_of_runs() {
        assert_eq!(
            program(&Run::Shell("FOO=1 eslint {files}".into())).as_deref(),
            Some("eslint")
        );
        assert_eq!(program(&Run::Shell("cd web && npm test".into())), None);
        assert_eq!(
            program(&Run::Exec(vec!["ruff".into()])).as_deref(),
            Some("ruff")
        );
    }
}
