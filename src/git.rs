//! Git: the only user of git2 (and, later, of the git binary). It finds the
//! repository, its root and its git dir, and lists the files of a change.
//!
//! Paths are returned as raw bytes turned into `PathBuf`s, so names that are
//! not UTF-8 are kept exactly. The repository is opened from the environment
//! (`GIT_DIR`, `GIT_INDEX_FILE`, …) so that a hook sees the index git is
//! committing from.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Delta, DiffOptions, Repository};

pub struct Repo {
    repo: Repository,
    root: PathBuf,
}

impl Repo {
    /// The repository the current directory is in, as git would find it.
    pub fn open() -> Result<Repo> {
        let repo = Repository::open_from_env().context(
            "not inside a git repository\nhint: run precheck from a git work tree, or `git init` one",
        )?;
        let root = repo
            .workdir()
            .context("this repository has no work tree (it is bare); precheck checks files in a work tree")?
            .to_path_buf();
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        Ok(Repo { repo, root })
    }

    /// The top level of the work tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The git dir of this work tree (`.git`, or a linked worktree's own).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// Files the index adds, copies, modifies or renames against HEAD (not deletions),
    /// relative to the root. Before the first commit: every file in the index.
    pub fn staged_files(&self) -> Result<Vec<PathBuf>> {
        let index = self.repo.index().context("cannot read the git index")?;
        let head_tree = match self.repo.head() {
            Ok(head) => Some(head.peel_to_tree().context("cannot read HEAD's tree")?),
            Err(_) => None,
        };
        let mut opts = DiffOptions::new();
        opts.include_typechange(true).ignore_submodules(false);
        let diff = self
            .repo
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
            .context("cannot compare the index with HEAD")?;
        let mut files = Vec::new();
        for delta in diff.deltas() {
            match delta.status() {
                Delta::Added
                | Delta::Modified
                | Delta::Renamed
                | Delta::Copied
                | Delta::Typechange => {
                    if let Some(p) = delta.new_file().path_bytes() {
                        files.push(bytes_path(p));
                    }
                }
                _ => {}
            }
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Every file in the index, once (conflicted paths too), relative to the root.
    pub fn tracked_files(&self) -> Result<Vec<PathBuf>> {
        let index = self.repo.index().context("cannot read the git index")?;
        let mut files: Vec<PathBuf> = index.iter().map(|e| bytes_path(&e.path)).collect();
        files.dedup();
        Ok(files)
    }
}

fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}
