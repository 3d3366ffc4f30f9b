#!/usr/bin/env python3
"""Recall/precision corpus for ferret's rule families: from a seed, format-valid
fake secrets of every family embedded in realistic files (.env, YAML CI
pipelines, shell, Terraform, Python, JSON, kubeconfig and manifests, key files,
CI logs) and decoys of every kind the rules must not report (documentation and
emulator keys, placeholders, template references, masked values, dictionary
words, lockfile integrity hashes, commit ids, UUIDs, base64 images, public keys
and certificates, malformed tokens).

Writes OUT/tree/... and OUT/expected.json: for every planted secret its family,
file and line (the line of the secret's first byte); decoys are everything else.

  corpus/gen-families.py OUT [--seed N] [--per-kind K]
"""
import argparse
import base64
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes as F  # noqa: E402

# ---- where a secret can live: containers that render NAME + value as lines ----


def c_env(name, value):
    return [f"{name}={value}"], 0


def c_shell(name, value):
    return ["#!/bin/sh", "set -eu", f"export {name}=\"{value}\"", "./deploy.sh \"$@\""], 2


def c_actions(name, value):
    return ["name: deploy", "on: [push]", "jobs:", "  deploy:", "    runs-on: ubuntu-latest",
            "    env:", f"      {name}: {value}", "    steps:", "      - uses: actions/checkout@v4",
            "      - run: make deploy"], 6


def c_azure_pipeline(name, value):
    return ["trigger:", "  - main", "pool:", "  vmImage: ubuntu-latest", "variables:",
            f"  {name}: '{value}'", "steps:", "  - script: make release"], 5


def c_terraform(name, value):
    return ["provider \"azurerm\" {", "  features {}", "}", "", "locals {",
            f"  {name.lower()} = \"{value}\"", "}"], 5


def c_python(name, value):
    return ["import os", "", "# TODO: move to the vault", f"{name} = \"{value}\"", "",
            "def connect():", f"    return Client(key={name})"], 3


def c_json(name, value):
    return ["{", "  \"service\": \"orders\",", f"  \"{name}\": \"{value}\",", "  \"retries\": 3", "}"], 2


def c_log(name, value):
    return ["2026-03-01T10:00:00.0000000Z ##[group]Run ./deploy.sh",
            f"2026-03-01T10:00:01.1234567Z + export {name}={value}",
            "2026-03-01T10:00:02.0000000Z deploying orders to production"], 1


NAMED = [c_env, c_shell, c_actions, c_azure_pipeline, c_terraform, c_python, c_json, c_log]
EXT = {c_env: ".env", c_shell: ".sh", c_actions: ".yml", c_azure_pipeline: ".yml",
       c_terraform: ".tf", c_python: ".py", c_json: ".json", c_log: ".log"}

# ---- secret kinds: family, generator of (lines, secret line) -------------------


def named(names, gen):
    def make(rng):
        c = rng.choice(NAMED)
        return c(rng.choice(names), gen(rng)) + (EXT[c],)
    return make


def raw_line(fmt, gen, ext=".txt"):
    def make(rng):
        return [fmt.format(gen(rng))], 0, ext
    return make


def pem_file(kind):
    def make(rng):
        key = F.pem_key(kind) if kind in ("ec", "rsa", "pkcs8", "pkcs8-encrypted") else \
            F.openssh_key("" if kind == "openssh" else "correct horse")
        if rng.random() < 0.5:
            return key.split("\n"), 0, ".pem"
        # a YAML block scalar, as in CI variables and Helm values
        lines = ["deploy:", "  host: build.internal", "  ssh_key: |"] + ["    " + l for l in key.split("\n")]
        return lines, 3, ".yml"
    return make


def putty(rng):
    pub = base64.b64encode(F.rbytes(rng, 51)).decode()
    priv = base64.b64encode(F.rbytes(rng, 48)).decode()
    lines = ["PuTTY-User-Key-File-3: ssh-ed25519", "Encryption: none", "Comment: deploy@ci",
             "Public-Lines: 2", pub[:64], pub[64:], "Private-Lines: 1", priv,
             "Private-MAC: " + F.rand(rng, "0123456789abcdef", 64)]
    return lines, 0, ".ppk"


def pgp(rng):
    body = base64.b64encode(F.rbytes(rng, 240)).decode()
    lines = ["-----BEGIN PGP PRIVATE KEY BLOCK-----", ""] + [body[i:i + 64] for i in range(0, len(body), 64)] + \
        ["=" + F.rand(rng, F.B64, 4), "-----END PGP PRIVATE KEY BLOCK-----"]
    return lines, 0, ".asc"


def pem_b64(rng):
    key = F.pem_key("ec") + "\n"
    b = base64.b64encode(key.encode()).decode()
    return ["apiVersion: v1", "kind: Secret", "metadata:", "  name: tls", "type: kubernetes.io/tls",
            "data:", f"  tls.key: {b}"], 6, ".yaml"


def gcp(rng):
    doc = F.gcp_service_account(rng, rng.choice(["ci-prod", "billing-etl", "ml-train"]))
    lines = doc.split("\n")
    return lines, next(i for i, l in enumerate(lines) if "\"private_key\"" in l), ".json"


def docker_auths(rng):
    reg = rng.choice(["ghcr.io", "registry.example.com", "contoso.azurecr.io"])
    return ["{", "  \"auths\": {", f"    \"{reg}\": {{", f"      \"auth\": \"{F.docker_auth(rng)}\"",
            "    }", "  }", "}"], 3, ".json"


def docker_login(rng):
    pw = F.password(rng, 20)
    return [f"docker login {rng.choice(['ghcr.io', 'registry.example.com'])} -u ci -p {pw}",
            "docker push $IMAGE"], 0, ".sh"


def kubeconfig(rng):
    tok = F.rand(rng, F.ALNUM, 32)
    return ["apiVersion: v1", "kind: Config", "clusters:", "- name: prod", "  cluster:",
            "    server: https://k8s.internal:6443", "users:", "- name: ci", "  user:",
            f"    token: {tok}", "contexts: []"], 9, ".kubeconfig"


def k8s_secret(rng):
    pw = base64.b64encode(F.password(rng, 20).encode()).decode()
    if rng.random() < 0.5:
        return ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db", "type: Opaque", "data:",
                "  username: YXBw", f"  password: {pw}"], 7, ".yaml"
    return ["apiVersion: v1", "data:", f"  api-token: {pw}", "kind: Secret", "metadata:",
            "  name: api"], 2, ".yaml"


def aws_pair(rng):
    kid, sec = F.aws_pair(rng)
    lines = ["[default]", f"aws_access_key_id = {kid}", f"aws_secret_access_key = {sec}", "region = eu-west-1"]
    return lines, (1, 2), ".ini"


def db_url(rng):
    pw = F.password(rng, 16).replace("#", "x").replace("%", "y")
    return [f"DATABASE_URL=postgres://orders:{pw}@db.internal:5432/orders"], 0, ".env"


def entra_legacy(rng):
    v = F.entra_secret_legacy(rng)
    c = rng.choice([c_env, c_shell, c_actions, c_json])
    return c("ARM_CLIENT_SECRET", v) + (EXT[c],)


def storage_plain(rng):
    acct = F.rand(rng, "abcdefghijklmnopqrstuvwxyz", 10)
    cs = f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={F.storage_key_plain(rng)};EndpointSuffix=core.windows.net"
    c = rng.choice([c_env, c_json, c_python, c_azure_pipeline])
    return c("STORAGE_CONNECTION_STRING", cs) + (EXT[c],)


def messaging_cs(rng):
    key = base64.b64encode(F.rbytes(rng, 32)).decode()
    cs = f"Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}"
    c = rng.choice([c_env, c_json, c_python])
    return c("SERVICEBUS_CONNECTION", cs) + (EXT[c],)


def cosmos_cs(rng):
    cs = f"AccountEndpoint=https://orders.documents.azure.com:443/;AccountKey={F.storage_key_plain(rng)};"
    c = rng.choice([c_env, c_json])
    return c("COSMOS_CONNECTION", cs) + (EXT[c],)


KINDS = {  # kind: (family, generator)
    "github-pat": ("github", lambda r: named(["GITHUB_TOKEN", "GH_TOKEN", "token"],
                                            lambda r2: F.github(r2, r2.choice(["ghp", "gho", "ghu", "ghs", "ghr"])))(r)),
    "github-fine-grained": ("github", named(["GITHUB_PAT", "gh_token"], F.github_fine_grained)),
    "gitlab": ("gitlab", named(["GITLAB_TOKEN", "CI_PUSH_TOKEN"], lambda r: F.gitlab(r, r.choice(["glpat", "gldt", "glrt"])))),
    "azdo-pat": ("azure-devops", named(["AZURE_DEVOPS_EXT_PAT", "ADO_TOKEN", "pat"], F.azdo_pat)),
    "azdo-legacy": ("azure-devops", lambda r: rng_choice_container(r, [c_env, c_shell, c_json], "AZURE_DEVOPS_EXT_PAT", F.azdo_legacy(r))),
    "pem-ec": ("private-keys", pem_file("ec")),
    "pem-rsa": ("private-keys", pem_file("rsa")),
    "pem-pkcs8": ("private-keys", pem_file("pkcs8")),
    "pem-openssh": ("private-keys", pem_file("openssh")),
    "pem-pkcs8-encrypted": ("private-keys", pem_file("pkcs8-encrypted")),
    "pem-openssh-encrypted": ("private-keys", pem_file("openssh-encrypted")),
    "putty": ("private-keys", putty),
    "pgp": ("private-keys", pgp),
    "pem-base64": ("private-keys", pem_b64),
    "azure-sas": ("azure", named(["SAS_URL", "artifact_url", "BLOB_SAS"], F.sas)),
    "azure-storage-plain": ("azure", storage_plain),
    "azure-storage-identifiable": ("azure", named(["STORAGE_KEY", "key"], lambda r: F.identifiable(r, "+ASt"))),
    "azure-servicebus": ("azure", named(["SERVICEBUS_KEY", "sb_key"], lambda r: F.identifiable(r, "+ASb"))),
    "azure-eventhubs": ("azure", named(["EVENTHUB_KEY"], lambda r: F.identifiable(r, "+AEh"))),
    "azure-messaging-cs": ("azure", messaging_cs),
    "azure-cosmos": ("azure", named(["COSMOS_KEY"], lambda r: F.identifiable(r, "ACDb"))),
    "azure-cosmos-cs": ("azure", cosmos_cs),
    "azure-functions": ("azure", named(["FUNCTION_KEY"], lambda r: F.identifiable(r, "AzFu"))),
    "azure-apim": ("azure", named(["APIM_SUBSCRIPTION_KEY"], lambda r: F.identifiable(r, "APIM"))),
    "azure-acr": ("azure", named(["ACR_PASSWORD"], lambda r: F.identifiable(r, "+ACR"))),
    "azure-cask": ("azure", named(["AZURE_OPENAI_API_KEY", "SPEECH_KEY"], F.cask_key)),
    "entra-secret": ("azure", named(["AZURE_CLIENT_SECRET", "client_secret"], F.entra_secret)),
    "entra-secret-7q": ("azure", named(["AZURE_CLIENT_SECRET"], F.entra_secret_v7)),
    "entra-legacy": ("azure", entra_legacy),
    "aws": ("aws", aws_pair),
    "gcp": ("gcp", gcp),
    "slack": ("chat-payments", named(["SLACK_BOT_TOKEN"], F.slack)),
    "stripe": ("chat-payments", named(["STRIPE_KEY"], F.stripe)),
    "npm": ("packages", raw_line("//registry.npmjs.org/:_authToken={}", F.npm, ".npmrc")),
    "pypi": ("packages", named(["TWINE_PASSWORD", "PYPI_TOKEN"], F.pypi)),
    "docker-auths": ("containers", docker_auths),
    "docker-login": ("containers", docker_login),
    "kubeconfig": ("containers", kubeconfig),
    "k8s-secret": ("containers", k8s_secret),
    "database-url": ("web", db_url),
    "jwt": ("web", named(["ID_TOKEN", "jwt"], F.jwt)),
    "generic": ("generic", named(["DB_PASSWORD", "SMTP_PASSWORD", "api_key", "SERVICE_TOKEN"], F.password)),
}


def rng_choice_container(rng, cs, name, value):
    c = rng.choice(cs)
    return c(name, value) + (EXT[c],)


# ---- decoys: every line here must produce no finding ---------------------------

def decoys(rng):
    sha = F.rand(rng, "0123456789abcdef", 40)
    img = base64.b64encode(F.rbytes(rng, 90)).decode()
    integ = base64.b64encode(hashlib.sha512(F.rbytes(rng, 8)).digest()).decode()
    uuid = "-".join(F.rand(rng, "0123456789abcdef", n) for n in (8, 4, 4, 4, 12))
    return {
        "aws-docs.ini": ["[default]", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
                         "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        "emulators.env": [
            "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "COSMOS=AccountEndpoint=https://localhost:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="],
        "runs.env": ["GITHUB_TOKEN=ghp_" + "a" * 36, "DB_PASSWORD=aaaaaaaaaaaaaaaa", "SLACK_BOT_TOKEN=xoxb-000000000000-0000000000000-" + "0" * 24],
        "templates.yml": ["env:", "  GITHUB_TOKEN: <YOUR_TOKEN>", "  API_KEY: \"<your-api-key>\"",
                          "  AZURE_CLIENT_SECRET: ${{ secrets.AZURE_CLIENT_SECRET }}",
                          "  DB_PASSWORD: ${DB_PASSWORD}", "  NPM_TOKEN: $(NPM_TOKEN)",
                          "  STORAGE_KEY: \"{{ .Values.storageKey }}\"",
                          "  SAS_URL: https://a.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=$(SAS_SIG)"],
        "masked.log": ["2026-03-01T10:00:01Z + export GITHUB_TOKEN=***", "2026-03-01T10:00:01Z password: '********'",
                       "2026-03-01T10:00:02Z AZURE_DEVOPS_EXT_PAT=***"],
        "words.py": ["password = \"changeme\"", "DB_PASSWORD = \"password123\"", "api_key = \"your_api_key_here\"",
                     "secret = \"example-secret-value\"", "token = \"dummy-token-for-tests\"",
                     "client_secret = \"placeholder\"", "SERVICE_TOKEN = \"REPLACE_ME_WITH_TOKEN\""],
        "package-lock.json": ["{", "  \"packages\": {", "    \"node_modules/left-pad\": {",
                              "      \"version\": \"1.3.0\",",
                              f"      \"integrity\": \"sha512-{integ}\",",
                              f"      \"resolved_token\": \"sha512-{integ}\"", "    }", "  }", "}"],
        "commits.py": [f"release_token_commit = \"{sha}\"", f"SECRET_SHA256 = \"{hashlib.sha256(sha.encode()).hexdigest()}\"",
                       f"GIT_TOKEN_REV={sha}"],
        "uuids.json": ["{", f"  \"client_secret_id\": \"{uuid}\",", f"  \"api_key\": \"{uuid}\",",
                       f"  \"token\": \"{{{uuid.upper()}}}\"", "}"],
        "images.html": [f"<img alt=\"token\" src=\"data:image/png;base64,{img}\">",
                        f"icon_token = \"data:image/png;base64,{img}\""],
        "public.pem": ["-----BEGIN PUBLIC KEY-----", "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
                       "-----END PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----",
                       base64.b64encode(F.rbytes(rng, 48)).decode(), "-----END CERTIFICATE-----",
                       "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtdhucZ45VPaDyZD7Q7baPXHxl18FUZPoOXQvMzZ36M ci@example"],
        "malformed.md": ["GitHub tokens look like ghp_" + F.rand(rng, F.ALNUM, 20) + "... (40 characters).",
                         "A GitLab token starts glpat-, an Entra secret has " + F.rand(rng, F.ALNUM, 3) + "8Q~ at offset 3.",
                         "Use STRIPE_KEY=sk_test_<your-test-key> in development (test keys are reported, at low severity).",
                         "legacy: " + F.rand(rng, "abcdefghijklmnopqrstuvwxyz234567", 52) + " (no context: not a PAT)"],
        "code.py": ["def login(password: str, token: str) -> None:", "    password = getpass.getpass(\"Password: \")",
                    "    token = os.environ[\"SERVICE_TOKEN\"]", "    secret = vault.read(\"kv/orders\")[\"secret\"]",
                    "    api_key = settings.API_KEY", "    headers = {\"Authorization\": f\"Bearer {token}\"}"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--per-kind", type=int, default=8)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tree = os.path.join(a.out, "tree")
    expected = []
    for kind, (family, gen) in sorted(KINDS.items()):
        d = os.path.join(tree, family, kind)
        os.makedirs(d, exist_ok=True)
        for i in range(a.per_kind):
            lines, at, ext = gen(rng)
            pad = ["# generated by corpus/gen-families.py"] if ext in (".py", ".sh", ".env", ".yml", ".yaml", ".tf") and not lines[0].startswith("#!") else []
            lines = pad + lines
            rel = os.path.join(family, kind, f"{kind}-{i}{ext}")
            with open(os.path.join(tree, rel), "w") as f:
                f.write("\n".join(lines) + "\n")
            for ln in (at if isinstance(at, tuple) else (at,)):
                expected.append({"family": family, "kind": kind, "path": rel, "line": ln + len(pad) + 1})
    F.write_decoys_and_expected(tree, a.out, decoys(rng), expected)
    print(f"{len(expected)} planted secrets in {len(KINDS)} kinds, {len(decoys(random.Random(0)))} decoy files",
          file=sys.stderr)


if __name__ == "__main__":
    main()
