#!/usr/bin/env bash
# Shared set-up for the quick-start scripts: a virtualenv in .venv with pricewatch installed.
# Usage: source scripts/bootstrap.sh [extra]   (extra: "dev" adds the test and lint tools)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PW_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  # Debian packages the project needs from the system (venv support, chromium for the browser).
  command -v apt-get >/dev/null || return 1
  as_root apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {
  # Debian's chromium renders the pages that need JavaScript (Playwright drives it).
  [ -x "${PW_BROWSER_EXECUTABLE_PATH:-/usr/bin/chromium}" ] && return 0
  echo "Installing Debian's chromium (for pages that need JavaScript)..." >&2
  apt_install chromium || echo "Could not install chromium: $1." >&2
}

check_python() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "pricewatch needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
  fi
}

make_venv() {
  if [ -x "$VENV/bin/python" ]; then return; fi
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    echo "Installing Debian's python3-venv (needed to create $VENV)..." >&2
    apt_install python3-venv || { echo "Cannot create a virtualenv: install python3-venv." >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
  fi
}

install_project() {
  local spec="$ROOT"
  [ "${1:-}" = "dev" ] && spec="$ROOT[dev]"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
}

check_python
make_venv
install_project "${1:-}"
export PATH="$VENV/bin:$PATH"
