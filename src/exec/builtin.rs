//! Running a built-in check in process, on a worker's thread: which of the
//! given files it looks at (their type, as pre-commit's `types` pick them),
//! the work over those files (spread over the machine's cores when there
//! are many, printed in the order given), its messages into the check's
//! log, and its verdict as an exit code (0 passed, 1 failed), as the
//! pre-commit-hooks script of the same name would give it.
//!
//! A fixer's rewrite is one atomic rename of a fresh file, and a fixer
//! passes when it fixed (the fixer rules decide what a change means, as for
//! any fixer). A stop request is looked at between files.

mod content;
mod json;
mod syntax;
mod text;
mod tree;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::builtins::{FileType, Kind};
use crate::exec::spawn::InProcess;
use crate::identify::Encoding;

/// What one file gave: its messages, and whether it fails the check.
#[derive(Default)]
struct Verdict {
    out: Vec<u8>,
    failed: bool,
}

impl Verdict {
    fn fail(msg: String) -> Verdict {
        Verdict {
            out: (msg + "\n").into_bytes(),
            failed: true,
        }
    }

    /// A fixer's change: said, but the fixer rules judge it.
    fn fixed(msg: String) -> Verdict {
        Verdict {
            out: (msg + "\n").into_bytes(),
            failed: false,
        }
    }
}

/// A file's path both ways (as given, relative to the check's dir, and as
/// messages name it; and as opened), its stat, and its bytes when its type
/// needed them read (text is told by its first KiB): each file is read
/// once, and a file the fixers' fingerprints or another built-in read
/// this run is not read again while unchanged (`crate::reads`).
struct Target<'a> {
    shown: &'a Path,
    path: PathBuf,
    meta: std::fs::Metadata,
    bytes: Option<Arc<[u8]>>,
}

/// Runs a built-in over its files; its messages go to `log`. Err: it could
/// not run at all (the message says why).
pub fn run(work: &InProcess, dir: &Path, log: &File, stop: &AtomicBool) -> Result<i32, String> {
    let b = &work.builtin;
    let kind = b.kind;
    let files: &[PathBuf] = if kind.takes_files() { &work.files } else { &[] };
    let t = kind.file_type();
    let verdicts: Vec<Verdict> = match kind {
        Kind::TrailingWhitespace => each_read(files, t, dir, stop, |f, bytes| {
            text::trailing_whitespace(b, f, bytes)
        }),
        Kind::EndOfFileFixer => each_read(files, t, dir, stop, text::end_of_file),
        Kind::MixedLineEnding => each_read(files, t, dir, stop, |f, bytes| {
            text::mixed_line_ending(b, f, bytes)
        }),
        Kind::CheckMergeConflict => {
            if !b.assume_in_merge && !tree::repo()?.concluding_merge() {
                Vec::new()
            } else {
                each_read(files, t, dir, stop, content::merge_conflict)
            }
        }
        Kind::DetectPrivateKey => each_read(files, t, dir, stop, content::private_key),
        Kind::Pygrep => {
            let grep = content::Grep::new(b)?;
            each_read(files, t, dir, stop, |f, bytes| grep.file(f, bytes))
        }
        Kind::CheckYaml => each_read(files, t, dir, stop, |f, bytes| syntax::yaml(b, f, bytes)),
        Kind::CheckToml => each_read(files, t, dir, stop, syntax::toml),
        Kind::CheckJson => each_read(files, t, dir, stop, syntax::json),
        Kind::CheckSymlinks => each(files, t, dir, stop, tree::symlink),
        Kind::CheckAddedLargeFiles => {
            let added = tree::added_only(b, &work.root, dir, files)?;
            tree::large_files(b, &work.root, dir, &select(&added, t, dir, stop))?
        }
        Kind::CheckCaseConflict => {
            tree::case_conflict(&work.root, dir, &select(files, t, dir, stop))?
        }
        Kind::CheckExecutablesHaveShebangs => {
            tree::shebangs(&work.root, dir, &select(files, t, dir, stop))?
        }
        Kind::NoCommitToBranch => tree::branch(b)?,
    };
    let mut out = Vec::new();
    let mut failed = false;
    for v in &verdicts {
        out.extend_from_slice(&v.out);
        failed |= v.failed;
    }
    let mut log = log;
    log.write_all(&out)
        .map_err(|e| format!("cannot write the log: {e}"))?;
    if stop.load(Ordering::SeqCst) {
        return Ok(1);
    }
    Ok(i32::from(failed))
}

/// `work` on each item on every core, in the items' order; items after
/// a stop request are skipped (None).
fn spread<'a, T: Sync, R: Send>(
    items: &'a [T],
    stop: &AtomicBool,
    work: impl Fn(&'a T) -> R + Sync + Send,
) -> Vec<Option<R>> {
    crate::parallel::map(items, |item| {
        (!stop.load(Ordering::Relaxed)).then(|| work(item))
    })
}

/// Runs `work` on each file of the type, in the files' order.
fn each<F>(files: &[PathBuf], t: FileType, dir: &Path, stop: &AtomicBool, work: F) -> Vec<Verdict>
where
    F: Fn(&Target) -> Verdict + Sync,
{
    spread(files, stop, |f| load(f, t, dir).map(|target| work(&target)))
        .into_iter()
        .flatten()
        .flatten()
        .collect()
}

/// Runs `work` on each file of the type with its bytes (a file that
/// cannot be read fails the check).
fn each_read<F>(
    files: &[PathBuf],
    t: FileType,
    dir: &Path,
    stop: &AtomicBool,
    work: F,
) -> Vec<Verdict>
where
    F: Fn(&Target, &[u8]) -> Verdict + Sync,
{
    each(files, t, dir, stop, |f| match read(f) {
        Ok(bytes) => work(f, &bytes),
        Err(v) => v,
    })
}

/// The files of the type, for built-ins that look at them together.
fn select<'a>(files: &'a [PathBuf], t: FileType, dir: &Path, stop: &AtomicBool) -> Vec<Target<'a>> {
    spread(files, stop, |f| load(f, t, dir))
        .into_iter()
        .flatten()
        .flatten()
        .collect()
}

/// The file as a target when it is of the type a built-in looks at
/// (identify's tags, as pre-commit matches them: every type a regular
/// file, but a symlink; text by its name, else by its first KiB;
/// executable by its mode bits). Gone files are not.
fn load<'a>(shown: &'a PathBuf, t: FileType, dir: &Path) -> Option<Target<'a>> {
    let path = dir.join(shown);
    let meta = crate::reads::look(&path).ok()?;
    let target = |bytes| Target {
        shown,
        path: path.clone(),
        meta: meta.clone(),
        bytes,
    };
    match t {
        FileType::Symlink => meta.file_type().is_symlink().then(|| target(None)),
        _ if !meta.is_file() => None,
        FileType::Any => Some(target(None)),
        FileType::ExecutableText if meta.permissions().mode() & 0o111 == 0 => None,
        FileType::Text | FileType::ExecutableText => {
            // identify decides by the name when it can (a `.pdf` is binary
            // whatever its first KiB; a UTF-16 `.json` is text), and only
            // then by the content.
            let name = shown.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let by_name = crate::identify::encoding_by_name(name);
            if by_name == Some(Encoding::Binary) {
                return None;
            }
            // Unreadable: given to the built-in, which says so.
            let Ok(bytes) = crate::reads::bytes(&path, &meta) else {
                return Some(target(None));
            };
            (by_name == Some(Encoding::Text) || is_text(&bytes[..bytes.len().min(1024)]))
                .then(|| target(Some(bytes)))
        }
        // The name said it; identify tags these text without reading.
        FileType::Yaml | FileType::Toml | FileType::Json => Some(target(None)),
    }
}

/// identify's test on a file's first KiB: no byte outside the text set
/// (controls other than BEL, BS, TAB, LF, VT, FF, CR, ESC; and DEL).
fn is_text(head: &[u8]) -> bool {
    head.iter()
        .all(|&c| matches!(c, 7..=13 | 27 | 0x20..=0x7e | 0x80..=0xff))
}

/// A target's bytes, read now unless they were; a file that cannot be
/// read fails the check.
fn read(t: &Target) -> Result<Arc<[u8]>, Verdict> {
    match &t.bytes {
        Some(b) => Ok(b.clone()),
        None => crate::reads::bytes(&t.path, &t.meta)
            .map_err(|e| Verdict::fail(format!("{}: cannot read: {e}", t.shown.display()))),
    }
}

/// A line without its ending (any run of CR and LF at its end).
fn without_ending(line: &[u8]) -> &[u8] {
    let end = line.len()
        - line
            .iter()
            .rev()
            .take_while(|c| **c == b'\r' || **c == b'\n')
            .count();
    &line[..end]
}

/// A fixer's rewrite, or the failure to do it.
fn rewrite(t: &Target, bytes: &[u8], said: String) -> Verdict {
    let done = match journal() {
        Ok(journal) => crate::fsutil::rewrite_user_file(&t.path, bytes, journal),
        Err(e) => Err(std::io::Error::other(e.clone())),
    };
    // Tried, so maybe done: whatever looks at files next looks again.
    crate::reads::rewrote();
    match done {
        Ok(()) => Verdict::fixed(said),
        Err(e) => Verdict::fail(format!("{}: cannot rewrite: {e}", t.shown.display())),
    }
}

/// Where this process notes its rewrites (the repository's; found once).
fn journal() -> Result<&'static Path, &'static String> {
    static JOURNAL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    JOURNAL
        .get_or_init(|| tree::repo().map(|r| crate::fsutil::rewrite_journal(r.git_dir())))
        .as_ref()
        .map(PathBuf::as_path)
}
