#!/usr/bin/env bash
# Installs what pa needs on this machine: Debian's build packages for librdkafka, kcat, a JDK and
# Maven for the local broker, and the npm dependencies. Safe to run again: when nothing is missing it
# returns in well under a second, so `npm run dev`, `npm test` and `npm run bench` all start with it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/system-packages.sh
source "$root/scripts/lib/system-packages.sh"
cd "$root"

node_version=$(node --version 2>/dev/null || echo "no Node.js")
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  cat >&2 <<MESSAGE
[setup] pa needs Node.js 20.19 or newer (22 LTS recommended); this machine has ${node_version}. Install it with one of:
  nvm:        nvm install 22 && nvm use 22        (https://github.com/nvm-sh/nvm)
  NodeSource: curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash - && sudo apt-get install -y nodejs
  Docker:     docker build -t pa . && docker run --rm -p 50051:50051 -e KAFKA_BROKERS=host:9092 pa   (runs pa without a local Node)
then run this command again.
MESSAGE
  exit 1
fi

# @confluentinc/kafka-javascript cannot fetch its prebuilt binary here, so npm compiles the
# librdkafka bundled in the package (about 2 minutes) against these; Debian's own librdkafka is too
# old to link against. kcat is the baseline of every benchmark; the JDK and Maven run the broker.
packages=(g++ make python3 pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev
  libcurl4-openssl-dev kcat)
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
# Chromium is not here: only the dashboard's browser tests and benchmark need it (scripts/chromium.sh).
ensure_packages "${packages[@]}"

# npm ci only when package-lock.json changed since the last install in this checkout. npm ci installs
# exactly the committed lockfile and never rewrites it, so a fresh clone stays clean and the next
# setup (CI's `npm test` right after its own setup) finds the same hash and installs nothing.
stamp="$root/node_modules/.pa-installed"
lock_hash=$( (cat package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "[setup] installing npm dependencies (npm ci; the first time compiles librdkafka: about 2 minutes)"
  export CKJS_LINKING=dynamic
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "[setup] npm ci failed (its error is above). It installs package-lock.json exactly as committed:" \
      "if package.json changed, run 'npm install' once and commit the updated package-lock.json;" \
      "if the registry was unreachable, check the network or npm's registry setting (npm config get registry)." >&2
    exit 1
  fi
  echo "$lock_hash" >"$stamp"
fi
