#!/usr/bin/env bash
# The interrupt battery: SIGINT, SIGTERM and SIGKILL at a random point of a git
# history scan (a few hundred commits, a secret inside a zip committed to
# history) and of a CI log sweep (GitHub Actions zips, .tgz, plain and gzipped
# logs), each followed by the same scan again into the same DB. After the re-run
# the DB must hold exactly the findings and occurrences of an uninterrupted scan
# into a fresh DB, be consistent (integrity_check) and say the run is complete;
# in every trial. The kill point is uniform over the measured length of an
# uninterrupted scan.
#   FERRET_INTERRUPT_TRIALS=N  trials per signal and source (default 3)
#   FERRET_INTERRUPT_SEED=S    replay the kill points of a failed run
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

python3 - "$FERRET_SRC/corpus" <<'PY'
import gzip, io, os, random, subprocess, sys, tarfile, zipfile
sys.path.insert(0, sys.argv[1])
from fakes import github

rng = random.Random(4242)
planted = []


def secret():
    s = github(rng)
    planted.append(s)
    return s


def filler(n):  # log-like text, no secret shapes
    return "".join(f"2026-03-04T05:06:{i % 60:02d}.000Z step {i}: compiling module_{rng.randrange(10**6)} ok\n"
                   for i in range(n))


# --- a CI log tree: Actions zips (3 step logs each), .tgz, plain and .gz logs
os.makedirs("logs/plain", exist_ok=True)
for r in range(24):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        hit = rng.randrange(3)
        for step in range(3):
            text = filler(1500)
            if step == hit:
                text += f"2026-03-04T05:07:00.000Z GITHUB_TOKEN={secret()}\n" + filler(300)
            z.writestr(f"build/{step + 1}_Step {step}.txt", text)
    open(f"logs/logs_{9000 + r}.zip", "wb").write(buf.getvalue())
for r in range(8):
    with tarfile.open(f"logs/job-{r}.tgz", "w:gz") as t:
        for name, text in (("job/a.log", filler(2000)),
                           ("job/b.log", filler(800) + f"token: {secret()}\n" + filler(800))):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1767225600
            t.addfile(info, io.BytesIO(data))
for r in range(24):
    text = filler(1200) + (f"+ export GH_TOKEN={secret()}\n" if r % 2 == 0 else "") + filler(200)
    if r % 3 == 0:
        with gzip.open(f"logs/plain/console-{r}.log.gz", "wt") as f:
            f.write(text)
    else:
        open(f"logs/plain/console-{r}.log", "w").write(text)

# --- a git history: 360 commits through fast-import, a secret every 15th
# commit (every other one deleted again later), a zip holding a secret
out = io.BytesIO()
w = out.write
mark = 0
for c in range(360):
    mark += 1
    ops = []
    body = filler(200 + c % 40)
    ops.append(f"M 100644 inline src/mod{c % 25}.txt\ndata {len(body.encode())}\n{body}\n")
    if c % 15 == 7:
        s = f"API_TOKEN={secret()}\n"
        ops.append(f"M 100644 inline conf/c{c}.env\ndata {len(s)}\n{s}\n")
    if c % 30 == 22 and c > 30:
        ops.append(f"D conf/c{c - 15}.env\n")
    if c == 200:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("bundle/.env", f"DEPLOY_TOKEN={secret()}\n")
        data = buf.getvalue()
        w(f"blob\nmark :{100000 + c}\ndata {len(data)}\n".encode() + data + b"\n")
        ops.append(f"M 100644 :{100000 + c} dist/bundle.zip\n")
    t = 1767225600 + c * 60
    who = ["alice", "bob", "carol"][c % 3]
    msg = f"change {c}"
    head = (f"commit refs/heads/{'main' if c % 50 != 49 else 'topic'}\nmark :{c + 1}\n"
            f"author {who} <{who}@example.com> {t} +0000\ncommitter CI <ci@example.com> {t} +0000\n"
            f"data {len(msg)}\n{msg}\n")
    if c > 0:
        head += f"from :{c}\n"
    w(head.encode() + "".join(ops).encode() + b"\n")
subprocess.run(["git", "init", "-q", "repo"], check=True)
subprocess.run(["git", "-C", "repo", "fast-import", "--quiet"], input=out.getvalue(), check=True)
subprocess.run(["git", "-C", "repo", "repack", "-q", "-a", "-d"], check=True)
print(len(planted), file=open("planted.txt", "w"))
PY
# 24 Actions zips + 8 tgz + 12 plain logs, 24 in history + the zip: 69 secrets
assert_eq "$(cat planted.txt)" 69 "secrets planted"

# The battery itself: one line per check, "ok" or "FAIL: why".
python3 - "$FERRET" > battery.out <<'PY'
import json, os, random, signal, sqlite3, subprocess, sys, time

ferret = sys.argv[1]
trials = int(os.environ.get("FERRET_INTERRUPT_TRIALS", "3"))
seed = int(os.environ.get("FERRET_INTERRUPT_SEED", str(random.randrange(1 << 30))))
rng = random.Random(seed)
print(f"# seed {seed}, {trials} trials per signal and source", file=sys.stderr)


def scan(db, target):
    return subprocess.run([ferret, "scan", "--quiet", "--db", db, target],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode


def state(db):
    """Findings and occurrences, volatile fields (run times) aside."""
    out = subprocess.run([ferret, "report", "--db", db, "--format", "jsonl", "--secret-hashes"],
                         capture_output=True, text=True).stdout
    found, where = set(), set()
    for r in (json.loads(l) for l in out.splitlines() if l.strip()):
        found.add((r["rule"], r["secret_sha256"]))
        for o in r["occurrences"]:
            where.add((r["rule"], r["secret_sha256"], json.dumps(o, sort_keys=True)))
    return found, where


def check(cond, what):
    print("ok" if cond else f"FAIL: {what}", flush=True)


summary = {}
scan("warm.db", "planted.txt")  # the compiled rules are cached: not part of any measure
for target, expect in (("repo", 25), ("logs", 44)):
    db = f"base-{target}.db"
    t0 = time.monotonic()
    rc = scan(db, target)
    took = time.monotonic() - t0
    base = state(db)
    check(rc == 1, f"{target}: uninterrupted scan exit {rc}")
    check(len(base[0]) == expect, f"{target}: uninterrupted scan found {len(base[0])}, planted {expect}")
    print(f"# {target}: uninterrupted scan {took:.2f}s, {len(base[0])} findings, "
          f"{len(base[1])} occurrences", file=sys.stderr)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        for n in range(trials):
            db = f"t-{target}-{sig.name}-{n}.db"
            at = rng.uniform(0, took)
            errf = open(f"{db}.err", "wb")
            p = subprocess.Popen([ferret, "scan", "--quiet", "--db", db, target],
                                 stdout=subprocess.DEVNULL, stderr=errf)
            time.sleep(at)
            p.send_signal(sig)
            rc1 = p.wait()
            errf.close()
            tag = f"{target} {sig.name} at {at:.3f}s of {took:.2f}s (exit {rc1})"
            # stopped (2), finished before the signal (1), or killed: SIGKILL, or
            # another signal before ferret installed its handler (like SIGKILL)
            check(rc1 in (1, 2, -sig), f"{tag}: unexpected exit")
            if rc1 not in (1, 2, -sig):
                sys.stderr.write(open(f"{db}.err", errors="replace").read()[-6000:])
            if os.path.exists(db):
                c = sqlite3.connect(db)
                ic = c.execute("pragma integrity_check").fetchone()[0]
                c.close()
                check(ic == "ok", f"{tag}: integrity_check {ic}")
            rc2 = scan(db, target)
            got = state(db)
            c = sqlite3.connect(db)
            last = c.execute("select status from runs order by id desc limit 1").fetchone()[0]
            c.close()
            check(rc2 == 1 and last == "complete", f"{tag}: re-run exit {rc2}, run {last}")
            lost, extra = base[0] - got[0], got[0] - base[0]
            check(not lost and not extra,
                  f"{tag}: re-run findings differ: {len(lost)} lost, {len(extra)} extra")
            lost, extra = base[1] - got[1], got[1] - base[1]
            check(not lost and not extra,
                  f"{tag}: re-run occurrences differ: {len(lost)} lost {sorted(lost)[:2]}, "
                  f"{len(extra)} extra {sorted(extra)[:2]}")
            k = (target, sig.name)
            good = not (base[0] ^ got[0]) and not (base[1] ^ got[1])
            g, cut, tot = summary.get(k, (0, 0, 0))
            summary[k] = (g + good, cut + (rc1 != 1), tot + 1)
for (target, sig), (good, cut, n) in sorted(summary.items()):
    print(f"# {target} {sig}: {good}/{n} trials end with the uninterrupted findings "
          f"({cut} stopped by the signal, {n - cut} finished first)", file=sys.stderr)
PY
while IFS= read -r line; do
  case "$line" in
    ok) ok ;;
    *) fail "${line#FAIL: }" ;;
  esac
done < battery.out
finish
