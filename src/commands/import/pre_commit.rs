//! `.pre-commit-config.yaml` into drafts: hooks of pre-commit-hooks become
//! built-ins, known tool mirrors run the tool (the project's own copy, else
//! a runner pinned at the config's `rev`), local hooks run their entry, and
//! each keeps its file filters (top-level `files`/`exclude` and the hook's,
//! its types as globs). Whatever cannot be carried over becomes a note.

use serde_yaml_ng::Value;

use super::mirrors::{self, Tool};
use super::{readable_regex, s, split_words, strings, Draft, Translation};
use crate::identify as types;

/// pre-commit stage names as git hook names.
fn stage_hook(stage: &str) -> Option<&'static str> {
    Some(match stage {
        "commit" | "pre-commit" => "pre-commit",
        "push" | "pre-push" => "pre-push",
        "commit-msg" => "commit-msg",
        "prepare-commit-msg" => "prepare-commit-msg",
        "post-checkout" => "post-checkout",
        "post-commit" => "post-commit",
        "merge-commit" | "pre-merge-commit" => "pre-merge-commit",
        "post-merge" => "post-merge",
        "post-rewrite" => "post-rewrite",
        "pre-rebase" => "pre-rebase",
        "manual" => "manual",
        _ => return None,
    })
}

/// What the whole config sets for every hook.
struct Top {
    files: Option<String>,
    exclude: Option<String>,
    default_stages: Vec<String>,
}

/// A hook's defaults, from a known repository or none for a local hook.
#[derive(Default)]
struct Defaults {
    types: Vec<String>,
    types_or: Vec<String>,
    files: Option<String>,
    pass_filenames: bool,
    always_run: bool,
    /// The tool applies the hook's default types itself (a built-in).
    types_built_in: bool,
}

pub fn translate(doc: &Value, t: &mut Translation) {
    let top = Top {
        files: s(&doc["files"]).filter(|r| !r.is_empty()),
        exclude: s(&doc["exclude"]).filter(|r| !r.is_empty() && r != "^$"),
        default_stages: strings(&doc["default_stages"]),
    };
    if doc["fail_fast"].as_bool() == Some(true) {
        t.settings.push("fail_fast = true".into());
    }
    if !doc["default_install_hook_types"].is_null() {
        t.notes.push(format!(
            "`default_install_hook_types` {:?}: precheck installs every hook its checks use with `precheck install`",
            strings(&doc["default_install_hook_types"])
        ));
    }
    for (key, value) in [("files", &top.files), ("exclude", &top.exclude)] {
        if let Some(r) = value.as_ref().filter(|r| !readable_regex(r)) {
            t.notes.push(format!(
                "top-level `{key}` `{r}` uses look-around or back-references, which precheck's regular expressions lack; left out, so more files are checked than by pre-commit: write it as `exclude`/`glob` patterns"
            ));
        }
    }
    for repo in doc["repos"].as_sequence().into_iter().flatten() {
        let url = s(&repo["repo"]).unwrap_or_default();
        let rev = s(&repo["rev"]).unwrap_or_default();
        for h in repo["hooks"].as_sequence().into_iter().flatten() {
            let id = s(&h["id"]).unwrap_or_else(|| "hook".into());
            match url.as_str() {
                "local" => local(h, &id, &top, t),
                "meta" => t.notes.push(format!(
                    "hook {id} (meta): checks pre-commit's own config; not needed with checks.toml"
                )),
                _ => remote(h, &id, &url, &rev, &top, t),
            }
        }
    }
}

/// `v1.2.3` → `1.2.3`; `None` for a commit hash, which no registry knows.
fn version(rev: &str) -> Option<String> {
    let hex = rev.len() >= 7 && rev.chars().all(|c| c.is_ascii_hexdigit());
    if rev.is_empty() || hex {
        return None;
    }
    Some(rev.strip_prefix('v').unwrap_or(rev).to_string())
}

/// The project's own copy of `bin`, relative to the root, if it has one.
fn own_copy(t: &Translation, bin: &str, node: bool) -> Option<String> {
    let dirs: &[&str] = if node {
        &["node_modules/.bin"]
    } else {
        &[".venv/bin", "venv/bin"]
    };
    dirs.iter()
        .map(|d| format!("{d}/{bin}"))
        .find(|p| t.root.join(p).is_file())
}

fn remote(h: &Value, id: &str, url: &str, rev: &str, top: &Top, t: &mut Translation) {
    let Some(known) = mirrors::lookup(url, id) else {
        let why = if mirrors::known_repo(url) {
            "precheck does not know this hook of a repository it knows"
        } else {
            "precheck does not know this repository's hooks"
        };
        t.notes.push(format!(
            "hook {id} ({url} {rev}): not translated: {why}; add a check that runs its `entry` from the repository's .pre-commit-hooks.yaml (a Python hook runs with `uvx --from git+{url}@{rev} ENTRY`)"
        ));
        return;
    };
    let deps = strings(&h["additional_dependencies"]);
    let args = if h.get("args").is_some() {
        strings(&h["args"])
    } else {
        known.args.iter().map(|a| a.to_string()).collect()
    };
    let mut d = Draft {
        name: id.to_string(),
        ..Draft::default()
    };
    let words = split_words(known.entry).unwrap_or_default();
    let mut argv: Vec<String> = Vec::new();
    match known.tool {
        Tool::Builtin => {
            argv.push(format!("builtin:{id}"));
            argv.extend(args.iter().cloned());
        }
        Tool::Pygrep(regex) => {
            argv = pygrep(regex, &args);
            if !argv[0].starts_with("builtin:") {
                t.notes.push(format!(
                    "hook {id}: its pattern is Python's (look-around) and no Rust regex: run by pre-commit's own pygrep through uvx"
                ));
            }
        }
        Tool::Python(package) | Tool::Node(package) => {
            let node = matches!(known.tool, Tool::Node(_));
            let bin = &words[0];
            if let Some(own) = own_copy(t, bin, node) {
                d.comments.push(format!(
                    "the project's own {bin} ({own}, found at import); pre-commit used {package} {rev}"
                ));
                argv.push(own);
            } else {
                let pinned = version(rev);
                let spec = match &pinned {
                    Some(v) if node => format!("{package}@{v}"),
                    Some(v) => format!("{package}=={v}"),
                    None => package.to_string(),
                };
                if node {
                    argv.extend(["npx".into(), "--yes".into()]);
                    if deps.is_empty() && package == bin.as_str() {
                        argv.push(spec.clone());
                    } else {
                        for p in std::iter::once(&spec).chain(&deps) {
                            argv.extend(["--package".into(), p.clone()]);
                        }
                        argv.extend(["--".into(), bin.clone()]);
                    }
                } else {
                    argv.push("uvx".into());
                    if deps.is_empty() && package == bin.as_str() {
                        argv.push(spec.replace("==", "@"));
                    } else {
                        argv.extend(["--from".into(), spec.clone()]);
                        for dep in &deps {
                            argv.extend(["--with".into(), dep.clone()]);
                        }
                        argv.push(bin.clone());
                    }
                }
                d.comments.push(match pinned {
                    Some(_) => format!(
                        "no {bin} in the project ({}) at import: {spec}, the version of the config's rev {rev}, run by {}",
                        if node { "node_modules/.bin" } else { ".venv/bin, venv/bin" },
                        if node { "npx" } else { "uvx" }
                    ),
                    None => format!(
                        "no {bin} in the project at import, and rev {rev} is no version: the latest {package}"
                    ),
                });
                if pinned.is_none() {
                    t.notes.push(format!(
                        "hook {id}: rev {rev} is a commit, not a version: it runs the latest {package}; pin it in checks.toml"
                    ));
                }
            }
            argv.extend(words[1..].iter().cloned());
            argv.extend(args.iter().cloned());
        }
        Tool::Go(module) => {
            d.comments.push(format!(
                "{module} at the config's rev {rev}, built by go run"
            ));
            argv.extend(["go".into(), "run".into(), format!("{module}@{rev}")]);
            argv.extend(words[1..].iter().cloned());
            argv.extend(args.iter().cloned());
        }
        Tool::System => {
            d.comments.push(format!(
                "{}: your own toolchain, as the hook used it",
                words[0]
            ));
            argv.extend(words.iter().cloned());
            argv.extend(args.iter().cloned());
        }
    }
    if !deps.is_empty()
        && matches!(
            known.tool,
            Tool::Builtin | Tool::Pygrep(_) | Tool::System | Tool::Go(_)
        )
    {
        t.notes.push(format!(
            "hook {id}: `additional_dependencies` {deps:?} left out: it runs no package environment"
        ));
    }
    let is_builtin = matches!(known.tool, Tool::Builtin);
    d.fix = !is_builtin
        && (known.fixer
            || args.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "--fix" | "-w" | "--write" | "--write-changes" | "-i"
                )
            }));
    let defaults = Defaults {
        types: known.types.iter().map(|s| s.to_string()).collect(),
        types_or: known.types_or.iter().map(|s| s.to_string()).collect(),
        files: known.files.map(String::from),
        pass_filenames: known.pass_filenames,
        always_run: id == "no-commit-to-branch",
        types_built_in: is_builtin,
    };
    // Built-ins (pygrep too) take no `{files}`: precheck gives them theirs.
    let takes_files = !argv[0].starts_with("builtin:");
    finish(h, id, argv, d, &defaults, top, t, takes_files);
}

/// `builtin:pygrep` with pre-commit's pygrep flags from `args`; a pattern
/// only Python reads (look-around, backreferences) runs in pre-commit's own
/// pygrep instead, through uvx.
fn pygrep(regex: &str, args: &[String]) -> Vec<String> {
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || (flag == "--ignore-case" && a == "-i"))
    };
    let flags: Vec<String> = ["--ignore-case", "--multiline", "--negate"]
        .into_iter()
        .filter(|f| has(f))
        .map(String::from)
        .collect();
    let rust =
        crate::builtins::pygrep_regex(regex, has("--ignore-case"), has("--multiline")).is_ok();
    let mut argv: Vec<String> = if rust {
        vec!["builtin:pygrep".to_string()]
    } else {
        [
            "uvx",
            "--from",
            "pre-commit",
            "python",
            "-m",
            "pre_commit.languages.pygrep",
        ]
        .map(String::from)
        .to_vec()
    };
    argv.extend(flags);
    argv.push(regex.into());
    argv
}

fn local(h: &Value, id: &str, top: &Top, t: &mut Translation) {
    let language = s(&h["language"]).unwrap_or_default();
    let Some(entry) = s(&h["entry"]) else {
        t.notes
            .push(format!("hook {id}: not translated: it has no `entry`"));
        return;
    };
    let args = strings(&h["args"]);
    let deps = strings(&h["additional_dependencies"]);
    let mut d = Draft {
        name: id.to_string(),
        ..Draft::default()
    };
    let argv = match language.as_str() {
        "pygrep" => pygrep(&entry, &args),
        "fail" => vec![
            "sh".into(),
            "-c".into(),
            "printf '%s\\n' \"$0\" \"$@\" >&2; exit 1".into(),
            entry.clone(),
        ],
        "system" | "script" | "unsupported" | "unsupported_script" | "python" | "node" => {
            let Some(mut words) = split_words(&entry).filter(|w| !w.is_empty()) else {
                t.notes.push(format!(
                    "hook {id}: not translated: cannot split its entry `{entry}`"
                ));
                return;
            };
            let node = language == "node";
            if matches!(language.as_str(), "python" | "node") {
                if let Some(own) = own_copy(t, &words[0], node) {
                    d.comments.push(format!(
                        "the project's own {} ({own}, found at import)",
                        words[0]
                    ));
                    words[0] = own;
                } else if !deps.is_empty() {
                    let mut runner: Vec<String> = if node {
                        vec!["npx".into(), "--yes".into()]
                    } else {
                        vec!["uv".into(), "run".into(), "--no-project".into()]
                    };
                    for dep in &deps {
                        runner.push(if node { "--package" } else { "--with" }.into());
                        runner.push(dep.clone());
                    }
                    runner.push("--".into());
                    d.comments.push(format!(
                        "no {} in the project at import: its additional_dependencies, installed by {}",
                        words[0],
                        if node { "npx" } else { "uv" }
                    ));
                    runner.extend(words);
                    words = runner;
                } else {
                    t.notes.push(format!(
                        "hook {id}: `language: {language}` without additional_dependencies: `{}` runs from your PATH",
                        words[0]
                    ));
                }
            }
            words.extend(args);
            words
        }
        other => {
            t.notes.push(format!(
                "hook {id}: not translated: `language: {other}` needs an environment precheck does not build; install the tool and add a check that runs `{entry}`"
            ));
            return;
        }
    };
    let defaults = Defaults {
        pass_filenames: true,
        ..Defaults::default()
    };
    let takes_files = !argv[0].starts_with("builtin:");
    finish(h, id, argv, d, &defaults, top, t, takes_files);
}

/// The parts every hook shares: `{files}`, file filters, stages, notes.
#[allow(clippy::too_many_arguments)]
fn finish(
    h: &Value,
    id: &str,
    mut argv: Vec<String>,
    mut d: Draft,
    defaults: &Defaults,
    top: &Top,
    t: &mut Translation,
    pass_files: bool,
) {
    let pass_filenames = h["pass_filenames"]
        .as_bool()
        .unwrap_or(defaults.pass_filenames);
    let always_run = h["always_run"].as_bool().unwrap_or(defaults.always_run);
    if pass_filenames && pass_files {
        argv.push("{files}".into());
    }
    d.argv = Some(argv);
    if always_run && pass_filenames {
        {
            t.notes.push(format!(
                "hook {id}: `always_run` with file names: precheck runs it when the change has at least one file for it"
            ));
        }
    }
    if !always_run || pass_filenames {
        // files: the top level's and the hook's must both match.
        let own = s(&h["files"]).or_else(|| defaults.files.clone());
        for (what, r) in [("top-level `files`", top.files.clone()), ("`files`", own)] {
            let Some(r) = r.filter(|r| !r.is_empty()) else {
                continue;
            };
            if readable_regex(&r) {
                d.regex.push(r);
            } else if what == "`files`" {
                t.notes.push(format!(
                    "hook {id}: `files` `{r}` uses look-around or back-references, which precheck's regular expressions lack; left out, so it gets more files than in pre-commit: narrow it with `glob`/`exclude`"
                ));
            }
        }
        let user_types = h.get("types").is_some() || h.get("types_or").is_some();
        if !defaults.types_built_in || user_types {
            let types = if h.get("types").is_some() {
                strings(&h["types"])
            } else {
                defaults.types.clone()
            };
            let types_or = if h.get("types_or").is_some() {
                strings(&h["types_or"])
            } else {
                defaults.types_or.clone()
            };
            d.glob = type_globs(id, &types, &types_or, t);
        }
        for tag in strings(&h["exclude_types"]) {
            match types::globs(&tag) {
                Some(g) => d.exclude.extend(g.iter().map(|g| g.to_string())),
                None => t.notes.push(format!(
                    "hook {id}: `exclude_types` {tag} is about content, which a glob cannot see; left out"
                )),
            }
        }
    }
    // exclude: either excludes.
    let excludes: Vec<String> = [top.exclude.clone(), s(&h["exclude"])]
        .into_iter()
        .flatten()
        .filter(|r| !r.is_empty() && r != "^$")
        .filter(|r| {
            let ok = readable_regex(r);
            if !ok {
                t.notes.push(format!(
                    "hook {id}: exclude `{r}` uses look-around or back-references; left out, so it gets more files than in pre-commit"
                ));
            }
            ok
        })
        .collect();
    d.exclude_regex = match excludes.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(
            many.iter()
                .map(|r| format!("(?:{r})"))
                .collect::<Vec<_>>()
                .join("|"),
        ),
    };
    let stages = {
        let own = strings(&h["stages"]);
        if own.is_empty() {
            top.default_stages.clone()
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
    if h["fail_fast"].as_bool() == Some(true) {
        t.notes.push(format!(
            "hook {id}: `fail_fast` on one hook: precheck's fail_fast is for the whole run (settings.fail_fast); left out"
        ));
    }
    for key in ["verbose", "log_file"] {
        if !h[key].is_null() {
            t.notes.push(format!(
                "hook {id}: `{key}`: precheck keeps every check's output in its log (`precheck log`); left out"
            ));
        }
    }
    t.push(d);
}

/// `types` (all must hold) and `types_or` (one must) as globs.
fn type_globs(id: &str, types: &[String], types_or: &[String], t: &mut Translation) -> Vec<String> {
    let mut content: Vec<&str> = Vec::new();
    let mut sets: Vec<Vec<String>> = Vec::new();
    for tag in types {
        if types::is_content_tag(tag) {
            content.push(tag);
        } else if let Some(g) = types::globs(tag) {
            sets.push(g.iter().map(|s| s.to_string()).collect());
        } else {
            t.notes.push(format!(
                "hook {id}: file type `{tag}` is unknown to precheck; add a `glob` by hand"
            ));
        }
    }
    let mut any: Vec<String> = Vec::new();
    let mut or_content = false;
    for tag in types_or {
        if types::is_content_tag(tag) {
            or_content = true;
        } else if let Some(g) = types::globs(tag) {
            any.extend(g.iter().map(|s| s.to_string()));
        } else {
            t.notes.push(format!(
                "hook {id}: file type `{tag}` is unknown to precheck; add a `glob` by hand"
            ));
        }
    }
    if !any.is_empty() && !or_content {
        sets.push(any);
    }
    // All sets must hold: keep the globs every set has.
    let mut globs = sets.first().cloned().unwrap_or_default();
    for set in sets.iter().skip(1) {
        globs.retain(|g| set.contains(g));
    }
    if sets.len() > 1 && globs.is_empty() {
        t.notes.push(format!(
            "hook {id}: its types {types:?} {types_or:?} have no file name in common; it gets every file"
        ));
    }
    globs.sort();
    globs.dedup();
    if !globs.is_empty()
        && types
            .iter()
            .chain(types_or)
            .any(|tag| tag == "python" || tag == "shell" || tag == "bash")
    {
        let gap = format!("hooks typed python or shell: {}", types::TYPE_GAP);
        if !t.notes.contains(&gap) {
            t.notes.push(gap);
        }
    }
    for tag in content {
        match tag {
            "file" => {}
            "text" if globs.is_empty() => t.notes.push(format!(
                "hook {id}: `types: [text]`: a glob cannot tell text from binary: it gets every file"
            )),
            "text" => {}
            other => t.notes.push(format!(
                "hook {id}: file type `{other}` is about the file's mode or content, which a glob cannot see; left out"
            )),
        }
    }
    globs
}
