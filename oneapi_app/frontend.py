"""Building the dashboard (Reflex -> static files) offline, with bun from the npm registry.

The set-up (run.sh, Dockerfile) installs bun into ``.tools/bun`` with npm; this module points Reflex at it and
keeps every Reflex/bun cache inside ``.tools`` so nothing is fetched from elsewhere at build or run time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn, TextIO

from . import logjson
from .migrations import PROJECT_ROOT

TOOLS = PROJECT_ROOT / ".tools"
BUN_BIN = TOOLS / "bun" / "node_modules" / ".bin"
WEB_DIR = PROJECT_ROOT / ".web"
BUILD_MARKER = WEB_DIR / "build" / "client" / "index.html"
FINGERPRINT = WEB_DIR / "build" / "oneapi-fingerprint"
BUILD_LOG = WEB_DIR / "oneapi-build.log"
log = logging.getLogger(__name__)


def say(text: str, to: TextIO | None = None, level: int = logging.INFO) -> None:
    """A line for the operator: a log record with LOG_FORMAT=json (logjson.py), else printed as it is (stderr
    unless ``to``)."""
    if logjson.enabled():
        log.log(level, "%s", text)
    else:
        print(text, file=to or sys.stderr)


def _fail(text: str) -> NoReturn:
    if logjson.enabled():
        log.error("%s", text)
        raise SystemExit(1)
    raise SystemExit(text)


def reflex_env(port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{BUN_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_DIR", str(TOOLS / "reflex"))
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(TOOLS / "bun-cache"))
    env.setdefault("BUN_RUNTIME_TRANSPILER_CACHE_PATH", str(TOOLS / "bun-tcache"))
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env.setdefault("REFLEX_API_URL", f"http://localhost:{port}")
    env["PORT"] = str(port)
    return env


def source_fingerprint() -> str:
    """A hash of what the dashboard is built from: pages, their state, rxconfig, assets, the Reflex version."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("reflex").encode())
    package = PROJECT_ROOT / "oneapi_app"
    files = [PROJECT_ROOT / "rxconfig.py", *sorted(package.rglob("*.py")), *sorted((PROJECT_ROOT / "assets").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_built() -> bool:
    """True when a build exists and was made from the current sources."""
    return BUILD_MARKER.is_file() and FINGERPRINT.is_file() and FINGERPRINT.read_text().strip() == source_fingerprint()


def build(port: int) -> None:
    """Compile the Reflex app and export the static frontend into .web/build/client."""
    if shutil.which("bun", path=str(BUN_BIN)) is None:
        _fail(f"bun is missing in {BUN_BIN}: run ./run.sh (it installs bun from the npm registry)")
    cmd = [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip", "--env", "prod"]
    fingerprint = source_fingerprint()
    # Reflex's own output is kept in a file, not shown: its hints ("run `reflex run`"), the npm mirror it
    # tries first and its Node.js notice do not apply to this appliance and would mislead. Shown on failure.
    WEB_DIR.mkdir(exist_ok=True)
    started = time.monotonic()
    with open(BUILD_LOG, "wb") as out:
        result = subprocess.run(cmd, cwd=PROJECT_ROOT, env=reflex_env(port), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not BUILD_MARKER.is_file():
        tail = BUILD_LOG.read_text(errors="replace").splitlines()[-40:]
        say("\n".join(tail), level=logging.ERROR)  # (JSON: one record, the lines in its message)
        _fail(f"the dashboard build failed (exit {result.returncode}); the whole output is in {BUILD_LOG}")
    FINGERPRINT.write_text(fingerprint + "\n")
    say(f"dashboard built in {time.monotonic() - started:.0f} s")


def serving_env(port: int, data_dir: Path, redis_url: str = "") -> dict[str, str]:
    """Variables that make the Reflex app serve the prebuilt frontend on the API's port, without bun.
    Dashboard sessions (Reflex state) are kept in the data dir, so they survive restarts -- or in Redis when
    the nodes share one (REDIS_CONN_STRING as a URL), so any node can serve any dashboard session."""
    extra = {"REFLEX_REDIS_URL": redis_url} if redis_url else {}
    return {
        **extra,
        "REFLEX_STATES_WORKDIR": str(data_dir / "dashboard-states"),
        "REFLEX_ENV_MODE": "prod",
        "__REFLEX_SKIP_COMPILE": "true",
        "__REFLEX_MOUNT_FRONTEND_COMPILED_APP": "true",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_DIR": str(data_dir / "reflex"),
        "PORT": str(port),
    }
