//! Processes and memory: the only reader of `/proc` and of the cgroup
//! files. It takes a snapshot of the process table (parent, resident memory and start time of
//! every process, or only of this process's descendants), walks process
//! trees in it, and reads the machine's limits.
//!
//! Reading only the descendants costs per running process, not per process
//! on the machine: the walk follows `/proc/PID/task/TID/children` down from
//! this process. It sees every process a check started as long as precheck
//! is their subreaper (`sys::child::adopt_orphans`): an orphan comes back to
//! precheck instead of going to init. Kernels without the `children` file
//! get the whole table instead.
//!
//! It never signals or starts a process: `sys::signal` and `exec::spawn`
//! do, with what this module finds.

use std::collections::HashMap;
use std::fs;

/// A process identity that survives pid reuse: the pid and its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

#[derive(Debug, Clone, Copy)]
struct Proc {
    zombie: bool,
    ppid: i32,
    pgrp: i32,
    rss: u64,
    start: u64,
    threads: u32,
}

/// One reading of the process table (live processes only: zombies count
/// as gone).
pub struct ProcTable {
    procs: HashMap<i32, Proc>,
    children: HashMap<i32, Vec<i32>>,
    /// This process's children that have exited and wait to be reaped.
    zombies: Vec<Zombie>,
}

/// An exited child of this process, not yet reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zombie {
    pub id: ProcId,
    pub pgrp: i32,
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// Parses `/proc/PID/stat`: the command name is in parentheses and may hold
/// spaces or parentheses itself, so fields are counted after the last `)`.
fn parse_stat(text: &str, page: u64) -> Option<Proc> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let zombie = fields.first()? == &"Z";
    let ppid = fields.get(1)?.parse().ok()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    let threads = fields.get(17)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    let rss_pages: i64 = fields.get(21)?.parse().ok()?;
    Some(Proc {
        zombie,
        ppid,
        pgrp,
        rss: rss_pages.max(0) as u64 * page,
        start,
        threads,
    })
}

/// A small file of /proc or /sys, read in one `read` of a page and one
/// that finds its end: these files report no size, so std's reading (a
/// `statx` for the size, then reads of 32, 32, 64, 128… bytes) takes four
/// times the system calls, on the hook's path too.
fn read_text(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    fs::File::open(path)?.read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Every pid in /proc.
fn pids() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
}

/// The identity of one live process (not a zombie), read without scanning
/// the whole table.
pub fn proc_id(pid: i32) -> Option<ProcId> {
    let text = read_text(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text, 1).filter(|p| !p.zombie).map(|p| ProcId {
        pid,
        start: p.start,
    })
}

/// Is this exact process (pid and start time) still running?
pub fn alive(pid: i32, start: u64) -> bool {
    proc_id(pid).is_some_and(|p| p.start == start)
}

/// This process's pid namespace (the inode of `/proc/self/ns/pid`), read
/// once; 0 where the kernel does not say.
pub fn pid_ns() -> u64 {
    static NS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino())
    })
}

/// Is the process `pid` started at `start`, in pid namespace `ns`, still
/// running, as far as this process can tell? A pid of another namespace
/// names another process here (a dev container's precheck and the host's,
/// on one repository), so such a process is never judged dead by us: only
/// its own side can. `ns` None (a record from before namespaces were
/// recorded) is read as ours.
pub fn alive_in(pid: i32, start: u64, ns: Option<u64>) -> bool {
    !in_our_pid_ns(ns) || alive(pid, start)
}

/// Is pid namespace `ns` ours (None, or a 0 the kernel did not tell,
/// counts as ours: records and kernels from before namespaces were read)?
pub fn in_our_pid_ns(ns: Option<u64>) -> bool {
    ns.is_none_or(|ns| ns == 0 || pid_ns() == 0 || ns == pid_ns())
}

/// Live processes whose environment holds `key=value`: how precheck finds
/// what a run that died had started, whatever became of their parents.
pub fn with_env(key: &str, value: &str) -> Vec<ProcId> {
    let wanted = format!("{key}={value}").into_bytes();
    let me = std::process::id() as i32;
    pids()
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_slice()))
        })
        .filter_map(proc_id)
        .collect()
}

fn read_stat(pid: i32, page: u64) -> Option<Proc> {
    parse_stat(&read_text(format!("/proc/{pid}/stat")).ok()?, page)
}

/// The children of every thread of `pid` (`threads` of them; one thread's
/// file is read directly, more are listed first).
fn children_of(pid: i32, threads: u32, out: &mut Vec<i32>) -> Option<()> {
    let mut read = |tid: i32| -> Option<()> {
        let text = read_text(format!("/proc/{pid}/task/{tid}/children")).ok()?;
        out.extend(
            text.split_whitespace()
                .filter_map(|c| c.parse::<i32>().ok()),
        );
        Some(())
    };
    if threads <= 1 {
        return read(pid);
    }
    let tids: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    for tid in tids {
        // A thread that ended meanwhile has no file: the others still count.
        let _ = read(tid);
    }
    Some(())
}

impl ProcTable {
    fn empty() -> ProcTable {
        ProcTable {
            procs: HashMap::new(),
            children: HashMap::new(),
            zombies: Vec::new(),
        }
    }

    fn add(&mut self, pid: i32, p: Proc) {
        if p.zombie {
            return;
        }
        self.children.entry(p.ppid).or_default().push(pid);
        self.procs.insert(pid, p);
    }

    /// Every process on the machine.
    pub fn scan() -> ProcTable {
        let page = page_size();
        let mut table = ProcTable::empty();
        for pid in pids() {
            if let Some(p) = read_stat(pid, page) {
                table.add(pid, p);
            }
        }
        table
    }

    /// This process's descendants (and the exited children waiting to be
    /// reaped); the whole table where the kernel has no `children` file.
    pub fn descendants() -> ProcTable {
        let page = page_size();
        let me = std::process::id() as i32;
        let Some(own) = read_stat(me, page) else {
            return ProcTable::scan();
        };
        let mut table = ProcTable::empty();
        let mut kids = Vec::new();
        if children_of(me, own.threads, &mut kids).is_none() {
            return ProcTable::scan();
        }
        let mut stack: Vec<i32> = kids;
        let mut seen = std::collections::HashSet::new();
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            let Some(p) = read_stat(pid, page) else {
                continue;
            };
            if p.zombie {
                if p.ppid == me {
                    table.zombies.push(Zombie {
                        id: ProcId {
                            pid,
                            start: p.start,
                        },
                        pgrp: p.pgrp,
                    });
                }
                continue;
            }
            let mut kids = Vec::new();
            let _ = children_of(pid, p.threads, &mut kids);
            stack.extend(kids);
            table.add(pid, p);
        }
        table
    }

    /// This process's exited children waiting to be reaped.
    pub fn zombies(&self) -> &[Zombie] {
        &self.zombies
    }

    /// Is this exact process (not a later one with its pid) alive?
    pub fn alive(&self, id: ProcId) -> bool {
        self.procs.get(&id.pid).is_some_and(|p| p.start == id.start)
    }

    pub fn id(&self, pid: i32) -> Option<ProcId> {
        self.procs.get(&pid).map(|p| ProcId {
            pid,
            start: p.start,
        })
    }

    /// The given live processes and all their descendants, each once.
    pub fn trees(&self, roots: impl IntoIterator<Item = ProcId>) -> Vec<ProcId> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<i32> = roots
            .into_iter()
            .filter(|r| self.alive(*r))
            .map(|r| r.pid)
            .collect();
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            if let Some(id) = self.id(pid) {
                out.push(id);
            }
            if let Some(kids) = self.children.get(&pid) {
                stack.extend(kids);
            }
        }
        out
    }

    /// The live members of a process group.
    pub fn group(&self, pgid: i32) -> Vec<ProcId> {
        self.procs
            .iter()
            .filter(|(_, p)| p.pgrp == pgid)
            .map(|(&pid, p)| ProcId {
                pid,
                start: p.start,
            })
            .collect()
    }

    /// Sum of resident memory over these processes.
    pub fn rss(&self, ids: &[ProcId]) -> u64 {
        ids.iter()
            .filter_map(|id| self.procs.get(&id.pid).filter(|p| p.start == id.start))
            .map(|p| p.rss)
            .sum()
    }
}

fn meminfo(key: &str) -> Option<u64> {
    let text = read_text("/proc/meminfo").ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    })
}

/// The cgroup (v2, else v1) memory limit and usage of this process, if any.
fn cgroup_memory() -> Option<(u64, u64)> {
    let read = |p: &str| -> Option<u64> { read_text(p).ok()?.trim().parse().ok() };
    if let Ok(text) = read_text("/proc/self/cgroup") {
        for line in text.lines() {
            if let Some(path) = line.strip_prefix("0::") {
                let base = format!("/sys/fs/cgroup{}", path.trim_end_matches('/'));
                if let Some(max) = read(&format!("{base}/memory.max")) {
                    let current = read(&format!("{base}/memory.current")).unwrap_or(0);
                    return Some((max, current));
                }
            }
        }
    }
    let limit = read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
    // v1 reports "no limit" as a huge number.
    if limit >= 1 << 60 {
        return None;
    }
    let usage = read("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
    Some((limit, usage))
}

/// Total physical memory, or the cgroup's limit when lower.
pub fn total() -> u64 {
    let total = meminfo("MemTotal").unwrap_or(8 << 30);
    match cgroup_memory() {
        Some((limit, _)) => total.min(limit),
        None => total,
    }
}

/// Memory available to start new work now, within the cgroup's limit.
pub fn available() -> u64 {
    let avail = meminfo("MemAvailable").unwrap_or_else(|| total() / 2);
    match cgroup_memory() {
        Some((limit, used)) => avail.min(limit.saturating_sub(used)),
        None => avail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_name() {
        let line = "123 (a) b (c)) S 45 123 123 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1000 10 18446744073709551615";
        let p = parse_stat(line, 4096).unwrap();
        assert_eq!(p.ppid, 45);
        assert_eq!(p.start, 777);
        assert_eq!(p.rss, 10 * 4096);
        assert_eq!(p.threads, 1);
    }

    #[test]
    fn descendants_hold_a_child_and_its_child() {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // The grandchild appears once sh has forked it.
        let mut found = Vec::new();
        for _ in 0..500 {
            let table = ProcTable::descendants();
            found = table.trees(table.id(pid));
            if found.len() >= 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.len() >= 2, "child and grandchild: {found:?}");
        assert!(found.iter().any(|p| p.pid == pid));
    }

    #[test]
    fn own_tree_is_found() {
        let table = ProcTable::scan();
        let me = table.id(std::process::id() as i32).unwrap();
        let tree = table.trees([me]);
        assert!(tree.contains(&me));
        assert!(table.rss(&tree) > 0);
    }
}
