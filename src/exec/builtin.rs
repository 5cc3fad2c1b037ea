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
mod syntax;
mod text;
mod tree;

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::builtins::{FileType, Kind};
use crate::exec::spawn::InProcess;

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

/// A file's path both ways: as given (relative to the check's dir, and as
/// messages name it) and as opened.
struct Target<'a> {
    shown: &'a Path,
    path: PathBuf,
}

/// Runs a built-in over its files; its messages go to `log`. Err: it could
/// not run at all (the message says why).
pub fn run(work: &InProcess, dir: &Path, log: &File, stop: &AtomicBool) -> Result<i32, String> {
    let b = &work.builtin;
    let kind = b.kind;
    let targets: Vec<Target> = if kind.takes_files() {
        work.files
            .iter()
            .map(|f| Target {
                shown: f,
                path: dir.join(f),
            })
            .filter(|t| of_type(kind.file_type(), &t.path))
            .collect()
    } else {
        Vec::new()
    };
    let verdicts: Vec<Verdict> = match kind {
        Kind::TrailingWhitespace => each(&targets, stop, |t| text::trailing_whitespace(b, t)),
        Kind::EndOfFileFixer => each(&targets, stop, text::end_of_file),
        Kind::MixedLineEnding => each(&targets, stop, |t| text::mixed_line_ending(b, t)),
        Kind::CheckMergeConflict => {
            if !b.assume_in_merge && !tree::repo()?.concluding_merge() {
                Vec::new()
            } else {
                each(&targets, stop, content::merge_conflict)
            }
        }
        Kind::DetectPrivateKey => each(&targets, stop, content::private_key),
        Kind::Pygrep => {
            let grep = content::Grep::new(b)?;
            each(&targets, stop, |t| grep.file(t))
        }
        Kind::CheckYaml => each(&targets, stop, |t| syntax::yaml(b, t)),
        Kind::CheckToml => each(&targets, stop, syntax::toml),
        Kind::CheckJson => each(&targets, stop, syntax::json),
        Kind::CheckSymlinks => each(&targets, stop, tree::symlink),
        Kind::CheckAddedLargeFiles => tree::large_files(b, &work.root, dir, &targets)?,
        Kind::CheckCaseConflict => tree::case_conflict(&work.root, dir, &targets)?,
        Kind::CheckExecutablesHaveShebangs => tree::shebangs(&work.root, dir, &targets)?,
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

/// Below this many files one thread does them all.
const SPREAD_ABOVE: usize = 256;

/// Runs `work` on each target, on every core when there are many, and
/// gives the verdicts in the targets' order. Stops taking files on `stop`.
fn each<F>(targets: &[Target], stop: &AtomicBool, work: F) -> Vec<Verdict>
where
    F: Fn(&Target) -> Verdict + Sync,
{
    let one = |chunk: &[Target]| -> Vec<Verdict> {
        let mut out = Vec::with_capacity(chunk.len());
        for t in chunk {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            out.push(work(t));
        }
        out
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if targets.len() <= SPREAD_ABOVE || threads == 1 {
        return one(targets);
    }
    let size = targets.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .chunks(size)
            .map(|chunk| s.spawn(move || one(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Verdict::fail("a built-in stopped unexpectedly".into())]
                })
            })
            .collect()
    })
}

/// Whether a file is of the type a built-in looks at (identify's tags, as
/// pre-commit matches them: every type a regular file, but a symlink; text
/// by its first KiB; executable by its mode bits). Gone files are not.
fn of_type(t: FileType, path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    match t {
        FileType::Symlink => meta.file_type().is_symlink(),
        _ if !meta.is_file() => false,
        FileType::Any => true,
        FileType::Text => is_text(path),
        FileType::ExecutableText => meta.permissions().mode() & 0o111 != 0 && is_text(path),
        // The name said it; identify tags these text without reading.
        FileType::Yaml | FileType::Toml | FileType::Json => true,
    }
}

/// identify's test: the first KiB holds no byte outside the text set
/// (controls other than BEL, BS, TAB, LF, VT, FF, CR, ESC; and DEL).
fn is_text(path: &Path) -> bool {
    let mut head = [0u8; 1024];
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    head[..n]
        .iter()
        .all(|&c| matches!(c, 7..=13 | 27 | 0x20..=0x7e | 0x80..=0xff))
}

/// Reads a target whole; a file that cannot be read fails the check.
fn read(t: &Target) -> Result<Vec<u8>, Verdict> {
    std::fs::read(&t.path)
        .map_err(|e| Verdict::fail(format!("{}: cannot read: {e}", t.shown.display())))
}

/// A fixer's rewrite, or the failure to do it.
fn rewrite(t: &Target, bytes: &[u8], said: String) -> Verdict {
    match crate::fsutil::rewrite_user_file(&t.path, bytes) {
        Ok(()) => Verdict::fixed(said),
        Err(e) => Verdict::fail(format!("{}: cannot rewrite: {e}", t.shown.display())),
    }
}
