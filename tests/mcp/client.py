"""precheck mcp, driven by the official Python MCP SDK's stdio client.

Usage: python tests/mcp/client.py PATH/TO/precheck

In a temporary repository: lists the tools; starts a run of a cached, a
failing, a slow, a timed-out and a skipped check; waits (with progress
notifications); reads the failing logs' tails; polls and kills a hanging
run, then reads an interrupted and a crashed one; lists the checks. Every answer is
compared with the CLI's JSON for the same run. Exits non-zero on the first
difference.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BIN = os.path.abspath(sys.argv[1])

CHECKS = """\
[checks.pass]
run = 'echo fine'

[checks.fail]
run = 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i"; done; printf "\\033[31mred\\033[0m\\n"; exit 2'

[checks.slow]
run = 'sleep 2.5'

[checks.late]
run = 'sleep 30'
timeout = '300ms'

[checks.after]
run = 'true'
needs = ['fail']

[checks.hang]
run = 'touch hang.started; exec sleep 100'
hooks = ['manual']
"""


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRECHECK_"))}
    e.update(
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1",
    )
    return e


def git(repo: str, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env(), check=True, capture_output=True)


def cli(repo: str, *args: str) -> dict:
    out = subprocess.run([BIN, *args], cwd=repo, env=env(), capture_output=True, text=True)
    return json.loads(out.stdout)


def content(result) -> dict:
    """The structured content of a tool result (the SDK's spelling varies by version)."""
    for name in ("structured_content", "structuredContent"):
        if hasattr(result, name):
            return getattr(result, name)
    raise SystemExit(f"no structured content in {result}")


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def without(doc, key: str):
    """`doc` with every field named `key` removed, at any depth."""
    if isinstance(doc, dict):
        return {k: without(v, key) for k, v in doc.items() if k != key}
    if isinstance(doc, list):
        return [without(v, key) for v in doc]
    return doc


def same(what: str, got, want) -> None:
    if got != want:
        raise SystemExit(f"{what}: MCP and CLI differ\nMCP: {json.dumps(got, indent=1)}\nCLI: {json.dumps(want, indent=1)}")


async def main() -> None:
    repo = tempfile.mkdtemp(prefix="precheck-mcp-")
    git(repo, "init", "-q", "-b", "main")
    with open(os.path.join(repo, "checks.toml"), "w") as f:
        f.write(CHECKS)
    with open(os.path.join(repo, ".gitignore"), "w") as f:
        f.write("hang.started\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")

    # Served by its path, from elsewhere (as an agent configured with it would).
    # An earlier pass, so that `pass` is cached in the run below.
    subprocess.run([BIN, "run", "pass", "--all"], cwd=repo, env=env(), check=True, capture_output=True)
    server = StdioServerParameters(command=BIN, args=["mcp", repo], cwd="/", env=env())
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name for t in (await s.list_tools()).tools}
            same("tools", sorted(tools), ["kill", "list", "log", "run", "tasks", "wait"])

            started = content(await s.call_tool("run", {"checks": ["pass", "fail", "slow", "late", "after"], "all": True}))
            run_id = started["run_id"]
            progress = []

            async def on_progress(done, total, message):
                progress.append((done, total, message))

            waited = await s.call_tool("wait", {"runs": [run_id], "timeout": "60s"}, progress_callback=on_progress)
            doc = content(waited)
            if doc["timed_out"] or doc["runs"][0]["state"] != "failed":
                raise SystemExit(f"wait: {doc}")
            same("wait", doc, cli(repo, "wait", "--run", run_id, "--format", "json"))
            if not progress or progress[-1][1] != 5:
                raise SystemExit(f"no progress notification while the slow check ran: {progress}")
            states = {c["name"]: c["state"] for c in doc["runs"][0]["checks"]}
            same("states", states, {"pass": "cached", "fail": "failed", "slow": "passed",
                                    "late": "timed_out", "after": "skipped_needs"})

            log = content(await s.call_tool("log", {"run": run_id, "failures_only": True, "tail": 5}))
            names = [c["name"] for c in log["checks"]]
            same("failing checks", names, ["fail", "late"])
            fail = log["checks"][0]
            same("tail", fail["tail"], "line 7\nline 8\nline 9\nline 10\nred")
            same("exit code", fail["exit_code"], 2)
            whole = cli(repo, "log", "--run", run_id, "--tail", "5", "--format", "json")
            same("log", fail, [c for c in whole["checks"] if c["name"] == "fail"][0])
            same("counts", log["counts"], whole["counts"])
            one = content(await s.call_tool("log", {"run": run_id, "check": "slow"}))
            same("one check", [c["name"] for c in one["checks"]], ["slow"])
            typo = await s.call_tool("log", {"run": run_id, "check": "slwo"})
            if not is_error(typo) or "has no check `slwo`" not in content(typo)["error"]:
                raise SystemExit(f"a mistyped check is an error result naming it: {typo}")

            hang = content(await s.call_tool("run", {"checks": ["hang"], "all": True}))["run_id"]
            deadline = time.time() + 30
            while not os.path.exists(os.path.join(repo, "hang.started")):
                if time.time() > deadline:
                    raise SystemExit("the hanging check never started")
                await asyncio.sleep(0.05)
            polled = content(await s.call_tool("wait", {"runs": [hang], "timeout": "0"}))
            same("poll", (polled["timed_out"], polled["runs"][0]["state"]), (True, "running"))
            killed = await s.call_tool("kill", {"run": hang})
            if is_error(killed) or "killed run" not in content(killed)["message"]:
                raise SystemExit(f"kill: {killed}")
            after = content(await s.call_tool("wait", {"runs": [hang], "timeout": "30s"}))
            same("killed run", after["runs"][0]["state"], "killed")
            same("wait after kill", after, cli(repo, "wait", "--run", hang, "--format", "json"))

            # Interrupted (SIGINT to the run) and crashed (SIGKILL): the
            # tools read them as the CLI does.
            for sig, state, check in ((signal.SIGINT, "interrupted", "interrupted"),
                                      (signal.SIGKILL, "crashed", "crashed")):
                os.remove(os.path.join(repo, "hang.started"))
                rid = content(await s.call_tool("run", {"checks": ["hang"], "all": True}))["run_id"]
                deadline = time.time() + 30
                while not os.path.exists(os.path.join(repo, "hang.started")):
                    if time.time() > deadline:
                        raise SystemExit("the hanging check never started")
                    await asyncio.sleep(0.05)
                pid = [r for r in content(await s.call_tool("tasks", {}))["runs"] if r["id"] == rid][0]["pid"]
                os.kill(pid, sig)
                ended = content(await s.call_tool("wait", {"runs": [rid], "timeout": "30s"}))
                same(f"{state} run", (ended["runs"][0]["state"], ended["runs"][0]["checks"][0]["state"]),
                     (state, check))
                same(f"wait, {state}", ended, cli(repo, "wait", "--run", rid, "--format", "json"))

            tasks = content(await s.call_tool("tasks", {}))
            same("tasks", tasks, cli(repo, "tasks", "--format", "json"))
            # The default cap is a share of the memory available now: a live
            # reading that moves between two calls, left out of the comparison.
            listed = content(await s.call_tool("list", {}))
            same("list", without(listed, "memory_cap_bytes"),
                 without(cli(repo, "list", "--format", "json"), "memory_cap_bytes"))

            bad = await s.call_tool("log", {"run": "no-such-run"})
            if not is_error(bad) or "no run" not in content(bad)["error"]:
                raise SystemExit(f"an unknown run is an error result: {bad}")
    print(f"mcp: {len(tools)} tools, runs {run_id} and {hang} agree with the CLI; {len(progress)} progress notification(s)")


asyncio.run(main())
