#!/usr/bin/env python3
"""Benchmark: precheck's built-in checks against pre-commit-hooks.

One repository of 20,000 tracked files (200 folders of 100: Python, JSON,
YAML, TOML, Markdown and plain text, a few executables with shebangs), all
clean, so that every tool runs every check over every file and passes. The
same thirteen hooks in each tool's own config:

  trailing-whitespace, end-of-file-fixer, mixed-line-ending,
  check-merge-conflict, check-added-large-files, check-yaml, check-toml,
  check-json, check-case-conflict, check-executables-have-shebangs,
  check-symlinks, detect-private-key, no-commit-to-branch

in two scenarios, timed from process start to exit:

* all    -- `run --all-files` (precheck: `run --all --no-cache`, so nothing
            is skipped by its result cache): every check over every file, as
            in CI or before a release.
* staged -- 200 of the files changed and staged, `run` (the staged files, as
            a pre-commit hook runs): the size of a large commit.

The tools:

* precheck            -- `run = "builtin:NAME"`, in process.
* pre-commit          -- pre-commit-hooks 6.0.0 (the Python scripts) as
                         local `language: python` hooks with the package as
                         an additional dependency, its manifest's `types`.
* prek (python)       -- the same config, run by prek.
* prek (builtin)      -- `repo: builtin`, prek's own Rust versions.

Each tool runs once to warm up (pre-commit and prek build their
environments then), then RUNS rounds in which every tool runs once
(round-robin), after the tree is synced to disk; the table shows the
median and the ratio to precheck's. Every run must pass (exit 0), and the tree must be
unchanged after each (the fixers find nothing to fix).

Usage: python3 bench/builtins.py [--files 20000] [--runs 5] [--precheck PATH]
Needs: pre-commit and prek (pip install pre-commit prek; made in a virtual
environment under target/ when not on PATH).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (id, pre-commit-hooks script, manifest types, pass_filenames/always_run)
HOOKS = [
    ("trailing-whitespace", "trailing-whitespace-fixer", "[text]", True),
    ("end-of-file-fixer", "end-of-file-fixer", "[text]", True),
    ("mixed-line-ending", "mixed-line-ending", "[text]", True),
    ("check-merge-conflict", "check-merge-conflict", "[text]", True),
    ("check-added-large-files", "check-added-large-files", "[file]", True),
    ("check-yaml", "check-yaml", "[yaml]", True),
    ("check-toml", "check-toml", "[toml]", True),
    ("check-json", "check-json", "[json]", True),
    ("check-case-conflict", "check-case-conflict", "[file]", True),
    ("check-executables-have-shebangs", "check-executables-have-shebangs", "[text, executable]", True),
    ("check-symlinks", "check-symlinks", "[symlink]", True),
    ("detect-private-key", "detect-private-key", "[text]", True),
    ("no-commit-to-branch", "no-commit-to-branch", "[file]", False),
]

KINDS = [
    ("py", b"import os\n\n\ndef f(x):\n    return os.path.join(x, 'a')\n"),
    ("json", b'{"name": "x", "items": [1, 2, 3], "nested": {"a": true}}\n'),
    ("yaml", b"name: x\nitems:\n  - 1\n  - 2\nnested:\n  a: true\n"),
    ("toml", b'name = "x"\nitems = [1, 2, 3]\n\n[nested]\na = true\n'),
    ("md", b"# Title\n\nSome text with a line break\nand more.\n"),
    ("txt", b"plain text line one\nline two\n"),
]


def tools_bin() -> Path:
    if shutil.which("pre-commit") and shutil.which("prek"):
        return Path(shutil.which("pre-commit")).parent
    venv = ROOT / "target" / "bench-builtins-venv"
    if not (venv / "bin" / "prek").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pre-commit", "prek"], check=True)
    return venv / "bin"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, stdout=subprocess.DEVNULL)


def make_repo(scratch: Path, files: int) -> Path:
    repo = scratch / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "work")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "user.name", "bench")
    per_dir = 100
    for i in range(files):
        d = repo / f"d{i // per_dir:03d}"
        d.mkdir(exist_ok=True)
        ext, body = KINDS[i % len(KINDS)]
        p = d / f"f{i:05d}.{ext}"
        p.write_bytes(body.replace(b"x", f"x{i}".encode()))
        if i % 500 == 0 and ext == "txt":
            p.write_bytes(b"#!/bin/sh\necho ok\n")
            p.chmod(0o755)
    (repo / "checks.toml").write_text(
        "".join(f'[checks.{h}]\nrun = "builtin:{h}"\n' for h, _, _, _ in HOOKS)
    )
    py = ["repos:", "- repo: local", "  hooks:"]
    for hid, script, types, files_ in HOOKS:
        py += [
            f"  - id: {hid}",
            f"    name: {hid}",
            f"    entry: {script}",
            "    language: python",
            "    additional_dependencies: ['pre-commit-hooks==6.0.0']",
            f"    types: {types}",
        ]
        if not files_:
            py += ["    pass_filenames: false", "    always_run: true"]
    (repo / ".pre-commit-config.yaml").write_text("\n".join(py) + "\n")
    builtin = ["repos:", "- repo: builtin", "  hooks:"] + [f"  - id: {h}" for h, _, _, _ in HOOKS]
    (repo / "prek-builtin.yaml").write_text("\n".join(builtin) + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base", "--no-verify")
    return repo


def tree_digest(repo: Path) -> str:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, check=True
    ).stdout
    return hashlib.sha1(out).hexdigest() + (":dirty" if out.strip() else "")


def timed(argv: list[str], repo: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    p = subprocess.run(argv, cwd=repo, env=env, capture_output=True)
    took = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout.decode()[-3000:]}{p.stderr.decode()[-3000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--precheck", default=str(ROOT / "target" / "release" / "precheck"))
    args = ap.parse_args()
    bin_dir = tools_bin()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        repo = make_repo(scratch, args.files)
        env = dict(os.environ)
        env.pop("PRECHECK_HOOKS_DIR", None)
        env["PRE_COMMIT_HOME"] = str(scratch / "pre-commit-home")
        env["PREK_HOME"] = str(scratch / "prek-home")
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        tools = [
            ("precheck", [args.precheck, "run", "--all", "--no-cache", "-q"]),
            ("pre-commit", [str(bin_dir / "pre-commit"), "run", "--all-files"]),
            ("prek (python)", [str(bin_dir / "prek"), "run", "--all-files"]),
            ("prek (builtin)", [str(bin_dir / "prek"), "run", "--all-files", "-c", "prek-builtin.yaml"]),
        ]
        print(f"built-ins vs pre-commit-hooks: {args.files} files, 13 hooks, median of {args.runs} runs")
        print(f"{'scenario':9} {'tool':16} {'median':>10} {'min':>10} {'x precheck':>11}")
        for scenario in ("all", "staged"):
            if scenario == "staged":
                for i in range(0, args.files, args.files // 200):
                    p = next((repo / f"d{i // 100:03d}").glob(f"f{i:05d}.*"))
                    body = p.read_bytes()
                    # A real change, valid for the file's kind.
                    if p.suffix == ".yaml":
                        body += b"more: 1\n"
                    elif p.suffix == ".toml":
                        body = body.replace(b"[nested]", b"more = 1\n\n[nested]")
                    elif p.suffix == ".json":
                        body = body.replace(b'"name"', b'"more": 1, "name"')
                    elif p.suffix == ".py":
                        body += b"X = 1\n"
                    else:
                        body += b"more\n"
                    p.write_bytes(body)
                git(repo, "add", "-A")
            # Written files reach the disk before the timing (the kernel's
            # write-back of 20,000 new files otherwise lands on whichever
            # tool runs first).
            os.sync()
            clean = tree_digest(repo)
            argvs = {
                name: [a for a in argv if a not in ("--all", "--all-files")] if scenario == "staged" else argv
                for name, argv in tools
            }
            for name, argv in argvs.items():
                timed(argv, repo, env)  # warm-up: environments are built here
            # Round-robin: each round runs every tool once, so that what
            # the machine does meanwhile falls on all of them alike.
            results: dict[str, list[float]] = {name: [] for name in argvs}
            for _ in range(args.runs):
                for name, argv in argvs.items():
                    results[name].append(timed(argv, repo, env))
                    if tree_digest(repo) != clean:
                        sys.exit(f"{name} changed the tree")
            base = statistics.median(results["precheck"])
            for name, runs in results.items():
                med = statistics.median(runs)
                print(f"{scenario:9} {name:16} {med * 1000:8.0f}ms {min(runs) * 1000:8.0f}ms {med / base:10.1f}x")


if __name__ == "__main__":
    main()
