#!/usr/bin/env python3
"""Scores corpus/gen-wild-providers.py: found / planted per kind with the layouts
missed (and the rule that reported the secret instead), other rules reporting a
planted secret, and every finding in a negative file.

  score-wild.py REPORT.jsonl EXPECTED.json"""
import json, sys, collections, os
rep = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
exp = json.load(open(sys.argv[2]))
byfile = collections.defaultdict(list)
for r in rep:
    for o in r["occurrences"]:
        p = os.path.realpath(o["path"]) if os.path.exists(o["path"]) else o["path"]
        byfile[p].append((r["rule"], o.get("line"), r.get("preview", "")))
per = collections.defaultdict(lambda: [0, 0]); miss = collections.defaultdict(list); wrong = []
for e in exp:
    p = os.path.realpath(e["path"]); got = byfile.pop(p, [])
    per[e["kind"]][1] += 1
    rules = {g[0] for g in got}
    want = e["rule"] if isinstance(e["rule"], list) else [e["rule"]]
    if rules & set(want): per[e["kind"]][0] += 1
    else: miss[e["kind"]].append(e["ctx"] + (f"[{','.join(sorted(rules))}]" if rules else ""))
    for g in got:
        if g[0] not in want: wrong.append(f"{e['kind']}/{e['ctx']}: also {g[0]} {g[2]}")
tot = [0, 0]
for k in sorted(per):
    got, n = per[k]; tot[0] += got; tot[1] += n
    print(f"{k:28s} {got:3d}/{n:<3d}" + ("  MISS: " + " ".join(miss[k]) if miss[k] else ""))
print(f"TOTAL {tot[0]}/{tot[1]}  misses {tot[1]-tot[0]}")
for w in wrong: print("WRONG", w)
neg = [(p, f) for p, fs in byfile.items() for f in fs]
print(f"negative/unplanted hits: {len(neg)}")
for p, f in sorted(neg): print("NEG", p, f[0], "|", open(p).read().strip()[:150] if os.path.exists(p) else "")
