#!/usr/bin/env python3
"""Wall-clock benchmark: precheck against pre-commit, prek and lefthook.

What it measures
----------------
The time one `run` of each tool takes, from process start to exit, in a fresh
throw-away git repository set up for the scenario, for the same checks written
in each tool's own config:

* overhead   -- one staged file, one trivial check (`true`): the cost of the
                runner itself.
* parallel   -- one staged file, four checks, each `sleep 1`: how well the
                runner overlaps independent checks. The lower bound is
                1000 ms; the table also shows each tool's median minus that
                bound.
* partial    -- 200 tracked .txt files, each with a staged change and a
                different unstaged change on top (every file partially
                staged); one trivial check that receives the files. This
                measures setting unstaged changes aside and restoring them.
* large      -- 20,000 tracked .txt files in 200 directories, 2,000 of them
                staged with changes, no unstaged changes; one trivial check
                on `*.txt` that receives the staged files. This measures file
                selection, glob matching and batching.
* big-binary -- one 50 MiB binary file (random bytes), partially staged: the
                index differs from HEAD in a few bytes and the work tree from
                the index in a few others; one trivial check with no files,
                always run. This measures setting aside and restoring a big
                file's unstaged changes.
* cached     -- the parallel scenario's suite (four checks, each `sleep 1`) run
                again with nothing changed. Here, and only here, precheck runs
                with its result cache (`precheck run -q`): its warm-up run
                fills the cache, so the timed runs skip the checks. pre-commit,
                prek and lefthook have no result cache and run the checks
                every time. A `precheck run --format json` after the warm-up
                must report every check as "cached", every timed precheck run
                must take under 500 ms (CACHED_MAX_MS; a real run takes at least
                1000 ms), and every peer run must take at least 1000 ms.
* huge-select, huge-glob, huge-snapshot -- one repository of 100,000 tracked
                files (500 directories x 200 files, half *.txt, half *.rs),
                built once and reused; 5,000 of the files (2,500 .txt, 2,500
                .rs) are staged with changes. Between sub-scenarios the repo is
                reset to its base commit, the sub-scenario's configs are
                committed on top, and the changes re-applied.
                huge-select:   one check with no files, always run (`true`):
                               opening the repo and finding the staged files.
                huge-glob:     one check on `*.txt` that receives the 2,500
                               staged .txt files: selection, glob matching,
                               batching (content probe: exactly those files).
                huge-snapshot: the 5,000 staged files also have unstaged
                               changes on top; one check with no files:
                               setting the unstaged changes aside and
                               restoring them (content probe on a sample of
                               100 of the files).
                (`--scenario huge` selects all three.)
* scale-10, scale-50, scale-200, scale-800, scale-1000 -- one staged file and
                N trivial checks (N = 10 ... 1000), each `true`, with no files,
                always run: how the runner's own cost grows with the number of
                checks. precheck's checks are `run = ["true"]`: an array
                `run` starts the program without a shell, as prek starts its
                `entry`; lefthook always goes through `sh -c`. The tool
                `precheck-sh` is precheck again with `run = "true"`, the
                string form users write (which precheck gives to `/bin/sh -c`
                unless, as here, it is only a program and its words: then it
                starts the program as sh would, without sh), from
                checks-sh.toml (`precheck --config checks-sh.toml run`), so
                both forms are shown. Only precheck, precheck-sh, prek and lefthook take part
                (the Scenario's `peers`): pre-commit is left out because it runs
                hooks one after another, so with hundreds of hooks its time
                would dwarf the others' (and the benchmark's run time) while
                measuring only its serial loop. Before the timing, each tool
                runs a marker probe: the same N checks, each a `touch` of its
                own marker file outside the repo, and all N markers must
                exist. A summary after scale-1000 gives, per N, each tool's
                median, precheck's ms per check (median / N) and each peer's
                ratio to precheck, and precheck's 800-check / 200-check median
                ratio (the requirement: at most 4.5x). With --syscalls,
                precheck runs once more in each scale-N repo after the timing
                (untimed, and checked like every run) under `strace -f -c`;
                the summary then gives, per N, the total syscall count and the
                calls of rename (rename, renameat, renameat2 together), openat,
                read, sched_yield and futex, from strace's summary table (-f:
                the N `true` children are counted too). Without
                strace on PATH this is skipped with a note.
                (`--scenario scale` selects all five.)
* hook       -- what a real `git commit` pays for each tool's installed
                pre-commit hook with one trivial check (`true`): one repo per
                tool with its hook installed (`precheck install`, `pre-commit
                install`, `prek install`, `lefthook install` with the native
                binary) and one repo with no hook. Before every commit
                (untimed) one file is changed and `git add`ed; only `git commit
                -q -m msg` is timed. The baseline is `git commit --no-verify`
                in the no-hook repo; a tool's overhead is its median minus the
                baseline's median. A probe (in separate repos, two commits per
                tool, the check touching a marker file outside the repo)
                proves each hook runs its check and the commit is created;
                after every timed commit the script checks that a commit with
                the staged tree was created on top of the old HEAD and that the
                work tree is clean.

Before any timing, each tool runs a probe config whose checks `touch` marker
files, to prove that it really runs every configured check (a tool that exits 0
without running anything would otherwise look very fast); the scale-* scenarios
repeat that with their own N checks (see above). For partial, large
and big-binary each tool also runs a content probe first, in a separate copy
of the scenario's repository: a check that records every file it receives, the
SHA-1 of each file's bytes as the check sees them, and `git stash list`. That
proves the tool passes exactly the expected files, and shows whether the check
saw the staged (index) version or the work-tree version, i.e. whether the tool
set the unstaged changes aside.

Then, per scenario, each tool is run once (warm-up; in overhead, scale-N and
hook, 21 times: precheck keeps its last 20 runs' records and from the 21st run
on rewrites the oldest one's files instead of creating new ones, the steady
state of a repository in use; it also lets pre-commit and
prek do their one-time setup) and must exit 0 -- and, where there is a lower
bound, take at least that long. A tool that fails any of this is reported as
failed, with its output, and left out of the timing. Finally every tool is run
N times, round-robin (the order rotates each round), so machine noise hits all
tools alike. The report gives the median and the minimum in milliseconds and
each tool's median relative to precheck's.

Correctness: after every run of every tool (probe, warm-up and timed, in every
scenario), outside the timed span, the script compares the repository with its
state before the first run: HEAD, the index entries (`git ls-files -s`: mode
and blob id of each path), `git diff --cached`, `git diff`, `git status` with
untracked and ignored files, `git stash list`, and the SHA-256 and mode of
every tracked file's bytes in the work tree. A tool that changes any of it is
reported as failed, with what differed, and the state is re-created before the
next run. (Reading the state runs `git status`, which also refreshes the
index's stat data, so every run starts from a fresh index.) In the huge-*
scenarios the same check is done more cheaply: `git status --porcelain=v2 -z`
with untracked and ignored files (it compares every tracked file with the
index, re-reading any file whose stat data changed), HEAD, `git ls-files -s`,
`git stash list`, and the SHA-256 and mode of the 5,000 changed files only.

How each tool is configured and invoked
---------------------------------------
* precheck:   `checks.toml` ([settings] jobs = 4), run as
              `precheck run -q --no-cache` (its result cache off, so every run
              does the work, like the peers) in every scenario but `cached`,
              which runs `precheck run -q` with the cache.
              A check on files: `run = "true {files}"`, `glob = "*.txt"`.
* pre-commit: `.pre-commit-config.yaml` with `repo: local`, `language: system`
              hooks; checks without files have `pass_filenames: false`,
              `always_run: true`; a check on files has `files: \\.txt$` and
              the default `pass_filenames: true`. Run as `pre-commit run`.
              pre-commit always runs hooks one after another.
* prek:       the same hooks in prek's native `prek.toml` (which prek prefers
              over the YAML file), each with `priority = 0`: hooks sharing a
              priority run concurrently. prek caps that at the CPU count by
              default, so PREK_CONCURRENT_HOOKS=4 is set to match precheck's
              jobs = 4. (The extra key lives in prek.toml rather than the shared
              YAML because pre-commit warns about unknown keys.) Run as
              `prek run`.
* lefthook:   `lefthook.yml` with `parallel: true` (lefthook then starts
              every command at once; it has no limit to set to 4); a check on
              files has `run: true {staged_files}`, `glob: "*.txt"`. Run as
              `lefthook run pre-commit --no-auto-install` (without that flag
              lefthook would write git hooks into the repo on every run). The
              PyPI package's `lefthook` command is a Python wrapper that spawns
              the bundled Go binary; the binary is timed directly, so Python's
              start-up is not counted against lefthook.

What each tool does with unstaged changes in these runs (the content probe
shows it for each run of the script):
* precheck:   moves every tracked file whose work tree differs from the index
              into .git/precheck/snapshot, writes the index version in its
              place, runs the checks, moves the files back.
* pre-commit: `pre-commit run` (without --all-files or --files) writes the
              unstaged changes as a binary patch into PRE_COMMIT_HOME, runs
              `git checkout -- .`, runs the hooks, then `git apply`s the patch.
* prek:       `prek run` likewise writes them as a patch into
              PREK_HOME/patches, checks out the index version of those files,
              runs the hooks, re-applies the patch.
* lefthook:   for the pre-commit hook (also when run as `lefthook run
              pre-commit`) it finds the partially staged files, saves their
              unstaged diff in .git/info/lefthook-unstaged.patch, records a
              `git stash` entry ("lefthook auto backup"), checks out the index
              version of those files
              (`git checkout --force --`), runs the commands, applies the
              patch and drops the stash entry.

The peers are installed from PyPI on first use into bench/.venv. pre-commit's
and prek's caches (PRE_COMMIT_HOME, PREK_HOME) point into the scratch
directory, so the user's own caches are neither used nor touched. Every scratch
repository has gc.auto = 0 and maintenance.auto = false, so no background
`git gc` runs during the timing. All files are removed afterwards.

Usage
-----
    python3 bench/run.py [--precheck PATH] [--runs N] [--scenario NAME]... [--syscalls]
                         [--write]

    --precheck PATH  precheck binary (default: target/release/precheck in the
                     repository root; build it with `cargo build --release`)
    --runs N         timed runs per tool (default: 20 overhead, 5 parallel,
                     10 partial, 10 large, 5 big-binary, 5 cached, 5 each
                     huge-*, 5 each scale-*, 20 hook)
    --scenario NAME  run only this scenario (repeatable; `huge` = the three
                     huge-* scenarios, `scale` = the five scale-* scenarios)
    --syscalls       in the scale-* scenarios, also count precheck's syscalls
                     with `strace -f -c` (one extra untimed run per N)
    --write          replace (or append) the generated section of BENCHMARKS.md
                     in the repository root with this run's results

Python 3.11 standard library only. Tables go to stdout, progress to stderr.
Exit status 1 when any tool failed anything, or when the precheck binary
changed (was rebuilt) during the benchmark; --write then writes nothing if
precheck failed or changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV = BENCH_DIR / ".venv"
VENV_BIN = VENV / "bin"
PEER_PACKAGES = ("pre-commit", "prek", "lefthook")
PEERS = PEER_PACKAGES  # the tools compared with precheck, by Tool.name (= package name)
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
SECTION_START = "<!-- bench/run.py: start (generated; do not edit by hand) -->"
SECTION_END = "<!-- bench/run.py: end -->"

PRECHECK_JOBS = 4
RUN_TIMEOUT_S = 300
# Environment variables that would change how git or a peer behaves.
SCRUBBED_ENV_PREFIXES = ("GIT_", "LEFTHOOK", "PRE_COMMIT", "PREK_")
SCRUBBED_ENV_NAMES = ("SKIP",)

# Scenario sizes.
PARTIAL_FILES = 200
LARGE_DIRS, LARGE_FILES_PER_DIR, LARGE_STAGED_EVERY = 200, 100, 10  # 20,000 files, 2,000 staged
BIG_FILE, BIG_SIZE = "big.bin", 50 * 1024 * 1024
# 100,000 files: in each of 500 dirs, 200 files alternating .txt/.rs; of each
# dir's files, those with f % 40 in (0, 1) are staged: 5 .txt + 5 .rs per dir.
HUGE_DIRS, HUGE_FILES_PER_DIR, HUGE_STAGED_MOD = 500, 200, 40
HUGE_PROBE_SAMPLE_EVERY = 50  # huge-snapshot content probe: every 50th changed file
# cached: a precheck run that skips four 1 s checks must take less than this.
CACHED_MAX_MS = 500.0
HOOK_SCENARIO = "hook"
HOOK_DEFAULT_RUNS = 20
# scale-N: N trivial checks; precheck against prek and lefthook only (see the
# docstring for why pre-commit is left out).
SCALE_SIZES = (10, 50, 200, 800, 1000)
SCALE_PEERS = ("precheck-sh", "prek", "lefthook")
# precheck-sh: precheck again, with every check a string `run`.
PRECHECK_SH_CONFIG = "checks-sh.toml"
SCALE_DEFAULT_RUNS = 5
# Untimed runs before the timing in the overhead, scale-N and hook scenarios:
# precheck keeps its last 20 runs' records (keep_runs) and from the 21st run on
# rewrites the oldest one's files in place instead of creating files, which is
# what a repository in use sees; every tool gets the same warm-up.
STEADY_WARMUPS = 21
# The scaling requirement: precheck's median with SCALE_RATIO_HIGH checks may be
# at most SCALE_RATIO_MAX times its median with SCALE_RATIO_LOW checks.
SCALE_RATIO_LOW, SCALE_RATIO_HIGH, SCALE_RATIO_MAX = 200, 800, 4.5
# --syscalls: the syscalls reported per N (strace -c's names; "rename" counts
# every syscall in RENAME_SYSCALLS).
SYSCALLS_REPORTED = ("rename", "openat", "read", "sched_yield", "futex")
RENAME_SYSCALLS = ("rename", "renameat", "renameat2")
SCENARIO_GROUPS = {
    "huge": ("huge-select", "huge-glob", "huge-snapshot"),
    "scale": tuple(f"scale-{n}" for n in SCALE_SIZES),
}


# --------------------------------------------------------------------------
# Scenarios: checks and repository layouts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check, the same in every tool's config.

    Without a glob the check always runs and gets no files. With one, it runs
    only if a staged file matches, and the matching staged files are appended
    to `entry` as arguments (precheck `{files}`, pre-commit/prek
    pass_filenames, lefthook `{staged_files}`). `glob` is precheck's and
    lefthook's pattern, `regex` pre-commit's and prek's `files` for the same set.
    """

    entry: str
    glob: str | None = None
    regex: str | None = None
    # precheck runs it without a shell (an array `run`), as prek runs its
    # `entry`; the `precheck-sh` tool runs the same check as a string `run`.
    direct: bool = False


TXT_FILES = {"glob": "*.txt", "regex": r"\.txt$"}


@dataclass
class Layout:
    """The tracked files of a scenario repo (besides the configs) and its changes."""

    committed: dict[str, bytes]  # path -> bytes in HEAD
    staged: dict[str, bytes] = field(default_factory=dict)  # index versions that differ from HEAD
    unstaged: dict[str, bytes] = field(default_factory=dict)  # work-tree versions that differ from the index

    def index_version(self, path: str) -> bytes:
        return self.staged.get(path, self.committed[path])

    def worktree_version(self, path: str) -> bytes:
        return self.unstaged.get(path, self.index_version(path))


def layout_one_file() -> Layout:
    return Layout({"hello.txt": b"hello\n"}, {"hello.txt": b"hello, world\n"})


def layout_partial() -> Layout:
    """200 .txt files; each has a staged change and another, unstaged one on top."""
    layout = Layout({})
    for i in range(PARTIAL_FILES):
        path = f"text/f{i:03d}.txt"
        lines = [f"file {i}, line {n}\n" for n in range(40)]
        layout.committed[path] = "".join(lines).encode()
        lines[2] = f"file {i}, line 2: staged change\n"
        layout.staged[path] = "".join(lines).encode()
        lines[30] = f"file {i}, line 30: unstaged change on top\n"
        layout.unstaged[path] = "".join(lines).encode()
    return layout


def layout_large() -> Layout:
    """20,000 .txt files in 200 directories; every 10th one staged with a change."""
    layout = Layout({})
    n = 0
    for d in range(LARGE_DIRS):
        for f in range(LARGE_FILES_PER_DIR):
            path = f"d{d:03d}/f{f:03d}.txt"
            text = f"{path}\nsome text\n".encode()
            layout.committed[path] = text
            if n % LARGE_STAGED_EVERY == 0:
                layout.staged[path] = text + b"a staged change\n"
            n += 1
    return layout


def flip_bytes(data: bytes, offsets: tuple[int, ...]) -> bytes:
    out = bytearray(data)
    for offset in offsets:
        out[offset] ^= 0xFF
    return bytes(out)


def layout_big_binary() -> Layout:
    """One 50 MiB random file; index and work tree each differ in 3 other bytes."""
    committed = os.urandom(BIG_SIZE)
    staged = flip_bytes(committed, (1_000, BIG_SIZE // 2, BIG_SIZE - 1_000))
    unstaged = flip_bytes(staged, (2_000, BIG_SIZE // 3, BIG_SIZE - 2_000))
    return Layout({BIG_FILE: committed}, {BIG_FILE: staged}, {BIG_FILE: unstaged})


def huge_path(d: int, f: int) -> str:
    return f"d{d:03d}/f{f:03d}.{'txt' if f % 2 == 0 else 'rs'}"


HUGE_FILES = HUGE_DIRS * HUGE_FILES_PER_DIR
HUGE_CHANGED = sorted(
    huge_path(d, f) for d in range(HUGE_DIRS) for f in range(HUGE_FILES_PER_DIR)
    if f % HUGE_STAGED_MOD in (0, 1)
)  # 5,000: 2,500 .txt and 2,500 .rs
HUGE_PROBE_SAMPLE = tuple(HUGE_CHANGED[::HUGE_PROBE_SAMPLE_EVERY])


def huge_committed() -> dict[str, bytes]:
    """The huge repo's base commit: 100,000 small text files."""
    files = {}
    for d in range(HUGE_DIRS):
        for f in range(HUGE_FILES_PER_DIR):
            path = huge_path(d, f)
            files[path] = f"{path}\nsome text\nmore text\n".encode()
    return files


def layout_huge(partial: bool) -> Layout:
    """The 5,000 changed files staged; with partial, another change unstaged on top."""
    layout = Layout(huge_committed())
    for path in HUGE_CHANGED:
        layout.staged[path] = layout.committed[path] + b"a staged change\n"
        if partial:
            layout.unstaged[path] = layout.staged[path] + b"an unstaged change on top\n"
    return layout


# Repositories that several scenarios share (built once): name -> base commit's files.
SHARED_BASES: dict[str, Callable[[], dict[str, bytes]]] = {"huge": huge_committed}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    measures: str  # one sentence for the report: what the scenario measures
    checks: tuple[Check, ...]
    default_runs: int
    lower_bound_ms: float | None = None
    layout: Callable[[], Layout] = layout_one_file
    # Content probe: run a recording check first; the fixed arguments it gets
    # when the scenario's check takes no files.
    content_probe: bool = False
    probe_args: tuple[str, ...] = ()
    # precheck runs with its result cache (no --no-cache); see "cached".
    precheck_cached: bool = False
    # The name of a repo in SHARED_BASES to reuse instead of a fresh repo.
    shared: str | None = None
    # Whose work-tree bytes the state check hashes: None = every tracked file;
    # otherwise only the layout's changed files (git status covers the rest).
    hash_changed_only: bool = False
    # The peers (Tool names) that take part; precheck always does.
    peers: tuple[str, ...] = PEERS
    # Marker probe: before the timing, each tool runs the scenario's checks, each
    # replaced by a `touch` of its own marker file; every marker must exist.
    marker_probe: bool = False
    # Untimed runs per tool before the timing (see STEADY_WARMUPS).
    warmups: int = 1
    # One of the scale-N scenarios: in the scale summary, and with --syscalls
    # precheck runs once more under strace after the timing.
    scale: bool = False


def scale_scenario(n: int) -> Scenario:
    """scale-N: N trivial checks that get no files and always run; no pre-commit."""
    return Scenario(
        f"scale-{n}", f"{n:,} trivial checks (`true`), precheck vs prek and lefthook",
        f"how the runner's own cost grows with the number of checks: one staged file and "
        f"{n:,} checks that do nothing, get no files and always run. pre-commit is left out "
        "(it runs hooks one after another, so with many hooks its time would dwarf the "
        "others'); see the scale summary.",
        (Check("true", direct=True),) * n, SCALE_DEFAULT_RUNS,
        peers=SCALE_PEERS, marker_probe=True, scale=True, warmups=STEADY_WARMUPS,
    )


SCENARIOS = (
    Scenario(
        "overhead", "one trivial check (`true`)",
        "the fixed cost of the runner itself: one staged file, one check that does nothing.",
        (Check("true"),), 20, warmups=STEADY_WARMUPS,
    ),
    Scenario(
        "parallel", "four checks, each `sleep 1`",
        "how well the runner overlaps independent checks: four checks of 1 s each, so "
        "1000 ms is the lower bound.",
        (Check("sleep 1"),) * 4, 5, 1000.0,
    ),
    Scenario(
        "partial",
        f"{PARTIAL_FILES} partially staged files, one check on them (`true {{files}}`)",
        f"setting unstaged changes aside and restoring them: each of {PARTIAL_FILES} "
        "tracked .txt files has a staged change and a different unstaged change on top, "
        "and one trivial check on `*.txt` receives the files.",
        (Check("true", **TXT_FILES),), 10,
        layout=layout_partial, content_probe=True,
    ),
    Scenario(
        "large",
        f"{LARGE_DIRS * LARGE_FILES_PER_DIR:,} tracked files, "
        f"{LARGE_DIRS * LARGE_FILES_PER_DIR // LARGE_STAGED_EVERY:,} staged, "
        "one check on them (`true {files}`)",
        "file selection, glob matching and batching: "
        f"{LARGE_DIRS * LARGE_FILES_PER_DIR:,} tracked .txt files in {LARGE_DIRS} "
        f"directories, {LARGE_DIRS * LARGE_FILES_PER_DIR // LARGE_STAGED_EVERY:,} of them "
        "staged with changes (no unstaged changes), and one trivial check on `*.txt` "
        "that receives the staged files.",
        (Check("true", **TXT_FILES),), 10,
        layout=layout_large, content_probe=True,
    ),
    Scenario(
        "big-binary",
        f"one {BIG_SIZE // 2**20} MiB binary file, partially staged; one check with no files",
        f"setting aside and restoring the unstaged changes of one big file: a "
        f"{BIG_SIZE // 2**20} MiB file of random bytes whose index version differs from HEAD "
        "in 3 bytes and whose work-tree version differs from the index in 3 other bytes, "
        "and one trivial check (`true`) that gets no files and always runs.",
        (Check("true"),), 5,
        layout=layout_big_binary, content_probe=True, probe_args=(BIG_FILE,),
    ),
    Scenario(
        "cached", "the parallel suite again, nothing changed; precheck with its result cache",
        "the parallel scenario's four `sleep 1` checks run again on an unchanged state. "
        "precheck runs with its result cache (`precheck run -q`; its warm-up run filled the "
        "cache), so it skips the checks; pre-commit, prek and lefthook have no result cache "
        "and run all four checks again (at least 1000 ms). This is not a like-for-like "
        "comparison: it shows what the cache saves when nothing changed.",
        (Check("sleep 1"),) * 4, 5, 1000.0, precheck_cached=True,
    ),
    Scenario(
        "huge-select",
        f"{HUGE_FILES:,} tracked files, {len(HUGE_CHANGED):,} staged; one check with no files",
        f"opening a big repo and finding the staged files: {HUGE_FILES:,} tracked files "
        f"({HUGE_DIRS} directories, half .txt, half .rs), {len(HUGE_CHANGED):,} of them staged "
        "with changes (no unstaged changes), and one trivial check (`true`) that gets no files "
        "and always runs.",
        (Check("true"),), 5,
        layout=lambda: layout_huge(partial=False), shared="huge", hash_changed_only=True,
    ),
    Scenario(
        "huge-glob",
        f"{HUGE_FILES:,} tracked files, {len(HUGE_CHANGED):,} staged; one check on the "
        f"{len(HUGE_CHANGED) // 2:,} staged .txt files (`true {{files}}`)",
        "file selection, glob matching and batching in a big repo: the huge-select repo "
        f"and changes, and one trivial check on `*.txt` that receives the "
        f"{len(HUGE_CHANGED) // 2:,} staged .txt files (not the {len(HUGE_CHANGED) // 2:,} "
        "staged .rs files).",
        (Check("true", **TXT_FILES),), 5,
        layout=lambda: layout_huge(partial=False), content_probe=True, shared="huge",
        hash_changed_only=True,
    ),
    Scenario(
        "huge-snapshot",
        f"{HUGE_FILES:,} tracked files, {len(HUGE_CHANGED):,} partially staged; one check "
        "with no files",
        "setting unstaged changes aside and restoring them in a big repo: the huge-select "
        f"repo, but each of the {len(HUGE_CHANGED):,} staged files also has a different "
        "unstaged change on top; one trivial check (`true`) that gets no files and always "
        f"runs (the content probe's check reads a sample of {len(HUGE_PROBE_SAMPLE)} of the "
        "files).",
        (Check("true"),), 5,
        layout=lambda: layout_huge(partial=True), content_probe=True,
        probe_args=HUGE_PROBE_SAMPLE, shared="huge", hash_changed_only=True,
    ),
    *(scale_scenario(n) for n in SCALE_SIZES),
)


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    tool: str
    samples_ms: list[float] = field(default_factory=list)
    # First line: what went wrong; the other lines: details and the tool's output.
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def minimum(self) -> float:
        return min(self.samples_ms)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Tools: installation, discovery, versions
# --------------------------------------------------------------------------


def ensure_peers() -> None:
    """Install pre-commit, prek and lefthook into bench/.venv if missing."""
    if all((VENV_BIN / name).exists() for name in PEER_PACKAGES):
        return
    if not (VENV_BIN / "python").exists():
        log(f"creating virtualenv {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    log(f"installing {', '.join(PEER_PACKAGES)} into {VENV}")
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "pip", "install", "--quiet", *PEER_PACKAGES]
    )
    if proc.returncode != 0:
        sys.exit(f"error: pip install of {' '.join(PEER_PACKAGES)} failed")


def lefthook_binary() -> Path:
    """The Go binary inside the lefthook PyPI package (not its Python wrapper)."""
    candidates = sorted(VENV.glob("lib/python*/site-packages/lefthook/bin/*/lefthook"))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    log("warning: lefthook's bundled binary not found; timing the Python wrapper")
    return VENV_BIN / "lefthook"


# precheck's result cache is off in every like-for-like run: the peers have
# none, and repeated runs of one state would otherwise skip the work.
PRECHECK_NO_CACHE = "--no-cache"


def build_tools(precheck: Path) -> list[Tool]:
    return [
        Tool("precheck", [str(precheck), "run", "-q", PRECHECK_NO_CACHE]),
        Tool("precheck-sh",
             [str(precheck), "--config", PRECHECK_SH_CONFIG, "run", "-q", PRECHECK_NO_CACHE]),
        Tool("pre-commit", [str(VENV_BIN / "pre-commit"), "run"]),
        Tool(
            "prek",
            [str(VENV_BIN / "prek"), "run"],
            {"PREK_CONCURRENT_HOOKS": str(PRECHECK_JOBS)},
        ),
        Tool("lefthook", [str(lefthook_binary()), "run", "pre-commit", "--no-auto-install"]),
    ]


def participants(scenario: Scenario, tools: list[Tool]) -> list[Tool]:
    """precheck and the scenario's peers, in the order of tools."""
    return [t for t in tools if t.name == "precheck" or t.name in scenario.peers]


def tools_for(scenario: Scenario, tools: list[Tool]) -> list[Tool]:
    """The tools as the scenario runs them: with precheck_cached, precheck uses its cache."""
    if not scenario.precheck_cached:
        return tools
    return [
        Tool(t.name, [a for a in t.argv if a != PRECHECK_NO_CACHE], t.env)
        if t.name == "precheck" else t
        for t in tools
    ]


def precheck_invocation(scenario: Scenario) -> str:
    return "`precheck run -q`" if scenario.precheck_cached else (
        f"`precheck run -q {PRECHECK_NO_CACHE}`")


def version_of(name: str, argv: list[str]) -> str:
    """`name version`, from the first line that `argv` prints."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return f"{name} (version unknown)"
    out = (proc.stdout or proc.stderr).strip()
    if proc.returncode != 0 or not out:
        return f"{name} (version unknown)"
    line = out.splitlines()[0]
    return line if line.startswith(name) else f"{name} {line}"


def tool_versions(precheck: Path) -> dict[str, str]:
    versions = {
        "precheck": version_of("precheck", [str(precheck), "--version"]),
        "pre-commit": version_of("pre-commit", [str(VENV_BIN / "pre-commit"), "--version"]),
        "prek": version_of("prek", [str(VENV_BIN / "prek"), "--version"]),
        "lefthook": version_of("lefthook", [str(lefthook_binary()), "version"]),
        "git": version_of("git", ["git", "--version"]),
    }
    commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True,
    )
    if commit.returncode == 0:
        versions["precheck"] += f" (repo at {commit.stdout.strip()})"
    return versions


def machine_description() -> str:
    cpus = len(os.sched_getaffinity(0))
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs ({model}), {platform.system()} {platform.release()}"


# --------------------------------------------------------------------------
# The scenario repository and each tool's config
# --------------------------------------------------------------------------


def quoted(text: str) -> str:
    """A double-quoted string valid in both TOML and YAML (for plain ASCII)."""
    return json.dumps(text)


def precheck_config(checks: tuple[Check, ...], shell: bool = False) -> str:
    """checks.toml; with `shell`, every check as a string `run`."""
    lines = ["[settings]", f"jobs = {PRECHECK_JOBS}"]
    for i, check in enumerate(checks, 1):
        if check.direct and not shell:
            argv = shlex.split(check.entry) + ([] if check.glob is None else ["{files}"])
            run = "[" + ", ".join(map(quoted, argv)) + "]"
        else:
            run = quoted(check.entry if check.glob is None else f"{check.entry} {{files}}")
        lines += ["", f"[checks.c{i}]", f"run = {run}"]
        if check.glob is not None:
            lines.append(f"glob = {quoted(check.glob)}")
    return "\n".join(lines) + "\n"


def pre_commit_config(checks: tuple[Check, ...]) -> str:
    lines = ["repos:", "  - repo: local", "    hooks:"]
    for i, check in enumerate(checks, 1):
        lines += [
            f"      - id: c{i}",
            f"        name: c{i}",
            f"        entry: {quoted(check.entry)}",
            "        language: system",
        ]
        if check.glob is None:
            lines += ["        pass_filenames: false", "        always_run: true"]
        else:
            lines.append(f"        files: {quoted(check.regex)}")
    return "\n".join(lines) + "\n"


def prek_config(checks: tuple[Check, ...]) -> str:
    lines = ["[[repos]]", 'repo = "local"', "hooks = ["]
    for i, check in enumerate(checks, 1):
        if check.glob is None:
            which = "pass_filenames = false, always_run = true"
        else:
            which = f"files = {quoted(check.regex)}"
        lines.append(
            f'  {{ id = "c{i}", name = "c{i}", entry = {quoted(check.entry)}, language = "system",'
            f" {which}, priority = 0 }},"
        )
    lines.append("]")
    return "\n".join(lines) + "\n"


def lefthook_config(checks: tuple[Check, ...]) -> str:
    lines = ["pre-commit:", "  parallel: true", "  commands:"]
    for i, check in enumerate(checks, 1):
        run = check.entry if check.glob is None else f"{check.entry} {{staged_files}}"
        lines += [f"    c{i}:", f"      run: {quoted(run)}"]
        if check.glob is not None:
            lines.append(f"      glob: {quoted(check.glob)}")
    return "\n".join(lines) + "\n"


def git_bytes(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=repo, env=clean_env(), input=input, capture_output=True, check=True,
    )
    return proc.stdout


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return git_bytes(repo, *args, input=input).decode(errors="replace")


def write_files(repo: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def stage(repo: Path, paths: list[str]) -> None:
    if paths:
        git(repo, "add", "--pathspec-from-file=-", "--pathspec-file-nul",
            input="\0".join(paths).encode())


def apply_changes(repo: Path, layout: Layout) -> None:
    """From a clean checkout of HEAD: stage the staged versions, then write the unstaged ones."""
    write_files(repo, layout.staged)
    stage(repo, sorted(layout.staged))
    write_files(repo, layout.unstaged)


def init_repo(scratch: Path, name: str) -> Path:
    repo = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch))
    git(repo, "init", "-q")
    for key, value in (
        ("user.name", "precheck bench"), ("user.email", "bench@example.invalid"),
        ("gc.auto", "0"), ("maintenance.auto", "false"), ("commit.gpgsign", "false"),
    ):
        git(repo, "config", key, value)
    return repo


def config_files(checks: tuple[Check, ...]) -> dict[str, bytes]:
    return {
        "checks.toml": precheck_config(checks).encode(),
        PRECHECK_SH_CONFIG: precheck_config(checks, shell=True).encode(),
        ".pre-commit-config.yaml": pre_commit_config(checks).encode(),
        "prek.toml": prek_config(checks).encode(),
        "lefthook.yml": lefthook_config(checks).encode(),
    }


def make_repo(scratch: Path, name: str, checks: tuple[Check, ...], layout: Layout) -> Path:
    """A git repo with every tool's config and the layout committed, then its changes applied."""
    repo = init_repo(scratch, name)
    write_files(repo, config_files(checks))
    write_files(repo, layout.committed)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    apply_changes(repo, layout)
    verify_changes(repo, layout)
    return repo


def verify_changes(repo: Path, layout: Layout) -> None:
    """The changes must show up exactly as intended (no racy-git surprises)."""
    cached = set(git(repo, "diff", "--cached", "--name-only", "-z").split("\0")) - {""}
    unstaged = set(git(repo, "diff", "--name-only", "-z").split("\0")) - {""}
    if cached != set(layout.staged) or unstaged != set(layout.unstaged):
        raise RuntimeError(
            f"scenario repo {repo}: staged {len(cached)} files (want {len(layout.staged)}), "
            f"unstaged {len(unstaged)} (want {len(layout.unstaged)})"
        )


class FreshRepos:
    """A new repository for every use (the small scenarios)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    def get(self, name: str, checks: tuple[Check, ...], layout: Layout) -> Path:
        return make_repo(self.scratch, name, checks, layout)

    def release(self, repo: Path) -> None:
        shutil.rmtree(repo, ignore_errors=True)


class SharedRepo:
    """One big repository, built once, that several scenarios (and probes) reuse.

    The base commit holds the files; each use resets the repo to it, removes
    everything untracked and the stash, commits that use's configs on top and
    applies its layout's changes. So each use starts as make_repo would leave
    it, without writing and adding all the files again."""

    def __init__(self, scratch: Path, name: str, files: dict[str, bytes]) -> None:
        start = time.perf_counter()
        self.repo = init_repo(scratch, name)
        write_files(self.repo, files)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--no-verify", "-m", "base")
        self.base = git(self.repo, "rev-parse", "HEAD").strip()
        self.files = len(files)
        self.build_s = time.perf_counter() - start

    def get(self, name: str, checks: tuple[Check, ...], layout: Layout) -> Path:
        git(self.repo, "reset", "-q", "--hard", self.base)
        git(self.repo, "clean", "-q", "-f", "-d", "-x")
        git(self.repo, "stash", "clear")
        configs = config_files(checks)
        write_files(self.repo, configs)
        stage(self.repo, sorted(configs))
        git(self.repo, "commit", "-q", "--no-verify", "-m", f"configs: {name}")
        apply_changes(self.repo, layout)
        verify_changes(self.repo, layout)
        return self.repo

    def release(self, repo: Path) -> None:
        pass

    def remove(self) -> None:
        shutil.rmtree(self.repo, ignore_errors=True)


def recreate_state(repo: Path, head: str, layout: Layout) -> None:
    """Put the repo back as make_repo left it (after a tool changed it)."""
    git(repo, "reset", "-q", "--hard", head)
    git(repo, "clean", "-q", "-f", "-d", "-x")
    git(repo, "stash", "clear")
    apply_changes(repo, layout)


# --------------------------------------------------------------------------
# Repository state: what must be the same after every run
# --------------------------------------------------------------------------


@dataclass
class RepoState:
    parts: dict[str, str]  # description -> git output
    files: dict[str, str]  # tracked path -> "sha256 mode" of the work-tree file, or "missing"


def capture_state(repo: Path, hash_only: list[str] | None = None) -> RepoState:
    """The repo's state. With hash_only, the cheap variant for big repos:
    `git status --porcelain=v2` (which compares every tracked file with the
    index), HEAD, index entries, stash list, and the bytes of hash_only's files."""
    if hash_only is not None:
        parts = {
            "git status --porcelain=v2 (with untracked and ignored files)":
                git(repo, "status", "--porcelain=v2", "-z", "--untracked-files=all",
                    "--ignored").replace("\0", "\n"),
            "HEAD": git(repo, "rev-parse", "HEAD"),
            "index entries (git ls-files -s: mode, blob id, path)": git(repo, "ls-files", "-s"),
            "git stash list": git(repo, "stash", "list"),
        }
        return RepoState(parts, hash_files(repo, hash_only))
    # `git status` first: it refreshes the index's stat data, so the outputs
    # below (and the next tool) see a fresh index.
    parts = {
        "git status (with untracked and ignored files)":
            git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
        "HEAD": git(repo, "rev-parse", "HEAD"),
        "index entries (git ls-files -s: mode, blob id, path)": git(repo, "ls-files", "-s"),
        "git diff --cached": git(repo, "diff", "--cached", "--no-ext-diff", "--no-color"),
        "git diff": git(repo, "diff", "--no-ext-diff", "--no-color"),
        "git stash list": git(repo, "stash", "list"),
    }
    return RepoState(
        parts, hash_files(repo, sorted(set(git(repo, "ls-files", "-z").split("\0")) - {""}))
    )


def hash_files(repo: Path, paths: list[str]) -> dict[str, str]:
    """path -> "sha256 mode" of the work-tree file, or "missing"."""
    files = {}
    for path in paths:
        full = repo / path
        try:
            st = full.lstat()
            files[path] = f"{hashlib.sha256(full.read_bytes()).hexdigest()} {st.st_mode:o}"
        except OSError:
            files[path] = "missing"
    return files


def state_differences(before: RepoState, after: RepoState, limit: int = 12) -> list[str]:
    """What differs, as readable lines (empty when nothing does)."""
    out = []
    for name, old in before.parts.items():
        new = after.parts[name]
        if new == old:
            continue
        out.append(f"{name} differs:")
        diff = list(difflib.unified_diff(
            old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=0
        ))
        out += ["  " + line for line in diff[2:2 + limit]]
        if len(diff) > 2 + limit:
            out.append(f"  ... ({len(diff) - 2 - limit} more diff lines)")
    changed = [
        p for p in sorted(set(before.files) | set(after.files))
        if before.files.get(p) != after.files.get(p)
    ]
    if changed:
        out.append(f"work-tree bytes or mode differ in {len(changed)} tracked file(s):")
        for p in changed[:limit]:
            out.append(f"  {p}: {before.files.get(p, 'untracked')} -> "
                       f"{after.files.get(p, 'untracked')}")
        if len(changed) > limit:
            out.append(f"  ... and {len(changed) - limit} more")
    return out


# --------------------------------------------------------------------------
# Running and timing
# --------------------------------------------------------------------------


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(SCRUBBED_ENV_PREFIXES) and k not in SCRUBBED_ENV_NAMES
    }
    env.update(extra or {})
    return env


def run_once(tool: Tool, repo: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run the tool once in repo; return (elapsed ms, exit code, output)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            tool.argv, cwd=repo, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        return (time.perf_counter() - start) * 1000, -1, f"timed out after {err.timeout} s"
    except OSError as err:
        return 0.0, -1, f"could not start {tool.argv[0]}: {err}"
    elapsed_ms = (time.perf_counter() - start) * 1000
    return elapsed_ms, proc.returncode, proc.stdout.decode(errors="replace")


def failure(code: int, output: str, what: str, details: list[str] | None = None) -> str:
    """First line: what went wrong; then any details; then the last 40 lines of output."""
    tail = "\n".join(output.strip().splitlines()[-40:]) or "(no output)"
    lines = [f"{what} (exit code {code})"]
    if details:
        lines += [*details, "", "tool output (last 40 lines):"]
    return "\n".join(lines + [tail])


class StateBroken(Exception):
    """The scenario's state could not be re-created after a tool changed it."""


@dataclass
class StateGuard:
    """The state of a scenario repo before any run, checked after every run."""

    repo: Path
    layout: Layout
    initial: RepoState
    hash_only: list[str] | None = None

    @classmethod
    def of(cls, repo: Path, layout: Layout, changed_only: bool = False) -> StateGuard:
        hash_only = sorted(set(layout.staged) | set(layout.unstaged)) if changed_only else None
        return cls(repo, layout, capture_state(repo, hash_only), hash_only)

    def capture(self) -> RepoState:
        return capture_state(self.repo, self.hash_only)

    def check(self) -> list[str]:
        """What differs from the initial state; re-creates the state if anything does."""
        diffs = state_differences(self.initial, self.capture())
        if diffs:
            log(f"  state changed; re-creating it in {self.repo}")
            recreate_state(self.repo, self.initial.parts["HEAD"].strip(), self.layout)
            again = state_differences(self.initial, self.capture())
            if again:
                raise StateBroken("\n".join(again))
        return diffs


def run_checked(
    tool: Tool, guard: StateGuard, env: dict[str, str], label: str
) -> tuple[float, int, str, str | None]:
    """Run once, then compare the repo with its initial state.

    Returns (elapsed ms, exit code, output, error or None)."""
    elapsed_ms, code, output = run_once(tool, guard.repo, env)
    diffs = guard.check()
    if diffs:
        return elapsed_ms, code, output, failure(
            code, output,
            f"{label} changed the work tree or index (the state was re-created afterwards)",
            ["what differed from the state before the run:", *diffs],
        )
    if code != 0:
        return elapsed_ms, code, output, failure(code, output, label)
    return elapsed_ms, code, output, None


def probe_tools(
    tools: list[Tool], scratch: Path, base_env: dict[str, str]
) -> dict[str, str]:
    """Check that each tool runs all its checks; return {tool: error} for those that don't."""
    markers = scratch / "probe-markers"
    markers.mkdir()
    checks = tuple(Check(f"touch {markers / f'c{i}'}") for i in range(1, 5))
    repo = make_repo(scratch, "probe", checks, layout_one_file())
    errors = {}
    for tool in tools:
        log(f"[probe] {tool.name}")
        for marker in markers.iterdir():
            marker.unlink()
        _, code, output = run_once(tool, repo, {**base_env, **tool.env})
        missing = [f"c{i}" for i in range(1, 5) if not (markers / f"c{i}").exists()]
        if code != 0:
            errors[tool.name] = failure(code, output, "probe run")
        elif missing:
            errors[tool.name] = failure(
                code, output, f"probe run: checks {', '.join(missing)} did not run"
            )
    return errors


# The content probe's check: SHA-1 of every file it gets, as it sees them, and
# the stash list at that moment; one output file per invocation ($0 is the
# output directory).
PROBE_SCRIPT = (
    'sha1sum -- "$@" > "$(mktemp "$0/seen.XXXXXX")"; '
    'git stash list > "$(mktemp "$0/stash.XXXXXX")"'
)
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ABOUT_UNSTAGED = re.compile(r"unstaged|stash|patch", re.IGNORECASE)


@dataclass
class ProbeFinding:
    received: str  # "200 of 200"
    invocations: int  # how many times the check was started (batches)
    saw: str  # which version of the files the check saw
    state: str  # "intact" or "changed"
    stash_seen: list[str] = field(default_factory=list)  # `git stash list` during the check
    said: list[str] = field(default_factory=list)  # the tool's own lines about unstaged changes


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def describe_versions(kinds: Counter, total: int) -> str:
    if total == 0:
        return "-"
    if kinds["same"] == total:
        return "index = work tree (no unstaged changes)"
    which = "the file" if total == 1 else f"all {total} files"
    if kinds["index"] + kinds["same"] == total:
        return f"staged (index) version of {which}: unstaged changes set aside"
    if kinds["worktree"] + kinds["same"] == total:
        return f"work-tree version of {which}: unstaged changes visible"
    return (f"mixed: {kinds['index']} index version, {kinds['worktree']} work-tree version, "
            f"{kinds['other']} neither")


def content_probe(
    scenario: Scenario,
    layout: Layout,
    tools: list[Tool],
    scratch: Path,
    source: FreshRepos | SharedRepo,
    base_env: dict[str, str],
    errors: dict[str, str],
) -> dict[str, ProbeFinding]:
    """Run each tool once with a recording check; adds failures to errors."""
    outdir = scratch / f"probe-{scenario.name}"
    outdir.mkdir()
    (check,) = scenario.checks
    entry = f"sh -c {shlex.quote(PROBE_SCRIPT)} {shlex.quote(str(outdir))}"
    if check.glob is None:
        entry = " ".join([entry, *map(shlex.quote, scenario.probe_args)])
        expected = list(scenario.probe_args)
    else:
        expected = sorted(p for p in layout.staged if re.search(check.regex, p))
    versions = {
        p: (sha1(layout.index_version(p)), sha1(layout.worktree_version(p))) for p in expected
    }
    repo = source.get(f"{scenario.name}-probe", (Check(entry, check.glob, check.regex),), layout)
    findings = {}
    try:
        guard = StateGuard.of(repo, layout, scenario.hash_changed_only)
        for tool, code, output, error in probe_runs(
            tools, errors, scenario.name, "content probe", outdir, guard, base_env
        ):
            seen: list[tuple[str, str]] = []
            stash: set[str] = set()
            invocations = 0
            for out in sorted(outdir.iterdir()):
                lines = out.read_text(errors="replace").splitlines()
                if out.name.startswith("seen."):
                    invocations += 1
                    seen += [tuple(line.split("  ", 1)) for line in lines if "  " in line]
                else:
                    stash.update(lines)
            counts = Counter(path for _, path in seen)
            kinds: Counter = Counter()
            for digest, path in seen:
                index_sha, worktree_sha = versions.get(path, (None, None))
                if digest == index_sha == worktree_sha:
                    kinds["same"] += 1
                elif digest == index_sha:
                    kinds["index"] += 1
                elif digest == worktree_sha:
                    kinds["worktree"] += 1
                else:
                    kinds["other"] += 1
            said = []
            for line in output.splitlines():
                line = ANSI_ESCAPE.sub("", line).strip().replace(str(scratch), "$SCRATCH")
                if ABOUT_UNSTAGED.search(line) and line not in said:
                    said.append(line)
            findings[tool.name] = ProbeFinding(
                received=f"{len(set(counts) & set(expected)):,} of {len(expected):,}",
                invocations=invocations,
                saw=describe_versions(kinds, len(seen)),
                state="changed" if error and "changed the work tree" in error else "intact",
                stash_seen=sorted(stash),
                said=said[:3],
            )
            missing = [p for p in expected if p not in counts]
            extra = sorted(p for p in counts if p not in versions)
            twice = sorted(p for p, n in counts.items() if n > 1)
            problems = []
            if missing:
                problems.append(f"{len(missing)} expected file(s) not received: "
                                + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
            if extra:
                problems.append(f"{len(extra)} unexpected file(s) received: "
                                + ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
            if twice:
                problems.append(f"{len(twice)} file(s) received more than once: "
                                + ", ".join(twice[:5]))
            if kinds["other"]:
                problems.append(f"{kinds['other']} file(s) held neither the index nor the "
                                "work-tree version when the check read them")
            if error:
                errors[tool.name] = error
            elif problems:
                errors[tool.name] = failure(
                    code, output, "content probe run: the check did not get the expected files",
                    problems,
                )
    except StateBroken as err:
        for tool in tools:
            errors.setdefault(tool.name, f"content probe aborted: could not re-create the "
                                         f"scenario state\n{err}")
    finally:
        source.release(repo)
    return findings


def probe_runs(
    tools: list[Tool], errors: dict[str, str], scenario: str, what: str, outdir: Path,
    guard: StateGuard, base_env: dict[str, str],
) -> Iterator[tuple[Tool, int, str, str | None]]:
    """Each tool not failed yet, run once in a probe repo with `outdir` (where
    the probe's checks write) emptied first: (tool, exit code, output, error)."""
    for tool in tools:
        if tool.name in errors:
            continue
        log(f"[{scenario}] {what} {tool.name}")
        for old in outdir.iterdir():
            old.unlink()
        _, code, output, error = run_checked(tool, guard, {**base_env, **tool.env},
                                             f"{what} run")
        yield tool, code, output, error


def marker_probe(
    scenario: Scenario,
    layout: Layout,
    tools: list[Tool],
    scratch: Path,
    source: FreshRepos | SharedRepo,
    base_env: dict[str, str],
    errors: dict[str, str],
) -> list[str]:
    """Run each tool once with the scenario's checks, each a `touch` of its own marker
    file outside the repo; every marker must exist afterwards. Adds failures to errors;
    returns a note for the report."""
    markers = scratch / f"markers-{scenario.name}"
    markers.mkdir()
    n = len(scenario.checks)
    checks = tuple(
        Check(f"touch {shlex.quote(str(markers / f'm{i}'))}", c.glob, c.regex, c.direct)
        for i, c in enumerate(scenario.checks, 1)
    )
    repo = source.get(f"{scenario.name}-markers", checks, layout)
    seen: dict[str, int] = {}
    try:
        guard = StateGuard.of(repo, layout, scenario.hash_changed_only)
        for tool, code, output, error in probe_runs(
            tools, errors, scenario.name, "marker probe", markers, guard, base_env
        ):
            missing = [f"m{i}" for i in range(1, n + 1) if not (markers / f"m{i}").exists()]
            seen[tool.name] = n - len(missing)
            if error:
                errors[tool.name] = error
            elif missing:
                errors[tool.name] = failure(
                    code, output,
                    f"marker probe run: {len(missing)} of {n} checks did not run",
                    ["missing markers: " + ", ".join(missing[:10])
                     + (" ..." if len(missing) > 10 else "")],
                )
    except StateBroken as err:
        for tool in tools:
            errors.setdefault(tool.name, f"marker probe aborted: could not re-create the "
                                         f"scenario state\n{err}")
    finally:
        source.release(repo)
    if not seen:
        return []
    return [
        f"Marker probe (one run per tool, before the timing, in a copy of this repository "
        f"whose {n:,} checks each `touch` their own marker file): "
        + ", ".join(f"{name} ran {count:,} of {n:,}" for name, count in seen.items()) + "."
    ]


# --------------------------------------------------------------------------
# --syscalls: precheck's syscalls under `strace -f -c`
# --------------------------------------------------------------------------


@dataclass
class SyscallProfile:
    """What `strace -f -c` counted for one precheck run (calls per syscall name),
    or why there are no counts."""

    calls: dict[str, int] = field(default_factory=dict)  # syscall -> calls; "total" too
    problem: str | None = None

    def count(self, name: str) -> int:
        if name == "rename":
            return sum(self.calls.get(n, 0) for n in RENAME_SYSCALLS)
        return self.calls.get(name, 0)


def parse_strace_summary(text: str) -> dict[str, int]:
    """syscall -> calls from `strace -c`'s table, plus "total".

    The columns are fixed-width, as the dashed rule under the header shows;
    empty cells (errors, and in some versions usecs/call of the total) are
    why the line is cut at the rule's columns rather than split on spaces."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("% time")),
                  None)
    if header is None or header + 1 >= len(lines):
        raise ValueError("no `% time ... syscall` header in strace's output")
    spans = [m.span() for m in re.finditer(r"-+", lines[header + 1])]
    names = ["% time", *lines[header].split()[2:]]  # "seconds", ..., "calls", ..., "syscall"
    if len(spans) != len(names) or "calls" not in names or names[-1] != "syscall":
        raise ValueError(f"unexpected strace header: {lines[header]!r}")
    col_calls = names.index("calls")
    calls: dict[str, int] = {}
    for line in lines[header + 2:]:
        if not line.strip() or set(line.strip()) <= {"-", " "}:
            continue
        cells = [line[a:b].strip() for a, b in spans[:-1]] + [line[spans[-1][0]:].strip()]
        name, value = cells[-1], cells[col_calls]
        if name and value.isdigit():
            calls[name] = calls.get(name, 0) + int(value)
    if "total" not in calls:
        raise ValueError("no total line in strace's output")
    return calls


def strace_run(
    strace: str, tool: Tool, guard: StateGuard, env: dict[str, str], label: str
) -> tuple[SyscallProfile, str | None]:
    """Run the tool once under `strace -f -c` (untimed); the repo is checked as after
    any run. Returns (the counts, an error if the run changed the repo state)."""
    # strace's summary goes beside the repo, in the scratch directory.
    fd, name = tempfile.mkstemp(prefix="strace-", suffix=".txt", dir=guard.repo.parent)
    os.close(fd)
    out = Path(name)
    traced = Tool(tool.name, [strace, "-f", "-c", "-o", str(out), *tool.argv], tool.env)
    try:
        _, code, output = run_once(traced, guard.repo, env)
        diffs = guard.check()
        if diffs:
            error = failure(
                code, output,
                f"{label} changed the work tree or index (the state was re-created afterwards)",
                ["what differed from the state before the run:", *diffs],
            )
            return SyscallProfile(problem="the run changed the repository (see below)"), error
        if code != 0:
            first = next((line for line in output.splitlines() if line.strip()), "no output")
            return SyscallProfile(problem=f"exit code {code}: {first.strip()}"), None
        try:
            return SyscallProfile(parse_strace_summary(out.read_text(errors="replace"))), None
        except (OSError, ValueError) as err:
            return SyscallProfile(problem=f"could not read strace's summary: {err}"), None
    finally:
        out.unlink(missing_ok=True)


def bench_scenario(
    scenario: Scenario,
    layout: Layout,
    tools: list[Tool],
    runs: int,
    source: FreshRepos | SharedRepo,
    base_env: dict[str, str],
    known_errors: dict[str, str],
    strace: str | None = None,
) -> tuple[list[Result], list[str], SyscallProfile | None]:
    """Warm-up, then `runs` timed rounds; returns the results, notes for the report and,
    with strace, the syscalls of one more (untimed) precheck run after the timing."""
    tools = tools_for(scenario, tools)
    repo = source.get(scenario.name, scenario.checks, layout)
    guard = StateGuard.of(repo, layout, scenario.hash_changed_only)
    envs = {t.name: {**base_env, **t.env} for t in tools}
    results = {t.name: Result(t.name, error=known_errors.get(t.name)) for t in tools}
    notes: list[str] = []
    profile: SyscallProfile | None = None

    def cached_precheck(tool: Tool) -> bool:
        return scenario.precheck_cached and tool.name == "precheck"

    def timing_error(tool: Tool, label: str, elapsed_ms: float, code: int,
                     output: str) -> str | None:
        """A run that took implausibly little (peers) or much (cached precheck) time."""
        if cached_precheck(tool):
            if elapsed_ms >= CACHED_MAX_MS:
                return failure(
                    code, output,
                    f"{label} took {elapsed_ms:.1f} ms, not under {CACHED_MAX_MS:.0f} ms, "
                    "so precheck did not skip the cached checks",
                )
        elif scenario.lower_bound_ms is not None and elapsed_ms < scenario.lower_bound_ms:
            return failure(
                code, output,
                f"{label} took {elapsed_ms:.1f} ms, under the "
                f"{scenario.lower_bound_ms:.0f} ms lower bound, so its checks did not all run",
            )
        return None

    try:
        active = []
        for tool in tools:
            if results[tool.name].error:
                continue
            log(f"[{scenario.name}] warm-up {tool.name}")
            elapsed_ms, code, output, error = run_checked(
                tool, guard, envs[tool.name], "warm-up run"
            )
            if cached_precheck(tool):
                # The warm-up fills the cache, so it must really run the checks.
                if not error and scenario.lower_bound_ms is not None \
                        and elapsed_ms < scenario.lower_bound_ms:
                    error = failure(
                        code, output,
                        f"warm-up run (which should fill the cache) took {elapsed_ms:.1f} ms, "
                        f"under the {scenario.lower_bound_ms:.0f} ms lower bound",
                    )
                if not error:
                    error, note = cache_probe(tool, guard, envs[tool.name], len(scenario.checks))
                    notes.append(note)
            elif not error:
                error = timing_error(tool, "warm-up run", elapsed_ms, code, output)
            # Steady state: more untimed runs, each checked like the first.
            for extra in range(1, scenario.warmups):
                if error:
                    break
                elapsed_ms, code, output, error = run_checked(
                    tool, guard, envs[tool.name], f"warm-up run {extra + 1}"
                )
                if not error:
                    error = timing_error(tool, f"warm-up run {extra + 1}", elapsed_ms, code,
                                         output)
            if error:
                results[tool.name].error = error
            else:
                active.append(tool)

        for round_no in range(runs):
            log(f"[{scenario.name}] round {round_no + 1}/{runs}")
            shift = round_no % len(active) if active else 0
            for tool in active[shift:] + active[:shift]:
                if results[tool.name].error:
                    continue
                label = f"timed run {round_no + 1}"
                elapsed_ms, code, output, error = run_checked(
                    tool, guard, envs[tool.name], label
                )
                error = error or timing_error(tool, label, elapsed_ms, code, output)
                if error:
                    results[tool.name].error = error
                else:
                    results[tool.name].samples_ms.append(elapsed_ms)

        pre = next((t for t in tools if t.name == "precheck"), None)
        if strace and pre is not None and not results[pre.name].error:
            log(f"[{scenario.name}] precheck under strace -f -c (untimed)")
            profile, error = strace_run(strace, pre, guard, envs[pre.name], "run under strace")
            if error:
                results[pre.name].error = error
    except StateBroken as err:
        for r in results.values():
            if not r.error:
                r.error = f"scenario aborted: could not re-create the scenario state\n{err}"
    finally:
        source.release(repo)
    return [results[t.name] for t in tools], notes, profile


def cache_probe(
    tool: Tool, guard: StateGuard, env: dict[str, str], n_checks: int
) -> tuple[str | None, str]:
    """After precheck's warm-up: `precheck run --format json` must report every check
    as cached. Returns (error or None, a note for the report)."""
    probe = Tool(tool.name, [tool.argv[0], "run", "--format", "json"], tool.env)
    elapsed_ms, code, output, error = run_checked(probe, guard, env, "cache probe run")
    if error:
        return error, "precheck cache probe: failed (see below)."
    try:
        report = json.loads(output)
        statuses = {c["name"]: c["status"] for c in report["checks"]}
        details = sorted({c.get("detail") or "" for c in report["checks"]})
    except (ValueError, KeyError, TypeError) as err:
        return failure(code, output, f"cache probe run: could not read its JSON ({err})"), \
            "precheck cache probe: unreadable output."
    note = (
        f"precheck cache probe: after the warm-up, `precheck run --format json` took "
        f"{elapsed_ms:.1f} ms and reported the checks as "
        + ", ".join(f"{name} {status!r}" for name, status in sorted(statuses.items()))
        + (f" (detail: {'; '.join(repr(d) for d in details)})" if any(details) else "")
        + "."
    )
    not_cached = [name for name, status in statuses.items() if status != "cached"]
    if len(statuses) != n_checks or not_cached:
        return failure(
            code, output,
            "cache probe run: the checks were not all reported as cached",
            [f"{len(statuses)} check(s) reported, {n_checks} expected; not cached: "
             + (", ".join(not_cached) or "-")],
        ), note
    return None, note


# --------------------------------------------------------------------------
# The hook scenario: `git commit` with each tool's hook installed
# --------------------------------------------------------------------------

HOOK_FILE = "hello.txt"
BASELINE = "git commit --no-verify, no hook (baseline)"
NO_HOOK = "git commit, no hook installed"


@dataclass
class CommitVariant:
    """One timed `git commit`: which repo, which command line, which env."""

    name: str
    repo: Path
    argv: list[str]
    env: dict[str, str]
    commits: int = 0  # how many commits this variant has made (for unique content)


def hook_env(base_env: dict[str, str], tool_env: dict[str, str]) -> dict[str, str]:
    """The env of a `git commit`: bench/.venv/bin is kept off PATH, so lefthook's hook
    script cannot pick up the PyPI package's Python wrapper instead of the binary."""
    env = {**base_env, **tool_env}
    env["PATH"] = os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep)
        if d and Path(d).resolve() != VENV_BIN.resolve()
    )
    return env


def hook_installers(precheck: Path) -> dict[str, list[str]]:
    return {
        "precheck": [str(precheck), "install"],
        "pre-commit": [str(VENV_BIN / "pre-commit"), "install"],
        "prek": [str(VENV_BIN / "prek"), "install"],
        "lefthook": [str(lefthook_binary()), "install"],
    }


def installed_hooks(repo: Path) -> list[str]:
    hooks = repo / ".git" / "hooks"
    return sorted(p.name for p in hooks.iterdir() if not p.name.endswith(".sample"))


def setup_hook_repo(
    scratch: Path, name: str, checks: tuple[Check, ...], install: list[str] | None,
    env: dict[str, str],
) -> tuple[Path, str | None]:
    """A repo with every config committed and a clean work tree; the tool's hook
    installed with `install`. Returns (repo, error or None)."""
    repo = make_repo(scratch, name, checks, Layout({HOOK_FILE: b"hello\n"}))
    if install is None:
        hooks = installed_hooks(repo)
        return repo, (f"hook directory not empty: {hooks}" if hooks else None)
    proc = subprocess.run(install, cwd=repo, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=RUN_TIMEOUT_S)
    output = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        return repo, failure(proc.returncode, output, f"`{shlex.join(install)}` failed")
    hooks = installed_hooks(repo)
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--ignored")
    problems = []
    # precheck also installs pre-merge-commit (a clean merge runs the
    # pre-commit checks); it runs only on merges, never on `git commit`.
    expected = (["pre-commit", "pre-merge-commit"] if name.startswith(("hook-precheck", "hook-probe-precheck"))
                else ["pre-commit"])
    if hooks != expected:
        problems.append(f".git/hooks holds {hooks or 'nothing'}, expected {expected}")
    if status:
        problems.append("the work tree is not clean after the install:\n" + status)
    if problems:
        return repo, failure(proc.returncode, output, f"`{shlex.join(install)}`", problems)
    return repo, None


def commit_once(variant: CommitVariant, label: str) -> tuple[float, str | None]:
    """Change HOOK_FILE and stage it (untimed), time the commit, then check that a commit
    of the staged tree was made on top of the old HEAD and the work tree is clean.
    Returns (elapsed ms, error or None); on an error the repo is reset to HEAD."""
    repo = variant.repo
    variant.commits += 1
    content = f"{variant.name}: commit {variant.commits}\n".encode()
    (repo / HOOK_FILE).write_bytes(content)
    stage(repo, [HOOK_FILE])
    old_head = git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "write-tree").strip()

    start = time.perf_counter()
    try:
        proc = subprocess.run(
            variant.argv, cwd=repo, env=variant.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S,
        )
        code, output = proc.returncode, proc.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as err:
        code, output = -1, f"timed out after {err.timeout} s"
    elapsed_ms = (time.perf_counter() - start) * 1000

    problems = []
    new_head = git(repo, "rev-parse", "HEAD").strip()
    if new_head == old_head:
        problems.append("no commit was created")
    else:
        parent = git(repo, "rev-parse", "--verify", "-q", "HEAD^").strip()
        new_tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
        if parent != old_head:
            problems.append(f"the new commit's parent is {parent}, not the old HEAD {old_head}")
        if new_tree != tree:
            problems.append(f"the new commit's tree is {new_tree}, not the staged tree {tree}")
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--ignored")
    if status:
        problems.append("the work tree or index is not clean afterwards:\n" + status.rstrip())
    stash = git(repo, "stash", "list")
    if stash:
        problems.append("`git stash list` is not empty afterwards:\n" + stash.rstrip())
    if (repo / HOOK_FILE).read_bytes() != content:
        problems.append(f"{HOOK_FILE} does not hold the committed bytes afterwards")
    if code != 0 or problems:
        git(repo, "reset", "-q", "--hard", "HEAD")
        git(repo, "clean", "-q", "-f", "-d", "-x")
        git(repo, "stash", "clear")
        what = f"{label}: `{shlex.join(variant.argv)}`"
        return elapsed_ms, failure(code, output, what + (" failed" if code != 0 else ""),
                                   problems or None)
    return elapsed_ms, None


def hook_probe(
    tools: list[Tool], precheck: Path, scratch: Path, base_env: dict[str, str],
    errors: dict[str, str],
) -> None:
    """In a separate repo per tool whose check touches a marker file outside the repo:
    install the hook and commit twice; each commit must run the check. Adds failures."""
    markers = scratch / "hook-probe-markers"
    markers.mkdir()
    installers = hook_installers(precheck)
    for tool in tools:
        if tool.name in errors:
            continue
        log(f"[{HOOK_SCENARIO}] probe {tool.name}")
        marker = markers / tool.name
        env = hook_env(base_env, tool.env)
        repo, error = setup_hook_repo(scratch, f"hook-probe-{tool.name}",
                                      (Check(f"touch {shlex.quote(str(marker))}"),),
                                      installers[tool.name], env)
        variant = CommitVariant(tool.name, repo, ["git", "commit", "-q", "-m", "msg"], env)
        for n in (1, 2):
            if error:
                break
            marker.unlink(missing_ok=True)
            _, error = commit_once(variant, f"probe commit {n}")
            if not error and not marker.exists():
                error = f"probe commit {n}: the hook did not run the check (no marker file)"
        if error:
            errors[tool.name] = "hook probe: " + error
        shutil.rmtree(repo, ignore_errors=True)


def bench_hook(
    tools: list[Tool], precheck: Path, runs: int, scratch: Path, base_env: dict[str, str],
    known_errors: dict[str, str],
) -> tuple[list[Result], list[str]]:
    """Time `git commit` with each tool's hook, and without a hook."""
    errors = dict(known_errors)
    hook_probe(tools, precheck, scratch, base_env, errors)
    checks = (Check("true"),)
    installers = hook_installers(precheck)
    on_path = shutil.which("lefthook", path=hook_env(base_env, {})["PATH"])
    notes = [
        "- lefthook's hook script (written by `lefthook install`) looks for lefthook before "
        "running it: first `lefthook -h` on PATH ("
        + (f"found at {on_path}" if on_path else
           "bench/.venv/bin, which holds the PyPI Python wrapper, is kept off PATH, and no "
           "other lefthook is on it")
        + "), then `<binary> -h` at the native binary's absolute path, then "
        "`<binary> run pre-commit`"
        + ("" if on_path else ": two starts of the binary per commit")
        + ". That is the hook as installed; LEFTHOOK_BIN (not set here) would skip the lookup.",
    ]
    variants: list[CommitVariant] = []
    results: dict[str, Result] = {}
    repos = []
    try:
        plain_env = hook_env(base_env, {})
        repo, error = setup_hook_repo(scratch, "hook-none", checks, None, plain_env)
        repos.append(repo)
        for name, argv in (
            (BASELINE, ["git", "commit", "--no-verify", "-q", "-m", "msg"]),
            (NO_HOOK, ["git", "commit", "-q", "-m", "msg"]),
        ):
            variants.append(CommitVariant(name, repo, argv, plain_env))
            results[name] = Result(name, error=error)
        for tool in tools:
            env = hook_env(base_env, tool.env)
            error = errors.get(tool.name)
            repo = None
            if not error:
                repo, error = setup_hook_repo(scratch, f"hook-{tool.name}", checks,
                                              installers[tool.name], env)
                repos.append(repo)
            variants.append(CommitVariant(tool.name, repo, ["git", "commit", "-q", "-m", "msg"],
                                          env))
            results[tool.name] = Result(tool.name, error=error)

        active = []
        for variant in variants:
            if results[variant.name].error:
                continue
            log(f"[{HOOK_SCENARIO}] warm-up {variant.name} ({STEADY_WARMUPS} commits)")
            error = None
            for k in range(STEADY_WARMUPS):
                _, error = commit_once(variant, f"warm-up commit {k + 1}")
                if error:
                    break
            if error:
                results[variant.name].error = error
            else:
                active.append(variant)
        for round_no in range(runs):
            log(f"[{HOOK_SCENARIO}] round {round_no + 1}/{runs}")
            shift = round_no % len(active) if active else 0
            for variant in active[shift:] + active[:shift]:
                if results[variant.name].error:
                    continue
                elapsed_ms, error = commit_once(variant, f"timed commit {round_no + 1}")
                if error:
                    results[variant.name].error = error
                else:
                    results[variant.name].samples_ms.append(elapsed_ms)
    finally:
        for repo in repos:
            shutil.rmtree(repo, ignore_errors=True)
    return [results[v.name] for v in variants], notes


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

# How each tool sets unstaged changes aside in these runs (see the docstring);
# the content probe adds what it observed.
UNSTAGED_HANDLING = {
    "precheck": "moves each file with unstaged changes into .git/precheck/snapshot, writes "
                "the index version in its place, and moves the files back afterwards.",
    "pre-commit": "`pre-commit run` writes the unstaged changes as a binary patch into "
                  "PRE_COMMIT_HOME, runs `git checkout -- .`, and `git apply`s the patch "
                  "afterwards.",
    "prek": "`prek run` writes the unstaged changes as a patch into PREK_HOME/patches, "
            "checks out the index version of those files, and re-applies the patch afterwards.",
    "lefthook": "for the pre-commit hook it saves the unstaged diff of the partially staged "
                "files in .git/info/lefthook-unstaged.patch, records a `git stash` entry, "
                "checks out the index version of those files (`git checkout --force`), and "
                "applies the patch and drops the stash entry afterwards.",
}


def md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def results_table(scenario: Scenario, results: list[Result]) -> str:
    baseline = next((r for r in results if r.tool == "precheck" and not r.error), None)
    header = ["tool", "median (ms)", "min (ms)", "median vs precheck"]
    if scenario.lower_bound_ms is not None:
        header.append(f"median − {scenario.lower_bound_ms:.0f} ms bound")
    rows = [header, ["---"] + ["---:"] * (len(header) - 1)]
    for r in results:
        if r.error:
            rows.append([r.tool, "failed"] + [""] * (len(header) - 2))
            continue
        ratio = f"{r.median / baseline.median:.2f}×" if baseline else "n/a"
        row = [r.tool, f"{r.median:.1f}", f"{r.minimum:.1f}", ratio]
        if scenario.lower_bound_ms is not None:
            if scenario.precheck_cached and r.tool == "precheck":
                row.append("– (cached)")
            else:
                row.append(f"{r.median - scenario.lower_bound_ms:+.1f}")
        rows.append(row)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def probe_table(tools: list[str], findings: dict[str, ProbeFinding]) -> str:
    rows = [
        ["tool", "files received", "check started", "version of the files the check read",
         "work tree and index afterwards"],
        ["---", "---:", "---:", "---", "---"],
    ]
    for name in tools:
        f = findings.get(name)
        if f is None:
            rows.append([name, "not run (failed earlier)", "", "", ""])
            continue
        rows.append([name, f.received, f"{f.invocations}×", f.saw, f.state])
    return "\n".join("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)


def unstaged_notes(tools: list[str], findings: dict[str, ProbeFinding]) -> list[str]:
    notes = []
    for name in tools:
        text = f"- {name}: {UNSTAGED_HANDLING.get(name, '')}"
        f = findings.get(name)
        if f is not None:
            text += f" Probe: the check read the {f.saw}."
            if f.stash_seen:
                text += " `git stash list` during the check: " + "; ".join(
                    f"`{s}`" for s in f.stash_seen) + "."
            else:
                text += " `git stash list` was empty during the check."
            if f.said:
                text += (" The tool printed ($SCRATCH: the benchmark's scratch directory): "
                         + "; ".join(f"“{s}”" for s in f.said) + ".")
        notes.append(text)
    return notes


def scenario_report(
    scenario: Scenario,
    runs: int,
    results: list[Result],
    findings: dict[str, ProbeFinding] | None,
    has_unstaged: bool,
    notes: list[str] | None = None,
) -> str:
    tools = [r.tool for r in results]
    if scenario.hash_changed_only:
        compared = ("with their state before the first run (`git status --porcelain=v2` "
                    "with untracked and ignored files, HEAD, `git ls-files -s`, "
                    "`git stash list`, and the bytes of the "
                    f"{len(HUGE_CHANGED):,} changed files; `git status` compares the other "
                    "tracked files with the index).")
    else:
        compared = "with their state before the first run."
    parts = [
        f"### {scenario.name}: {scenario.description}",
        "",
        f"What it measures: {scenario.measures}",
        "",
        f"{runs} timed run{'s' if runs != 1 else ''} per tool, after "
        + ("one warm-up run" if scenario.warmups == 1 else
           f"{scenario.warmups} untimed warm-up runs (steady state: see the docstring)")
        + "; after "
        f"every run the work tree and index were compared {compared} "
        f"precheck ran as {precheck_invocation(scenario)}.",
        "",
        results_table(scenario, results),
    ]
    if scenario.precheck_cached:
        parts += [
            "",
            "Not like-for-like: pre-commit, prek and lefthook have no result cache, so they "
            "run all four checks on every run (each of their runs took at least "
            f"{scenario.lower_bound_ms:.0f} ms, or it would be reported as failed). precheck's "
            "warm-up run did the work and filled the cache; each of its timed runs had to "
            f"take under {CACHED_MAX_MS:.0f} ms, or it would be reported as failed.",
        ]
    if notes:
        parts += ["", *notes]
    if findings is not None:
        parts += [
            "",
            "Content probe (one run per tool, before the timing, in a copy of this repository "
            "whose check records the files it gets and the SHA-1 of their bytes as it reads "
            "them):",
            "",
            probe_table(tools, findings),
        ]
    if has_unstaged:
        parts += ["", "Unstaged changes, per tool:", "", *unstaged_notes(tools, findings or {})]
    for r in results:
        if r.error:
            parts += ["", f"{r.tool} failed: {r.error.splitlines()[0]}; details:",
                      "", "```", *r.error.splitlines()[1:], "```"]
    return "\n".join(parts)


@dataclass
class ScaleRun:
    """One scale-N scenario's outcome, for the scale summary."""

    n: int
    results: list[Result]
    profile: SyscallProfile | None = None  # with --syscalls


def md_table(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)


def scale_timing_table(scale_runs: list[ScaleRun]) -> str:
    peers = [p for p in ("precheck-sh", *PEERS) if any(r.tool == p for s in scale_runs for r in s.results)]
    rows = [
        ["checks (N)", "precheck median (ms)", *(f"{p} median (ms)" for p in peers),
         "precheck ms per check (median / N)", *(f"{p} vs precheck" for p in peers)],
    ]
    rows.append(["---"] + ["---:"] * (len(rows[0]) - 1))
    for s in scale_runs:
        by_name = {r.tool: r for r in s.results}
        pre = by_name.get("precheck")
        pre_ok = pre is not None and not pre.error
        medians, ratios = [], []
        for p in peers:
            r = by_name.get(p)
            if r is None or r.error:
                medians.append("failed" if r else "not run")
                ratios.append("")
                continue
            medians.append(f"{r.median:.1f}")
            ratios.append(f"{r.median / pre.median:.2f}×" if pre_ok else "n/a")
        rows.append([
            f"{s.n:,}",
            f"{pre.median:.1f}" if pre_ok else "failed",
            *medians,
            f"{pre.median / s.n:.3f}" if pre_ok else "",
            *ratios,
        ])
    return md_table(rows)


def scale_ratio_line(scale_runs: list[ScaleRun]) -> str:
    """precheck's SCALE_RATIO_HIGH / SCALE_RATIO_LOW median ratio against the requirement."""
    medians = {
        s.n: r.median for s in scale_runs for r in s.results
        if r.tool == "precheck" and not r.error
    }
    what = (f"precheck's median with {SCALE_RATIO_HIGH:,} checks / its median with "
            f"{SCALE_RATIO_LOW:,} checks")
    requirement = (f"requirement: at most {SCALE_RATIO_MAX}× for "
                   f"{SCALE_RATIO_HIGH // SCALE_RATIO_LOW}× the checks")
    if SCALE_RATIO_LOW not in medians or SCALE_RATIO_HIGH not in medians:
        return (f"{what}: n/a (needs scale-{SCALE_RATIO_LOW} and scale-{SCALE_RATIO_HIGH}, "
                f"both run without failing; {requirement}).")
    ratio = medians[SCALE_RATIO_HIGH] / medians[SCALE_RATIO_LOW]
    verdict = "met" if ratio <= SCALE_RATIO_MAX else "NOT met"
    return (f"{what}: {medians[SCALE_RATIO_HIGH]:.1f} / {medians[SCALE_RATIO_LOW]:.1f} ms = "
            f"**{ratio:.2f}×** ({requirement}: {verdict}).")


def syscall_table(scale_runs: list[ScaleRun]) -> str:
    rows = [
        ["checks (N)", "total syscalls", "total per check", *SYSCALLS_REPORTED],
    ]
    rows.append(["---"] + ["---:"] * (len(rows[0]) - 1))
    for s in scale_runs:
        p = s.profile
        if p is None or p.problem:
            why = p.problem if p else "not run (precheck failed earlier)"
            rows.append([f"{s.n:,}", why] + [""] * (len(rows[0]) - 2))
            continue
        total = p.count("total")
        rows.append([f"{s.n:,}", f"{total:,}", f"{total / s.n:,.1f}",
                     *(f"{p.count(name):,}" for name in SYSCALLS_REPORTED)])
    return md_table(rows)


def scale_report(scale_runs: list[ScaleRun], syscalls: bool, strace: str | None) -> str:
    """The scale summary: one row per N; with --syscalls, precheck's syscall counts."""
    parts = [
        "### scale: summary of the scale-N scenarios (N trivial checks)",
        "",
        "Each scale-N scenario: one staged file and N checks, each `true`, that get no files "
        f"and always run; precheck (`jobs = {PRECHECK_JOBS}`) against prek "
        f"(`PREK_CONCURRENT_HOOKS={PRECHECK_JOBS}`) and lefthook (`parallel: true`). "
        "pre-commit is left out: it runs hooks one after another, so with hundreds of "
        "hooks its time would dwarf the others' and measure its serial loop rather than "
        "anything comparable. Medians from the scale-N sections above.",
        "",
        scale_timing_table(scale_runs),
        "",
        scale_ratio_line(scale_runs),
    ]
    if syscalls and strace is None:
        parts += ["", "Syscall counts (--syscalls): skipped, strace was not found on PATH."]
    elif syscalls:
        parts += [
            "",
            f"Syscalls of precheck (--syscalls): after the timing, one more untimed run of "
            f"`precheck run -q {PRECHECK_NO_CACHE}` in the same repository under "
            f"`{strace} -f -c`. -f follows every process precheck starts, so the counts "
            "include the N `true` children; `rename` counts "
            + ", ".join(RENAME_SYSCALLS) + ".",
            "",
            syscall_table(scale_runs),
        ]
    return "\n".join(parts)


def hook_report(runs: int, results: list[Result], notes: list[str]) -> str:
    by_name = {r.tool: r for r in results}
    base = by_name.get(BASELINE)
    base_ok = base is not None and not base.error
    pre = by_name.get("precheck")
    pre_overhead = pre.median - base.median if base_ok and pre and not pre.error else None
    rows = [
        ["commit", "median (ms)", "min (ms)", "overhead: median − baseline median (ms)",
         "overhead vs precheck's overhead"],
        ["---", "---:", "---:", "---:", "---:"],
    ]
    for r in results:
        if r.error:
            rows.append([r.tool, "failed", "", "", ""])
            continue
        if r.tool == BASELINE:
            overhead, ratio = "0 (baseline)", ""
        elif not base_ok:
            overhead, ratio = "n/a", "n/a"
        else:
            value = r.median - base.median
            overhead = f"{value:+.1f}"
            if r.tool == NO_HOOK:
                ratio = ""
            elif pre_overhead is not None and pre_overhead > 0:
                ratio = f"{value / pre_overhead:.2f}×"
            else:
                ratio = "n/a (precheck's overhead ≤ 0)" if pre_overhead is not None else "n/a"
        rows.append([r.tool, f"{r.median:.1f}", f"{r.minimum:.1f}", overhead, ratio])
    parts = [
        f"### {HOOK_SCENARIO}: `git commit` with each tool's pre-commit hook installed, "
        "one trivial check (`true`)",
        "",
        "What it measures: what a real `git commit` pays for each tool's hook. One repo per "
        "tool with its hook installed (`precheck install`, `pre-commit install`, "
        "`prek install`, `lefthook install` with the native binary) and one repo without a "
        f"hook. Before every commit (untimed) {HOOK_FILE} is changed and `git add`ed; only "
        "`git commit -q -m msg` is timed. Overhead is a variant's median minus the median "
        "of `git commit --no-verify` in the no-hook repo.",
        "",
        f"{runs} timed commit{'s' if runs != 1 else ''} per variant, after {STEADY_WARMUPS} "
        "untimed warm-up commits (steady state), round-robin. After every commit (untimed) the script checked that a new "
        "commit with the staged tree was created on top of the old HEAD, that "
        "`git status --ignored` shows nothing and the stash is empty. Before the timing, a "
        "probe in separate repos (hook installed the same way, the check touching a marker "
        "file outside the repo) made two commits per tool; each commit had to create the "
        "commit and run the check.",
        "",
        "\n".join("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows),
        "",
        "Notes:",
        "",
        "- precheck's shim starts with `#!/path/to/precheck shim`, so git starts precheck "
        "directly (no shell in between), with the result "
        "cache on as installed; every commit stages new content, so the check is not "
        "cached (the probe's second commit ran the check again).",
        "- pre-commit's hook (a `bash` script) execs bench/.venv's Python with "
        "`-m pre_commit hook-impl`; prek's (a `sh` script) execs `prek hook-impl`.",
        *notes,
    ]
    for r in results:
        if r.error:
            parts += ["", f"{r.tool} failed: {r.error.splitlines()[0]}; details:",
                      "", "```", *r.error.splitlines()[1:], "```"]
    return "\n".join(parts)


def full_report(
    when: str, machine: str, versions: dict[str, str], command: str, sections: list[str]
) -> str:
    lines = [
        f"- Date: {when}",
        f"- Machine: {machine}",
        f"- Command: `{command}`",
        "- Versions: " + "; ".join(versions[k] for k in versions),
        f"- Settings: precheck `jobs = {PRECHECK_JOBS}`, run as "
        f"`precheck run -q {PRECHECK_NO_CACHE}` (result cache off) in every like-for-like "
        "scenario, as `precheck run -q` (cache on) only in `cached`, and through its "
        "installed shim in `hook`; pre-commit runs hooks serially; "
        f"prek `priority = 0` on every hook and `PREK_CONCURRENT_HOOKS={PRECHECK_JOBS}`; "
        "lefthook `parallel: true`, `--no-auto-install`, native binary. Checks on files: "
        "precheck `{files}` with `glob = \"*.txt\"`, pre-commit and prek "
        "`files: \\.txt$` with `pass_filenames`, lefthook `{staged_files}` with "
        "`glob: \"*.txt\"`.",
        "- Each run: wall clock of one `run` in a temporary git repo set up as the scenario "
        "says; tools interleaved round-robin. After every run (untimed) the repo is "
        "compared with its initial state: HEAD, index entries, `git diff --cached`, "
        "`git diff`, `git status`, `git stash list`, and the bytes of every tracked file.",
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(sections) + "\n"


def write_benchmarks_md(path: Path, report: str) -> None:
    section = f"{SECTION_START}\n## Latest run of `bench/run.py`\n\n{report}{SECTION_END}\n"
    if path.exists():
        text = path.read_text()
    else:
        text = ("# Benchmarks\n\nThe section below is written by "
                "`python3 bench/run.py --write`; do not edit its numbers by hand.\n\n")
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start != -1 and end > start:
        rest = text[end + len(SECTION_END):].lstrip("\n")
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark precheck against pre-commit, prek and lefthook.",
        epilog="See the module docstring for what is measured.",
    )
    parser.add_argument(
        "--precheck", type=Path, default=REPO_ROOT / "target" / "release" / "precheck",
        help="precheck binary (default: target/release/precheck in the repo root)",
    )
    parser.add_argument("--runs", type=int, help="timed runs per tool, all scenarios")
    parser.add_argument(
        "--scenario", action="append",
        choices=[s.name for s in SCENARIOS] + list(SCENARIO_GROUPS) + [HOOK_SCENARIO],
        help="run only this scenario (repeatable; default: all; "
             + ", ".join(f"{g} = {' + '.join(m)}" for g, m in SCENARIO_GROUPS.items()) + ")",
    )
    parser.add_argument(
        "--syscalls", action="store_true",
        help="scale-* scenarios: after the timing, run precheck once more under "
             "`strace -f -c` and report its syscall counts",
    )
    parser.add_argument(
        "--write", action="store_true",
        help=f"write the results into {BENCHMARKS_MD.name} in the repo root",
    )
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    precheck = args.precheck.resolve()
    if not (precheck.is_file() and os.access(precheck, os.X_OK)):
        print(
            f"error: precheck binary not found at {precheck}\n"
            f"Build it first:  (cd {REPO_ROOT} && cargo build --release)\n"
            "or point --precheck at one.",
            file=sys.stderr,
        )
        return 2

    ensure_peers()
    precheck_sha = hashlib.sha256(precheck.read_bytes()).hexdigest()
    tools = build_tools(precheck)
    versions = tool_versions(precheck)
    machine = machine_description()
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join(["python3", "bench/run.py", *sys.argv[1:]])

    print(f"Machine: {machine}")
    for version in versions.values():
        print(f"  {version}")
    print()

    wanted = set()
    for name in args.scenario or []:
        wanted.update(SCENARIO_GROUPS.get(name, (name,)))
    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in wanted]
    run_hook = not args.scenario or HOOK_SCENARIO in wanted
    scratch = Path(tempfile.mkdtemp(prefix="precheck-bench-"))
    base_env = clean_env({
        "PRE_COMMIT_HOME": str(scratch / "pre-commit-home"),
        "PREK_HOME": str(scratch / "prek-home"),
    })
    sections, any_failed, precheck_failed = [], False, False
    shared: dict[str, SharedRepo] = {}
    scale_runs: list[ScaleRun] = []
    strace = shutil.which("strace") if args.syscalls else None
    if args.syscalls and strace is None and any(s.scale for s in scenarios):
        log("warning: --syscalls: strace not found on PATH; syscall counts skipped")
    try:
        known_errors = probe_tools(tools, scratch, base_env)
        for i, scenario in enumerate(scenarios):
            runs = args.runs or scenario.default_runs
            log(f"[{scenario.name}] setting up")
            layout = scenario.layout()
            source: FreshRepos | SharedRepo = FreshRepos(scratch)
            if scenario.shared:
                if scenario.shared not in shared:
                    log(f"[{scenario.name}] building the shared '{scenario.shared}' repo")
                    shared[scenario.shared] = SharedRepo(
                        scratch, scenario.shared, SHARED_BASES[scenario.shared]()
                    )
                    log(f"[{scenario.name}] built it in {shared[scenario.shared].build_s:.1f} s")
                source = shared[scenario.shared]
            errors = dict(known_errors)
            findings = None
            taking_part = participants(scenario, tools)
            if scenario.content_probe:
                findings = content_probe(scenario, layout, taking_part, scratch, source,
                                         base_env, errors)
            notes = []
            if scenario.marker_probe:
                notes += marker_probe(scenario, layout, taking_part, scratch, source, base_env,
                                      errors)
            trace = strace if args.syscalls and scenario.scale else None
            results, bench_notes, profile = bench_scenario(
                scenario, layout, taking_part, runs, source, base_env, errors, trace
            )
            notes += bench_notes
            if scenario.scale:
                scale_runs.append(ScaleRun(len(scenario.checks), results, profile))
            section = scenario_report(scenario, runs, results, findings, bool(layout.unstaged),
                                      notes)
            del layout
            if scenario.shared and all(s.shared != scenario.shared for s in scenarios[i + 1:]):
                shared.pop(scenario.shared).remove()
            print(section, end="\n\n", flush=True)
            sections.append(section)
            any_failed |= any(r.error for r in results)
            precheck_failed |= any(r.error for r in results if r.tool == "precheck")
        if scale_runs:
            section = scale_report(scale_runs, args.syscalls, strace)
            print(section, end="\n\n", flush=True)
            sections.append(section)
        if run_hook:
            runs = args.runs or HOOK_DEFAULT_RUNS
            # One precheck variant: the hook's check is the installed config's.
            hook_tools = [t for t in tools if t.name == "precheck" or t.name in PEERS]
            results, notes = bench_hook(hook_tools, precheck, runs, scratch, base_env,
                                        known_errors)
            section = hook_report(runs, results, notes)
            print(section, end="\n\n", flush=True)
            sections.append(section)
            any_failed |= any(r.error for r in results)
            precheck_failed |= any(r.error for r in results if r.tool == "precheck")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if hashlib.sha256(precheck.read_bytes()).hexdigest() != precheck_sha:
        log(f"error: {precheck} changed during the benchmark (rebuilt?); "
            "the results mix two builds, run again")
        any_failed = precheck_failed = True
    if args.write:
        if precheck_failed:
            log(f"not writing {args.output}: precheck itself failed or changed")
            return 1
        write_benchmarks_md(args.output, full_report(when, machine, versions, command, sections))
        log(f"wrote results to {args.output}")
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
