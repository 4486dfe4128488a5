#!/usr/bin/env bash
# Sets up pricewatch with its test tools in .venv and runs the whole suite:
# lint (ruff), types (mypy strict), layer contract (import-linter), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh dev

ensure_chromium "the browser tests will be skipped"
source scripts/services.sh

ruff check .
ruff format --check .
mypy
lint-imports
exec pytest "$@"
