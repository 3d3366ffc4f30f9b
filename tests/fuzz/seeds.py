#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz corpora (tests/fuzz/corpus/<target>/
seed-*): small inputs shaped like the tests' inputs and like the crash inputs of
issue 10. Run from anywhere; it only (re)writes files named seed-*, so inputs
saved from fuzzer runs (crash-*, found-*) are kept. No seed holds a real or
format-valid secret: where a structure is needed its bytes are random or fixed
filler (a validator must parse them, never accept them)."""
import base64
import hashlib
import bz2
import gzip
import io
import lzma
import os
import random
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(10)


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 16384, (target, name, len(data))
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- rules ------------------------------------------------------------------
RULE = """rules:
  - id: t.tok
    name: token
    description: a test token
    pattern: '\\b(tok_[A-Za-z0-9]{16})\\b'
    keywords: [tok_]
    min_entropy: %s
    max_length: 20
    validate: base62-crc32
    guards: [hex-digest, words]
    ignore: [tok_EXAMPLEEXAMPLE00]
    severity: high
    confidence: high
    attack: T1552.001
    references: [https://example.invalid/tok]
    examples: ['x = tok_ABCDEFGH12345678']
    negative_examples: [y]
"""
put("rules", "valid.yml", RULE % "3.0")
put("rules", "min-entropy-nan.yml", RULE % "nan")
put("rules", "min-entropy-inf.yml", RULE % ".inf")
put("rules", "min-entropy-neg.yml", RULE % "-1")
put("rules", "max-length-huge.yml", (RULE % "1").replace("max_length: 20", "max_length: 99999999999999999999"))
put("rules", "scalar-lists.yml", (RULE % "1").replace("keywords: [tok_]", "keywords: tok_"))
put("rules", "unknown-key.yml", RULE % "1" + "    colour: red\n")
put("rules", "empty.yml", "")
put("rules", "not-a-mapping.yml", "- a\n- b\n")
put("rules", "rules-not-list.yml", "rules: 3\n")
put("rules", "tabs-and-garbage.yml", "rules:\n\t- id: [\n  \x00\xff")
# aliases: a small "billion laughs"; the loader must refuse or cap it
bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
for i, c in enumerate("bcdefgh"):
    p = "abcdefgh"[i]
    bomb.append("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]" % (c, c, p, p, p, p, p, p, p, p, p))
bomb.append("rules:\n  - id: t.b\n    name: *h\n    pattern: x\n    severity: low\n    confidence: low\n"
            "    attack: T1\n    examples: *h\n    negative_examples: *h\n")
put("rules", "alias-bomb.yml", "\n".join(bomb))
put("rules", "alias-one.yml", (RULE % "1").replace("examples: ['x = tok_ABCDEFGH12345678']",
                                                    "examples: &e ['x = tok_ABCDEFGH12345678']")
    .replace("negative_examples: [y]", "negative_examples: *e"))
put("rules", "deep-brackets.yml", "rules: " + "[" * 6000)
put("rules", "deep-braces.yml", "rules: " + "{a: " * 3000)
put("rules", "deep-mixed.yml", "rules:\n  - id: " + "[{" * 2000 + "}]" * 2000 + "\n")

# ---- logs -------------------------------------------------------------------
# input = container path, NUL, member name, NUL... (no NUL: a file path alone)
put("logs", "jenkins-builds.txt", "t/jobs/builds/1/log")
put("logs", "jenkins-normal.txt", "/var/lib/jenkins/jobs/app/builds/42/log")
put("logs", "jenkins-nested.txt", "x/jobs/a/jobs/builds/builds/7/log")
put("logs", "jenkins-noslash.txt", "jobs//builds/log")
put("logs", "actions-member.txt", "logs_1234.zip\0build/2_Run tests.txt\0")
put("logs", "actions-top.txt", "run-99/logs_5.zip\x001_deploy.log")
put("logs", "actions-short.txt", "a.zip\0x/.txt")
put("logs", "actions-digits.txt", "9.zip\x0012_.log")
put("logs", "actions-decorated.log",
    "2026-01-02T03:04:05.1234567Z ##[group]Run env\r\n"
    "2026-01-02T03:04:05.1234567Z TOKEN=abc\x1b[0mdef\r\n"
    "::add-mask::value\n::group::Build\n##[endgroup]\n")
put("logs", "azure.log", "##[section]Starting: Build\n##vso[task.setvariable variable=pat;issecret=true]abc123\n")
put("logs", "gitlab.log", "section_start:1700000000:build_step\r\x1b[0KBuilding\nok\n"
    "section_end:1700000001:build_step\r\x1b[0K\n")
put("logs", "jenkins-osc.log", "[2026-01-02T03:04:05.123Z] curl -u user:pw \x1b]8;;http://x\x07link\x1b]8;;\x07\n")
put("logs", "osc-unterminated.log", "x.log\0\0" + "\x1b]" * 6000 + "\n")
put("logs", "osc-unterminated-nonl.log", "\x1b]8;;" * 3000)
put("logs", "section-open.log", "x.log\0\0" + "section_start:1700000000:a[" * 500 + "\n")
put("logs", "section-bracket.log", "section_start:1:" + "[" * 8000)
put("logs", "csi-long.log", "\x1b[" + "1;" * 5000 + "\n\x1b[\n\x1b")
put("logs", "mixed-cr.log", "a\rb\r\n\r\r\n\x1b\n##[\n##vso[\n")

# ---- archive ----------------------------------------------------------------
def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, compress_type=method)
    return b.getvalue()


def tar_bytes(members, mode="w"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for name, data in members:
            if data is None:
                ti = tarfile.TarInfo(name)
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti = tarfile.TarInfo(name)
                ti.type = tarfile.SYMTYPE
                ti.linkname = data[0]
                t.addfile(ti)
            else:
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


text = b"password = hunter2-but-not-really\nline two\n"
put("archive", "zip", zip_bytes([("a.txt", text), ("dir/b.log", text * 3)]))
put("archive", "zip-stored", zip_bytes([("a.txt", text)], zipfile.ZIP_STORED))
put("archive", "tar", tar_bytes([("d", None), ("d/a.txt", text), ("d/link", ("a.txt",))]))
put("archive", "tgz", gzip.compress(tar_bytes([("a.txt", text), ("b.txt", b"")]), mtime=0))
put("archive", "gz", gzip.compress(text, mtime=0))
put("archive", "bz2", bz2.compress(text))
put("archive", "xz", lzma.compress(text))
put("archive", "gz-bomb", gzip.compress(b"\0" * (4 << 20), 9, mtime=0))
put("archive", "truncated-tgz", gzip.compress(tar_bytes([("a.txt", text * 50)]), mtime=0)[:300])
put("archive", "truncated-zip", zip_bytes([("a.txt", text * 20), ("b.txt", text)])[:200])
many = zip_bytes([("m%d.txt" % i, b"x") for i in range(40)], zipfile.ZIP_STORED)
put("archive", "many-members", many)
# nested 42.zip-style: a tgz of zips of gz bombs, three levels
inner = gzip.compress(b"A" * (1 << 20), 9, mtime=0)
mid = zip_bytes([("i%d.gz" % i, inner) for i in range(4)], zipfile.ZIP_STORED)
put("archive", "nested-bomb", gzip.compress(tar_bytes([("m%d.zip" % i, mid) for i in range(4)]), 9, mtime=0))
put("archive", "nested-3", zip_bytes([("l2.tgz", gzip.compress(tar_bytes([("l3.zip", zip_bytes([("l4.gz", gzip.compress(text, mtime=0))]))]), mtime=0))]))
put("archive", "not-archive", b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(64)))
put("archive", "ustar-only", b"\0" * 257 + b"ustar\x0000" + b"\0" * 250)

# ---- validators: byte 0 picks the validator, byte 1 where the secret starts --
V = ["azdo-legacy-crc32", "azure-cask", "azure-identifiable", "base62-crc32", "docker-auth",
     "entra-secret", "gcp-service-account", "jwt", "pem-base64", "pem-key",
     "age-bech32", "pypi-macaroon", "sentry-org-token",
     "keystore", "keystore-passwordless"]  # appended: indices stay


def vseed(name, label, window, at=0):
    put("validators", "%s-%s" % (name, label), bytes([V.index(name), at]) + (window.encode() if isinstance(window, str) else window))


b62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
def rand(alpha, n):
    return "".join(rng.choice(alpha) for _ in range(n))


vseed("base62-crc32", "token", "ghp_" + rand(b62, 36))
vseed("azdo-legacy-crc32", "token", rand("abcdefghijklmnopqrstuvwxyz234567", 52))
vseed("azure-cask", "token", rand(b62, 76) + "AZDO" + rand(b62, 4))
vseed("azure-identifiable", "storage", rand(b62, 76) + "+ASt" + rand(b62, 6) + "==")
vseed("azure-identifiable", "short", "+ASt" + "A" * 6)
vseed("entra-secret", "secret", rand(b62, 3) + "8Q~" + rand(b62, 34))
vseed("docker-auth", "auth", base64.b64encode(b"user:not-a-password").decode())
vseed("docker-auth", "nocolon", base64.b64encode(b"usernopassword").decode())
hdr = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
vseed("jwt", "none", hdr + ".e30.")
vseed("jwt", "nodot", "eyJ" + "A" * 40)
vseed("gcp-service-account", "doc", '"type": "service_account", "private_key_id": "%s", '
      '"private_key": "-----BEGIN PRIVATE KEY-----\\n%s\\n-----END PRIVATE KEY-----\\n"'
      % (rand("0123456789abcdef", 40), base64.b64encode(bytes(rng.randrange(256) for _ in range(120))).decode()))

# Credential containers: base64 headers for the text validators, raw bytes for
# fr_container_sniff (which sees every window): a JKS with one key entry and its
# digest, a KDBX 4 header, a PFX header whose lengths run past the input.
jks_body = (b"\xfe\xed\xfe\xed" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + (1).to_bytes(4, "big")
            + b"\x00\x01a" + bytes(8) + (16).to_bytes(4, "big") + bytes(range(16)) + (0).to_bytes(4, "big"))
jks_raw = jks_body + hashlib.sha1(b"Mighty Aphrodite" + jks_body).digest()
vseed("keystore", "jks-b64", base64.b64encode(jks_raw).decode())
vseed("keystore", "jks-raw", jks_raw)
vseed("keystore", "pfx-b64-cut", "MIIJzwIBAzCCCYUGCSqGSIb3DQEHAaCCCXYEgglyMIIJbjCCA/oGCSqGSIb3DQEHBqCCA+swggPnAgEAMIID4AYJKoZI")
vseed("keystore-passwordless", "kdbx-raw", bytes.fromhex("03d9a29a67fb4bb500000400") + b"\x02\x10\x00\x00\x00" + bytes(16) + b"\x00\x04\x00\x00\x00\r\n\r\n")
vseed("keystore-passwordless", "pfx-raw-cut", bytes.fromhex("308209cf020103308209850609 2a864886f70d010701a0820976".replace(" ", "")))


def der(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(nb)]) + nb
    return bytes([tag]) + ln + body


def oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.insert(0, 0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(enc)
    return der(0x06, out)


def integer(v):
    return der(0x02, v.to_bytes((v.bit_length() + 8) // 8, "big"))


def seq(*xs):
    return der(0x30, b"".join(xs))


# EncryptedPrivateKeyInfo with PBES2/PBKDF2 and an iteration count near 2^31:
# random ciphertext, so nothing is hidden in it; only deriving the key is slow.
pbkdf2 = seq(oid("1.2.840.113549.1.5.12"),
             seq(der(0x04, bytes(8)), integer(0x7FFFFFFF), seq(oid("1.2.840.113549.2.9"), der(0x05, b""))))
pbes2 = seq(oid("1.2.840.113549.1.5.13"),
            seq(pbkdf2, seq(oid("2.16.840.1.101.3.4.1.42"), der(0x04, bytes(16)))))
epki = seq(pbes2, der(0x04, bytes(rng.randrange(256) for _ in range(144))))
b64 = base64.b64encode(epki).decode()
body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
enc_pem = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n%s\n-----END ENCRYPTED PRIVATE KEY-----\n" % body
vseed("pem-key", "pkcs8-encrypted", enc_pem)
# text before the BEGIN line sends it down the generic PEM reader
vseed("pem-key", "pkcs8-encrypted-prefixed", "x\n" + enc_pem)
vseed("pem-base64", "pkcs8-encrypted", base64.b64encode(enc_pem.encode()).decode())
vseed("pem-base64", "pkcs8-encrypted-prefixed", base64.b64encode(("x\n" + enc_pem).encode()).decode())
vseed("pem-key", "rsa-junk", "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n"
      % base64.b64encode(bytes(rng.randrange(256) for _ in range(96))).decode())
vseed("pem-key", "legacy-encrypted", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
      "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
vseed("pem-key", "openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n"
      % base64.b64encode(b"openssh-key-v1\0" + b"\0\0\0\x04none" + b"\0\0\0\x04none" + b"\0\0\0\0"
                         + b"\0\0\0\x01" + b"\0\0\0\x03abc" + b"\0\0\0\x08" + b"\1\2\3\4\1\2\3\4").decode())
vseed("pem-key", "json-escaped", '"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"', at=1)
vseed("pem-base64", "empty", "")
vseed("age-bech32", "key", "AGE-SECRET-KEY-1" + rand("qpzry9x8gf2tvdw0s3jn54khce6mua7l".upper(), 58))
vseed("age-bech32", "lower", "age-secret-key-1" + rand("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58))
vseed("pypi-macaroon", "token", "pypi-" + base64.urlsafe_b64encode(
    b"\x02\x01\x08pypi.org\x02\x01" + bytes(rng.randrange(256) for _ in range(60))).decode().rstrip("="))
vseed("sentry-org-token", "token", "sntrys_" + base64.b64encode(
    b'{"iat":1,"url":"https://sentry.invalid","region_url":"https://r.invalid","org":"o"}').decode()
    + "_" + rand(b62, 43))
vseed("sentry-org-token", "nounderscore", "sntrys_" + "e30=")

# ---- engine: text a scan meets, decorated and near-miss ----------------------
put("engine", "config.env", "DB_HOST=localhost\nDB_PASSWORD=\"%s\"\napi_key: %s\n" % (rand(b62, 20), rand(b62, 32)))
put("engine", "tls-key-line.yaml", "apiVersion: v1\nkind: Secret\ndata:\n  tls.key: %s\n"
    % base64.b64encode(("x\n" + enc_pem).encode()).decode())
put("engine", "pem-encrypted.txt", enc_pem)
put("engine", "near-miss.txt", "ghp_" + "x" * 36 + "\nxoxb-123\nAKIA" + "A" * 15 + "\nsk_live_\n"
    "glpat-" + "a" * 19 + "\ngithub_pat_abc\n-----BEGIN PRIVATE KEY-----\n")
put("engine", "allow.txt", "token = \"%s\" # ferret:allow\npassword: %s\n" % (rand(b62, 30), rand(b62, 24)))
put("engine", "url-creds.txt", "git clone https://user:%s@example.com/repo.git\n"
    "postgres://admin:%s@db:5432/app\n" % (rand(b62, 16), rand(b62, 16)))
put("engine", "json.txt", '{"type": "service_account", "private_key_id": "%s", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}\n'
    % rand("0123456789abcdef", 40))
put("engine", "binaryish", bytes(rng.randrange(256) for _ in range(512)))
put("engine", "keywords-only.txt", "password secret token api_key auth bearer Authorization: Basic \n" * 8)

# ---- tree: the walk's tree parser -------------------------------------------
def tree_entry(mode, name, ident):
    return mode.encode() + b" " + name + b"\0" + ident


tid = bytes(range(20))
tree = (tree_entry("100644", b"a.txt", tid) + tree_entry("100755", b"run", tid[::-1])
        + tree_entry("160000", b"sub", tid) + tree_entry("100644", b"t.x", tid)
        + tree_entry("40000", b"t", tid) + tree_entry("120000", b"z", tid))
put("tree", "files-dir-submodule", tree)
put("tree", "empty", b"")
put("tree", "truncated-id", tree[:-5])
put("tree", "no-space", b"100644a.txt\0" + tid)
put("tree", "empty-name", b"100644 \0" + tid)
put("tree", "long-mode", b"1006440000 a\0" + tid)
put("tree", "nul-in-mode", b"10\x0044 a\0" + tid)
hexid = "0123456789abcdef" * 2 + "01234567"
put("tree", "commit-merge-signed", "tree %s\nparent %s\nparent %s\nauthor A U Thor <a@x> 1700000000 +0100\n"
    "committer C <c@x> 1700000001 -0000\ngpgsig -----BEGIN-----\n line\n -----END-----\n\nsubject\n\nbody\n"
    % (hexid, hexid, hexid))
put("tree", "commit-no-message", "tree %s\nauthor A <a> 1 +0000\ncommitter A <a> 2 +0000\n" % hexid)
put("tree", "commit-two-lt", "tree %s\nauthor A <a> <b> 1 +0000\ncommitter A <a> 2 +0000\n\nm" % hexid)
put("tree", "commit-no-zone", "tree %s\nauthor A <a> 1\ncommitter A <a> 2 +0000\n\nm" % hexid)
