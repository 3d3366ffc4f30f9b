#!/usr/bin/env bash
# Costs the input names for itself stay bounded: an encrypted private key whose
# PBKDF2 iteration count is near 2^31, hidden in a Kubernetes-style tls.key
# line, is reported once in well under a second of validation (the validator
# reads its structure, never derives a key).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

# EncryptedPrivateKeyInfo, PBES2 / PBKDF2-HMAC-SHA256 with 2147483000 rounds /
# AES-256-CBC, random salt, IV and ciphertext, built byte by byte. A line before
# the PEM block once kept the validator off its structure-only branch.
python3 - >tls.yml <<'PY'
import base64, os
def tlv(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + ln + body
seq = lambda *xs: tlv(0x30, b"".join(xs))
oid = lambda hexs: tlv(0x06, bytes.fromhex(hexs))
pbkdf2 = seq(oid("2a864886f70d01050c"),
             seq(tlv(0x04, os.urandom(16)), tlv(0x02, (2147483000).to_bytes(4, "big")),
                 seq(oid("2a864886f70d0209"), b"\x05\x00")))
aes = seq(oid("60864801650304012a"), tlv(0x04, os.urandom(16)))
epki = seq(seq(oid("2a864886f70d01050d"), seq(pbkdf2, aes)), tlv(0x04, os.urandom(1232)))
b64 = base64.b64encode(epki).decode()
pem = "-----BEGIN X\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
pem += "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
pem += "-----END ENCRYPTED PRIVATE KEY-----\n"
print("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:")
print("  tls.key: " + base64.b64encode(pem.encode()).decode())
PY
openssl asn1parse -in <(python3 -c "import base64,sys; print(base64.b64decode(open('tls.yml').read().split('tls.key: ')[1]).decode().split('\n',1)[1])") \
  >asn1.txt 2>&1 || fail "the built key is not DER: $(cat asn1.txt)"
assert_eq "$(grep -c 'INTEGER *:7FFFFD78' asn1.txt)" 1 "the key names 2147483000 PBKDF2 rounds"

start=$(date +%s)
run_ferret scan --db f.db --threads 1 tls.yml
took=$(($(date +%s) - start))
assert_eq "$RC" 1 "the key is a finding"
[ "$took" -le 20 ] && ok || fail "scan took $took s"
run_ferret report --db f.db --format jsonl
printf '%s\n' "$OUT" >r.jsonl
assert_eq "$(pyjsonl r.jsonl "len(rows)")" 1 "exactly one finding"
assert_eq "$(pyjsonl r.jsonl "(rows[0]['rule'], rows[0]['validated'], len(rows[0]['occurrences']))")" \
  "('pem.private-key-base64', 'structure', 1)" "reported by the base64 PEM rule, structure validated"
finish
