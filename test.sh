#!/usr/bin/env bash
# The test command, on a fresh machine too: sets up what is missing (venv, packages, bun, Chromium), then runs
# the whole suite against real SQLite, PostgreSQL, MariaDB and Redis, and the dashboard in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")"
if ! { command -v chromium && command -v nginx && fc-list | grep -qi wenquanyi; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Chromium for the dashboard tests, a CJK font so the Chinese pages' screenshots show text, and nginx for the
  # test of the load balancer docker-compose.postgres.yml ships (deploy/nginx.conf)
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei nginx-light) >/dev/null
fi
./run.sh setup
# The real clients the dialect tests drive (Claude Code on /v1/messages, Codex on /v1/responses): pinned, from the
# npm registry, installed once into .tools/clients. Without npm their two test files are skipped.
clients=.tools/clients/node_modules/.bin
if command -v npm >/dev/null && { [ ! -x "$clients/claude" ] || [ ! -x "$clients/codex" ]; }; then
  npm install --no-audit --no-fund --silent --prefix .tools/clients \
    @anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0 >/dev/null 2>&1 ||
    echo "test.sh: npm could not install the Claude Code and Codex CLIs: their tests will be skipped" >&2
fi
if [ -x "$clients/claude" ]; then export CLAUDE_CODE_BIN=${CLAUDE_CODE_BIN:-$PWD/$clients/claude}; fi
if [ -x "$clients/codex" ]; then export CODEX_BIN=${CODEX_BIN:-$PWD/$clients/codex}; fi
if [ "$#" -gt 0 ]; then
  exec timeout 900 .venv/bin/python -m pytest "$@"
fi
# The whole suite: the browser tests (mostly waiting on Chromium and their appliances) run beside the others in a
# second pytest process, which keeps the suite well inside 15 minutes on two cores. Every test makes its own
# databases, ports and Redis keys, so the two never meet; only the browser process builds the dashboard.
browser_log=$(mktemp "${TMPDIR:-/tmp}/oneapi-browser-tests.XXXXXX")
trap 'rm -f "$browser_log"' EXIT
timeout 900 .venv/bin/python -m pytest -m browser >"$browser_log" 2>&1 &
browser_pid=$!
rc=0
timeout 900 .venv/bin/python -m pytest -m "not browser" || rc=$?
browser_rc=0
wait "$browser_pid" || browser_rc=$?
echo "::: the browser tests (pytest -m browser, run beside the others): exit $browser_rc"
cat "$browser_log"
[ "$rc" = 0 ] && [ "$browser_rc" = 0 ]
