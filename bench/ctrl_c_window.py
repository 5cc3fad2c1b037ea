#!/usr/bin/env python3
"""The Ctrl-C window: how long a user's unstaged changes stay hidden after a
terminal's Ctrl-C reaches `git commit`, the hook and precheck together.

git returns to the shell at once on Ctrl-C; precheck then stops the checks
and restores the unstaged changes. This measures, for each run, the time from
the SIGINT (sent to the commit's whole process group, as a terminal does) to
the moment the partially staged file holds the user's bytes again, with one
check (`sleep`) that exits on SIGTERM. Target: under 100 ms.

    python3 bench/ctrl_c_window.py [--precheck PATH ...] [--runs N]

Several --precheck binaries are measured side by side (e.g. before and after
a change). Prints the median, min and max per binary.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGED = b"base\nstaged\n"
USER = b"base\nstaged\nunstaged\n"


def env(home: Path) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    e.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1",
             GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
             GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
             GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    return e


def one(precheck: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        repo, home = Path(tmp) / "repo", Path(tmp) / "home"
        repo.mkdir(), home.mkdir()
        e = env(home)
        git = lambda *a: subprocess.run(["git", *a], cwd=repo, env=e, check=True,
                                        stdout=subprocess.DEVNULL)
        git("init", "-q", "-b", "main")
        (repo / "checks.toml").write_text(
            "[checks.slow]\nrun = 'echo $$ > started.pid; exec sleep 100'\n")
        (repo / ".gitignore").write_text("started.pid\n")
        (repo / "file.txt").write_bytes(b"base\n")
        git("add", ".")
        git("commit", "-qm", "base")
        subprocess.run([str(precheck), "install"], cwd=repo, env=e, check=True,
                       stdout=subprocess.DEVNULL)
        (repo / "file.txt").write_bytes(STAGED)
        git("add", "file.txt")
        (repo / "file.txt").write_bytes(USER)
        commit = subprocess.Popen(["git", "commit", "-qm", "x"], cwd=repo, env=e,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        pid = repo / "started.pid"
        while not (pid.exists() and pid.read_text().strip()):
            time.sleep(0.002)
        assert (repo / "file.txt").read_bytes() == STAGED
        t0 = time.monotonic()
        os.killpg(commit.pid, signal.SIGINT)
        while True:
            try:
                if (repo / "file.txt").read_bytes() == USER:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0005)
        dt = time.monotonic() - t0
        commit.wait()
        return dt * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--precheck", type=Path, action="append")
    p.add_argument("--runs", type=int, default=15)
    a = p.parse_args()
    bins = a.precheck or [ROOT / "target/release/precheck"]
    for b in bins:
        times = [one(b) for _ in range(a.runs)]
        print(f"{b}: files back {statistics.median(times):.1f} ms after Ctrl-C "
              f"(median of {a.runs}; min {min(times):.1f}, max {max(times):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
