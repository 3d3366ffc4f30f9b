#!/usr/bin/env bash
# The client-side hooks with real commits and pushes: `ferret hook pre-commit`
# and `ferret hook pre-push` installed by scripts/install-hook.sh --client in a
# clone, and the installer's rules for hooks that exist already.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
export FERRET_CACHE_DIR="$T/cache"
git init -q --bare remote.git
git clone -q remote.git w 2> /dev/null
cd w

# commit MSG: a real `git commit` through the installed hooks; output in $CO, status in $CRC
commit() {
  set +e
  GIT_TICK=$((GIT_TICK + 1))
  CO=$(GIT_AUTHOR_DATE=$(gdate $GIT_TICK) GIT_COMMITTER_DATE=$(gdate $GIT_TICK) git commit -q -m "$@" 2>&1)
  CRC=$?
  set -e
}
push() {
  set +e
  PO=$(git push "$@" 2>&1)
  PRC=$?
  set -e
}
nsecrets() { printf '%s\n' "$1" | grep -c '^ferret: SECRET ' || true; }
tip() { git -C "$T/remote.git" rev-parse -q --verify "$1" || echo none; }

bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --client . > inst.out
assert_eq "$(grep -c -- '-> ' inst.out)" 2 "pre-commit and pre-push installed"
rm inst.out
assert_eq "$(test -x .git/hooks/pre-commit && test -x .git/hooks/pre-push && echo yes)" yes "both hooks executable"

# ---- pre-commit: the first commit (no HEAD yet) ----
s1=$($FAKE github 801)
printf 'a = 1\ntoken = "%s"\n' "$s1" > app.py && git add app.py
commit "first"
assert_eq "$CRC" 1 "a secret in the first commit is blocked"
assert_eq "$(git rev-parse -q --verify HEAD || echo none)" none "no commit was made"
assert_eq "$(nsecrets "$CO")" 1 "one finding"
assert_contains "$CO" "ferret: SECRET github.pat: GitHub personal access / OAuth / app token app.py line 2: ${s1:0:4}****" "path, line and redacted secret"
assert_not_contains "$CO" "$s1" "never the plaintext"
assert_contains "$CO" "git restore --staged" "how to fix"
printf 'a = 1\n' > app.py && git add app.py
commit "first, clean"
assert_eq "$CRC" 0 "a clean first commit"

# ---- staged, unstaged and partly staged ----
printf 'a = 1\nkey = "%s"\n' "$s1" > app.py
commit "nothing staged" --allow-empty
assert_eq "$CRC" 0 "an unstaged secret is not what is committed"
# the index holds the secret, the work tree does not (an index-only change,
# like `git add -p` of one hunk followed by an edit)
blob=$(printf 'a = 1\nb = 2\nkey = "%s"\n' "$s1" | git hash-object -w --stdin)
git update-index --cacheinfo "100644,$blob,app.py"
printf 'a = 1\nb = 2\n' > app.py
commit "partly staged"
assert_eq "$CRC" 1 "a secret only in the index is blocked"
assert_contains "$CO" "app.py line 3:" "at its line in the staged blob"
# and the other way round: the staged version is clean, the work tree is not
git add app.py
printf 'a = 1\nb = 2\nkey = "%s"\n' "$s1" > app.py
commit "clean index, dirty tree"
assert_eq "$CRC" 0 "a secret only in the work tree is not committed"
git checkout -q app.py
# git commit -a stages through a temporary index (GIT_INDEX_FILE)
printf 'a = 1\nb = 2\nc = "%s"\n' "$s1" > app.py
commit "all" -a
assert_eq "$CRC" 1 "git commit -a with a secret is blocked (temporary index)"
git checkout -q app.py

# ---- only the lines a change adds; deleting a secret is never blocked ----
s2=$($FAKE github 802)
s3=$($FAKE github 803)
printf 'one = "%s"\nx = 1\ntwo = "%s"\n' "$s2" "$s3" > old.py && git add old.py
commit "committed before ferret" --no-verify
printf 'one = "%s"\nx = 2\ntwo = "%s"\n' "$s2" "$s3" > old.py && git add old.py
commit "an unrelated line of a file with old secrets"
assert_eq "$CRC" 0 "secrets on unchanged lines were committed before: not blocked"
printf 'one = "%s"\nx = 2\n' "$s2" > old.py && git add old.py
commit "delete one secret"
assert_eq "$CRC" 0 "a commit deleting a secret line"
git rm -q old.py
commit "delete the file"
assert_eq "$CRC" 0 "a commit deleting a file with a secret"
printf 'x = 3\nnew = "%s"\n' "$($FAKE github 804)" >> app.py && git add app.py
commit "a secret added to an existing file"
assert_eq "$CRC" 1 "a secret added to a file"
assert_eq "$(nsecrets "$CO")" 1 "only the added line"
assert_contains "$CO" "app.py line 4:" "at its line"
git checkout -q HEAD app.py

# ---- renames, names, binary files, archives ----
printf 'k = "%s"\n' "$s2" > legacy.cfg && git add legacy.cfg && commit "legacy" --no-verify
git mv legacy.cfg moved.cfg
commit "a pure rename"
assert_eq "$CRC" 0 "a rename moves committed content: nothing new"
pn=$($FAKE github 805)
git mv moved.cfg "dump-$pn.cfg"
commit "a rename to a token name"
assert_eq "$CRC" 1 "a new path holding a token is blocked"
assert_eq "$(nsecrets "$CO")" 1 "one finding: the name, not the old content"
assert_contains "$CO" "dump-${pn:0:4}****" "the name redacted"
assert_not_contains "$CO" "$pn" "never the plaintext name"
git mv "dump-$pn.cfg" moved.cfg
printf 'bin\0ary\1 %s\n' "$($FAKE github 806)" > blob.bin && git add blob.bin
commit "binary"
assert_eq "$CRC" 1 "a secret in a binary file is blocked"
assert_contains "$CO" "blob.bin line 1:" "the binary file named"
git rm -q --cached blob.bin && rm blob.bin
python3 - "$($FAKE github 807)" <<'PY'
import sys, zipfile
with zipfile.ZipFile("bundle.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("conf/settings.ini", "token = %s\n" % sys.argv[1])
PY
git add bundle.zip
commit "an archive"
assert_eq "$CRC" 1 "a secret inside a zip is blocked (archives opened like a scan's)"
assert_contains "$CO" "bundle.zip!conf/settings.ini line 1:" "the member named"
git rm -q --cached bundle.zip && rm bundle.zip

# ---- ferret:allow and the repository's configuration ----
printf 'doc = "%s" # ferret:allow\n' "$($FAKE github 808)" > doc.md && git add doc.md
commit "documented example"
assert_eq "$CRC" 0 "ferret:allow is honoured on the client"
printf 'w = "%s"\n' "$($FAKE github 809)" > w.py && git add w.py
git config ferret.mode warn
commit "warn mode"
assert_eq "$CRC" 0 "ferret.mode warn: committed"
assert_contains "$CO" "ferret: warning: github.pat" "with the finding"
git config --unset ferret.mode
git rm -q w.py && commit "drop w" --no-verify
mkdir -p .ferret/rules
cat > .ferret/rules/team.yml <<'Y'
rules:
  - id: team.deploy-code
    name: Team deploy code
    pattern: 'TEAMDEPLOY-([0-9]{12})'
    severity: high
    confidence: high
    attack: T1552.001
    examples: ['TEAMDEPLOY-493817260154']
    negative_examples: ['TEAMDEPLOY-12']
Y
git add .ferret && commit "team rules" --no-verify
git config ferret.rules .ferret/rules
echo 'code TEAMDEPLOY-582039174625' > deploy.txt && git add deploy.txt
commit "a team secret"
assert_eq "$CRC" 1 "ferret.rules of the repository is honoured"
assert_contains "$CO" "SECRET team.deploy-code" "the repository's own rule"
git rm -q --cached deploy.txt && rm deploy.txt

# ---- pre-push: what the remote does not have ----
push origin main
assert_eq "$PRC" 1 "the first push holds the --no-verify commits' secrets: blocked"
# each pushed blob is scanned whole (as the server does): old.py's three
# versions 2 + 2 + 1, legacy.cfg 1, w.py (warn mode) 1, the team rule's example 1
assert_eq "$(nsecrets "$PO")" 8 "every secret the unpushed commits hold"
assert_eq "$(tip main)" none "not pushed"
push --no-verify origin main
assert_eq "$PRC" 0 "pushed with --no-verify"
push origin main
assert_eq "$PRC" 0 "nothing new: accepted"
git checkout -q -b feature
printf 'f = "%s"\n' "$($FAKE github 810)" > f.py && git add f.py && commit "feature" --no-verify
push origin feature
assert_eq "$PRC" 1 "a new branch with a secret is blocked"
assert_eq "$(nsecrets "$PO")" 1 "only the new commit is scanned, not main's history"
assert_contains "$PO" "in commit $(git rev-parse --short=12 HEAD) (refs/heads/feature), f.py line 1" "commit, ref, path, line"
assert_contains "$PO" "git commit --amend" "how to fix"
assert_eq "$(tip feature)" none "not pushed"
git rm -q f.py && commit "remove it"
push origin feature
assert_eq "$PRC" 1 "removed in a later commit: still in the pushed history"
git reset -q --hard main
echo clean > g.py && git add g.py && commit "clean feature"
push origin feature
assert_eq "$PRC" 0 "a clean new branch"
# force push: a rewrite adding a secret, then a clean one
git reset -q --hard main
printf 'r = "%s"\n' "$($FAKE github 811)" > r.py && git add r.py && commit "rewrite" --no-verify
push -f origin feature
assert_eq "$PRC" 1 "a force push adding a secret is blocked"
git reset -q --hard main
echo other > h.py && git add h.py && commit "clean rewrite"
push -f origin feature
assert_eq "$PRC" 0 "a clean force push"
# tags: an annotated tag message, a lightweight tag of pushed commits
git tag -a v1 -m "release $($FAKE github 812)"
push origin v1
assert_eq "$PRC" 1 "a secret in an annotated tag message is blocked"
assert_contains "$PO" "<tag message: v1> line 1" "the tag named"
git tag -d v1 > /dev/null
git tag v2
push origin v2
assert_eq "$PRC" 0 "a lightweight tag of pushed commits"
push origin --delete feature
assert_eq "$PRC" 0 "a deletion"

# ---- the installer: existing hooks are never overwritten silently ----
cd "$T"
git init -q other && cd other
printf '#!/bin/sh\necho "own hook ran" >> "%s/own.log"\n' "$T" > .git/hooks/pre-commit
chmod 755 .git/hooks/pre-commit
cp .git/hooks/pre-commit "$T/own.orig"
set +e
out=$(bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --client . 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "an existing pre-commit hook: refused"
assert_contains "$out" "pre-commit exists and is not ferret's: not overwritten" "and explained"
assert_eq "$(cmp -s .git/hooks/pre-commit "$T/own.orig" && echo same)" same "the hook is unchanged"
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --client --chain . > /dev/null
assert_eq "$(cmp -s .git/hooks/pre-commit.pre-ferret "$T/own.orig" && echo same)" same "--chain keeps it"
printf 'k = "%s"\n' "$($FAKE github 813)" > k.py && git add k.py
commit "chained"
assert_eq "$CRC" 1 "ferret runs after the chained hook"
assert_eq "$(cat "$T/own.log")" "own hook ran" "the chained hook ran first"
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" --client --chain . > /dev/null
assert_eq "$(ls .git/hooks | grep -c pre-ferret)" 1 "reinstalling replaces ferret's own hook only"
finish
