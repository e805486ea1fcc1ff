"""LOG_FORMAT=json: every line the process writes is JSON -- uvicorn's own lines (startup, its "uvicorn.error"
logger), the access log, warnings and uncaught exceptions, with tracebacks as a field."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from .servers import ONEAPI, ROOT, running_server


def _lines(text: str) -> list[dict]:
    entries = []
    for line in text.splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}\n--- the whole output:\n{text[-4000:]}") from None
    return entries


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_line_of_a_real_server_is_json(tmp_path, workers):
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    env = {"LOG_FORMAT": "json", "REDIS_CONN_STRING": "", "SQL_DSN": "", "ENABLE_PROMETHEUS": "true"}
    with running_server(data, "--api-only", "--workers", workers, env=env, log=log) as (proc, base, _log):
        resp = httpx.get(base + "/api/status")
        assert resp.status_code == 200
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:  # uvicorn logs a warning of its own
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            sock.recv(1024)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    entries = _lines(log.read_text())
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers, loggers
    messages = [e["message"] for e in entries if e["logger"] == "uvicorn.error"]
    assert any("Application startup complete" in m for m in messages), messages
    assert any("Invalid HTTP request" in m for m in messages), messages
    assert any(e.get("request_id") and e.get("path") == "/api/status" for e in entries)  # the access line
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)


def test_uncaught_exceptions_and_warnings_are_json_with_their_traceback(tmp_path):
    code = """if True:
        import threading, warnings
        from oneapi_app.cli import _configure_logging
        from oneapi_app.settings import load_settings
        _configure_logging(load_settings({"DATA_DIR": THE_DIR, "LOG_FORMAT": "json"}))
        print("not me", end="")  # (a bare print is the program's own output, not a log line: none below)
        warnings.warn("an old way", DeprecationWarning, stacklevel=1)
        warnings.simplefilter("always")
        warnings.warn("a warning")
        thread = threading.Thread(target=lambda: 1 / 0, name="worker-thread")
        thread.start(); thread.join()
        raise RuntimeError("the end")
    """.replace("THE_DIR", repr(str(tmp_path)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1 and result.stdout == "not me"
    entries = _lines(result.stderr)
    crash = [e for e in entries if e["logger"] == "oneapi.crash"]
    assert "worker-thread" in crash[0]["message"] and "ZeroDivisionError" in crash[0]["exception"]
    assert crash[-1]["level"] == "CRITICAL" and crash[-1]["exception"].startswith("Traceback")
    assert "RuntimeError: the end" in crash[-1]["exception"]
    assert any(e["logger"] == "py.warnings" and "a warning" in e["message"] for e in entries)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_server_that_cannot_start_says_why_in_json(tmp_path, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "LOG_FORMAT": "json", "REDIS_CONN_STRING": "",
               "SQL_DSN": ""}
        env.pop("PORT", None)
        result = subprocess.run([*ONEAPI, "serve", "--api-only", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", workers], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode != 0
    entries = _lines(result.stdout + result.stderr)
    errors = [e["message"] for e in entries if e["level"] == "ERROR"]
    assert any("address already in use" in m.lower() for m in errors), errors
