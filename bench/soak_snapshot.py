#!/usr/bin/env python3
"""Randomized crash soak for the staged snapshot: no unstaged byte is ever lost.

What it proves
--------------
precheck's first guarantee (README, "The staged snapshot") is that a
`git commit` whose pre-commit hook is killed outright (`kill -9`, at any
moment) never loses a byte of the user's unstaged work, and that the next
precheck command puts everything back. This script checks exactly that, many
times, at random moments:

1. Once per run it builds a throwaway repository: `--files` tracked text files
   over 30 directories plus a few odd entries (an executable with a partial
   change, a symlink, a binary file with NULs, a file deleted in the work
   tree, a file whose only unstaged change is its mode, an untracked file),
   a `checks.toml` with one slow check (`sleep 0.2`), `precheck install`;
   then every tracked file is made partially staged (a staged change and a
   different unstaged change on top). The expected state (sha256 + mode of
   every work-tree path, and the index) is recorded once.
2. Each iteration copies that prepared directory (`cp -a`, `.git` included),
   starts `git commit`, waits a random delay in [0, D] ms and SIGKILLs either
   the `precheck hook pre-commit` process alone or the commit's whole process
   group (50/50). When precheck was not running at that moment (not started
   yet, or already done) the iteration is counted as "missed".
3. After git exits it recovers as a user would: `git commit` again (the hook
   recovers first) or `precheck list` (`--recover-with`).
4. It verifies:
   * lost edits: a pre-crash (sha256, mode) of a work-tree path that is found
     neither at that path nor anywhere under `.git/precheck/recovered/`;
     every path of the work tree is checked (all tracked files are partially
     staged, plus the untracked file and the committed checks.toml);
   * stray files: a work-tree path that did not exist before, and a
     `.git/precheck/snapshot` directory left after recovery;
   * leftover processes: anything still running with its cwd inside the
     iteration's repository after recovery (precheck's orphaned children).
   The index (`git ls-files -s`) is compared too and reported (informational).

A run is repeatable: every random choice (file contents, delays, kill mode,
recovery mode) comes from `--seed` (timing itself of course varies). The
delay bound is calibrated on the machine unless `--max-delay-ms` is given;
give it to replay the exact same delays elsewhere.

How to run
----------
A long soak (hours; leave it running)::

    python3 bench/soak_snapshot.py --iterations 2000 --seed 1

A short CI slice::

    python3 bench/soak_snapshot.py --iterations 20 --files 3000 --seed 7

Against another binary, keeping failing repositories for inspection::

    python3 bench/soak_snapshot.py --precheck path/to/other/precheck --iterations 30 --seed 1 --keep

One line is printed per iteration and a final summary
`soak: N iterations, L lost edits, S stray files, M missed`; the exit status
is 1 when L or S is above 0, a process was left running, or every kill
missed precheck (then nothing was tested), else 0.
Temporary repositories go under `tempfile.mkdtemp()` and are removed unless
`--keep` keeps failing ones. Run it on a real disk (the default /tmp here):
crash windows are wider there than on tmpfs (`TMPDIR=/dev/shm`), which is
faster per iteration but hides races that need slow I/O.
Python 3.11 standard library only; Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRECHECK = REPO_ROOT / "target/release/precheck"

DIRS = 30
CHECKS_TOML = """\
[checks.slow]
run = "sleep 0.2"
cache = false
"""
# Timeouts (seconds) for anything that should finish on its own.
GIT_TIMEOUT = 120
# How long processes left behind by a killed precheck may keep running before
# the soak kills them itself (so that the damage they do is complete and seen).
LEFTOVER_GRACE = 15.0

# Odd entries (paths relative to the repo root).
EXEC_FILE = "odd/run.sh"          # mode 755, partially staged
SYMLINK = "odd/link"              # symlink: staged and unstaged target changes
BINARY = "odd/blob.bin"           # random bytes with NULs, partially staged
DELETED = "odd/deleted.txt"       # staged change, then deleted in the work tree
MODE_ONLY = "odd/mode-only.txt"   # staged change, then only chmod +x unstaged
UNTRACKED = "odd/untracked.txt"   # never added: must never be touched


# --------------------------------------------------------------------------
# Git environment and helpers
# --------------------------------------------------------------------------


def isolated_env(home: Path) -> dict[str, str]:
    """The environment of every git and precheck call: no inherited GIT_* or
    PRECHECK_* variables, a private HOME and global config, no system config."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PRECHECK"))}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Soak", "GIT_AUTHOR_EMAIL": "soak@example.invalid",
        "GIT_COMMITTER_NAME": "Soak", "GIT_COMMITTER_EMAIL": "soak@example.invalid",
        "LC_ALL": "C",
    })
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], *, input: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True,
                          timeout=GIT_TIMEOUT)
    if check and proc.returncode != 0:
        raise SystemExit(f"soak: {' '.join(cmd)} failed in {cwd} ({proc.returncode}):\n"
                         f"{proc.stdout.decode(errors='replace')}"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc


def git(repo: Path, env: dict[str, str], *args: str, input: bytes | None = None) -> bytes:
    return run(["git", *args], repo, env, input=input).stdout


def git_add(repo: Path, env: dict[str, str], paths: list[str]) -> None:
    git(repo, env, "add", "--pathspec-from-file=-", "--pathspec-file-nul",
        input=b"\0".join(b":(literal)" + p.encode() for p in paths))


# --------------------------------------------------------------------------
# Work-tree state
# --------------------------------------------------------------------------


def git_mode(st: os.stat_result) -> str:
    """A file's mode as git sees it."""
    if stat.S_ISLNK(st.st_mode):
        return "120000"
    return "100755" if st.st_mode & stat.S_IXUSR else "100644"


def digest(path: Path, st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        data = os.fsencode(os.readlink(path))
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def walk(top: Path, skip_git: bool) -> dict[str, tuple[str, str]]:
    """{relative path: (sha256, mode)} for every file and symlink under top
    (lstat: symlinks are not followed; a symlink is hashed by its target)."""
    state: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if skip_git and dirpath == str(top):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        # os.walk lists symlinks to directories among dirnames: treat them as files.
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                dirnames.remove(name)
                filenames.append(name)
        for name in filenames:
            path = Path(dirpath, name)
            try:
                st = path.lstat()
                state[str(path.relative_to(top))] = (digest(path, st), git_mode(st))
            except FileNotFoundError:  # vanished while walking (a leftover writer)
                continue
    return state


# --------------------------------------------------------------------------
# Building the prepared repository (once)
# --------------------------------------------------------------------------


def text(rng: random.Random, name: str, lines: int = 6) -> bytes:
    body = [f"{name} line {i} {rng.getrandbits(64):016x}" for i in range(lines)]
    return ("\n".join(body) + "\n").encode()


def write(repo: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def build_template(repo: Path, env: dict[str, str], precheck: Path, files: int,
                   rng: random.Random) -> None:
    """The repository every iteration starts from: committed, hook installed,
    every tracked file partially staged."""
    repo.mkdir(parents=True)
    git(repo, env, "init", "-q", "-b", "main")
    names = [f"d{i % DIRS:02}/f{i:05}.txt" for i in range(files)]
    contents = {n: text(rng, n) for n in names}
    for n, data in contents.items():
        write(repo, n, data)
    blob = bytearray(rng.randbytes(64 * 1024))
    blob[::97] = b"\0" * len(blob[::97])  # plenty of NULs
    write(repo, EXEC_FILE, b"#!/bin/sh\necho one\necho two\necho three\n", 0o755)
    os.symlink("../d00/f00000.txt", repo / SYMLINK)
    write(repo, BINARY, bytes(blob))
    write(repo, DELETED, text(rng, DELETED))
    write(repo, MODE_ONLY, text(rng, MODE_ONLY))
    write(repo, "checks.toml", CHECKS_TOML.encode())
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-qm", "base")
    run([str(precheck), "install"], repo, env)

    # Staged changes: every tracked file (checks.toml aside) differs from HEAD.
    for n, data in contents.items():
        (repo / n).write_bytes(data.replace(b"line 0", b"line 0 staged", 1))
    write(repo, EXEC_FILE, b"#!/bin/sh\necho one staged\necho two\necho three\n", 0o755)
    (repo / SYMLINK).unlink()
    os.symlink("../d01/f00001.txt", repo / SYMLINK)
    blob[100:108] = b"STAGED\0\0"
    write(repo, BINARY, bytes(blob))
    write(repo, DELETED, text(rng, DELETED + " staged"))
    write(repo, MODE_ONLY, text(rng, MODE_ONLY + " staged"))
    git(repo, env, "add", "-A")

    # Unstaged changes on top, each different from the staged one.
    for n, data in contents.items():
        (repo / n).write_bytes(data.replace(b"line 0", b"line 0 staged", 1)
                               + f"unstaged {rng.getrandbits(64):016x}\n".encode())
    write(repo, EXEC_FILE, b"#!/bin/sh\necho one staged\necho two\necho three unstaged\n",
          0o755)
    (repo / SYMLINK).unlink()
    os.symlink("../d02/f00002.txt", repo / SYMLINK)
    blob[5000:5010] = b"UNSTAGED\0\0"
    write(repo, BINARY, bytes(blob))
    (repo / DELETED).unlink()
    (repo / MODE_ONLY).chmod(0o755)
    write(repo, UNTRACKED, text(rng, UNTRACKED))

    # Pack the objects (the index's blobs included) so each copy is cheap.
    git(repo, env, "repack", "-adq")
    git(repo, env, "prune-packed")
    unstaged = git(repo, env, "diff", "--name-only", "-z").split(b"\0")
    expected = len(contents) + 5  # the five odd tracked entries
    if len([p for p in unstaged if p]) != expected:
        raise SystemExit(f"soak: expected {expected} files with unstaged changes, "
                         f"git diff lists {len(unstaged) - 1}")


def copy_repo(template: Path, dest: Path, env: dict[str, str]) -> None:
    subprocess.run(["cp", "-a", str(template), str(dest)], check=True)
    # A copy has new inodes: refresh the index's stat data, as a user's would be.
    run(["git", "update-index", "-q", "--refresh"], dest, env, check=False)


# --------------------------------------------------------------------------
# Processes (/proc)
# --------------------------------------------------------------------------


def pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid), or None when the process is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # comm may hold spaces and ')'
    return fields[0].decode(), int(fields[1])


def descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        st = proc_stat(pid)
        if st is None or st[1] <= 1:
            return False
        pid = st[1]
    return False


def find_precheck(git_pid: int, binary: set[bytes]) -> int | None:
    """The live precheck running the pre-commit hook under the git we started:
    `precheck shim .../pre-commit` (the exec shim's `#!` line) or `precheck
    hook pre-commit` (the shell shim)."""
    for pid in pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or argv[0] not in binary:
            continue
        by_shim = len(argv) > 2 and argv[1] == b"shim" and argv[2].endswith(b"/pre-commit")
        by_name = b"hook" in argv and b"pre-commit" in argv
        if not (by_shim or by_name):
            continue
        st = proc_stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue  # already exited, not yet reaped
        if descends_from(pid, git_pid):
            return pid
    return None


def processes_in(repo: Path) -> list[int]:
    """Processes (other than this one) whose cwd is inside repo."""
    me, found = os.getpid(), []
    root = str(repo)
    for pid in pids():
        if pid == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + "/"):
            found.append(pid)
    return found


def describe(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return f"{pid}:" + " ".join(a.decode(errors="replace") for a in argv if a)[:80]
    except OSError:
        return f"{pid}:?"


def settle(repo: Path, timeout: float) -> None:
    """Waits until nothing runs inside repo any more; then kills what is left."""
    deadline = time.monotonic() + timeout
    while (left := processes_in(repo)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while processes_in(repo) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


# --------------------------------------------------------------------------
# One iteration
# --------------------------------------------------------------------------


@dataclass
class Result:
    seed: str
    delay_ms: int
    killed: str
    recover: str
    missed: bool
    lost: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)
    index_changed: bool = False
    orphans: int = 0
    stale_lock: bool = False
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.stray or self.leftover)


def recover(repo: Path, env: dict[str, str], how: str, precheck: Path, log: Path) -> None:
    """What a user does after the crash: commit again, or any precheck command."""
    cmd = (["git", "commit", "-qm", "soak2"] if how == "commit"
           else [str(precheck), "list"])
    with open(log, "ab") as out:
        out.write(f"\n--- recovery: {' '.join(cmd)}\n".encode())
        out.flush()
        # Whether it passes or fails does not matter; only what is left does.
        subprocess.run(cmd, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=out,
                       stderr=subprocess.STDOUT, timeout=GIT_TIMEOUT)


def clear_stale_index_lock(repo: Path) -> bool:
    """A commit killed with its group may leave git's own `.git/index.lock`;
    a user removes it (git says so) before committing again. Only removed once
    nothing runs in the repo any more, or after a short wait."""
    lock = repo / ".git/index.lock"
    deadline = time.monotonic() + 2.0
    while lock.exists() and processes_in(repo) and time.monotonic() < deadline:
        time.sleep(0.02)
    if lock.exists():
        lock.unlink(missing_ok=True)
        return True
    return False


def iteration(n: int, args: argparse.Namespace, ctx: "Context") -> Result:
    rng = random.Random(f"{args.seed}.{n}")
    it_seed = f"{args.seed}.{n}"
    delay_ms = rng.randint(0, ctx.max_delay_ms)
    group = rng.random() < 0.5
    how = args.recover_with if args.recover_with != "random" else rng.choice(["commit", "list"])
    start = time.monotonic()

    idir = ctx.scratch / f"iter-{n:05}"
    idir.mkdir()
    repo, log = idir / "repo", idir / "commit.log"
    copy_repo(ctx.template, repo, ctx.env)

    # 4. Commit, and kill precheck (or the whole commit) after the delay.
    with open(log, "wb") as out:
        commit = subprocess.Popen(["git", "commit", "-qm", "soak"], cwd=repo, env=ctx.env,
                                  stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    time.sleep(delay_ms / 1000)
    target = find_precheck(commit.pid, ctx.binary)
    killed_at = round((time.monotonic() - t0) * 1000)
    if group:
        try:
            os.killpg(commit.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        killed = "group" if target else "group(no precheck)"
    elif target:
        try:
            os.kill(target, signal.SIGKILL)
            killed = "precheck"
        except ProcessLookupError:
            target, killed = None, "nothing"
    else:
        killed = "nothing"
    missed = target is None
    try:
        commit.wait(timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(commit.pid, signal.SIGKILL)
        commit.wait()

    # Informational: what the killed precheck left running (recovery must stop it).
    orphans = len(processes_in(repo))

    # 5. Recover.
    stale_lock = clear_stale_index_lock(repo)
    recover(repo, ctx.env, how, ctx.precheck, log)

    # 6. Verify. Processes still running in the repo now were left behind by
    # the killed precheck (recovery should have stopped them); let them finish
    # (or kill them) first, so whatever they still write is seen.
    leftover = [describe(p) for p in processes_in(repo)]
    if leftover:
        settle(repo, LEFTOVER_GRACE)
    after = walk(repo, skip_git=True)
    recovered_dir = repo / ".git/precheck/recovered"
    recovered = set(walk(recovered_dir, skip_git=False).values()) if recovered_dir.exists() else set()
    lost = [p for p, want in ctx.before.items()
            if after.get(p) != want and want not in recovered]
    stray = [p for p in after if p not in ctx.before]
    if (repo / ".git/precheck/snapshot").exists():
        stray.append(".git/precheck/snapshot/")
    index = run(["git", "ls-files", "-s", "-z"], repo, ctx.env, check=False).stdout
    res = Result(it_seed, killed_at, killed, how, missed, lost, stray, leftover,
                 index_changed=index != ctx.index, orphans=orphans, stale_lock=stale_lock)
    res.seconds = time.monotonic() - start

    if res.failed and args.keep:
        print(f"soak: kept {idir}", flush=True)
    else:
        shutil.rmtree(idir, ignore_errors=True)
    return res


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


@dataclass
class Context:
    scratch: Path
    template: Path
    env: dict[str, str]
    precheck: Path
    binary: set[bytes]
    before: dict[str, tuple[str, str]]
    index: bytes
    max_delay_ms: int = 0


def calibrate(ctx: Context) -> float:
    """Milliseconds one uninterrupted commit takes on a fresh copy."""
    repo = ctx.scratch / "calibrate"
    copy_repo(ctx.template, repo, ctx.env)
    t0 = time.monotonic()
    proc = subprocess.run(["git", "commit", "-qm", "calibrate"], cwd=repo, env=ctx.env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT)
    ms = (time.monotonic() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit("soak: the calibration commit failed:\n"
                         + (proc.stdout + proc.stderr).decode(errors="replace"))
    after = walk(repo, skip_git=True)
    if after != ctx.before:
        raise SystemExit("soak: an uninterrupted commit changed the work tree; "
                         "precheck loses data even without a crash")
    shutil.rmtree(repo)
    return ms


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=100, help="how many crashes (default 100)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    p.add_argument("--files", type=int, default=3000,
                   help="tracked text files, all partially staged (default 3000)")
    p.add_argument("--max-delay-ms", type=int, default=None,
                   help="kill after a delay drawn from [0, this] (default: 1.2x a calibrated "
                        "uninterrupted commit)")
    p.add_argument("--recover-with", choices=["commit", "list", "random"], default="random",
                   help="after the crash: `git commit` again, `precheck list`, or either "
                        "per iteration (default random)")
    p.add_argument("--precheck", type=Path, default=DEFAULT_PRECHECK,
                   help=f"the binary under test (default {DEFAULT_PRECHECK})")
    p.add_argument("--keep", action="store_true",
                   help="keep failing iterations' repositories and print their paths")
    p.add_argument("--quiet", action="store_true",
                   help="print only failing iterations and the summary")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    precheck = args.precheck.absolute()
    if not os.access(precheck, os.X_OK):
        print(f"soak: no executable precheck at {precheck} "
              "(cargo build --release, or pass --precheck)", file=sys.stderr)
        return 2
    # The shim execs the absolute path `precheck install` recorded: match it
    # however the path was spelled.
    binary = {os.fsencode(precheck), os.fsencode(precheck.resolve())}

    scratch = Path(tempfile.mkdtemp(prefix="precheck-soak-"))
    home = scratch / "home"
    home.mkdir()
    # No background `git maintenance`/`gc --auto` after a commit: it would run
    # in the repository and count as a leftover process.
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n"
                                     "[commit]\n\tgpgsign = false\n"
                                     "[maintenance]\n\tauto = false\n"
                                     "[gc]\n\tauto = 0\n")
    env = isolated_env(home)
    kept_any = False
    try:
        t0 = time.monotonic()
        template = scratch / "template"
        build_template(template, env, precheck, args.files, random.Random(args.seed))
        ctx = Context(scratch, template, env, precheck, binary,
                      before=walk(template, skip_git=True),
                      index=git(template, env, "ls-files", "-s", "-z"))
        build_s = time.monotonic() - t0
        if args.max_delay_ms is None:
            commit_ms = calibrate(ctx)
            ctx.max_delay_ms = max(1, round(commit_ms * 1.2))
            calib = f"; one commit takes {commit_ms:.0f} ms"
        else:
            ctx.max_delay_ms, calib = args.max_delay_ms, ""
        if not args.quiet:
            print(f"soak: {precheck}; {len(ctx.before)} work-tree paths, repo built in "
                  f"{build_s:.1f} s{calib}; delays in [0, {ctx.max_delay_ms}] ms", flush=True)

        lost = stray = missed = leftover = index_changed = 0
        total_s = 0.0
        for n in range(args.iterations):
            r = iteration(n, args, ctx)
            lost += len(r.lost)
            stray += len(r.stray)
            missed += r.missed
            leftover += len(r.leftover)
            index_changed += r.index_changed
            total_s += r.seconds
            kept_any |= r.failed and args.keep
            if not args.quiet or r.failed:
                notes = (f" orphans-before-recovery={r.orphans}" if r.orphans else "") + \
                        (" index-changed" if r.index_changed else "") + \
                        (" stale-index.lock" if r.stale_lock else "") + \
                        (" missed" if r.missed else "")
                print(f"iter {n} seed {r.seed} delay {r.delay_ms}ms killed={r.killed} "
                      f"recover={r.recover} lost={len(r.lost)} stray={len(r.stray)} "
                      f"leftover={len(r.leftover)} {r.seconds:.2f}s{notes}", flush=True)
                for label, items in (("lost", r.lost), ("stray", r.stray),
                                     ("leftover", r.leftover)):
                    if items:
                        more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                        print(f"    {label}: {', '.join(items[:5])}{more}", flush=True)

        if not args.quiet and args.iterations:
            print(f"soak: {total_s / args.iterations:.2f} s per iteration; "
                  f"{leftover} leftover processes; index changed in {index_changed}",
                  flush=True)
        print(f"soak: {args.iterations} iterations, {lost} lost edits, {stray} stray files, "
              f"{missed} missed", flush=True)
        # Every kill missing precheck means nothing was tested (the process
        # was not recognised, or the delays are off): a failure too.
        all_missed = args.iterations > 0 and missed == args.iterations
        if all_missed:
            print("soak: every kill missed precheck; nothing was tested", flush=True)
        return 1 if lost or stray or leftover or all_missed else 0
    finally:
        if kept_any:
            for entry in ("template", "calibrate"):
                shutil.rmtree(scratch / entry, ignore_errors=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
