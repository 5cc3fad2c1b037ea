//! `precheck init`: a starter `checks.toml` from what the repository holds.
//! It finds the projects (the root and folders below it with a Cargo.toml,
//! package.json or pyproject.toml that no workspace above covers), asks each
//! ecosystem's detector what to check and why, says every finding and the
//! reason for every check (on the terminal, and as a comment above the check
//! in the file), points at other hook managers' configs, and git-ignores
//! `checks.local.toml`. It reads manifests and writes checks.toml (never
//! over an existing one without `--force`) and `.gitignore`; it runs
//! nothing.

mod js;
mod others;
mod projects;
mod python;
mod rust;
mod starter;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::Exit;
use crate::worktree::git::Repo;
use projects::Manifests;
use starter::{DevServer, Starter};

/// The folder of one project, as a detector sees it.
pub struct Project<'a> {
    /// The repository root.
    root: &'a Path,
    /// Relative to the root; empty for the root.
    dir: &'a str,
    /// Every manifest of the repository, for finding workspace members.
    manifests: &'a Manifests,
}

impl Project<'_> {
    fn path(&self, file: &str) -> PathBuf {
        self.root.join(self.dir).join(file)
    }

    /// A file of this project as the user sees it, relative to the root.
    fn shown(&self, file: &str) -> String {
        starter::shown(self.dir, file)
    }

    /// ` in web` for a project in `web`; nothing for the root.
    fn at(&self) -> String {
        if self.dir.is_empty() {
            String::new()
        } else {
            format!(" in {}", self.dir)
        }
    }

    /// The manifest's text, or `None` (said) when it cannot be read.
    fn read(&self, file: &str, out: &mut Findings) -> Result<Option<String>> {
        match fs::read_to_string(self.path(file)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if self.dir.is_empty() => {
                Err(e).with_context(|| format!("cannot read {}", self.shown(file)))
            }
            Err(e) => {
                out.skip(self, file, &e.to_string());
                Ok(None)
            }
        }
    }

    /// The manifest read and parsed (`format` names it in the error; `why`
    /// words a parse error for the note), or `None` (said) when it cannot be
    /// read or parsed below the root; at the root either is an error.
    fn parse<T, E>(
        &self,
        file: &str,
        out: &mut Findings,
        format: &str,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
        why: impl Fn(&E) -> String,
    ) -> Result<Option<T>>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let Some(text) = self.read(file, out)? else {
            return Ok(None);
        };
        match parse(&text) {
            Ok(doc) => Ok(Some(doc)),
            Err(e) if self.dir.is_empty() => {
                Err(e).with_context(|| format!("{} is not valid {format}", self.shown(file)))
            }
            Err(e) => {
                out.skip(self, file, &why(&e));
                Ok(None)
            }
        }
    }
}

/// What the detectors found.
#[derive(Default)]
pub struct Findings {
    /// One line per finding, in order.
    notes: Vec<String>,
    checks: Vec<Starter>,
    dev: Option<DevServer>,
    /// Folders (and the manifest in them) a workspace covers: no projects
    /// of their own.
    members: Vec<(String, &'static str)>,
}

impl Findings {
    fn note(&mut self, line: String) {
        self.notes.push(line);
    }

    /// A manifest below the root that cannot be read is skipped, not fatal:
    /// it may be a test fixture.
    fn skip(&mut self, p: &Project, file: &str, why: &str) {
        let why = why.lines().next().unwrap_or("").trim();
        self.note(format!("skipped {}: {why}", p.shown(file)));
    }
}

/// Adds `checks.local.toml` (each developer's own overrides) to the root's
/// .gitignore unless git already ignores it; the line saying so, if it did.
fn ignore_local(repo: &Repo) -> Result<Option<String>> {
    let local = Path::new("checks.local.toml");
    if repo.is_ignored(local)? {
        return Ok(None);
    }
    let path = repo.root().join(".gitignore");
    let (mut text, verb) = match fs::read_to_string(&path) {
        Ok(t) => (t, "added checks.local.toml to .gitignore"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (String::new(), "created .gitignore with checks.local.toml")
        }
        Err(e) => return Err(e).context("cannot read .gitignore"),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("checks.local.toml\n");
    crate::fsutil::write_atomic(&path, text.as_bytes(), true)?;
    Ok(Some(format!(
        "{verb}: each developer's overrides stay out of commits"
    )))
}

/// A folder's prefix can still meet another project's name (a crate in
/// `type` has `type-check`, as does a root `type-check` script): the later
/// one is numbered, and its own project's needs follow it.
fn unique_names(checks: &mut [Starter]) {
    let mut seen = HashSet::new();
    for i in 0..checks.len() {
        let old = checks[i].name.clone();
        if seen.insert(old.clone()) {
            continue;
        }
        let new = (2..)
            .map(|n| format!("{old}-{n}"))
            .find(|n| !checks.iter().any(|c| &c.name == n))
            .unwrap_or_default();
        let dir = checks[i].dir.clone();
        for c in checks[i..].iter_mut().filter(|c| c.dir == dir) {
            for need in c.needs.iter_mut().filter(|n| **n == old) {
                need.clone_from(&new);
            }
        }
        checks[i].name.clone_from(&new);
        seen.insert(new);
    }
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
    let manifests = projects::find(&repo)?;
    let mut covered: HashSet<(String, &str)> = HashSet::new();
    // Per project: its folder and what was found there.
    let mut found: Vec<(String, Findings)> = Vec::new();
    let mut dev = None;
    for (dir, files) in &manifests {
        let p = Project {
            root,
            dir,
            manifests: &manifests,
        };
        let mut f = Findings::default();
        let mut any = false;
        for file in files {
            if covered.contains(&(dir.clone(), *file)) {
                continue;
            }
            if !dir.is_empty() && !any {
                f.note(format!(
                    "found {}: a project of its own: its checks run in {dir}, named {}…",
                    p.shown(file),
                    starter::name_prefix(dir)
                ));
            }
            any = true;
            match *file {
                "Cargo.toml" => rust::detect(&p, &mut f)?,
                "package.json" => js::detect(&p, &mut f)?,
                _ => python::detect(&p, &mut f)?,
            }
        }
        covered.extend(f.members.drain(..));
        // One dev service: the first project's (the root's, if it has one).
        if dev.is_none() {
            dev = f.dev.take();
        }
        if any {
            found.push((dir.clone(), f));
        }
    }
    // Each project's checks leave the files of the projects inside it to them.
    let dirs: Vec<String> = found.iter().map(|(d, _)| d.clone()).collect();
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    for (dir, f) in found {
        let nested: Vec<String> = dirs
            .iter()
            .filter(|d| !d.is_empty() && (dir.is_empty() || d.starts_with(&format!("{dir}/"))))
            .cloned()
            .collect();
        notes.extend(f.notes);
        let first = checks.len();
        checks.extend(f.checks);
        // Names must be unique within a project: the first kind found keeps
        // a plain name, the next is suffixed with what runs it.
        let mut seen = HashSet::new();
        for c in &mut checks[first..] {
            if !seen.insert(c.name.clone()) {
                c.name = format!("{}-{}", c.name, c.tool);
                seen.insert(c.name.clone());
            }
            c.relocate(&dir, &nested);
        }
    }
    unique_names(&mut checks);
    let text = starter::render(&checks, dev.as_ref());
    // What we write must be what we can read.
    crate::config::parse(&target, &text)
        .map_err(|e| anyhow::anyhow!("internal error: the starter file does not parse: {e}"))?;
    for line in &notes {
        crate::report::errln!("{line}");
    }
    if manifests.is_empty() {
        crate::report::errln!("found no Cargo.toml, package.json or pyproject.toml");
    }
    for c in &checks {
        crate::report::errln!("{}: {}", c.name, c.reason);
    }
    if let Some(d) = &dev {
        crate::report::errln!(
            "{} has a dev script: a commented [services.dev] ({}) is at the end, for checks that need the server",
            d.manifest,
            d.url
        );
    }
    for line in others::hook_managers(root) {
        crate::report::errln!("{line}");
    }
    crate::fsutil::write_atomic(&target, text.as_bytes(), true)?;
    if let Some(line) = ignore_local(&repo)? {
        crate::report::errln!("{line}");
    }
    if checks.is_empty() {
        crate::report::errln!(
            "wrote {} with no checks: add [checks.NAME] tables",
            target.display()
        );
    } else {
        crate::report::errln!("wrote {} with {} checks", target.display(), checks.len());
    }
    Ok(Exit::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_met_again_is_numbered_and_its_needs_follow() {
        let check = |name: &str, dir: Option<&str>, needs: &[&str]| {
            let mut c = starter::starter(name, "true", &[], "1GiB", "x", String::new());
            c.dir = dir.map(String::from);
            c.needs = needs.iter().map(|n| n.to_string()).collect();
            c
        };
        let mut checks = vec![
            check("type-check", None, &[]),
            check("type-check", Some("type"), &[]),
            check("type-clippy", Some("type"), &["type-check"]),
        ];
        unique_names(&mut checks);
        let names: Vec<(&str, &[String])> = checks
            .iter()
            .map(|c| (c.name.as_str(), c.needs.as_slice()))
            .collect();
        assert_eq!(
            names,
            [
                ("type-check", &[][..]),
                ("type-check-2", &[][..]),
                ("type-clippy", &["type-check-2".to_string()][..]),
            ]
        );
    }
}
