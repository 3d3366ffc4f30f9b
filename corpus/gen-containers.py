#!/usr/bin/env python3
"""Recall/precision corpus for the credential containers and the path rules:

- keystores: PKCS#12 made by openssl (with a password, password-less with a
  MAC, password-less without MAC or encryption), JKS and JCEKS keystores and
  KeePass KDBX 3 / 4 and KDB 1.x headers written here, under names that say
  nothing (found by content), inside zip archives, and base64 in a Kubernetes
  Secret; decoys: a DER certificate, a PKCS#7 bundle, a certificate-only
  PKCS#12, a JKS truststore, a keystore cut short, random bytes, a PNG.
- pipeline-variables: secret-named variables with literal values in GitHub
  Actions env: (workflow, job, step) and with:, GitLab CI variables: (plain and
  value: forms) and Azure Pipelines variables: (mapping form); decoys:
  expressions, secret references, booleans, numbers, URLs, placeholders, and
  short literals in files that are no pipeline definition.
- rails-master-key: 32 hex characters in config/master.key and
  config/credentials/*.key; decoys: the same shape in other files.

Writes OUT/tree/... and OUT/expected.json (see gen-configs.py for the format).
Needs the openssl command.

  corpus/gen-containers.py OUT [--seed N] [--per-kind K]
"""
import argparse
import base64
import hashlib
import io
import os
import random
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes as F  # noqa: E402


class Keys:
    """One EC key and certificate per corpus (openssl), and the PKCS#12 files
    made from them."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.key, self.crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", self.key])
        run(["openssl", "req", "-x509", "-key", self.key, "-out", self.crt, "-days", "2", "-subj", "/CN=corpus"])
        self.der = run(["openssl", "x509", "-in", self.crt, "-outform", "DER"])
        self.p7 = run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", self.crt, "-outform", "DER"])

    def p12(self, password, *extra):
        out = os.path.join(self.tmp, "x.p12")
        run(["openssl", "pkcs12", "-export", "-in", self.crt, "-inkey", self.key, "-passout", "pass:" + password,
             "-out", out, *extra])
        return open(out, "rb").read()


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def utf(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def jks(rng, der, password, jceks=False, keys=1, certs=0, secret=False):
    """A JKS / JCEKS keystore: key entries (a protected key blob and a chain of
    one certificate), trusted certificates, a JCEKS secret key (a serialized
    object), then the SHA-1 integrity digest keyed with the password."""
    entries = b""
    n = 0
    for i in range(keys):
        blob = F.rbytes(rng, rng.randint(60, 200))
        entries += struct.pack(">I", 1) + utf("key%d" % i) + struct.pack(">Q", 1700000000000 + i)
        entries += struct.pack(">I", len(blob)) + blob + struct.pack(">I", 1) + utf("X.509")
        entries += struct.pack(">I", len(der)) + der
        n += 1
    for i in range(certs):
        entries += struct.pack(">I", 2) + utf("ca%d" % i) + struct.pack(">Q", 1700000000000)
        entries += utf("X.509") + struct.pack(">I", len(der)) + der
        n += 1
    if secret:
        entries += struct.pack(">I", 3) + utf("aes") + struct.pack(">Q", 1700000000000)
        entries += b"\xac\xed\x00\x05sr\x003com.sun.crypto.provider.SealedObjectForKeyProtector" + F.rbytes(rng, 80)
        n += 1
    data = (b"\xce\xce\xce\xce" if jceks else b"\xfe\xed\xfe\xed") + struct.pack(">II", 2, n) + entries
    return data + hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + data).digest()


def kdbx(rng, major):
    wide = major >= 4
    h = bytes.fromhex("03d9a29a67fb4bb5") + struct.pack("<I", (major << 16) | (0 if major >= 4 else 1))
    for fid, n in ((2, 16), (3, 4), (4, 32), (7, 16), (0, 4)):
        h += bytes([fid]) + struct.pack("<I" if wide else "<H", n) + F.rbytes(rng, n)
    return h + F.rbytes(rng, rng.randint(200, 900))


def kdb1(rng):
    h = bytes.fromhex("03d9a29a65fb4bb5") + struct.pack("<II", 3, 0x00030004) + F.rbytes(rng, 32)
    return h + struct.pack("<II", rng.randint(1, 9), rng.randint(1, 90)) + F.rbytes(rng, 72 + rng.randint(100, 600))


NAMES = ["payload.bin", "data/blob.dat", "deploy/identity", "certs/app.pfx", "release/signing.jks", "build/store",
         "secure-files/cert.p12", "vault.kdbx", "backup/passwords.kdb", "src/main/resources/keystore"]


def password(rng):
    return F.rand(rng, F.ALNUM, rng.randint(10, 20))


def keystore_kinds(keys):
    """kind -> (family, maker(rng) -> (bytes, rule))."""
    return {
        "pkcs12": lambda rng: (keys.p12(password(rng)), "keystore.pkcs12"),
        "pkcs12-nopass": lambda rng: (keys.p12(""), "keystore.pkcs12-passwordless"),
        "pkcs12-plain": lambda rng: (keys.p12("", "-nomac", "-keypbe", "NONE", "-certpbe", "NONE"),
                                     "keystore.pkcs12-passwordless"),
        "jks": lambda rng: (jks(rng, keys.der, password(rng), keys=rng.randint(1, 2), certs=rng.randint(0, 2)),
                            "keystore.jks"),
        "jceks": lambda rng: (jks(rng, keys.der, password(rng), jceks=True, keys=rng.randint(0, 1), secret=True),
                              "keystore.jceks"),
        "kdbx4": lambda rng: (kdbx(rng, 4), "keystore.kdbx"),
        "kdbx3": lambda rng: (kdbx(rng, 3), "keystore.kdbx"),
        "kdb1": lambda rng: (kdb1(rng), "keystore.kdbx"),
    }


def plant_keystore(rng, tree, rel_dir, data, rule, expected, kind):
    """One container in one of three layouts: a file, a zip member, base64 in a
    Kubernetes Secret (text rules; the whole file, so password-less is seen)."""
    layout = rng.choice(["file", "file", "zip", "secret"])
    d = os.path.join(tree, rel_dir)
    os.makedirs(d, exist_ok=True)
    name = rng.choice(NAMES).replace("/", "-")
    if layout == "file":
        open(os.path.join(d, name), "wb").write(data)
        path, line = os.path.join(rel_dir, name), 1
    elif layout == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("README.txt", "release files\n")
            z.writestr("conf/" + name, data)
        open(os.path.join(d, "release.zip"), "wb").write(buf.getvalue())
        path, line = os.path.join(rel_dir, "release.zip") + "!conf/" + name, 1
    else:
        lines = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: app-tls", "type: Opaque", "data:",
                 "  %s: %s" % (name.replace("-", "."), base64.b64encode(data).decode())]
        open(os.path.join(d, "secret.yaml"), "w").write("\n".join(lines) + "\n")
        path, line = os.path.join(rel_dir, "secret.yaml"), 7
    expected.append({"family": "keystores", "kind": kind, "path": path, "line": line, "rules": [rule]})


PIPE_RULES = ["ci.variable-literal", "generic.secret-assignment", "config.password-assignment"]
PIPE_NAMES = ["DEPLOY_TOKEN", "NPM_SECRET", "storageKey", "REGISTRY_PASSWORD", "API_KEY", "slackWebhookSecret",
              "CLIENT_CREDENTIALS", "SONAR_TOKEN", "adminPassword", "signingKey"]


def literal(rng):
    while True:
        v = F.rand(rng, F.ALNUM, rng.randint(6, 28))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v if rng.random() < 0.7 else v[:3] + rng.choice("-_.!") + v[3:]


def q(rng, v):
    return rng.choice(["%s", "\"%s\"", "'%s'"]) % v


def pipeline_kinds():
    """kind -> maker(rng) -> (path, lines, needle)."""
    def gh(level):
        def make(rng):
            n, v = rng.choice(PIPE_NAMES), literal(rng)
            decoy = ["      API_KEY: ${{ secrets.API_KEY }}", "      GH_TOKEN: ${{ github.token }}",
                     "      CACHE: true", "      RETRIES: 3"]
            head = ["name: ci", "on: [push, pull_request]", "permissions:", "  contents: read", "  id-token: write"]
            if level == "workflow":
                lines = head + ["env:", "  %s: %s" % (n, q(rng, v)), "  NODE_ENV: production", "jobs:", "  build:",
                                "    runs-on: ubuntu-latest", "    steps:", "      - run: make"]
            elif level == "job":
                lines = head + ["jobs:", "  build:", "    runs-on: ubuntu-latest", "    env:",
                                "      %s: %s" % (n, q(rng, v))] + decoy + ["    steps:", "      - run: make"]
            elif level == "step":
                lines = head + ["jobs:", "  deploy:", "    runs-on: ubuntu-latest", "    steps:",
                                "      - uses: actions/checkout@v4", "      - run: ./deploy.sh", "        env:",
                                "          %s: %s" % (n, q(rng, v)),
                                "          AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET }}"]
            else:  # with: inputs of an action
                n = rng.choice(["password", "api-token", "client_secret", "registry-password"])
                lines = head + ["jobs:", "  push:", "    runs-on: ubuntu-latest", "    steps:",
                                "      - uses: docker/login-action@v3", "        with:",
                                "          username: deploy", "          %s: %s" % (n, q(rng, v))]
            return ".github/workflows/%s.yml" % rng.choice(["ci", "deploy", "release"]), lines, v
        return make

    def gitlab(value_form):
        def make(rng):
            n, v = rng.choice(PIPE_NAMES), literal(rng)
            var = (["  %s:" % n, "    value: \"%s\"" % v, "    description: \"used by deploy\""] if value_form
                   else ["  %s: %s" % (n, q(rng, v))])
            lines = ["stages: [build, deploy]", "variables:", "  DOCKER_DRIVER: overlay2"] + var + \
                ["  API_SECRET: $CI_JOB_TOKEN", "deploy:", "  stage: deploy", "  script: ./deploy.sh"]
            return rng.choice([".gitlab-ci.yml", "ci/deploy.gitlab-ci.yml"]), lines, v
        return make

    def azure(rng):
        n, v = rng.choice(PIPE_NAMES), literal(rng)
        lines = ["trigger: [main]", "variables:", "  buildConfiguration: Release", "  %s: %s" % (n, q(rng, v)),
                 "  sqlPassword: $(SqlPasswordFromKv)", "pool:", "  vmImage: ubuntu-latest"]
        return rng.choice(["azure-pipelines.yml", ".azure-pipelines/deploy.yml"]), lines, v

    return {"gh-env-workflow": gh("workflow"), "gh-env-job": gh("job"), "gh-env-step": gh("step"),
            "gh-with": gh("with"), "gitlab-variables": gitlab(False), "gitlab-value": gitlab(True),
            "azure-variables": azure}


def master_key(rng, tree, rel_dir, kind, expected):
    k = "%032x" % rng.getrandbits(128)
    sub = rng.choice(["", "apps/web/", "services/api/"])
    name = "config/master.key" if kind == "master-key" else \
        "config/credentials/%s.key" % rng.choice(["production", "staging", "development"])
    path = os.path.join(rel_dir, sub + name)
    os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
    open(os.path.join(tree, path), "w").write(k + rng.choice(["", "\n"]))
    expected.append({"family": "rails-master-key", "kind": kind, "path": path, "line": 1,
                     "rules": ["rails.master-key"]})


def decoys(rng, keys, tree):
    """Text decoys go through write_decoys_and_expected; binary ones are written here."""
    d = os.path.join(tree, "decoys")
    os.makedirs(d, exist_ok=True)
    pw = password(rng)
    binary = {
        "cert.der": keys.der, "chain.p7b": keys.p7,
        "bundle.p12": keys.p12("", "-nokeys"), "bundle-pw.p12": keys.p12(pw, "-nokeys"),
        "truststore.jks": jks(rng, keys.der, pw, keys=0, certs=2),
        "cut.jks": jks(rng, keys.der, pw)[:150], "random.bin": b"\x30\x82" + F.rbytes(rng, 4000),
        "image.png": b"\x89PNG\r\n\x1a\n" + F.rbytes(rng, 600), "magic.kdbx": bytes.fromhex("03d9a29a67fb4bb5") + b"\x00" * 8,
    }
    for name, data in binary.items():
        open(os.path.join(d, name), "wb").write(data)
    h = "%032x" % rng.getrandbits(128)
    return {
        "checksum.md5": [h],
        "master.key.example": [h],
        "notes.md": ["KeePass files start with 03 D9 A2 9A 67 FB 4B B5; JKS with FEEDFEED.",
                     "The Rails master key lives in config/master.key (never commit it)."],
        "ci-example.yml": ["env:", "  NPM_SECRET: ab3-x9", "  storageKey: Qx7-k2"],
        "workflow-refs.yml": ["env:", "  API_KEY: ${{ secrets.API_KEY }}", "  DEPLOY_TOKEN: $(DeployToken)"],
    }


def pipeline_decoy_files(tree):
    """Pipeline definitions holding only references, expressions and stand-ins."""
    files = {
        ".github/workflows/refs.yml": [
            "name: refs", "on: push", "env:", "  API_KEY: ${{ secrets.API_KEY }}", "  GH_TOKEN: \"${{github.token}}\"",
            "  REGISTRY_TOKEN: true", "  TOKEN_TTL_SECRET: 3600", "  AUTH_TOKEN: https://login.example.org/oauth/token",
            "  DB_PASSWORD: changeme", "  CLIENT_SECRET: <your-client-secret>", "  SIGNING_KEY: ${SIGNING_KEY}",
            "  CACHE_KEY: deps-v1-2024", "  publicKey: pk-test-4f8a", "jobs:", "  b:", "    runs-on: ubuntu-latest",
            "    steps:", "      - uses: docker/login-action@v3", "        with:",
            "          password: ${{ secrets.REGISTRY_PASSWORD }}", "          secret-key: __SECRET_KEY__"],
        ".gitlab-ci.yml": ["variables:", "  API_SECRET: $CI_JOB_TOKEN", "  DEPLOY_TOKEN:",
                           "    value: \"$DEPLOY_TOKEN_FROM_VAULT\"", "  REGISTRY_PASSWORD: \"\""],
        "azure-pipelines.yml": ["variables:", "  - group: prod-secrets", "  sqlPassword: $(SqlPasswordFromKv)",
                                "  storageKey: $[variables.key]", "  useCache: true"],
    }
    for rel, lines in files.items():
        p = os.path.join(tree, "decoys", "pipelines", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--per-kind", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tree = os.path.join(a.out, "tree")
    os.makedirs(tree, exist_ok=True)
    expected = []
    with tempfile.TemporaryDirectory() as tmp:
        keys = Keys(tmp)
        for kind, make in sorted(keystore_kinds(keys).items()):
            for i in range(a.per_kind):
                data, rule = make(rng)
                plant_keystore(rng, tree, os.path.join("keystores", kind, str(i)), data, rule, expected, kind)
        for kind, make in sorted(pipeline_kinds().items()):
            for i in range(a.per_kind):
                rel, lines, needle = make(rng)
                path = os.path.join("pipeline-variables", kind, str(i), rel)
                os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
                open(os.path.join(tree, path), "w").write("\n".join(lines) + "\n")
                at = next(n for n, l in enumerate(lines) if needle in l)
                expected.append({"family": "pipeline-variables", "kind": kind, "path": path, "line": at + 1,
                                 "rules": PIPE_RULES})
        for kind in ("master-key", "credentials-key"):
            for i in range(a.per_kind):
                master_key(rng, tree, os.path.join("rails-master-key", kind, str(i)), kind, expected)
        text_decoys = decoys(rng, keys, tree)
        pipeline_decoy_files(tree)
    F.write_decoys_and_expected(tree, a.out, text_decoys, expected)
    print(f"{len(expected)} planted secrets", file=sys.stderr)


if __name__ == "__main__":
    main()
