#!/usr/bin/env bash
# Sets up pricewatch in .venv and runs the main job on the embedded default:
# starts the local demo shop, tracks some of its products and runs the whole app (Ctrl-C stops).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
ensure_chromium "pages that need JavaScript will not be rendered"
exec pricewatch demo --serve "$@"
