"""LOG_FORMAT=json: every line the process writes is JSON -- uvicorn's own lines (startup, its "uvicorn.error"
logger), the access log, warnings and uncaught exceptions, with tracebacks as a field; in the full appliance,
Reflex's output (its console, the dashboard build's messages) and whatever else is printed."""

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


def test_the_full_appliance_with_its_dashboard_build_writes_only_json(tmp_path):
    """``oneapi serve`` with Reflex: the dashboard build (when the sources changed since the last one), Reflex's
    start, a dashboard page and the API, a clean stop: every line JSON."""
    from oneapi_app import frontend

    data = tmp_path / "data"
    log = tmp_path / "server.log"
    env = {"LOG_FORMAT": "json", "REDIS_CONN_STRING": "", "SQL_DSN": ""}
    builds = not frontend.is_built()  # (the first full start after a change of the sources builds; else none)
    with running_server(data, env=env, log=log) as (proc, base, _log):
        assert httpx.get(base + "/api/status", timeout=30).status_code == 200
        assert httpx.get(base + "/login", timeout=30, follow_redirects=True).status_code == 200  # a dashboard page (Reflex's frontend)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    entries = _lines(log.read_text())
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    messages = [e["message"] for e in entries if e["logger"] == "uvicorn.error"]
    assert any("Application startup complete" in m for m in messages), messages
    if builds:
        assert any(e["message"].startswith("dashboard built in") for e in entries), entries


def test_reflex_console_prints_and_stray_output_become_json_records(tmp_path):
    """What a library prints in ``oneapi serve`` (Reflex's console, plain prints, a printed traceback, a last
    line without its newline) goes through the log: our fields, one record per message."""
    code = """if True:
        import os, sys, traceback
        from oneapi_app import cli
        from oneapi_app.settings import load_settings
        settings = load_settings({"DATA_DIR": THE_DIR, "LOG_FORMAT": "json"})
        cli._configure_logging(settings)
        cli._capture_output(settings)
        os.environ["REFLEX_LOG_JSON"] = "true"  # as cmd_serve sets it for the full appliance
        from reflex_base.utils import console
        console.print("[green]Compiling[/green] the app " + "x" * 200)
        console.print("to stderr", level="warning")
        print("a stray print")
        print("in two", end=""); print(" parts")
        try:
            1 / 0
        except ZeroDivisionError:
            traceback.print_exc()
        sys.stdout.write('{"already": "json"}\\n')
        sys.stderr.write("the last words")
    """.replace("THE_DIR", repr(str(tmp_path)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    entries = _lines(result.stdout + result.stderr)
    assert {"already": "json"} in entries
    records = [(e["logger"], e["level"], e["message"]) for e in entries if "time" in e]
    assert ("reflex.console", "INFO", "Compiling the app " + "x" * 200) in records  # no markup, not wrapped
    assert ("reflex.console", "WARNING", "to stderr") in records
    assert ("stdout", "INFO", "a stray print") in records and ("stdout", "INFO", "in two parts") in records
    assert ("stderr", "WARNING", "the last words") in records
    [crash] = [e for e in entries if e.get("exception")]
    assert crash["message"] == "ZeroDivisionError: division by zero" and crash["level"] == "ERROR"
    assert crash["exception"].startswith("Traceback") and 'File "<string>"' in crash["exception"]


def test_oneapi_build_that_cannot_build_says_why_in_json(tmp_path):
    """``oneapi build`` (the dashboard build serve runs on a first start) failing, in JSON: its error a record."""
    code = """if True:
        import sys
        from pathlib import Path
        from oneapi_app import cli, frontend
        frontend.BUN_BIN = Path(THE_DIR) / "no-bun"
        sys.exit(cli.main(["build"]))
    """.replace("THE_DIR", repr(str(tmp_path)))
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "LOG_FORMAT": "json"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env=env)
    assert result.returncode == 1
    entries = _lines(result.stdout + result.stderr)
    assert [(e["level"], e["logger"]) for e in entries] == [("ERROR", "oneapi_app.frontend")]
    assert "bun is missing" in entries[0]["message"]
