#!/usr/bin/env bash
# One command on a fresh machine: set up (venv, packages, bun from npm, dashboard build) and run the appliance.
#   ./run.sh                 -> http://localhost:3000 (dashboard + API on one port)
#   ./run.sh --api-only      -> relay and /api only
#   ./run.sh setup           -> set up only (used by .ci/run and the Dockerfile)
# Settings come from the environment (one-api's names) or a KEY=VALUE file (--config FILE, or data/oneapi.env).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  # ONEAPI_EXTRAS=none installs the appliance without the test and lint tools (the Dockerfile does that).
  local extras="[${ONEAPI_EXTRAS:-test,dev}]"
  [ "${ONEAPI_EXTRAS:-}" = none ] && extras=""
  # Installed once per change of what decides the tree: a second ./run.sh starts serving at once.
  local stamp
  stamp=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$(.venv/bin/python -V 2>&1 | tr -dc 0-9.)"${extras}"
  if [ "$(cat .venv/.oneapi-installed 2>/dev/null)" != "$stamp" ]; then
    # Every package at the version in constraints.txt (the tested tree; .ci/lock.sh regenerates it).
    .venv/bin/python -m pip install --quiet -c constraints.txt pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extras}"
    echo "$stamp" > .venv/.oneapi-installed
  fi
  if [ ! -x .tools/bun/node_modules/.bin/bun ]; then
    command -v npm >/dev/null || { echo "run.sh: npm is needed to install bun (apt-get install -y npm)" >&2; exit 1; }
    npm install --silent --no-fund --no-audit --prefix .tools/bun bun@1.4.5
  fi
}

if [ "${1:-}" = "setup" ]; then
  setup
  exit 0
fi
setup
# `oneapi serve` builds the dashboard first when it is missing or its sources changed (and only then).
exec .venv/bin/oneapi serve "$@"
