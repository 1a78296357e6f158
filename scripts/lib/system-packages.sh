# Installs Debian packages that pa's scripts need, when they are missing.
# Sourced by scripts/setup.sh and scripts/kafka.sh; defines functions only.

# missing_packages PKG...: prints the packages that dpkg does not report as installed.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$pkg"
  done
}

# ensure_packages PKG...: installs the missing ones with apt-get (as root, or through sudo without a
# password prompt); otherwise prints exactly what to install and fails.
ensure_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  echo "[setup] installing Debian packages: $missing"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "[setup] cannot install packages without root. Please run:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "[setup] apt-get is not available. Please install the equivalents of: $missing" >&2
    return 1
  fi
  # A stale package list finds nothing on a fresh machine, so refresh it once per install.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
