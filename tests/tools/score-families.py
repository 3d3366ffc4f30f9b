#!/usr/bin/env python3
"""Scores a ferret JSONL report against corpus/gen-families.py's expected.json:
recall per family (a planted secret is found when a finding has an occurrence
at its file and line, and, where the entry lists "rules", the finding's rule is
one of them: the structure it came from) and every finding that is not a
planted secret (a decoy hit). Prints one line per family; exits 1 when any family's recall is under
--min-recall or any decoy is reported.

  score-families.py REPORT.jsonl EXPECTED.json [--min-recall 99] [--validated]
"""
import argparse
import collections
import json
import sys


def rel(path):
    return path.split("tree/", 1)[1] if "tree/" in path else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("expected")
    ap.add_argument("--min-recall", type=float, default=99.0)
    a = ap.parse_args()
    want = {(e["path"], e["line"]): e for e in json.load(open(a.expected))}
    found, extra, wrong, validated = set(), [], [], collections.Counter()
    for r in map(json.loads, filter(str.strip, open(a.report))):
        for o in r["occurrences"]:
            k = (rel(o["path"]), o["line"])
            if k in want and r["rule"] not in want[k].get("rules", [r["rule"]]):
                wrong.append(f"{r['rule']} at {k[0]}:{k[1]} (expected {'/'.join(want[k]['rules'])})")
            elif k in want:
                if k not in found and r.get("validated", "none") != "none":
                    validated[want[k]["family"]] += 1
                found.add(k)
            else:
                extra.append(f"{r['rule']} at {k[0]}:{k[1]} ({r.get('preview')})")
    per = collections.defaultdict(lambda: [0, 0])
    missed = []
    for k, e in want.items():
        per[e["family"]][1] += 1
        if k in found:
            per[e["family"]][0] += 1
        else:
            missed.append(f"{e['kind']} at {k[0]}:{k[1]}")
    bad = bool(extra)
    for fam, (got, total) in sorted(per.items()):
        pct = 100.0 * got / total
        bad |= pct < a.min_recall
        print(f"{fam:14s} recall {got:4d}/{total:<4d} {pct:6.2f}%  validated {validated[fam]}")
    print(f"decoy hits: {len(extra)}")
    for m in missed:
        print("  missed:", m)
    for w in wrong:
        print("  wrong rule:", w)
    for x in extra:
        print("  decoy hit:", x)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
