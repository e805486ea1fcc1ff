#!/usr/bin/env bash
# The test command: the whole suite against real SQLite, PostgreSQL, MariaDB and Redis, and the dashboard in
# headless Chromium. Run ./run.sh setup once first (./.ci/run does both).
set -euo pipefail
cd "$(dirname "$0")"
exec timeout 900 .venv/bin/python -m pytest "$@"
