#!/usr/bin/env python3
"""Recall/precision corpus for ferret's generic rules (patterns/generic.yml):
from a seed, fake secrets assigned to secret-sounding names in the syntaxes
code and config use (Go := and backticks, make ?=, PHP .= and arrays, Ruby =>
and symbols, YAML, JSON, XML elements and key/value attributes, Java
setProperty, command-line flags, env names ending in _TOKEN / _SECRET / _KEY)
and, for every precision case of the generic rule, decoys: names that merely
contain a keyword (credentialId, secretName, csrf_token, publicToken,
max_tokens), ARNs, paths, URLs without userinfo, placeholders in template
syntaxes, sequences, calls and lookups, type names, identifiers and short
values.

Also password hashes (shadow, htpasswd, FTP user files: crypt $1$ $5$ $6$ $y$
$2b$ $apr1$, {SHA}) and Azure DevOps variable groups holding a secret-named
value in the clear, with their decoys (locked entries, passwd lines, hashes
in prose, secret and referenced variables).

Writes OUT/tree/... and OUT/expected.json (see gen-configs.py for the format).

  corpus/gen-generic.py OUT [--seed N] [--per-kind K]
"""
import argparse
import base64
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes as F  # noqa: E402

SAFE = F.ALNUM + "#%+!"  # characters no syntax below needs to escape


def secret(rng):
    """A drawn secret: mixed case and digits, sometimes a sign (never a UUID or
    a phrase)."""
    while True:
        s = F.rand(rng, F.ALNUM, rng.randint(16, 40))
        if any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s):
            return s if rng.random() < 0.7 else s[:8] + rng.choice("#%+!") + s[8:]


def name(rng, style):
    base = rng.choice([("deploy", "token"), ("client", "secret"), ("api", "key"), ("access", "token"),
                       ("signing", "secret"), ("service", "key"), ("webhook", "secret"), ("auth", "token")])
    prefix = rng.choice(["", "prod_", "stripe_", "smtp_", "github_"])
    words = (prefix + "_".join(base)).split("_")
    if style == "snake":
        return "_".join(words)
    if style == "upper":
        return "_".join(words).upper()
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    return "".join(w.capitalize() for w in words)  # Pascal


def rules(n, base):
    """The rules allowed to report a value under name n: the generic one, and for
    a client secret of Entra's legacy length the Azure rule that claims
    client_secret values by name."""
    flat = n.lower().replace("_", "").replace(".", "").replace("-", "")
    return base + (["azure.entra-client-secret-legacy"] if "clientsecret" in flat else [])


# Every generator returns (lines, needle, filename, rules).
RULE = ["generic.secret-assignment"]


def go_backtick(rng):
    s = secret(rng).replace("`", "!")
    return ["package main", "", "func main() {", f"\t{name(rng, 'camel')} := `{s}`", "\t_ = 1", "}"], s, "main.go", RULE


def go_var(rng):
    s = secret(rng)
    return ["package config", "", f"var {name(rng, 'Pascal')} string = \"{s}\""], s, "config.go", RULE


def makefile(rng):
    s = secret(rng).replace("#", "!").replace("%", "!")
    op = rng.choice(["?=", ":=", "=", "::="])
    return ["REGION ?= eu-west-1", f"{name(rng, 'upper')} {op} {s}", "", "deploy:", "\t./deploy.sh"], s, "Makefile", RULE


def php(rng):
    s = secret(rng)
    n = name(rng, "snake")
    form = rng.randrange(3)
    if form == 0:
        return ["<?php", f"${name(rng, 'camel')} = '{s}';"], s, "config.php", RULE
    if form == 1:
        return ["<?php", "return [", f"    '{n}' => '{s}',", "];"], s, "services.php", RULE
    return ["<?php", f"$config['{n}'] .= '{s}';"], s, "config.php", RULE


def ruby(rng):
    s = secret(rng)
    n = name(rng, "snake")
    form = rng.randrange(3)
    if form == 0:
        return ["Service.configure(", f"  :{n} => \"{s}\",", ")"], s, "initializer.rb", RULE
    if form == 1:
        return ["Service.configure(", f"  {n}: '{s}'", ")"], s, "initializer.rb", RULE
    return [f"@{n} ||= \"{s}\""], s, "client.rb", RULE


def yaml_file(rng):
    s = secret(rng)
    q = rng.choice(["", "'", '"'])
    return ["service:", "  region: eu-west-1", f"  {name(rng, 'snake')}: {q}{s}{q}", "  retries: 3"], s, "config.yml", RULE


def json_file(rng):
    s = secret(rng)
    return ["{", "  \"region\": \"eu-west-1\",", f"  \"{name(rng, 'camel')}\": \"{s}\",", "  \"retries\": 3", "}"], s, "settings.json", RULE


def env_file(rng):
    s = secret(rng)
    n = name(rng, "upper")
    form = rng.randrange(3)
    if form == 0:
        return ["REGION=eu-west-1", f"{n}={s}"], s, ".env", RULE
    if form == 1:
        return ["#!/bin/sh", f"export {n}=\"{s}\""], s, "env.sh", RULE
    return ["[service]", f"{name(rng, 'snake')} = {s}"], s, "service.ini", RULE


def code(rng):
    s = secret(rng)
    lang = rng.randrange(4)
    if lang == 0:
        return ["import requests", "", f"{name(rng, 'upper')} = \"{s}\""], s, "client.py", RULE
    if lang == 1:
        return ["class Client {", f"    private static final String {name(rng, 'upper')} = \"{s}\";", "}"], s, "Client.java", RULE
    if lang == 2:
        return [f"const {name(rng, 'camel')}: string = '{s}';"], s, "client.ts", RULE
    return ["locals {", f"  {name(rng, 'snake')} = \"{s}\"", "}"], s, "main.tf", RULE


def xml(rng):
    s = secret(rng).replace("&", "!")
    if rng.random() < 0.5:
        n = name(rng, "camel")
        return ["<config>", f"  <{n}>{s}</{n}>", "</config>"], s, "service.xml", ["generic.xml-secret"]
    return ["<appSettings>", f"  <add key=\"{name(rng, 'Pascal')}\" value=\"{s}\" />", "</appSettings>"], s, "App.config", ["generic.xml-key-value"]


def set_property(rng):
    s = secret(rng)
    call = rng.choice(["props.setProperty", "System.setProperty", "headers.put", "os.environ.setdefault"])
    return [f"{call}(\"{name(rng, 'snake').replace('_', '.')}\", \"{s}\");"], s, "Setup.java", ["generic.set-property"]


def cli_flag(rng):
    s = secret(rng)
    flag = rng.choice(["--token", "--api-key", "--client-secret", "--registry-token", "--secret-key"])
    sep = rng.choice(["=", " "])
    return ["#!/bin/sh", "set -e", f"deploy-tool push --region eu {flag}{sep}{s} --wait"], s, "deploy.sh", ["generic.cli-secret-flag"]


def cli_p(rng):
    s = secret(rng).replace("#", "!")
    if rng.random() < 0.5:
        return ["#!/bin/sh", f"mysqldump -h db01 -u backup -p{s} shop > /backup/shop.sql"], s, "backup.sh", ["generic.cli-password-p"]
    return ["#!/bin/sh", f"sshpass -p '{s}' scp dump.sql deploy@10.0.0.5:/srv/"], s, "copy.sh", ["generic.cli-password-p"]


# ---- password hashes and pipeline variables (hashes-pipelines.yml) -------------

CRYPT = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crypt_hash(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return "$6$" + F.rand(rng, CRYPT, 16) + "$" + F.rand(rng, CRYPT, 86)
    if kind == 1:
        return "$5$" + F.rand(rng, CRYPT, 16) + "$" + F.rand(rng, CRYPT, 43)
    if kind == 2:
        return "$y$j9T$" + F.rand(rng, CRYPT, 22) + "$" + F.rand(rng, CRYPT, 43)
    if kind == 3:
        return "$2b$" + rng.choice(["10", "12"]) + "$" + F.rand(rng, CRYPT, 53)
    return "$1$" + F.rand(rng, CRYPT, 8) + "$" + F.rand(rng, CRYPT, 22)


HASH_RULE = ["hash.crypt-password"]


def shadow(rng):
    h = crypt_hash(rng)
    return ["root:*:19750:0:99999:7:::", "daemon:*:19750:0:99999:7:::", "nobody:!!:19750::::::",
            f"{rng.choice(['deploy', 'admin', 'ops', 'backup'])}:{h}:19750:0:99999:7:::"], h, "shadow", HASH_RULE


def htpasswd(rng):
    form = rng.randrange(4)
    if form == 3:  # an LDAP entry's salted SHA-1 (LDIF)
        h = "{SSHA}" + base64.b64encode(F.rbytes(rng, 20 + rng.choice([4, 8]))).decode()
        return ["dn: uid=ops,ou=people,dc=corp,dc=internal", "objectClass: inetOrgPerson", "uid: ops",
                f"userPassword: {h}"], h, "users.ldif", HASH_RULE
    if form == 0:
        h = "$apr1$" + F.rand(rng, CRYPT, 8) + "$" + F.rand(rng, CRYPT, 22)
    elif form == 1:
        h = "$2y$05$" + F.rand(rng, CRYPT, 53)
    else:
        h = "{SHA}" + base64.b64encode(F.rbytes(rng, 20)).decode()
    return [f"{rng.choice(['admin', 'ci', 'grafana', 'kibana'])}:{h}"], h, ".htpasswd", HASH_RULE


def ftp_users(rng):
    h = crypt_hash(rng)
    return [f"ftpuser:{h}:2001:2001::/srv/ftp/ftpuser:/bin/false"], h, "ftpd.passwd", HASH_RULE


def ado_variable_group(rng):
    v = secret(rng)
    n = rng.choice(["DbPassword", "Smtp.Password", "ApiToken", "StorageAccessKey", "Registry.Token", "StorageAccountKey"])
    order = rng.randrange(2)
    entry = (f"      \"{n}\": {{ \"isSecret\": false, \"value\": \"{v}\" }},"
             if order else f"      \"{n}\": {{\n        \"value\": \"{v}\"\n      }},")
    lines = ["[", "  {", "    \"name\": \"orders-prod\",", "    \"type\": \"Vsts\",", "    \"variables\": {",
             "      \"BuildConfiguration\": { \"value\": \"Release\" },"] + entry.split("\n") + [
             "      \"SigningKey\": { \"isSecret\": true, \"value\": null }", "    }", "  }", "]"]
    return lines, v, "variable-groups.json", ["azure-devops.variable-literal"]


EXTRA_KINDS = {  # kind: (family, generator)
    "shadow": ("password-hashes", shadow), "htpasswd": ("password-hashes", htpasswd),
    "ftp-users": ("password-hashes", ftp_users),
    "ado-variable-group": ("pipeline-variables", ado_variable_group),
}


KINDS = {  # kind: generator (every kind is the "generic" family)
    "go-backtick": go_backtick, "go-var": go_var, "makefile": makefile, "php": php, "ruby": ruby,
    "yaml": yaml_file, "json": json_file, "env": env_file, "code": code, "xml": xml,
    "set-property": set_property, "cli-flag": cli_flag, "cli-p": cli_p,
}


def decoys(rng):
    """One file per precision case; no line may be reported."""
    tok = secret(rng)  # a drawn value under names that hold no secret
    d = {}
    d["names.py"] = [f"credentialId = \"{tok}\"", f"secretName = \"{tok}\"", f"publicToken = \"{tok}\"",
                     f"csrf_token = \"{tok}\"", f"next_page_token = \"{tok}\"", f"PUBLIC_KEY = \"{tok}\"",
                     f"pad_token = \"{tok}\"", "token_type = \"Bearer\"", "max_tokens: 4096",
                     f"passwordPolicy = \"{tok}\"", f"cache_key = \"{tok}\"", f"sort_key = \"{tok}\"",
                     "GPG_KEY=" + F.rand(rng, "0123456789ABCDEF", 40)]
    d["form.html"] = [f"<input type=\"hidden\" name=\"csrf_token\" value=\"{tok}\">",
                      "<meta name=\"csrf-token\" content=\"" + tok + "\">"]
    d["refs.tf"] = ["secret_arn = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-Ab3dEf\"",
                    "api_key = data.azurerm_key_vault_secret.api.value",
                    "client_secret = \"@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/api/)\""]
    d["paths.env"] = ["TOKEN_PATH=/var/run/secrets/kubernetes.io/serviceaccount/token",
                      "SECRET_FILE=./secrets/prod.json", "API_KEY_FILE=~/keys/api.key",
                      "TOKEN_URL=https://login.corp.internal/oauth2/v2.0/token",
                      "SECRET_ENDPOINT=http://vault.corp.internal:8200/v1/secret/data/app"]
    d["templates.yml"] = ["api_key: \"&lt;API_KEY&gt;\"", "client_secret: \"{ClientSecret}\"", "auth_token: \"####################\"",
                          "deploy_token: ${DEPLOY_TOKEN}", "service_key: \"{{ .Values.serviceKey }}\"",
                          "webhook_secret: \"#{WebhookSecret}#\"", "access_token: __ACCESS_TOKEN__", "signing_secret: <signing-secret>",
                          "api_secret: your-api-secret-here", "app_key: changeme", "api_token: xxxxxxxxxxxxxxxx", "secret_token: '***'"]
    d["sequences.ini"] = ["[api]", "secret = 1234567890", "api_key = ABCDEFGHIJ", "token = abcdefghijklmnop",
                          "auth_key = 0123456789abcdef"]
    d["calls.py"] = ["token = get_token(client_id, scope)", "api_key = os.environ[\"API_KEY\"]",
                     "client_secret = settings.CLIENT_SECRET", "API_TOKEN = os.getenv('API_TOKEN')",
                     "secret = vault.read('secret/data/app')", "access_key = self._access_key"]
    d["client.go"] = ["token := os.Getenv(\"API_TOKEN\")", "apiKey := cfg.APIKey", "var clientSecret string",
                      "authToken := fmt.Sprintf(\"%s:%s\", user, pass)"]
    d["types.ts"] = ["interface Auth {", "  token: string;", "  apiKey?: string;", "}",
                     "input_tokens: \"Optional[int]\" = None", "token: Optional[str] = None"]
    d["ids.py"] = ["bot_token=\"xoxe.xoxp-1-initial\",", "access_token = \"openai-access-token-1\"",
                   "app_token=\"xapp-A111-222-xyz\",", "session_token = \"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"",
                   "api_key = \"test_api_key_value\"", "credential=YS1naXQtdG9rZW4="]
    d["short.env"] = ["API_KEY=abc", "TOKEN=x1", "CLIENT_SECRET=", "SECRET_KEY=\"\""]
    d["Makefile"] = ["API_TOKEN ?= $(shell cat .token)", "DEPLOY_KEY := $(DEPLOY_KEY)", "SECRET ?= "]
    d["deploy.sh"] = ["deploy-tool push --token \"$DEPLOY_TOKEN\"", "deploy-tool push --api-key=${API_KEY}",
                      "docker build --secret id=npm_token,src=.npmrc .", "tool --password-file /run/secrets/db",
                      "mysql -u root -p shop < dump.sql", "cli --token <token>"]
    d["App.config"] = ["<appSettings>", "  <add key=\"ApiKey\" value=\"#{ApiKey}#\" />",
                       "  <add key=\"TokenEndpoint\" value=\"https://login.corp.internal/token\" />", "</appSettings>",
                       "<apiKey>${API_KEY}</apiKey>", "<secretName>prod-db-credentials</secretName>"]
    d["passwd"] = ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin"]
    d["shadow"] = ["root:*:19750:0:99999:7:::", "nobody:!!:19750::::::", "locked:!$6$:19750::::::", "empty::19750::::::"]
    d["crypt.md"] = ["A SHA-512 crypt hash looks like `$6$salt$hash`; bcrypt like `$2y$10$...`.",
                     "admin:$2y$10$short"]
    d["variables.json"] = ["{", "  \"variables\": {", "    \"DbPassword\": { \"isSecret\": true, \"value\": null },",
                           "    \"ApiToken\": { \"isSecret\": false, \"value\": \"$(KeyVaultApiToken)\" },",
                           "    \"ClientSecret\": { \"value\": \"\" },", "    \"BuildConfiguration\": { \"value\": \"Release\" }", "  }", "}"]
    d["Setup.java"] = ["props.setProperty(\"mail.smtp.password\", smtpPassword);",
                       "headers.put(\"X-Csrf-Token\", \"" + tok + "\");", "map.put(\"token_type\", \"Bearer\");"]
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--per-kind", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tree = os.path.join(a.out, "tree")
    expected = []
    kinds = {k: ("generic", g) for k, g in KINDS.items()}
    kinds.update(EXTRA_KINDS)
    for kind, (family, gen) in sorted(kinds.items()):
        for i in range(a.per_kind):
            lines, needle, fname, rls = gen(rng)
            rel = os.path.join(family, kind, str(i), fname)
            os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
            with open(os.path.join(tree, rel), "w") as f:
                f.write("\n".join(lines) + "\n")
            at = next(n for n, l in enumerate(lines) if needle in l)
            expected.append({"family": family, "kind": kind, "path": rel, "line": at + 1,
                             "rules": rules(lines[at], rls)})
    F.write_decoys_and_expected(tree, a.out, decoys(rng), expected)
    print(f"{len(expected)} planted secrets in {len(kinds)} kinds, {len(decoys(random.Random(0)))} decoy files",
          file=sys.stderr)


if __name__ == "__main__":
    main()
