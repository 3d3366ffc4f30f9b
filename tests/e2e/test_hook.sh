#!/usr/bin/env bash
# The pre-receive hook with real pushes: a bare repository with the hook
# installed (scripts/install-hook.sh), pushed to from a clone with the git CLI.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
export FERRET_CACHE_DIR="$T/cache"
git init -q --bare srv.git
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" srv.git > /dev/null
git clone -q srv.git w 2> /dev/null
cd w
echo "hello" > README.md && git add . && gcommit alice "initial"

# push REFSPEC...: runs git push, leaving output in $PO and status in $PRC
push() {
  set +e
  PO=$(git push "$@" 2>&1)
  PRC=$?
  set -e
}
tip() { git -C "$T/srv.git" rev-parse -q --verify "$1" || echo none; }
nsecrets() { printf '%s\n' "$PO" | grep -c '^remote: ferret: SECRET ' || true; }

push origin main
assert_eq "$PRC" 0 "a clean first push is accepted"
assert_not_contains "$PO" "remote: ferret" "a clean push prints nothing"

s1=$($FAKE github 701)
before=$(tip main)
printf 'x = 1\nTOKEN=%s\n' "$s1" > app.env && git add . && gcommit bob "add env"
push origin main
assert_eq "$PRC" 1 "a secret in a new commit is rejected"
assert_eq "$(tip main)" "$before" "the ref is unchanged"
assert_contains "$PO" "remote: ferret: SECRET github.pat" "rule in the message"
assert_contains "$PO" "in commit $(git rev-parse --short=12 HEAD) (refs/heads/main), app.env line 2" "commit, path and line"
assert_contains "$PO" "${s1:0:4}****" "redacted secret"
assert_not_contains "$PO" "$s1" "never the plaintext"
assert_contains "$PO" "rotate the credential" "how to fix"

# deleted in a later commit of the same push: still rejected (it is in history)
git rm -q app.env && gcommit bob "remove env"
push origin main
assert_eq "$PRC" 1 "a secret removed later in the same push is still rejected"
git reset -q --hard origin/main

# a secret on a new branch; in a tag; a merge
git checkout -q -b feature && printf 'k="%s"\n' "$($FAKE github 702)" > f.py && git add . && gcommit carol "feature"
push origin feature
assert_eq "$PRC" 1 "a secret on a new branch"
assert_eq "$(tip feature)" none "the new branch is not created"
git checkout -q main && git branch -q -D feature
GIT_COMMITTER_DATE=$(gdate 50) git tag -a v1 -m "release with $($FAKE github 703)"
push origin v1
assert_eq "$PRC" 1 "a secret in an annotated tag message"
git tag -d v1 > /dev/null
git checkout -q -b topic && echo "topic" > t.txt && git add . && gcommit dave "topic"
push origin topic
assert_eq "$PRC" 0 "a clean branch"
git checkout -q main && git merge -q --no-ff --no-commit topic > /dev/null
printf 'merged="%s"\n' "$($FAKE github 704)" > m.txt && git add m.txt && gcommit erin "merge topic"
push origin main
assert_eq "$PRC" 1 "a secret introduced by a merge commit"
git reset -q --hard origin/main
git merge -q --no-ff topic -m "clean merge" > /dev/null
push origin main
assert_eq "$PRC" 0 "a clean merge of an already pushed branch"

# force push; branch deletion; commits already present; multi-ref push
git reset -q --hard HEAD~1 && printf 'z="%s"\n' "$($FAKE github 705)" > z.txt && git add . && gcommit frank "rewrite"
push -f origin main
assert_eq "$PRC" 1 "a force push that adds a secret"
git reset -q --hard HEAD~1 && echo "clean rewrite" > c.txt && git add . && gcommit frank "rewrite clean"
push -f origin main
assert_eq "$PRC" 0 "a clean force push"
push origin --delete topic
assert_eq "$PRC" 0 "a branch deletion"
assert_eq "$(tip topic)" none "branch deleted"
push origin main:refs/heads/copy
assert_eq "$PRC" 0 "a push of commits already present"
git checkout -q -b good && echo ok > good.txt && git add . && gcommit gina good
git checkout -q -b bad main && printf 'b="%s"\n' "$($FAKE github 706)" > b.txt && git add . && gcommit hal bad
push origin good bad
assert_eq "$PRC" 1 "a multi-ref push with one dirty ref is rejected"
assert_eq "$(tip good)" none "all of it: the clean ref is not updated either"
git checkout -q main

# ferret:allow: pushed content must not allowlist its own secret, so the
# server does not honour it unless its owner says so (ferret.honorAllowComments)
printf 'doc = "%s" # ferret:allow\n' "$($FAKE github 707)" > docs.txt && git add . && gcommit ivy "documented example"
push origin main
assert_eq "$PRC" 1 "a ferret:allow line is rejected by default"
assert_eq "$(nsecrets)" 1 "one finding, the allowed line"
assert_contains "$PO" "docs.txt line 1: " "the allowed line named"
assert_contains "$PO" "[its 'ferret:allow' is not honoured here]" "saying the marker is not honoured"
assert_contains "$PO" "ferret.honorAllowComments" "and how a server owner can trust it"
git -C "$T/srv.git" config ferret.honorAllowComments true
push origin main
assert_eq "$PRC" 0 "a ferret:allow line is accepted with ferret.honorAllowComments"
git -C "$T/srv.git" config --unset ferret.honorAllowComments
git rm -q docs.txt && gcommit ivy "no example" # (trees pushed below would hold it)
push origin main
assert_eq "$PRC" 0 "deleting a file adds nothing"
# a NUL byte hides nothing (issue 10, defect 12): a blob with a NUL before the
# secret, a commit message and a tag message with text after a NUL
printf 'bin\0ary %s' "$($FAKE github 708)" > blob.bin && git add . && gcommit ivy "binary"
push origin main
assert_eq "$PRC" 1 "a secret after a NUL byte in a blob is rejected"
assert_eq "$(nsecrets)" 1 "one finding in the blob with a NUL"
git reset -q --hard origin/main
# git refuses NULs in messages: such objects are written by hand
nul_commit=$( (printf 'tree %s\nparent %s\nauthor a <a@x> 1767225600 +0000\ncommitter a <a@x> 1767225600 +0000\n\nsubject\n' \
  "$(git rev-parse HEAD^{tree})" "$(git rev-parse HEAD)"; printf 'x\0 key %s\n' "$($FAKE github 711)") |
  git hash-object -t commit -w --stdin --literally)
push origin "$nul_commit:refs/heads/main"
assert_eq "$PRC" 1 "a secret after a NUL in a commit message is rejected"
assert_eq "$(nsecrets)" 1 "one finding in the commit message"
nul_tag=$( (printf 'object %s\ntype commit\ntag nul\ntagger a <a@x> 1767225600 +0000\n\nrelease\n' \
  "$(git rev-parse HEAD)"; printf '\0 key %s\n' "$($FAKE github 712)") |
  git hash-object -t tag -w --stdin --literally)
push origin "$nul_tag:refs/tags/nul"
assert_eq "$PRC" 1 "a secret after a NUL in a tag message is rejected"
assert_eq "$(nsecrets)" 1 "one finding in the tag message"

# refs to blobs and trees, and tags of them (issue 10, defect 15): every object
# a push makes reachable is scanned, whatever its type
leak=$(printf 'k=%s\n' "$($FAKE github 713)" | git hash-object -w --stdin)
for dst in refs/tags/leak refs/x refs/heads/x/y; do
  push origin "$leak:$dst"
  assert_eq "$PRC" 1 "a blob pushed as $dst is rejected"
  assert_eq "$(nsecrets)" 1 "$dst: one finding in the blob"
  assert_eq "$(tip "$dst")" none "$dst is not created"
done
git tag -a tb -m "a tag of a blob" "$leak"
push origin refs/tags/tb
assert_eq "$PRC" 1 "an annotated tag of a blob is rejected"
assert_eq "$(nsecrets)" 1 "one finding in the tagged blob"
# a tree: the same secret blob at two paths (scanned once), another one two
# levels down, and a clean file
git checkout -q -b side
mkdir -p d/e
git cat-file blob "$leak" > top.env && cp top.env d/same.env
printf 'deep="%s"\n' "$($FAKE github 714)" > d/e/deep.py && echo clean > d/clean.txt
git add top.env d && gcommit uma "side tree"
tree=$(git rev-parse 'HEAD^{tree}')
git checkout -q main
push origin "$tree:refs/tags/tree"
assert_eq "$PRC" 1 "a tree pushed as a tag is rejected"
assert_eq "$(nsecrets)" 2 "a tree: each secret blob once, nested ones included"
assert_contains "$PO" "<ref refs/tags/tree>/d/e/deep.py line 1" "a blob of the tree named by ref and path"
git tag -a tt -m "a tag of a tree" "$tree"
push origin refs/tags/tt
assert_eq "$PRC" 1 "an annotated tag of a tree is rejected"
assert_eq "$(nsecrets)" 2 "tag of a tree: both secrets"
# a chain: tag -> tag -> blob, a secret in the outer tag's message and the blob
git tag -a inner -m "inner, clean" "$leak"
git tag -a outer -m "outer $($FAKE github 715)" inner 2> /dev/null
push origin refs/tags/outer
assert_eq "$PRC" 1 "a chain of annotated tags is peeled to its blob"
assert_eq "$(nsecrets)" 2 "the outer tag's message and the blob"
assert_eq "$(tip refs/tags/outer)" none "the chain is not created"
git tag -d tb tt inner outer > /dev/null
git branch -q -D side

# a secret in a pushed file NAME (clean content) is as readable on the server
git checkout -q main
pt=$($FAKE github 716)
git checkout -q -b pathleak && echo clean > "dump-$pt.txt" && git add . && gcommit vic "named file"
push origin pathleak
assert_eq "$PRC" 1 "a secret in a pushed path name is rejected"
assert_eq "$(nsecrets)" 1 "one finding: the path name"
assert_not_contains "$PO" "$pt" "the path is printed redacted"
assert_contains "$PO" "dump-${pt:0:4}****" "the redacted path"
git checkout -q main && git branch -q -D pathleak

# ... also when its content was pushed already in the same push, at another
# path: every path is scanned, the content once (review, item 1)
pt2=$($FAKE github 717)
git checkout -q -b samepath
touch AAA.txt "$pt2" && git add . && gcommit vic "two empty files"
push origin samepath
assert_eq "$PRC" 1 "an empty file named with a token beside another empty file"
assert_eq "$(nsecrets)" 1 "empty files: one finding, the name"
git reset -q --hard main
echo same > b1.txt && echo same > "copy-$pt2" && git add . && gcommit vic "one content, two names"
push origin samepath
assert_eq "$PRC" 1 "a token-named copy of another pushed file"
assert_eq "$(nsecrets)" 1 "one content, two names: one finding, the name"
git reset -q --hard main
echo moved > m1.txt && git add . && gcommit vic "a file" && git mv m1.txt "m-$pt2" && gcommit vic "renamed"
push origin samepath
assert_eq "$PRC" 1 "a rename to a token name within one push"
assert_eq "$(nsecrets)" 1 "a rename: one finding, the new name"
assert_contains "$PO" "m-${pt2:0:4}****${pt2: -2}" "the renamed path, redacted"
assert_not_contains "$PO" "$pt2" "never the plaintext name"
git checkout -q main && git branch -q -D samepath

# a ref NAME is shown by the server like a path: scanned, and printed and
# stored redacted (review, item 5)
git -C "$T/srv.git" config ferret.db "$T/refs.db"
rt=$($FAKE github 718)
rc2=$($FAKE github 719)
git checkout -q -b "feature/$rt" && echo clean > r.txt && git add . && gcommit wes "clean file"
push origin "feature/$rt"
assert_eq "$PRC" 1 "a token in a new branch name is rejected"
assert_eq "$(nsecrets)" 1 "one finding: the branch name"
assert_contains "$PO" "<ref refs/heads/feature/${rt:0:4}****${rt: -2}> line 1" "the ref, redacted"
assert_eq "$(tip "refs/heads/feature/$rt")" none "the branch is not created"
printf 'k="%s"\n' "$rc2" > r.txt && git add . && gcommit wes "a secret on that branch"
push origin "feature/$rt"
assert_eq "$PRC" 1 "a secret pushed on a token-named branch"
assert_eq "$(nsecrets)" 2 "the branch name and the content"
# (git's own lines name the ref it was refused; ferret's never do)
assert_not_contains "$(printf '%s\n' "$PO" | grep '^remote:')" "$rt" "the branch name never in plaintext"
assert_eq "$(sqlite3 "$T/refs.db" "select count(*) from findings")" 2 "two secrets recorded"
assert_eq "$(sqlite3 "$T/refs.db" "select count(*) from findings where secret_sha256 = '$(sha256 "$rt")'")" 1 "the branch name's token recorded as a finding"
assert_eq "$(sqlite3 "$T/refs.db" .dump | grep -c "$rt" || true)" 0 "the branch name never in plaintext in the DB"
git checkout -q main && git branch -q -D "feature/$rt"
git -C "$T/srv.git" config --unset ferret.db
git tag "v-$rt" HEAD
push origin "v-$rt"
assert_eq "$PRC" 1 "a token in a tag name (a commit already on the server) is rejected"
assert_eq "$(nsecrets)" 1 "one finding: the tag name"
assert_contains "$PO" "<ref refs/tags/v-${rt:0:4}****${rt: -2}> line 1" "the tag ref, redacted"
git tag -d "v-$rt" > /dev/null
# an annotated tag: its name, when the ref has it too, is one finding; a tag
# object named otherwise than its ref has its own name scanned as well
git tag -a "w-$rt" -m "clean release" HEAD
push origin "w-$rt"
assert_eq "$PRC" 1 "a token in an annotated tag's name is rejected"
assert_eq "$(nsecrets)" 1 "one finding: the ref and tag share the name"
git tag -d "w-$rt" > /dev/null
named_tag=$(printf 'object %s\ntype commit\ntag t-%s\ntagger a <a@x> 1767225600 +0000\n\nrelease\n' \
  "$(git rev-parse HEAD)" "$rt" | git hash-object -t tag -w --stdin --literally)
push origin "$named_tag:refs/tags/clean-name"
assert_eq "$PRC" 1 "a tag object named with a token under a clean ref name is rejected"
assert_eq "$(nsecrets)" 1 "one finding: the tag object's name"
assert_contains "$PO" "<tag message: t-${rt:0:4}****${rt: -2}> line 1" "the tag's name, redacted"
assert_not_contains "$(printf '%s\n' "$PO" | grep '^remote:')" "$rt" "the tag's name never in plaintext"

# a blob over the per-blob cap (64 MiB): its path and first 64 MiB are
# scanned; it is not scanned whole, so the push is over its budget: rejected
# (review, item 2)
bt=$($FAKE github 720)
bn=$($FAKE github 721)
git -C "$T/srv.git" config ferret.timeBudgetMs 600000
git checkout -q -b big
{ printf 'TOKEN=%s\n' "$bt"; head -c 68157440 /dev/zero | tr '\0' a; } > "big-$bn.txt"
git add . && gcommit xan "a 65 MiB file"
push origin big
assert_eq "$PRC" 1 "a blob over the cap is rejected"
assert_eq "$(nsecrets)" 2 "the secret in its first 64 MiB and the one in its name"
assert_contains "$PO" "remote: ferret: error: big-${bn:0:4}****${bn: -2}.txt (blob $(git rev-parse --short=12 HEAD:"big-$bn.txt")) holds $(stat -c %s "big-$bn.txt") bytes, over the 67108864 bytes the hook scans per blob" "the file, its size and the cap"
assert_contains "$PO" "only its first 67108864 bytes were scanned; the push is rejected (ferret.onBudgetExceeded = reject)" "what was scanned, the verdict"
assert_contains "$PO" "git push -o ferret.skip" "the way around it"
assert_not_contains "$PO" "$bn" "the name never in plaintext"
git checkout -q main && git branch -q -D big
git -C "$T/srv.git" config --unset ferret.timeBudgetMs
# a clean one over a smaller cap (ferret.sizeBudget): rejected, unless the
# budget policy allows a push that was not scanned whole
git -C "$T/srv.git" config ferret.sizeBudget 1M
git checkout -q -b big2
head -c 2097152 /dev/zero | tr '\0' b > big.txt && git add . && gcommit xan "a 2 MiB file"
push origin big2
assert_eq "$PRC" 1 "a clean blob over the cap: rejected by default"
assert_eq "$(nsecrets)" 0 "no finding"
assert_contains "$PO" "remote: ferret: error: big.txt (blob $(git rev-parse --short=12 HEAD:big.txt)) holds 2097152 bytes, over the 1048576 bytes the hook scans per blob" "the clean big file named"
git -C "$T/srv.git" config ferret.onBudgetExceeded allow
push origin big2
assert_eq "$PRC" 0 "with onBudgetExceeded=allow: accepted"
assert_contains "$PO" "remote: ferret: warning: big.txt (blob $(git rev-parse --short=12 HEAD:big.txt)) holds 2097152 bytes" "with a warning naming it"
assert_contains "$PO" "accepted without a complete scan (ferret.onBudgetExceeded = allow)" "saying it was not scanned whole"
git -C "$T/srv.git" config --unset ferret.onBudgetExceeded
git -C "$T/srv.git" config --unset ferret.sizeBudget
git checkout -q main

# warn mode, recorded in a DB with the pusher
git -C "$T/srv.git" config ferret.mode warn
git -C "$T/srv.git" config ferret.db "$T/push.db"
s9=$($FAKE github 709)
printf 'w="%s"\n' "$s9" > w.txt && git add . && gcommit jo "warn me"
push origin main
assert_eq "$PRC" 0 "warn mode accepts"
assert_contains "$PO" "ferret: warning: github.pat" "warn mode still says what it found"
assert_eq "$(sqlite3 "$T/push.db" "select count(*) from findings where secret_sha256 = '$(sha256 "$s9")'")" 1 "finding recorded in the DB"
assert_contains "$(sqlite3 "$T/push.db" "select note from runs order by id desc limit 1")" "push by" "pusher recorded"
git -C "$T/srv.git" config ferret.mode block

# the bypass push option: refused unless allowed; always recorded
printf 'y="%s"\n' "$($FAKE github 710)" > y.txt && git add . && gcommit kim "urgent"
push -o ferret.skip origin main
assert_eq "$PRC" 1 "bypass refused when not allowed"
assert_contains "$PO" "not allowed" "refusal explained"
git -C "$T/srv.git" config ferret.allowBypass true
push -o ferret.skip origin main
assert_eq "$PRC" 0 "bypass honoured when allowed"
assert_contains "$(cat "$T/srv.git/ferret-audit.log")" "bypass accepted" "bypass recorded in the audit log"
assert_contains "$(sqlite3 "$T/push.db" "select note from runs order by id desc limit 1")" "bypassed" "and in the DB"

# the time budget: exceeded -> rejected by default, accepted with a warning if so configured
git -C "$T/srv.git" config --unset ferret.allowBypass
git -C "$T/srv.git" config ferret.timeBudgetMs 0
echo "fine" > budget.txt && git add . && gcommit lee "clean but over budget"
push origin main
assert_eq "$PRC" 1 "over the budget: rejected by default"
assert_contains "$PO" "exceeds the scan budget" "budget explained"
git -C "$T/srv.git" config ferret.onBudgetExceeded allow
push origin main
assert_eq "$PRC" 0 "over the budget with onBudgetExceeded=allow: accepted"
assert_contains "$PO" "accepted without a complete scan" "with a warning"
git -C "$T/srv.git" config --unset ferret.timeBudgetMs

# unexpected input on stdin: a clear error and a rejection, never a silent accept
cd "$T/srv.git"
set +e
out=$(printf 'garbage line\n' | GIT_DIR=. "$FERRET" hook pre-receive 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "malformed stdin is rejected"
assert_contains "$out" "malformed pre-receive input on line 1" "and explained"
finish
