#!/usr/bin/env bash
# Git history end to end: a repository built with the git CLI — branches,
# lightweight and annotated tags, a merge, file and directory renames, a deleted
# file, a branch-only secret, a commit made unreachable by a reset, a dangling
# blob, packed and loose objects, secrets in messages and path names — then a
# bare mirror and a directory of mirrors. Asserts exact provenance, exactly-once
# reading of shared blobs, and incremental re-scans.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

s_env=$($FAKE github 101)      # .env, later deleted
s_moved=$($FAKE github 102)    # file renamed, directory renamed
s_branch=$($FAKE github 103)   # only on a branch
s_merge=$($FAKE github 104)    # introduced by a merge commit
s_tag=$($FAKE github 105)      # annotated tag message
s_msg=$($FAKE github 106)      # commit message
s_path=$($FAKE github 107)     # a path name
s_gone=$($FAKE github 108)     # commit made unreachable by a reset
s_blob=$($FAKE github 109)     # dangling blob, no commit
s_lw=$($FAKE github 110)       # only reachable from a lightweight tag
s_loose=$($FAKE github 111)    # added after repacking: a loose object
s_note=$($FAKE github 112)     # a git note
s_stash=$($FAKE github 113)    # a stash entry

git init -q repo && cd repo
echo "hello" > README.md && git add . && gcommit alice "initial"                     # tick 1
printf 'APP=1\nGITHUB_TOKEN=%s\n' "$s_env" > .env && git add . && gcommit alice "add env"  # 2
c_env=$(git rev-parse HEAD)
mkdir -p conf && printf '# token\n\ntoken: %s\n' "$s_moved" > conf/app.yml && git add . && gcommit bob "config"  # 3
c_moved=$(git rev-parse HEAD)
git rm -q .env && gcommit alice "remove env"                                           # 4
git mv conf/app.yml conf/app-renamed.yml && gcommit bob "rename file"                 # 5
c_ren=$(git rev-parse HEAD)
git mv conf settings && gcommit bob "rename directory"                                # 6
c_dir=$(git rev-parse HEAD)
git checkout -q -b feature
printf 'x = "%s"\n' "$s_branch" > feature.py && git add . && gcommit carol "feature work"  # 7
c_branch=$(git rev-parse HEAD)
git checkout -q main
echo "main work" > main.txt && git add . && gcommit alice "main work"                 # 8
git checkout -q -b topic && echo "topic" > topic.txt && git add . && gcommit dave "topic"  # 9
git checkout -q main
git merge -q --no-ff --no-commit topic > /dev/null
printf 'merged = "%s"\n' "$s_merge" > merged.txt && git add merged.txt
gcommit erin "merge topic"                                                            # 10
c_merge=$(git rev-parse HEAD)
GIT_COMMITTER_DATE=$(gdate 11) GIT_COMMITTER_NAME=rel GIT_COMMITTER_EMAIL=rel@example.com \
  git tag -a v1.0 -m "release notes: deploy with $s_tag"
gcommit frank "rotate creds: old was $s_msg"                                          # 11
c_msg=$(git rev-parse HEAD)
mkdir -p "keys" && echo "see name" > "keys/$s_path.txt" && git add . && gcommit alice "odd file name"  # 12
c_path=$(git rev-parse HEAD)
# a lightweight tag on an orphan commit reachable from nothing else
git checkout -q --orphan side && git rm -rqf . && printf 'K=%s\n' "$s_lw" > lw.txt && git add lw.txt && gcommit gina "orphan"  # 13
c_lw=$(git rev-parse HEAD)
git tag lw-tag && git checkout -q main && git branch -D side -q
git repack -q -a -d                                   # everything so far packed
printf 'L=%s\n' "$s_loose" > loose.txt && git add . && gcommit alice "loose"          # 14
c_loose=$(git rev-parse HEAD)
printf 'G=%s\n' "$s_gone" > gone.txt && git add . && gcommit mallory "oops"            # 15
c_gone=$(git rev-parse HEAD)
git reset -q --hard HEAD~1
# a note and a stash: refs outside heads and tags
GIT_TICK=$((GIT_TICK + 1))
GIT_AUTHOR_NAME=nora GIT_AUTHOR_EMAIL=nora@example.com GIT_COMMITTER_NAME=nora GIT_COMMITTER_EMAIL=nora@example.com \
  GIT_AUTHOR_DATE=$(gdate 16) GIT_COMMITTER_DATE=$(gdate 16) git notes add -m "creds: $s_note" HEAD
printf 'WIP=%s\n' "$s_stash" >> README.md
GIT_TICK=$((GIT_TICK + 1))
GIT_AUTHOR_NAME=sam GIT_AUTHOR_EMAIL=sam@example.com GIT_COMMITTER_NAME=sam GIT_COMMITTER_EMAIL=sam@example.com \
  GIT_AUTHOR_DATE=$(gdate 17) GIT_COMMITTER_DATE=$(gdate 17) git stash -q
git reflog expire --expire=now --all
printf 'B=%s\n' "$s_blob" | git hash-object -w --stdin > /dev/null
cd ..

run_ferret scan --db g.db repo
assert_eq "$RC" 1 "git scan with findings exits 1"
scan_err=$ERR
run_ferret report --db g.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r.jsonl
R="$T/repo"
h() { sha256 "$1"; }
assert_eq "$(occ r.jsonl "$(h "$s_env")")" "git .env 2 $c_env alice@example.com $(gdate 2) refs/heads/main $R" "deleted file: introducing commit, path, line, author"
assert_eq "$(occ r.jsonl "$(h "$s_moved")" | sort)" "$(printf '%s\n' \
  "git conf/app-renamed.yml 3 $c_ren bob@example.com $(gdate 5) refs/heads/main $R" \
  "git conf/app.yml 3 $c_moved bob@example.com $(gdate 3) refs/heads/main $R" \
  "git settings/app-renamed.yml 3 $c_dir bob@example.com $(gdate 6) refs/heads/main $R" | sort)" "renames: every path with the commit that brought the blob there"
assert_eq "$(occ r.jsonl "$(h "$s_branch")")" "git feature.py 1 $c_branch carol@example.com $(gdate 7) refs/heads/feature $R" "branch-only secret"
assert_eq "$(occ r.jsonl "$(h "$s_merge")")" "git merged.txt 1 $c_merge erin@example.com $(gdate 10) refs/heads/main $R" "secret introduced by a merge commit"
assert_eq "$(occ r.jsonl "$(h "$s_tag")")" "git-message <tag message: v1.0> 1 $c_merge rel@example.com $(gdate 11) refs/tags/v1.0 $R" "annotated tag message"
assert_eq "$(occ r.jsonl "$(h "$s_msg")")" "git-message <commit message> 1 $c_msg frank@example.com $(gdate 11) refs/heads/main $R" "commit message"
assert_eq "$(occ r.jsonl "$(h "$s_path")")" "git-path keys/${s_path:0:4}****${s_path: -2}.txt 1 $c_path alice@example.com $(gdate 12) refs/heads/main $R" "path name, with the secret in it redacted"
assert_not_contains "$(cat r.jsonl)" "$s_path" "a secret in a path name never appears in the report"
assert_eq "$(occ r.jsonl "$(h "$s_lw")")" "git lw.txt 1 $c_lw gina@example.com $(gdate 13) refs/tags/lw-tag $R" "lightweight tag on an orphan commit"
assert_eq "$(occ r.jsonl "$(h "$s_loose")")" "git loose.txt 1 $c_loose alice@example.com $(gdate 14) refs/heads/main $R" "loose object after a repack"
assert_eq "$(occ r.jsonl "$(h "$s_gone")")" "git gone.txt 1 $c_gone mallory@example.com $(gdate 15) (unreachable) $R" "commit made unreachable by a reset"
assert_eq "$(occ r.jsonl "$(h "$s_blob")")" "git-unreachable - 1 - - - - $R" "dangling blob without a commit"
assert_eq "$(occ r.jsonl "$(h "$s_note")" | awk '{print $1, $5, $7}')" "git nora@example.com refs/notes/commits" "secret in a git note"
assert_eq "$(occ r.jsonl "$(h "$s_stash")" | awk '{print $1, $2, $5, $7}')" "git README.md sam@example.com refs/stash" "secret in a stash entry"
blob_of_moved=$(git -C repo rev-parse "$c_dir:settings/app-renamed.yml")
assert_eq "$(pyjsonl r.jsonl "sorted({o['blob'] for r in rows if r['secret_sha256']=='$(h "$s_moved")' for o in r['occurrences']})")" "['$blob_of_moved']" "occurrences name the blob"

# every unique blob read exactly once
all_blobs=$(git -C repo cat-file --batch-all-objects --batch-check | awk '$2=="blob"' | wc -l)
assert_eq "$(count_of "$scan_err" "blobs read")" "$all_blobs" "each unique blob read once (the ODB holds $all_blobs)"
assert_eq "$(sqlite3 g.db "select count(*) from content where key like 'git:%'")" "$all_blobs" "one content row per blob"
assert_eq "$(sqlite3 g.db "select count(*) from content where key = 'git:$blob_of_moved'")" 1 "a blob at three paths is one content"
assert_eq "$(sqlite3 g.db "select status from runs")" complete "run complete"

# strict hash verification and an uncached rule compile give the same findings
run_ferret scan --db v.db --verify-hashes --no-cache repo
assert_eq "$RC" 1 "--verify-hashes --no-cache scan"
run_ferret report --db v.db --format jsonl --secret-hashes
assert_eq "$(printf '%s\n' "$OUT" | pyjsonl /dev/stdin "sorted(r['secret_sha256'] for r in rows)")" "$(pyjsonl r.jsonl "sorted(r['secret_sha256'] for r in rows)")" "same findings with --verify-hashes"

# a live progress line on a TTY only, never with --quiet or when stderr is a file
script -qec "$FERRET scan --db p.db repo" /dev/null > tty.out 2>&1 || true
assert_contains "$(cat tty.out)" "ferret: repos " "progress line on a TTY"
script -qec "$FERRET scan --quiet --db p2.db repo" /dev/null > tty.out 2>&1 || true
assert_not_contains "$(cat tty.out)" "ferret: repos" "no progress with --quiet"
run_ferret scan --db p3.db repo
assert_not_contains "$ERR" "ferret: repos" "no progress when stderr is not a TTY"

# --- incremental: unchanged repository is not walked again
run_ferret scan --db g.db repo
assert_eq "$RC" 1 "re-scan still reports the findings the repo holds"
assert_eq "$(count_of "$ERR" "unchanged)")" 1 "unchanged repository skipped"
assert_eq "$(count_of "$ERR" "blobs read")" 0 "nothing read"
assert_eq "$(sqlite3 g.db "select items_scanned || ' ' || new_findings from runs order by id desc limit 1")" "0 0" "nothing scanned, nothing new"
# a new commit: only its new blob is read, old ones are known
cd repo && printf 'N=%s\n' "$($FAKE github 120)" > new.txt && git add . && gcommit alice "new" && cd ..
run_ferret scan --db g.db repo
assert_eq "$(count_of "$ERR" "blobs read")" 1 "only the new blob read"
assert_eq "$(sqlite3 g.db "select new_findings from runs order by id desc limit 1")" 1 "its secret found"
assert_eq "$(count_of "$ERR" "new finding")" 1 "and the summary says so"
# a rule change rescans everything
mkdir rules && cp "$FERRET_SRC/patterns/github.yml" rules/github.yml && printf '\n# changed\n' >> rules/github.yml
run_ferret scan --db g.db --rules rules repo
assert_eq "$(count_of "$ERR" "blobs read")" "$((all_blobs + 1))" "all blobs read again after a rule change"
assert_eq "$(sqlite3 g.db "select new_findings from runs order by id desc limit 1")" 0 "rescan under new rules: same findings"
assert_eq "$(sqlite3 g.db "select count(*) from findings")" "$(($(pyjsonl r.jsonl "len(rows)") + 1))" "the first scan's findings and the new one, none twice"

# --- a bare mirror and a directory of mirrors (nested), one broken
mkdir -p mirrors/team
git clone -q --mirror repo mirrors/one.git
git clone -q --mirror repo mirrors/team/two.git
git init -q --bare mirrors/team/empty.git
mkdir -p mirrors/broken && echo "gitdir: /nonexistent/path" > mirrors/broken/.git
echo "plain file with $s_env" > mirrors/notes.txt
run_ferret scan --db m.db mirrors
assert_eq "$RC" 2 "a broken repository makes the run incomplete"
assert_contains "$ERR" "mirrors/broken: not a git repository" "broken repository named"
assert_eq "$(count_of "$ERR" "repositories")" 4 "all repositories discovered"
run_ferret report --db m.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > m.jsonl
assert_eq "$(occ m.jsonl "$(h "$s_env")" | awk '{print $1, $2, $4, $8}' | sort)" "$(printf '%s\n' \
  "file mirrors/notes.txt - -" \
  "git .env $c_env $T/mirrors/one.git" \
  "git .env $c_env $T/mirrors/team/two.git" | sort)" "one finding, occurrences in both mirrors and a plain file"
assert_eq "$(occ m.jsonl "$(h "$s_branch")" | awk '{print $7}' | sort -u)" "refs/heads/feature" "mirror keeps branch provenance"

# a linked worktree: its objects live in the main repository's common directory
git -C repo worktree add -q "$T/wt" 2> /dev/null
run_ferret scan --db wt.db wt
assert_eq "$RC" 1 "a linked worktree is scanned"
run_ferret report --db wt.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > wt.jsonl
assert_eq "$(occ wt.jsonl "$(h "$s_env")" | awk '{print $2, $4}')" ".env $c_env" "history read through the common object directory"

# blobs scanned ahead of the walk (packed): a skipped one (over --max-file-size;
# binary content is never skipped) keeps its path; an archive is left to the
# walk, so its members keep their provenance
git init -q packed
(cd packed && head -c 3000 /dev/urandom > blob.bin && printf 'x\0y' >> blob.bin \
  && mkdir -p d && echo "TOKEN=$s_env" > d/t.env && zip -q -j d/a.zip d/t.env && rm d/t.env \
  && git add . && gcommit dev "binary and archive" && git gc -q)
run_ferret scan --db pk.db --max-file-size 2K packed
assert_eq "$RC" 1 "packed repository scanned"
assert_eq "$(sqlite3 pk.db "select group_concat(l.path || ': ' || c.reason) from content c join locations l on l.content_id = c.id where c.status != 'scanned'")" \
  "blob.bin: larger than --max-file-size (2048 bytes)" "a packed blob skipped ahead of the walk keeps its path"
run_ferret report --db pk.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > pk.jsonl
assert_eq "$(occ pk.jsonl "$(h "$s_env")" | awk '{print $2}')" "d/a.zip!t.env" "archive member found with its path"
finish
