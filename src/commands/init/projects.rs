//! Where a repository's projects are: the folders holding a `package.json`,
//! `Cargo.toml` or `pyproject.toml`, found among the tracked and the
//! untracked-not-ignored files (git's own view, so ignored build output is
//! never searched), bounded in depth and never inside dependency or build
//! folders; and which of them are members of a workspace above them.

use std::collections::BTreeMap;

use anyhow::Result;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::worktree::git::Repo;

pub const MANIFESTS: [&str; 3] = ["Cargo.toml", "package.json", "pyproject.toml"];

/// Folders that hold others' code or build output, not a project of the
/// repository's own.
const SKIPPED: [&str; 6] = ["node_modules", "target", ".venv", "venv", "vendor", ".git"];

/// How many folders below the root a project may be.
pub const MAX_DEPTH: usize = 4;

/// Each folder (relative to the root, `""` for the root) with the manifests
/// it holds, shallow folders first.
pub type Manifests = BTreeMap<String, Vec<&'static str>>;

pub fn find(repo: &Repo) -> Result<Manifests> {
    let mut files = repo.tracked_files()?;
    files.extend(repo.untracked()?);
    let mut found = Manifests::new();
    for file in files {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(manifest) = MANIFESTS.iter().find(|m| **m == name) else {
            continue;
        };
        let Some(dir) = file.parent().and_then(|d| d.to_str()) else {
            continue;
        };
        let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() > MAX_DEPTH || parts.iter().any(|p| SKIPPED.contains(p)) {
            continue;
        }
        // A tracked manifest deleted from the work tree is no project.
        if !repo.root().join(&file).is_file() {
            continue;
        }
        let list = found.entry(parts.join("/")).or_default();
        if !list.contains(manifest) {
            list.push(manifest);
        }
    }
    for list in found.values_mut() {
        list.sort_by_key(|m| MANIFESTS.iter().position(|x| x == m));
    }
    Ok(found)
}

/// Workspace member patterns (`packages/*`, `crates/**`, `!skip`), relative
/// to the workspace's folder, as a matcher of folders.
pub struct Members {
    include: GlobSet,
    exclude: GlobSet,
}

impl Members {
    pub fn new(include: &[String], exclude: &[String]) -> Members {
        let set = |patterns: &mut dyn Iterator<Item = &String>| {
            let mut b = GlobSetBuilder::new();
            for p in patterns {
                let p = p.trim_start_matches("./").trim_end_matches('/');
                // A bad pattern matches nothing: its folder stays a project.
                if let Ok(g) = GlobBuilder::new(p).literal_separator(true).build() {
                    b.add(g);
                }
            }
            b.build().unwrap_or_else(|_| GlobSet::empty())
        };
        let negated: Vec<String> = include
            .iter()
            .filter_map(|p| p.strip_prefix('!').map(String::from))
            .collect();
        Members {
            include: set(&mut include.iter().filter(|p| !p.starts_with('!'))),
            exclude: set(&mut exclude.iter().chain(negated.iter())),
        }
    }

    /// The folders of `manifests` below `dir` holding `manifest` that these
    /// patterns name, relative to the root.
    pub fn of(&self, manifests: &Manifests, dir: &str, manifest: &str) -> Vec<String> {
        manifests
            .iter()
            .filter(|(_, m)| m.contains(&manifest))
            .filter_map(|(d, _)| {
                let rel = if dir.is_empty() {
                    Some(d.as_str())
                } else {
                    d.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
                }?;
                (!rel.is_empty() && self.include.is_match(rel) && !self.exclude.is_match(rel))
                    .then(|| d.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_matched_relative_to_the_workspace() {
        let mut m = Manifests::new();
        for d in [
            "",
            "crates/a",
            "crates/b",
            "crates/b/sub",
            "web",
            "x/crates/c",
        ] {
            m.insert(d.to_string(), vec!["Cargo.toml"]);
        }
        let members = Members::new(&["crates/*".into()], &["crates/b".into()]);
        assert_eq!(members.of(&m, "", "Cargo.toml"), vec!["crates/a"]);
        assert_eq!(members.of(&m, "x", "Cargo.toml"), vec!["x/crates/c"]);
        let negated = Members::new(&["./crates/**".into(), "!crates/b".into()], &[]);
        assert_eq!(
            negated.of(&m, "", "Cargo.toml"),
            vec!["crates/a", "crates/b/sub"]
        );
        assert!(members.of(&m, "", "package.json").is_empty());
    }
}
