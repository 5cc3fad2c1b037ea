//! `precheck import`: translates a `.pre-commit-config.yaml` or a
//! `lefthook.yml` into an equivalent `checks.toml`, and says plainly what it
//! could not translate, or translated with a difference, and why. It reads
//! one file (and looks for the project's own copies of tools) and writes
//! one; it runs nothing. `pre_commit` and `lefthook` read the two formats
//! into the drafts defined here; `render` writes them.

mod lefthook;
mod mirrors;
mod pre_commit;
mod render;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_yaml_ng::Value;

use crate::cli::ImportArgs;
use crate::exit::Exit;
use crate::worktree::git::Repo;

/// One check to write.
#[derive(Debug, Default)]
struct Draft {
    name: String,
    /// Comment lines written above `run` (why this runner).
    comments: Vec<String>,
    /// Executed directly (array form).
    argv: Option<Vec<String>>,
    /// Run with `sh -c` (string form).
    script: Option<String>,
    glob: Vec<String>,
    exclude: Vec<String>,
    /// Regular expressions that must all match.
    regex: Vec<String>,
    exclude_regex: Option<String>,
    hooks: Vec<String>,
    dir: Option<String>,
    env: Vec<(String, String)>,
    needs: Vec<String>,
    fix: bool,
    stage_fixed: bool,
    skip: Vec<Condition>,
    only: Vec<Condition>,
}

/// One condition of precheck's `skip`/`only`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    Always,
    Merge,
    Rebase,
    Branch(String),
    Env(String),
}

/// What the translation produced.
#[derive(Debug, Default)]
struct Translation {
    source: String,
    /// The repository root, where the project's own tools are looked for.
    root: PathBuf,
    checks: Vec<Draft>,
    /// Things not translated, or translated with a difference, and why.
    notes: Vec<String>,
    /// `fail_fast = true` and the like: checks.toml settings lines.
    settings: Vec<String>,
}

impl Translation {
    /// Adds a check under a name no other check has (pre-commit ids and
    /// lefthook names repeat across repositories and hooks).
    fn push(&mut self, mut d: Draft) -> String {
        let base: String = d
            .name
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == ',' || c == '/' {
                    '-'
                } else {
                    c
                }
            })
            .collect();
        let base = if base.is_empty() {
            "check".into()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.checks.iter().any(|c| c.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        d.name = name.clone();
        self.checks.push(d);
        name
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().filter_map(s).collect(),
        other => s(other).into_iter().collect(),
    }
}

/// Can precheck read this regular expression (Rust's regex has no
/// look-around or back-references, which Python's has)?
fn readable_regex(r: &str) -> bool {
    regex::Regex::new(r).is_ok()
}

/// Splits a command line as a POSIX shell would, without expanding anything.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => word.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        ch => word.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Which of the two formats a document is.
#[derive(Debug, PartialEq, Eq)]
enum Format {
    PreCommit,
    Lefthook,
}

/// Keys of lefthook's top level that are not hooks.
const LEFTHOOK_SETTINGS: &[&str] = &[
    "assert_lefthook_installed",
    "colors",
    "extends",
    "glob_matcher",
    "lefthook",
    "min_version",
    "no_tty",
    "output",
    "rc",
    "remotes",
    "skip_lfs",
    "skip_output",
    "source_dir",
    "source_dir_local",
    "templates",
];

fn detect(doc: &Value, file: &Path) -> Result<Format> {
    let shown = file.display();
    let Some(map) = doc.as_mapping() else {
        bail!("{shown} is neither a pre-commit config (a mapping with `repos`) nor a lefthook config (a mapping of git hooks): its top level is not a mapping");
    };
    if doc.get("repos").is_some() {
        if !doc["repos"].is_sequence() {
            bail!("{shown}: `repos` must be a list of repositories");
        }
        return Ok(Format::PreCommit);
    }
    let hook_like = map.iter().any(|(k, v)| {
        let key = k.as_str().unwrap_or_default();
        LEFTHOOK_SETTINGS.contains(&key)
            || (v.is_mapping()
                && ["commands", "scripts", "jobs"]
                    .iter()
                    .any(|body| v.get(*body).is_some()))
    });
    if hook_like {
        return Ok(Format::Lefthook);
    }
    bail!(
        "{shown} is neither a pre-commit config (it has no `repos`) nor a lefthook config (no hook in it has `commands`, `jobs` or `scripts`)\nhint: name the right file with --from PATH"
    )
}

fn source_file(root: &Path, from: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = from {
        return Ok(p);
    }
    for name in [
        ".pre-commit-config.yaml",
        ".pre-commit-config.yml",
        "lefthook.yml",
        "lefthook.yaml",
        ".lefthook.yml",
        ".lefthook.yaml",
    ] {
        let p = root.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "found neither .pre-commit-config.yaml nor lefthook.yml in {}\nhint: name the file with --from PATH",
        root.display()
    )
}

pub fn import(repo: &Repo, args: ImportArgs) -> Result<Exit> {
    let from = source_file(repo.root(), args.from)?;
    let target = repo.root().join("checks.toml");
    if target.exists() && !args.force {
        bail!(
            "{} already exists; precheck import does not overwrite it\nhint: run `precheck import --force` to replace it",
            target.display()
        );
    }
    let text =
        fs::read_to_string(&from).with_context(|| format!("cannot read {}", from.display()))?;
    let doc: Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", from.display()))?;
    let name = from
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let mut t = Translation {
        source: name,
        root: repo.root().to_path_buf(),
        ..Translation::default()
    };
    match detect(&doc, &from)? {
        Format::PreCommit => pre_commit::translate(&doc, &mut t),
        Format::Lefthook => {
            let dir = from.parent().unwrap_or(repo.root());
            for local in [
                "lefthook-local.yml",
                "lefthook-local.yaml",
                ".lefthook-local.yml",
            ] {
                if dir.join(local).is_file() {
                    t.notes.push(format!(
                        "{local}: personal overrides, not translated (they are yours, not the project's); add what you need to checks.toml"
                    ));
                }
            }
            lefthook::translate(&doc, &mut t)
        }
    }
    let out = render::render(&t);
    // What we write must be what we can read.
    crate::config::parse(&target, &out)
        .map_err(|e| anyhow::anyhow!("internal error: the translated file does not parse: {e}"))?;
    crate::fsutil::write_atomic(&target, out.as_bytes(), true)?;
    crate::report::errln!(
        "wrote {} with {} check{} from {}",
        target.display(),
        t.checks.len(),
        crate::units::plural(t.checks.len()),
        from.display()
    );
    for n in &t.notes {
        crate::report::errln!("  note: {n}");
    }
    Ok(Exit::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"black --line-length "100" 'a b' c\ d"#).unwrap(),
            vec!["black", "--line-length", "100", "a b", "c d"]
        );
        assert_eq!(split_words("unterminated 'quote"), None);
    }
}
