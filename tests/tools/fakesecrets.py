#!/usr/bin/env python3
"""Fake but format-valid credentials, generated at test time so the repository
itself holds no secret-shaped strings beyond rule examples. The generators live
in corpus/fakes.py; this is their command line for the shell tests.

  fakesecrets.py github [SEED]   a GitHub token with a valid CRC32 checksum
  fakesecrets.py sas [SEED]      an Azure blob URL with a SAS signature
  fakesecrets.py pem [SEED]      a PEM-armoured private key block (random body)
  fakesecrets.py aws [SEED]      an AWS access key id and secret key, space-separated
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "corpus"))
from fakes import aws_pair, github, sas, sas_signature, fake_armour as pem  # noqa: E402,F401


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "github"
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else None)
    aws = lambda r: " ".join(aws_pair(r))  # noqa: E731
    print({"github": github, "sas": sas, "pem": pem, "aws": aws}[kind](rng))


if __name__ == "__main__":
    main()
