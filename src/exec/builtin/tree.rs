//! The built-ins that look at the repository around the files: which are
//! added (check-added-large-files), every tracked name
//! (check-case-conflict), modes (check-executables-have-shebangs), links
//! (check-symlinks) and the branch (no-commit-to-branch). What git knows
//! comes from `worktree::git`, for the index this commit uses.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Target, Verdict};
use crate::builtins::Builtin;
use crate::worktree::git::Repo;

/// The repository, as git finds it for this process (the index a hook's
/// commit uses, through GIT_INDEX_FILE).
pub fn repo() -> Result<Repo, String> {
    Repo::open().map_err(|e| format!("{e:#}"))
}

/// A target's path from the root (git's paths), given the check's dir.
fn from_root(root: &Path, dir: &Path, t: &Target) -> PathBuf {
    dir.strip_prefix(root)
        .unwrap_or(Path::new(""))
        .join(t.shown)
}

fn err(e: anyhow::Error) -> String {
    format!("{e:#}")
}

/// Of `files` (relative to `dir`), those check-added-large-files looks at:
/// the ones this commit adds, or all with `--enforce-all`. Asked before
/// anything is read of them: a tree of thousands adds a few.
pub fn added_only(
    b: &Builtin,
    root: &Path,
    dir: &Path,
    files: &[PathBuf],
) -> Result<Vec<PathBuf>, String> {
    if b.enforce_all {
        return Ok(files.to_vec());
    }
    let added: HashSet<PathBuf> = added(&repo()?)?.into_iter().collect();
    let under = dir.strip_prefix(root).unwrap_or(Path::new(""));
    Ok(files
        .iter()
        .filter(|f| added.contains(&under.join(f)))
        .cloned()
        .collect())
}

pub fn large_files(
    b: &Builtin,
    root: &Path,
    dir: &Path,
    targets: &[Target],
) -> Result<Vec<Verdict>, String> {
    // Over the size first: git-lfs attributes are asked of those only.
    let mut over: Vec<(&Target, PathBuf, u64)> = Vec::new();
    for t in targets {
        // Through a link, as pre-commit-hooks' os.stat.
        let Ok(meta) = std::fs::metadata(&t.path) else {
            continue;
        };
        let kb = meta.len().div_ceil(1024);
        if kb > b.max_kb {
            over.push((t, from_root(root, dir, t), kb));
        }
    }
    if over.is_empty() {
        return Ok(Vec::new());
    }
    let paths: Vec<PathBuf> = over.iter().map(|(_, p, _)| p.clone()).collect();
    let lfs: HashSet<PathBuf> = repo()?.lfs_files(&paths).into_iter().collect();
    Ok(over
        .into_iter()
        .filter(|(_, path, _)| !lfs.contains(path))
        .map(|(t, _, kb)| {
            Verdict::fail(format!(
                "{} ({kb} KB) exceeds {} KB.",
                t.shown.display(),
                b.max_kb
            ))
        })
        .collect())
}

/// The files this commit adds (index against HEAD); `worktree::git` asks
/// git2 once per index for every asker (the hook's staged files, this
/// check and check-case-conflict).
fn added(repo: &Repo) -> Result<Vec<PathBuf>, String> {
    repo.added_files().map_err(err)
}

/// Each path and every folder above it (`a/b/c` gives `a/b/c`, `a/b` and
/// `a`), as slices of the paths.
fn with_parents<'a>(paths: impl IntoIterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut all = HashSet::new();
    for p in paths {
        let mut cut = p;
        while let Some(i) = cut.rfind('/') {
            cut = &cut[..i];
            if !all.insert(cut) {
                break;
            }
        }
        all.insert(p);
    }
    all
}

/// Python's `str.lower()`, without a copy for what is lower already.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// pre-commit-hooks' check: a name given (or added), or a folder above
/// one, that equals another in the tree or among them but for case. The
/// tree's names are only looked up among the given ones' lowercase forms
/// (a commit of a few files in a tree of thousands builds no set of them).
pub fn case_conflict(root: &Path, dir: &Path, targets: &[Target]) -> Result<Vec<Verdict>, String> {
    let repo = repo()?;
    let text = |p: &Path| p.to_string_lossy().into_owned();
    let given: Vec<String> = targets
        .iter()
        .map(|t| text(&from_root(root, dir, t)))
        .chain(added(&repo)?.iter().map(|p| text(p)))
        .collect();
    let relevant = with_parents(given.iter().map(String::as_str));
    // Each lowercase form among the given names, and how often.
    let mut lowered: HashMap<Cow<str>, usize> = HashMap::new();
    for p in &relevant {
        *lowered.entry(lower(p)).or_default() += 1;
    }
    let mut conflicts: HashSet<Cow<str>> = lowered
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(l, _)| l.clone())
        .collect();
    // The tree's other names (and folders) that one of them lowers to.
    let tracked: Vec<String> = repo
        .tracked_files()
        .map_err(err)?
        .iter()
        .map(|p| text(p))
        .collect();
    let mut clashing: BTreeSet<&str> = BTreeSet::new();
    let mut folders_seen: HashSet<&str> = HashSet::new();
    for path in &tracked {
        let mut name = path.as_str();
        loop {
            if !relevant.contains(name) {
                let l = lower(name);
                if lowered.contains_key(&l) {
                    conflicts.insert(Cow::Owned(l.into_owned()));
                    clashing.insert(name);
                }
            }
            match name.rfind('/') {
                Some(i) if folders_seen.insert(&name[..i]) => name = &name[..i],
                _ => break,
            }
        }
    }
    if conflicts.is_empty() {
        return Ok(Vec::new());
    }
    let named: BTreeSet<&str> = relevant
        .iter()
        .copied()
        .filter(|p| conflicts.contains(&lower(p)))
        .chain(clashing)
        .collect();
    Ok(named
        .into_iter()
        .map(|p| Verdict::fail(format!("Case-insensitivity conflict found: {p}")))
        .collect())
}

/// Python's `shlex.quote`.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r#"'"'"'"#))
    }
}

pub fn shebangs(root: &Path, dir: &Path, targets: &[Target]) -> Result<Vec<Verdict>, String> {
    // Where the file system's modes do not count, the index's do.
    let index_modes: Option<Vec<Option<u32>>> = {
        let repo = repo()?;
        if repo.file_mode_trusted() {
            None
        } else {
            let paths: Vec<PathBuf> = targets.iter().map(|t| from_root(root, dir, t)).collect();
            let entries = repo.index_entries(&paths).map_err(err)?;
            Some(
                entries
                    .into_iter()
                    .map(|e| e.map(|(_, mode)| mode))
                    .collect(),
            )
        }
    };
    let mut out = Vec::new();
    for (k, t) in targets.iter().enumerate() {
        if let Some(modes) = &index_modes {
            if modes[k].is_none_or(|m| m & 0o111 == 0) {
                continue;
            }
        }
        let mut head = [0u8; 2];
        let starts = std::fs::File::open(&t.path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && head == *b"#!";
        if !starts {
            let shown = t.shown.to_string_lossy();
            let q = shell_quote(&shown);
            out.push(Verdict::fail(format!(
                "{shown}: marked executable but has no (or invalid) shebang!\n  If it isn't supposed to be executable, try: `chmod -x {q}`\n  If on Windows, you may also need to: `git add --chmod=-x {q}`\n  If it is supposed to be executable, double-check its shebang."
            )));
        }
    }
    Ok(out)
}

pub fn symlink(t: &Target) -> Verdict {
    if std::fs::metadata(&t.path).is_err() {
        Verdict::fail(format!("{}: Broken symlink", t.shown.display()))
    } else {
        Verdict::default()
    }
}

pub fn branch(b: &Builtin) -> Result<Vec<Verdict>, String> {
    let Some(name) = repo()?.head_branch() else {
        // A detached HEAD is on no branch.
        return Ok(Vec::new());
    };
    let protected: Vec<&str> = if b.branches.is_empty() {
        vec!["master", "main"]
    } else {
        b.branches.iter().map(String::as_str).collect()
    };
    let by_pattern = b.patterns.iter().any(|p| {
        // Python's re.match: anchored at the start only.
        regex::Regex::new(&format!("^(?:{p})")).is_ok_and(|re| re.is_match(&name))
    });
    if protected.contains(&name.as_str()) || by_pattern {
        return Ok(vec![Verdict::fail(format!(
            "no-commit-to-branch: committing to branch `{name}` is not allowed\nhint: commit on another branch (git switch -c NAME), or list the protected ones with --branch"
        ))]);
    }
    Ok(Vec::new())
}
