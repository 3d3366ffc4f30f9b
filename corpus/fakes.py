"""Fake but format-valid credentials for every rule family ferret knows, made
from a seeded random generator (checksums included), plus the generators' own
checks. Used by the corpus generators and the tests; nothing here is real.

Key material (PEM, OpenSSH) is made with the openssl and ssh-keygen tools so it
parses as the key type it claims; everything else is pure Python.
"""
import base64
import json
import os
import subprocess
import tempfile
import zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B64 = ALNUM + "+/"
M32 = 0xFFFFFFFF


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def rbytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


# ---- checksums ---------------------------------------------------------------

def _rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & M32


def marvin64(seed, data):
    lo, hi = seed & M32, seed >> 32

    def mix(lo, hi):
        hi ^= lo
        lo = _rotl(lo, 20)
        lo = (lo + hi) & M32
        hi = _rotl(hi, 9)
        hi ^= lo
        lo = _rotl(lo, 27)
        lo = (lo + hi) & M32
        hi = _rotl(hi, 19)
        return lo, hi

    i = 0
    while len(data) - i >= 4:
        lo = (lo + int.from_bytes(data[i:i + 4], "little")) & M32
        lo, hi = mix(lo, hi)
        i += 4
    fin = 0x80
    for b in reversed(data[i:]):
        fin = (fin << 8) | b
    lo = (lo + fin) & M32
    lo, hi = mix(lo, hi)
    lo, hi = mix(lo, hi)
    return (hi << 32) | lo


def marvin32(seed, data):
    h = marvin64(seed, data)
    return (h ^ (h >> 32)) & M32


def seed(name):
    """Microsoft's checksum seeds: an 8-character name, bytes reversed, read little-endian."""
    return int.from_bytes(name.encode()[::-1], "little")


def base62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


# ---- tokens ------------------------------------------------------------------

def github(rng, prefix="ghp"):
    body = rand(rng, B62, 30)
    return f"{prefix}_{body}{base62(zlib.crc32(body.encode()), 6)}"


def github_fine_grained(rng):
    return f"github_pat_{rand(rng, ALNUM, 22)}_{rand(rng, ALNUM, 59)}"


def gitlab(rng, prefix="glpat"):
    return f"{prefix}-{rand(rng, ALNUM + '_-', 20)}"


def npm(rng):
    return github(rng, "npm")


def pypi(rng):
    return "pypi-AgEIcHlwaS5vcmc" + rand(rng, ALNUM + "_-", 70)


def slack(rng):
    return f"xoxb-{rand(rng, '0123456789', 12)}-{rand(rng, '0123456789', 13)}-{rand(rng, ALNUM, 24)}"


def stripe(rng):
    return "sk_live_" + rand(rng, ALNUM, 24)


def aws_pair(rng):
    return "AKIA" + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), rand(rng, B64, 40)


def azdo_pat(rng):
    """The current 84-character Azure DevOps PAT layout (checksummed like a CASK key)."""
    return cask_key(rng, "AZDO", platform="ACAAAAA" + rand(rng, ALNUM, 5), provider="AAAS")


def cask_key(rng, sig="ACOG", platform=None, provider="AAAA"):
    while True:
        platform = platform or rand(rng, ALNUM, 12)
        text = rand(rng, ALNUM, 52) + "JQQJ99" + "B" + rng.choice("ABCDEFGHIJKL") + platform + provider + sig
        raw = base64.b64decode(text)
        c = marvin32(seed("Default0"), raw).to_bytes(4, "little")
        tail = base64.b64encode(c[:3]).decode()
        if "+" not in tail and "/" not in tail:
            return text + tail


def _b32(data):
    return base64.b32encode(data).decode().lower()


def azdo_legacy(rng, magic=0xE0B9692D):
    b = bytearray(32)
    body = rbytes(rng, 28)
    b[0:2], b[3:7], b[9:22], b[23:32] = body[0:2], body[2:6], body[6:19], body[19:28]
    c = zlib.crc32(body) ^ magic
    b[22], b[8], b[7], b[2] = c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, c >> 24
    return _b32(bytes(b))[:52]


ENTRA_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~"


def entra_secret(rng):
    head = rand(rng, ENTRA_ALPHABET, 3) + "8Q~" + rand(rng, ENTRA_ALPHABET, 31)
    c = marvin32(seed("AadPwd00"), head.encode("latin-1"))
    digits = ""
    while c:
        c, r = divmod(c, 66)
        digits = ENTRA_ALPHABET[r] + digits
    return head + digits[:3]


def entra_secret_v7(rng):
    return rand(rng, ENTRA_ALPHABET, 3) + "7Q~" + rand(rng, ENTRA_ALPHABET, 31)


def entra_secret_legacy(rng):
    """Pre-2021 client secrets: 32-44 characters of a wider alphabet, no marker."""
    return rand(rng, ALNUM + "+/=.-_[]:@?", 34)


IDENTIFIABLE = {  # signature: (key bytes, URL-safe alphabet, a seed name)
    "+ASt": (64, False, "Default0"),
    "+ASb": (32, False, "Send0000"),
    "+AEh": (32, False, "Listen00"),
    "ACDb": (64, False, "MastRW00"),
    "AzFu": (40, True, "Functi00"),
    "APIM": (64, False, "Tenant00"),
    "+ACR": (39, False, "ACRDflt0"),
}


def identifiable(rng, sig):
    """Microsoft identifiable key: random bytes, the signature in the encoding,
    then a Marvin32 checksum of everything before it."""
    nbytes, url, seedname = IDENTIFIABLE[sig]
    enc = base64.urlsafe_b64encode if url else base64.b64encode
    dec = base64.urlsafe_b64decode if url else base64.b64decode
    chars = (nbytes - 4) * 8 // 6  # characters fully before the checksum bits
    text = enc(rbytes(rng, nbytes)).decode()
    text = text[:chars - 4] + sig + text[chars:]
    raw = bytearray(dec(text))
    raw[-4:] = marvin32(seed(seedname), bytes(raw[:-4])).to_bytes(4, "little")
    out = enc(bytes(raw)).decode()
    assert out[chars - 4:chars] == sig, (out, sig)
    return out


def storage_key_plain(rng):
    return base64.b64encode(rbytes(rng, 64)).decode()


def sas(rng):
    sig = base64.b64encode(rbytes(rng, 32)).decode()
    sig = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    acct = rand(rng, "abcdefghijklmnopqrstuvwxyz", 10)
    return (f"https://{acct}.blob.core.windows.net/logs/build.zip?sv=2022-11-02&ss=b&srt=o"
            f"&sp=r&se=2027-01-01T00:00:00Z&spr=https&sig={sig}")


def sas_signature(url):
    return url.split("sig=", 1)[1]


def jwt(rng):
    def b64u(d):
        return base64.urlsafe_b64encode(d).decode().rstrip("=")
    head = b64u(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64u(json.dumps({"sub": rand(rng, ALNUM, 12), "iat": 1767225600}).encode())
    return f"{head}.{body}.{b64u(rbytes(rng, 64))}"


def password(rng, n=18):
    return rand(rng, ALNUM, n - 3) + rng.choice("!#%") + rand(rng, "0123456789", 2)


# ---- key material ------------------------------------------------------------

def _run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw).stdout


def pem_key(kind="ec"):
    """A real private key in PEM: ec (SEC1), rsa (PKCS#1), pkcs8, pkcs8-encrypted."""
    if kind == "rsa":
        return _run(["openssl", "genrsa", "-traditional", "1024"]).decode().strip()
    if kind == "ec":
        return _run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"]).decode().strip()
    key = _run(["openssl", "genpkey", "-algorithm", "ed25519"])
    if kind == "pkcs8":
        return key.decode().strip()
    return _run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:corpus"],
                input=key).decode().strip()


def openssh_key(passphrase=""):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "k")
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "ci@example", "-f", path])
        with open(path) as f:
            return f.read().strip()


def fake_armour(rng, label="RSA PRIVATE KEY", lines=12):
    # A DER SEQUENCE header as every key body has ("MII..."), then random
    # bytes: the shape of a cut-short key (a body that is no SEQUENCE is a
    # documentation filler, which the pem-key validator rejects).
    n = 48 * lines
    body = base64.b64encode(bytes([0x30, 0x82, (n - 4) >> 8, (n - 4) & 0xFF]) + rbytes(rng, n - 4)).decode()
    rows = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(rows) + f"\n-----END {label}-----"


def gcp_service_account(rng, project="ci-prod"):
    key = pem_key("pkcs8") + "\n"
    return json.dumps({
        "type": "service_account",
        "project_id": project,
        "private_key_id": rand(rng, "0123456789abcdef", 40),
        "private_key": key,
        "client_email": f"deployer@{project}.iam.gserviceaccount.com",
        "client_id": rand(rng, "0123456789", 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }, indent=2)


def docker_auth(rng, user="ci-bot"):
    return base64.b64encode(f"{user}:{password(rng, 20)}".encode()).decode()


def write_decoys_and_expected(tree, out, decoy_files, expected):
    """The tail every family generator shares: decoy files under tree/decoys and
    the expected findings in out/expected.json."""
    os.makedirs(os.path.join(tree, "decoys"), exist_ok=True)
    for name, lines in decoy_files.items():
        with open(os.path.join(tree, "decoys", name), "w") as f:
            f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
