//! Git: the only user of git2 and of the git binary. It finds the
//! repository, its root, git dir and hooks folder, lists the files of a
//! change (staged, tracked, pushed, between two refs), tells which tracked
//! files differ from the index, and writes the index version of files into
//! the work tree or stages files (through the git binary, so that filters,
//! attributes and `GIT_INDEX_FILE` behave exactly as in git).
//!
//! Paths are raw bytes turned into `PathBuf`s, so names that are not UTF-8
//! are kept exactly. The repository is opened from the environment
//! (`GIT_DIR`, `GIT_INDEX_FILE`, …) so that a hook sees the index git is
//! committing from.
//!
//! Why one file over 500 lines: being the only toucher of git is the
//! boundary it holds; each function is one question put to git.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use git2::{Delta, DiffOptions, IndexEntry, IndexEntryExtendedFlag, Repository};

/// An object id, as the rest of precheck names commits and blobs.
pub use git2::Oid;

/// The id git gives `bytes` as a blob (no repository needed).
pub fn blob_id(bytes: &[u8]) -> Option<Oid> {
    Oid::hash_object(git2::ObjectType::Blob, bytes).ok()
}

pub struct Repo {
    repo: Repository,
    root: PathBuf,
}

/// One ref a push sends.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The local ref (`refs/heads/feature`).
    pub name: String,
    /// The commit it sends.
    pub tip: Oid,
    /// The files it changes for the remote.
    pub files: Vec<PathBuf>,
    /// The line git gave for it, for the cache key.
    pub line: String,
}

/// One file a check's result may depend on: its path, mode and content id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    pub mode: u32,
    pub id: Oid,
    /// Outside a sparse checkout's cone: absent from the work tree on
    /// purpose (not part of the key).
    pub sparse: bool,
}

/// Above this many index entries, unstaged changes are found by the git
/// binary rather than in process.
const IN_PROCESS_DIFF_MAX: usize = 10_000;

/// `git diff` listing the paths that differ, NUL-separated, and nothing
/// else: no renames, no submodules, no external diff or textconv programs.
const DIFF_NAMES: [&str; 7] = [
    "diff",
    "--name-only",
    "-z",
    "--no-renames",
    "--ignore-submodules=all",
    "--no-ext-diff",
    "--no-textconv",
];

/// A listing of unstaged changes under way ([`Repo::start_unstaged`]).
pub struct Unstaged {
    git: Option<std::process::Child>,
}

impl Drop for Unstaged {
    /// A listing not wanted after all is stopped: it takes no lock (see
    /// [`Repo::start_unstaged`]), so nothing of git's is left behind.
    fn drop(&mut self) {
        if let Some(mut child) = self.git.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Which index, as it was on disk, against which HEAD.
#[derive(PartialEq, Eq)]
struct IndexKey {
    index: PathBuf,
    stat: (u64, u64, u64, i64, i64, i64, i64),
    head: Option<git2::Oid>,
}

/// What was learned of the index under `key`, if that is the index now.
fn recall<T>(memo: &Mutex<Option<(IndexKey, Arc<T>)>>, key: Option<&IndexKey>) -> Option<Arc<T>> {
    let memo = memo.lock().ok()?;
    let (k, known) = memo.as_ref()?;
    (Some(k) == key).then(|| known.clone())
}

/// Keeps what was learned of the index under `key` (the stat taken before
/// it was read).
fn remember<T>(memo: &Mutex<Option<(IndexKey, Arc<T>)>>, key: Option<IndexKey>, known: &Arc<T>) {
    if let (Some(key), Ok(mut memo)) = (key, memo.lock()) {
        *memo = Some((key, known.clone()));
    }
}

/// The mode of a gitlink (submodule) entry.
const GITLINK: u32 = 0o160000;

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

    /// The git dir all work trees of the repository share (`.git`): where
    /// what they must share lives, like the memory ledger.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    fn index(&self) -> Result<git2::Index> {
        let mut index = self.repo.index().context("cannot read the git index")?;
        // Reloads only when the file changed on disk (checkout-index, git add).
        index.read(false).context("cannot read the git index")?;
        Ok(index)
    }

    /// Files the index adds, copies, modifies or renames against HEAD (not
    /// deletions, not intent-to-add entries), relative to the root. Before
    /// the first commit: every file in the index.
    pub fn staged_files(&self) -> Result<Vec<PathBuf>> {
        self.index_against_head(|status| {
            matches!(
                status,
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
            )
        })
    }

    /// Files the index adds against HEAD (`git diff --staged
    /// --diff-filter=A`, without rename detection: a file moved is added).
    pub fn added_files(&self) -> Result<Vec<PathBuf>> {
        self.index_against_head(|status| status == Delta::Added)
    }

    fn index_against_head(&self, wanted: impl Fn(Delta) -> bool) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = self
            .index_changes()?
            .iter()
            .filter(|(_, status)| wanted(*status))
            .map(|(p, _)| p.clone())
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Every file entry the index changes against HEAD, with how (not
    /// intent-to-add entries). Compared once per index file and HEAD: the
    /// staged files of a hook and the built-ins' added files are the same
    /// comparison (20,000 entries take tens of milliseconds). The index
    /// file's stat is taken before it is read, so a result is never kept
    /// under the stat of an index newer than the one compared (git writes
    /// a new index by renaming a new file over it: another inode).
    fn index_changes(&self) -> Result<Arc<Vec<(PathBuf, Delta)>>> {
        type Memo = Option<(IndexKey, Arc<Vec<(PathBuf, Delta)>>)>;
        static MEMO: Mutex<Memo> = Mutex::new(None);
        let key = self.index_key()?;
        if let Some(changes) = recall(&MEMO, key.as_ref()) {
            return Ok(changes);
        }
        let head = key.as_ref().map_or_else(
            || self.repo.head().ok().and_then(|h| h.target()),
            |k| k.head,
        );
        let index = self.index()?;
        let head_tree = match head {
            Some(id) => Some(
                self.repo
                    .find_commit(id)
                    .and_then(|c| c.tree())
                    .context("cannot read HEAD's tree")?,
            ),
            None => None,
        };
        let mut opts = DiffOptions::new();
        opts.include_typechange(true).ignore_submodules(false);
        let diff = self
            .repo
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
            .context("cannot compare the index with HEAD")?;
        let mut changes = Vec::new();
        for delta in diff.deltas() {
            if is_file_mode(delta.new_file().mode()) {
                if let Some(p) = delta.new_file().path_bytes() {
                    if !index_entry(&index, p).is_some_and(|e| is_intent_to_add(&e)) {
                        changes.push((bytes_path(p), delta.status()));
                    }
                }
            }
        }
        let changes = Arc::new(changes);
        remember(&MEMO, key, &changes);
        Ok(changes)
    }

    /// Which index file (as git2 finds it) as it is on disk now, against
    /// which HEAD. The file's name is learned once per git dir: finding
    /// it reads the whole index, which a remembered answer spares.
    fn index_key(&self) -> Result<Option<IndexKey>> {
        static PATHS: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());
        let known = PATHS.lock().ok().and_then(|p| {
            p.iter()
                .find(|(dir, _)| dir == self.git_dir())
                .map(|(_, index)| index.clone())
        });
        let path = match known {
            Some(p) => p,
            // The file git2 reads (GIT_INDEX_FILE is relative to the
            // current directory for libgit2, to the top of the work tree
            // for git).
            None => {
                let Some(p) = self
                    .repo
                    .index()
                    .context("cannot read the git index")?
                    .path()
                    .map(Path::to_path_buf)
                else {
                    return Ok(None);
                };
                if let Ok(mut paths) = PATHS.lock() {
                    paths.push((self.git_dir().to_path_buf(), p.clone()));
                }
                p
            }
        };
        let head = self.repo.head().ok().and_then(|h| h.target());
        let Ok(m) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        Ok(Some(IndexKey {
            index: path,
            stat: (
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            ),
            head,
        }))
    }

    /// The branch HEAD names (`feature/x` for `refs/heads/feature/x`), as
    /// `git symbolic-ref HEAD` tells it: None when HEAD is detached (during
    /// a rebase too, unlike [`Repo::branch`]).
    pub fn head_branch(&self) -> Option<String> {
        let head = self.repo.find_reference("HEAD").ok()?;
        let target = head.symbolic_target()?;
        Some(target.splitn(3, '/').nth(2).unwrap_or("").to_string())
    }

    /// A merge is being concluded (as pre-commit-hooks tells it: MERGE_MSG,
    /// and MERGE_HEAD or a rebase under way).
    pub fn concluding_merge(&self) -> bool {
        let g = self.git_dir();
        g.join("MERGE_MSG").exists()
            && ["MERGE_HEAD", "rebase-apply", "rebase-merge"]
                .iter()
                .any(|f| g.join(f).exists())
    }

    /// `core.fileMode`: whether the file system's executable bits count.
    pub fn file_mode_trusted(&self) -> bool {
        self.repo
            .config()
            .and_then(|c| c.get_bool("core.filemode"))
            .unwrap_or(true)
    }

    /// Of `paths` (relative to the root), those git-lfs stores (`filter=lfs`).
    pub fn lfs_files(&self, paths: &[PathBuf]) -> Vec<PathBuf> {
        paths
            .iter()
            .filter(|p| {
                self.repo
                    .get_attr(p, "filter", git2::AttrCheckFlags::default())
                    .ok()
                    .flatten()
                    == Some("lfs")
            })
            .cloned()
            .collect()
    }

    /// How many entries the index holds (a tree's size, without listing it).
    pub fn index_len(&self) -> Result<usize> {
        Ok(self.index()?.len())
    }

    /// Every file in the index, once (conflicted paths too), relative to the root.
    pub fn tracked_files(&self) -> Result<Vec<PathBuf>> {
        // Asked by the run (`--all`) and by check-case-conflict: once per
        // index file, as [`Repo::index_changes`].
        static MEMO: Mutex<Option<(IndexKey, Arc<Vec<PathBuf>>)>> = Mutex::new(None);
        let key = self.index_key()?;
        if let Some(files) = recall(&MEMO, key.as_ref()) {
            return Ok(files.to_vec());
        }
        let index = self.index()?;
        let mut files: Vec<PathBuf> = index
            .iter()
            .filter(|e| !is_intent_to_add(e) && !is_skip_worktree(e) && e.mode != GITLINK)
            .map(|e| bytes_path(&e.path))
            .collect();
        files.dedup();
        remember(&MEMO, key, &Arc::new(files.clone()));
        Ok(files)
    }

    /// The files checks may read, with content ids, sorted by path: the
    /// index's entries, the untracked (not ignored) files hashed as they are,
    /// and unless `staged` (unstaged changes set aside) the work tree's
    /// dirty files as they are.
    pub fn inputs(&self, staged: bool) -> Result<Vec<Input>> {
        let index = self.index()?;
        let mut inputs: Vec<Input> = index
            .iter()
            .filter(|e| !is_intent_to_add(e))
            .map(|e| Input {
                path: bytes_path(&e.path),
                mode: e.mode,
                id: e.id,
                sparse: is_skip_worktree(&e),
            })
            .collect();
        // Byte order, as git's index already is (comparing Paths is slow).
        inputs.sort_by(|a, b| {
            a.path
                .as_os_str()
                .as_bytes()
                .cmp(b.path.as_os_str().as_bytes())
        });
        inputs.dedup_by(|a, b| a.path == b.path);
        // The paths to hash as they are in the work tree.
        let listed: Vec<PathBuf> = if staged && index.len() > IN_PROCESS_DIFF_MAX {
            // With unstaged changes set aside only untracked files differ
            // from the index.
            self.untracked()?
        } else {
            let mut opts = git2::StatusOptions::new();
            opts.include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false)
                .exclude_submodules(true);
            let statuses = self
                .repo
                .statuses(Some(&mut opts))
                .context("cannot read the work tree's status")?;
            let dirty = git2::Status::WT_NEW
                | git2::Status::WT_MODIFIED
                | git2::Status::WT_DELETED
                | git2::Status::WT_TYPECHANGE
                | git2::Status::WT_RENAMED;
            statuses
                .iter()
                .filter(|e| {
                    let st = e.status();
                    // With unstaged changes set aside, tracked files hold the
                    // index's content; untracked files are there either way.
                    st.intersects(dirty) && (!staged || st.contains(git2::Status::WT_NEW))
                })
                .map(|e| bytes_path(e.path_bytes()))
                .collect()
        };
        for path in listed {
            let full = self.root.join(&path);
            let (id, mode) = match std::fs::symlink_metadata(&full) {
                Ok(meta) => {
                    use std::os::unix::fs::PermissionsExt;
                    match content_id(&full)? {
                        Some(id) => (id, meta.permissions().mode()),
                        None => continue,
                    }
                }
                Err(_) => (Oid::zero(), 0),
            };
            let wanted = path.as_os_str().as_bytes();
            match inputs.binary_search_by(|i| i.path.as_os_str().as_bytes().cmp(wanted)) {
                Ok(at) => {
                    inputs[at].id = id;
                    inputs[at].mode = mode;
                }
                Err(at) => inputs.insert(
                    at,
                    Input {
                        path,
                        mode,
                        id,
                        sparse: false,
                    },
                ),
            }
        }
        Ok(inputs)
    }

    /// Whether git ignores `rel` (relative to the root), by every ignore
    /// source git reads (.gitignore files, info/exclude, core.excludesFile).
    pub fn is_ignored(&self, rel: &Path) -> Result<bool> {
        self.repo
            .is_path_ignored(rel)
            .with_context(|| format!("cannot tell whether git ignores {}", rel.display()))
    }

    /// Untracked, not ignored files (as `git ls-files -o --exclude-standard`:
    /// several times faster than libgit2's status walk on large trees).
    pub fn untracked(&self) -> Result<Vec<PathBuf>> {
        let args = ["ls-files", "-o", "--exclude-standard", "-z"].map(OsStr::new);
        Ok(self
            .git_stdout(&args)?
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(bytes_path)
            .collect())
    }

    /// Tracked paths whose work tree differs from the index (content, mode,
    /// type, deletion), submodules excepted; intent-to-add entries included.
    pub fn unstaged(&self) -> Result<Vec<PathBuf>> {
        let started = self.start_unstaged()?;
        self.unstaged_from(started)
    }

    /// Starts [`Repo::unstaged`]: on a big index git's own diff, in a
    /// process of its own that runs meanwhile; [`Repo::unstaged_from`]
    /// waits for it. It runs with `--no-optional-locks` (it does not write
    /// back the index's refreshed stat data, which it may do otherwise), so
    /// that a listing not wanted after all (nothing to run) can be stopped
    /// without leaving an index.lock in the way of the user's next git
    /// command.
    pub fn start_unstaged(&self) -> Result<Unstaged> {
        if !self.lists_unstaged_with_git() {
            return Ok(Unstaged { git: None });
        }
        // git's own diff is several times faster than libgit2's on large
        // trees (100,000 files: ~0.15 s against ~0.3 s).
        let child = self
            .git()
            .arg("--no-optional-locks")
            .args(DIFF_NAMES)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run git")?;
        Ok(Unstaged { git: Some(child) })
    }

    /// Whether unstaged changes are listed by git's own diff (a process of
    /// its own, worth starting early) rather than in process. Only a matter
    /// of speed, so told before the index is read: by the index file's size
    /// (an entry takes 62 bytes and its path).
    pub fn lists_unstaged_with_git(&self) -> bool {
        let index_file = std::env::var_os(crate::env::GIT_INDEX_FILE)
            .map(PathBuf::from)
            .map(|f| {
                if f.is_absolute() {
                    f
                } else {
                    self.root.join(f)
                }
            })
            .unwrap_or_else(|| self.git_dir().join("index"));
        std::fs::metadata(&index_file).is_ok_and(|m| m.len() > IN_PROCESS_DIFF_MAX as u64 * 80)
    }

    /// The paths of a started [`Repo::unstaged`].
    pub fn unstaged_from(&self, mut started: Unstaged) -> Result<Vec<PathBuf>> {
        let index = self.index()?;
        let listed = if let Some(child) = started.git.take() {
            let out = child.wait_with_output().context("cannot run git")?;
            if !out.status.success() {
                bail!(
                    "git diff failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            out.stdout
        } else {
            // On small trees starting a git process costs more than the diff.
            let mut opts = DiffOptions::new();
            opts.include_typechange(true)
                .ignore_submodules(true)
                .include_untracked(false);
            let diff = self
                .repo
                .diff_index_to_workdir(Some(&index), Some(&mut opts))
                .context("cannot compare the work tree with the index")?;
            let mut listed = Vec::new();
            for delta in diff.deltas() {
                if let Some(p) = delta
                    .old_file()
                    .path_bytes()
                    .or(delta.new_file().path_bytes())
                {
                    listed.extend_from_slice(p);
                    listed.push(0);
                }
            }
            listed
        };
        let mut out = Vec::new();
        for p in listed.split(|&b| b == 0).filter(|p| !p.is_empty()) {
            let entry = index_entry(&index, p);
            // Submodules are not files; entries outside a sparse checkout
            // (skip-worktree) are absent from the work tree on purpose.
            if entry
                .as_ref()
                .is_some_and(|e| e.mode == GITLINK || is_skip_worktree(e))
            {
                continue;
            }
            out.push(bytes_path(p));
        }
        // Intent-to-add entries are not always reported as differences; add them.
        for e in index.iter() {
            if is_intent_to_add(&e) && !out.iter().any(|u| u.as_os_str().as_bytes() == e.path) {
                out.push(bytes_path(&e.path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The bytes of `rel`'s index entry (None when the index has none).
    pub fn index_blob(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        let index = self.index()?;
        let Some(entry) =
            index_entry(&index, rel.as_os_str().as_bytes()).filter(|e| !is_intent_to_add(e))
        else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(entry.id)
            .with_context(|| format!("cannot read the staged {}", rel.display()))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// Is a merge in progress (`MERGE_HEAD` in the git dir)?
    pub fn merging(&self) -> bool {
        self.git_dir().join("MERGE_HEAD").exists()
    }

    /// Is a rebase in progress (`rebase-merge/` or `rebase-apply/` in the
    /// git dir; not `git am`, which leaves `rebase-apply/applying`)?
    pub fn rebasing(&self) -> bool {
        let dir = self.git_dir();
        dir.join("rebase-merge").is_dir()
            || (dir.join("rebase-apply").is_dir() && !dir.join("rebase-apply/applying").exists())
    }

    /// The current branch's short name (also before its first commit);
    /// while a rebase has HEAD detached, the branch being rebased. None
    /// when HEAD is detached otherwise.
    pub fn branch(&self) -> Option<String> {
        let head = self.repo.find_reference("HEAD").ok();
        let full = match head.as_ref().and_then(|h| h.symbolic_target()) {
            Some(target) => target.to_string(),
            None => ["rebase-merge", "rebase-apply"].iter().find_map(|d| {
                std::fs::read_to_string(self.git_dir().join(d).join("head-name")).ok()
            })?,
        };
        full.trim().strip_prefix("refs/heads/").map(str::to_string)
    }

    /// The commit HEAD points at (None before the first commit).
    pub fn head(&self) -> Option<Oid> {
        self.repo.head().ok()?.peel_to_commit().ok().map(|c| c.id())
    }

    /// The index entry (content id and mode) of each path, None where the
    /// index has no real entry (absent, or intent-to-add).
    pub fn index_entries(&self, paths: &[PathBuf]) -> Result<Vec<Option<(Oid, u32)>>> {
        let index = self.index()?;
        Ok(paths
            .iter()
            .map(|p| {
                index_entry(&index, p.as_os_str().as_bytes())
                    .filter(|e| !is_intent_to_add(e))
                    .map(|e| (e.id, e.mode))
            })
            .collect())
    }

    /// Writes the index version of `paths` under `prefix` (a folder, with
    /// each path below it), exactly as a checkout writes them: filters,
    /// modes and symlinks as git applies them. Only `prefix` is written to.
    pub fn checkout_index_to(&self, paths: &[PathBuf], prefix: &Path) -> Result<()> {
        self.checkout_to(paths, prefix, None)
    }

    /// `git checkout-index --prefix` of `paths`, from the index or from
    /// `index_file`.
    fn checkout_to(
        &self,
        paths: &[PathBuf],
        prefix: &Path,
        index_file: Option<&Path>,
    ) -> Result<()> {
        let mut arg = b"--prefix=".to_vec();
        arg.extend_from_slice(prefix.as_os_str().as_bytes());
        if !arg.ends_with(b"/") {
            arg.push(b'/');
        }
        let args = ["checkout-index", "-f", "-z", "--stdin"].map(OsStr::new);
        let args = [&args[..], &[OsStr::from_bytes(&arg)]].concat();
        self.git_with_paths(&args, paths, index_file)
    }

    /// Stages the work-tree state of `paths`, as `git add` does.
    pub fn add(&self, paths: &[PathBuf]) -> Result<()> {
        self.git_with_paths(
            &["add", "--pathspec-from-file=-", "--pathspec-file-nul"].map(OsStr::new),
            paths,
            None,
        )
    }

    /// Runs git in the root with NUL-separated paths on stdin (reading
    /// `index_file` as its index when given).
    fn git_with_paths(
        &self,
        args: &[&OsStr],
        paths: &[PathBuf],
        index_file: Option<&Path>,
    ) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut input = Vec::new();
        for p in paths {
            // Pathspecs: make them literal, so `*` or `:` in a name is just a name.
            if args[0] == "add" {
                input.extend_from_slice(b":(literal)");
            }
            input.extend_from_slice(p.as_os_str().as_bytes());
            input.push(0);
        }
        let mut cmd = self.git();
        if let Some(f) = index_file {
            cmd.env(crate::env::GIT_INDEX_FILE, f);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run git")?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(&input)
            .context("cannot write to git")?;
        crate::fault::point(&format!("git {} running", args[0].to_string_lossy()));
        let out = child.wait_with_output().context("cannot run git")?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args[0].to_string_lossy(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// The index version of `path` as git would write it to the work tree
    /// (smudged), for merging against work-tree contents.
    pub fn index_smudged(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let index = self.index()?;
        let Some(entry) = index_entry(&index, path.as_os_str().as_bytes()) else {
            return Ok(None);
        };
        self.blob_smudged(path, entry.id).map(Some)
    }

    /// A blob as git would write it to the work tree at `path` (smudged).
    pub fn blob_smudged(&self, path: &Path, id: Oid) -> Result<Vec<u8>> {
        let path_arg = [b"--path=".as_slice(), path.as_os_str().as_bytes()].concat();
        let oid = id.to_string();
        let args = [
            OsStr::new("cat-file"),
            OsStr::new("--filters"),
            OsStr::from_bytes(&path_arg),
            OsStr::new(&oid),
        ];
        self.git_stdout(&args)
    }

    /// A git command in the root, marked as ours and dying with us (see `child`).
    fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.root);
        crate::sys::child::own(&mut cmd);
        crate::sys::child::tie(&mut cmd);
        cmd
    }

    /// Runs git in the root and returns its stdout; a failure is an error
    /// carrying git's own message.
    fn git_stdout(&self, args: &[&OsStr]) -> Result<Vec<u8>> {
        self.git_output(args, None)
    }

    /// [`Repo::git_stdout`], reading `index_file` as git's index when given.
    fn git_output(&self, args: &[&OsStr], index_file: Option<&Path>) -> Result<Vec<u8>> {
        let mut cmd = self.git();
        if let Some(f) = index_file {
            cmd.env(crate::env::GIT_INDEX_FILE, f);
        }
        let out = cmd.args(args).output().context("cannot run git")?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args[0].to_string_lossy(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// A three-way merge of file contents: `Ok((merged, clean))`.
    pub fn merge_contents(
        &self,
        base: &[u8],
        ours: &[u8],
        theirs: &[u8],
        scratch: &Path,
    ) -> Result<(Vec<u8>, bool)> {
        std::fs::create_dir_all(scratch)?;
        let (b, o, t) = (
            scratch.join("base"),
            scratch.join("ours"),
            scratch.join("theirs"),
        );
        std::fs::write(&b, base)?;
        std::fs::write(&o, ours)?;
        std::fs::write(&t, theirs)?;
        let out = self
            .git()
            .args(["merge-file", "-p", "-q"])
            .arg(&o)
            .arg(&b)
            .arg(&t)
            .output()
            .context("cannot run git merge-file")?;
        let _ = std::fs::remove_dir_all(scratch);
        match out.status.code() {
            Some(0) => Ok((out.stdout, true)),
            Some(n) if n > 0 => Ok((out.stdout, false)),
            _ => bail!(
                "git merge-file failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }

    /// A patch (git format, binary-safe) turning `old` into `new` at `path`.
    pub fn patch(&self, path: &Path, old: &[u8], new: &[u8]) -> Result<Vec<u8>> {
        let mut opts = DiffOptions::new();
        opts.show_binary(true);
        let mut patch =
            git2::Patch::from_buffers(old, Some(path), new, Some(path), Some(&mut opts))?;
        Ok(patch.to_buf()?.to_vec())
    }

    /// The folder git reads hooks from: `core.hooksPath` (resolved as git
    /// does) or the common git dir's `hooks`, as `git rev-parse --git-path hooks` says.
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let out = self.git_stdout(&["rev-parse", "--git-path", "hooks"].map(OsStr::new))?;
        let text = out.strip_suffix(b"\n").unwrap_or(&out);
        let p = bytes_path(text);
        Ok(if p.is_absolute() {
            p
        } else {
            self.root.join(p)
        })
    }

    /// Whether `dir` is this repository's hooks folder in the default
    /// layout (no `core.hooksPath`), asked without starting git. False
    /// tells nothing: ask [`Repo::hooks_dir`].
    pub fn is_default_hooks_dir(&self, dir: &Path) -> bool {
        if self.hooks_path_setting().is_some() {
            return false;
        }
        let ours = self.repo.commondir().join("hooks");
        match (std::fs::canonicalize(dir), std::fs::canonicalize(ours)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// `core.hooksPath` as configured, if it is.
    pub fn hooks_path_setting(&self) -> Option<String> {
        self.repo.config().ok()?.get_string("core.hooksPath").ok()
    }

    fn commit_oid(&self, spec: &str) -> Result<Oid> {
        let obj = self
            .repo
            .revparse_single(spec)
            .with_context(|| format!("unknown revision `{spec}`"))?;
        Ok(obj
            .peel_to_commit()
            .with_context(|| format!("`{spec}` is not a commit"))?
            .id())
    }

    /// Files changed from the merge base of `from` and `to` up to `to`
    /// (as `git diff from...to`), not deletions.
    pub fn files_between(&self, from: &str, to: &str) -> Result<Vec<PathBuf>> {
        let to = self.commit_oid(to)?;
        let from = self.commit_oid(from)?;
        let base = self.repo.merge_base(from, to).unwrap_or(from);
        self.changed_between(Some(base), to)
    }

    /// Files changed between two commits (all files of `to` when `from` is None).
    fn changed_between(&self, from: Option<Oid>, to: Oid) -> Result<Vec<PathBuf>> {
        let to_tree = self.repo.find_commit(to)?.tree()?;
        let from_tree = match from {
            Some(f) => Some(self.repo.find_commit(f)?.tree()?),
            None => None,
        };
        let diff = self
            .repo
            .diff_tree_to_tree(from_tree.as_ref(), Some(&to_tree), None)?;
        let mut files: Vec<PathBuf> = diff
            .deltas()
            .filter(|d| d.status() != Delta::Deleted && is_file_mode(d.new_file().mode()))
            .filter_map(|d| d.new_file().path_bytes().map(bytes_path))
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// The refs a push sends, from the lines git gives a pre-push hook on
    /// stdin (`<local ref> <local sha> <remote ref> <remote sha>`), each
    /// with the files it changes: against the remote's sha; for a new branch
    /// against the merge base with the remote's default branch, or every
    /// file when none is known. A deleted ref checks nothing.
    pub fn pushed(&self, remote: &str, stdin: &str) -> Result<Vec<Pushed>> {
        let mut out = Vec::new();
        for line in stdin.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [local_ref, local_sha, _, remote_sha] = parts[..] else {
                continue;
            };
            let is_zero = |s: &str| s.chars().all(|c| c == '0');
            if is_zero(local_sha) {
                continue;
            }
            let local = Oid::from_str(local_sha)?;
            let base = if !is_zero(remote_sha)
                && self.repo.find_commit(Oid::from_str(remote_sha)?).is_ok()
            {
                Some(Oid::from_str(remote_sha)?)
            } else {
                self.remote_default(remote)
                    .and_then(|d| self.repo.merge_base(d, local).ok())
            };
            out.push(Pushed {
                name: local_ref.to_string(),
                tip: local,
                files: self.changed_between(base, local)?,
                line: line.to_string(),
            });
        }
        Ok(out)
    }

    /// Paths whose work tree differs from `commit`'s tree (tracked files,
    /// and files the commit has that the work tree lacks), submodules and
    /// skip-worktree entries excepted.
    pub fn differing_from(&self, commit: Oid) -> Result<Vec<PathBuf>> {
        let oid = commit.to_string();
        let tail = [oid.as_str(), "--"];
        let args: Vec<&OsStr> = DIFF_NAMES.iter().chain(&tail).map(OsStr::new).collect();
        let listed = self.git_stdout(&args)?;
        let index = self.index()?;
        let mut out: Vec<PathBuf> = listed
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .filter(|p| !index_entry(&index, p).is_some_and(|e| is_skip_worktree(&e)))
            .map(bytes_path)
            .collect();
        out.sort();
        Ok(out)
    }

    /// The bytes of `rel` in `commit`'s tree (None when it has no such file).
    pub fn commit_blob(&self, commit: Oid, rel: &Path) -> Result<Option<Vec<u8>>> {
        let Some(Some((id, _))) = self.tree_entries(commit, &[rel.to_path_buf()])?.pop() else {
            return Ok(None);
        };
        Ok(Some(self.repo.find_blob(id)?.content().to_vec()))
    }

    /// The entry (content id and mode) of each path in `commit`'s tree.
    pub fn tree_entries(&self, commit: Oid, paths: &[PathBuf]) -> Result<Vec<Option<(Oid, u32)>>> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        Ok(paths
            .iter()
            .map(|p| {
                tree.get_path(p)
                    .ok()
                    .filter(|e| {
                        e.filemode() as u32 != GITLINK && e.kind() == Some(git2::ObjectType::Blob)
                    })
                    .map(|e| (e.id(), e.filemode() as u32))
            })
            .collect())
    }

    /// Writes `commit`'s version of `paths` under `prefix`, as a checkout
    /// would (filters, modes, symlinks), through a private index file
    /// `scratch_index`: neither the index nor the work tree is touched.
    pub fn checkout_tree_to(
        &self,
        commit: Oid,
        paths: &[PathBuf],
        prefix: &Path,
        scratch_index: &Path,
    ) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let oid = commit.to_string();
        self.git_output(&["read-tree", &oid].map(OsStr::new), Some(scratch_index))?;
        self.checkout_to(paths, prefix, Some(scratch_index))
    }

    /// The commit of the remote's default branch (`refs/remotes/R/HEAD`, else main or master).
    fn remote_default(&self, remote: &str) -> Option<Oid> {
        ["HEAD", "main", "master"].iter().find_map(|b| {
            self.repo
                .revparse_single(&format!("refs/remotes/{remote}/{b}"))
                .ok()?
                .peel_to_commit()
                .ok()
                .map(|c| c.id())
        })
    }
}

fn index_entry(index: &git2::Index, path: &[u8]) -> Option<IndexEntry> {
    index.get_path(Path::new(OsStr::from_bytes(path)), 0)
}

/// A file or symlink: not a submodule (gitlink) nor a folder.
fn is_file_mode(mode: git2::FileMode) -> bool {
    matches!(
        mode,
        git2::FileMode::Blob | git2::FileMode::BlobExecutable | git2::FileMode::Link
    )
}

fn is_skip_worktree(e: &IndexEntry) -> bool {
    IndexEntryExtendedFlag::from_bits_truncate(e.flags_extended).is_skip_worktree()
}

fn is_intent_to_add(e: &IndexEntry) -> bool {
    IndexEntryExtendedFlag::from_bits_truncate(e.flags_extended).is_intent_to_add()
}

/// The content id git gives what is at `path` (a file's bytes as they are,
/// a symlink's target), without filters; None for anything else.
pub fn content_id(path: &Path) -> std::io::Result<Option<Oid>> {
    let meta = std::fs::symlink_metadata(path)?;
    let id = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)?;
        Oid::hash_object(git2::ObjectType::Blob, target.as_os_str().as_bytes())
    } else if meta.is_file() {
        Oid::hash_file(git2::ObjectType::Blob, path)
    } else {
        return Ok(None);
    };
    id.map(Some).map_err(std::io::Error::other)
}

/// The content id of bytes, as git gives a blob.
pub fn bytes_id(bytes: &[u8]) -> Option<Oid> {
    Oid::hash_object(git2::ObjectType::Blob, bytes).ok()
}

fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}
