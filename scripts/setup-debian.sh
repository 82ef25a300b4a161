#!/usr/bin/env bash
# Installs the system packages lernen needs on Debian/Ubuntu (idempotent).
# Runs as root, or through sudo when not root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
pkgs=(libopenblas-dev pkg-config cmake g++ make python3)
for arg in "$@"; do
  case "$arg" in
    --test) pkgs+=(chromium postgresql);;  # test-only extras: a browser (report tests), PostgreSQL server binaries (test/search starts a private cluster)
    *) echo "setup: unknown argument $arg" >&2; exit 2;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: system packages ready ($(pkg-config --modversion openblas 2>/dev/null || echo 'openblas ?'))"
