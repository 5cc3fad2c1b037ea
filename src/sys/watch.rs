//! The only user of inotify: which entries of a set of folders changed
//! (written, touched, made, removed, renamed) from the moment each folder
//! was watched until the events are read. Cheaper than looking at every
//! file again when the folders are few and the files many.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// What a folder's entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The entry, relative to the root (the folder itself, for an event of
    /// the folder's own).
    pub path: PathBuf,
    /// The entry is a folder that was made, removed or renamed (or the
    /// watched folder itself, gone): what it holds is not known.
    pub folder: bool,
}

/// Folders watched, relative to a root.
pub struct Watch {
    /// Closed by hand, in `drop`.
    fd: std::mem::ManuallyDrop<OwnedFd>,
    folders: HashMap<i32, PathBuf>,
}

const MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR
    | libc::IN_DONT_FOLLOW;

impl Watch {
    /// A new, empty watch; None when the system gives none (out of
    /// instances).
    pub fn new() -> Option<Watch> {
        // SAFETY: a plain system call; the descriptor is owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        (fd >= 0).then(|| Watch {
            // SAFETY: a descriptor just opened, owned by nothing else.
            fd: std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(fd) }),
            folders: HashMap::new(),
        })
    }

    /// Watches the folder `rel` under `root`; false when it cannot (gone,
    /// not a folder, out of watches).
    pub fn add(&mut self, root: &Path, rel: &Path) -> bool {
        let Ok(path) = CString::new(root.join(rel).into_os_string().into_vec()) else {
            return false;
        };
        // SAFETY: a valid descriptor and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), path.as_ptr(), MASK) };
        if wd < 0 {
            return false;
        }
        self.folders.insert(wd, rel.to_path_buf());
        true
    }

    /// Every event since the folders were watched; None when some were
    /// lost (the kernel's queue overflowed) or cannot be read.
    pub fn events(&self) -> Option<Vec<Event>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reading into a buffer of the length given.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                return match err.kind() {
                    std::io::ErrorKind::WouldBlock => Some(out),
                    std::io::ErrorKind::Interrupted => continue,
                    _ => None,
                };
            }
            if n == 0 {
                return Some(out);
            }
            let mut at = 0;
            let head = std::mem::size_of::<libc::inotify_event>();
            while at + head <= n as usize {
                // SAFETY: the kernel wrote whole events; read unaligned.
                let e: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                let name_at = at + head;
                let name = &buf[name_at..name_at + e.len as usize];
                at = name_at + e.len as usize;
                if e.mask & libc::IN_Q_OVERFLOW != 0 {
                    return None;
                }
                let Some(folder) = self.folders.get(&e.wd) else {
                    continue;
                };
                let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
                if name.is_empty() {
                    // The folder's own: gone, renamed, or no longer watched.
                    if e.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED) != 0
                    {
                        out.push(Event {
                            path: folder.clone(),
                            folder: true,
                        });
                    }
                    continue;
                }
                if e.mask & libc::IN_ISDIR != 0 {
                    // A folder's own metadata is nothing read; its entries
                    // are watched apart, or not at all (then it is new).
                    const MADE_OR_GONE: u32 =
                        libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;
                    if e.mask & MADE_OR_GONE != 0 {
                        out.push(Event {
                            path: folder.join(OsStr::from_bytes(name)),
                            folder: true,
                        });
                    }
                    continue;
                }
                out.push(Event {
                    path: folder.join(OsStr::from_bytes(name)),
                    folder: false,
                });
            }
        }
    }
}

impl Drop for Watch {
    /// Lets the watch go without waiting: the kernel waits out a grace
    /// period when the last reference to an instance closes (about 13 ms
    /// here, and a process's exit waits for it too). A forked child holds
    /// the last one instead: it closes every other descriptor it got (so
    /// that no lock or pipe of ours outlives us in it) but a pipe's end,
    /// waits for that pipe to close once ours is closed, then closes the
    /// instance and exits; a thread of ours reaps it. Where no child can
    /// be had, the wait is ours.
    fn drop(&mut self) {
        let fd = self.fd.as_raw_fd();
        let mut ends = [0; 2];
        // SAFETY: a plain system call into a two-element array.
        if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            // SAFETY: taken once, here; the wait is ours.
            drop(unsafe { std::mem::ManuallyDrop::take(&mut self.fd) });
            return;
        }
        let [read, write] = ends;
        // SAFETY: the child calls only async-signal-safe functions
        // (close_range or close, getrlimit, read, _exit; errno read)
        // before it exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: in the child, on descriptors it owns copies of.
            unsafe {
                keep_only(fd, read);
                // Until our end closes (EOF), or the pipe fails: retried
                // only when a signal broke the wait.
                let mut byte = 0u8;
                while libc::read(read, (&mut byte as *mut u8).cast(), 1) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                libc::close(fd);
                libc::_exit(0);
            }
        }
        // SAFETY: our read end, closed once.
        unsafe { libc::close(read) };
        if pid > 0 {
            let _ = std::thread::Builder::new()
                .name("precheck-unwatch".into())
                .spawn(move || {
                    let mut status = 0;
                    // SAFETY: waiting for our own child.
                    unsafe { libc::waitpid(pid, &mut status, 0) };
                });
        }
        // Our reference to the instance goes first, then the pipe's write
        // end, which lets the child go on and close the last one.
        // SAFETY: taken once, here; `self.fd` is not used after.
        drop(unsafe { std::mem::ManuallyDrop::take(&mut self.fd) });
        // SAFETY: our write end, closed once.
        unsafe { libc::close(write) };
    }
}

/// In a forked child: closes every descriptor but `a` and `b` (with
/// close_range, or one by one up to the limit where the kernel has none:
/// before Linux 5.9). Only system calls: safe between fork and exit.
unsafe fn keep_only(a: i32, b: i32) {
    let (lo, hi) = (a.min(b) as u32, a.max(b) as u32);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let last = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        (limit.rlim_cur.min(1 << 20) as u32).saturating_sub(1)
    } else {
        1023
    };
    for (from, to) in [
        (0, lo.wrapping_sub(1)),
        (lo + 1, hi.wrapping_sub(1)),
        (hi + 1, u32::MAX),
    ] {
        if from > to || (from == 0 && lo == 0) {
            continue;
        }
        if libc::syscall(libc::SYS_close_range, from, to, 0) != 0 {
            for fd in from..=to.min(last) {
                libc::close(fd as i32);
            }
        }
    }
}
