#!/usr/bin/env bash
# Installs every Debian package the gateway needs to build, run and test. Idempotent: packages
# already installed are left alone, and nothing is fetched when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates openssl
  libpoco-dev libssl-dev libsqlite3-dev sqlite3 rapidjson-dev libcli11-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libxerces-c-dev libkainjow-mustache-dev libhowardhinnant-date-dev tzdata
  python3 python3-hl7 python3-aiosmtpd
  chromium curl wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node (npm playwright-core drives chromium in tests/browser): Debian's nodejs + npm unless a node
# is already installed (e.g. from NodeSource, whose nodejs bundles npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
