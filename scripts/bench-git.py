#!/usr/bin/env python3
"""Git history benchmark: ferret's full-history scan against the cost of merely
reading every object (`git cat-file --batch-all-objects --batch --unordered`),
measured in the same run, on a generated history (corpus/gen-history.py) and on
any repositories given on the command line.

  scripts/bench-git.py [--runs 3] [--commits 20000] [--mb 200] [REPO...]

Reports, per repository: median seconds of the reference read and of ferret's
first scan (fresh DB), their ratio, blobs/s and MB/s of blob bytes, ferret's
peak RSS, the median unchanged re-scan and its speed-up, and the first scan with
libgit2's strict hash verification on (--verify-hashes) for comparison.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRET = os.environ.get("FERRET") or os.path.join(ROOT, "build", "ferret")


def run(cmd, **kw):
    """Runs cmd; returns (seconds, peak RSS of this child in MB, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=kw.get("stdout", subprocess.DEVNULL), stderr=subprocess.PIPE,
                       env=kw.get("env"))
    secs = time.monotonic() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, (rss if rss > before else 0) / 1024, p.stderr.decode(errors="replace")


def peak_rss(cmd, env):
    """Peak RSS of one command, measured in a fresh python process."""
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss//1024)")
    return int(subprocess.run([sys.executable, "-c", code] + cmd, env=env, capture_output=True,
                              text=True).stdout)


def bench(repo, runs, tmp):
    env = dict(os.environ, FERRET_CACHE_DIR=os.path.join(tmp, "cache"))
    # warm the page cache so both sides read from memory
    subprocess.run(["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch", "--unordered"],
                   stdout=subprocess.DEVNULL)
    # Reference and ferret runs alternate, and the ratio is the median of the
    # per-pair ratios: the machine's speed drifts, pairs taken together share it.
    ref, first, err = [], [], ""
    db = os.path.join(tmp, "bench.db")
    with open(os.devnull, "wb") as null:
        for _ in range(runs):
            ref.append(run(["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch",
                            "--unordered"], stdout=null)[0])
            for f in (db, db + "-wal", db + "-shm"):
                if os.path.exists(f):
                    os.unlink(f)
            s, _, err = run([FERRET, "scan", "--db", db, repo], env=env)
            first.append(s)
    m = re.search(r"(\d+) scanned \(([\d.]+) MB", err)
    g = re.search(r"(\d+) blobs read", err)
    items, mb = int(m.group(1)), float(m.group(2))
    blobs = int(g.group(1)) if g else items
    rescan = [run([FERRET, "scan", "--db", db, repo], env=env)[0] for _ in range(runs)]
    rss_db = os.path.join(tmp, "rss.db")
    rss = peak_rss([FERRET, "scan", "--db", rss_db, repo], env)
    verify_db = os.path.join(tmp, "verify.db")
    verify = run([FERRET, "scan", "--verify-hashes", "--db", verify_db, repo], env=env)[0]
    r, f, rs = statistics.median(ref), statistics.median(first), statistics.median(rescan)
    ratio = statistics.median(b / a for a, b in zip(ref, first))
    print(f"repository: {repo}")
    print(f"  git cat-file --batch-all-objects --batch --unordered: {r:.2f} s (median of {runs})")
    print(f"  ferret scan, first (fresh DB):                         {f:.2f} s  ratio {ratio:.2f}"
          f" (median of per-pair ratios; pairs: {', '.join(f'{b / a:.2f}' for a, b in zip(ref, first))})")
    print(f"  blobs read: {blobs}, blob bytes: {mb:.0f} MB -> {blobs / f:,.0f} blobs/s, {mb / f:.0f} MB/s")
    print(f"  peak RSS: {rss} MB")
    print(f"  re-scan, unchanged:                                    {rs:.3f} s  speed-up {f / rs:.0f}x")
    print(f"  first scan with --verify-hashes (strict hash check):   {verify:.2f} s  ({verify / f:.2f}x)")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repos", nargs="*")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--mb", type=int, default=200)
    a = ap.parse_args()
    if not os.environ.get("FERRET"):  # FERRET names a binary built elsewhere: nothing to build
        subprocess.run(["cmake", "-S", ROOT, "-B", os.path.join(ROOT, "build"), "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "-j", str(os.cpu_count()),
                        "--target", "ferret"], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="ferret-bench-") as tmp:
        repos = list(a.repos)
        if not repos:
            gen = os.path.join(tmp, "history.git")
            subprocess.run([sys.executable, os.path.join(ROOT, "corpus", "gen-history.py"), gen,
                            "--commits", str(a.commits), "--mb", str(a.mb)], check=True)
            repos.append(gen)
        print(f"machine: {os.cpu_count()} cores")
        for repo in repos:
            bench(os.path.abspath(repo), a.runs, tmp)


if __name__ == "__main__":
    main()
