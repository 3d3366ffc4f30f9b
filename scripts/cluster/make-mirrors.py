#!/usr/bin/env python3
"""A mirror set for the sharding tests and benchmarks: bare repositories in
team directories, one larger repository, and a few plain files, with fake
GitHub tokens (corpus/fakes.py) shared across repositories. Deterministic for
a seed; built with git fast-import, so hundreds of repositories take seconds.

  make-mirrors.py OUT [--repos N] [--commits C] [--large-commits L]
                      [--file-kb K] [--seed S] [--night 2]

OUT/mirrors/team-*/repo-*.git   N repositories of C commits (sizes vary 1..4x)
OUT/mirrors/configs/*.env       plain files, some holding a secret
OUT/large.git                   one repository of L commits
--night 2 adds one commit (a new secret) to a few repositories and the large
one: the next night's incremental scan.
"""
import argparse
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "corpus"))
from fakes import github  # noqa: E402

WORDS = ("alpha beta gamma delta config value service deploy cluster region bucket "
         "timeout retry handler request response cache worker queue metric").split()


def text(rng, kb):
    lines, n = [], 0
    while n < kb * 1024:
        ln = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
        lines.append(ln)
        n += len(ln) + 1
    return lines


def fast_import(path, commits):
    """commits: list of (message, {path: bytes or None})."""
    subprocess.run(["git", "init", "-q", "--bare", "--template=", path], check=True)
    out = []
    for i, (msg, files) in enumerate(commits):
        t = 1767225600 + i * 60
        m = msg.encode()
        out.append(b"commit refs/heads/main\n")
        out.append(b"committer Test User <test@example.com> %d +0000\n" % t)
        out.append(b"data %d\n%s\n" % (len(m), m))
        for p, data in sorted(files.items()):
            if data is None:
                out.append(b"D %s\n" % p.encode())
            else:
                out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (p.encode(), len(data), data))
        out.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(out), check=True,
                   env=dict(os.environ, GIT_DIR=path))


def repo_commits(rng, pool, ncommits, kb, tag):
    commits, files = [], {}
    nfiles = max(3, ncommits // 2)
    for c in range(ncommits):
        change = {}
        for _ in range(rng.randint(1, 3)):
            f = "src/%s/file%d.txt" % (tag, rng.randrange(nfiles))
            lines = text(rng, kb)
            if rng.random() < 0.15:
                lines.insert(rng.randrange(len(lines) + 1), "token = %s" % rng.choice(pool))
            change[f] = ("\n".join(lines) + "\n").encode()
        files.update(change)
        commits.append(("%s change %d" % (tag, c), change))
    if rng.random() < 0.5 and files:  # a deleted file keeps its secret in history
        commits.append(("%s cleanup" % tag, {sorted(files)[0]: None}))
    return commits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--repos", type=int, default=30)
    ap.add_argument("--commits", type=int, default=6)
    ap.add_argument("--large-commits", type=int, default=200)
    ap.add_argument("--file-kb", type=int, default=2)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--night", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pool = [github(rng) for _ in range(max(4, a.repos // 3))]
    mirrors = os.path.join(a.out, "mirrors")
    if a.night == 1:
        os.makedirs(os.path.join(mirrors, "configs"), exist_ok=True)
        for r in range(a.repos):
            spread = rng.choice((1, 1, 2, 4))
            path = os.path.join(mirrors, "team-%d" % (r % 7), "repo-%03d.git" % r)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fast_import(path, repo_commits(rng, pool, a.commits * spread, a.file_kb, "r%d" % r))
        for k in range(12):
            body = "NAME=svc%d\n" % k
            if k % 3 == 0:
                body += "GITHUB_TOKEN=%s\n" % rng.choice(pool)
            with open(os.path.join(mirrors, "configs", "svc-%02d.env" % k), "w") as f:
                f.write(body)
        fast_import(os.path.join(a.out, "large.git"),
                    repo_commits(rng, pool, a.large_commits, a.file_kb, "large"))
        return
    # night 2: a new commit with a new secret in a few repositories and the large one
    rng2 = random.Random(a.seed * 1000 + a.night)
    fresh = github(rng2)
    targets = [os.path.join(mirrors, "team-%d" % (r % 7), "repo-%03d.git" % r)
               for r in range(0, a.repos, max(1, a.repos // 3))]
    targets.append(os.path.join(a.out, "large.git"))
    for path in targets:
        data = ("night %d\ntoken = %s\n" % (a.night, fresh)).encode()
        stream = (b"commit refs/heads/main\ncommitter Test User <test@example.com> %d +0000\n"
                  b"data 7\nnight %d\nfrom refs/heads/main^0\n"
                  b"M 100644 inline night.txt\ndata %d\n%s\n\n"
                  % (1767225600 + 86400 * a.night, a.night, len(data), data))
        subprocess.run(["git", "fast-import", "--quiet"], input=stream, check=True,
                       env=dict(os.environ, GIT_DIR=path))


if __name__ == "__main__":
    main()
