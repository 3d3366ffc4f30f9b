#!/usr/bin/env python3
"""Generates a large git history for benchmarks with `git fast-import`:
COMMITS commits over a tree of realistic code and config files (Python, YAML,
Terraform, shell, JSON, Markdown), each commit editing a few files, with a few
planted fake secrets. Deterministic for a seed.

  corpus/gen-history.py OUT_REPO [--commits 20000] [--mb 200] [--seed 1]
"""
import argparse
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import fakesecrets  # noqa: E402

WORDS = ("config service deploy cluster token handler request response client server cache "
         "queue worker retry timeout region account storage bucket pipeline stage build test "
         "release metrics logger context session user group policy role secret vault key").split()


def ident(rng):
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


def py_block(rng):
    name = ident(rng)
    args = ", ".join(ident(rng) for _ in range(rng.randint(0, 3)))
    body = "\n".join(f"    {ident(rng)} = {ident(rng)}.{ident(rng)}({rng.randint(0, 999)})"
                     for _ in range(rng.randint(2, 8)))
    return f"def {name}({args}):\n    \"\"\"{' '.join(rng.choice(WORDS) for _ in range(8))}.\"\"\"\n{body}\n    return {ident(rng)}\n\n"


def yaml_block(rng):
    lines = [f"{ident(rng)}:"]
    for _ in range(rng.randint(2, 8)):
        lines.append(f"  {ident(rng)}: {rng.choice(['true', 'false', str(rng.randint(1, 9999)), ident(rng)])}")
    return "\n".join(lines) + "\n"


def tf_block(rng):
    return (f'resource "azurerm_{ident(rng)}" "{ident(rng)}" {{\n  name     = "{ident(rng)}-{rng.randint(1, 99)}"\n'
            f'  location = "westeurope"\n  tags = {{ env = "{rng.choice(["dev", "prod"])}" }}\n}}\n\n')


def sh_block(rng):
    return f"for f in $(ls {ident(rng)}/*.log); do\n  gzip -9 \"$f\" && echo \"{ident(rng)} $f\"\ndone\n"


KINDS = [(".py", py_block), (".yml", yaml_block), (".tf", tf_block), (".sh", sh_block)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    subprocess.run(["git", "init", "-q", "--bare", a.out], check=True)
    fi = subprocess.Popen(["git", "-C", a.out, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    out = fi.stdin
    target = a.mb << 20
    per_commit = max(1, target // a.commits)
    nfiles = 400
    files = {}
    for i in range(nfiles):
        ext, fn = KINDS[i % len(KINDS)]
        d = f"{rng.choice(['src', 'deploy', 'infra', 'scripts', 'lib'])}/{ident(rng)}"
        files[f"{d}/{ident(rng)}_{i}{ext}"] = (fn, "".join(fn(rng) for _ in range(rng.randint(5, 30))))
    names = sorted(files)
    written = 0
    t = 1_700_000_000
    for c in range(a.commits):
        t += 60
        edits = []
        budget = per_commit
        while budget > 0:
            name = rng.choice(names)
            fn, text = files[name]
            add = fn(rng)
            if rng.random() < 0.0005:
                add += f"TOKEN = \"{fakesecrets.github(rng)}\"\n"
            # append, and sometimes trim the head so files do not grow without bound
            text = text + add
            if len(text) > 64 * 1024:
                text = text[len(text) // 2:]
            files[name] = (fn, text)
            edits.append(name)
            budget -= len(text)
        author = rng.choice(["alice", "bob", "carol", "dave"])
        msg = f"{rng.choice(['fix', 'add', 'update', 'refactor'])} {ident(rng)}\n".encode()
        out.write(f"commit refs/heads/main\nmark :{c + 1}\n"
                  f"author {author} <{author}@example.com> {t} +0000\n"
                  f"committer {author} <{author}@example.com> {t} +0000\n"
                  f"data {len(msg)}\n".encode() + msg)
        if c:
            out.write(f"from :{c}\n".encode())
        for name in dict.fromkeys(edits):
            data = files[name][1].encode()
            written += len(data)
            out.write(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
        out.write(b"\n")
    out.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", a.out, "repack", "-q", "-a", "-d", "--window=10"], check=True)
    print(f"{a.out}: {a.commits} commits, {written >> 20} MB of blob content", file=sys.stderr)


if __name__ == "__main__":
    main()
