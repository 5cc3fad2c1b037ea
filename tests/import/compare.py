#!/usr/bin/env python3
"""Does `precheck import` give each check the files the original tool gives
its hook? For every config under tests/import/, on one tree of sample files:

- pre-commit: a copy of the config where every hook is a local hook with the
  same filters (the config's `files`/`exclude`/`types`/`types_or`/
  `exclude_types`, else the defaults of the hook's .pre-commit-hooks.yaml,
  and the top-level `files`/`exclude`) whose entry logs the files it gets,
  run by `prek run --all-files` (no remote repository is cloned);
- lefthook: a copy whose every command or job logs its `{staged_files}`
  instead of running, run by `lefthook run HOOK --all-files`;

and compares with the `paths` of `precheck list --all --format json` on the
imported checks.toml. Built-ins apply their hook's default types
themselves, so their selection is filtered through `identify` (the library
pre-commit types files with) as the built-in will. Known differences (a
regex precheck cannot read) are declared below and must still hold.

Usage: compare.py PRECHECK [--bin DIR]  (DIR holds prek and lefthook)
Exit 0 when every selection matches, 1 otherwise. With CI=true a missing
tool fails; otherwise it is skipped with the reason.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml  # a dependency of the venv (pyyaml), installed with prek

HERE = os.path.dirname(os.path.abspath(__file__))

# Defaults of the remote hooks the configs here use (their .pre-commit-hooks.yaml).
PY = {"types": ["python"]}
DEFAULTS = {
    "pyupgrade": PY, "reorder-python-imports": PY, "flake8": PY, "bandit": PY,
    "black": {"types_or": ["python", "pyi"]},
    "isort": {"types_or": ["cython", "pyi", "python"]},
    "mypy": {"types_or": ["python", "pyi"]},
    "ruff-check": {"types_or": ["python", "pyi", "jupyter"]},
    "ruff-format": {"types_or": ["python", "pyi", "jupyter"]},
    "yamllint": {"types": ["file", "yaml"]},
    "prettier": {"types": ["text"]},
    "check-builtin-literals": PY, "debug-statements": PY,
    "fix-byte-order-marker": {"types": ["text"]},
    "trailing-whitespace": {"types": ["text"]},
    "end-of-file-fixer": {"types": ["text"]},
    "mixed-line-ending": {"types": ["text"]},
    "check-merge-conflict": {"types": ["text"]},
    "check-yaml": {"types": ["yaml"]}, "check-toml": {"types": ["toml"]},
    "check-json": {"types": ["json"]},
    "check-executables-have-shebangs": {"types": ["text", "executable"]},
    "python-no-log-warn": PY, "python-no-eval": PY,
    "rst-backticks": {"types": ["rst"]},
}
ALWAYS = {"no-commit-to-branch", "forbid-new-submodules"}

# What precheck cannot do as pre-commit does, said in its notes.
EXPECTED = {
    # `files: "^(?!examples/)"` is a look-ahead, which precheck's regexes lack.
    ("flask", "reorder-python-imports"): {"examples/demo.py"},
    # lefthook 2 reads a string `exclude` as one glob, which
    # `vendor/*|fixtures|…` never matches; lefthook 1, for which discourse
    # wrote it, read it as a regular expression, and so does precheck.
    ("discourse", "prettier"): set(),
    ("discourse", "eslint-js"): set(),
}
# Files the original gives and precheck, on purpose, does not.
EXPECTED_MISSING = {
    ("discourse", "prettier"): {"vendor/lib.js"},
    ("discourse", "eslint-js"): {"vendor/lib.js"},
}

TREE = [
    "a.py", "b.pyi", "nb.ipynb", "app.js", "legacy.es6", "style.scss", "x.rb",
    "conf.yml", "conf.yaml", "data.json", "pyproject.toml", "README.md",
    "CHANGELOG.md", "guide.rst", "NEWS.rst", "notes.txt", "x.patch", "WHEEL",
    "Gemfile", "package.json", "database.yml", "main.go",
    "docs/conf.py", "docs/index.md", "ext/e.py", "tests/test_lowlevel.py",
    "tests/data/bad.py", "tests/t.py", "src/pip/_vendor/v.py", "src/pip/m.py",
    "examples/demo.py", "news/1.bugfix.rst", "news/bad.txt",
    "homeassistant/core.py", "script/s.py", ".vscode/settings.json",
    "internal/config/c.go", "internal/config/sub/d.go", "vendor/lib.js",
    "app/assets/javascripts/a.es6", "app/assets/stylesheets/s.scss",
]


def run(cmd, cwd, env=None, check=True):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{cmd} failed in {cwd}:\n{p.stdout}\n{p.stderr}")
    return p


def tree(root):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=root)
    run(["git", "init", "-q", "-b", "main"], root, env)
    for f in TREE:
        path = os.path.join(root, f)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("{}\n" if f.endswith((".json", ".ipynb")) else "x = 1\n")
    return env


def precheck_selection(precheck, root, config_name, env, hook):
    run([precheck, "import"], root, env)
    toml_path = os.path.join(root, "checks.toml")
    with open(toml_path) as fh:
        text = fh.read()
    # A built-in takes no `{files}` (it applies its own types); to see
    # which files its filters let through, probe it with a command that does.
    builtins = {}
    lines = []
    name = None
    for line in text.splitlines():
        if line.startswith("[checks."):
            name = json.loads(line[len("[checks."):-1])
        if line.startswith('run = ["builtin:'):
            builtins[name] = json.loads(line[len("run = "):])[0][len("builtin:"):]
            line = 'run = ["true", "{files}"]'
        lines.append(line)
    with open(toml_path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    run(["git", "add", "-A"], root, env)
    doc = json.loads(run([precheck, "list", "--all", "--hook", hook, "--format", "json"], root, env).stdout)
    out = {}
    from identify import identify
    for c in doc["checks"]:
        if c["decision"] != "run" and c["name"] not in builtins:
            continue
        paths = set(c["paths"]) - {"checks.toml"}  # written by the import
        if c["name"] in builtins:
            types = DEFAULTS.get(builtins[c["name"]], {}).get("types", [])
            paths = {p for p in paths if set(types) <= identify.tags_from_path(os.path.join(root, p))}
        out[c["name"]] = paths
    return out


def pre_commit_probe(cfg, log):
    """The config with every translated hook as a local one that logs its files."""
    hooks = []
    for repo in cfg.get("repos", []):
        for h in repo.get("hooks", []):
            if repo["repo"] == "meta":
                continue
            probe = {
                "id": h["id"],
                "name": h["id"],
                "language": "system",
                "entry": f"sh -c 'for f in \"$@\"; do printf \"%s\\t%s\\n\" {h['id']} \"$f\"; done >> {log}' --",
            }
            base = {} if repo["repo"] == "local" else DEFAULTS.get(h["id"], {})
            for key in ["files", "exclude", "types", "types_or", "exclude_types", "stages", "always_run"]:
                if key in h:
                    probe[key] = h[key]
                elif key in base:
                    probe[key] = base[key]
            hooks.append(probe)
    out = {k: v for k, v in cfg.items() if k in ("files", "exclude", "default_stages")}
    out["repos"] = [{"repo": "local", "hooks": hooks}]
    return out


def lefthook_probe(cfg, log):
    def fix(job, name):
        if "run" in job or "script" in job:
            job.pop("script", None)
            job.pop("runner", None)
            job["run"] = f"for f in {{staged_files}}; do printf '%s\\t%s\\n' '{name}' \"$f\"; done >> {log}"
        for i, sub in enumerate(job.get("group", {}).get("jobs", [])):
            fix(sub, f"{name}-{i + 1}")
    for hook, body in cfg.items():
        if not isinstance(body, dict):
            continue
        for name, cmd in (body.get("commands") or {}).items():
            fix(cmd, name)
        for i, job in enumerate(body.get("jobs") or []):
            fix(job, job.get("name", f"{hook}-{i + 1}"))
    return cfg


def read_log(log):
    got = {}
    if os.path.exists(log):
        for line in open(log):
            name, _, path = line.rstrip("\n").partition("\t")
            name = "-".join(name.replace(",", " ").split())  # as precheck names it
            got.setdefault(name, set()).add(path)
    return got


def compare(label, want, got, failures):
    for name in sorted(set(want) | set(got)):
        w, g = want.get(name, set()), got.get(name, set())
        expected = EXPECTED.get((label, name), set())
        extra, missing = g - w, w - g
        if extra == expected and missing == EXPECTED_MISSING.get((label, name), set()):
            note = f" (precheck also: {sorted(extra)}, as its notes say)" if extra else ""
            note += f" (original also: {sorted(missing)}, see EXPECTED_MISSING)" if missing else ""
            print(f"  ok   {label}/{name}: {len(w)} files{note}")
        else:
            failures.append(f"{label}/{name}")
            print(f"  DIFF {label}/{name}: only original {sorted(missing)}, only precheck {sorted(extra - expected)}")


def main():
    precheck = os.path.abspath(sys.argv[1])
    bindir = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--bin" else None
    path = os.pathsep.join(filter(None, [bindir, os.environ.get("PATH")]))
    tools = {t: shutil.which(t, path=path) for t in ("prek", "lefthook")}
    tools = {t: p and os.path.abspath(p) for t, p in tools.items()}
    failures = []
    for fname in sorted(os.listdir(HERE)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        label, _, kind = fname.partition(".")
        tool = "prek" if "pre-commit" in kind else "lefthook"
        if not tools[tool]:
            msg = f"{tool} not found (pip install {tool}): {fname} not compared"
            if os.environ.get("CI") == "true":
                sys.exit(f"error: {msg}")
            print(f"skip: {msg}")
            continue
        with open(os.path.join(HERE, fname)) as fh:
            cfg = yaml.safe_load(fh)
        with tempfile.TemporaryDirectory() as orig, tempfile.TemporaryDirectory() as ours:
            log = os.path.join(orig, ".git", "probe.log")
            env = tree(orig)
            tree(ours)
            if tool == "prek":
                shutil.copy(os.path.join(HERE, fname), os.path.join(ours, ".pre-commit-config.yaml"))
                with open(os.path.join(orig, ".pre-commit-config.yaml"), "w") as fh:
                    yaml.safe_dump(pre_commit_probe(cfg, log), fh)
                run(["git", "add", "-A"], orig, env)
                run([tools[tool], "run", "--all-files"], orig, dict(env, PREK_HOME=os.path.join(orig, ".git", "prek")), check=False)
                print(f"{fname} (prek, pre-commit stage):")
                compare(label, read_log(log), precheck_selection(precheck, ours, fname, env, "pre-commit"), failures)
            else:
                shutil.copy(os.path.join(HERE, fname), os.path.join(ours, "lefthook.yml"))
                with open(os.path.join(orig, "lefthook.yml"), "w") as fh:
                    yaml.safe_dump(lefthook_probe(cfg, log), fh)
                run(["git", "add", "-A"], orig, env)
                hooks = [h for h, b in cfg.items() if isinstance(b, dict) and h in ("pre-commit", "pre-push")]
                for hook in hooks:
                    open(log, "w").close()
                    run([tools[tool], "run", hook, "--all-files", "--force"], orig, env, check=False)
                    print(f"{fname} (lefthook, {hook}):")
                    compare(label, read_log(log), precheck_selection(precheck, ours, fname, env, hook), failures)
                    os.remove(os.path.join(ours, "checks.toml"))
    if failures:
        sys.exit(f"{len(failures)} selections differ: {', '.join(failures)}")
    print("every selection matches")


if __name__ == "__main__":
    main()
