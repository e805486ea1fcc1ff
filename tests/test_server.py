"""The shipped entry point: `oneapi serve --api-only`, `oneapi migrate`, `oneapi version`, graceful SIGTERM."""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from oneapi_app import __version__
from oneapi_app.migrations import HEAD_REVISION

from .servers import ONEAPI, ROOT, running_server


def test_version_and_migrate(tmp_path: Path):
    out = subprocess.run([*ONEAPI, "version"], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == __version__
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)}
    out = subprocess.run([*ONEAPI, "migrate"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert f"[both]: empty -> {HEAD_REVISION}" in out.stdout
    assert (tmp_path / "one-api.db").is_file()


def test_api_only_serves_and_shuts_down_gracefully(tmp_path: Path):
    with running_server(tmp_path / "data", "--api-only") as (proc, base, log):
        status = httpx.get(f"{base}/api/status").json()
        assert status["success"] and status["data"]["version"] == __version__
        # The dashboard is not served in --api-only mode.
        assert httpx.get(f"{base}/").status_code == 404

        # An in-flight request: headers and half of a gzip body sent, then SIGTERM, then the rest. "Expect:
        # 100-continue" makes the server say when the request is in hand (it reads the body), however loaded the
        # machine: no guessing with a sleep.
        body = gzip.compress(b'{"model":"x"}' * 100)
        host, port = base.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=30)
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Encoding: gzip\r\nExpect: 100-continue\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body[:10])
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert proc.poll() is None  # still running: waiting for the in-flight request
        sock.sendall(body[10:])
        response = sock.recv(65536).decode()
        sock.close()
        assert response.startswith("HTTP/1.1 501"), response
        assert proc.wait(timeout=30) == 0
    text = log.read_text()
    assert "One API stopped" in text and "Traceback" not in text


def test_bad_setting_stops_start_with_one_line(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "SQL_DSN": "root@tcp(db:port)/x"}
    out = subprocess.run([*ONEAPI, "serve", "--api-only"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [("oneapi: configuration error: SQL_DSN: bad port in MySQL DSN "
                                                "'root@tcp(db:port)/x'")]
