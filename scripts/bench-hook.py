#!/usr/bin/env python3
"""Hook latency, the compiled rule set cached (as on a server or a developer's
machine after the first run):
- pre-receive: a push of one commit touching 10 files into bare repositories
  of 1,000 and of 50,000 commits (median of --runs hook runs each), and a push
  of 1,000 commits (time per MB pushed). The pushed objects are written into
  the repository without moving any ref, which is what the hook sees from
  git's quarantine.
- pre-commit: one staged file in a work tree of git/git's size (a clone of
  --worktree, default the git/git snapshot, made once under /tmp/corpora).
- pre-push: a new branch of one commit of 10 files on top of that clone.
- range: `ferret scan --range` of a 20-commit pull request of that clone
  (MERGE^1..MERGE^2, default git/git's dbe54273) into a fresh DB, beside the
  empty range MERGE^2..MERGE^2 (start-up, rules, a new store).
With --ref, every run of the binary is followed by one of the reference
binary (same input, same cache directory) and the ratios of the medians are
printed. Each figure is the median wall time of a run of the binary, with the
user+system CPU time of the same runs beside it (--perf-stat: perf stat's
task-clock of each run instead, which perf's own start-up does not enter).

  scripts/bench-hook.py [--runs 21] [--ferret PATH] [--ref PATH] [--perf-stat]
                        [--only pre-receive|pre-commit|pre-push|range] [--worktree CLONE]
"""
import argparse
import os
import shutil
import resource
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


PERF_STAT = False


def run_once(argv, stdin, cwd, env):
    """(wall, cpu) seconds of one run of argv; cpu is perf stat's task-clock
    with --perf-stat, else the children's user+system time."""
    out = None
    if PERF_STAT:
        fd, out = tempfile.mkstemp(prefix="ferret-perf-")
        os.close(fd)
        argv = ["perf", "stat", "-x,", "-e", "task-clock", "-o", out, "--"] + argv
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.run(argv, input=stdin, cwd=cwd, env=env, capture_output=True)
    wall = time.monotonic() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    if out:
        with open(out) as f:
            ms = [float(l.split(",")[0]) for l in f if "task-clock" in l]
        os.unlink(out)
        cpu = ms[0] / 1000 if ms else cpu
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed: {p.stderr.decode()}")
    return wall, cpu


REF = None  # --ref: a binary measured alternately with FERRET


def binaries():
    return [FERRET] + ([REF] if REF else [])


def run_hook(args, stdin, cwd, env, runs):
    """{binary: (walls, cpus)}: runs hook runs of FERRET, alternated with REF's."""
    res = {b: ([], []) for b in binaries()}
    for _ in range(runs):
        for b in binaries():
            w, c = run_once([b, "hook"] + args, stdin, cwd, env)
            res[b][0].append(w)
            res[b][1].append(c)
    return res


def range_benchmarks(wt, runs, env, merge):
    """scan --range of a pull request (merge^1..merge^2) and of the empty range
    (merge^2..merge^2), each into a fresh DB, runs alternated."""
    git = lambda *a: subprocess.run(["git", "-C", wt] + list(a), check=True, capture_output=True,
                                    text=True).stdout.strip()
    n = git("rev-list", "--count", f"{merge}^1..{merge}^2")
    with tempfile.TemporaryDirectory(prefix="ferret-rangebench-") as tmp:
        db = os.path.join(tmp, "r.db")
        res = {label: {b: ([], []) for b in binaries()} for label in ("pr", "empty")}
        for i in range(runs + 1):
            for label, rng in (("pr", f"{merge}^1..{merge}^2"), ("empty", f"{merge}^2..{merge}^2")):
                for b in binaries():
                    for f in os.listdir(tmp):
                        os.unlink(os.path.join(tmp, f))
                    w, c = run_once([b, "scan", "--quiet", "--db", db, "--range", rng, wt], b"",
                                    None, env)
                    if i:  # the first round warms the caches
                        res[label][b][0].append(w)
                        res[label][b][1].append(c)
        print(f"scan --range of a {n}-commit pull request ({merge}^1..{merge}^2), fresh DB: "
              f"{fmt(res['pr'], runs)}")
        print(f"scan --range of the empty range ({merge}^2..{merge}^2), fresh DB: "
              f"{fmt(res['empty'], runs)}")


def fmt(res, runs):
    def one(walls, cpus):
        return (f"median {statistics.median(walls) * 1000:.1f} ms (min {min(walls) * 1000:.1f}, "
                f"max {max(walls) * 1000:.1f}; CPU {statistics.median(cpus) * 1000:.1f} ms)")
    out = f"{one(*res[FERRET])}; {runs} runs"
    if REF:
        (w, c), (rw, rc) = res[FERRET], res[REF]
        out += (f"\n    reference, alternated: {one(rw, rc)}; ratio wall "
                f"{statistics.median(w) / statistics.median(rw):.2f}, CPU "
                f"{statistics.median(c) / statistics.median(rc):.2f}")
    return out


def worktree_clone(src):
    """A work tree to measure in: src itself when it is one (it is reset and
    its branch bench-hook moved), else a clone of it made once."""
    if os.path.isdir(os.path.join(src, ".git")):
        return src
    dst = os.path.join("/tmp/corpora", "bench-hook-" + src.strip("/").replace("/", "-"))
    if not os.path.isdir(os.path.join(dst, ".git")):
        os.makedirs("/tmp/corpora", exist_ok=True)
        print(f"cloning {src} into {dst} (once)")
        subprocess.run(["git", "clone", "-q", "--no-local", src, dst], check=True)
    return dst


def client_benchmarks(wt, runs, env, only):
    git = lambda *a: subprocess.run(["git", "-C", wt] + list(a), check=True, capture_output=True,
                                    text=True).stdout.strip()
    files = int(subprocess.run(f"git -C {wt} ls-files | wc -l", shell=True, capture_output=True,
                               text=True).stdout)
    git("checkout", "-q", "-B", "bench-hook", "HEAD")
    git("reset", "-q", "--hard")
    # pre-commit: one staged file (a modified tracked file)
    path = os.path.join(wt, "README.md")
    with open(path, "a") as f:
        f.write("\nbench line: setting = compute(1, 2)\n")
    git("add", "README.md")
    if only in (None, "pre-commit"):
        run_hook(["pre-commit"], b"", wt, env, 1)  # warm the cache
        res = run_hook(["pre-commit"], b"", wt, env, runs)
        print(f"pre-commit, 1 staged file, work tree of {files} files: {fmt(res, runs)}")
    git("reset", "-q", "--hard")
    # pre-push: a new branch, one commit of 10 files, remote-tracking refs as after a clone
    base = git("rev-parse", "HEAD")
    for i in range(10):
        with open(os.path.join(wt, f"bench-{i}.py"), "w") as f:
            f.write(f"setting_{i} = compute({i})  # push benchmark\n" * 40)
    git("add", ".")
    subprocess.run(["git", "-C", wt, "-c", "user.name=b", "-c", "user.email=b@example.com",
                    "commit", "-q", "--no-verify", "-m", "bench"], check=True)
    new = git("rev-parse", "HEAD")
    line = f"refs/heads/bench-hook {new} refs/heads/bench-hook {'0' * 40}\n".encode()
    if only in (None, "pre-push"):
        run_hook(["pre-push", "origin", "unused"], line, wt, env, 1)
        res = run_hook(["pre-push", "origin", "unused"], line, wt, env, runs)
        print(f"pre-push, new branch of 1 commit x 10 files on git/git's history: {fmt(res, runs)}")
    git("reset", "-q", "--hard", base)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--ferret", help="the binary to measure (default: build/ferret, rebuilt)")
    ap.add_argument("--worktree", default="/work/.mirror/git+git/repo",
                    help="repository cloned once for the client hooks")
    ap.add_argument("--only", choices=["pre-receive", "pre-commit", "pre-push", "range"])
    ap.add_argument("--merge", default="dbe54273",
                    help="merge commit whose second parent ends the pull request (range)")
    ap.add_argument("--perf-stat", action="store_true",
                    help="CPU as perf stat's task-clock of each run (the wall time then includes perf's own start-up, 10-20 ms: quote wall times from a run without it)")
    ap.add_argument("--ref", help="a reference binary, run alternately with --ferret's")
    a = ap.parse_args()
    global FERRET, PERF_STAT, REF
    PERF_STAT = a.perf_stat and shutil.which("perf") is not None
    REF = os.path.abspath(a.ref) if a.ref else None
    if a.ferret:
        FERRET = os.path.abspath(a.ferret)
    else:
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "ferret"],
                       check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="ferret-hookbench-") as tmp:
        cache = os.path.join(tmp, "cache")
        env = dict(os.environ, GIT_DIR=".", FERRET_CACHE_DIR=cache)
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
              f"CPU: {'perf stat task-clock' if PERF_STAT else 'user+system'}")
        cenv = dict(os.environ, FERRET_CACHE_DIR=cache)
        cenv.pop("GIT_DIR", None)
        if a.only in ("pre-commit", "pre-push") or (a.only is None and os.path.isdir(a.worktree)):
            client_benchmarks(worktree_clone(a.worktree), a.runs, cenv, a.only)
        if a.only == "range" or (a.only is None and os.path.isdir(a.worktree)):
            range_benchmarks(worktree_clone(a.worktree), a.runs, cenv, a.merge)
        if a.only not in (None, "pre-receive"):
            print(f"load after: {os.getloadavg()[0]:.2f}")
            return
        for commits in (1000, 50000):
            repo = os.path.join(tmp, f"r{commits}.git")
            make_repo(repo, commits)
            old, new, _ = candidate(repo, 1, 10, 2000)
            run_hook(["pre-receive"], f"{old} {new} refs/heads/main\n".encode(), repo, env, 1)  # warm the cache
            res = run_hook(["pre-receive"], f"{old} {new} refs/heads/main\n".encode(), repo, env,
                           a.runs)
            print(f"pre-receive, repo of {commits:>6} commits: push of 1 commit x 10 files: "
                  f"{fmt(res, a.runs)}")
        repo = os.path.join(tmp, "r1000.git")
        old, new, total = candidate(repo, 1000, 3, 3000)
        res = run_hook(["pre-receive"], f"{old} {new} refs/heads/main\n".encode(), repo, env, 3)
        for b in binaries():
            ts, cs = res[b]
            med = statistics.median(ts)
            print(f"pre-receive, push of 1,000 commits ({total / 1e6:.1f} MB of new blobs)"
                  f"{'' if b == FERRET else ', reference'}: {med:.2f} s, "
                  f"{med / (total / 1e6) * 1000:.0f} ms per MB (CPU {statistics.median(cs):.2f} s)")
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
