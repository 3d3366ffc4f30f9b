#!/usr/bin/env bash
# Credential containers found by their raw bytes, whatever their names: PKCS#12
# made by openssl (with a password, password-less with a MAC, password-less
# without MAC or encryption) and by keytool, JKS and JCEKS keystores, KeePass
# KDBX 4 / 3 and KDB 1.x headers. Not reported: a certificate-only PKCS#12, a
# JKS truststore, a DER certificate, a PKCS#7 bundle, random bytes, a keystore
# cut short. One file is one finding (its bytes' hash) at every path, in git
# history and in archive members; base64 in a YAML file is read by the text
# rules. Everything is generated here.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
if ! command -v openssl >/dev/null; then
  echo "test_keystores: SKIPPED (needs openssl)"
  exit 0
fi

mkdir -p gen tree
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out gen/k.pem 2>/dev/null
openssl req -x509 -key gen/k.pem -out gen/c.pem -days 2 -subj /CN=ferret-test 2>/dev/null
pw=$(python3 -c 'import random; r=random.Random(7); print("".join(r.choice("abcdefghkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479") for _ in range(14)))')
# names that say nothing: found by content
openssl pkcs12 -export -in gen/c.pem -inkey gen/k.pem -passout "pass:$pw" -out tree/payload.bin
openssl pkcs12 -export -in gen/c.pem -inkey gen/k.pem -passout pass: -out tree/cert-nopw.dat
openssl pkcs12 -export -in gen/c.pem -inkey gen/k.pem -passout pass: -nomac -keypbe NONE -certpbe NONE -out tree/plain
openssl pkcs12 -export -in gen/c.pem -nokeys -passout pass: -out tree/bundle.p12 # certificates only
openssl x509 -in gen/c.pem -outform DER -out tree/cert.der
openssl crl2pkcs7 -nocrl -certfile gen/c.pem -outform DER -out tree/chain.p7b
if command -v keytool >/dev/null; then # Java's own keystores
  kt() { keytool "$@" -storepass "$pw" -keypass "$pw" >/dev/null 2>&1; }
  kt -genkeypair -keystore tree/app.store -storetype JKS -alias app -keyalg EC -dname CN=app
  kt -genkeypair -keystore tree/secrets.bin -storetype JCEKS -alias svc -keyalg EC -dname CN=svc
  kt -genkeypair -keystore tree/java.keystore -storetype PKCS12 -alias web -keyalg EC -dname CN=web
  keytool -importcert -noprompt -keystore tree/trust.jks -storetype JKS -storepass "$pw" -alias ca \
    -file gen/c.pem >/dev/null 2>&1
else # no JDK: the same formats written by the corpus generator
  echo "test_keystores: no keytool, JKS / JCEKS written by corpus/gen-containers.py"
  PW=$pw python3 - "$FERRET_SRC/corpus/gen-containers.py" <<'PY'
import importlib.util, os, random, sys
spec = importlib.util.spec_from_file_location("gc", sys.argv[1]); gc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gc)
r, pw = random.Random(3), os.environ["PW"]
der = gc.run(["openssl", "x509", "-in", "gen/c.pem", "-outform", "DER"])
open("tree/app.store", "wb").write(gc.jks(r, der, pw))
open("tree/secrets.bin", "wb").write(gc.jks(r, der, pw, jceks=True))
open("tree/trust.jks", "wb").write(gc.jks(r, der, pw, keys=0, certs=1))
PY
  openssl pkcs12 -export -in gen/c.pem -inkey gen/k.pem -passout "pass:$pw" -out tree/java.keystore
fi
head -c 200 tree/app.store > tree/cut.store # a keystore cut short: no digest, entries cut
python3 - <<'EOF'
import os, random, struct
r = random.Random(11)
rnd = lambda n: bytes(r.randrange(256) for _ in range(n))
def kdbx(ver, wide):
    h = bytes.fromhex("03d9a29a67fb4bb5") + struct.pack("<I", ver)
    for fid, n in ((2, 16), (3, 4), (4, 32), (0, 4)):  # cipher, compression, seed, end
        h += bytes([fid]) + struct.pack("<I" if wide else "<H", n) + rnd(n)
    return h + rnd(512)
open("tree/notes.db", "wb").write(kdbx(0x00040001, True))
open("tree/old-vault", "wb").write(kdbx(0x00030001, False))
kdb = bytes.fromhex("03d9a29a65fb4bb5") + struct.pack("<II", 3, 0x00030004) + rnd(32)  # seed, IV
open("tree/legacy.kdb.bak", "wb").write(kdb + struct.pack("<II", 2, 5) + rnd(72 + 256))
open("tree/random.bin", "wb").write(b"\x30" + rnd(4095))
open("tree/magic-only", "wb").write(bytes.fromhex("feedfeed000000020000000100000001") + rnd(64))
EOF
cp tree/payload.bin tree/copy.pfx # the same bytes at a second path: one finding

run_ferret scan --db a.db tree
assert_eq "$RC" 1 "containers found: exit 1"
run_ferret report --db a.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > a.jsonl
rows() { pyjsonl "$1" "'\n'.join(sorted('%s %s %s %s' % (r['rule'], r['validated'], r['secret_sha256'][:12], ','.join(sorted(set(o['path'] for o in r['occurrences'])))) for r in rows))"; }
h() { sha256sum "$1" | cut -c1-12; }
expect="keystore.jceks structure $(h tree/secrets.bin) tree/secrets.bin
keystore.jks structure $(h tree/app.store) tree/app.store
keystore.kdbx structure $(h tree/legacy.kdb.bak) tree/legacy.kdb.bak
keystore.kdbx structure $(h tree/notes.db) tree/notes.db
keystore.kdbx structure $(h tree/old-vault) tree/old-vault
keystore.pkcs12 structure $(h tree/java.keystore) tree/java.keystore
keystore.pkcs12 structure $(h tree/payload.bin) tree/copy.pfx,tree/payload.bin
keystore.pkcs12-passwordless checksum $(h tree/cert-nopw.dat) tree/cert-nopw.dat
keystore.pkcs12-passwordless structure $(h tree/plain) tree/plain"
assert_eq "$(rows a.jsonl | sort)" "$(sort <<<"$expect")" "every container, by content, once per file"
assert_eq "$(pyjsonl a.jsonl "[r['severity'] for r in rows if r['rule'] == 'keystore.pkcs12-passwordless']")" \
  "['critical', 'critical']" "password-less PKCS#12 is critical"
assert_eq "$(pyjsonl a.jsonl "sorted(r['preview'] for r in rows if r['rule'] in ('keystore.jks', 'keystore.pkcs12-passwordless'))")" \
  "['[JKS keystore v2: 1 entry (1 key, 0 certificates)]', '[PKCS#12: 1 key, password-less (MAC verified with an empty password)]', '[PKCS#12: 1 key, password-less (no MAC, nothing encrypted)]']" \
  "the preview says what was checked"

# --- committed into git history, and inside an archive
git init -q repo
cp tree/payload.bin tree/app.store repo/ && mkdir -p repo/deploy && cp tree/notes.db repo/deploy/
(cd tree && zip -q ../repo/release.zip cert-nopw.dat cert.der)
(cd repo && git add -A && gcommit dev "add build files" && git rm -q payload.bin && gcommit dev "remove it")
run_ferret scan --db g.db repo
assert_eq "$RC" 1 "containers in history: exit 1"
run_ferret report --db g.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > g.jsonl
expect="keystore.jks structure $(h tree/app.store) app.store
keystore.kdbx structure $(h tree/notes.db) deploy/notes.db
keystore.pkcs12 structure $(h tree/payload.bin) payload.bin
keystore.pkcs12-passwordless checksum $(h tree/cert-nopw.dat) release.zip!cert-nopw.dat"
assert_eq "$(rows g.jsonl | sort)" "$(sort <<<"$expect")" "history (a deleted file too) and archive members: same findings, same identities"

# --- base64 in text: the text rules read it; whole and password-less is its own rule
{
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "data:"
  echo "  client.pfx: $(base64 -w0 tree/cert-nopw.dat)"
  echo "  server.p12: $(base64 -w0 tree/payload.bin)"
  echo "  app.jks: $(base64 -w0 tree/app.store)"
  echo "  cert.der: $(base64 -w0 tree/cert.der)"
  echo "  chain.p7b: $(base64 -w0 tree/chain.p7b)"
} > secret.yaml
run_ferret scan --db y.db secret.yaml
run_ferret report --db y.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > y.jsonl
assert_eq "$(pyjsonl y.jsonl "sorted((r['rule'], r['validated'], o['line']) for r in rows for o in r['occurrences'])")" \
  "[('keystore.jks', 'structure', 6), ('keystore.pkcs12', 'structure', 5), ('keystore.pkcs12-passwordless', 'checksum', 4)]" \
  "base64 containers in a Kubernetes Secret"

finish
