#!/usr/bin/env bash
# Regenerate constraints.txt: the whole Python dependency tree, pinned, that run.sh, the Dockerfile and CI
# install from (`pip install -c constraints.txt ...`). Run it after changing a dependency in pyproject.toml:
#   .ci/lock.sh          # a clean venv with every extra, resolved from pyproject.toml alone, then pip freeze
# then run ./test.sh and commit pyproject.toml and constraints.txt together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
venv=$(mktemp -d "${TMPDIR:-/tmp}/oneapi-lock.XXXXXX")
trap 'rm -rf "$venv"' EXIT
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
extras=$("$PY" -c 'import tomllib; print(",".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]))')
"$venv/bin/python" -m pip install --quiet -e ".[$extras]"
"$venv/bin/python" -m pip check
{
  echo "# The whole Python dependency tree of the appliance and of every extra ($extras), pinned."
  echo "# run.sh setup (so ./run.sh, ./test.sh, the Dockerfile) and .ci/run install with -c constraints.txt."
  echo "# Made by .ci/lock.sh (a clean venv, pip install -e .[$extras], pip freeze) on Python $("$venv/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())');"
  echo "# regenerate it with .ci/lock.sh after changing pyproject.toml, never by hand."
  "$venv/bin/python" -m pip freeze --all --exclude-editable | grep -viE '^(setuptools|wheel)==' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
