"""Fills a ferret store with synthetic findings, for report benchmarks and the
HTML report's scale test: N findings with M occurrences in all (git blobs in a
few repositories, with commits, authors and dates spread over years), through
the store's own tables. The store must exist (made by `ferret scan` of an empty
directory, so its schema, migrations and rules are ferret's own).

    python3 synth_store.py DB FINDINGS OCCURRENCES [--repos K] [--seed S]

Finding ids are made up (unique 12-character strings): the report reads them,
it does not recompute them. Previews are redacted-looking stand-ins; nothing
here is a secret.
"""
import argparse
import hashlib
import random
import sqlite3

B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("findings", type=int)
    ap.add_argument("occurrences", type=int)
    ap.add_argument("--repos", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    db = sqlite3.connect(a.db)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    run = db.execute("SELECT max(id) FROM runs").fetchone()[0]
    rules = [r[0] for r in db.execute("SELECT id FROM rules ORDER BY id")]
    if not run or not rules:
        raise SystemExit("synth_store.py: the store needs a run and rules (ferret scan an empty directory first)")
    repos = ["/srv/git/team-%02d/service-%02d" % (i % 7, i) for i in range(a.repos)]
    authors = [("Dev %03d" % i, "dev%03d@example.org" % i) for i in range(300)]
    dirs = ["src", "config", "deploy", "scripts", "app/settings", "infra/terraform", "docs", "test/fixtures"]
    exts = [".py", ".yml", ".json", ".env", ".tf", ".js", ".go", ".properties"]
    # occurrences per finding: at least one each, the rest spread unevenly
    counts = [1] * a.findings
    for _ in range(max(0, a.occurrences - a.findings)):
        counts[min(int(rng.expovariate(1 / (a.findings / 8))), a.findings - 1)] += 1
    cur = db.cursor()
    cur.execute("BEGIN")
    content_id = (cur.execute("SELECT coalesce(max(id), 0) FROM content").fetchone()[0])
    findings, content, matches, locations = [], [], [], []

    def flush():
        cur.executemany("INSERT INTO findings (id, rule_id, secret_sha256, preview, first_seen, last_seen,"
                        " first_run, last_run, validated, fid) VALUES (?,?,?,?,?,?,?,?,?,?)", findings)
        cur.executemany("INSERT INTO content (id, key, size, status, rules_hash, run_id)"
                        " VALUES (?,?,?,'scanned','synthetic',?)", content)
        cur.executemany("INSERT INTO matches (content_id, finding_id, offset, line, col) VALUES (?,?,?,?,?)",
                        matches)
        cur.executemany("INSERT INTO locations (content_id, source_kind, repo, path, commit_id, author_name,"
                        " author_email, author_date, committer_date, first_run, last_run)"
                        " VALUES (?,'git',?,?,?,?,?,?,?,?,?)", locations)
        for l in (findings, content, matches, locations):
            l.clear()

    fid0 = cur.execute("SELECT coalesce(max(id), 0) FROM findings").fetchone()[0]
    for i in range(a.findings):
        fid_num = fid0 + i + 1
        sha = hashlib.sha256(b"synthetic-%d-%d" % (a.seed, fid_num)).hexdigest()
        fid = "".join(B32[int(sha[k:k + 2], 16) % 32] for k in range(0, 24, 2))
        rule = rules[int(rng.paretovariate(1.2)) % len(rules)]
        preview = "%s\u2026%s" % (sha[40:44], sha[60:64])
        findings.append((fid_num, rule, sha, preview, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                         run, run, rng.choice((0, 0, 1, 2)), fid))
        repo = repos[int(rng.paretovariate(1.0)) % len(repos)]
        path = "%s/mod%d/file%d%s" % (rng.choice(dirs), rng.randrange(40), rng.randrange(200), rng.choice(exts))
        day = rng.randrange(2200)
        for k in range(counts[i]):
            content_id += 1
            oid = hashlib.sha1(b"%d-%d" % (fid_num, k)).hexdigest()
            content.append((content_id, "git:" + oid, 1000 + k, run))
            line = rng.randrange(1, 400)
            matches.append((content_id, fid_num, line * 30, line, 7))
            if k and rng.random() < 0.3:
                path = "%s/mod%d/file%d%s" % (rng.choice(dirs), rng.randrange(40), rng.randrange(200),
                                            rng.choice(exts))
            if k and rng.random() < 0.05:
                repo = rng.choice(repos)
            d = day + k * 3
            date = "%04d-%02d-%02dT12:00:00Z" % (2020 + d // 365, 1 + (d % 365) // 31, 1 + (d % 31) % 28)
            who = authors[rng.randrange(len(authors))]
            locations.append((content_id, repo, path, hashlib.sha1(b"c%d-%d" % (fid_num, k)).hexdigest(),
                              who[0], who[1], date, date, run, run))
        if len(matches) > 50000:
            flush()
    flush()
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
