#!/usr/bin/env python3
"""Pre-receive hook latency: a push of one commit touching 10 files into bare
repositories of 1,000 and of 50,000 commits (median of 21 hook runs each; the
compiled rule set is cached, as on a server), and a push of 1,000 commits
(time per MB pushed). The pushed objects are written into the repository
without moving any ref, which is what the hook sees from git's quarantine.

  scripts/bench-hook.py [--runs 21]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRET = os.path.join(ROOT, "build", "ferret")


def fast_import(repo, stream):
    p = subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=stream)
    if p.returncode:
        sys.exit("fast-import failed")


def make_repo(path, commits):
    subprocess.run(["git", "init", "-q", "--bare", path], check=True)
    out = bytearray()
    t = 1_700_000_000
    for c in range(commits):
        t += 60
        msg = f"change {c}\n".encode()
        out += (f"commit refs/heads/main\nmark :{c + 1}\nauthor a <a@example.com> {t} +0000\n"
                f"committer a <a@example.com> {t} +0000\ndata {len(msg)}\n").encode() + msg
        if c:
            out += f"from :{c}\n".encode()
        data = (f"value = {c}\n" * 20).encode()
        out += f"M 100644 inline src/mod{c % 500}/file{c % 37}.py\ndata {len(data)}\n".encode() + data + b"\n\n"
    fast_import(path, bytes(out))
    subprocess.run(["git", "-C", path, "repack", "-q", "-a", "-d"], check=True)


def candidate(repo, ncommits, files_per_commit, bytes_per_file):
    """Writes ncommits new commits on top of main under a temporary ref, then
    drops the ref: the objects stay, unreferenced. Returns (old, new, bytes)."""
    old = subprocess.run(["git", "-C", repo, "rev-parse", "main"], capture_output=True, text=True,
                         check=True).stdout.strip()
    out = bytearray()
    total = 0
    t = 1_800_000_000
    for c in range(ncommits):
        t += 60
        msg = f"push {c}\n".encode()
        out += (f"commit refs/bench/new\nmark :{c + 1}\nauthor p <p@example.com> {t} +0000\n"
                f"committer p <p@example.com> {t} +0000\ndata {len(msg)}\n").encode() + msg
        out += (f"from {old}\n" if c == 0 else f"from :{c}\n").encode()
        for f in range(files_per_commit):
            line = f"setting_{c}_{f} = compute({c}, {f})  # push benchmark\n".encode()
            data = line * max(1, bytes_per_file // len(line))
            total += len(data)
            out += f"M 100644 inline push/c{c % 50}/f{f}.py\ndata {len(data)}\n".encode() + data + b"\n"
        out += b"\n"
    fast_import(repo, bytes(out))
    new = subprocess.run(["git", "-C", repo, "rev-parse", "refs/bench/new"], capture_output=True,
                         text=True, check=True).stdout.strip()
    subprocess.run(["git", "-C", repo, "update-ref", "-d", "refs/bench/new"], check=True)
    return old, new, total


def hook_times(repo, old, new, runs, env):
    line = f"{old} {new} refs/heads/main\n".encode()
    times = []
    for _ in range(runs):
        t = time.monotonic()
        p = subprocess.run([FERRET, "hook", "pre-receive"], input=line, cwd=repo, env=env,
                           capture_output=True)
        times.append(time.monotonic() - t)
        if p.returncode not in (0, 1):
            sys.exit(f"hook failed: {p.stderr.decode()}")
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    a = ap.parse_args()
    subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "ferret"],
                   check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="ferret-hookbench-") as tmp:
        env = dict(os.environ, GIT_DIR=".", FERRET_CACHE_DIR=os.path.join(tmp, "cache"))
        print(f"machine: {os.cpu_count()} cores")
        for commits in (1000, 50000):
            repo = os.path.join(tmp, f"r{commits}.git")
            make_repo(repo, commits)
            old, new, _ = candidate(repo, 1, 10, 2000)
            hook_times(repo, old, new, 1, env)  # warm the compiled-rules cache
            ts = hook_times(repo, old, new, a.runs, env)
            print(f"repo of {commits:>6} commits: push of 1 commit x 10 files: median "
                  f"{statistics.median(ts) * 1000:.1f} ms (min {min(ts) * 1000:.1f}, "
                  f"max {max(ts) * 1000:.1f}, {a.runs} runs)")
        repo = os.path.join(tmp, "r1000.git")
        old, new, total = candidate(repo, 1000, 3, 3000)
        ts = hook_times(repo, old, new, 3, env)
        med = statistics.median(ts)
        print(f"push of 1,000 commits ({total / 1e6:.1f} MB of new blobs): {med:.2f} s, "
              f"{med / (total / 1e6) * 1000:.0f} ms per MB")


if __name__ == "__main__":
    main()
