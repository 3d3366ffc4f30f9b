#!/usr/bin/env bash
# Triage (issue 15, item 1): statuses by finding id, with who and when, kept
# across re-scans, a rule-set change, a new store sharing the key (export and
# import) and merges; an accepted secret seen again stays accepted, a revoked
# one seen in a new commit reopens; accepted / false-positive / baselined
# findings do not fail a scan. Counts and statuses read from the JSONL report
# and the DB, exactly.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
export FERRET_USER=alice

t1=$($FAKE github 701)
t2=$($FAKE github 702)
t3=$($FAKE sas 703)
git init -q r
(cd r && printf 'GH=%s\n' "$t1" > a.env && printf 'GH=%s\n' "$t2" > b.env &&
  printf 'url: %s\n' "$t3" > c.yml && git add . && gcommit bob "three secrets")
run_ferret scan --db d.db r
assert_eq "$RC" 1 "three open findings: exit 1"

# id of a secret, and its status, from the JSONL report
rep() { "$FERRET" report --db "${2:-d.db}" --format jsonl --secret-hashes > rep.jsonl || true; }
# (a SAS token's secret is its signature: that finding is picked by its rule)
sel() { if [ "$1" = "$t3" ]; then echo "r['rule'] == 'azure.sas-token'"; else echo "r['secret_sha256'] == '$(sha256 "$1")'"; fi; }
id_of() { pyjsonl rep.jsonl "[r['id'] for r in rows if $(sel "$1")][0]"; }
status_of() { pyjsonl rep.jsonl "[(r['status'], r.get('triage', {}).get('by'), r.get('triage', {}).get('comment')) for r in rows if $(sel "$1")]"; }
rep
i1=$(id_of "$t1") i2=$(id_of "$t2") i3=$(id_of "$t3")
assert_eq "$(status_of "$t1")" "[('open', None, None)]" "a new finding is open"
assert_eq "${#i1}" 12 "a finding id has 12 characters"

run_ferret triage --db d.db "$i1" --status accepted --comment "test fixture"
assert_eq "$RC" 0 "triage exits 0"
assert_eq "$OUT" "$i1 accepted" "triage prints the id and the status"
run_ferret triage --db d.db "${i2:0:6}" --status false-positive --by carol
assert_eq "$OUT" "$i2 false-positive" "a unique prefix names the finding"
run_ferret triage --db d.db zzzzzzzzzzzz --status accepted
assert_eq "$RC" 2 "an unknown id is an error"
assert_contains "$ERR" "no finding has this id" "unknown id explained"
run_ferret triage --db d.db "$i3" --status fixed
assert_eq "$RC" 2 "an unknown status is an error"
rep
assert_eq "$(status_of "$t1")" "[('accepted', 'alice', 'test fixture')]" "accepted, by FERRET_USER, with the comment"
assert_eq "$(status_of "$t2")" "[('false-positive', 'carol', None)]" "--by names who decided"
assert_eq "$(status_of "$t3")" "[('open', None, None)]" "the third is still open"
assert_eq "$(sqlite3 d.db "SELECT count(*) FROM triage_log")" 2 "two changes in the history"

# a re-scan (unchanged, then --full) keeps the statuses; one open finding: exit 1
run_ferret scan --db d.db r
assert_eq "$RC" 1 "re-scan: one open finding"
assert_eq "$(count_of "$ERR" "of them open")" 1 "the scan says one of them is open"
run_ferret triage --db d.db "$i3" --status accepted
run_ferret scan --db d.db --full r
assert_eq "$RC" 0 "no open finding: exit 0"
rep
assert_eq "$(pyjsonl rep.jsonl "sorted(r['status'] for r in rows)")" "['accepted', 'accepted', 'false-positive']" "statuses kept by a full re-scan"

# an accepted secret seen again in a new commit stays accepted; a revoked one reopens
run_ferret triage --db d.db "$i2" --status revoked --comment "rotated"
now=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
(cd r && printf 'AGAIN=%s\n' "$t1" > again.env && printf 'BACK=%s\n' "$t2" > back.env && git add . &&
  GIT_AUTHOR_NAME=dan GIT_AUTHOR_EMAIL=dan@example.com GIT_AUTHOR_DATE="$now" \
    GIT_COMMITTER_NAME=CI GIT_COMMITTER_EMAIL=ci@example.com GIT_COMMITTER_DATE="$now" \
    git commit -q -m "secrets again")
run_ferret scan --db d.db r
assert_eq "$RC" 1 "the reopened secret fails the scan"
assert_eq "$(count_of "$ERR" "revoked finding seen in new commits")" 1 "one reopened"
rep
assert_eq "$(status_of "$t1")" "[('accepted', 'alice', 'test fixture')]" "accepted stays accepted with a new occurrence"
assert_eq "$(pyjsonl rep.jsonl "[len(r['occurrences']) for r in rows if r['id'] == '$i1']")" "[2]" "the accepted secret has its new occurrence"
assert_eq "$(status_of "$t2")" "[('open', 'ferret', 'reopened: the revoked secret was seen in a new place')]" "revoked, seen in a new commit: reopened"
# revoked again: old history holding it does not reopen it on a re-scan
run_ferret triage --db d.db "$i2" --status revoked
run_ferret scan --db d.db --full r
assert_eq "$RC" 0 "revoked again, nothing new: exit 0"
rep
assert_eq "$(status_of "$t2")" "[('revoked', 'alice', None)]" "old commits do not reopen a revoked secret"
assert_eq "$(sqlite3 d.db "SELECT group_concat(status, ',') FROM (SELECT status FROM triage_log WHERE fid = '$i2' ORDER BY id)")" \
  "false-positive,revoked,open,revoked" "the whole history of one finding"

# a rule-set change (a rule file overridden with another description): same ids, same statuses
mkdir rules
sed 's/^\(  *description: \).*/\1changed for the test/' "$FERRET_SRC/patterns/github.yml" > rules/github.yml
run_ferret scan --db d.db --rules rules r
assert_eq "$RC" 0 "new rule set: nothing open"
assert_eq "$(sqlite3 d.db "SELECT count(DISTINCT rules_hash) FROM runs")" 2 "the scan ran under another rule set"
rep
assert_eq "$(pyjsonl rep.jsonl "sorted((r['id'], r['status']) for r in rows)")" \
  "$(python3 -c "print(sorted([('$i1', 'accepted'), ('$i2', 'revoked'), ('$i3', 'accepted')]))")" \
  "statuses and ids survive a rule-set change"

# export / import: a new store sharing the key gets the same ids and statuses
run_ferret triage --db d.db --export statuses.json
assert_eq "$RC" 0 "export"
assert_eq "$(python3 -c "import json; d = json.load(open('statuses.json')); print(d['format'], d['format_version'], len(d['statuses']))")" \
  "ferret-triage 1 3" "the export holds three statuses"
assert_not_contains "$(cat statuses.json)" "$(sha256 "$t1")" "no secret hash in the export"
run_ferret scan --db e.db --key d.db.key r
assert_eq "$RC" 1 "a new store: everything open"
run_ferret triage --db e.db --key d.db.key --import statuses.json
assert_eq "$RC" 0 "import"
assert_contains "$ERR" "imported 3 statuses" "three statuses applied"
rep x e.db
assert_eq "$(pyjsonl rep.jsonl "sorted((r['id'], r['status']) for r in rows)")" \
  "$(python3 -c "print(sorted([('$i1', 'accepted'), ('$i2', 'revoked'), ('$i3', 'accepted')]))")" \
  "imported statuses under the same ids"
run_ferret triage --db e.db --key d.db.key --import statuses.json
assert_contains "$ERR" "imported 0 statuses (3 already as new or newer)" "a second import changes nothing"
echo '{"format":"something-else","statuses":[]}' > bad.json
run_ferret triage --db e.db --import bad.json
assert_eq "$RC" 2 "not a triage file: error"

# merges carry the statuses (when ferret merge is there)
if "$FERRET" merge --help > /dev/null 2>&1; then
  run_ferret merge --db m.db --key d.db.key d.db
  if [ "$RC" -le 1 ]; then
    rep x m.db
    assert_eq "$(pyjsonl rep.jsonl "sorted((r['id'], r['status']) for r in rows)")" \
      "$(python3 -c "print(sorted([('$i1', 'accepted'), ('$i2', 'revoked'), ('$i3', 'accepted')]))")" \
      "statuses survive a merge"
  else
    fail "merge into a new DB: exit $RC: $ERR"
  fi
  # a shard scanned afresh (nothing triaged there: all open) merged into the
  # organisation store: the organisation's statuses stay
  run_ferret scan --db s.db --key d.db.key --rules rules r
  assert_eq "$RC" 1 "a fresh shard store: its three findings open"
  run_ferret merge --db m.db --key d.db.key s.db
  assert_eq "$RC" 0 "merge the shard into the organisation store ($ERR)"
  rep x m.db
  assert_eq "$(pyjsonl rep.jsonl "sorted((r['id'], r['status']) for r in rows)")" \
    "$(python3 -c "print(sorted([('$i1', 'accepted'), ('$i2', 'revoked'), ('$i3', 'accepted')]))")" \
    "statuses survive a merge of a store that never triaged them"
  assert_eq "$(sqlite3 m.db "SELECT count(*) FROM findings") $(sqlite3 m.db "SELECT count(*) FROM triage")" "3 3" \
    "the same three findings, three statuses"
fi

# --status filters the report by the effective status
run_ferret report --db d.db --status accepted --format jsonl --secret-hashes
assert_eq "$(printf '%s\n' "$OUT" | grep -c '"status":"accepted"')" 2 "--status accepted: two"
run_ferret report --db d.db --status open
assert_eq "$RC" 0 "--status open: none, exit 0"
finish
