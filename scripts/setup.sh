#!/usr/bin/env bash
# Installs what pa needs on this machine: Debian's build packages for librdkafka, kcat, a JDK and
# Maven for the local broker, and the npm dependencies. Safe to run again: when nothing is missing it
# returns in well under a second, so `npm run dev`, `npm test` and `npm run bench` all start with it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/system-packages.sh
source "$root/scripts/lib/system-packages.sh"
cd "$root"

node_major_minor=$(node -p 'process.versions.node.split(".").slice(0,2).join(".")' 2>/dev/null || echo 0.0)
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "[setup] pa needs Node.js 20.19 or newer; this machine has ${node_major_minor}. Install a newer Node.js first." >&2
  exit 1
fi

# @confluentinc/kafka-javascript cannot fetch its prebuilt binary here, so npm compiles the
# librdkafka bundled in the package (about 2 minutes) against these; Debian's own librdkafka is too
# old to link against. kcat is the baseline of every benchmark; the JDK and Maven run the broker.
packages=(g++ make python3 pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev
  libcurl4-openssl-dev kcat)
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
# The dashboard's browser tests and benchmark drive Debian's Chromium (playwright-core downloads none).
packages+=(chromium)
ensure_packages "${packages[@]}"

# npm ci only when package-lock.json changed since the last install in this checkout.
stamp="$root/node_modules/.pa-installed"
lock_hash=$( (cat package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "[setup] installing npm dependencies (the first time compiles librdkafka: about 2 minutes)"
  export CKJS_LINKING=dynamic
  # Registry mirrors that carry only this platform's packages (as on pa's CI machines) make npm ci
  # reject any lockfile as "out of sync" over other platforms' optional binaries (biome, esbuild);
  # npm install then honours the same lockfile.
  ci_log=$(mktemp)
  if ! npm ci --no-audit --no-fund --loglevel=error 2>"$ci_log"; then
    if grep -q "can only install packages when your package.json and package-lock.json" "$ci_log"; then
      npm install --no-audit --no-fund --loglevel=error
    else
      cat "$ci_log" >&2
      exit 1
    fi
  fi
  rm -f "$ci_log"
  echo "$lock_hash" >"$stamp"
fi
