//! Hook shims: written from the template in `hooks/` (embedded in the
//! binary) into the folder git really reads hooks from. A hook that is not
//! precheck's is never destroyed: it is kept as `HOOK.legacy`, run before the
//! checks (its exit status respected), and put back by `uninstall`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cli::{InstallArgs, UninstallArgs};
use crate::commands::display_path;
use crate::config;
use crate::exit::Exit;
use crate::worktree::git::Repo;
use crate::worktree::snapshot;

const TEMPLATE: &str = include_str!("../../hooks/shim.sh");
/// The shim git starts precheck through directly (`#!PRECHECK shim`): one
/// process (`/bin/sh`) fewer per hook.
const EXEC_TEMPLATE: &str = include_str!("../../hooks/shim-exec");
/// Marks a file as precheck's shim.
const MARKER: &str = "# precheck-shim-version:";
/// The exec shim's line naming the config given at install.
const CONFIG_LINE: &str = "# precheck-config: ";
/// The longest `#!` line every Linux reads whole (kernels before 5.1 cut
/// it at 127 bytes).
const SHEBANG_MAX: usize = 127;

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The shim for `hook`, calling the precheck at `exe` with `config` (a
/// path relative to the work tree's root, or absolute) when one is given:
/// the exec form when `exe` fits in a `#!` line and `shell` is not asked
/// for, else a shell script.
pub fn shim(hook: &str, exe: &Path, config: Option<&Path>, shell: bool) -> String {
    // The exec form needs both paths as text, on one `#!` line and one
    // comment line.
    let config_text = config.map_or(Some(""), Path::to_str);
    if let (false, Some(exe), Some(config)) = (shell, exe.to_str(), config_text) {
        let fits = exe.starts_with('/')
            && format!("#!{exe} shim").len() < SHEBANG_MAX
            && !exe.contains(|c: char| c.is_whitespace() || c.is_control())
            && !config.contains(|c: char| c.is_control());
        if fits {
            return EXEC_TEMPLATE
                .replace("__PRECHECK__", exe)
                .replace("__CONFIG__", config);
        }
    }
    TEMPLATE
        .replace("__HOOK__", &shell_quote(hook))
        .replace("__PRECHECK__", &shell_quote(&exe.to_string_lossy()))
        .replace(
            "__CONFIG__",
            &shell_quote(&config.map(|c| c.to_string_lossy()).unwrap_or_default()),
        )
}

/// The precheck binary a shim's text calls, in either form.
pub fn shim_binary(text: &str) -> Option<String> {
    if let Some(exe) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .and_then(|l| l.strip_suffix(" shim"))
    {
        return Some(exe.to_string());
    }
    let quoted = text.lines().find_map(|l| l.strip_prefix("precheck="))?;
    Some(
        quoted
            .strip_prefix('\'')?
            .strip_suffix('\'')?
            .replace("'\\''", "'"),
    )
}

/// What an exec shim at `path` stands for: the hook (its file name) and the
/// config given at install. Called by `precheck shim`, which git starts
/// through the shim's `#!` line.
pub fn read_exec_shim(path: &Path) -> Result<(String, Option<PathBuf>)> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the hook shim {}", path.display()))?;
    if !text.contains(MARKER) {
        bail!(
            "{} is not a precheck hook shim\nhint: `precheck shim` is what installed hooks run; run `precheck hook NAME` instead",
            path.display()
        );
    }
    let hook = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| config::GIT_HOOKS.contains(n))
        .with_context(|| {
            format!(
                "{} is not named after a git hook\nhint: run `precheck install` to write the shims again",
                path.display()
            )
        })?;
    let config = text
        .lines()
        .find_map(|l| l.strip_prefix(CONFIG_LINE.trim_end()))
        .map(str::trim_start)
        .filter(|c| !c.is_empty())
        .map(PathBuf::from);
    Ok((hook.to_string(), config))
}

fn is_ours(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

fn legacy_path(dir: &Path, hook: &str) -> PathBuf {
    dir.join(format!("{hook}.legacy"))
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("precheck-tmp");
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Who wrote a hook, as far as its text tells.
fn whose(path: &Path) -> &'static str {
    let text = fs::read_to_string(path).unwrap_or_default();
    if text.contains("husky") {
        "husky's hook"
    } else if text.contains("lefthook") {
        "lefthook's hook"
    } else if text.contains("pre-commit.com")
        || text.contains("pre_commit")
        || text.contains("prek")
    {
        "pre-commit's (or prek's) hook"
    } else {
        "your existing hook"
    }
}

pub fn install(config_path: Option<PathBuf>, args: InstallArgs) -> Result<Exit> {
    let repo = snapshot::open_repo()?;
    let mut hooks = if args.hooks.is_empty() {
        let path = config_path
            .clone()
            .unwrap_or_else(|| repo.root().join("checks.toml"));
        if path.exists() {
            let config = config::load(
                &display_path(&path),
                Some(&crate::commands::local_path(&repo)),
            )?;
            let mut hooks: Vec<String> = Vec::new();
            for c in &config.checks {
                for h in &c.hooks {
                    if h != "manual" && !hooks.contains(h) {
                        hooks.push(h.clone());
                    }
                }
            }
            if hooks.is_empty() {
                hooks.push(config::DEFAULT_HOOK.to_string());
            }
            hooks
        } else {
            crate::report::errln!("precheck: no checks.toml yet: installing the pre-commit hook (`precheck init` writes a starter)");
            vec![config::DEFAULT_HOOK.to_string()]
        }
    } else {
        // Names clap accepted: hooks a shim can be installed for.
        args.hooks
    };
    // The hooks use the config given here: kept relative to the root when
    // it is inside the work tree (each worktree then uses its own copy).
    let config = match &config_path {
        Some(p) => {
            let abs = std::env::current_dir()?.join(p);
            let abs = std::fs::canonicalize(&abs)
                .with_context(|| format!("cannot find the config {}", p.display()))?;
            Some(
                abs.strip_prefix(repo.root())
                    .map(Path::to_path_buf)
                    .unwrap_or(abs.clone()),
            )
        }
        None => None,
    };
    // A clean merge commits without pre-commit: git runs pre-merge-commit
    // for it, which checks the merge result with the pre-commit checks.
    if hooks.iter().any(|h| h == "pre-commit") && !hooks.iter().any(|h| h == "pre-merge-commit") {
        hooks.push("pre-merge-commit".to_string());
    }
    for line in write_shims(&repo, &hooks, args.force, args.shell, config.as_deref())? {
        crate::report::outln!("{line}");
    }
    Ok(Exit::Passed)
}

pub fn uninstall(args: UninstallArgs) -> Result<Exit> {
    let repo = snapshot::open_repo()?;
    for line in remove_shims(&repo, &args.hooks)? {
        crate::report::outln!("{line}");
    }
    Ok(Exit::Passed)
}

/// Installs shims for `hooks`; returns what was done, line by line.
pub fn write_shims(
    repo: &Repo,
    hooks: &[String],
    force: bool,
    shell: bool,
    config: Option<&Path>,
) -> Result<Vec<String>> {
    let dir = repo.hooks_dir()?;
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut said = Vec::new();
    if let Some(setting) = repo.hooks_path_setting() {
        let husky = setting.contains(".husky");
        said.push(format!(
            "core.hooksPath points at {}{}: precheck's hooks go there, and the hooks already there are kept and chained; `git config --unset core.hooksPath` returns to .git/hooks",
            dir.display(),
            if husky { " (husky)" } else { "" }
        ));
    }
    let exe = std::env::current_exe().context("cannot find precheck's own path")?;
    let exe = fs::canonicalize(&exe).unwrap_or(exe);
    for hook in hooks {
        let path = dir.join(hook);
        let text = shim(hook, &exe, config, shell);
        let legacy = legacy_path(&dir, hook);
        if path.exists() && is_ours(&path) {
            if !force && fs::read_to_string(&path).is_ok_and(|t| t == text) {
                said.push(format!("{hook}: already installed in {}", dir.display()));
                continue;
            }
            write_executable(&path, &text)?;
            said.push(format!("{hook}: updated {}", path.display()));
            continue;
        }
        if fs::symlink_metadata(&path).is_ok() {
            if fs::symlink_metadata(&legacy).is_ok() {
                if !force {
                    bail!(
                        "{} is not precheck's, and {} already exists; move one of them away, or run `precheck install --force` to keep the hook as {}.N",
                        path.display(),
                        legacy.display(),
                        legacy.display()
                    );
                }
                let spare = (1..)
                    .map(|n| dir.join(format!("{hook}.legacy.{n}")))
                    .find(|p| fs::symlink_metadata(p).is_err())
                    .expect("a free name");
                fs::rename(&path, &spare)?;
                said.push(format!(
                    "{hook}: kept the existing hook as {} (not run; {} is run)",
                    spare.display(),
                    legacy.display()
                ));
            } else {
                fs::rename(&path, &legacy)?;
                said.push(format!(
                    "{hook}: kept {} as {}; it still runs, before precheck's checks (delete it to stop that); `precheck uninstall` puts it back",
                    whose(&legacy),
                    legacy.display()
                ));
            }
        }
        write_executable(&path, &text)?;
        said.push(format!("{hook}: installed {}", path.display()));
    }
    Ok(said)
}

/// Removes precheck's shims (all of them when `hooks` is empty) and puts
/// back the hooks they replaced.
pub fn remove_shims(repo: &Repo, hooks: &[String]) -> Result<Vec<String>> {
    let dir = repo.hooks_dir()?;
    let names: Vec<String> = if hooks.is_empty() {
        let mut found: Vec<String> = fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| is_ours(&e.path()))
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    } else {
        hooks.to_vec()
    };
    let mut said = Vec::new();
    for hook in names {
        let path = dir.join(&hook);
        if !is_ours(&path) {
            said.push(format!("{hook}: no precheck hook in {}", dir.display()));
            continue;
        }
        fs::remove_file(&path)?;
        let legacy = legacy_path(&dir, &hook);
        if fs::symlink_metadata(&legacy).is_ok() {
            fs::rename(&legacy, &path)?;
            said.push(format!(
                "{hook}: removed precheck's hook and put back your own"
            ));
        } else {
            said.push(format!("{hook}: removed {}", path.display()));
        }
    }
    if said.is_empty() {
        said.push(format!("no precheck hooks in {}", dir.display()));
    }
    Ok(said)
}

/// Runs `HOOK.legacy` if there is one, with the hook's arguments and stdin;
/// returns its exit status. `shim_dir` is where an exec shim git started
/// lives (that folder is the one git reads hooks from).
pub fn run_legacy(
    repo: &Repo,
    shim_dir: Option<&Path>,
    hook: &str,
    args: &[String],
    stdin: &[u8],
) -> Result<Option<i32>> {
    // A shell shim says where it lives; asking git costs a process. The
    // variable may also be inherited from a hook of another repository
    // (a check that commits elsewhere): it counts only when it is ours.
    let from_shim = shim_dir.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(crate::env::HOOKS_DIR)
            .map(PathBuf::from)
            .filter(|d| is_ours(&d.join(hook)) && repo.is_default_hooks_dir(d))
    });
    let dir = match from_shim {
        Some(d) => d,
        None => repo.hooks_dir()?,
    };
    let legacy = legacy_path(&dir, hook);
    let Ok(meta) = fs::metadata(&legacy) else {
        return Ok(None);
    };
    if meta.permissions().mode() & 0o111 == 0 {
        crate::report::errln!(
            "precheck: {} is not executable; it was not run",
            legacy.display()
        );
        return Ok(None);
    }
    let mut cmd = Command::new(&legacy);
    crate::sys::child::own(&mut cmd);
    let mut child = cmd
        .args(args)
        .current_dir(repo.root())
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", legacy.display()))?;
    let mut input = child.stdin.take().expect("piped stdin");
    // A hook that does not read its stdin closes the pipe: not an error.
    let _ = input.write_all(stdin);
    drop(input);
    let status = child.wait()?;
    Ok(Some(status.code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shims_binary_is_read_back_from_either_form() {
        let exe = Path::new("/opt/pre check/it's/precheck");
        for shell in [false, true] {
            let text = shim("pre-commit", exe, Some(Path::new("ci/checks.toml")), shell);
            // A path with a space cannot be a `#!` line.
            assert!(text.starts_with("#!/bin/sh\n"));
            assert_eq!(shim_binary(&text).as_deref(), exe.to_str());
        }
        let exe = Path::new("/usr/local/bin/precheck");
        let exec = shim("commit-msg", exe, None, false);
        assert!(exec.starts_with("#!/usr/local/bin/precheck shim\n"));
        assert_eq!(shim_binary(&exec).as_deref(), exe.to_str());
        let shell = shim("commit-msg", exe, None, true);
        assert_eq!(shim_binary(&shell).as_deref(), exe.to_str());
        let long = PathBuf::from(format!("/{}/precheck", "d".repeat(120)));
        assert!(shim("pre-commit", &long, None, false).starts_with("#!/bin/sh\n"));
    }
}
