"""Start the real `oneapi` command in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from .local_server import free_port

ROOT = Path(__file__).resolve().parent.parent
ONEAPI = [sys.executable, "-m", "oneapi_app.cli"]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running_server(data_dir: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None):
    port = free_port()
    # One process unless the test asks for more (WORKERS defaults to the cores: see oneapi_app/workers.py).
    full_env = {**os.environ, "DATA_DIR": str(data_dir), "WORKERS": "1", **(env or {})}
    full_env.pop("PORT", None)
    log = log or data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([*ONEAPI, "serve", "--port", str(port), "--host", "127.0.0.1", *args],
                                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(f"http://127.0.0.1:{port}/api/status", proc)
            yield proc, f"http://127.0.0.1:{port}", log
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
