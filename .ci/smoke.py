#!/usr/bin/env python3
"""CI: prove the shipped install -- what the Dockerfile builds and runs -- starts and relays.

In a temporary clean copy of the work tree (the files git knows, as `COPY . .` sees them) it runs the image's
build steps that work without a Docker engine:

    ONEAPI_EXTRAS=none ./run.sh setup      # a fresh venv WITHOUT the test/dev extras, pinned by constraints.txt
    .venv/bin/oneapi build --port PORT     # the dashboard

then starts the full appliance as the image does (`oneapi serve`, DATA_DIR in a temporary folder, a minimal
environment) and checks, through its one port:
  * /api/status answers success; the dashboard page is served;
  * a channel pointing at a local fake upstream (bench/mock_upstream.py) and a token, made through /api with
    INITIAL_ROOT_ACCESS_TOKEN;
  * POST /v1/chat/completions (plain and streamed) relays the upstream's answer, and the token and the log
    are charged for both requests;
  * SIGTERM stops it with exit 0 and no traceback in its log.

Stdlib only (it runs under the machine's python3). Every wait is bounded; the server and the fake upstream
are killed on any exit. Fails loudly: the failed check, then the tail of the server's log.

    python3 .ci/smoke.py            # ONEAPI_SMOKE_KEEP=1 keeps the temporary folder for a look
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCESS_TOKEN = "smoke-access-token-0123456789abc"  # one-api: at most 32 characters
TOKEN_QUOTA = 500_000
REPLY_START = "Latency hides in queues"  # bench/mock_upstream.py's answer
STARTED = time.monotonic()


class SmokeFailure(Exception):
    pass


def say(message: str) -> None:
    print(f"smoke [{time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What a first run must not print: hints of tools the appliance does not use, a foreign npm mirror, a Node.js
# notice (the build works with bun from npm).
MISLEADING = ("reflex run", "npmmirror", "Node.js", "node version")


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
    say("$ " + " ".join(cmd))
    try:
        result = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"{' '.join(cmd)} took more than {timeout:.0f}s") from None
    output = result.stdout + result.stderr
    print(output, end="", flush=True)
    check(result.returncode == 0, f"{' '.join(cmd)} failed with exit {result.returncode}")
    misleading = [line for line in output.splitlines() if any(m.lower() in line.lower() for m in MISLEADING)]
    check(not misleading, f"{' '.join(cmd)} printed misleading lines: {misleading}")


def request(method: str, url: str, body: object = None, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, str, bytes]:
    """(status, content type, body); HTTP errors are answers too."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def api(method: str, base: str, path: str, body: object = None) -> object:
    """An /api call as root (access token); returns `data` of a {success: true} envelope."""
    status, _, raw = request(method, base + path, body, {"Authorization": ACCESS_TOKEN})
    check(status == 200, f"{method} {path}: HTTP {status}: {raw[:500]!r}")
    envelope = json.loads(raw)
    check(envelope.get("success") is True, f"{method} {path}: {envelope}")
    return envelope.get("data")


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check(proc.poll() is None, f"{what} exited early with {proc.returncode}")
        try:
            if request("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SmokeFailure(f"{what}: {url} did not answer 200 within {timeout:.0f}s")


def wait_for(probe, what: str, timeout: float = 15):
    """Poll probe() until it returns something truthy (settlements are group-committed, not instant)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            check(value, f"{what} (waited {timeout:.0f}s)")
            return value
        time.sleep(0.25)


def clean_copy(dest: Path) -> None:
    """The work tree as git sees it (tracked and new files, nothing ignored): no .venv, .web, .tools, data."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    check((dest / "run.sh").is_file() and (dest / "pyproject.toml").is_file(), "the clean copy has no run.sh")


def shared_tools(app: Path) -> None:
    """Reuse the work tree's .tools (bun from npm and its caches) instead of a second npm install. The venv
    stays fresh: only bun, Reflex's and bun's caches live there."""
    tools = ROOT / ".tools"
    if not tools.exists():
        tools.mkdir()
    (app / ".tools").symlink_to(tools.resolve(), target_is_directory=True)


def check_shipped_venv(app: Path, env: dict[str, str]) -> None:
    """The venv holds the appliance and its dependencies only: no test tool sneaks a dependency in."""
    py = str(app / ".venv" / "bin" / "python")
    probe = ("import importlib.util as u, sys; "
             "sys.exit(','.join(m for m in ('pytest', 'playwright', 'schemathesis', 'ruff', 'mypy', 'aiosmtpd', "
             "'openai') if u.find_spec(m)) or None)")
    result = subprocess.run([py, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"the shipped venv has test tools installed: {result.stderr.strip()}")
    result = subprocess.run([py, "-m", "pip", "check"], env=env, capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"pip check in the shipped venv: {result.stdout}{result.stderr}")


def start(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    say("$ " + " ".join(cmd) + f"  (log: {log})")
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen | None) -> None:
    """Kill a child and its process group, bounded."""
    if proc is None or proc.poll() is not None:
        return
    with_group = [proc.pid]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(with_group[0], sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def exercise(base: str, upstream_port: int) -> None:
    status = api("GET", base, "/api/status")
    check(isinstance(status, dict) and status.get("version"), f"/api/status has no version: {status}")
    say(f"/api/status: success, version {status['version']}")

    code, ctype, page = request("GET", base + "/")
    check(code == 200 and "text/html" in ctype and b"<html" in page.lower(),
          f"the dashboard is not served at /: HTTP {code} {ctype} {page[:200]!r}")
    say("dashboard: / serves the built page")

    api("POST", base, "/api/channel/", {
        "type": 1, "name": "smoke-mock", "key": "sk-upstream-smoke", "base_url": f"http://127.0.0.1:{upstream_port}",
        "models": "gpt-4o-mini", "group": "default"})
    token = api("POST", base, "/api/token/", {"name": "smoke", "remain_quota": TOKEN_QUOTA, "expired_time": -1})
    check(isinstance(token, dict) and token.get("key") and token.get("id"), f"POST /api/token/ gave {token}")
    key = token["key"] if token["key"].startswith("sk-") else "sk-" + token["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    say(f"channel and token {token['id']} created through /api")

    code, _, raw = request("GET", base + "/v1/models", headers=bearer)
    check(code == 200 and "gpt-4o-mini" in raw.decode(), f"GET /v1/models: HTTP {code}: {raw[:300]!r}")

    ask = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
    code, _, raw = request("POST", base + "/v1/chat/completions", ask, bearer)
    check(code == 200, f"POST /v1/chat/completions: HTTP {code}: {raw[:500]!r}")
    answer = json.loads(raw)
    content = answer["choices"][0]["message"]["content"]
    check(content.startswith(REPLY_START), f"unexpected answer: {answer}")
    check(answer.get("usage", {}).get("total_tokens") == 52, f"usage not relayed: {answer.get('usage')}")
    say("/v1/chat/completions relayed the upstream's answer")

    code, ctype, raw = request("POST", base + "/v1/chat/completions", {**ask, "stream": True}, bearer)
    text = raw.decode()
    check(code == 200 and "text/event-stream" in ctype and text.rstrip().endswith("data: [DONE]"),
          f"streamed /v1/chat/completions: HTTP {code} {ctype}: {text[-300:]!r}")
    check("Latency" in text, f"the stream lacks the upstream's words: {text[:300]!r}")
    say("streamed /v1/chat/completions relayed to [DONE]")

    code, ctype, raw = request("POST", base + "/v1/chat/completions", ask, {"Authorization": "Bearer sk-wrong"})
    check(code == 401 and "error" in json.loads(raw), f"a wrong key: HTTP {code}: {raw[:300]!r}")

    seen: dict[str, object] = {}

    def books():
        """The token's balance and its consume log rows, once both requests are settled and they agree."""
        t = seen["token"] = api("GET", base, f"/api/token/{token['id']}")
        rows = seen["logs"] = api("GET", base, "/api/log/?type=2&p=0")
        if len(rows) < 2 or not all(r["quota"] > 0 for r in rows):
            return None
        if t["used_quota"] != sum(r["quota"] for r in rows) or t["remain_quota"] + t["used_quota"] != TOKEN_QUOTA:
            return None
        return t, rows

    try:
        t, rows = wait_for(books, "the token and its consume log rows do not show both requests charged")
    except SmokeFailure as failure:
        raise SmokeFailure(f"{failure}: token {seen.get('token')}, logs {seen.get('logs')}") from None
    say(f"quota charged: token used {t['used_quota']}, {len(rows)} consume log rows agree")


def second_start(app: Path, env: dict[str, str], data: Path, work: Path) -> None:
    """The README's ./run.sh once more on the set-up install: nothing to install or build, it serves at once."""
    port = free_port()
    log = work / "second-run.log"
    stamps = [app / ".venv/.oneapi-installed", app / ".web/build/oneapi-fingerprint"]
    check(all(p.is_file() for p in stamps), f"the set-up left no install or build stamp: {stamps}")
    before = [p.stat().st_mtime_ns for p in stamps]
    started = time.monotonic()
    proc = start(["./run.sh", "--port", str(port), "--host", "127.0.0.1"], app, env | {"DATA_DIR": str(data)}, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status", proc, "./run.sh (second start)", 120)
        took = time.monotonic() - started
        output = log.read_text(errors="replace")
        check("building the dashboard" not in output, f"the second ./run.sh rebuilt the dashboard: {output[-2000:]}")
        check([p.stat().st_mtime_ns for p in stamps] == before, "the second ./run.sh installed or built again")
        say(f"second ./run.sh: serving after {took:.1f} s (no install, no build)")
    finally:
        stop(proc)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="oneapi-smoke-"))
    app, data = work / "app", work / "data"
    app.mkdir()
    data.mkdir()
    server = upstream = None
    server_log = work / "server.log"
    try:
        clean_copy(app)
        shared_tools(app)
        build_env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
        build_env |= {"ONEAPI_EXTRAS": "none", "PYTHON": os.environ.get("PYTHON", "python3")}
        run(["./run.sh", "setup"], app, build_env, timeout=900)
        check_shipped_venv(app, build_env)
        port, upstream_port = free_port(), free_port()
        run([str(app / ".venv/bin/oneapi"), "build", "--port", str(port)], app, build_env, timeout=600)

        upstream = start([sys.executable, str(ROOT / "bench/mock_upstream.py"), "--port", str(upstream_port),
                          "--chunks", "5", "--chunk-delay-ms", "0", "--no-uvloop"], work, dict(os.environ),
                         work / "upstream.log")
        wait_http(f"http://127.0.0.1:{upstream_port}/health", upstream, "the fake upstream", 30)

        # As the image runs it: its venv on PATH, the data dir, nothing else of this machine's environment.
        serve_env = {"PATH": f"{app / '.venv/bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(data),
                     "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "DATA_DIR": str(data),
                     "INITIAL_ROOT_ACCESS_TOKEN": ACCESS_TOKEN}
        server = start(["oneapi", "serve", "--port", str(port), "--host", "127.0.0.1"], app, serve_env, server_log)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/status", server, "oneapi serve", 120)
        exercise(base, upstream_port)

        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            raise SmokeFailure("oneapi serve did not stop within 45s of SIGTERM") from None
        check(code == 0, f"oneapi serve exited {code} on SIGTERM")
        log = server_log.read_text(errors="replace")
        check("Traceback" not in log, "the server's log has a traceback")
        say("SIGTERM: exit 0, no traceback")
        second_start(app, build_env, data, work)
    except SmokeFailure as failure:
        print(f"\nsmoke: FAILED: {failure}", file=sys.stderr)
        if server_log.is_file():
            tail = server_log.read_text(errors="replace").splitlines()[-60:]
            print("---- oneapi serve log (tail) ----\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        stop(server)
        stop(upstream)
        if os.environ.get("ONEAPI_SMOKE_KEEP"):
            print(f"smoke: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    say("the shipped install starts, serves the dashboard and relays: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
