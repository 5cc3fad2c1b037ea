//! Fixers: checks with `fix = true`, which may modify files. This module
//! decides which checks must never run side by side (a fixer and any check
//! whose files overlap its own), and finds which files fixers changed, by
//! fingerprinting their files before and after the run.

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::{Check, Config};
use crate::plan::{Decision, Plan};
use crate::worktree::git::Repo;

/// The change's files (relative to the root), numbered: a check's files
/// are a set of these numbers, and two checks' sets are compared a word at
/// a time (thirteen checks over 20,000 files are 78 comparisons of 20,000
/// paths each otherwise).
pub struct Universe<'a> {
    number: HashMap<&'a [u8], usize>,
}

impl<'a> Universe<'a> {
    pub fn of(files: &'a [PathBuf]) -> Universe<'a> {
        Universe {
            number: files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.as_os_str().as_bytes(), i))
                .collect(),
        }
    }
}

/// A check's files relative to the root, or every file (a check that is not
/// a file check reads the whole tree, and so does one whose files could not
/// all be told apart from the others').
pub enum Files {
    All,
    Some(Vec<u64>),
}

impl Files {
    /// The files a check gets (`own`, relative to its dir), among the
    /// change's.
    pub fn of(check: &Check, own: &[PathBuf], universe: &Universe) -> Files {
        if !check.is_file_check() {
            return Files::All;
        }
        let mut bits = vec![0u64; universe.number.len().div_ceil(64)];
        let dir = check.dir.as_deref().map(Path::new);
        for f in own {
            let joined;
            let path = match dir {
                Some(d) => {
                    joined = d.join(f);
                    &joined
                }
                None => f,
            };
            match universe.number.get(path.as_os_str().as_bytes()) {
                Some(&i) => bits[i / 64] |= 1 << (i % 64),
                // Named otherwise than the change names it (`./dir`):
                // assumed to overlap everything, which only orders more.
                None => return Files::All,
            }
        }
        Files::Some(bits)
    }

    fn overlaps(&self, other: &Files) -> bool {
        match (self, other) {
            (Files::All, _) | (_, Files::All) => true,
            (Files::Some(a), Files::Some(b)) => a.iter().zip(b).any(|(x, y)| x & y != 0),
        }
    }
}

/// For each job, the jobs it must not run beside: pairs where one is a
/// fixer and their files overlap.
pub fn exclusions(fix: &[bool], files: &[Files]) -> Vec<Vec<usize>> {
    let n = fix.len();
    let mut out = vec![Vec::new(); n];
    for a in 0..n {
        for b in a + 1..n {
            if (fix[a] || fix[b]) && files[a].overlaps(&files[b]) {
                out[a].push(b);
                out[b].push(a);
            }
        }
    }
    out
}

/// For each job, the jobs that must end before it starts: a fixer runs
/// before every check whose files overlap its own (so they see its output),
/// and of two overlapping fixers the first in checks.toml runs first. An
/// edge that would close a cycle with `needs` (a fixer that needs a check
/// it overlaps) is left out: `needs` wins.
pub fn order(fix: &[bool], files: &[Files], needs: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = fix.len();
    let mut before: Vec<Vec<usize>> = needs.to_vec();
    let mut after = vec![Vec::new(); n];
    // Does `from` (transitively) wait for `to`?
    fn waits(before: &[Vec<usize>], from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = vec![false; before.len()];
        while let Some(j) = stack.pop() {
            if j == to {
                return true;
            }
            if !std::mem::replace(&mut seen[j], true) {
                stack.extend(&before[j]);
            }
        }
        false
    }
    for a in 0..n {
        for b in a + 1..n {
            if !(fix[a] || fix[b]) || !files[a].overlaps(&files[b]) {
                continue;
            }
            // (first, then): the fixer first; of two fixers, config order.
            let (first, then) = if fix[a] { (a, b) } else { (b, a) };
            if !waits(&before, first, then) {
                before[then].push(first);
                after[then].push(first);
            }
        }
    }
    after
}

/// Fingerprints of `paths` (relative to `root`), in their order, on every
/// core (a fixer over a whole tree has thousands); None for a file that
/// does not exist. What is read here is kept for the built-ins, and a
/// file unchanged since is not read again after the checks.
fn fingerprints(root: &Path, paths: &[&PathBuf]) -> Vec<Option<u64>> {
    crate::parallel::map(paths, |p| crate::reads::fingerprint(&root.join(p)))
}

/// Fingerprints of the files fixers will get, taken before they run.
pub struct Before {
    prints: HashMap<PathBuf, Option<u64>>,
}

/// Fingerprints every file of `fixers` (check name, root-relative files).
pub fn before(root: &Path, fixers: &[(String, Vec<PathBuf>)]) -> Before {
    let mut seen = HashSet::new();
    let paths: Vec<&PathBuf> = fixers
        .iter()
        .flat_map(|(_, files)| files)
        .filter(|f| seen.insert(*f))
        .collect();
    let prints = fingerprints(root, &paths);
    Before {
        prints: paths.into_iter().cloned().zip(prints).collect(),
    }
}

/// A file a fixer changed.
#[derive(Debug, Clone)]
pub struct Modified {
    pub path: PathBuf,
    pub check: String,
    pub staged: bool,
}

/// The files whose content changed since `before`, each with the fixer
/// that was given it (the first in file order).
pub fn changed(root: &Path, fixers: &[(String, Vec<PathBuf>)], before: &Before) -> Vec<Modified> {
    // Each file once, with the first fixer given it.
    let mut first = HashSet::new();
    let given: Vec<(&String, &PathBuf)> = fixers
        .iter()
        .flat_map(|(name, files)| files.iter().map(move |f| (name, f)))
        .filter(|(_, f)| first.insert(*f))
        .collect();
    let paths: Vec<&PathBuf> = given.iter().map(|(_, f)| *f).collect();
    let now = fingerprints(root, &paths);
    given
        .into_iter()
        .zip(now)
        .filter(|((_, f), print)| before.prints.get(*f) != Some(print))
        .map(|((name, f), _)| Modified {
            path: f.clone(),
            check: name.clone(),
            staged: false,
        })
        .collect()
}

/// Fixers that run, with the root-relative files they get (every file of
/// the change for a fixer that is not a file check).
pub fn running(config: &Config, plan: &Plan, files: &[PathBuf]) -> Vec<(String, Vec<PathBuf>)> {
    config
        .checks
        .iter()
        .zip(&plan.decisions)
        .filter(|(c, _)| c.fix)
        .filter_map(|(c, d)| match d {
            Decision::Run { files: own } => Some((
                c.name.clone(),
                match (c.is_file_check(), c.dir.as_deref()) {
                    (false, _) => files.to_vec(),
                    (true, None) => own.clone(),
                    (true, Some(d)) => own.iter().map(|f| Path::new(d).join(f)).collect(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// Stages what `stage_fixed` checks fixed, except where the fix conflicts
/// with unstaged changes that were set aside.
pub fn stage(
    repo: &Repo,
    config: &Config,
    modified: &mut [Modified],
    conflicting: &[PathBuf],
) -> Result<()> {
    let stage_fixed: HashSet<&str> = config
        .checks
        .iter()
        .filter(|c| c.stage_fixed)
        .map(|c| c.name.as_str())
        .collect();
    let mut paths = Vec::new();
    for m in modified.iter_mut() {
        if stage_fixed.contains(m.check.as_str())
            && !conflicting.contains(&m.path)
            && repo.root().join(&m.path).exists()
        {
            m.staged = true;
            paths.push(m.path.clone());
        }
    }
    repo.add(&paths)
}
