#!/bin/sh
# Precision review (issues 12 and 13): scan real trees and histories that hold
# no intended secrets, and print how many findings each rule makes per target
# (counts only: no secret is printed). The findings themselves are then read
# one by one with
#   ferret report --db OUT/TARGET.db --format jsonl --show-secrets --all-locations
# (the databases are made with --store-secrets: keep OUT outside the repo).
#
# usage: scripts/precision-review.sh [FERRET] [CORPORA] [OUT] [TARGET...]
#   FERRET   ferret binary (default build/ferret)
#   CORPORA  where the clones go (default /tmp/corpora/prec)
#   OUT      where the databases and logs go (default /tmp/precision)
#   TARGET   only these targets (names as printed; default all)
# Environment: MIRRORS (default /work/.mirror) holds OWNER+NAME/repo git dirs;
#   THREADS (default 2). Partial mirrors (promisor packs) cannot be cloned:
#   their git dir is copied and their HEAD tree is written from the blobs
#   present; their history scans exit 2 on the missing blobs (expected).
set -u
FERRET=$(realpath "${1:-build/ferret}")
CORP=${2:-/tmp/corpora/prec}
OUT=${3:-/tmp/precision}
[ $# -gt 3 ] && shift 3 || set --
ONLY="$*"
MIRRORS=${MIRRORS:-/work/.mirror}
THREADS=${THREADS:-2}
mkdir -p "$CORP" "$OUT"

# full mirrors: a clone (history) and the HEAD tree (git archive)
FULL="git+git ansible+ansible docker+awesome-compose kubernetes+examples openai+openai-python slackapi+python-slack-sdk curl+curl spring-projects+spring-boot"
# partial mirrors: a copy of the git dir (history) and the blobs of HEAD present
PARTIAL="getsentry+sentry-python hashicorp+terraform mozilla+pdf.js helm+charts rails+rails"
# third review: Azure DevOps tasks and Bicep modules, Helm values, PHP, PowerShell, Java, awx
PARTIAL="$PARTIAL microsoft+azure-pipelines-tasks Azure+bicep-registry-modules microsoft+azure-devops-node-api bitnami+charts laravel+laravel PowerShell+PowerShell jenkinsci+jenkins ansible+awx"
# fourth review: .NET (appsettings), Go/gRPC microservices with Kubernetes and
# Terraform, Terraform AWS modules, a Node app with .env samples, a Django
# project template, an Android app (Gradle), Jupyter notebooks
PARTIAL="$PARTIAL dotnet+eShop GoogleCloudPlatform+microservices-demo terraform-aws-modules+terraform-aws-eks sahat+hackathon-starter cookiecutter+cookiecutter-django android+nowinandroid jakevdp+PythonDataScienceHandbook"
# no history scan for these (helm/charts: not reviewed; bitnami/charts: 126,570
# commits of generated chart bumps, HEAD reviewed)
NOHIST="charts bitnami-charts"

# a target's name: the repository's name, or OWNER-NAME when another
# mirror has the same name (bitnami+charts beside helm+charts)
tname() {
	case $1 in
	helm+charts) echo charts ;;
	*+charts) echo "${1%%+*}-charts" ;;
	*) echo "${1#*+}" ;;
	esac
}

headtree() { # GITDIR OUTDIR: write HEAD's blobs that are present
	python3 - "$1" "$2" <<'EOF'
import subprocess, sys, os
gitdir, out = sys.argv[1], sys.argv[2]
ls = subprocess.run(['git', '--git-dir', gitdir, 'ls-tree', '-r', '-z', 'HEAD'],
                    capture_output=True, check=True).stdout.split(b'\0')
ents = []
for e in ls:
    if not e:
        continue
    meta, path = e.split(b'\t', 1)
    mode, typ, oid = meta.split()
    if typ == b'blob' and mode != b'120000':
        ents.append((oid, path))
p = subprocess.Popen(['git', '--git-dir', gitdir, 'cat-file', '--batch'],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     env=dict(os.environ, GIT_NO_LAZY_FETCH='1'))
miss = 0
for oid, path in ents:
    p.stdin.write(oid + b'\n')
    p.stdin.flush()
    hdr = p.stdout.readline()
    if hdr.endswith(b'missing\n'):
        miss += 1
        continue
    data = p.stdout.read(int(hdr.split()[2]))
    p.stdout.read(1)
    fp = os.path.join(out.encode(), path)
    os.makedirs(os.path.dirname(fp), exist_ok=True)
    with open(fp, 'wb') as f:
        f.write(data)
print('%s: %d blobs in HEAD, %d missing' % (out, len(ents), miss), file=sys.stderr)
EOF
}

# with TARGETs given, only their clones are made
wanted() {
	[ -z "$ONLY" ] && return 0
	case " $ONLY " in *" $1-history "* | *" $1-head "*) return 0 ;; esac
	return 1
}

for m in $FULL; do
	n=${m#*+}
	[ -d "$MIRRORS/$m/repo" ] || continue
	wanted "$n" || continue
	[ -d "$CORP/$n" ] || git clone -q --no-local "$MIRRORS/$m/repo" "$CORP/$n" || continue
	[ -d "$CORP/$n-head" ] || { mkdir -p "$CORP/$n-head" &&
		git -C "$CORP/$n" archive HEAD | tar -x -C "$CORP/$n-head"; }
done
for m in $PARTIAL; do
	n=$(tname "$m")
	[ -d "$MIRRORS/$m/repo" ] || continue
	wanted "$n" || continue
	[ -d "$CORP/$n.git" ] || cp -a "$MIRRORS/$m/repo" "$CORP/$n.git"
	# a snapshot's git dir may have no config: without core.bare, libgit2
	# takes the parent directory (all of CORPORA) for its work tree
	git --git-dir "$CORP/$n.git" config core.bare true
	[ -d "$CORP/$n-head" ] || { mkdir -p "$CORP/$n-head" && headtree "$CORP/$n.git" "$CORP/$n-head"; }
done

# TARGET=PATH ... (history targets are repositories, -head targets plain trees)
TARGETS="git-history=$CORP/git"
for m in $FULL; do
	n=${m#*+}
	[ "$n" = git ] && continue
	[ -d "$CORP/$n" ] && TARGETS="$TARGETS $n-history=$CORP/$n $n-head=$CORP/$n-head"
done
for m in $PARTIAL; do
	n=$(tname "$m")
	[ -d "$CORP/$n.git" ] || continue
	case " $NOHIST " in *" $n "*) ;; *) TARGETS="$TARGETS $n-history=$CORP/$n.git" ;; esac
	TARGETS="$TARGETS $n-head=$CORP/$n-head"
done
PYLIBS=$(ls -d /usr/lib/python3* 2>/dev/null | tr '\n' ' ')
TARGETS="$TARGETS usr-lib-python3=$(echo $PYLIBS | tr ' ' ',') usr-share-doc=/usr/share/doc"
[ -d /usr/lib/node_modules ] && TARGETS="$TARGETS usr-lib-node_modules=/usr/lib/node_modules"
TARGETS="$TARGETS etc=/etc"

printf '%-28s %5s %7s %s\n' target exit total "findings per rule"
for t in $TARGETS; do
	name=${t%%=*}
	paths=$(echo "${t#*=}" | tr ',' ' ')
	if [ -n "$ONLY" ]; then
		case " $ONLY " in *" $name "*) ;; *) continue ;; esac
	fi
	db="$OUT/$name.db"
	rm -f "$db" "$db-wal" "$db-shm" "$db.key"
	# shellcheck disable=SC2086
	nice -n 10 "$FERRET" scan --no-config --store-secrets --threads "$THREADS" \
		--db "$db" $paths >"$OUT/$name.scan.log" 2>&1
	rc=$?
	"$FERRET" report --db "$db" --format jsonl >"$OUT/$name.counts.jsonl" 2>/dev/null
	python3 - "$name" "$rc" "$OUT/$name.counts.jsonl" <<'EOF'
import json, sys, collections
name, rc, f = sys.argv[1:4]
c = collections.Counter(json.loads(l)['rule'] for l in open(f) if l.strip())
print('%-28s %5s %7d %s' % (name, rc, sum(c.values()),
      ' '.join('%s:%d' % kv for kv in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))))
EOF
	rm -f "$OUT/$name.counts.jsonl"
done
