//! Python projects: the environment tools run in (uv, poetry, a `.venv` or
//! `venv` folder, else `PATH`) and the tools pyproject.toml configures or
//! lists as dependencies (ruff, and its formatter; mypy; pytest).

use anyhow::Result;
use toml::{Table, Value};

use super::projects::Members;
use super::starter::starter;
use super::{Findings, Project};

/// How a tool is started: its prefix (`uv run `, `.venv/bin/`), what runs
/// it (a check's name suffix), and why.
struct Runner {
    prefix: String,
    tool: &'static str,
    why: String,
}

fn runner(p: &Project, doc: &Table) -> Runner {
    let at = p.at();
    let found = |file: &str| format!("found {}", p.shown(file));
    if p.path("uv.lock").is_file() {
        return Runner {
            prefix: "uv run ".into(),
            tool: "uv",
            why: format!("{}: Python tools{at} run with `uv run`", found("uv.lock")),
        };
    }
    let poetry_table = doc.get("tool").and_then(|t| t.get("poetry")).is_some();
    if p.path("poetry.lock").is_file() || poetry_table {
        let what = if p.path("poetry.lock").is_file() {
            found("poetry.lock")
        } else {
            format!("{} has [tool.poetry]", p.shown("pyproject.toml"))
        };
        return Runner {
            prefix: "poetry run ".into(),
            tool: "poetry",
            why: format!("{what}: Python tools{at} run with `poetry run`"),
        };
    }
    for venv in [".venv", "venv"] {
        if p.path(venv).join("bin").is_dir() {
            return Runner {
                prefix: format!("{venv}/bin/"),
                tool: "venv",
                why: format!(
                    "found {}/: Python tools{at} run from {venv}/bin",
                    p.shown(venv)
                ),
            };
        }
    }
    Runner {
        prefix: String::new(),
        tool: "python",
        why: format!("found no uv.lock, poetry.lock or .venv: Python tools{at} run from PATH"),
    }
}

/// A requirement's distribution name, normalised (`Ruff[extra]>=0.4` → `ruff`).
fn requirement_name(req: &str) -> String {
    req.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace(['_', '.'], "-")
}

/// Every dependency list pyproject.toml may name a tool in, as
/// (where, the names in it).
fn dependency_lists(doc: &Table) -> Vec<(String, Vec<String>)> {
    let mut lists = Vec::new();
    let names = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|r| r.as_str().map(requirement_name))
                .collect(),
            Some(Value::Table(t)) => t.keys().map(|k| requirement_name(k)).collect(),
            _ => Vec::new(),
        }
    };
    let get = |path: &[&str]| -> Option<&Value> {
        let mut v = doc.get(path[0])?;
        for key in &path[1..] {
            v = v.get(*key)?;
        }
        Some(v)
    };
    lists.push((
        "[project] dependencies".into(),
        names(get(&["project", "dependencies"])),
    ));
    for (table, path) in [
        (
            "[project.optional-dependencies]",
            &["project", "optional-dependencies"][..],
        ),
        ("[dependency-groups]", &["dependency-groups"][..]),
    ] {
        if let Some(Value::Table(groups)) = get(path) {
            for (group, reqs) in groups {
                lists.push((format!("{table} {group}"), names(Some(reqs))));
            }
        }
    }
    lists.push((
        "[tool.uv] dev-dependencies".into(),
        names(get(&["tool", "uv", "dev-dependencies"])),
    ));
    lists.push((
        "[tool.poetry.dependencies]".into(),
        names(get(&["tool", "poetry", "dependencies"])),
    ));
    lists.push((
        "[tool.poetry.dev-dependencies]".into(),
        names(get(&["tool", "poetry", "dev-dependencies"])),
    ));
    if let Some(Value::Table(groups)) = get(&["tool", "poetry", "group"]) {
        for (group, t) in groups {
            lists.push((
                format!("[tool.poetry.group.{group}.dependencies]"),
                names(t.get("dependencies")),
            ));
        }
    }
    lists
}

/// Why a tool is used here, if it is: its own table, a config file of its
/// own, or a dependency list naming it.
fn uses(
    p: &Project,
    doc: &Table,
    lists: &[(String, Vec<String>)],
    tool: &str,
    tables: &[&str],
    files: &[&str],
) -> Option<String> {
    let pyproject = p.shown("pyproject.toml");
    let tool_table = doc.get("tool").and_then(Value::as_table);
    for t in tables {
        let mut v = tool_table.and_then(|tt| tt.get(t.split('.').next()?));
        for key in t.split('.').skip(1) {
            v = v.and_then(|v| v.get(key));
        }
        if v.is_some() {
            return Some(format!("{pyproject} has [tool.{t}]"));
        }
    }
    for f in files {
        if p.path(f).is_file() {
            return Some(format!("found {}", p.shown(f)));
        }
    }
    lists
        .iter()
        .find(|(_, names)| names.iter().any(|n| n == tool))
        .map(|(where_, _)| format!("{pyproject} lists {tool} in {where_}"))
}

pub fn detect(p: &Project, out: &mut Findings) -> Result<()> {
    let file = "pyproject.toml";
    let Some(doc) = p.parse(
        file,
        out,
        "TOML",
        |t| toml::from_str::<Table>(t),
        |e| e.message().to_string(),
    )?
    else {
        return Ok(());
    };
    if let Some(Value::Table(ws)) = doc
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|t| t.get("workspace"))
    {
        let strings = |k: &str| -> Vec<String> {
            ws.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let members =
            Members::new(&strings("members"), &strings("exclude")).of(p.manifests, p.dir, file);
        out.note(format!(
            "found [tool.uv.workspace] in {}: its {} member{} are checked with it{}",
            p.shown(file),
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            p.at()
        ));
        out.members.extend(members.into_iter().map(|m| (m, file)));
    }
    let lists = dependency_lists(&doc);
    let ruff = uses(
        p,
        &doc,
        &lists,
        "ruff",
        &["ruff"],
        &["ruff.toml", ".ruff.toml"],
    );
    let mypy = uses(p, &doc, &lists, "mypy", &["mypy"], &["mypy.ini"]);
    let pytest = uses(
        p,
        &doc,
        &lists,
        "pytest",
        &["pytest.ini_options", "pytest"],
        &["pytest.ini"],
    );
    if ruff.is_none() && mypy.is_none() && pytest.is_none() {
        out.note(format!(
            "found {}: it names none of ruff, mypy or pytest: no Python checks",
            p.shown(file)
        ));
        return Ok(());
    }
    let r = runner(p, &doc);
    out.note(r.why.clone());
    let run = |cmd: &str| format!("{}{cmd}", r.prefix);
    let py = &["*.py", "*.pyi", "pyproject.toml"];
    if let Some(why) = ruff {
        out.checks.push(starter(
            "ruff",
            &run("ruff check {files}"),
            &["*.py", "*.pyi"],
            "256MiB",
            r.tool,
            why.clone(),
        ));
        out.checks.push(starter(
            "ruff-format",
            &run("ruff format --check {files}"),
            &["*.py", "*.pyi"],
            "256MiB",
            r.tool,
            format!("{why}: ruff's formatter checks the formatting too"),
        ));
    }
    if let Some(why) = mypy {
        out.checks
            .push(starter("mypy", &run("mypy ."), py, "1GiB", r.tool, why));
    }
    if let Some(why) = pytest {
        out.checks.push(starter(
            "pytest",
            &run("pytest -q"),
            py,
            "1GiB",
            r.tool,
            why,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_are_normalised() {
        assert_eq!(requirement_name("Ruff[x]>=0.4"), "ruff");
        assert_eq!(
            requirement_name("pytest_cov ; python_version>'3'"),
            "pytest-cov"
        );
        assert_eq!(requirement_name("mypy"), "mypy");
    }
}
