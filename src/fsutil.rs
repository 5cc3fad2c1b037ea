//! Files precheck writes for itself under `.git/precheck/`: created
//! readable by the owner only (0600 files, 0700 folders), since check
//! output, logs and saved versions often hold tokens; written atomically
//! where readers may look at any moment.
//!
//! Creating a file is the dearest thing precheck does on a hook's path:
//! on some file systems (ext4 without a journal, for one) allocating an
//! inode costs a quarter to most of a millisecond, fifty times a rename.
//! So the files precheck rewrites under `.git/precheck/` are replaced
//! without creating one ([`replace`]): the new bytes go into a spare inode
//! kept from the version replaced before, and the two swap places in one
//! atomic `renameat2(RENAME_EXCHANGE)`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Creates a folder and its missing parents, readable by the owner only.
pub fn private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Creates (or truncates) a file readable by the owner only.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Takes group and other access away from a folder made before precheck
/// made its folders private.
pub fn tighten(dir: &Path) {
    if let Ok(meta) = fs::metadata(dir) {
        if meta.permissions().mode() & 0o077 != 0 {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
    }
}

/// Writes a file so that readers see the old or the new contents, never
/// half; `durable` also syncs it to disk before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = create_private(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Rewrites a user's file (a built-in fixer's change): the new bytes go
/// into a fresh file beside it, with its permissions, synced, then renamed
/// over it, so that a crash leaves the old version or the new one, whole.
/// The fresh file's name is new (`create_new`): nothing of the user's is
/// ever truncated in passing. Its name is written in `journal` (a folder)
/// first and struck out after the rename, so that a crash in between
/// leaves a note of the stray file for [`sweep_rewrites`].
pub fn rewrite_user_file(path: &Path, bytes: &[u8], journal: &Path) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mode = fs::metadata(path)?.permissions().mode();
    let seq = format!(
        "{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".precheck-{seq}"));
    let tmp = path.with_file_name(name);
    private_dir(journal).map_err(std::io::Error::other)?;
    let note = journal.join(&seq);
    if let Err(e) = fs::write(&note, tmp.as_os_str().as_bytes()) {
        // A full disk may leave the note empty: nothing to sweep for.
        let _ = fs::remove_file(&note);
        return Err(e);
    }
    crate::fault::point("rewrite-noted");
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(&tmp)?;
        crate::fault::point("rewrite-created");
        // The umask may have narrowed it.
        f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        crate::fault::point("rewrite-synced");
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    crate::fault::point("rewrite-renamed");
    let _ = fs::remove_file(&note);
    result
}

/// Removes the fresh files a crashed [`rewrite_user_file`] left beside the
/// user's (the user's own file is whole, old or new, either way), and the
/// notes of them; returns how many were found. Only while no rewrite can
/// be under way (the caller holds the work tree alone). A note that does
/// not name a `.NAME.precheck-…` file is struck out, nothing removed.
pub fn sweep_rewrites(journal: &Path) -> usize {
    let Ok(notes) = fs::read_dir(journal) else {
        return 0;
    };
    let mut swept = 0;
    for note in notes.flatten() {
        let named = fs::read(note.path())
            .ok()
            .map(|b| std::path::PathBuf::from(std::ffi::OsString::from_vec(b)));
        if let Some(tmp) = named {
            let ours = tmp.file_name().is_some_and(|n| {
                let n = n.as_bytes();
                n.starts_with(b".") && n.windows(10).any(|w| w == b".precheck-")
            });
            if ours && fs::remove_file(&tmp).is_ok() {
                swept += 1;
            }
        }
        let _ = fs::remove_file(note.path());
    }
    swept
}

/// Where a repository's rewrites of user files are noted, under its git
/// dir (`git_dir`).
pub fn rewrite_journal(git_dir: &Path) -> std::path::PathBuf {
    git_dir.join("precheck").join("rewrites")
}

/// Whether `journal` holds notes of rewrites (one look, on every run).
pub fn rewrites_noted(journal: &Path) -> bool {
    fs::read_dir(journal).is_ok_and(|mut d| d.next().is_some())
}

/// The spare of `path`: where [`replace`] keeps the inode of the version it
/// replaced, for the next write (`.NAME.spare`, beside it).
fn spare_of(path: &Path) -> std::path::PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".spare");
    path.with_file_name(name)
}

/// `renameat2(2)` with `flags` (`libc::RENAME_NOREPLACE`,
/// `libc::RENAME_EXCHANGE`): the one call for renames std cannot express.
pub fn rename2(from: &Path, to: &Path, flags: u32) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let f = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let t = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; renameat2 only renames.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes one of precheck's own files so that readers see the old or the
/// new contents, never half, as [`write_atomic`] does, but without creating
/// a file once the path has been written before: the bytes go into the
/// spare inode the last write left (claimed by a rename, so two writers
/// never share it), which then swaps places with the current version; the
/// old version becomes the spare. Only for files under `.git/precheck/`:
/// the spare lies beside the file.
pub fn replace(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let spare = spare_of(path);
    let mut claimed = spare.clone().into_os_string();
    claimed.push(format!(".{}", std::process::id()));
    let claimed = std::path::PathBuf::from(claimed);
    let result = (|| -> std::io::Result<()> {
        // Ours alone once renamed; a fresh file when there is no spare.
        let _ = fs::rename(&spare, &claimed);
        // Overwritten, then cut to length: truncating to zero first would
        // free the old blocks and allocate new ones, which costs as much
        // as creating a file on the same file systems.
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&claimed)?;
        f.write_all(bytes)?;
        f.set_len(bytes.len() as u64)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        // Fails where `path` does not exist yet, or where the file system
        // cannot swap: then a plain rename, as `write_atomic` does.
        if rename2(&claimed, path, libc::RENAME_EXCHANGE).is_ok() {
            // The old version's inode is the next write's spare.
            let _ = fs::rename(&claimed, &spare);
            Ok(())
        } else {
            fs::rename(&claimed, path)
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&claimed);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// The sweep removes only what a rewrite creates: a note that names a
    /// user's file (a damaged or hand-made note) strikes the note out and
    /// leaves the file.
    #[test]
    fn the_sweep_removes_only_fresh_rewrite_files() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("rewrites");
        let stray = dir.path().join(".a.txt.precheck-7-0");
        let user = dir.path().join("a.txt");
        let tricky = dir.path().join("notes.precheck-1-1");
        for f in [&stray, &user, &tricky] {
            fs::write(f, b"x").unwrap();
        }
        private_dir(&journal).unwrap();
        for (name, target) in [("7-0", &stray), ("7-1", &user), ("7-2", &tricky)] {
            fs::write(journal.join(name), target.as_os_str().as_bytes()).unwrap();
        }
        fs::write(journal.join("7-3"), b"").unwrap();
        assert!(rewrites_noted(&journal));
        assert_eq!(sweep_rewrites(&journal), 1);
        assert!(!stray.exists());
        assert!(user.exists(), "a user's file named by a note stays");
        assert!(
            tricky.exists(),
            "a name without the leading dot is not a rewrite's"
        );
        assert!(!rewrites_noted(&journal));
        // A rewrite that ends well leaves no note.
        rewrite_user_file(&user, b"y", &journal).unwrap();
        assert_eq!(fs::read(&user).unwrap(), b"y");
        assert!(!rewrites_noted(&journal));
    }

    #[test]
    fn replace_swaps_inodes_and_creates_no_file_after_the_first_two_writes() {
        let dir = std::env::temp_dir().join(format!("precheck-replace-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        private_dir(&dir).unwrap();
        let path = dir.join("record.json");
        replace(&path, b"one", false).unwrap();
        replace(&path, b"two", false).unwrap();
        let inodes = |p: &Path| fs::metadata(p).unwrap().ino();
        let mut seen = std::collections::BTreeSet::new();
        seen.insert(inodes(&path));
        seen.insert(inodes(&spare_of(&path)));
        for text in ["three", "four", "five"] {
            replace(&path, text.as_bytes(), true).unwrap();
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
            // The same two inodes, swapping: nothing created.
            assert!(seen.contains(&inodes(&path)));
            assert!(seen.contains(&inodes(&spare_of(&path))));
        }
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
