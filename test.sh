#!/usr/bin/env bash
# The test command, on a fresh machine too: sets up what is missing (venv, packages, bun, Chromium), then runs
# the whole suite against real SQLite, PostgreSQL, MariaDB and Redis, and the dashboard in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")"
if ! { command -v chromium && fc-list | grep -qi wenquanyi; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Chromium for the dashboard tests, and a CJK font so the Chinese pages' screenshots show text
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei) >/dev/null
fi
./run.sh setup
exec timeout 900 .venv/bin/python -m pytest "$@"
