"""Building the dashboard (Reflex -> static files) offline, with bun from the npm registry.

The set-up (run.sh, Dockerfile) installs bun into ``.tools/bun`` with npm; this module points Reflex at it and
keeps every Reflex/bun cache inside ``.tools`` so nothing is fetched from elsewhere at build or run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .migrations import PROJECT_ROOT

TOOLS = PROJECT_ROOT / ".tools"
BUN_BIN = TOOLS / "bun" / "node_modules" / ".bin"
WEB_DIR = PROJECT_ROOT / ".web"
BUILD_MARKER = WEB_DIR / "build" / "client" / "index.html"


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


def is_built() -> bool:
    return BUILD_MARKER.is_file()


def build(port: int) -> None:
    """Compile the Reflex app and export the static frontend into .web/build/client."""
    if shutil.which("bun", path=str(BUN_BIN)) is None:
        raise SystemExit(f"bun is missing in {BUN_BIN}: run ./run.sh (it installs bun from the npm registry)")
    cmd = [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip", "--env", "prod"]
    result = subprocess.run(cmd, cwd=PROJECT_ROOT, env=reflex_env(port))
    if result.returncode != 0 or not is_built():
        raise SystemExit(f"the dashboard build failed (exit {result.returncode})")


def serving_env(port: int) -> dict[str, str]:
    """Variables that make the Reflex app serve the prebuilt frontend on the API's port, without bun."""
    return {
        "REFLEX_ENV_MODE": "prod",
        "__REFLEX_SKIP_COMPILE": "true",
        "__REFLEX_MOUNT_FRONTEND_COMPILED_APP": "true",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_DIR": str(TOOLS / "reflex"),
        "PORT": str(port),
    }
