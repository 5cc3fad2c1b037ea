//! `precheck init`: a starter `checks.toml` from what the repository holds
//! (Cargo.toml, package.json, pyproject.toml), with memory estimates for the
//! user to edit, and a commented `[services.dev]` when package.json has a
//! `dev` script. It reads those manifests and writes one file, never over an
//! existing one without `--force`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::exit::Exit;

struct Starter {
    name: String,
    run: String,
    glob: Vec<&'static str>,
    memory: &'static str,
    needs: Vec<String>,
    hooks: Option<&'static str>,
}

fn starter(name: &str, run: &str, glob: &[&'static str], memory: &'static str) -> Starter {
    Starter {
        name: name.into(),
        run: run.into(),
        glob: glob.to_vec(),
        memory,
        needs: Vec::new(),
        hooks: None,
    }
}

fn cargo(root: &Path, out: &mut Vec<Starter>) {
    if !root.join("Cargo.toml").is_file() {
        return;
    }
    let rs = &["*.rs", "Cargo.toml", "Cargo.lock"];
    out.push(starter(
        "fmt",
        "cargo fmt --all -- --check",
        &["*.rs"],
        "256MiB",
    ));
    out.push(starter("check", "cargo check --all-targets", rs, "1.5GiB"));
    let mut clippy = starter(
        "clippy",
        "cargo clippy --all-targets -- -D warnings",
        rs,
        "1.5GiB",
    );
    clippy.needs.push("check".into());
    out.push(clippy);
    let mut test = starter("test", "cargo test", rs, "2GiB");
    test.needs.push("check".into());
    out.push(test);
}

/// A `dev` script's server, offered as a commented service: the command
/// and the URL it most likely serves (its `--port`, else the default of
/// the tool it runs).
struct DevServer {
    run: String,
    url: String,
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

fn npm(root: &Path, out: &mut Vec<Starter>, dev: &mut Option<DevServer>) -> Result<()> {
    let path = root.join("package.json");
    if !path.is_file() {
        return Ok(());
    }
    let text = fs::read_to_string(&path)?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let scripts = doc["scripts"].as_object();
    let has = |s: &str| scripts.is_some_and(|m| m.contains_key(s));
    if let Some(script) = scripts.and_then(|m| m.get("dev")).and_then(|v| v.as_str()) {
        *dev = Some(DevServer {
            run: "npm run dev".into(),
            url: format!("http://127.0.0.1:{}/", dev_port(script)),
        });
    }
    let js = &[
        "*.js",
        "*.jsx",
        "*.ts",
        "*.tsx",
        "*.mjs",
        "*.cjs",
        "package.json",
    ];
    for (script, memory) in [
        ("type-check", "1GiB"),
        ("typecheck", "1GiB"),
        ("lint", "1GiB"),
        ("build", "2GiB"),
        ("test", "1.5GiB"),
    ] {
        if has(script) {
            out.push(starter(script, &format!("npm run {script}"), js, memory));
        }
    }
    Ok(())
}

fn python(root: &Path, out: &mut Vec<Starter>) -> Result<()> {
    let path = root.join("pyproject.toml");
    if !path.is_file() {
        return Ok(());
    }
    let text = fs::read_to_string(&path)?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let tool = doc.get("tool").and_then(|t| t.as_table());
    let has_tool = |t: &str| tool.is_some_and(|m| m.contains_key(t));
    let mentions = |t: &str| text.contains(t);
    let py = &["*.py", "*.pyi", "pyproject.toml"];
    if has_tool("ruff") || mentions("ruff") {
        out.push(starter(
            "ruff",
            "ruff check {files}",
            &["*.py", "*.pyi"],
            "256MiB",
        ));
    }
    if has_tool("mypy") || mentions("mypy") {
        out.push(starter("mypy", "mypy .", py, "1GiB"));
    }
    if has_tool("pytest") || mentions("pytest") {
        out.push(starter("pytest", "pytest -q", py, "1GiB"));
    }
    Ok(())
}

fn render(checks: &[Starter], dev: Option<&DevServer>) -> String {
    let mut s = String::from(
        "# precheck's checks: run by `precheck run`, and by git hooks once installed.\n\
         # Every key is described in precheck's README. Memory figures are estimates\n\
         # of each check's peak: edit them to what your checks really use.\n\n\
         [settings]\n\
         # jobs = 4              # most checks at once (default: number of CPUs)\n\
         # memory = \"75%\"        # cap for checks running at once\n\
         # default_memory = \"512MiB\"\n\
         # fail_fast = false\n",
    );
    for c in checks {
        let _ = write!(s, "\n[checks.{}]\nrun = {:?}\n", c.name, c.run);
        if !c.glob.is_empty() {
            let _ = writeln!(s, "glob = {:?}", c.glob);
        }
        if !c.needs.is_empty() {
            let _ = writeln!(s, "needs = {:?}", c.needs);
        }
        let _ = writeln!(s, "memory = {:?}", c.memory);
        if let Some(h) = c.hooks {
            let _ = writeln!(s, "hooks = [{h:?}]");
        }
    }
    if let Some(d) = dev {
        let _ = write!(
            s,
            "\n# The dev server, for checks that need it running (end-to-end tests):\n\
             # uncomment it and add `needs = [\"dev\"]` to those checks. A run starts\n\
             # it, waits until the URL answers and stops it after them; `precheck up`\n\
             # starts it to keep, and runs then use that one.\n\
             # [services.dev]\n\
             # run = {:?}\n\
             # ready = {:?}\n\
             # ready_timeout = \"60s\"\n\
             # memory = \"500MiB\"\n",
            d.run, d.url
        );
    }
    s
}

pub fn init(force: bool) -> Result<Exit> {
    let repo = crate::worktree::snapshot::open_repo()?;
    let root = repo.root();
    let target = root.join("checks.toml");
    if target.exists() && !force {
        anyhow::bail!(
            "{} already exists; precheck init does not overwrite it\nhint: edit it, or run `precheck init --force` to replace it",
            target.display()
        );
    }
    let mut checks = Vec::new();
    let mut dev = None;
    cargo(root, &mut checks);
    npm(root, &mut checks, &mut dev)?;
    python(root, &mut checks)?;
    // Names must be unique: the first kind found keeps a plain name.
    let mut seen = std::collections::HashSet::new();
    for c in &mut checks {
        if !seen.insert(c.name.clone()) {
            c.name = format!(
                "{}-{}",
                c.name,
                c.run.split_whitespace().next().unwrap_or("x")
            );
            seen.insert(c.name.clone());
        }
    }
    let text = render(&checks, dev.as_ref());
    // What we write must be what we can read.
    crate::config::parse(&target, &text)
        .map_err(|e| anyhow::anyhow!("internal error: the starter file does not parse: {e}"))?;
    crate::fsutil::write_atomic(&target, text.as_bytes(), true)?;
    if checks.is_empty() {
        crate::report::errln!(
            "wrote {} with no checks: found no Cargo.toml, package.json or pyproject.toml; add [checks.NAME] tables",
            target.display()
        );
    } else {
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        crate::report::errln!(
            "wrote {} with {} checks: {}",
            target.display(),
            checks.len(),
            names.join(", ")
        );
    }
    if let Some(d) = &dev {
        crate::report::errln!(
            "package.json has a dev script: a commented [services.dev] ({}) is at the end, for checks that need the server",
            d.url
        );
    }
    Ok(Exit::Passed)
}
