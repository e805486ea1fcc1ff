"""Property-based fuzzing of every /api operation with schemathesis (its CLI, against a real server on a
free port): no input may produce a 500. The number of generated cases is printed (pytest -s shows it).

The pass is bounded by its number of examples per operation (deterministic generation), never by a clock:
a loaded machine makes it slower, never smaller, so the case-count floor below cannot flake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from oneapi_app.api import create_api
from oneapi_app.runtime import Runtime
from tests.api.conftest import ROOT_ACCESS_TOKEN
from tests.local_server import free_port

pytestmark = pytest.mark.faults
MIN_CASES = 150  # 3 examples for each of the ~57 operations (a count, whatever the machine's speed)


def _serve(app) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    return server, thread, port


def test_schemathesis_finds_no_server_errors(make_settings, tmp_path: Path):
    settings = make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN, CRITICAL_RATE_LIMIT="0",
                             GLOBAL_API_RATE_LIMIT="0")
    app = create_api(Runtime(settings), own_lifespan=True)
    server, thread, port = _serve(app)
    try:
        cli = Path(sys.executable).with_name("schemathesis")
        command = [
            str(cli), "run", f"http://127.0.0.1:{port}/openapi.json",
            "--checks", "not_a_server_error",
            "--header", f"Authorization: {ROOT_ACCESS_TOKEN}",
            "--include-path-regex", "^/api/",
            # Rotating root's access token would lock the fuzzer out of every other operation.
            "--exclude-path", "/api/user/token",
            "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"),
            "--phases", "examples,fuzzing",
            "--generation-deterministic",
            "--workers", "1",
            "--request-timeout", "20",
            "--no-color",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                                env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    output = result.stdout + result.stderr
    cases = re.findall(r"(\d+) generated", output)
    print(f"schemathesis: {cases[-1] if cases else '?'} generated cases\n{output[-3000:]}")
    assert result.returncode == 0, output[-8000:]
    assert cases and int(cases[-1]) >= MIN_CASES, output[-3000:]
