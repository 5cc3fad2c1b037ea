//! `precheck import`: translates a `.pre-commit-config.yaml` (local hooks
//! with `language: system` or `script`) or a `lefthook.yml` (commands) into
//! an equivalent `checks.toml`, and says plainly what it could not translate
//! and why. It reads one file and writes one; it runs nothing.
//!
//! Just over 500 lines: the two translators share the one set of rules for
//! what can be translated and the wording of what cannot.

use std::fmt::Write as _;
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
    /// Executed directly (array form).
    argv: Option<Vec<String>>,
    /// Run with `sh -c` (string form).
    script: Option<String>,
    glob: Vec<String>,
    exclude: Vec<String>,
    regex: Option<String>,
    exclude_regex: Option<String>,
    hooks: Vec<String>,
    dir: Option<String>,
    env: Vec<(String, String)>,
    stage_fixed: bool,
}

/// What the translation produced.
#[derive(Debug, Default)]
struct Translation {
    source: String,
    checks: Vec<Draft>,
    /// Things not translated, or translated with a difference, and why.
    notes: Vec<String>,
    /// `parallel: false` and the like: checks.toml settings lines.
    settings: Vec<String>,
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

/// pre-commit's file types (identify tags) as globs; None for an unknown tag.
fn type_globs(tag: &str) -> Option<Vec<&'static str>> {
    Some(match tag {
        "file" | "text" => vec![],
        "python" => vec!["*.py", "*.pyi"],
        "pyi" => vec!["*.pyi"],
        "javascript" => vec!["*.js", "*.mjs", "*.cjs"],
        "jsx" => vec!["*.jsx"],
        "ts" => vec!["*.ts", "*.mts", "*.cts"],
        "tsx" => vec!["*.tsx"],
        "rust" => vec!["*.rs"],
        "go" => vec!["*.go"],
        "yaml" => vec!["*.yaml", "*.yml"],
        "json" => vec!["*.json"],
        "toml" => vec!["*.toml"],
        "markdown" => vec!["*.md", "*.markdown"],
        "shell" | "bash" | "sh" => vec!["*.sh", "*.bash"],
        "c" => vec!["*.c", "*.h"],
        "c++" => vec!["*.cc", "*.cpp", "*.cxx", "*.hpp", "*.hh", "*.hxx"],
        "java" => vec!["*.java"],
        "kotlin" => vec!["*.kt", "*.kts"],
        "ruby" => vec!["*.rb"],
        "php" => vec!["*.php"],
        "html" => vec!["*.html", "*.htm"],
        "css" => vec!["*.css"],
        "scss" => vec!["*.scss"],
        "sql" => vec!["*.sql"],
        "dockerfile" => vec!["Dockerfile", "*.dockerfile"],
        "terraform" => vec!["*.tf"],
        "proto" => vec!["*.proto"],
        _ => return None,
    })
}

/// pre-commit stage names as git hook names.
fn stage_hook(stage: &str) -> Option<&'static str> {
    Some(match stage {
        "commit" | "pre-commit" => "pre-commit",
        "push" | "pre-push" => "pre-push",
        "commit-msg" => "commit-msg",
        "prepare-commit-msg" => "prepare-commit-msg",
        "post-checkout" => "post-checkout",
        "post-commit" => "post-commit",
        "post-merge" => "post-merge",
        "post-rewrite" => "post-rewrite",
        "pre-merge-commit" => "pre-merge-commit",
        "pre-rebase" => "pre-rebase",
        "manual" => "manual",
        _ => return None,
    })
}

/// Notes each of `keys` that `item` sets, as having no precheck equivalent.
fn note_unsupported(t: &mut Translation, item: &Value, keys: &[&str], what: &str) {
    for key in keys {
        if !item[*key].is_null() {
            t.notes.push(format!(
                "{what}: `{key}` has no precheck equivalent; left out"
            ));
        }
    }
}

fn pre_commit(doc: &Value, t: &mut Translation) {
    let top_exclude = s(&doc["exclude"]);
    let top_files = s(&doc["files"]);
    let default_stages: Vec<String> = strings(&doc["default_stages"]);
    if doc["fail_fast"].as_bool() == Some(true) {
        t.settings.push("fail_fast = true".into());
    }
    for repo in doc["repos"].as_sequence().into_iter().flatten() {
        let url = s(&repo["repo"]).unwrap_or_default();
        let hooks = repo["hooks"].as_sequence().cloned().unwrap_or_default();
        if url != "local" {
            let ids: Vec<String> = hooks.iter().filter_map(|h| s(&h["id"])).collect();
            t.notes.push(format!(
                "repository {url} (hooks {}): not translated: precheck does not install tools from remote repositories; install the tool and add a check that runs it",
                ids.join(", ")
            ));
            continue;
        }
        for h in &hooks {
            let id = s(&h["id"]).unwrap_or_else(|| "hook".into());
            let language = s(&h["language"]).unwrap_or_default();
            if !matches!(
                language.as_str(),
                "system" | "script" | "unsupported" | "unsupported_script"
            ) {
                t.notes.push(format!(
                    "hook {id}: not translated: language `{language}` needs an environment precheck does not install; install the tool and use `language: system` semantics (a plain command)"
                ));
                continue;
            }
            let Some(entry) = s(&h["entry"]) else {
                t.notes
                    .push(format!("hook {id}: not translated: it has no `entry`"));
                continue;
            };
            let Some(mut argv) = split_words(&entry) else {
                t.notes.push(format!(
                    "hook {id}: not translated: cannot split its entry `{entry}`"
                ));
                continue;
            };
            argv.extend(strings(&h["args"]));
            if argv.is_empty() {
                t.notes
                    .push(format!("hook {id}: not translated: empty entry"));
                continue;
            }
            let pass_filenames = h["pass_filenames"].as_bool().unwrap_or(true);
            let always_run = h["always_run"].as_bool().unwrap_or(false);
            let mut d = Draft {
                name: id.clone(),
                ..Draft::default()
            };
            if pass_filenames {
                argv.push("{files}".into());
            }
            d.argv = Some(argv);
            // Which files: `files` and `types`, unless it always runs.
            if !always_run {
                d.regex = s(&h["files"])
                    .or_else(|| top_files.clone())
                    .filter(|r| !r.is_empty());
                let mut types = strings(&h["types"]);
                types.retain(|t| t != "file" && t != "text");
                let types_or = strings(&h["types_or"]);
                let mut globs = Vec::new();
                for tag in types.iter().take(1).chain(types_or.iter()) {
                    match type_globs(tag) {
                        Some(g) => globs.extend(g.into_iter().map(String::from)),
                        None => t.notes.push(format!(
                            "hook {id}: file type `{tag}` has no glob in precheck; add a `glob` by hand"
                        )),
                    }
                }
                if types.len() > 1 {
                    t.notes.push(format!(
                        "hook {id}: `types` {types:?} must all match; precheck used the globs of `{}` only",
                        types[0]
                    ));
                }
                d.glob = globs;
            } else if pass_filenames {
                t.notes.push(format!(
                    "hook {id}: `always_run` with file names: precheck gives it every file of the change and runs it when there is at least one"
                ));
            }
            d.exclude_regex = s(&h["exclude"])
                .or_else(|| top_exclude.clone())
                .filter(|r| !r.is_empty());
            let stages = {
                let own = strings(&h["stages"]);
                if own.is_empty() {
                    default_stages.clone()
                } else {
                    own
                }
            };
            for st in &stages {
                match stage_hook(st) {
                    Some(hook) if !d.hooks.iter().any(|x| x == hook) => d.hooks.push(hook.into()),
                    Some(_) => {}
                    None => t
                        .notes
                        .push(format!("hook {id}: stage `{st}` has no git hook; left out")),
                }
            }
            if h["require_serial"].as_bool() == Some(true) {
                t.notes.push(format!(
                    "hook {id}: `require_serial`: precheck already runs one check's batches one after another"
                ));
            }
            note_unsupported(
                t,
                h,
                &[
                    "verbose",
                    "log_file",
                    "minimum_pre_commit_version",
                    "fail_fast",
                ],
                &format!("hook {id}"),
            );
            t.checks.push(d);
        }
    }
}

fn lefthook(doc: &Value, t: &mut Translation) {
    let Some(map) = doc.as_mapping() else {
        return;
    };
    for (key, body) in map {
        let Some(hook) = key.as_str() else { continue };
        if !crate::config::HOOKS.contains(&hook) || hook == "manual" {
            if body.is_mapping() {
                t.notes
                    .push(format!("`{hook}`: not a git hook precheck runs; left out"));
            }
            continue;
        }
        if body["parallel"].as_bool() == Some(false) || body["piped"].as_bool() == Some(true) {
            t.notes.push(format!(
                "{hook}: commands ran one after another in lefthook; precheck runs them concurrently under its memory cap (use `needs` to order them, or `jobs = 1`)"
            ));
        }
        if let Some(scripts) = body["scripts"].as_mapping() {
            for (name, _) in scripts {
                t.notes.push(format!(
                    "{hook}: script {}: not translated: add a check that runs the script",
                    name.as_str().unwrap_or("?")
                ));
            }
        }
        for (name, cmd) in body["commands"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or("command").to_string();
            let Some(run) = s(&cmd["run"]) else {
                t.notes
                    .push(format!("{hook}: command {name}: not translated: no `run`"));
                continue;
            };
            let mut script = run.clone();
            for (from, to) in [
                ("{staged_files}", "{files}"),
                ("{push_files}", "{files}"),
                ("{all_files}", "{files}"),
                ("{1}", "{msg}"),
            ] {
                script = script.replace(from, to);
            }
            if script.contains("{files}") && run.contains("{all_files}") {
                t.notes.push(format!(
                    "{hook}: command {name}: {{all_files}} became {{files}}: the files of the change (all tracked files with `precheck run --all`)"
                ));
            }
            let name = if t.checks.iter().any(|c| c.name == name) {
                format!("{name}-{hook}")
            } else {
                name
            };
            let mut d = Draft {
                name: name.clone(),
                script: Some(script),
                glob: strings(&cmd["glob"]),
                hooks: vec![hook.to_string()],
                dir: s(&cmd["root"]).map(|r| r.trim_end_matches('/').to_string()),
                stage_fixed: cmd["stage_fixed"].as_bool() == Some(true),
                ..Draft::default()
            };
            match &cmd["exclude"] {
                Value::Sequence(_) => d.exclude = strings(&cmd["exclude"]),
                Value::String(r) => d.exclude_regex = Some(r.clone()),
                _ => {}
            }
            if let Some(env) = cmd["env"].as_mapping() {
                for (k, v) in env {
                    if let (Some(k), Some(v)) = (k.as_str(), s(v)) {
                        d.env.push((k.to_string(), v));
                    }
                }
            }
            note_unsupported(
                t,
                cmd,
                &[
                    "tags",
                    "skip",
                    "only",
                    "files",
                    "interactive",
                    "use_stdin",
                    "priority",
                ],
                &format!("{hook}: command {name}"),
            );
            t.checks.push(d);
        }
    }
}

fn toml_str(s: &str) -> String {
    // A TOML basic string is a JSON string for our purposes.
    serde_json::to_string(s).expect("strings serialize")
}

fn toml_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| toml_str(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn render(t: &Translation) -> String {
    let mut out = format!(
        "# checks.toml, translated by `precheck import` from {}.\n",
        t.source
    );
    if !t.notes.is_empty() {
        out.push_str("# Not translated, or translated with a difference:\n");
        for n in &t.notes {
            let _ = writeln!(out, "#   - {n}");
        }
    }
    if !t.settings.is_empty() {
        out.push_str("\n[settings]\n");
        for line in &t.settings {
            let _ = writeln!(out, "{line}");
        }
    }
    for d in &t.checks {
        let _ = write!(out, "\n[checks.{}]\n", toml_str(&d.name));
        match (&d.argv, &d.script) {
            (Some(argv), _) => {
                let _ = writeln!(out, "run = {}", toml_list(argv));
            }
            (None, Some(script)) => {
                let _ = writeln!(out, "run = {}", toml_str(script));
            }
            (None, None) => {}
        }
        if !d.glob.is_empty() {
            let _ = writeln!(out, "glob = {}", toml_list(&d.glob));
        }
        if let Some(r) = &d.regex {
            let _ = writeln!(out, "regex = {}", toml_str(r));
        }
        if !d.exclude.is_empty() {
            let _ = writeln!(out, "exclude = {}", toml_list(&d.exclude));
        }
        if let Some(r) = &d.exclude_regex {
            let _ = writeln!(out, "exclude_regex = {}", toml_str(r));
        }
        if let Some(dir) = &d.dir {
            let _ = writeln!(out, "dir = {}", toml_str(dir));
        }
        if !d.env.is_empty() {
            let pairs: Vec<String> = d
                .env
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
                .collect();
            let _ = writeln!(out, "env = {{ {} }}", pairs.join(", "));
        }
        if !d.hooks.is_empty() && d.hooks != ["pre-commit"] {
            let _ = writeln!(out, "hooks = {}", toml_list(&d.hooks));
        }
        if d.stage_fixed {
            let _ = writeln!(out, "stage_fixed = true");
        }
    }
    out
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
        source: name.clone(),
        ..Translation::default()
    };
    if name.contains("pre-commit") || !doc["repos"].is_null() {
        pre_commit(&doc, &mut t);
    } else {
        lefthook(&doc, &mut t);
    }
    let out = render(&t);
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
