#!/usr/bin/env python3
"""Wall-clock benchmark: precheck against pre-commit, prek and lefthook.

What it measures
----------------
The time one `run` of each tool takes, from process start to exit, in a fresh
throw-away git repository that holds one staged, modified file, for the same
checks written in each tool's own config:

* overhead -- one trivial check (`true`): the cost of the runner itself.
* parallel -- four checks, each `sleep 1`: how well the runner overlaps
  independent checks. The lower bound is 1000 ms; the table also shows each
  tool's median minus that bound.

Before any timing, each tool runs a probe config whose checks `touch` marker
files, to prove that it really runs every configured check (a tool that exits 0
without running anything would otherwise look very fast). Then, per scenario,
each tool is run once (warm-up; it also lets pre-commit and prek do their
one-time setup) and must exit 0 -- and, where there is a lower bound, take at
least that long. A tool that fails any of this is reported as failed, with its
output, and left out of the timing. Finally every tool is run N times, round-robin
(the order rotates each round), so machine noise hits all tools alike. The
report gives the median and the minimum in milliseconds and each tool's median
relative to precheck's.

How each tool is configured and invoked
---------------------------------------
* precheck:   `checks.toml` ([settings] jobs = 4), run as `precheck run -q`.
* pre-commit: `.pre-commit-config.yaml` with `repo: local`, `language: system`,
              `pass_filenames: false`, `always_run: true` hooks; run as
              `pre-commit run`. pre-commit always runs hooks one after another.
* prek:       the same hooks in prek's native `prek.toml` (which prek prefers
              over the YAML file), each with `priority = 0`: hooks sharing a
              priority run concurrently. prek caps that at the CPU count by
              default, so PREK_CONCURRENT_HOOKS=4 is set to match precheck's
              jobs = 4. (The extra key lives in prek.toml rather than the shared
              YAML because pre-commit warns about unknown keys.) Run as
              `prek run`.
* lefthook:   `lefthook.yml` with `parallel: true`; run as
              `lefthook run pre-commit --no-auto-install` (without that flag
              lefthook would write git hooks into the repo on every run). The
              PyPI package's `lefthook` command is a Python wrapper that spawns
              the bundled Go binary; the binary is timed directly, so Python's
              start-up is not counted against lefthook.

The peers are installed from PyPI on first use into bench/.venv. pre-commit's
and prek's caches (PRE_COMMIT_HOME, PREK_HOME) point into the scratch
directory, so the user's own caches are neither used nor touched. All files are
removed afterwards.

Usage
-----
    python3 bench/run.py [--precheck PATH] [--runs N] [--write]

    --precheck PATH  precheck binary (default: target/release/precheck in the
                     repository root; build it with `cargo build --release`)
    --runs N         timed runs per tool (default: 20 overhead, 5 parallel)
    --scenario NAME  run only this scenario (repeatable)
    --write          replace (or append) the generated section of BENCHMARKS.md
                     in the repository root with this run's results

Python 3.11 standard library only. Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV = BENCH_DIR / ".venv"
VENV_BIN = VENV / "bin"
PEER_PACKAGES = ("pre-commit", "prek", "lefthook")
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
SECTION_START = "<!-- bench/run.py: start (generated; do not edit by hand) -->"
SECTION_END = "<!-- bench/run.py: end -->"

PRECHECK_JOBS = 4
RUN_TIMEOUT_S = 300
# Environment variables that would change how git or a peer behaves.
SCRUBBED_ENV_PREFIXES = ("GIT_", "LEFTHOOK", "PRE_COMMIT", "PREK_")
SCRUBBED_ENV_NAMES = ("SKIP",)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    checks: tuple[str, ...]  # one shell command per check
    default_runs: int
    lower_bound_ms: float | None = None


SCENARIOS = (
    Scenario("overhead", "one trivial check (`true`)", ("true",), 20),
    Scenario("parallel", "four checks, each `sleep 1`", ("sleep 1",) * 4, 5, 1000.0),
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


def build_tools(precheck: Path) -> list[Tool]:
    return [
        Tool("precheck", [str(precheck), "run", "-q"]),
        Tool("pre-commit", [str(VENV_BIN / "pre-commit"), "run"]),
        Tool(
            "prek",
            [str(VENV_BIN / "prek"), "run"],
            {"PREK_CONCURRENT_HOOKS": str(PRECHECK_JOBS)},
        ),
        Tool("lefthook", [str(lefthook_binary()), "run", "pre-commit", "--no-auto-install"]),
    ]


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


def precheck_config(checks: tuple[str, ...]) -> str:
    lines = ["[settings]", f"jobs = {PRECHECK_JOBS}"]
    for i, cmd in enumerate(checks, 1):
        lines += ["", f"[checks.c{i}]", f"run = {quoted(cmd)}"]
    return "\n".join(lines) + "\n"


def pre_commit_config(checks: tuple[str, ...]) -> str:
    lines = ["repos:", "  - repo: local", "    hooks:"]
    for i, cmd in enumerate(checks, 1):
        lines += [
            f"      - id: c{i}",
            f"        name: c{i}",
            f"        entry: {quoted(cmd)}",
            "        language: system",
            "        pass_filenames: false",
            "        always_run: true",
        ]
    return "\n".join(lines) + "\n"


def prek_config(checks: tuple[str, ...]) -> str:
    lines = ["[[repos]]", 'repo = "local"', "hooks = ["]
    for i, cmd in enumerate(checks, 1):
        lines.append(
            f'  {{ id = "c{i}", name = "c{i}", entry = {quoted(cmd)}, language = "system",'
            " pass_filenames = false, always_run = true, priority = 0 },"
        )
    lines.append("]")
    return "\n".join(lines) + "\n"


def lefthook_config(checks: tuple[str, ...]) -> str:
    lines = ["pre-commit:", "  parallel: true", "  commands:"]
    for i, cmd in enumerate(checks, 1):
        lines += [f"    c{i}:", f"      run: {quoted(cmd)}"]
    return "\n".join(lines) + "\n"


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=repo, env=clean_env(), capture_output=True, text=True, check=True,
    )
    return proc.stdout


def make_repo(scratch: Path, scenario: Scenario) -> Path:
    """A git repo with every tool's config committed and one staged change."""
    repo = Path(tempfile.mkdtemp(prefix=f"{scenario.name}-", dir=scratch))
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "precheck bench")
    git(repo, "config", "user.email", "bench@example.invalid")
    files = {
        "checks.toml": precheck_config(scenario.checks),
        ".pre-commit-config.yaml": pre_commit_config(scenario.checks),
        "prek.toml": prek_config(scenario.checks),
        "lefthook.yml": lefthook_config(scenario.checks),
        "hello.txt": "hello\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    (repo / "hello.txt").write_text("hello, world\n")
    git(repo, "add", "hello.txt")
    return repo


def repo_status(repo: Path) -> str:
    return git(repo, "status", "--porcelain")


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


def failure(code: int, output: str, what: str) -> str:
    """First line: what went wrong; then the last 40 lines of the tool's output."""
    tail = "\n".join(output.strip().splitlines()[-40:]) or "(no output)"
    return f"{what} (exit code {code})\n{tail}"


def probe_tools(
    tools: list[Tool], scratch: Path, base_env: dict[str, str]
) -> dict[str, str]:
    """Check that each tool runs all its checks; return {tool: error} for those that don't."""
    markers = scratch / "probe-markers"
    markers.mkdir()
    checks = tuple(f"touch {markers / f'c{i}'}" for i in range(1, 5))
    repo = make_repo(scratch, Scenario("probe", "marker files", checks, 1))
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


def bench_scenario(
    scenario: Scenario,
    tools: list[Tool],
    runs: int,
    scratch: Path,
    base_env: dict[str, str],
    known_errors: dict[str, str],
) -> list[Result]:
    repo = make_repo(scratch, scenario)
    before = repo_status(repo)
    envs = {t.name: {**base_env, **t.env} for t in tools}
    results = {t.name: Result(t.name, error=known_errors.get(t.name)) for t in tools}

    active = []
    for tool in tools:
        if results[tool.name].error:
            continue
        log(f"[{scenario.name}] warm-up {tool.name}")
        elapsed_ms, code, output = run_once(tool, repo, envs[tool.name])
        if code != 0:
            results[tool.name].error = failure(code, output, "warm-up run")
        elif scenario.lower_bound_ms is not None and elapsed_ms < scenario.lower_bound_ms:
            results[tool.name].error = failure(
                code, output,
                f"warm-up run took {elapsed_ms:.1f} ms, under the "
                f"{scenario.lower_bound_ms:.0f} ms lower bound, so its checks did not all run",
            )
        else:
            active.append(tool)

    for round_no in range(runs):
        log(f"[{scenario.name}] round {round_no + 1}/{runs}")
        shift = round_no % len(active) if active else 0
        for tool in active[shift:] + active[:shift]:
            if results[tool.name].error:
                continue
            elapsed_ms, code, output = run_once(tool, repo, envs[tool.name])
            if code == 0:
                results[tool.name].samples_ms.append(elapsed_ms)
            else:
                results[tool.name].error = failure(code, output, f"timed run {round_no + 1}")

    after = repo_status(repo)
    if after != before:
        log(f"warning: [{scenario.name}] repo state changed during the runs:\n"
            f"before:\n{before}after:\n{after}")
    return [results[t.name] for t in tools]


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


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
            row.append(f"{r.median - scenario.lower_bound_ms:+.1f}")
        rows.append(row)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def scenario_report(scenario: Scenario, runs: int, results: list[Result]) -> str:
    parts = [
        f"### {scenario.name}: {scenario.description}",
        "",
        f"{runs} timed run{'s' if runs != 1 else ''} per tool, after one warm-up run.",
        "",
        results_table(scenario, results),
    ]
    for r in results:
        if r.error:
            parts += ["", f"{r.tool} failed: {r.error.splitlines()[0]}; its output:",
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
        f"- Settings: precheck `jobs = {PRECHECK_JOBS}`; pre-commit runs hooks serially; "
        f"prek `priority = 0` on every hook and `PREK_CONCURRENT_HOOKS={PRECHECK_JOBS}`; "
        "lefthook `parallel: true`, `--no-auto-install`, native binary.",
        "- Each run: wall clock of one `run` in a temporary git repo with one staged file; "
        "tools interleaved round-robin.",
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
        "--scenario", action="append", choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable; default: all)",
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
    tools = build_tools(precheck)
    versions = tool_versions(precheck)
    machine = machine_description()
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join(["python3", "bench/run.py", *sys.argv[1:]])

    print(f"Machine: {machine}")
    for version in versions.values():
        print(f"  {version}")
    print()

    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    scratch = Path(tempfile.mkdtemp(prefix="precheck-bench-"))
    base_env = clean_env({
        "PRE_COMMIT_HOME": str(scratch / "pre-commit-home"),
        "PREK_HOME": str(scratch / "prek-home"),
    })
    sections, any_failed, precheck_failed = [], False, False
    try:
        known_errors = probe_tools(tools, scratch, base_env)
        for scenario in scenarios:
            runs = args.runs or scenario.default_runs
            results = bench_scenario(scenario, tools, runs, scratch, base_env, known_errors)
            section = scenario_report(scenario, runs, results)
            print(section, end="\n\n", flush=True)
            sections.append(section)
            any_failed |= any(r.error for r in results)
            precheck_failed |= any(r.error for r in results if r.tool == "precheck")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if args.write:
        if precheck_failed:
            log(f"not writing {args.output}: precheck itself failed")
            return 1
        write_benchmarks_md(args.output, full_report(when, machine, versions, command, sections))
        log(f"wrote results to {args.output}")
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
