//! JavaScript projects: which package manager runs their scripts (its
//! `packageManager` field, else its lock file, else npm), which scripts
//! become checks, their workspaces, and the `dev` script's server.
//!
//! A workspace's checks run the root's scripts once, at the root: that is
//! where its authors chose how lint or test reach every package (`turbo run
//! lint`, `pnpm -r lint`…), and one check per script keeps the package
//! manager's own ordering and caching. A script only the packages have runs
//! through the manager's run-in-every-package form. Members are then no
//! projects of their own.

use anyhow::{Context, Result};
use serde_json::Value;

use super::projects::Members;
use super::starter::{starter, DevServer};
use super::{Findings, Project};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pm {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

impl Pm {
    fn name(self) -> &'static str {
        match self {
            Pm::Npm => "npm",
            Pm::Pnpm => "pnpm",
            Pm::Yarn => "yarn",
            Pm::Bun => "bun",
        }
    }

    /// `yarn run X` works on yarn 1 and on berry alike.
    fn run(self, script: &str) -> String {
        format!("{} run {script}", self.name())
    }

    /// The script in every workspace package that has it, if this manager
    /// can say so in one command.
    fn run_everywhere(self, script: &str, berry: bool) -> Option<String> {
        match self {
            Pm::Npm => Some(format!("npm run {script} --workspaces --if-present")),
            Pm::Pnpm => Some(format!("pnpm -r --if-present run {script}")),
            Pm::Bun => Some(format!("bun run --filter '*' {script}")),
            Pm::Yarn if berry => Some(format!("yarn workspaces foreach -A run {script}")),
            // Yarn 1's `workspaces run` fails in a package without it.
            Pm::Yarn => None,
        }
    }
}

/// Lock files, in the order they are believed when several are present.
const LOCKS: [(&str, Pm); 5] = [
    ("pnpm-lock.yaml", Pm::Pnpm),
    ("yarn.lock", Pm::Yarn),
    ("bun.lock", Pm::Bun),
    ("bun.lockb", Pm::Bun),
    ("package-lock.json", Pm::Npm),
];

/// The scripts that become checks, with their memory estimates.
const SCRIPTS: [(&str, &str); 5] = [
    ("type-check", "1GiB"),
    ("typecheck", "1GiB"),
    ("lint", "1GiB"),
    ("build", "2GiB"),
    ("test", "1.5GiB"),
];

const GLOB: [&str; 7] = [
    "*.js",
    "*.jsx",
    "*.ts",
    "*.tsx",
    "*.mjs",
    "*.cjs",
    "package.json",
];

/// The package manager and the line that says why.
fn manager(p: &Project, doc: &Value) -> (Pm, String) {
    let at = p.at();
    if let Some(declared) = doc["packageManager"].as_str() {
        let name = declared.split('@').next().unwrap_or("");
        if let Some(pm) = [Pm::Npm, Pm::Pnpm, Pm::Yarn, Pm::Bun]
            .into_iter()
            .find(|pm| pm.name() == name)
        {
            return (
                pm,
                format!(
                    "{}'s packageManager is {declared}: scripts{at} run with {name}",
                    p.shown("package.json")
                ),
            );
        }
    }
    for (lock, pm) in LOCKS {
        if p.path(lock).is_file() {
            return (
                pm,
                format!(
                    "found {}: scripts{at} run with {}",
                    p.shown(lock),
                    pm.name()
                ),
            );
        }
    }
    (
        Pm::Npm,
        format!("found no lock file: scripts{at} run with npm"),
    )
}

/// The workspace's member patterns and the file that declares them.
fn workspace(p: &Project, doc: &Value) -> Result<Option<(String, Vec<String>)>> {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let pnpm = p.path("pnpm-workspace.yaml");
    if pnpm.is_file() {
        let text = std::fs::read_to_string(&pnpm)?;
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", p.shown("pnpm-workspace.yaml")))?;
        let packages = doc
            .get("packages")
            .and_then(|v| v.as_sequence())
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Some((p.shown("pnpm-workspace.yaml"), packages)));
    }
    let ws = &doc["workspaces"];
    let patterns = if ws.is_array() {
        list(ws)
    } else {
        list(&ws["packages"])
    };
    Ok((!ws.is_null()).then(|| {
        (
            format!("{}'s workspaces", p.shown("package.json")),
            patterns,
        )
    }))
}

fn scripts(doc: &Value) -> Vec<&str> {
    doc["scripts"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

pub fn detect(p: &Project, out: &mut Findings) -> Result<()> {
    let file = "package.json";
    let Some(doc) = p.parse(
        file,
        out,
        "JSON",
        |t| serde_json::from_str::<Value>(t),
        ToString::to_string,
    )?
    else {
        return Ok(());
    };
    let manifest = p.shown(file);
    let (pm, why) = manager(p, &doc);
    out.note(why);
    let mut members = Vec::new();
    if let Some((declared, patterns)) = workspace(p, &doc)? {
        members = Members::new(&patterns, &[]).of(p.manifests, p.dir, file);
        out.note(format!(
            "found {declared}: a workspace ({} package{}): the root's scripts run once{}, not per package",
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            p.at()
        ));
    }
    let own = scripts(&doc);
    let berry = p.path(".yarnrc.yml").is_file()
        || doc["packageManager"]
            .as_str()
            .is_some_and(|d| d.starts_with("yarn@") && !d.starts_with("yarn@1"));
    // The members' package.json files, for scripts the root lacks.
    let mut member_docs = Vec::new();
    for m in &members {
        let path = p.root.join(m).join(file);
        if let Some(d) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            member_docs.push((m.clone(), d));
        }
    }
    for (script, memory) in SCRIPTS {
        if own.contains(&script) {
            out.checks.push(starter(
                script,
                &pm.run(script),
                &GLOB,
                memory,
                pm.name(),
                format!("{manifest} has a `{script}` script"),
            ));
            continue;
        }
        let having: Vec<&str> = member_docs
            .iter()
            .filter(|(_, d)| scripts(d).contains(&script))
            .map(|(m, _)| m.as_str())
            .collect();
        if having.is_empty() {
            continue;
        }
        match pm.run_everywhere(script, berry) {
            Some(run) => out.checks.push(starter(
                script,
                &run,
                &GLOB,
                memory,
                pm.name(),
                format!(
                    "no `{script}` script in {manifest}, but {} ha{} one: run in every package that has it",
                    having.join(", "),
                    if having.len() == 1 { "s" } else { "ve" }
                ),
            )),
            None => out.note(format!(
                "{} ha{} a `{script}` script and {manifest} has none: yarn 1 cannot run it in just those packages; add a root script to check it",
                having.join(", "),
                if having.len() == 1 { "s" } else { "ve" }
            )),
        }
    }
    if let Some(script) = doc["scripts"]["dev"].as_str() {
        out.dev = Some(DevServer {
            run: pm.run("dev"),
            url: format!("http://127.0.0.1:{}/", dev_port(script)),
            dir: (!p.dir.is_empty()).then(|| p.dir.to_string()),
            manifest: manifest.clone(),
        });
    }
    out.members.extend(members.into_iter().map(|m| (m, file)));
    Ok(())
}

/// The port a dev script serves on, as far as its text tells.
fn dev_port(script: &str) -> u16 {
    let words: Vec<&str> = script.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let value = match w.split_once('=') {
            Some(("--port" | "-p", v)) => Some(v),
            _ if *w == "--port" || *w == "-p" => words.get(i + 1).copied(),
            _ => None,
        };
        if let Some(port) = value.and_then(|v| v.parse().ok()) {
            return port;
        }
    }
    let tool = |t: &str| {
        words
            .iter()
            .any(|w| *w == t || w.ends_with(&format!("/{t}")))
    };
    if tool("vite") {
        5173
    } else if tool("astro") {
        4321
    } else if tool("ng") {
        4200
    } else if tool("webpack-dev-server") || tool("webpack") {
        8080
    } else {
        // next, nuxt, remix, react-scripts, express and most others.
        3000
    }
}
