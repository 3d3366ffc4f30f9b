#!/usr/bin/env python3
"""Generates a CI log-archive corpus for benchmarks: GitHub Actions and Azure
Pipelines log downloads (zip files of per-step logs), GitLab CI job logs
(gzipped) and Jenkins console logs (plain and gzipped), with timestamps, ANSI
colours, runner markers and a few fake secrets. Deterministic for a seed.

  corpus/gen-logs.py OUT_DIR [--mb 1024] [--seed 1]
"""
import argparse
import gzip
import os
import random
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import fakesecrets  # noqa: E402

WORDS = ("build test deploy cache restore install compile link package upload download "
         "artifact docker image layer pull push npm pip cargo maven gradle node python "
         "module resolve fetch done ok warning error retry timeout step job stage").split()


def line_pool(rng, style, n=4000):
    out = []
    for _ in range(n):
        w = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        r = rng.random()
        if style == "gha":
            t = f"2026-03-04T05:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 9999999):07d}Z "
            if r < 0.05:
                out.append(f"{t}##[group]Run {w}\r\n")
            elif r < 0.3:
                out.append(f"{t}\x1b[36;1m{w}\x1b[0m\r\n")
            else:
                out.append(f"{t}{w}\r\n")
        elif style == "azure":
            t = f"2026-03-04T05:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 9999999):07d}Z "
            out.append(f"{t}##[section]{w}\n" if r < 0.05 else f"{t}{w}\n")
        elif style == "gitlab":
            if r < 0.02:
                out.append(f"section_start:{rng.randint(1700000000, 1800000000)}:{rng.choice(WORDS)}\r\x1b[0K\x1b[0;m{w}\n")
            else:
                out.append(f"\x1b[32;1m$ {w}\x1b[0;m\n" if r < 0.2 else f"{w}\n")
        else:
            out.append(f"[2026-03-04T05:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z] {w}\n")
    return out


def text(rng, pool, size):
    parts, n = [], 0
    while n < size:
        ln = rng.choice(pool)
        if rng.random() < 0.00002:
            ln = f"export GITHUB_TOKEN={fakesecrets.github(rng)}\n"
        parts.append(ln)
        n += len(ln)
    return "".join(parts).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    pools = {s: line_pool(rng, s) for s in ("gha", "azure", "gitlab", "jenkins")}
    budget = a.mb << 20
    total, i = 0, 0
    while total < budget:
        kind = ["gha", "gha", "azure", "gitlab", "jenkins"][i % 5]
        if kind in ("gha", "azure"):
            path = os.path.join(a.out, f"{kind}_logs_{i}.zip")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
                for step in range(5):
                    data = text(rng, pools[kind], 2 << 20)
                    name = f"build/{step + 1}_{rng.choice(WORDS)}.txt" if kind == "gha" else f"Job/{step + 1}_{rng.choice(WORDS)}.txt"
                    z.writestr(name, data)
                    total += len(data)
        else:
            data = text(rng, pools[kind], 8 << 20)
            total += len(data)
            if kind == "gitlab" or i % 2:
                with gzip.open(os.path.join(a.out, f"{kind}_job_{i}.log.gz"), "wb", compresslevel=6) as f:
                    f.write(data)
            else:
                with open(os.path.join(a.out, f"{kind}_console_{i}.log"), "wb") as f:
                    f.write(data)
        i += 1
    print(f"{a.out}: {i} files, {total >> 20} MB uncompressed", file=sys.stderr)


if __name__ == "__main__":
    main()
