#!/usr/bin/env python3
"""Fake but format-valid credentials, generated at test time so the repository
itself holds no secret-shaped strings beyond rule examples.

  fakesecrets.py github [SEED]   a GitHub token with a valid CRC32 checksum
  fakesecrets.py sas [SEED]      an Azure blob URL with a SAS signature
  fakesecrets.py pem [SEED]      a PEM-armoured private key block (random body)
"""
import base64
import random
import sys
import zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def github(rng, prefix="ghp"):
    body = "".join(rng.choice(B62) for _ in range(30))
    return f"{prefix}_{body}{base62(zlib.crc32(body.encode()), 6)}"


def sas(rng):
    sig = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()
    sig = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    acct = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))
    return (f"https://{acct}.blob.core.windows.net/logs/build.zip?sv=2022-11-02&ss=b&srt=o"
            f"&sp=r&se=2027-01-01T00:00:00Z&spr=https&sig={sig}")


def sas_signature(url):
    return url.split("sig=", 1)[1]


def pem(rng, label="RSA PRIVATE KEY", lines=12):
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48 * lines))).decode()
    rows = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(rows) + f"\n-----END {label}-----"


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "github"
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else None)
    print({"github": github, "sas": sas, "pem": pem}[kind](rng))


if __name__ == "__main__":
    main()
