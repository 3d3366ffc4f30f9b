#!/usr/bin/env bash
# The pre-receive hook has no side door (issue 14): every way content could get
# past it unscanned, as a regression test with real pushes where git allows
# them (an archive, a damaged archive, a scanner failure, a multi-ref push, an
# allowlist or rules pushed with the secret), and the hook run the way git runs
# it where git itself would refuse the push (an unreadable object).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
export FERRET_CACHE_DIR="$T/cache"
git init -q --bare srv.git
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" srv.git > /dev/null
git -C srv.git config ferret.db "$T/push.db"
git clone -q srv.git w 2> /dev/null
cd w
echo "hello" > README.md && git add . && gcommit alice "initial"

push() {
  set +e
  PO=$(git push "$@" 2>&1)
  PRC=$?
  set -e
}
tip() { git -C "$T/srv.git" rev-parse -q --verify "$1" || echo none; }
nsecrets() { printf '%s\n' "$PO" | grep -c '^remote: ferret: SECRET ' || true; }
# zip NAME MEMBER TEXT: a deflated zip holding one member
mkzip() {
  python3 - "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(sys.argv[2], sys.argv[3])
PY
}
push origin main
assert_eq "$PRC" 0 "a clean first push"

# ---- an archive: opened like the scan opens it ----
git checkout -q -b zip
za=$($FAKE github 901)
mkzip bundle.zip conf/app.ini "token = $za
"
git add bundle.zip && gcommit bob "an archive"
push origin zip
assert_eq "$PRC" 1 "a zip holding a token is rejected"
assert_eq "$(nsecrets)" 1 "one finding, in the member"
assert_contains "$PO" "remote: ferret: SECRET github.pat: GitHub personal access / OAuth / app token in commit $(git rev-parse --short=12 HEAD) (refs/heads/zip), bundle.zip!conf/app.ini line 1: ${za:0:4}****" "the member, its commit and ref"
zsha=$(sha256 "$za")
assert_eq "$(grep -c "${zsha:0:12}" <<< "$PO")" 0 "no hash of the secret in what the pusher sees"
assert_eq "$(tip zip)" none "not created"
# ... the same scan finds it in the repository
git -C "$T" clone -q --bare w zipcopy.git 2> /dev/null
set +e
"$FERRET" scan --db "$T/zip.db" "$T/zipcopy.git" > /dev/null 2>&1
set -e
assert_eq "$(sqlite3 "$T/zip.db" "select count(*) from findings where secret_sha256 = '$(sha256 "$za")'")" 1 "ferret scan finds the same token"
git checkout -q main && git branch -q -D zip

# ---- a damaged archive: what cannot be opened is not accepted ----
git checkout -q -b broken
mkzip ok.zip a.txt "$(for i in $(seq 20); do printf 'just some text to deflate '; done)"
python3 - <<'PY'
data = bytearray(open("ok.zip", "rb").read())
data[40:56] = b"\xff" * 16                # the deflated stream of the member damaged
open("broken.zip", "wb").write(bytes(data))
PY
rm ok.zip
git add broken.zip && gcommit carol "a damaged archive"
push origin broken
assert_eq "$PRC" 1 "a damaged archive is rejected (ferret.onUnscannable = reject)"
assert_eq "$(nsecrets)" 0 "no finding"
assert_contains "$PO" "remote: ferret: error: broken.zip in commit $(git rev-parse --short=12 HEAD): not scanned whole: " "the archive named"
assert_contains "$PO" "ferret.onUnscannable = reject" "the policy named"
assert_eq "$(sqlite3 "$T/push.db" "select note from runs order by id desc limit 1" | sed 's/.*: //')" "rejected (not scanned whole)" "recorded as rejected"
git -C "$T/srv.git" config ferret.onUnscannable warn
push origin broken
assert_eq "$PRC" 0 "accepted with ferret.onUnscannable = warn"
assert_contains "$PO" "remote: ferret: warning: broken.zip in commit $(git rev-parse --short=12 HEAD): not scanned whole: " "with a warning naming it"
git -C "$T/srv.git" config --unset ferret.onUnscannable
git checkout -q main

# ---- a scanner failure: rejected, never read as clean ----
cat > "$T/failscan.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
typedef int (*scan_fn)(const void *, const char *, unsigned, unsigned, void *, void *, void *);
int hs_scan(const void *db, const char *data, unsigned len, unsigned flags, void *scratch,
            void *on, void *ctx)
{
    if (memmem(data, len, "FERRET-TEST-SCAN-FAILS", 22)) return -1; /* HS_INVALID */
    return ((scan_fn)dlsym(RTLD_NEXT, "hs_scan"))(db, data, len, flags, scratch, on, ctx);
}
C
cc -shared -fPIC -o "$T/failscan.so" "$T/failscan.c" -ldl
git checkout -q -b fails
echo "FERRET-TEST-SCAN-FAILS here" > trigger.txt && git add . && gcommit dave "trigger"
LD_PRELOAD="$T/failscan.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" push origin fails
assert_eq "$PRC" 1 "a scanner failure rejects the push"
assert_contains "$PO" "remote: ferret: error: trigger.txt in commit $(git rev-parse --short=12 HEAD): not scanned whole: " "the file named"
assert_contains "$PO" "the push is rejected (what is not scanned may hold a secret)" "failing closed"
git -C "$T/srv.git" config ferret.onUnscannable warn
LD_PRELOAD="$T/failscan.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" push origin fails
assert_eq "$PRC" 1 "a scanner failure is not a property of the content: warn does not let it through"
git -C "$T/srv.git" config --unset ferret.onUnscannable
push origin fails
assert_eq "$PRC" 0 "the same push without the failure is clean"
git checkout -q main

# ---- a multi-ref push: each finding carries the ref that introduced it ----
s_one=$($FAKE github 902)
git checkout -q -b one main && printf 'a="%s"\n' "$s_one" > one.txt && git add . && gcommit erin "one"
c1=$(git rev-parse HEAD)
git checkout -q -b two main && printf 'b="%s"\n' "$($FAKE github 903)" > two.txt && git add . && gcommit frank "two"
c2=$(git rev-parse HEAD)
git checkout -q -b three one && printf 'c="%s"\n' "$($FAKE github 904)" > three.txt && git add . && gcommit gina "three on one"
c3=$(git rev-parse HEAD)
git checkout -q main
push origin two three one
assert_eq "$PRC" 1 "a multi-ref push with secrets"
assert_eq "$(nsecrets)" 3 "three findings"
assert_contains "$PO" "in commit ${c2:0:12} (refs/heads/two), two.txt line 1" "two's commit on two"
assert_contains "$PO" "in commit ${c1:0:12} (refs/heads/one), one.txt line 1" "one's commit on one, though three reaches it too"
assert_contains "$PO" "in commit ${c3:0:12} (refs/heads/three), three.txt line 1" "three's own commit on three"
run_ferret report --db "$T/push.db" --format jsonl --secret-hashes
printf '%s\n' "$OUT" > "$T/push.jsonl"
assert_eq "$(occ "$T/push.jsonl" "$(sha256 "$s_one")" | awk '{print $1, $2, $4, $7}')" "git-push one.txt $c1 refs/heads/one" "recorded with its commit and ref"

# ---- an allowlist or rules pushed with the secret are not read ----
git checkout -q -b smuggle main
mkdir -p .ferret/rules
cat > .ferret/rules/github.yml <<'Y'
rules:
  - id: github.pat
    name: disabled
    pattern: 'NEVER-MATCHES-([0-9]{40})'
    severity: low
    confidence: low
Y
sm=$($FAKE github 905)
printf 'k = "%s" # ferret:allow\n' "$sm" > leak.py
printf 'leak.py\n' > .ferretignore
git add . && gcommit hal "rules, an ignore file and an allow marker"
push origin smuggle
assert_eq "$PRC" 1 "a push carrying its own rules, ignore file and allow marker is rejected"
assert_eq "$(nsecrets)" 1 "the secret found by the server's rule"
assert_contains "$PO" "SECRET github.pat: GitHub personal access / OAuth / app token in commit" "the server's own rule"
assert_contains "$PO" "[its 'ferret:allow' is not honoured here]" "the marker reported, not honoured"
# a relative ferret.rules is the server's directory ($GIT_DIR), not the push's
git -C "$T/srv.git" config ferret.rules .ferret/rules
push origin smuggle
assert_eq "$PRC" 1 "a relative ferret.rules is a directory of the server repository (missing here): rejected"
assert_contains "$PO" "remote: ferret: error: rejecting the push: cannot load the rules" "saying why"
git -C "$T/srv.git" config --unset ferret.rules
git checkout -q main

# ---- an unreadable object: git checks connectivity before the hook runs, so
# the hook is run as git runs it, on objects damaged in the repository ----
cd "$T/srv.git"
base=$(git rev-parse main)
missing=$(printf 'never written\n' | git hash-object --stdin)
tree=$( (git ls-tree "$base"; printf '100644 blob %s\tghost.txt\n' "$missing") | git mktree --missing)
c=$(GIT_AUTHOR_DATE=$(gdate 90) GIT_COMMITTER_DATE=$(gdate 90) git commit-tree "$tree" -p "$base" -m "a missing blob")
set +e
out=$(printf '%s %s refs/heads/main\n' "$base" "$c" | GIT_DIR=. "$FERRET" hook pre-receive 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "a missing blob rejects the push"
assert_contains "$out" "ferret: error: ghost.txt in commit ${c:0:12}: not scanned whole: blob ${missing:0:12} cannot be read" "the file and blob named"
# a loose object whose bytes are damaged
bad=$(printf 'damaged later\n' | git hash-object -w --stdin)
tree=$( (git ls-tree "$base"; printf '100644 blob %s\tbad.txt\n' "$bad") | git mktree)
c=$(GIT_AUTHOR_DATE=$(gdate 91) GIT_COMMITTER_DATE=$(gdate 91) git commit-tree "$tree" -p "$base" -m "a damaged blob")
obj="objects/${bad:0:2}/${bad:2}"
chmod u+w "$obj" && printf 'not zlib at all' > "$obj"
set +e
out=$(printf '%s %s refs/heads/main\n' "$base" "$c" | GIT_DIR=. "$FERRET" hook pre-receive 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "a damaged loose object rejects the push"
assert_contains "$out" "ferret: error: bad.txt in commit ${c:0:12}: not scanned whole: blob ${bad:0:12} cannot be read" "the damaged blob named"
# a missing tree
mt=$(printf '100644 blob %s\tx\n' "$missing" | git mktree --missing)
rm -f "objects/${mt:0:2}/${mt:2}"
tree=$( (git ls-tree "$base"; printf '040000 tree %s\tsub\n' "$mt") | git mktree --missing)
c=$(GIT_AUTHOR_DATE=$(gdate 92) GIT_COMMITTER_DATE=$(gdate 92) git commit-tree "$tree" -p "$base" -m "a missing tree")
set +e
out=$(printf '%s %s refs/heads/main\n' "$base" "$c" | GIT_DIR=. "$FERRET" hook pre-receive 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "a missing tree rejects the push"
assert_contains "$out" "some pushed objects could not be read: tree ${mt:0:12} at sub" "and names the tree"
# a commit libgit2 cannot parse (no author line; git itself accepts it) under a
# well-formed tip: rejected, not clean (the walk's own errors reject too)
st=$(printf 'k="%s"\n' "$($FAKE github 907)" | git hash-object -w --stdin)
tree=$( (git ls-tree "$base"; printf '100644 blob %s\tnoauthor.txt\n' "$st") | git mktree)
odd=$(printf 'tree %s\nparent %s\ncommitter X <x@example.com> 1700000000 +0000\n\nno author\n' "$tree" "$base" |
  git hash-object -t commit -w --stdin --literally)
c=$(GIT_AUTHOR_DATE=$(gdate 93) GIT_COMMITTER_DATE=$(gdate 93) git commit-tree "$tree" -p "$odd" -m "on top")
set +e
out=$(printf '%s %s refs/heads/main\n' "$base" "$c" | GIT_DIR=. "$FERRET" hook pre-receive 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "a history the walk cannot parse rejects the push"
assert_eq "$(grep -c "some pushed objects could not be read: commit ${odd:0:12}: failed to parse signature" <<< "$out")" 1 "naming the commit"

# ---- a shared hooks directory never disables a repository's own hooks ----
cd "$T"
git init -q --bare a.git
git init -q --bare b.git
printf '#!/bin/sh\ncat > /dev/null\necho "a pre-receive ran" >> "%s/a.log"\n' "$T" > a.git/hooks/pre-receive
printf '#!/bin/sh\necho "a post-receive ran" >> "%s/a.log"\n' "$T" > a.git/hooks/post-receive
chmod 755 a.git/hooks/pre-receive a.git/hooks/post-receive
git -C b.git config core.hooksPath /elsewhere
set +e
out=$(bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --hooks-dir "$T/shared" a.git b.git 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "a repository whose core.hooksPath points elsewhere is refused"
assert_contains "$out" "b.git: core.hooksPath is /elsewhere already" "and named"
assert_eq "$(git -C a.git config core.hooksPath || echo unset)" unset "nothing changed before refusing"
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --hooks-dir "$T/shared" a.git > /dev/null
assert_eq "$(ls "$T/shared" | sort | tr '\n' ' ')" "post-receive pre-receive " "ferret's pre-receive and a forwarder"
git clone -q a.git ca 2> /dev/null
cd ca
echo clean > c.txt && git add . && gcommit ola "clean"
push origin main
assert_eq "$PRC" 0 "a clean push through the shared hook"
assert_eq "$(cat "$T/a.log" | tr '\n' '|')" "a pre-receive ran|a post-receive ran|" "the repository's own pre-receive and post-receive still ran"
printf 'k="%s"\n' "$($FAKE github 906)" > k.txt && git add . && gcommit ola "secret"
push origin main
assert_eq "$PRC" 1 "the shared hook rejects a secret"
assert_eq "$(nsecrets)" 1 "one finding"
finish
