#!/usr/bin/env python3
"""Recall/precision corpus for the provider families (patterns/google.yml, azure-services.yml,
hashicorp.yml, atlassian.yml, ai.yml, messaging.yml, observability.yml,
cloud-providers.yml, saas.yml, registries.yml, secret-managers.yml, cicd.yml and
the gaps closed in the older families): format-valid fake credentials, made
from a seed (checksums and embedded structures included), in realistic files
(.env, YAML, JSON, shell, Python, Go, properties, CI logs, TypeScript, XML
elements and key / value attributes, Kubernetes env entries, Dockerfile ENV,
PHP arrays, make ?=, Java setProperty, Terraform variable defaults), and decoys that must
produce no finding: documentation placeholders (hf_xxxxxxxx…, sk-proj-EXAMPLE…,
AIzaSyYourApiKeyHere…, keyboard sequences in the token's format), the same
prefixes at the wrong length or in the wrong alphabet, template references,
code that reads a token from elsewhere and prose that names a prefix. age keys
with a corrupted bech32 checksum are planted (kind age-bad-checksum): reported,
as a mistyped key may still be a leak, but validated: none.

Writes OUT/tree/... and OUT/expected.json (family, kind, path, line and the
rule that must report it), in the layout tests/tools/score-families.py reads.

  corpus/gen-providers.py OUT [--seed N] [--per-kind K]
  corpus/gen-providers.py --sample KIND [--seed N]   print one value
"""
import argparse
import base64
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes as F  # noqa: E402

ALNUM = F.ALNUM
UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
DIGITS = "0123456789"


def r(rng, alphabet, n):
    return F.rand(rng, alphabet, n)


def uuid(rng):
    return "-".join(r(rng, HEX, n) for n in (8, 4, 4, 4, 12))


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---- bech32 (BIP 173), as age encodes its X25519 identities -------------------

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_encode(hrp, data):
    bits, acc, five = 0, 0, []
    for b in data:
        acc = acc << 8 | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append(acc >> bits & 31)
    if bits:
        five.append(acc << (5 - bits) & 31)
    pre = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = _polymod(pre + five + [0] * 6) ^ 1
    check = [pm >> 5 * (5 - i) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[d] for d in five + check)


def age_key(rng):
    return bech32_encode("age-secret-key-", F.rbytes(rng, 32)).upper()


# ---- macaroons (PyPI / TestPyPI upload tokens) ----------------------------------

def _field(kind, data):
    assert len(data) < 128
    return bytes([kind, len(data)]) + data


def macaroon(rng, location):
    """A version-2 binary macaroon: location, identifier, one caveat, signature."""
    ident = json.dumps({"version": 1, "nonce": r(rng, HEX, 16)}).encode()[:100]
    caveat = json.dumps({"version": 1, "expiration": 1790000000 + rng.randrange(10**6)}).encode()
    body = bytes([2]) + _field(1, location.encode()) + _field(2, ident) + b"\0" + \
        _field(2, caveat) + b"\0" + b"\0" + bytes([6, 32]) + F.rbytes(rng, 32)
    return "pypi-" + b64url(body)


# ---- one generator per kind: rng -> the secret ---------------------------------

def openai(rng):
    k = rng.randrange(3)
    if k == 0:
        return "sk-proj-" + r(rng, URLSAFE, 74) + "T3BlbkFJ" + r(rng, URLSAFE, 74)
    if k == 1:
        return "sk-svcacct-" + r(rng, URLSAFE, 74) + "T3BlbkFJ" + r(rng, URLSAFE, 74)
    return "sk-" + r(rng, ALNUM, 20) + "T3BlbkFJ" + r(rng, ALNUM, 20)


def slack_legacy(rng):
    p = rng.choice(["xoxp", "xoxb", "xoxs"])
    groups = [r(rng, DIGITS, rng.randrange(3, 8)) for _ in range(rng.choice([2, 3]))]
    tail = r(rng, HEX, 32) if p != "xoxb" else r(rng, ALNUM, 24)
    return "-".join([p] + groups + [tail])


def teams(rng):
    t = rng.choice(["contoso", "fabrikam", "northwind"])
    url = f"https://{t}.webhook.office.com/webhookb2/{uuid(rng)}@{uuid(rng)}/IncomingWebhook/{r(rng, HEX, 32)}/{uuid(rng)}"
    return url + ("/V2" + r(rng, URLSAFE, 45) if rng.random() < 0.5 else "")


def sentry_org(rng):
    payload = {"iat": 1700000000 + rng.randrange(10**7), "url": "https://sentry.io",
               "region_url": "https://us.sentry.io", "org": rng.choice(["acme", "orders-team", "platform"])}
    b = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return "sntrys_" + b + "_" + r(rng, F.B64, 43)


def grafana_cloud(rng):
    payload = {"o": r(rng, DIGITS, 6), "n": "stack-" + r(rng, DIGITS, 6) + "-hm-read-ci",
               "k": r(rng, ALNUM, 24), "m": {"r": rng.choice(["prod-us-east-0", "prod-eu-west-2"])}}
    return "glc_" + base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def onepassword(rng):
    payload = {"signInAddress": "my.1password.com", "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256",
               "iterations": 650000, "salt": r(rng, URLSAFE, 22)}, "email": r(rng, LOWER_DIGITS, 12) + "@1passwordserviceaccounts.com",
               "srpX": r(rng, HEX, 64), "muk": {"alg": "A256GCM", "ext": True, "k": r(rng, URLSAFE, 43), "key_ops": ["encrypt", "decrypt"],
               "kty": "oct", "kid": "mp"}, "secretKey": "A3-" + r(rng, UPPER_DIGITS, 6), "throttleSecret": {"seed": r(rng, HEX, 64), "uuid": r(rng, UPPER_DIGITS, 26)},
               "deviceUuid": r(rng, LOWER_DIGITS, 26)}
    return "ops_" + b64url(json.dumps(payload, separators=(",", ":")).encode())


def jfrog_reference(rng):
    raw = f"reftkn:01:{1790000000 + rng.randrange(10**8)}:{r(rng, ALNUM, 27)}".encode()
    return base64.b64encode(raw).decode()


def wireguard_conf(rng):
    key = base64.b64encode(F.rbytes(rng, 32)).decode()
    peer = base64.b64encode(F.rbytes(rng, 32)).decode()
    return ["[Interface]", f"Address = 10.{rng.randrange(250)}.0.2/24", f"PrivateKey = {key}",
            "ListenPort = 51820", "", "[Peer]", f"PublicKey = {peer}",
            "AllowedIPs = 0.0.0.0/0", "Endpoint = vpn.example.net:51820"], 2, ".conf"


def pem_concat(rng):
    """A PKCS#8 key in a Java / C# / JS source string, one line per string."""
    key = F.pem_key(rng.choice(["ec", "pkcs8"])).strip().split("\n")
    esc = rng.choice(["\\n", "\\r\\n"])
    lines = ["public final class Keys {", "    static final String SIGNING_KEY ="]
    lines += [f"        \"{l}{esc}\" +" for l in key[:-1]] + [f"        \"{key[-1]}{esc}\";", "}"]
    return lines, 2, ".java"


def pem_escaped(rng):
    """A key in one JSON / .env string with \\n or \\r\\n escapes."""
    key = F.pem_key(rng.choice(["ec", "rsa", "pkcs8"])).strip()
    esc = rng.choice(["\\n", "\\r\\n"])
    one = key.replace("\n", esc) + esc
    if rng.random() < 0.5:
        return ["{", "  \"issuer\": \"orders\",", f"  \"signing_key\": \"{one}\"", "}"], 2, ".json"
    return [f"JWT_PRIVATE_KEY=\"{one}\""], 0, ".env"


def age_corrupt(rng):
    """An age key with one character changed: still reported (a mistyped key may
    be a leak), but its bech32 checksum fails, so it is validated: none."""
    key = list(age_key(rng))
    i = rng.randrange(16, len(key))
    key[i] = rng.choice([c for c in gp_upper_bech32() if c != key[i]])
    return ["# created: 2026-02-01T10:00:00Z", "# public key: (see the recipients file)", "".join(key)], 2, ".txt"


def gp_upper_bech32():
    return BECH32.upper()


def testpypi(rng):
    return macaroon(rng, "test.pypi.org")


def gen_octopus(rng):
    return "API-" + r(rng, UPPER_DIGITS, 27)


# Microsoft identifiable keys that fakes.py does not make yet: (bytes, URL-safe, seed).
F.IDENTIFIABLE.update({"AzCa": (32, False, "Access00"), "AzSe": (39, False, "PAdmin00"),
                       "AIoT": (32, False, "IoTHub00"), "+ABa": (64, False, "AbAcct00")})


def b64key(rng, n=32):
    return base64.b64encode(F.rbytes(rng, n)).decode()


def redis_cs(rng):
    return f"orders-{r(rng, LOWER_DIGITS, 5)}.redis.cache.windows.net:6380,password={b64key(rng)},ssl=True,abortConnect=False"


def iot_cs(rng):
    hub = f"orders-hub-{r(rng, LOWER_DIGITS, 4)}"
    who = rng.choice(["SharedAccessKeyName=iothubowner", "DeviceId=sensor-" + r(rng, DIGITS, 3)])
    return f"HostName={hub}.azure-devices.net;{who};SharedAccessKey={b64key(rng)}"


def appconfig_cs(rng):
    return (f"Endpoint=https://orders-cfg-{r(rng, LOWER_DIGITS, 4)}.azconfig.io;Id={r(rng, ALNUM, 4)}-l0-s0:"
            f"{r(rng, ALNUM, 20)};Secret={b64key(rng)}")


def signalr_cs(rng):
    host = rng.choice(["orders.service.signalr.net", "orders.webpubsub.azure.com"])
    return f"Endpoint=https://{host};AccessKey={b64key(rng)};Version=1.0;"


# ---- providers-2026.yml ---------------------------------------------------------

def discord_bot(rng):
    """base64url of the bot's numeric id (a snowflake), a timestamp, an HMAC."""
    uid = str(rng.randrange(10**16, 10**19))
    return b64url(uid.encode()) + "." + r(rng, URLSAFE, 6) + "." + r(rng, URLSAFE, rng.choice([27, 38]))


def mapbox_token(rng):
    payload = {"u": r(rng, "abcdefghijklmnopqrstuvwxyz", rng.randint(5, 12)), "a": r(rng, LOWER_DIGITS, 25)}
    return rng.choice(["sk", "tk"]) + "." + b64url(json.dumps(payload, separators=(",", ":")).encode()) + "." + r(rng, URLSAFE, 22)


def fly_token(rng):
    def mac():
        return "fm2_" + base64.b64encode(F.rbytes(rng, rng.randint(120, 300))).decode()
    k = rng.randrange(3)
    if k == 0:
        return "FlyV1 " + mac()
    if k == 1:
        return mac() + "," + mac()
    return "fo1_" + r(rng, URLSAFE, 43)


def supabase_secret(rng):
    if rng.random() < 0.3:
        return "sb_secret_" + r(rng, URLSAFE, 31)
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    if rng.random() < 0.5:
        body = {"iss": "supabase", "ref": r(rng, "abcdefghijklmnopqrstuvwxyz", 20), "role": "service_role",
                "iat": 1700000000 + rng.randrange(10**7), "exp": 2015000000 + rng.randrange(10**7)}
    else:
        body = {"role": "service_role", "iat": 1625000000 + rng.randrange(10**7), "exp": 1940000000 + rng.randrange(10**7)}
    return head + "." + b64url(json.dumps(body, separators=(",", ":")).encode()) + "." + r(rng, URLSAFE, 43)


def asana_pat(rng):
    if rng.random() < 0.5:
        return f"1/{r(rng, DIGITS, 16)}:{r(rng, HEX, 32)}"
    return f"2/{r(rng, DIGITS, 16)}/{r(rng, DIGITS, 16)}:{r(rng, HEX, 32)}"


def coinbase_secret(rng):
    return rng.choice([r(rng, ALNUM, 32), base64.b64encode(F.rbytes(rng, 64)).decode()])


# kind: (family, rule, names to assign it to, generator)
KINDS = {
    "google-api-key": ("google", "google.api-key", ["GOOGLE_API_KEY", "MAPS_API_KEY", "firebase_api_key"],
                       lambda g: "AIzaSy" + r(g, URLSAFE, 33)),
    "google-oauth-secret": ("google", "google.oauth-client-secret", ["GOOGLE_CLIENT_SECRET", "client_secret"],
                            lambda g: "GOCSPX-" + r(g, URLSAFE, 28)),
    "google-refresh-token": ("google", "google.oauth-refresh-token", ["GOOGLE_REFRESH_TOKEN", "refresh_token"],
                             lambda g: "1//0" + r(g, ALNUM, 1) + r(g, URLSAFE, 98)),
    "vault-token": ("hashicorp", "vault.token", ["VAULT_TOKEN", "vault_token", "X_VAULT_TOKEN"],
                    lambda g: g.choice(["hvs." + r(g, ALNUM, 24), "hvs.CAESI" + r(g, URLSAFE, 86),
                                        "hvb.AAAAAQ" + r(g, URLSAFE, 128), "hvr." + r(g, ALNUM, 24)])),
    "vault-legacy": ("hashicorp", "vault.token-legacy", ["VAULT_TOKEN", "vault_token"],
                     lambda g: g.choice("sb") + "." + r(g, ALNUM, 24)),
    "terraform-cloud": ("hashicorp", "terraform.api-token", ["TFE_TOKEN", "TF_TOKEN_app_terraform_io", "token"],
                        lambda g: r(g, ALNUM, 14) + ".atlasv1." + r(g, ALNUM, 67)),
    "atlassian-api": ("atlassian", "atlassian.api-token", ["JIRA_API_TOKEN", "CONFLUENCE_TOKEN", "atlassian_token"],
                      lambda g: "ATATT3xFfGF0" + r(g, URLSAFE, 171) + "=" + r(g, "0123456789ABCDEF", 8)),
    "bitbucket-app-password": ("atlassian", "bitbucket.app-password", ["BITBUCKET_APP_PASSWORD", "bb_password"],
                               lambda g: "ATBB" + r(g, ALNUM, 24) + r(g, "0123456789ABCDEF", 8)),
    "bitbucket-access-token": ("atlassian", "bitbucket.access-token", ["BITBUCKET_ACCESS_TOKEN", "BB_TOKEN"],
                               lambda g: "ATCTT3xFfGN0" + r(g, URLSAFE, 171) + "=" + r(g, "0123456789ABCDEF", 8)),
    "openai": ("ai", "openai.api-key", ["OPENAI_API_KEY", "openai_key"], openai),
    "anthropic": ("ai", "anthropic.api-key", ["ANTHROPIC_API_KEY", "CLAUDE_KEY"],
                  lambda g: g.choice(["sk-ant-api03-", "sk-ant-admin01-"]) + r(g, URLSAFE, 93) + "AA"),
    "huggingface": ("ai", "huggingface.token", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "hf_token"],
                    lambda g: g.choice(["hf_", "api_org_"]) + r(g, LETTERS, 34)),
    "groq": ("ai", "groq.api-key", ["GROQ_API_KEY"], lambda g: "gsk_" + r(g, ALNUM, 52)),
    "slack-webhook": ("messaging", "slack.webhook-url", ["SLACK_WEBHOOK_URL", "slack_webhook"],
                      lambda g: "https://hooks.slack.com/services/T" + r(g, UPPER_DIGITS, 8) + "/B" +
                      r(g, UPPER_DIGITS, 10) + "/" + r(g, ALNUM, 24)),
    "slack-app-token": ("messaging", "slack.app-token", ["SLACK_APP_TOKEN"],
                        lambda g: "xapp-1-A" + r(g, UPPER_DIGITS, 10) + "-" + r(g, DIGITS, 13) + "-" + r(g, HEX, 64)),
    "slack-config-token": ("messaging", "slack.config-token", ["SLACK_CONFIG_TOKEN", "SLACK_REFRESH_TOKEN"],
                           lambda g: g.choice(["xoxe.xoxp-1-", "xoxe.xoxb-1-", "xoxe-1-"]) + r(g, ALNUM, 146)),
    "slack-legacy": ("messaging", "slack.token", ["SLACK_TOKEN", "slack_api_token"], slack_legacy),
    "teams-webhook": ("messaging", "microsoft.teams-webhook", ["TEAMS_WEBHOOK_URL", "teams_webhook"], teams),
    "aws-session-token": ("aws", "aws.session-token", ["AWS_SESSION_TOKEN", "aws_session_token"],
                          lambda g: g.choice(["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"]) + r(g, F.B64, g.randrange(300, 700))),
    "aws-bedrock": ("aws", "aws.bedrock-api-key", ["AWS_BEARER_TOKEN_BEDROCK"],
                    lambda g: "ABSK" + base64.b64encode(("BedrockAPIKey-" + r(g, LOWER_DIGITS, 4) + "-at-" +
                                                         r(g, DIGITS, 12) + ":" + r(g, F.B64, 40)).encode()).decode()),
    "datadog": ("observability", "datadog.api-key", ["DD_API_KEY", "DATADOG_APP_KEY", "DD_APPLICATION_KEY"],
                lambda g: r(g, HEX, g.choice([32, 40]))),
    "newrelic": ("observability", "newrelic.key", ["NEW_RELIC_API_KEY", "NEW_RELIC_LICENSE_KEY", "NEW_RELIC_INSERT_KEY"],
                 lambda g: g.choice(["NRAK-" + r(g, UPPER_DIGITS, 27), r(g, HEX, 36) + "NRAL",
                                     "NRII-" + r(g, URLSAFE, 32)])),
    "dynatrace": ("observability", "dynatrace.token", ["DT_API_TOKEN", "DYNATRACE_TOKEN"],
                  lambda g: "dt0c01." + r(g, UPPER_DIGITS, 24) + "." + r(g, UPPER_DIGITS, 64)),
    "grafana-cloud": ("observability", "grafana.cloud-token", ["GRAFANA_CLOUD_TOKEN", "GCLOUD_ACCESS_POLICY_TOKEN"], grafana_cloud),
    "grafana-sa": ("observability", "grafana.service-account-token", ["GRAFANA_TOKEN", "GF_SA_TOKEN"],
                   lambda g: "glsa_" + r(g, ALNUM, 32) + "_" + r(g, HEX, 8)),
    "sentry-org": ("observability", "sentry.org-token", ["SENTRY_AUTH_TOKEN"], sentry_org),
    "sentry-user": ("observability", "sentry.user-token", ["SENTRY_AUTH_TOKEN", "sentry_token"],
                    lambda g: "sntryu_" + r(g, HEX, 64)),
    "sonar": ("observability", "sonarqube.token", ["SONAR_TOKEN", "sonar.token"],
              lambda g: g.choice(["squ_", "sqp_", "sqa_"]) + r(g, HEX, 40)),
    "digitalocean": ("cloud", "digitalocean.token", ["DIGITALOCEAN_TOKEN", "DO_TOKEN"],
                     lambda g: g.choice(["dop_v1_", "doo_v1_", "dor_v1_"]) + r(g, HEX, 64)),
    "heroku": ("cloud", "heroku.api-key", ["HEROKU_API_KEY"], lambda g: "HRKU-AA" + r(g, URLSAFE, 58)),
    "alibaba-id": ("cloud", "alibaba.access-key-id", ["ALIBABA_CLOUD_ACCESS_KEY_ID", "access_key_id"],
                   lambda g: "LTAI5t" + r(g, ALNUM, 18)),
    "alibaba-secret": ("cloud", "alibaba.access-key-secret", ["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"],
                       lambda g: r(g, ALNUM, 30)),
    "databricks": ("cloud", "databricks.token", ["DATABRICKS_TOKEN"], lambda g: "dapi" + r(g, HEX, 32)),
    "openshift": ("cloud", "openshift.token", ["OPENSHIFT_TOKEN", "OC_TOKEN"], lambda g: "sha256~" + r(g, URLSAFE, 43)),
    "cloudflare-token": ("cloud", "cloudflare.api-token", ["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"],
                         lambda g: r(g, URLSAFE, 40)),
    "cloudflare-origin-ca": ("cloud", "cloudflare.origin-ca-key", ["CF_ORIGIN_CA_KEY"],
                             lambda g: "v1.0-" + r(g, HEX, 24) + "-" + r(g, HEX, 146)),
    "ibm-cloud": ("cloud", "ibm.cloud-api-key", ["IBMCLOUD_API_KEY", "IC_API_KEY"], lambda g: r(g, URLSAFE, 44)),
    "okta": ("cloud", "okta.api-token", ["OKTA_API_TOKEN", "OKTA_CLIENT_TOKEN"], lambda g: "00" + r(g, URLSAFE, 40)),
    "confluent": ("cloud", "confluent.api-secret", ["CONFLUENT_CLOUD_API_SECRET", "KAFKA_API_SECRET"],
                  lambda g: r(g, ALNUM + "+/", 64)),
    "twilio": ("saas", "twilio.auth-token", ["TWILIO_AUTH_TOKEN", "TWILIO_API_SECRET"], lambda g: r(g, HEX, 32)),
    "sendgrid": ("saas", "sendgrid.api-key", ["SENDGRID_API_KEY"],
                 lambda g: "SG." + r(g, URLSAFE, 22) + "." + r(g, URLSAFE, 43)),
    "mailgun": ("saas", "mailgun.api-key", ["MAILGUN_API_KEY"],
                lambda g: g.choice(["key-" + r(g, HEX, 32), r(g, HEX, 32) + "-" + r(g, HEX, 8) + "-" + r(g, HEX, 8)])),
    "mailchimp": ("saas", "mailchimp.api-key", ["MAILCHIMP_API_KEY"],
                  lambda g: r(g, HEX, 32) + "-us" + str(g.randrange(1, 22))),
    "shopify": ("saas", "shopify.token", ["SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET"],
                lambda g: g.choice(["shpat_", "shpss_", "shpca_", "shppa_"]) + r(g, "0123456789abcdef", 32)),
    "postman": ("saas", "postman.api-key", ["POSTMAN_API_KEY"],
                lambda g: "PMAK-" + r(g, HEX, 24) + "-" + r(g, HEX, 34)),
    "stripe-test": ("payments", "stripe.test-key", ["STRIPE_SECRET_KEY", "stripe_key"],
                    lambda g: g.choice(["sk_test_", "rk_test_"]) + r(g, ALNUM, g.choice([24, 99]))),
    "stripe-restricted": ("payments", "stripe.secret-key", ["STRIPE_RESTRICTED_KEY"],
                          lambda g: "rk_live_" + r(g, ALNUM, g.choice([24, 99]))),
    "stripe-webhook": ("payments", "webhook.signing-secret", ["STRIPE_WEBHOOK_SECRET", "WEBHOOK_SECRET"],
                       lambda g: g.choice(["whsec_" + r(g, ALNUM, 32), "whsec_" + b64key(g, 24)])),
    "nuget": ("registries", "nuget.api-key", ["NUGET_API_KEY"], lambda g: "oy2" + r(g, LOWER_DIGITS, 43)),
    "rubygems": ("registries", "rubygems.api-key", ["GEM_HOST_API_KEY", "RUBYGEMS_API_KEY"],
                 lambda g: "rubygems_" + r(g, HEX, 48)),
    "crates": ("registries", "crates.api-token", ["CARGO_REGISTRY_TOKEN"], lambda g: "cio" + r(g, ALNUM, 32)),
    "dockerhub": ("registries", "docker.hub-token", ["DOCKERHUB_TOKEN", "DOCKER_PASSWORD"],
                  lambda g: g.choice(["dckr_pat_" + r(g, URLSAFE, 27), "dckr_oat_" + r(g, URLSAFE, 32)])),
    "testpypi": ("registries", "pypi.test-token", ["TEST_PYPI_TOKEN", "TWINE_PASSWORD"], testpypi),
    "jfrog-reference": ("registries", "jfrog.token", ["ARTIFACTORY_TOKEN", "JFROG_ACCESS_TOKEN"], jfrog_reference),
    "jfrog-api-key": ("registries", "jfrog.token", ["ARTIFACTORY_API_KEY"], lambda g: "AKCp8" + r(g, ALNUM, 68)),
    "doppler": ("secret-managers", "doppler.token", ["DOPPLER_TOKEN"],
                lambda g: g.choice(["dp.pt.", "dp.st.prd.", "dp.sa.", "dp.ct."]) + r(g, ALNUM, 43)),
    "onepassword": ("secret-managers", "1password.service-account-token", ["OP_SERVICE_ACCOUNT_TOKEN"], onepassword),
    "pulumi": ("secret-managers", "pulumi.access-token", ["PULUMI_ACCESS_TOKEN"], lambda g: "pul-" + r(g, HEX, 40)),
    "age": ("secret-managers", "age.secret-key", ["SOPS_AGE_KEY", "AGE_KEY"], age_key),
    "circleci": ("cicd", "circleci.token", ["CIRCLECI_TOKEN", "CIRCLE_TOKEN"],
                 lambda g: g.choice(["CCIPAT_", "CCIPRJ_"]) + r(g, ALNUM, 22) + "_" + r(g, HEX, 40)),
    "buildkite": ("cicd", "buildkite.token", ["BUILDKITE_API_TOKEN"], lambda g: "bkua_" + r(g, HEX, 40)),
    "octopus": ("cicd", "octopus.api-key", ["OCTOPUS_API_KEY", "OctopusApiKey"], gen_octopus),
    "harness": ("cicd", "harness.token", ["HARNESS_API_KEY", "HARNESS_PLATFORM_API_KEY"],
                lambda g: g.choice(["pat.", "sat."]) + r(g, URLSAFE, 22) + "." + r(g, HEX, 24) + "." + r(g, ALNUM, 20)),
    "gitlab-runner-registration": ("cicd", "gitlab.runner-registration-token", ["REGISTRATION_TOKEN", "CI_SERVER_TOKEN"],
                                   lambda g: "GR1348941" + r(g, URLSAFE, 20)),
    "gitlab-agent": ("cicd", "gitlab.token", ["GITLAB_AGENT_TOKEN", "agent_token"], lambda g: "glagent-" + r(g, URLSAFE, 50)),
    "gitlab-exact": ("cicd", "gitlab.token", ["GITLAB_TOKEN", "CI_JOB_TOKEN"],
                     lambda g: g.choice(["glpat-", "gldt-", "glrt-", "glft-"]) + r(g, URLSAFE, 20)),
    "jenkins": ("cicd", "jenkins.api-token", ["JENKINS_API_TOKEN", "jenkins_token"], lambda g: "11" + r(g, HEX, 32)),
    "drone": ("cicd", "drone.token", ["DRONE_TOKEN"], lambda g: r(g, ALNUM, 32)),
    "azure-search": ("azure-services", "azure.search-key", ["AZURE_SEARCH_ADMIN_KEY", "SEARCH_API_KEY"],
                     lambda g: F.identifiable(g, "AzSe")),
    "azure-search-legacy": ("azure-services", "azure.search-key", ["AZURE_SEARCH_KEY", "SEARCH_ADMIN_KEY"],
                            lambda g: r(g, "0123456789ABCDEF", 32)),
    "azure-redis": ("azure-services", "azure.redis-key", ["REDIS_ACCESS_KEY", "AZURE_REDIS_KEY"],
                    lambda g: F.identifiable(g, "AzCa")),
    "azure-redis-cs": ("azure-services", "azure.redis-key", ["REDIS_CONNECTION", "CacheConnection"], redis_cs),
    "azure-iot": ("azure-services", "azure.iot-key", ["IOTHUB_KEY", "DEVICE_KEY"], lambda g: F.identifiable(g, "AIoT")),
    "azure-iot-cs": ("azure-services", "azure.iot-key", ["IOTHUB_CONNECTION_STRING", "DEVICE_CONNECTION_STRING"], iot_cs),
    "azure-batch": ("azure-services", "azure.batch-key", ["BATCH_ACCOUNT_KEY", "AZURE_BATCH_KEY"],
                    lambda g: F.identifiable(g, "+ABa")),
    "azure-app-configuration": ("azure-services", "azure.app-configuration-connection-string",
                                ["APP_CONFIG_CONNECTION_STRING", "AppConfig"], appconfig_cs),
    "azure-signalr": ("azure-services", "azure.signalr-connection-string",
                      ["AZURE_SIGNALR_CONNECTION_STRING", "WEBPUBSUB_CONNECTION"], signalr_cs),
    "azure-event-grid": ("azure-services", "azure.event-grid-key", ["AEG_SAS_KEY", "EVENTGRID_TOPIC_KEY"], b64key),
    "azure-ai-legacy": ("azure-services", "azure.ai-services-key", ["AZURE_OPENAI_API_KEY", "SPEECH_KEY", "COGNITIVE_SERVICE_KEY"],
                        lambda g: r(g, HEX, 32)),
    "pagerduty": ("observability", "pagerduty.api-key", ["PAGERDUTY_API_KEY", "PAGERDUTY_TOKEN", "PAGERDUTY_ROUTING_KEY"],
                  lambda g: g.choice([r(g, ALNUM + "_-", 20), "u+" + r(g, ALNUM + "_-", 18), r(g, HEX, 32)])),
    "travis": ("cicd", "travis.api-token", ["TRAVIS_API_TOKEN", "TRAVIS_TOKEN"], lambda g: r(g, URLSAFE, 22)),
    "infisical": ("secret-managers", "infisical.token", ["INFISICAL_TOKEN", "INFISICAL_CLIENT_SECRET"],
                  lambda g: g.choice(["st." + uuid(g) + "." + r(g, HEX, 32) + "." + r(g, HEX, 32), r(g, HEX, 64)])),
    "replicate": ("ai", "replicate.api-token", ["REPLICATE_API_TOKEN"], lambda g: "r8_" + r(g, ALNUM, 37)),
    "openrouter": ("ai", "openrouter.api-key", ["OPENROUTER_API_KEY"], lambda g: "sk-or-v1-" + r(g, HEX, 64)),
    "perplexity": ("ai", "perplexity.api-key", ["PERPLEXITY_API_KEY", "PPLX_API_KEY"], lambda g: "pplx-" + r(g, ALNUM, 48)),
    "langsmith": ("ai", "langsmith.api-key", ["LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"],
                  lambda g: g.choice(["lsv2_pt_", "lsv2_sk_"]) + r(g, HEX, 32) + "_" + r(g, HEX, 10)),
    "xai": ("ai", "xai.api-key", ["XAI_API_KEY"], lambda g: "xai-" + r(g, ALNUM, 80)),
    "tailscale": ("cloud", "tailscale.key", ["TS_AUTHKEY", "TAILSCALE_API_KEY", "TS_OAUTH_CLIENT_SECRET"],
                  lambda g: "tskey-" + g.choice(["auth", "api", "client"]) + "-k" + r(g, ALNUM, 10) + "CNTRL-" + r(g, ALNUM, 32)),
    "linear": ("saas", "linear.api-key", ["LINEAR_API_KEY"], lambda g: "lin_api_" + r(g, ALNUM, 40)),
    "telegram": ("saas", "telegram.bot-token", ["TELEGRAM_BOT_TOKEN", "TG_BOT_TOKEN"],
                 lambda g: r(g, DIGITS, 10) + ":AA" + r(g, URLSAFE, 33)),
    "supabase": ("cloud", "supabase.access-token", ["SUPABASE_ACCESS_TOKEN"], lambda g: "sbp_" + r(g, HEX, 40)),
    # providers-more.yml
    "google-oauth-access": ("google", "google.oauth-access-token", ["GOOGLE_OAUTH_ACCESS_TOKEN", "gcp_access_token"],
                            lambda g: "ya29." + g.choice(["a0", "c.", "A0"]) + r(g, URLSAFE, g.randint(100, 160))),
    "notion": ("saas", "notion.integration-token", ["NOTION_TOKEN", "NOTION_API_KEY"], lambda g: "ntn_" + r(g, ALNUM, 46)),
    "brevo": ("saas", "brevo.api-key", ["BREVO_API_KEY", "SENDINBLUE_API_KEY"],
              lambda g: "xkeysib-" + r(g, HEX, 64) + "-" + r(g, ALNUM, 16)),
    "square": ("saas", "square.access-token", ["SQUARE_ACCESS_TOKEN", "square_token"],
               lambda g: g.choice(["sq0atp-" + r(g, URLSAFE, 22), "EAAA" + r(g, URLSAFE, 60)])),
    "planetscale": ("cloud", "planetscale.token", ["PLANETSCALE_SERVICE_TOKEN", "DATABASE_PASSWORD"],
                    lambda g: g.choice(["pscale_tkn_", "pscale_pw_"]) + r(g, ALNUM, 43)),
    "discord-webhook": ("messaging", "discord.webhook-url", ["DISCORD_WEBHOOK_URL", "discord_webhook"],
                        lambda g: "https://discord.com/api/webhooks/" + r(g, DIGITS, 18) + "/" + r(g, URLSAFE, 68)),
    # providers-2026.yml (KINDS_2026)
    "discord-bot": ("messaging", "discord.bot-token", ["DISCORD_BOT_TOKEN", "DISCORD_TOKEN", "discord_token"], discord_bot),
    "discord-client-secret": ("messaging", "discord.client-secret", ["DISCORD_CLIENT_SECRET", "discord_oauth_secret"],
                              lambda g: r(g, URLSAFE, 32)),
    "twitch": ("messaging", "twitch.token", ["TWITCH_CLIENT_SECRET", "TWITCH_OAUTH_TOKEN"], lambda g: r(g, LOWER_DIGITS, 30)),
    "pinecone": ("ai", "pinecone.api-key", ["PINECONE_API_KEY"], lambda g: "pcsk_" + r(g, ALNUM, 6) + "_" + r(g, ALNUM, 64)),
    "pinecone-legacy": ("ai", "pinecone.api-key", ["PINECONE_API_KEY", "pinecone_key"], uuid),
    "cohere": ("ai", "cohere.api-key", ["COHERE_API_KEY", "cohere_key"], lambda g: r(g, ALNUM, 40)),
    "mistral": ("ai", "mistral.api-key", ["MISTRAL_API_KEY"], lambda g: r(g, ALNUM, 32)),
    "deepseek": ("ai", "deepseek.api-key", ["DEEPSEEK_API_KEY"], lambda g: "sk-" + r(g, HEX, 32)),
    "elevenlabs": ("ai", "elevenlabs.api-key", ["ELEVENLABS_API_KEY", "ELEVEN_API_KEY"], lambda g: "sk_" + r(g, HEX, 48)),
    "elevenlabs-legacy": ("ai", "elevenlabs.api-key", ["ELEVENLABS_API_KEY"], lambda g: r(g, HEX, 32)),
    "mapbox": ("cloud", "mapbox.secret-token", ["MAPBOX_SECRET_TOKEN", "MAPBOX_DOWNLOADS_TOKEN"], mapbox_token),
    "figma": ("saas", "figma.token", ["FIGMA_TOKEN", "FIGMA_ACCESS_TOKEN"], lambda g: "figd_" + r(g, URLSAFE, 40)),
    "flyio": ("cloud", "flyio.token", ["FLY_API_TOKEN", "FLY_ACCESS_TOKEN"], fly_token),
    "vercel": ("cloud", "vercel.token", ["VERCEL_TOKEN"], lambda g: g.choice(["vcp_", "vci_", "vca_"]) + r(g, ALNUM, 56)),
    "vercel-legacy": ("cloud", "vercel.token", ["VERCEL_TOKEN", "vercel_api_token"], lambda g: r(g, ALNUM, 24)),
    "netlify": ("cloud", "netlify.token", ["NETLIFY_AUTH_TOKEN"], lambda g: "nfp_" + r(g, ALNUM, 40)),
    "netlify-legacy": ("cloud", "netlify.token", ["NETLIFY_AUTH_TOKEN", "netlify_token"], lambda g: r(g, URLSAFE, 43)),
    "render": ("cloud", "render.api-key", ["RENDER_API_KEY"], lambda g: "rnd_" + r(g, ALNUM, 32)),
    "railway": ("cloud", "railway.token", ["RAILWAY_TOKEN", "RAILWAY_API_TOKEN"], uuid),
    "supabase-secret": ("cloud", "supabase.secret-key", ["SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SECRET_KEY"], supabase_secret),
    "firebase-fcm": ("cloud", "firebase.fcm-server-key", ["FCM_SERVER_KEY", "FIREBASE_SERVER_KEY"],
                     lambda g: "AAAA" + r(g, URLSAFE, 7) + ":APA91b" + r(g, URLSAFE, 134)),
    "auth0": ("identity", "auth0.client-secret", ["AUTH0_CLIENT_SECRET"], lambda g: r(g, URLSAFE, 64)),
    "clerk": ("identity", "clerk.secret-key", ["CLERK_SECRET_KEY"], lambda g: g.choice(["sk_live_", "sk_test_"]) + r(g, ALNUM, 42)),
    "keycloak": ("identity", "keycloak.client-secret", ["KEYCLOAK_CLIENT_SECRET"], lambda g: r(g, ALNUM, 32)),
    "algolia": ("saas", "algolia.admin-key", ["ALGOLIA_ADMIN_KEY", "ALGOLIA_API_KEY", "ALGOLIA_WRITE_API_KEY"], lambda g: r(g, HEX, 32)),
    "asana": ("saas", "asana.token", ["ASANA_ACCESS_TOKEN", "ASANA_PAT"], asana_pat),
    "airtable": ("saas", "airtable.token", ["AIRTABLE_API_KEY", "AIRTABLE_TOKEN"], lambda g: "pat" + r(g, ALNUM, 14) + "." + r(g, HEX, 64)),
    "dropbox": ("saas", "dropbox.token", ["DROPBOX_ACCESS_TOKEN"], lambda g: "sl." + g.choice(["u.", "B", "C"]) + r(g, URLSAFE, g.randint(135, 400))),
    "dropbox-long": ("saas", "dropbox.token", ["DROPBOX_REFRESH_TOKEN", "dropbox_token"], lambda g: r(g, URLSAFE, 64)),
    "box": ("saas", "box.token", ["BOX_CLIENT_SECRET", "BOX_DEVELOPER_TOKEN"], lambda g: r(g, ALNUM, 32)),
    "zoom": ("saas", "zoom.secret", ["ZOOM_CLIENT_SECRET", "ZOOM_API_SECRET"], lambda g: r(g, ALNUM, 32)),
    "launchdarkly": ("saas", "launchdarkly.key", ["LAUNCHDARKLY_SDK_KEY", "LD_SDK_KEY"], lambda g: g.choice(["sdk-", "mob-"]) + uuid(g)),
    "launchdarkly-api": ("saas", "launchdarkly.key", ["LAUNCHDARKLY_ACCESS_TOKEN"], lambda g: "api-" + uuid(g)),
    "segment": ("saas", "segment.token", ["SEGMENT_WRITE_KEY"], lambda g: r(g, ALNUM, 32)),
    "segment-api": ("saas", "segment.token", ["SEGMENT_API_TOKEN"], lambda g: "sgp_" + r(g, ALNUM, 64)),
    "mixpanel": ("saas", "mixpanel.secret", ["MIXPANEL_API_SECRET", "MIXPANEL_SERVICE_ACCOUNT_SECRET"], lambda g: r(g, ALNUM, 32)),
    "amplitude": ("saas", "amplitude.secret-key", ["AMPLITUDE_SECRET_KEY"], lambda g: r(g, HEX, 32)),
    "contentful": ("saas", "contentful.token", ["CONTENTFUL_MANAGEMENT_TOKEN"], lambda g: "CFPAT-" + r(g, URLSAFE, 43)),
    "contentful-preview": ("saas", "contentful.token", ["CONTENTFUL_PREVIEW_ACCESS_TOKEN", "CONTENTFUL_MANAGEMENT_TOKEN"], lambda g: r(g, URLSAFE, 43)),
    "sanity": ("saas", "sanity.token", ["SANITY_API_TOKEN", "SANITY_WRITE_TOKEN"], lambda g: "sk" + r(g, ALNUM, 180)),
    "braintree": ("payments", "braintree.access-token", ["BRAINTREE_ACCESS_TOKEN", "PAYPAL_ACCESS_TOKEN"],
                  lambda g: "access_token$" + g.choice(["production", "sandbox"]) + "$" + r(g, LOWER_DIGITS, 16) + "$" + r(g, HEX, 32)),
    "paypal": ("payments", "paypal.client-secret", ["PAYPAL_CLIENT_SECRET"], lambda g: "E" + r(g, URLSAFE, 79)),
    "razorpay": ("payments", "razorpay.key-secret", ["RAZORPAY_KEY_SECRET"], lambda g: r(g, ALNUM, 24)),
    "plaid": ("payments", "plaid.credential", ["PLAID_SECRET"], lambda g: r(g, HEX, 30)),
    "plaid-access": ("payments", "plaid.credential", ["PLAID_ACCESS_TOKEN"], lambda g: "access-" + g.choice(["production", "development", "sandbox"]) + "-" + uuid(g)),
    "coinbase": ("payments", "coinbase.api-secret", ["COINBASE_API_SECRET"], coinbase_secret),
    # Keys that are bare UUIDs: found only under their provider's names (uuid-keys.yml).
    "heroku-legacy": ("cloud", "heroku.api-key-legacy", ["HEROKU_API_KEY", "heroku_api_key", "HEROKU_AUTH_TOKEN"], uuid),
    "snyk": ("cicd", "snyk.api-token", ["SNYK_TOKEN", "snyk_api_token"], uuid),
    "opsgenie": ("observability", "opsgenie.api-key", ["OPSGENIE_API_KEY", "opsgenie_key"], uuid),
    "npm-legacy": ("registries", "npm.token-legacy", ["NPM_TOKEN", "npm_auth_token"], uuid),
    "atlas-private-key": ("cloud", "mongodb-atlas.private-key", ["MONGODB_ATLAS_PRIVATE_KEY", "atlas_private_key"], uuid),
}

KINDS_2026 = set(list(KINDS)[list(KINDS).index("discord-bot"):list(KINDS).index("coinbase") + 1])

# providers-outside.yml (KINDS_OUTSIDE): families found missing by the
# outside measurement; their own generators, so other kinds keep their values.
def sourcegraph_token(rng):
    mid = rng.choice(["", "local_", r(rng, HEX, 16) + "_"])
    return "sgp_" + mid + r(rng, HEX, 40)


def bundler_creds(rng):
    host = rng.choice(["gems.contribsys.com", "enterprise.contribsys.com", "gem.fury.io", "rubygems.pkg.github.com"])
    cred = rng.choice([r(rng, HEX, 8) + ":" + r(rng, HEX, 8), r(rng, LOWER_DIGITS, 10) + ":" + r(rng, ALNUM, 20),
                       r(rng, ALNUM, 40) + ":x-oauth-basic"])
    var = "BUNDLE_" + host.upper().replace(".", "__")
    return rng.choice([
        (["FROM ruby:3.3", f"ARG {var}", f"ENV {var}={cred}", "RUN bundle install"], 2, ".dockerfile"),
        (["---", "BUNDLE_PATH: \"vendor/bundle\"", f"{var}: \"{cred}\"", "BUNDLE_JOBS: \"4\""], 2, ".yml"),
        (["#!/bin/sh", "set -e", f"bundle config set --global {host} {cred}", "bundle install"], 2, ".sh"),
        (["env:", f"  {var}: {cred}", "script:", "  - bundle exec rake"], 1, ".yml")])


def psexec_cmd(rng):
    pw = r(rng, ALNUM, rng.randrange(10, 17))
    host = "\\\\" + rng.choice(["fileserver", "build", "sql"]) + str(rng.randrange(10, 99))
    user = rng.choice(["Administrator", "CORP\\svc_deploy", "build"])
    return rng.choice([
        (["@echo off", f"psexec {host} -accepteula -u {user} -p {pw} cmd /c \"net stop spooler\"", "exit /b 0"], 1, ".bat"),
        (["@echo off", f"PsExec64.exe {host} -u {user} -p \"{pw}\" -i -d C:\\deploy\\install.cmd"], 1, ".cmd")])


def vault_unseal(rng):
    share = base64.b64encode(F.rbytes(rng, 33)).decode()
    return rng.choice([
        (["$ vault operator init", f"Unseal Key 1: {share}", "", "Vault initialized with 1 key shares and a key threshold of 1."], 1, ".txt"),
        (["#!/bin/sh", f"kubectl -n vault exec vault-0 -- vault operator unseal {share}"], 1, ".sh"),
        (["{", f"  \"unseal_keys_b64\": [\"{share}\"],", "  \"unseal_shares\": 1", "}"], 1, ".json")])


def powercli_login(rng):
    pw = r(rng, ALNUM, rng.randrange(10, 15))
    return rng.choice([
        (["Import-Module VMware.PowerCLI", f"Connect-VIServer -Server vc{rng.randrange(10, 99)}.corp.example -User administrator@vsphere.local -Password '{pw}'",
          "Get-VM | Select Name"], 1, ".ps1"),
        ([f"New-VICredentialStoreItem -Host esx{rng.randrange(10, 99)}.lab.local -User root -Password \"{pw}\""], 0, ".ps1")])


def dotnet_credential(rng):
    pw = r(rng, ALNUM, rng.randrange(10, 15))
    return rng.choice([
        (["var smtp = new SmtpClient(\"smtp.corp.example\");", f"smtp.Credentials = new NetworkCredential(\"alerts@corp.example\", \"{pw}\");"], 1, ".cs"),
        ([f"$wc.Credentials = New-Object System.Net.NetworkCredential(\"svc_download\", \"{pw}\")"], 0, ".ps1"),
        ([f"var root = new DirectoryEntry(\"LDAP://dc01.corp.example\", @\"CORP\\svc_ldap\", \"{pw}\");"], 0, ".cs")])


# Kinds whose file is not NAME = value.
SPECIAL = {
    "wireguard": ("secret-managers", "wireguard.private-key", wireguard_conf),
    "pem-concatenated": ("private-keys", "pem.private-key", pem_concat),
    "pem-escaped": ("private-keys", "pem.private-key", pem_escaped),
    "age-bad-checksum": ("secret-managers", "age.secret-key", age_corrupt),
}

KINDS_OUTSIDE = {"sourcegraph", "postmark", "bundler-credentials", "psexec-password", "vault-unseal", "powercli-password",
                 "dotnet-credential", "tavily"}
KINDS.update({
    "sourcegraph": ("cicd", "sourcegraph.access-token", ["SRC_ACCESS_TOKEN", "sourcegraph_token"], sourcegraph_token),
    "postmark": ("saas", "postmark.token", ["POSTMARK_SERVER_TOKEN", "POSTMARK_API_TOKEN", "postmark_account_token"], uuid),
    "tavily": ("ai", "tavily.api-key", ["TAVILY_API_KEY", "tavily_key"], lambda g: "tvly-" + g.choice(["", "dev-"]) + r(g, ALNUM, 32)),
})
SPECIAL.update({
    "bundler-credentials": ("registries", "bundler.source-credentials", bundler_creds),
    "psexec-password": ("cicd", "psexec.password", psexec_cmd),
    "vault-unseal": ("hashicorp", "vault.unseal-key", vault_unseal),
    "powercli-password": ("cicd", "powercli.password", powercli_login),
    "dotnet-credential": ("cicd", "dotnet.network-credential", dotnet_credential),
})


# ---- containers: NAME + value rendered as lines (lines, secret line, ext) -------

def c_env(n, v):
    return [f"{n}={v}"], 0, ".env"


def c_yaml(n, v):
    return ["jobs:", "  release:", "    runs-on: ubuntu-latest", "    env:", f"      {n}: {v}",
            "    steps:", "      - run: make release"], 4, ".yml"


def c_json(n, v):
    return ["{", "  \"name\": \"orders\",", f"  \"{n}\": \"{v}\",", "  \"timeout\": 30", "}"], 2, ".json"


def c_shell(n, v):
    return ["#!/bin/sh", "set -eu", f"export {n}='{v}'", "exec ./release.sh \"$@\""], 2, ".sh"


def c_python(n, v):
    return ["import os", "", f"{n.upper()} = \"{v}\"", "", "def client():",
            f"    return Client(token={n.upper()})"], 2, ".py"


def c_go(n, v):
    return ["package config", "", "const (", f"\t{n.title().replace('_', '')} = `{v}`", ")"], 3, ".go"


def c_properties(n, v):
    return ["# service settings", f"{n.lower().replace('_', '.')}={v}", "retries=3"], 1, ".properties"


def c_log(n, v):
    return ["2026-05-01T09:00:00Z ##[group]Run ./release.sh", f"2026-05-01T09:00:01Z + {n}={v} ./release.sh",
            "2026-05-01T09:00:02Z done"], 1, ".log"


def camel(n):
    w = n.lower().split("_")
    return w[0] + "".join(x.title() for x in w[1:])


# Layouts seen in the wild beyond NAME = value (each rule's name-and-separator
# part reads them): TypeScript typed constants, XML elements and .NET key /
# value attributes, a Kubernetes env entry, Dockerfile ENV without '=', PHP
# arrays, make ?=, Java setProperty and a Terraform variable's default.
def c_ts(n, v):
    return [f"export const {camel(n)}: string = \"{v}\";"], 0, ".ts"


def c_xml(n, v):
    return ["<settings>", f"  <{camel(n)}>{v}</{camel(n)}>", "</settings>"], 1, ".xml"


def c_xml_attr(n, v):
    return ["<appSettings>", f"  <add key=\"{n}\" value=\"{v}\" />", "</appSettings>"], 1, ".config"


def c_k8s(n, v):
    return ["      containers:", "        - name: app", "          env:", f"            - name: {n.upper()}",
            f"              value: \"{v}\""], 4, ".yaml", "kubernetes.env-password"


def c_dockerfile(n, v):
    return ["FROM alpine:3.20", f"ENV {n.upper()} {v}", "CMD [\"/app\"]"], 1, ".dockerfile"


def c_php(n, v):
    return ["<?php", "return [", f"    '{n.lower()}' => '{v}',", "];"], 2, ".php"


def c_make(n, v):
    return [f"{n.upper()} ?= {v}", "release:", "\t./release.sh"], 0, ".mk"


def c_setprop(n, v):
    return [f"System.setProperty(\"{n}\", \"{v}\");"], 0, ".java"


def c_tf(n, v):
    return [f"variable \"{n.lower()}\" {{", "  type      = string", "  sensitive = true", f"  default   = \"{v}\"", "}"], 3, ".tf", "terraform.variable-default"


CONTAINERS = [c_env, c_yaml, c_json, c_shell, c_python, c_go, c_properties, c_log,
              c_ts, c_xml, c_xml_attr, c_k8s, c_dockerfile, c_php, c_make, c_setprop, c_tf]


def decoys_2026():
    """providers-2026.yml's decoys (stand-ins, ids that are not secrets, base64
    holding a prefix), from their own generator: the older decoys keep their
    values for each seed."""
    rng = random.Random("decoys-2026")
    return [
        "DISCORD_BOT_TOKEN=your-bot-token-here", "client.run(os.environ['DISCORD_TOKEN'])",
        "FIGMA_TOKEN=figd_<your-token>", "RENDER_API_KEY=rnd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "AIRTABLE_API_KEY=patXXXXXXXXXXXXXX." + "X" * 64, "AIRTABLE_BASE_ID=app" + r(rng, ALNUM, 14),
        "FLY_API_TOKEN=fo1_your_token_here", "SUPABASE_SERVICE_ROLE_KEY=<service-role-key>",
        "SUPABASE_PUBLISHABLE_KEY=sb_publishable_" + r(rng, URLSAFE, 31), "PINECONE_API_KEY=\"{{YOUR_API_KEY}}\"",
        "ALGOLIA_APP_ID=" + r(rng, UPPER_DIGITS, 10), "LAUNCHDARKLY_SDK_KEY=sdk-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "RAILWAY_PROJECT_ID=" + uuid(rng), "PLAID_ENV=sandbox", "BRAINTREE_ACCESS_TOKEN=access_token$sandbox$<merchant>$<token>",
        "CONTENTFUL_SPACE_ID=" + r(rng, LOWER_DIGITS, 12), "MAPBOX_SECRET_TOKEN=sk.<secret-token>",
        "blob: " + r(rng, ALNUM, 30) + "eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6I" + r(rng, ALNUM, 60),
        "cert: MIIB" + r(rng, ALNUM, 24) + "AAAA" + r(rng, ALNUM, 7) + "APA91b" + r(rng, ALNUM, 100)]


# ---- decoys: every line must produce no finding ----------------------------------

def decoys(rng):
    return {
        "placeholders.env": [
            "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "GOOGLE_API_KEY=AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX",
            "DIGITALOCEAN_TOKEN=dop_v1_" + "0" * 64, "SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "SHOPIFY_ACCESS_TOKEN=shpat_00000000000000000000000000000000", "PULUMI_ACCESS_TOKEN=pul-<your-token>",
            "DOPPLER_TOKEN=dp.st.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "SONAR_TOKEN=squ_<token>",
            "DD_API_KEY=<DATADOG_API_KEY>", "TWILIO_AUTH_TOKEN=your_auth_token", "DATABRICKS_TOKEN=dapi<token>",
            "ANTHROPIC_API_KEY=sk-ant-api03-...", "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "AGE_KEY=AGE-SECRET-KEY-1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"],
        "templates.yml": [
            "env:", "  HF_TOKEN: ${{ secrets.HF_TOKEN }}", "  DD_API_KEY: ${DD_API_KEY}", "  OKTA_API_TOKEN: $(OKTA_TOKEN)",
            "  CLOUDFLARE_API_TOKEN: \"{{ .Values.cloudflare.token }}\"", "  TFE_TOKEN: ${{ secrets.TFE_TOKEN }}",
            "  IBMCLOUD_API_KEY: \"<ibm-cloud-api-key>\"", "  CONFLUENT_CLOUD_API_SECRET: ${CONFLUENT_SECRET}"],
        "uuid-ids.env": [  # UUIDs that identify, under the same providers' names, and stand-ins
            "HEROKU_APP_ID=" + uuid(rng), "SNYK_ORG_ID=" + uuid(rng), "OPSGENIE_TEAM_ID=" + uuid(rng),
            "MONGODB_ATLAS_PROJECT_ID=" + uuid(rng), "NPM_CONFIG_CACHE_ID=" + uuid(rng), "session_id=" + uuid(rng),
            "HEROKU_API_KEY=00000000-0000-0000-0000-000000000000", "SNYK_TOKEN=12345678-1234-1234-1234-123456789012",
            "OPSGENIE_API_KEY=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "NPM_TOKEN=${NPM_TOKEN}",
            "//registry.npmjs.org/:_authToken=11111111-2222-3333-4444-555555555555",
            "MONGODB_ATLAS_PRIVATE_KEY=<private-key>", "api_key = " + uuid(rng)],
        "wrong-shape.txt": [
            "hf_" + r(rng, LETTERS, 20) + " is too short for a Hugging Face token",
            "AIza" + r(rng, URLSAFE, 20) + " (truncated)",
            "dop_v1_" + r(rng, HEX, 40) + " (too short)",
            "GOCSPX-" + r(rng, URLSAFE, 12) + " (truncated)",
            "glpat-" + r(rng, URLSAFE, 21) + " is one character too long for a classic PAT",
            "glpat-" + r(rng, URLSAFE, 19) + " is one character too short",
            "NRAK-" + r(rng, "abcdefghijklmnopqrstuvwxyz", 27) + " is lowercase",
            "sntryu_" + r(rng, "ghijklmnopqrstuvwxyz", 64),
            "squ_" + r(rng, HEX, 39),
            "dt0c01." + r(rng, UPPER_DIGITS, 24) + "." + r(rng, UPPER_DIGITS, 20),
            "pul-" + r(rng, "ghijklmnopqrstuvwxyz", 40)],
        "prose.md": ["Google API keys start with AIza and OAuth client secrets with GOCSPX-.",
                     "Vault service tokens begin hvs., batch tokens hvb., recovery tokens hvr.",
                     "Hugging Face user access tokens start with hf_ and organisation tokens with api_org_.",
                     "A SendGrid key looks like SG.<id>.<secret>; a Postman key like PMAK-<id>-<secret>.",
                     "Set SENTRY_AUTH_TOKEN to an org token (sntrys_...) or a user token (sntryu_...)."],
        "code.py": ["def refresh(client):", "    token = os.environ[\"VAULT_TOKEN\"]",
                    "    hf_token = os.getenv(\"HF_TOKEN\")", "    ratio = 1//0x10",
                    "    dd_api_key = settings.DD_API_KEY", "    return client.login(token)"],
        "docs-examples.md": [  # stand-ins written in the token's own format
            "OPENAI_API_KEY=sk-proj-EXAMPLE" + r(rng, URLSAFE, 40) + "T3BlbkFJ" + r(rng, URLSAFE, 40),
            "Paste the key (it looks like AIzaSyYourApiKeyHere" + r(rng, URLSAFE, 16) + ") into the form.",
            "DIGITALOCEAN_TOKEN=dop_v1_1234567890abcdef1234567890abcdef1234567890abcdef1234567890ab",
            "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            "SENDGRID_API_KEY=SG." + r(rng, URLSAFE, 22) + ".SAMPLE" + r(rng, URLSAFE, 37),
            "An Anthropic key has this shape: sk-ant-api03-YourKeyHere" + r(rng, URLSAFE, 82) + "AA",
            "DOPPLER_TOKEN=dp.st.dev.DUMMY" + r(rng, ALNUM, 38),
            "PULUMI_ACCESS_TOKEN=pul-fake" + r(rng, HEX, 36)],
        "layouts.txt": [  # the wild layouts holding references, lookups and stand-ins
            "<twilioAuthToken>${TWILIO_AUTH_TOKEN}</twilioAuthToken>", "<add key=\"DD_API_KEY\" value=\"#{DatadogApiKey}#\" />",
            "ENV DD_API_KEY ${DD_API_KEY}", "export const oktaApiToken: string = process.env.OKTA_API_TOKEN!;",
            "            - name: SNYK_TOKEN", "              valueFrom:", "                secretKeyRef: {name: snyk, key: token}",
            "variable \"pagerduty_token\" {", "  type      = string", "  sensitive = true", "}",
            "System.setProperty(\"TWILIO_AUTH_TOKEN\", twilioToken);", "CLOUDFLARE_API_TOKEN ?= $(shell cat .cf-token)",
            "    'heroku_api_key' => env('HEROKU_API_KEY'),", "REPLICATE_API_TOKEN=r8_xxxxxxxxxxxx",
            "OPENROUTER_API_KEY=sk-or-v1-...", "LANGSMITH_API_KEY=lsv2_pt_...", "XAI_API_KEY=xai-your-key-here",
            "let api_key = \"tskey-api-XXXXXX\".to_string();", "PERPLEXITY_API_KEY=pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "<datadogApiKey>" + r(rng, HEX, 8) + "</datadogApiKey>", "LINEAR_API_KEY=lin_api_...",
            "TELEGRAM_BOT_TOKEN=123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "SUPABASE_ACCESS_TOKEN=sbp_<token>",
            # providers-more.yml: stand-ins, short forms, ids that are not secrets, base64 that holds EAAA
            "GOOGLE_OAUTH_ACCESS_TOKEN=ya29.xxxxx", "NOTION_TOKEN=ntn_your_integration_token",
            "BREVO_API_KEY=xkeysib-YOUR_API_KEY", "SQUARE_APPLICATION_ID=sq0idp-" + r(rng, URLSAFE, 22),
            "cert: MIIB" + r(rng, ALNUM, 20) + "EAAA" + r(rng, ALNUM, 60),
            "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_<token>",
            "DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/{webhook.id}/{webhook.token}"] + decoys_2026(),

        "outside.txt": [  # providers-outside.yml: references, stand-ins, settings that are no credentials
            "export BUNDLE_GEMS__CONTRIBSYS__COM=$SIDEKIQ_CREDS", "BUNDLE_LOCAL__RACK: /home/dev/src/rack",
            "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: https://mirror.example.com", "bundle config set --local path vendor/bundle",
            "heroku config:set BUNDLE_GEMS__CONTRIBSYS__COM=<username:password>", "SRC_ACCESS_TOKEN=sgp_<token>",
            "psexec \\\\host -u Administrator -p %ADMIN_PASSWORD% cmd", "psexec -s -i cmd.exe",
            "POSTMARK_SERVER_TOKEN=<server-token>", "POSTMARK_MESSAGE_STREAM=outbound",
            "https://wiki.example.com/API-9C41E07B2D8F4A6C91E3B5D7F0A2C4E6", "vault operator unseal <unseal_key_1>",
            "Unseal Progress: 1/3", "Connect-VIServer $vc -User $user -Password $pass", "TAVILY_API_KEY=tvly-YOUR_API_KEY",
            "smtp.Credentials = new NetworkCredential(user, password);"],
        "wireguard-public.conf": ["[Peer]", "PublicKey = " + base64.b64encode(F.rbytes(rng, 32)).decode(),
                                  "PresharedKeyFile = /etc/wireguard/psk", "AllowedIPs = 10.0.0.0/8"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--sample")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if a.sample:
        print(KINDS[a.sample][3](rng))
        return
    tree = os.path.join(a.out, "tree")
    expected = []
    kinds = {k: (f, rule, lambda g, n=names, gen=gen: g.choice(CONTAINERS)(g.choice(n), gen(g)))
             for k, (f, rule, names, gen) in KINDS.items()}
    kinds.update(SPECIAL)
    for kind, (family, rule, make) in sorted(kinds.items()):
        d = os.path.join(tree, family, kind)
        os.makedirs(d, exist_ok=True)
        # Kinds added with providers-2026.yml draw from their own generator, so the
        # older kinds' and the decoys' values stay what they were for each seed.
        g = random.Random(f"{a.seed}/{kind}") if kind in KINDS_2026 | KINDS_OUTSIDE else rng
        for i in range(a.per_kind):
            lines, at, ext, *also = make(g)  # also: a structure rule that may report it instead
            rel = os.path.join(family, kind, f"{kind}-{i}{ext}")
            with open(os.path.join(tree, rel), "w") as f:
                f.write("\n".join(lines) + "\n")
            expected.append({"family": family, "kind": kind, "path": rel, "line": at + 1, "rules": [rule] + also})
    F.write_decoys_and_expected(tree, a.out, decoys(rng), expected)
    print(f"{len(expected)} planted secrets in {len(kinds)} kinds", file=sys.stderr)


if __name__ == "__main__":
    main()
