//! `lefthook.yml` into drafts: each git hook's `jobs` (with nested groups),
//! `commands` and `scripts` become checks with their globs, excludes, root,
//! env, `stage_fixed` and `skip`/`only` conditions; `piped` becomes a chain
//! of `needs`. Whatever cannot be carried over becomes a note.

use serde_yaml_ng::Value;

use super::{s, strings, Condition, Draft, Translation};

/// What a job inherits from the group around it.
#[derive(Clone, Default)]
struct Inherit {
    glob: Vec<String>,
    root: Option<String>,
    env: Vec<(String, String)>,
    exclude: Value,
    skip: Value,
    only: Value,
}

/// lefthook's globs (gobwas by default: `*` also crosses `/`) as precheck's
/// gitignore-style globs; `doublestar` when the config sets `glob_matcher`.
fn glob(pattern: &str, doublestar: bool) -> String {
    if doublestar {
        return if pattern.contains('/') || pattern.starts_with("**") {
            pattern.to_string()
        } else {
            format!("/{pattern}")
        };
    }
    if !pattern.contains('/') {
        // `*.js` matches a path that ends so: at any depth.
        return pattern.to_string();
    }
    // `src/*.js`: `*` crosses folders too; `**/x` needs at least one folder.
    let mut out = String::from("/");
    for (i, part) in pattern.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if part == "**" || part == "*" && i + 1 < pattern.split('/').count() {
            out.push_str("*/**");
        } else if part.starts_with('*') && !part.starts_with("**") {
            out.push_str("**/");
            out.push_str(part);
        } else {
            out.push_str(part);
        }
    }
    out.replace("/**/**/", "/**/")
}

fn conditions(v: &Value, what: &str, key: &str, t: &mut Translation) -> Vec<Condition> {
    let items: Vec<Value> = match v {
        Value::Null => return Vec::new(),
        Value::Bool(true) => return vec![Condition::Always],
        Value::Bool(false) => return Vec::new(),
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for item in &items {
        match (item.as_str(), item.as_mapping()) {
            (Some("merge"), _) => out.push(Condition::Merge),
            (Some("rebase"), _) => out.push(Condition::Rebase),
            (Some(other), _) => t.notes.push(format!(
                "{what}: `{key}: {other}` has no precheck condition; left out"
            )),
            (None, Some(_)) if item.get("ref").is_some() => {
                out.push(Condition::Branch(s(&item["ref"]).unwrap_or_default()))
            }
            (None, Some(_)) if item.get("env").is_some() => {
                out.push(Condition::Env(s(&item["env"]).unwrap_or_default()))
            }
            (None, Some(_)) if item.get("run").is_some() => t.notes.push(format!(
                "{what}: `{key}` when `{}` succeeds: precheck has no command condition; left out",
                s(&item["run"]).unwrap_or_default()
            )),
            _ => t.notes.push(format!(
                "{what}: a `{key}` condition precheck does not know; left out"
            )),
        }
    }
    out
}

pub fn translate(doc: &Value, t: &mut Translation) {
    let Some(map) = doc.as_mapping() else { return };
    let doublestar = s(&doc["glob_matcher"]).as_deref() == Some("doublestar");
    for key in ["extends", "remotes"] {
        if !doc[key].is_null() {
            t.notes.push(format!(
                "`{key}`: configs from elsewhere are not translated; import each and merge them"
            ));
        }
    }
    for (key, body) in map {
        let Some(name) = key.as_str() else { continue };
        if !body.is_mapping()
            || super::LEFTHOOK_SETTINGS.contains(&name)
            || !["commands", "scripts", "jobs"]
                .iter()
                .any(|k| body.get(*k).is_some())
        {
            continue;
        }
        let hook = if crate::config::HOOKS.contains(&name) {
            name.to_string()
        } else {
            t.notes.push(format!(
                "`{name}` is not a git hook: its checks run only when named (`hooks = [\"manual\"]`)"
            ));
            "manual".to_string()
        };
        let piped = body["piped"].as_bool() == Some(true);
        let parallel = body["parallel"].as_bool() == Some(true);
        let mut jobs = 0;
        for k in ["commands", "scripts", "jobs"] {
            jobs += body[k].as_mapping().map_or(0, |m| m.len())
                + body[k].as_sequence().map_or(0, |m| m.len());
        }
        if !piped && !parallel && jobs > 1 {
            t.notes.push(format!(
                "{name}: lefthook ran its jobs one after another; precheck runs them concurrently under its memory cap (checks that change files are ordered by `fix`; add `needs` to order others)"
            ));
        }
        if !body["files"].is_null() {
            t.notes.push(format!(
                "{name}: `files` (a command listing the files) has no equivalent: precheck's files are the change's"
            ));
        }
        for k in ["exclude_tags", "follow", "fail_on_changes"] {
            if !body[k].is_null() {
                t.notes.push(format!(
                    "{name}: `{k}` has no precheck equivalent; left out"
                ));
            }
        }
        let inherit = Inherit {
            skip: body["skip"].clone(),
            only: body["only"].clone(),
            ..Inherit::default()
        };
        let mut chain: Vec<String> = Vec::new();
        let mut ctx = Ctx {
            hook: &hook,
            name,
            prefix: name.to_string(),
            doublestar,
            piped,
            chain: &mut chain,
        };
        for (job_name, cmd) in body["commands"].as_mapping().into_iter().flatten() {
            let job_name = job_name.as_str().unwrap_or("command").to_string();
            job(&mut ctx, &job_name, cmd, &inherit, t);
        }
        for (file, script) in body["scripts"].as_mapping().into_iter().flatten() {
            let file = file.as_str().unwrap_or("script").to_string();
            let mut cmd = script.clone();
            if let Some(m) = cmd.as_mapping_mut() {
                m.insert("script".into(), Value::String(file.clone()));
            }
            job(&mut ctx, &file, &cmd, &inherit, t);
        }
        jobs_list(&mut ctx, &body["jobs"], &inherit, t);
    }
}

struct Ctx<'a> {
    hook: &'a str,
    /// The hook's name in lefthook.yml (a custom one maps to manual).
    name: &'a str,
    /// What an unnamed job is called after: its hook or its group.
    prefix: String,
    doublestar: bool,
    piped: bool,
    /// Checks so far of a piped hook or group, in order.
    chain: &'a mut Vec<String>,
}

fn jobs_list(ctx: &mut Ctx, jobs: &Value, inherit: &Inherit, t: &mut Translation) {
    for (i, j) in jobs.as_sequence().into_iter().flatten().enumerate() {
        if let Some(group) = j.get("group") {
            let mut inner = inherit.clone();
            inner.glob = strings(&j["glob"]);
            if inner.glob.is_empty() {
                inner.glob = inherit.glob.clone();
            }
            if let Some(r) = s(&j["root"]) {
                inner.root = Some(r);
            }
            inner.env.extend(env(j));
            if !j["exclude"].is_null() {
                inner.exclude = j["exclude"].clone();
            }
            for k in ["skip", "only"] {
                if !j[k].is_null() {
                    if k == "skip" {
                        inner.skip = j[k].clone();
                    } else {
                        inner.only = j[k].clone();
                    }
                }
            }
            let piped = group["piped"].as_bool() == Some(true);
            let group_name = s(&j["name"]).unwrap_or_else(|| format!("{}-{}", ctx.prefix, i + 1));
            if piped {
                let mut chain = Vec::new();
                let mut sub = Ctx {
                    hook: ctx.hook,
                    name: ctx.name,
                    prefix: group_name.clone(),
                    doublestar: ctx.doublestar,
                    piped: true,
                    chain: &mut chain,
                };
                jobs_list(&mut sub, &group["jobs"], &inner, t);
                ctx.chain.extend(chain);
            } else {
                let mut sub = Ctx {
                    hook: ctx.hook,
                    name: ctx.name,
                    prefix: group_name.clone(),
                    doublestar: ctx.doublestar,
                    piped: ctx.piped,
                    chain: ctx.chain,
                };
                jobs_list(&mut sub, &group["jobs"], &inner, t);
            }
            continue;
        }
        let name = s(&j["name"])
            .or_else(|| s(&j["script"]))
            .unwrap_or_else(|| format!("{}-{}", ctx.prefix, i + 1));
        job(ctx, &name, j, inherit, t);
    }
}

fn env(cmd: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in cmd["env"].as_mapping().into_iter().flatten() {
        if let (Some(k), Some(v)) = (k.as_str(), s(v)) {
            out.push((k.to_string(), v));
        }
    }
    out
}

fn job(ctx: &mut Ctx, name: &str, cmd: &Value, inherit: &Inherit, t: &mut Translation) {
    let what = format!("{}: {name}", ctx.name);
    let mut d = Draft {
        name: name.to_string(),
        hooks: vec![ctx.hook.to_string()],
        ..Draft::default()
    };
    if let Some(run) = s(&cmd["run"]) {
        let mut script = run.clone();
        let msg = if ctx.hook == "commit-msg" || ctx.hook == "prepare-commit-msg" {
            "{msg}"
        } else {
            "{1}"
        };
        for (from, to) in [
            ("{staged_files}", "{files}"),
            ("{push_files}", "{files}"),
            ("{all_files}", "{files}"),
            ("{1}", msg),
        ] {
            script = script.replace(from, to);
        }
        if run.contains("{all_files}") {
            t.notes.push(format!(
                "{what}: {{all_files}} became {{files}}: the files of the change (every tracked file with `precheck run --all`)"
            ));
        }
        if script.contains("{1}") || script.contains("{0}") || script.contains("{2}") {
            t.notes.push(format!(
                "{what}: the hook's arguments ({{0}}, {{1}}, …) have no precheck placeholder here; fix its `run` by hand"
            ));
        }
        d.script = Some(script);
    } else if let Some(file) = s(&cmd["script"]) {
        let path = format!(".lefthook/{}/{file}", ctx.name);
        let mut argv: Vec<String> = s(&cmd["runner"])
            .and_then(|r| super::split_words(&r))
            .unwrap_or_default();
        argv.push(if argv.is_empty() {
            format!("./{path}")
        } else {
            path
        });
        if ctx.hook == "commit-msg" || ctx.hook == "prepare-commit-msg" {
            argv.push("{msg}".into());
        }
        d.argv = Some(argv);
    } else {
        t.notes.push(format!(
            "{what}: not translated: it has neither `run` nor `script`"
        ));
        return;
    }
    d.glob = {
        let own = strings(&cmd["glob"]);
        if own.is_empty() {
            inherit.glob.clone()
        } else {
            own
        }
    }
    .iter()
    .map(|g| glob(g, ctx.doublestar))
    .collect();
    d.dir = s(&cmd["root"])
        .or_else(|| inherit.root.clone())
        .map(|r| r.trim_end_matches('/').to_string())
        .filter(|r| !r.is_empty() && r != ".");
    let exclude = if cmd["exclude"].is_null() {
        &inherit.exclude
    } else {
        &cmd["exclude"]
    };
    match exclude {
        Value::Sequence(_) => {
            d.exclude = strings(exclude)
                .iter()
                .map(|g| glob(g, ctx.doublestar))
                .collect()
        }
        Value::String(r) if super::readable_regex(r) => d.exclude_regex = Some(r.clone()),
        Value::String(r) => t.notes.push(format!(
            "{what}: exclude `{r}` is no regular expression precheck reads; left out"
        )),
        _ => {}
    }
    d.env = inherit.env.clone();
    d.env.extend(env(cmd));
    d.stage_fixed = cmd["stage_fixed"].as_bool() == Some(true);
    let skip = if cmd["skip"].is_null() {
        &inherit.skip
    } else {
        &cmd["skip"]
    };
    let only = if cmd["only"].is_null() {
        &inherit.only
    } else {
        &cmd["only"]
    };
    d.skip = conditions(skip, &what, "skip", t);
    d.only = conditions(only, &what, "only", t);
    if let Some(text) = s(&cmd["fail_text"]) {
        d.comments.push(format!("lefthook's fail_text: {text}"));
    }
    if !cmd["tags"].is_null() {
        t.notes.push(format!(
            "{what}: tags {:?}: precheck has no tags; skip it by name with PRECHECK_SKIP",
            strings(&cmd["tags"])
        ));
    }
    for k in ["interactive", "use_stdin", "files", "file_types"] {
        if !cmd[k].is_null() {
            t.notes.push(format!(
                "{what}: `{k}` has no precheck equivalent; left out"
            ));
        }
    }
    if ctx.piped {
        if let Some(prev) = ctx.chain.last() {
            d.needs.push(prev.clone());
        }
    }
    let name = t.push(d);
    ctx.chain.push(name);
}
