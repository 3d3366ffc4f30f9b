#!/usr/bin/env python3
"""Wild-layout check for the provider rules (issue 13): every kind of
corpus/gen-providers.py, plus older families, in the contexts people paste tokens
into (32 named layouts: code in ten languages, .env, YAML, JSON, TOML, INI, XML,
CI YAML, Dockerfile ENV / ARG, Kubernetes env, Terraform, logs; 9 layouts
without a keyword for prefixed tokens: bare, JSON responses, logs, curl headers,
URL queries, CSV, Markdown), the provider's word in 14 assignment forms
(twilioToken :=, <snykToken>, System.setProperty("NAME", ...), make ?=, ...),
the generic rule's assignment forms, the issue's item-2 layouts (legacy Azure
DevOps PATs in NuGet / npm / pip / Maven / git / CI logs, PEM keys in source
strings, database URLs with @ and :, Stripe, short Slack ids, routable GitLab
tokens, hex in a strong context) and ~150 negatives (placeholders, hashes,
UUIDs that identify, base64 blobs, minified JS, item 3's precision cases).
One planted secret per file; expected.json names the rules allowed to report it.
scripts/wild-providers.sh generates, scans and scores it.

  corpus/gen-wild-providers.py OUT SEED"""
import importlib.util, json, os, random, sys, base64, zlib
SRC = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SRC)
spec = importlib.util.spec_from_file_location("gp", os.path.join(SRC, "gen-providers.py"))
gp = importlib.util.module_from_spec(spec); spec.loader.exec_module(gp)
import fakes as F

def camel(n):
    p = n.lower().split("_")
    return p[0] + "".join(x.title() for x in p[1:])

# named contexts: (name, value) -> text
NAMED = {
 "py": lambda n, v: f'import os\n\n{n} = "{v}"\n',
 "py_kw": lambda n, v: f'client = Client(\n    {n.lower()}="{v}",\n    timeout=30,\n)\n',
 "py_dict": lambda n, v: f'SETTINGS = {{\n    "{n.lower()}": "{v}",\n    "retries": 3,\n}}\n',
 "js": lambda n, v: f"const {camel(n)} = '{v}';\nmodule.exports = {{ {camel(n)} }};\n",
 "js_obj": lambda n, v: f'export default {{\n  region: "eu-west-1",\n  {camel(n)}: "{v}",\n}};\n',
 "ts": lambda n, v: f'export const {camel(n)}: string = "{v}";\n',
 "go": lambda n, v: f'package main\n\nfunc main() {{\n\t{camel(n)} := "{v}"\n\t_ = {camel(n)}\n}}\n',
 "go_bt": lambda n, v: f'package main\n\nvar {camel(n)} = `{v}`\n',
 "java": lambda n, v: f'public class Cfg {{\n    private static final String {n.upper()} = "{v}";\n}}\n',
 "cs": lambda n, v: f'public static class Cfg\n{{\n    public const string {camel(n)[0].upper()+camel(n)[1:]} = "{v}";\n}}\n',
 "php": lambda n, v: f"<?php\n${camel(n)} = '{v}';\n",
 "php_arr": lambda n, v: f"<?php\nreturn [\n    '{n.lower()}' => '{v}',\n];\n",
 "ruby": lambda n, v: f'config.{n.lower()} = "{v}"\n',
 "ruby_sym": lambda n, v: f'Client.new({n.lower()}: "{v}", timeout: 5)\n',
 "sh": lambda n, v: f'#!/bin/sh\nexport {n.upper()}="{v}"\n./deploy.sh\n',
 "ps1": lambda n, v: f'$env:{n.upper()} = "{v}"\n.\\deploy.ps1\n',
 "env": lambda n, v: f'{n.upper()}={v}\n',
 "yaml": lambda n, v: f'service:\n  {n.lower()}: {v}\n  port: 8080\n',
 "yaml_q": lambda n, v: f'service:\n  {n.lower()}: "{v}"\n',
 "json": lambda n, v: f'{{\n  "{camel(n)}": "{v}",\n  "enabled": true\n}}\n',
 "toml": lambda n, v: f'[service]\n{n.lower()} = "{v}"\n',
 "ini": lambda n, v: f'[service]\n{n.lower()} = {v}\n',
 "xml": lambda n, v: f'<config>\n  <{camel(n)}>{v}</{camel(n)}>\n</config>\n',
 "xml_attr": lambda n, v: f'<appSettings>\n  <add key="{n.upper()}" value="{v}" />\n</appSettings>\n',
 "gha": lambda n, v: f'jobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n      {n.upper()}: {v}\n',
 "gitlab_ci": lambda n, v: f'variables:\n  {n.upper()}: "{v}"\n',
 "docker_env": lambda n, v: f'FROM alpine:3.20\nENV {n.upper()}={v}\n',
 "docker_arg": lambda n, v: f'FROM alpine:3.20\nARG {n.upper()}={v}\n',
 "docker_env_sp": lambda n, v: f'FROM alpine:3.20\nENV {n.upper()} {v}\n',
 "k8s": lambda n, v: f'        env:\n          - name: {n.upper()}\n            value: "{v}"\n',
 "tf": lambda n, v: f'variable "{n.lower()}" {{\n  default = "{v}"\n}}\n',
 "log_kv": lambda n, v: f'2026-05-01T09:00:01Z INFO starting worker {n.lower()}={v} region=eu\n',
}
# unnamed contexts: no keyword near (for tokens with a distinctive prefix)
UNNAMED = {
 "bare": lambda v: f"{v}\n",
 "py_neutral": lambda v: f'VALUE = "{v}"\n',
 "js_arg": lambda v: f"init('{v}');\n",
 "json_resp": lambda v: f'{{"id": 42, "value": "{v}", "expires_in": 3600}}\n',
 "log": lambda v: f"2026-05-01 09:00:01,123 DEBUG request sent with {v} (attempt 1)\n",
 "md": lambda v: f"| staging | `{v}` | rotated |\n",
 "curl_bearer": lambda v: f'curl -sS -H "Authorization: Bearer {v}" https://api.internal.example/v2/items\n',
 "url_q": lambda v: f"https://api.internal.example/v1/export?format=csv&key={v}&page=2\n",
 "csv": lambda v: f"prod,ci-bot,{v},2026-01-01\n",
}

PREFIXED_NO = {  # kinds whose value has no distinctive prefix -> named contexts only
 "alibaba-secret", "cloudflare-token", "ibm-cloud", "confluent", "twilio", "datadog", "drone", "travis",
 "azure-search-legacy", "azure-event-grid", "azure-ai-legacy", "pagerduty", "heroku-legacy", "snyk",
 "opsgenie", "npm-legacy", "atlas-private-key", "jenkins", "mailgun", "mailchimp", "okta", "jfrog-reference",
 "infisical", "vault-legacy", "telegram", "azure-redis", "azure-iot", "azure-batch", "azure-search",
 # providers-2026.yml: tokens without a prefix of their own (Discord bot tokens are read by
 # their id's structure under a discord/token name, in run()/login() or after Bot; deepseek's sk-, ElevenLabs' sk_
 # and Clerk's sk_live_ are read by their provider's word)
 "discord-bot", "discord-client-secret", "postmark", "twitch", "pinecone-legacy", "airtable", "cohere", "mistral", "deepseek", "elevenlabs", "elevenlabs-legacy",
 "vercel-legacy", "netlify-legacy", "railway", "auth0", "clerk", "keycloak", "algolia", "asana", "dropbox-long",
 "box", "zoom", "launchdarkly-api", "segment", "mixpanel", "amplitude", "contentful-preview", "sanity", "paypal",
 "razorpay", "plaid", "coinbase",
}

def extra_kinds():
    # older families (item 2)
    return {
     "github-pat": ("github.pat", ["GITHUB_TOKEN", "GH_TOKEN"], lambda g: F.github(g)),
     "github-fg": ("github.fine-grained-pat", ["GITHUB_TOKEN"], F.github_fine_grained),
     "gitlab-pat": ("gitlab.token", ["GITLAB_TOKEN"], lambda g: F.gitlab(g)),
     "slack-bot": ("slack.token", ["SLACK_BOT_TOKEN"], F.slack),
     "stripe-live": ("stripe.secret-key", ["STRIPE_SECRET_KEY"], F.stripe),
     "aws-akid": ("aws.access-key-id", ["AWS_ACCESS_KEY_ID"], lambda g: F.aws_pair(g)[0]),
     "azdo-pat": ("azure-devops.pat", ["AZURE_DEVOPS_PAT"], F.azdo_pat),
     "entra": ("azure.entra-client-secret", ["AZURE_CLIENT_SECRET", "client_secret"], F.entra_secret),
     "npm-token": ("npm.token", ["NPM_TOKEN"], F.npm),
     "pypi-token": ("pypi.token", ["PYPI_TOKEN"], F.pypi),
     "jwt": ("jwt.token", ["ID_TOKEN"], F.jwt),
    }

def main():
    out = sys.argv[1]; seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    kinds = {k: (rule, names, gen) for k, (fam, rule, names, gen) in gp.KINDS.items()}
    kinds.update(extra_kinds())
    exp = []
    for kind, (rule, names, gen) in sorted(kinds.items()):
        d = os.path.join(out, "pos", kind); os.makedirs(d, exist_ok=True)
        # providers-2026.yml's kinds draw from their own generator (the older kinds keep their values)
        g = random.Random(f"{seed}/{kind}") if kind in gp.KINDS_2026 else rng
        for cname, c in NAMED.items():
            v = gen(g); n = g.choice(names)
            p = os.path.join(d, f"n-{cname}.txt")
            also = ["kubernetes.env-password"] if cname == "k8s" else []  # the structure's rule may report it
            open(p, "w").write(c(n, v)); exp.append({"path": p, "kind": kind, "ctx": cname, "rule": [rule] + also, "value": v})
        if kind in PREFIXED_NO: continue
        for cname, c in UNNAMED.items():
            v = gen(g)
            if kind == "square" and v.startswith("EAAA"):  # EAAA is Square's only next to its name
                v = "sq0atp-" + v[4:26]
            p = os.path.join(d, f"u-{cname}.txt")
            also = ["http.bearer-token"] if cname == "curl_bearer" else []
            open(p, "w").write(c(v)); exp.append({"path": p, "kind": kind, "ctx": cname, "rule": [rule] + also, "value": v})
    json.dump(exp, open(os.path.join(out, "expected.json"), "w"), indent=0)
    print(len(exp), "planted")

if __name__ == "__main__":
    main()

# ---- generic (item 3) positives and negatives, provider negatives ---------------
GEN_RULES = ["generic.secret-assignment", "generic.xml-secret", "generic.xml-key-value", "generic.set-property",
             "generic.cli-secret-flag", "generic.cli-password-p", "config.password-assignment", "php.variable-password",
             "cli.user-password", "http.bearer-token", "http.basic-auth", "generic.http-header-key", "generic.powershell-securestring", "config.xml-password", "kubernetes.env-password", "php.define-password", "symfony.app-secret"]

def generic_pos(g):
    A = F.ALNUM
    def val():
        k = g.randrange(4)
        if k == 0: return F.password(g, 16)
        if k == 1: return F.rand(g, A, 20)
        if k == 2: return base64.b64encode(F.rbytes(g, 24)).decode()
        return F.rand(g, "0123456789abcdef", 40)
    forms = {
     "go_bt": lambda v: f"\tapiToken := `{v}`\n",
     "go_var": lambda v: f'var clientSecret string = "{v}"\n',
     "go_short": lambda v: f'\tsigningKey := "{v}"\n',
     "make_q": lambda v: f"DEPLOY_TOKEN ?= {v}\n",
     "make_c": lambda v: f"REGISTRY_TOKEN := {v}\n",
     "php_dot": lambda v: f"$config['api_key'] .= '{v}';\n",
     "php_arr": lambda v: f"    'api_secret' => '{v}',\n",
     "php_arr_dq": lambda v: f'    "client_secret" => "{v}",\n',
     "ruby_rocket": lambda v: f'  :secret_key => "{v}",\n',
     "ruby_sym": lambda v: f'  access_token: "{v}",\n',
     "ruby_sym2": lambda v: f'Stripe.api_key = "{v}"\n',
     "xml_el": lambda v: f"<settings>\n  <apiKey>{v}</apiKey>\n</settings>\n",
     "xml_el_pw": lambda v: f"<datasource>\n  <password>{v}</password>\n</datasource>\n",
     "xml_attr": lambda v: f'<add key="Smtp:Password" value="{v}" />\n',
     "xml_attr_inline": lambda v: f'<connection host="db01" user="app" password="{v}" />\n',
     "setprop": lambda v: f'props.setProperty("db.password", "{v}");\n',
     "setprop_sys": lambda v: f'System.setProperty("api.token", "{v}");\n',
     "cli_p": lambda v: f"mysql -h db01 -u root -p{v} shop < dump.sql\n",
     "cli_password": lambda v: f"mytool login --username admin --password {v}\n",
     "cli_password_eq": lambda v: f"mytool login --password={v} --host db01\n",
     "cli_token": lambda v: f"deploy-cli push --token {v} --env prod\n",
     "sfx_pass": lambda v: f"DB_PASS={v}\n",
     "sfx_pwd": lambda v: f"SMTP_PWD={v}\n",
     "sfx_key": lambda v: f"SERVICE_KEY={v}\n",
     "sfx_token": lambda v: f"CI_DEPLOY_TOKEN={v}\n",
     "sfx_secret": lambda v: f"APP_SECRET={v}\n",
     "ts_typed": lambda v: f'const authToken: string = "{v}";\n',
     "cs_prop": lambda v: f'options.ClientSecret = "{v}";\n',
     "kotlin": lambda v: f'val apiKey = "{v}"\n',
     "ps_var": lambda v: f'$apiKey = "{v}"\n',
     "ps_env": lambda v: f'$env:API_TOKEN = "{v}"\n',
     "json": lambda v: f'{{"apiKey": "{v}", "region": "eu"}}\n',
     "yaml": lambda v: f"smtp:\n  password: {v}\n",
     "docker": lambda v: f"FROM node:20\nENV API_TOKEN={v}\n",
     "toml": lambda v: f'[auth]\nclient_secret = "{v}"\n',
     "ini": lambda v: f"[db]\npassword = {v}\n",
     "py_kw": lambda v: f'conn = connect(host="db01", user="app", password="{v}")\n',
     "js_obj": lambda v: f'const cfg = {{ clientSecret: "{v}" }};\n',
     "hex_cs": lambda v: f'client_secret = "{F.rand(g, "0123456789abcdef", 40)}"\n',
     "hex_yaml": lambda v: f'  webhook_secret: {F.rand(g, "0123456789abcdef", 64)}\n',
     "json_spaced": lambda v: f'  "client_secret" : "{v}",\n',
     "url_query": lambda v: f"https://api.internal.example/v1/items?api_key={v}&limit=10\n",
     "url_query_token": lambda v: f"GET /export?access_token={v} HTTP/1.1\n",
     "header_xapikey": lambda v: f'curl -H "X-API-Key: {v}" https://api.internal.example/v1\n',
     "header_auth_token": lambda v: f'    headers = {{"X-Auth-Token": "{v}"}}\n',
     "bearer": lambda v: f'Authorization: Bearer {v}\n',
     "ini_quoted": lambda v: f'[api]\nsecret_key = "{v}"\n',
     "yaml_nested_token": lambda v: f"auth:\n  github:\n    token: {v}\n",
     "dotnet_json": lambda v: f'  "Jwt": {{ "SigningKey": "{v}" }},\n',
     "cs_string": lambda v: f'private const string ApiSecret = "{v}";\n',
     "rust": lambda v: f'const API_TOKEN: &str = "{v}";\n',
     "swift": lambda v: f'let apiKey = "{v}"\n',
     "groovy": lambda v: f"def deployToken = '{v}'\n",
     "perl": lambda v: f"my $api_secret = '{v}';\n",
     "lua": lambda v: f'local auth_token = "{v}"\n',
     "hcl": lambda v: f'  access_key = "{v}"\n',
     "properties_colon": lambda v: f"app.secret: {v}\n",
     "env_export_sq": lambda v: f"export API_SECRET='{v}'\n",
     "bat": lambda v: f"set API_TOKEN={v}\n",
     "ps_secure": lambda v: f'$password = ConvertTo-SecureString "{v}" -AsPlainText -Force\n',
    }
    return {k: f(val()) for k, f in forms.items()}

def hexs(g, n): return F.rand(g, "0123456789abcdef", n)

def negatives(g):
    u = gp.uuid(g); h40 = hexs(g, 40); h64 = hexs(g, 64); b = base64.b64encode(F.rbytes(g, 150)).decode()
    L = [
     # provider placeholders
     "SLACK_BOT_TOKEN=xoxb-your-token", "SLACK_TOKEN=xoxb-XXXXXXXXXXXX-XXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX",
     "OPENAI_API_KEY=sk-...", "OPENAI_API_KEY=sk-your-key-here", 'api_key = "<TOKEN>"', "token: <YOUR_TOKEN>",
     "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
     "GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx", "GITLAB_TOKEN=glpat-<your_access_token>",
     "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "STRIPE_SECRET_KEY=sk_test_...",
     "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
     "SLACK_WEBHOOK=https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
     "GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "GOOGLE_API_KEY=AIza...",
     "VAULT_TOKEN=hvs.<token>", "VAULT_TOKEN=root", "VAULT_TOKEN=s.XXXXXXXXXXXXXXXXXXXXXXXX",
     "NPM_TOKEN=npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
     "DD_API_KEY=<YOUR_DATADOG_API_KEY>", 'DD_API_KEY: "${DD_API_KEY}"', "TWILIO_AUTH_TOKEN=your_auth_token",
     'auth_token = "[AuthToken]"', "MAILCHIMP_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-us6",
     "SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "HF_TOKEN=hf_...", "ANTHROPIC_API_KEY=sk-ant-...", "DOCKERHUB_TOKEN=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "DATABRICKS_TOKEN=dapi<redacted>", "DATABRICKS_TOKEN=dapixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "SHOPIFY_TOKEN=shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "NEW_RELIC_LICENSE_KEY=<your_license_key>",
     "SENTRY_AUTH_TOKEN=sntrys_YOUR_TOKEN_HERE", "GRAFANA_TOKEN=glsa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_xxxxxxxx",
     "PULUMI_ACCESS_TOKEN=pul-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "CIRCLECI_TOKEN=CCIPAT_xxxxxxxx",
     "ATLASSIAN_TOKEN=ATATT3xFfGF0...", "TFE_TOKEN=xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "TEAMS_WEBHOOK=https://contoso.webhook.office.com/webhookb2/<group-id>@<tenant-id>/IncomingWebhook/<id>/<owner>",
     "AWS_BEARER_TOKEN_BEDROCK=ABSK...", "AWS_SESSION_TOKEN=<session-token>", "HEROKU_API_KEY=<heroku-api-key>",
     "OKTA_API_TOKEN=00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "DOPPLER_TOKEN=dp.st.xxxx",
     "age: AGE-SECRET-KEY-1...", "PrivateKey = <server-private-key>", "PrivateKey = $(cat /etc/wireguard/private.key)",
     "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
     "DATABASE_URL=postgres://user:password@localhost:5432/db", "DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB",
     "mongodb+srv://<username>:<password>@cluster0.mongodb.net/test",
     # hashes
     f'rev = "{h40}"', f"commit {h40}", f"  sha256: {h64}", f'checksum = "{h64}"', f'etag: "{hexs(g, 32)}"',
     f"{hexs(g, 32)}  release.tar.gz", f'"integrity": "sha512-{base64.b64encode(F.rbytes(g, 64)).decode()}"',
     f'  "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "shasum": "{h40}"',
     f"ARG BASE_DIGEST=sha256:{h64}", f'image: "nginx@sha256:{h64}"', f'go.sum: golang.org/x/net v0.1.0 h1:{base64.b64encode(F.rbytes(g, 32)).decode()}',
     # uuids that identify
     f"request_id: {u}", f'"id": "{gp.uuid(g)}"', f"X-Correlation-ID: {gp.uuid(g)}", f"tenant_id = \"{gp.uuid(g)}\"",
     f"AZURE_SUBSCRIPTION_ID={gp.uuid(g)}", f"client_id = \"{gp.uuid(g)}\"", f'<ProjectGuid>{{{gp.uuid(g).upper()}}}</ProjectGuid>',
     # base64 blobs / public keys / minified
     f'"data": "{b}"', f"img = 'data:image/png;base64,{b}'",
     f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{base64.b64encode(F.rbytes(g, 32)).decode()[:43]} ci@build",
     'function(e){var t=e.token,n=e.apiKey,r=e.secret;return{token:t,apiKey:n,secret:r,password:e.password}}',
     'var ALPHABET="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";',
     '!function(){"use strict";var a="sk-"+e.key,b=t.token||"",c={secret:"",token:null};}();',
     # item 3 precision cases
     'credentialId = "c8Kq2Wv9Lx4Rm7T3"', "secretName: prod-db-credentials-v2", 'publicToken = "Pk7Wq2Lx9Rv4Tz8M"',
     '<input type="hidden" name="csrf_token" value="Zq8Wv3Lx7Rk2Tm9PaB3x">', '<meta name="csrf-token" content="Zq8Wv3Lx7Rk2Tm9PaB3xYt">',
     'passwordPolicy = "MinLength12Upper1"', 'password_policy: "min12-upper-digit"',
     'secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-Ab3dEf"',
     'kms_key = "arn:aws:kms:eu-west-1:123456789012:key/' + gp.uuid(g) + '"',
     'token_route = "/api/v1/tokens/refresh"', '@app.route("/reset-password/<token>")', 'RESET_PASSWORD_PATH = "/account/password/reset"',
     "SECRET_FILE=/etc/app/secret.key", "api_key_path: /run/secrets/api_key", 'private_key = "~/.ssh/id_ed25519"',
     "TOKEN_URL=https://auth.example.com/oauth/token", 'auth_url = "https://login.example.com/oauth2/authorize?response_type=token"',
     "password: &lt;PASSWORD&gt;", "accessKey: {SumoAccessKey}", "API_TOKEN=####################", 'password = "********"',
     'secret = "1234567890"', 'API_KEY = "ABCDEFGHIJ"', 'token = "abcdefghijklmnop"', 'password = "qwertyuiop"',
     'api_key = get_secret("api-key")', 'token = config["token"]', "password = vault.read('db/pass')",
     "secret_key = settings.SECRET_KEY", 'client_secret = ENV.fetch("CLIENT_SECRET")', "$password = $_POST['password'];",
     'apiKey := os.Getenv("API_KEY")', "password: !Ref DbPassword", "token: ${{ secrets.TOKEN }}",
     'password = "{{ db_password }}"', "password = %(db_password)s", 'SECRET_KEY = "%SECRET_KEY%"',
     "password: <%= ENV['PW'] %>", 'token: "#{token}"', 'api_key: "@API_KEY@"', "password=$(cat /run/secrets/pw)",
     "max_tokens = 4096", "password_reset_timeout_seconds = 86400", 'secret_version = "projects/acme/secrets/db/versions/latest"',
     'TOKEN_HEADER = "X-Auth-Token-Value"', 'PASSWORD_FIELD = "user_password_hash"', 'token_type = "refresh_token"',
     'secretKeyRef:\n  name: db-credentials\n  key: password', 'password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."',
     'apiKeyHeaderName = "Ocp-Apim-Subscription-Key"', 'passwordInput = document.getElementById("password-field")',
     "DB_PASSWORD_FILE=/run/secrets/db_password", 'access_token = response.json()["access_token"]',
     'Authorization: Bearer <token>', 'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
     'api_key = "sk-proj-****************************"', 'token = "REDACTED"', 'password = "[REDACTED]"',
     "password = None", "api_key = ''", 'secret = "not-a-real-secret"', 'token = "dummy-token-for-tests"',
     'SECRET_KEY = "django-insecure-change-me"', 'client_secret = "your-client-secret"',
     "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     'token_id = "tok_1a2b3c4d5e6f"', 'key_id = "' + hexs(g, 40) + '"', 'fingerprint: "' + ":".join(hexs(g, 2) for _ in range(16)) + '"',
     'public_key = "' + base64.b64encode(F.rbytes(g, 32)).decode() + '"', 'session_key_name = "sessionid"',
     'SECRET_NAME="prod/app/db-password"', 'password_min_length: 12', 'secret: true', 'token: false',
     'let token = await getToken(scope);', 'const password = req.body.password;', 'String apiKey = System.getenv("API_KEY");',
     'var secret = Environment.GetEnvironmentVariable("CLIENT_SECRET");', "$token = getenv('API_TOKEN');",
     'export API_TOKEN="$(vault kv get -field=token secret/ci)"', 'password: "{{ lookup(\'env\', \'DB_PASSWORD\') }}"',
    ]
    return L

def main2():
    out = sys.argv[1]; seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = random.Random(seed + 1000)
    exp = json.load(open(os.path.join(out, "expected.json")))
    d = os.path.join(out, "gen"); os.makedirs(d, exist_ok=True)
    for k, text in generic_pos(g).items():
        p = os.path.join(d, f"{k}.txt"); open(p, "w").write(text)
        exp.append({"path": p, "kind": "generic", "ctx": k, "rule": GEN_RULES, "value": ""})
    json.dump(exp, open(os.path.join(out, "expected.json"), "w"), indent=0)
    d = os.path.join(out, "neg"); os.makedirs(d, exist_ok=True)
    for i, line in enumerate(negatives(g)):
        open(os.path.join(d, f"neg{i:03d}.txt"), "w").write(line + "\n")

if __name__ == "__main__":
    main2()

# ---- item 2 layouts: (kind, accepted rules, text) -------------------------------
def item2(g):
    A = F.ALNUM
    out = []
    for i in range(3):
        pat = F.azdo_legacy(g)
        R = ["azure-devops.pat-legacy", "url.userinfo-password", "nuget.config-password", "maven.settings-password",
             "npmrc.password", "pypirc.password", "netrc.password", "http.basic-auth"]
        out += [
         ("azdo-legacy", R, f'<packageSourceCredentials>\n  <feed>\n    <add key="Username" value="ci" />\n    <add key="ClearTextPassword" value="{pat}" />\n  </feed>\n</packageSourceCredentials>\n', "nuget"),
         ("azdo-legacy", R, f"registry=https://pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/\n//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/:username=contoso\n//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/:_password={base64.b64encode(pat.encode()).decode()}\n", "npmrc-b64"),
         ("azdo-legacy", R, f"[global]\nindex-url=https://ci:{pat}@pkgs.dev.azure.com/contoso/_packaging/feed/pypi/simple/\n", "pip.conf"),
         ("azdo-legacy", R, f"<servers>\n  <server>\n    <id>feed</id>\n    <username>contoso</username>\n    <password>{pat}</password>\n  </server>\n</servers>\n", "maven"),
         ("azdo-legacy", R, f"https://ci-bot:{pat}@dev.azure.com\n", "git-credentials"),
         ("azdo-legacy", R, f"git clone https://{pat}@dev.azure.com/contoso/orders/_git/api\n", "git-clone"),
         ("azdo-legacy", R, f"2026-05-01T09:00:01.1234567Z ##[debug]AZURE_DEVOPS_EXT_PAT={pat}\n", "ci-log"),
         ("azdo-legacy", R, f"echo {pat} | az devops login --organization https://dev.azure.com/contoso\n", "az-login"),
         ("azdo-legacy", R, f'$env:AZURE_DEVOPS_EXT_PAT = "{pat}"\n', "ps"),
         ("azdo-legacy", R, f'  "personalAccessToken": "{pat}",\n', "json"),
        ]
        key = F.pem_key(g.choice(["ec", "rsa", "pkcs8"])).strip().split("\n")
        P = ["pem.private-key", "pem.private-key-base64"]
        out += [
         ("pem", P, "KEY = (\n" + "\n".join(f'    "{l}\\n"' for l in key) + "\n)\n", "py-concat"),
         ("pem", P, "const key =\n" + " +\n".join(f"  '{l}\\n'" for l in key) + ";\n", "js-concat"),
         ("pem", P, "signing:\n  key: |\n" + "\n".join("    " + l for l in key) + "\n", "yaml-block"),
         ("pem", P, 'var key = "' + "\\r\\n".join(key) + '";\n', "cs-crlf"),
         ("pem", P, "PRIVATE_KEY=\"" + "\\n".join(key) + "\"\n", "env-escaped"),
         ("pem", P, "  private_key = <<EOF\n" + "\n".join(key) + "\nEOF\n", "tf-heredoc"),
         ("pem", P, 'String key = "' + key[0] + '\\n" +\n' + "".join(f'    "{l}" +\n' for l in key[1:-1]) + f'    "\\n{key[-1]}";\n', "java-nonl"),
        ]
        pw = F.rand(g, A, 6) + g.choice("@:") + F.rand(g, A, 6) + g.choice("@:!") + F.rand(g, A, 3)
        D = ["database.url-password", "url.userinfo-password"]
        out += [
         ("db-url", D, f"DATABASE_URL=postgres://app:{pw}@db.internal:5432/orders\n", "env"),
         ("db-url", D, f'mongo_uri = "mongodb+srv://svc:{pw}@cluster0.abcde.mongodb.net/app?retryWrites=true"\n', "py"),
         ("db-url", D, f"  url: mysql://root:{pw}@10.0.0.5:3306/shop\n", "yaml"),
         ("db-url", D, f"REDIS_URL=redis://:{pw}@cache.internal:6379/0\n", "redis"),
        ]
        out += [
         ("stripe-rk", ["stripe.secret-key"], f"STRIPE_KEY=rk_live_{F.rand(g, A, 99)}\n", "env"),
         ("stripe-test", ["stripe.test-key"], f"Stripe.api_key = 'sk_test_{F.rand(g, A, 24)}'\n", "ruby"),
         ("stripe-test", ["stripe.test-key"], f"const stripe = require('stripe')('sk_test_{F.rand(g, A, 99)}');\n", "js"),
         ("slack-short", ["slack.token"], f"SLACK_TOKEN=xoxp-{F.rand(g, '0123456789', 4)}-{F.rand(g, '0123456789', 5)}-{F.rand(g, '0123456789', 6)}-{F.rand(g, '0123456789abcdef', 32)}\n", "env"),
         ("slack-short", ["slack.token"], f'token = "xoxb-{F.rand(g, "0123456789", 3)}-{F.rand(g, "0123456789", 4)}-{F.rand(g, A, 24)}"\n', "py"),
         ("gitlab-routable", ["gitlab.token"], f"GITLAB_TOKEN=glpat-{F.rand(g, A + '_-', 36)}.01.{F.rand(g, '0123456789abcdefghijklmnopqrstuvwxyz', 9)}\n", "env"),
         ("hex-strong", GEN_RULES + ["azure.entra-client-secret-legacy"], f'client_secret = "{hexs(g, 40)}"\n', "py"),
         ("hex-strong", GEN_RULES, f"  api_secret: {hexs(g, 64)}\n", "yaml"),
         ("hex-strong", GEN_RULES, f'  "apiKey": "{hexs(g, 32)}",\n', "json"),
        ]
    return out

def main3():
    out = sys.argv[1]; seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = random.Random(seed + 2000)
    exp = json.load(open(os.path.join(out, "expected.json")))
    d = os.path.join(out, "item2"); os.makedirs(d, exist_ok=True)
    for i, (kind, rules, text, ctx) in enumerate(item2(g)):
        p = os.path.join(d, f"{kind}-{ctx}-{i}.txt"); open(p, "w").write(text)
        exp.append({"path": p, "kind": kind, "ctx": ctx, "rule": rules, "value": ""})
    json.dump(exp, open(os.path.join(out, "expected.json"), "w"), indent=0)

if __name__ == "__main__":
    main3()

# ---- provider-word names in many assignment forms (kind: provider word, suffixes) ----
PW = {
 "twilio": ("twilio", ["Token", "_secret", "AuthToken"]), "datadog": ("datadog", ["ApiKey", "_api_key", "Token"]),
 "travis": ("travis", ["Token", "_api_token"]), "drone": ("drone", ["Token", "_token"]),
 "jenkins": ("jenkins", ["Token", "_api_token"]), "confluent": ("confluent", ["Secret", "_api_secret"]),
 "okta": ("okta", ["Token", "_api_token", "ApiKey"]), "ibm-cloud": ("ibm", ["ApiKey", "_cloud_api_key"]),
 "cloudflare-token": ("cloudflare", ["Token", "ApiToken", "_api_key"]), "alibaba-secret": ("alibaba", ["Secret", "_secret_key", "AccessKeySecret"]),
 "pagerduty": ("pagerduty", ["Token", "_api_key", "RoutingKey"]), "infisical": ("infisical", ["Token", "_client_secret"]),
 "vault-legacy": ("vault", ["Token", "_token"]), "heroku-legacy": ("heroku", ["ApiKey", "_api_key", "Token"]),
 "snyk": ("snyk", ["Token", "_token", "ApiKey"]), "opsgenie": ("opsgenie", ["ApiKey", "_api_key", "Key"]),
 "npm-legacy": ("npm", ["Token", "_auth_token"]), "atlas-private-key": ("atlas", ["PrivateKey", "_private_key"]),
 "azure-ai-legacy": ("azureOpenai", ["ApiKey", "Key"]), "azure-search-legacy": ("search", ["AdminKey", "ApiKey"]),
 "azure-event-grid": ("eventGrid", ["Key", "TopicKey"]), "mailgun": ("mailgun", ["ApiKey", "_api_key"]),
 "mailchimp": ("mailchimp", ["ApiKey", "_key"]), "jfrog-reference": ("artifactory", ["Token", "_access_token"]),
}
FORMS = {
 "go_short": lambda n, v: f'\t{n} := "{v}"\n', "go_var": lambda n, v: f'var {n} = "{v}"\n',
 "py_sq": lambda n, v: f"{n} = '{v}'\n", "json": lambda n, v: f'{{"{n}": "{v}"}}\n', "yaml": lambda n, v: f"{n}: {v}\n",
 "yaml_nosp": lambda n, v: f"{n}:{v}\n", "make": lambda n, v: f"{n.upper()} ?= \"{v}\"\n", "xml": lambda n, v: f"<{n}>{v}</{n}>\n",
 "java": lambda n, v: f'String {n} = "{v}";\n', "setprop": lambda n, v: f'System.setProperty("{n.upper()}", "{v}");\n',
 "ruby": lambda n, v: f'  {n} => "{v}",\n', "env_upper": lambda n, v: f"{n.upper()}={v}\n",
 "ini_nosp": lambda n, v: f"{n}={v}\n", "bt": lambda n, v: f"{n} = `{v}`\n",
}

def snake_upper(p, s):
    import re as _re
    n = p + s
    return _re.sub(r"(?<=[a-z])(?=[A-Z])", "_", n)

def main4():
    out = sys.argv[1]; seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = random.Random(seed + 3000)
    exp = json.load(open(os.path.join(out, "expected.json")))
    d = os.path.join(out, "pw"); os.makedirs(d, exist_ok=True)
    for kind, (p, sfx) in PW.items():
        fam, rule, names, gen = gp.KINDS[kind]
        for fname, f in FORMS.items():
            n = p + g.choice(sfx)
            if fname in ("env_upper", "make", "setprop"): n = snake_upper(p, g.choice(sfx)).replace("__", "_")
            path = os.path.join(d, f"{kind}-{fname}.txt"); v = gen(g)
            text = f(n, v).replace(n.upper(), n.upper()) if fname not in ("env_upper", "make", "setprop") else f(n, v)
            open(path, "w").write(text)
            exp.append({"path": path, "kind": "pw-" + kind, "ctx": fname, "rule": rule, "value": v})
    json.dump(exp, open(os.path.join(out, "expected.json"), "w"), indent=0)

if __name__ == "__main__":
    main4()
