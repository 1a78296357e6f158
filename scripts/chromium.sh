#!/usr/bin/env bash
# Finds (or installs) the Chromium that the dashboard's browser tests and benchmark drive through
# playwright-core, which downloads no browser, and prints its path. Only they need it: `npm run dev`,
# `npm start` and the other tests do not, so a machine without a Chromium package still runs pa.
#
#   CHROMIUM_PATH=/path/to/chrome bash scripts/chromium.sh   # use this browser (Chrome works too)
#
# Debian packages Chromium as `chromium`; Ubuntu's `chromium` is a snap, which apt cannot install
# here, so there it says what to install instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/system-packages.sh
source "$root/scripts/lib/system-packages.sh"

if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ]; then
    echo "$CHROMIUM_PATH"
    exit 0
  fi
  echo "[chromium] CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
  exit 1
fi

# A real browser answers --version; Ubuntu's chromium packages install a stub that asks for the snap.
find_browser() {
  local candidate
  for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
    if [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

find_browser && exit 0
if apt-cache policy chromium 2>/dev/null | grep -q "Candidate: [0-9]" && ensure_packages chromium >&2; then
  find_browser && exit 0
fi

cat >&2 <<'MESSAGE'
[chromium] The dashboard's browser tests and `npm run bench -- dashboard` need Chromium or Chrome, and
none is installed (nor could Debian's `chromium` package be installed here). Install one, then run again:
  Debian:  sudo apt-get install chromium
  Ubuntu:  install Google Chrome (https://www.google.com/chrome/, the .deb package), or
           sudo snap install chromium  and run with  CHROMIUM_PATH=/snap/bin/chromium
  Other:   any Chromium or Chrome, with CHROMIUM_PATH=/path/to/it
MESSAGE
exit 1
