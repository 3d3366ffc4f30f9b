#!/usr/bin/env bash
# Installs the Debian 12 packages ferret needs to build, test and benchmark.
# Idempotent: packages already present are left alone.
set -euo pipefail
PKGS=(build-essential cmake pkg-config git
      libgit2-dev libhyperscan-dev libpcre2-dev libsqlite3-dev libyaml-dev
      libarchive-dev zlib1g-dev libjansson-dev libssl-dev sqlite3 python3 python3-yaml libarchive-tools
      ripgrep hyperfine clang-format zip unzip bsdutils bc time
      openssl openssh-client   # openssl, ssh-keygen: test keys are made at test time
      chromium chromium-driver python3-jsonschema   # HTML report in a browser; SARIF schema
      clang libclang-rt-14-dev   # libFuzzer and its sanitizers (scripts/fuzz.sh)
      slurm-wlm munge)           # the local Slurm cluster of the sharding test (scripts/cluster/slurm)
# --build: only what building ferret needs (the CI integrations: action.yml,
# ci/azure-pipelines/ferret.yml), not the test and benchmark tools.
if [ "${1:-}" = --build ]; then
  PKGS=(build-essential cmake pkg-config git
        libgit2-dev libhyperscan-dev libpcre2-dev libsqlite3-dev libyaml-dev
        libarchive-dev zlib1g-dev libjansson-dev libssl-dev)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
