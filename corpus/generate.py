#!/usr/bin/env python3
"""Builds ferret's bundled demo corpus: a small DevOps-flavoured tree (configs,
pipelines, scripts, code), a git repository whose history holds a deleted
secret, and a CI log archive, with planted fake credentials and decoys that
must not be reported. Deterministic for a seed. Writes OUT/tree and OUT/expected.json
(rule id and sha256 of every planted secret).

  corpus/generate.py [OUT] [--seed N] [--scale K]
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import fakesecrets as fs  # noqa: E402

FILLER = [
    "import os\nimport sys\n\ndef main(argv):\n    cfg = load_config(argv[1])\n    return run(cfg)\n",
    "resource \"azurerm_resource_group\" \"rg\" {\n  name     = \"rg-ferret-demo\"\n  location = \"westeurope\"\n}\n",
    "steps:\n  - uses: actions/checkout@v4\n  - run: make test\n    env:\n      CI: true\n",
    "server:\n  port: 8080\n  threads: 16\nlogging:\n  level: info\n",
    "#!/bin/sh\nset -eu\nfor f in *.log; do gzip -9 \"$f\"; done\n",
    "{\n  \"name\": \"demo\",\n  \"version\": \"1.2.3\",\n  \"private\": true\n}\n",
]

DECOYS = [
    "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}\n",
    "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
    "export GH_TOKEN=$(cat /run/secrets/gh_token)\n",
    "sas_url: https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=<signature>\n",
    "# -----BEGIN RSA PRIVATE KEY----- is checked by the parser below\n",
    "password: '********'\n",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--scale", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tree = os.path.join(a.out, "tree")
    expected = []
    files = 0
    for svc in range(6 * a.scale):
        base = os.path.join(tree, f"service-{svc:02d}")
        for sub in ("src", "deploy", ".github/workflows"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        for i in range(5):
            name = os.path.join(base, "src", f"module_{i}.py")
            with open(name, "w") as f:
                for _ in range(rng.randint(20, 60)):
                    f.write(rng.choice(FILLER))
                f.write(rng.choice(DECOYS))
            files += 1
        kind = svc % 3
        if kind == 0:
            tok = fs.github(rng)
            with open(os.path.join(base, "deploy", ".env"), "w") as f:
                f.write(f"APP_ENV=production\nGITHUB_TOKEN={tok}\nLOG_LEVEL=info\n")
            expected.append({"rule": "github.pat", "secret": tok})
        elif kind == 1:
            url = fs.sas(rng)
            with open(os.path.join(base, ".github/workflows", "upload.yml"), "w") as f:
                f.write("jobs:\n  upload:\n    runs-on: ubuntu-latest\n    steps:\n"
                        f"      - run: curl -T build.zip '{url}'\n")
            expected.append({"rule": "azure.sas-token", "secret": fs.sas_signature(url)})
        else:
            key = fs.pem(rng)
            with open(os.path.join(base, "deploy", "id_rsa"), "w") as f:
                f.write(key + "\n")
            expected.append({"rule": "pem.private-key", "secret": key})
        files += 1
    # a repository whose history holds a secret its last commit deleted
    repo = os.path.join(tree, "payments-api")
    env = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    def git(*args, when=None):
        e = dict(env)
        if when:
            e["GIT_AUTHOR_DATE"] = e["GIT_COMMITTER_DATE"] = when
        subprocess.run(["git", "-C", repo] + list(args), check=True, env=e,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(repo)
    git("init", "-q", "-b", "main")
    with open(os.path.join(repo, "README.md"), "w") as f:
        f.write("# payments-api\n")
    git("add", ".")
    git("commit", "-q", "-m", "initial", when="2026-01-05T09:00:00Z")
    tok = fs.github(rng)
    with open(os.path.join(repo, "deploy.sh"), "w") as f:
        f.write(f"#!/bin/sh\ncurl -H 'Authorization: token {tok}' https://api.github.com/repos\n")
    git("add", ".")
    git("commit", "-q", "-m", "add deploy script", when="2026-01-06T10:30:00Z")
    os.unlink(os.path.join(repo, "deploy.sh"))
    git("add", "-A")
    git("commit", "-q", "-m", "remove deploy script", when="2026-01-07T11:00:00Z")
    expected.append({"rule": "github.pat", "secret": tok})
    # a GitHub Actions log download with a token echoed by a debug step
    tok = fs.github(rng)
    with zipfile.ZipFile(os.path.join(tree, "ci-logs_9001.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("build/3_Debug env.txt",
                   "2026-01-08T12:00:00.0000000Z ##[group]Run env\r\n"
                   f"2026-01-08T12:00:01.0000000Z GH_TOKEN=\x1b[33m{tok}\x1b[0m\r\n")
    expected.append({"rule": "github.pat", "secret": tok})
    out = [{"rule": e["rule"], "secret_sha256": hashlib.sha256(e["secret"].encode()).hexdigest()}
           for e in expected]
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"corpus: {files} files, {len(out)} planted secrets in {tree}", file=sys.stderr)


if __name__ == "__main__":
    main()
