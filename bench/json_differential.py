#!/usr/bin/env python3
"""Differential test of precheck's check-json against Python's json module.

pre-commit-hooks' check-json is `json.load(f, object_pairs_hook=...)` on the
file's bytes, failing a key named twice. precheck's builtin:check-json reads
JSON as that does (src/exec/builtin/json.rs). This script writes thousands of
random JSON-ish files (valid documents, mutated ones, random tokens, random
bytes; in UTF-8, with a BOM, UTF-16 and UTF-32), asks Python of each, runs
`precheck run --all` with builtin:check-json over all of them in one
repository, and compares: the same files fail, with the same words (the words
only where this Python's are the ones precheck follows, 3.11 and 3.12).

    python3 bench/json_differential.py --seed 1 --files 3000 --precheck target/release/precheck

Exits 1 on any difference, printing the first ones.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

ATOMS = [
    "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "\r", '"a"', '"b"', '"\\u0061"',
    '"\\ud800"', '"\\ud83d\\ude00"', "1", "-", "0", "01", "1.5", "1e5", "1e", ".",
    "e", "+", "NaN", "Infinity", "-Infinity", "null", "true", "false", "nul", '"',
    "\\", "\\u", "x", "\x01", '"\\x"', "1e400", "é", "\ufeff", "\U0001f600", '"é"',
]


def duplicate_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"Duplicate key: {key}")
        seen[key] = value
    return seen


def python_says(data):
    try:
        json.loads(data, object_pairs_hook=duplicate_keys)
        return None
    except RecursionError:
        return "recursion"
    except ValueError as e:
        return str(e)


def value(rng, depth):
    c = rng.random()
    if depth > 3 or c < 0.3:
        return rng.choice(['1', '-2.5e3', '"s"', 'null', 'true', 'NaN', '"\\u00e9"', '0', '"a\\nb"'])
    if c < 0.65:
        return "[" + ", ".join(value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    keys = [rng.choice(['"a"', '"b"', '"c"', '"\\u0061"']) for _ in range(rng.randint(0, 3))]
    return "{" + ", ".join(f"{k}: {value(rng, depth + 1)}" for k in keys) + "}"


def text(rng):
    if rng.random() < 0.4:
        s = value(rng, 0)
        if rng.random() < 0.5:
            i = rng.randint(0, len(s))
            s = s[:i] + rng.choice(ATOMS) + s[i + (1 if rng.random() < 0.5 else 0):]
        return s
    return "".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 12)))


def encode(rng, s):
    r = rng.random()
    codec = "utf-8"
    prefix = b""
    if 0.8 <= r < 0.85:
        prefix = b"\xef\xbb\xbf"
    elif 0.85 <= r < 0.9:
        codec = "utf-16"
    elif 0.9 <= r < 0.95:
        codec = "utf-16-le"
    elif r >= 0.95:
        codec = "utf-32"
    return prefix + s.encode(codec, "surrogatepass")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--precheck", default="target/release/precheck")
    ap.add_argument("--verdicts", action="store_true", help="compare verdicts only, not words")
    args = ap.parse_args()
    precheck = os.path.abspath(args.precheck)
    rng = random.Random(args.seed)
    words = not args.verdicts and sys.version_info[:2] in ((3, 11), (3, 12))
    with tempfile.TemporaryDirectory(prefix="json-diff-") as repo:
        subprocess.run(["git", "init", "-q", repo], check=True)
        with open(os.path.join(repo, "checks.toml"), "w") as f:
            f.write('[checks.cj]\nrun = "builtin:check-json"\nglob = "*.json"\n')
        want = {}
        for i in range(args.files):
            data = encode(rng, text(rng))
            if rng.random() < 0.05:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 6)))
            name = f"f{i}.json"
            with open(os.path.join(repo, name), "wb") as f:
                f.write(data)
            want[name] = python_says(data)
        subprocess.run(["git", "-C", repo, "add", "-A"], check=True)
        run = subprocess.run(
            [precheck, "run", "--all", "--no-cache", "--format", "json"],
            cwd=repo, capture_output=True, text=True,
        )
        doc = json.loads(run.stdout)
        with open(doc["checks"][0]["log"], encoding="utf-8", errors="replace") as f:
            log = f.read()
        got = dict.fromkeys(want)
        for line in log.splitlines():
            name, sep, rest = line.partition(": Failed to json decode (")
            if sep:
                got[name] = rest[:-1]
        differ = []
        for name, said in want.items():
            ours = got[name]
            same = (said is None) == (ours is None)
            if same and words and said is not None:
                same = said.encode("utf-8", "replace") == ours.encode("utf-8", "replace")
            if not same:
                differ.append((name, said, ours))
        for name, said, ours in differ[:15]:
            with open(os.path.join(repo, name), "rb") as f:
                print(f"{name} {f.read()!r}\n  python:   {said}\n  precheck: {ours}")
        failing = sum(1 for v in want.values() if v is not None)
        print(
            f"json differential: {args.files} files ({failing} failing in Python "
            f"{sys.version.split()[0]}), {len(differ)} differences"
            + ("" if words else " (verdicts only: this Python words its errors otherwise)")
        )
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
