#!/usr/bin/env bash
# Sets up pricewatch with its test tools in .venv and runs the whole suite:
# lint (ruff), types (mypy strict), layer contract (import-linter), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh dev

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests..." >&2
  apt_install chromium || echo "Could not install chromium: browser tests will be skipped." >&2
fi

source scripts/services.sh

ruff check .
ruff format --check .
mypy
lint-imports
exec pytest "$@"
