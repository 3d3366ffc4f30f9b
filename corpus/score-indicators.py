#!/usr/bin/env python3
"""Scores a scan of a corpus/gen-indicators.py corpus.

  corpus/score-indicators.py TRUTH_JSON REPORT_JSONL

REPORT_JSONL: `ferret report --format jsonl --kind indicator` of a store that
scanned OUT_DIR/logs. Every occurrence of an indicator finding is matched to
the truth by (path, line): a planted line found under its own rule counts for
that rule's recall; an occurrence on a decoy line or on any line where nothing
was planted is a decoy hit. Prints one line per rule (recall) and the decoy
hits, then "ok" or "FAIL"; exits 1 unless every rule's recall is at least
--min-recall (default 0.99) and there is no decoy hit.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("report")
    ap.add_argument("--min-recall", type=float, default=0.99)
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    planted = {}  # (path, line) -> rule
    decoys = {}
    for t in truth:
        key = (t["path"], t["line"])
        if "rule" in t:
            planted[key] = t["rule"]
        else:
            decoys[key] = t["decoy"]
    found = {}  # (path, line) -> set of rules reported there
    for line in open(a.report):
        if not line.strip():
            continue
        f = json.loads(line)
        if f.get("kind") != "indicator":
            continue
        for o in f["occurrences"]:
            p = o.get("path") or ""
            if not p.startswith("logs/") and "/logs/" in p:  # scanned by an absolute path
                p = p[p.index("/logs/") + 1:]
            found.setdefault((p, o.get("line")), set()).add(f["rule"])
    ok = True
    rules = sorted(set(planted.values()))
    for rule in rules:
        keys = [k for k, v in planted.items() if v == rule]
        hit = sum(rule in found.get(k, ()) for k in keys)
        recall = hit / len(keys)
        good = recall >= a.min_recall
        ok &= good
        print("%-48s recall %3d/%3d = %.3f%s" % (rule, hit, len(keys), recall, "" if good else "  FAIL"))
    stray = [(k, sorted(v)) for k, v in found.items() if k not in planted]
    wrong = [(k, sorted(v - {planted[k]})) for k, v in found.items() if k in planted and v - {planted[k]}]
    for k, v in sorted(stray):
        print("decoy hit: %s:%s %s (%s)" % (k[0], k[1], ",".join(v), decoys.get(k, "unplanted line")))
    for k, v in sorted(wrong):
        print("other rule on a planted line: %s:%s %s (planted %s)" % (k[0], k[1], ",".join(v), planted[k]))
    print("decoy lines %d, decoy hits %d" % (len(decoys), len(stray)))
    ok &= not stray
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
