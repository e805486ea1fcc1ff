"""The full appliance in a real browser: `oneapi serve` (dashboard + API on one port) driven by headless
Debian Chromium through Playwright. Covers the shell: layout, navigation, status card, login/logout."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from oneapi_app import __version__

from .servers import running_server

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
FAKE_ANSWER = "Hello from the fake upstream"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        # Reach the appliance by another host name, as on a NAS (http://nas.local:3000).
        "--host-resolver-rules=MAP nas.local 127.0.0.1"]
# Every expect() in the browser tests (which all import this module) waits up to 20 s, as their pages'
# set_default_timeout(20000) does for actions: Playwright's own 5 s is short for the dashboard's websocket round
# trips on a loaded 2-core CI machine. A check that holds passes as soon as it holds.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    data = tmp_path_factory.mktemp("appliance") / "data"
    with running_server(data) as (_proc, base, _log):
        yield base


@pytest.fixture(scope="module")
def fake_openai():
    """A tiny OpenAI-shaped upstream: (base URL, the requests it saw)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            seen.append({"path": self.path, "auth": self.headers.get("authorization", ""), "body": body})
            if self.path != "/v1/chat/completions":
                self.send_response(404)
                self.end_headers()
                return
            answer = json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": body.get("model", ""),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": FAKE_ANSWER},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
            }).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def log_in(page, base: str, username: str = "root", password: str = "123456") -> None:
    """Log in through the login page and wait until the session cookie serves /api too."""
    page.goto(base + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
    expect(page.locator("#current-user")).to_be_visible()
    deadline = time.monotonic() + 30  # the cookie hand-over is a fetch from the page: wait for its Set-Cookie
    while page.request.get(base + "/api/user/self").status != 200:
        assert time.monotonic() < deadline, "the session cookie never served /api"
        page.wait_for_timeout(100)
    # The hand-over ends with a redirect to the home page: let it finish, or the caller's next goto is
    # interrupted by it.
    expect(page).to_have_url(base + "/")
    page.wait_for_load_state()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_one_port_serves_dashboard_and_api(appliance):
    assert httpx.get(f"{appliance}/api/status").json()["data"]["version"] == __version__
    page = httpx.get(f"{appliance}/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert httpx.get(f"{appliance}/v1/nope").status_code == 404  # the API's 404, not the dashboard's


def test_shell_renders_and_login_works(appliance, browser, tmp_path: Path):
    """Driven through http://nas.local:<port>: the dashboard's websocket must follow the page's origin."""
    appliance = appliance.replace("127.0.0.1", "nas.local")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(appliance + "/")
    expect(page.locator("#status-card")).to_be_visible()
    expect(page.locator("#status-version")).to_have_text(__version__)
    expect(page.locator("#sidebar")).to_contain_text("Home")
    expect(page.locator("#sidebar")).to_contain_text("About")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-home.png"))

    page.locator("#login-link").click()
    expect(page).to_have_url(appliance + "/login")
    page.locator("#username").fill("root")
    page.locator("#password").fill("wrong-password")
    page.locator("#login-submit").click()
    expect(page.locator("#login-error")).to_contain_text("Wrong username or password")

    page.locator("#password").fill("123456")
    page.locator("#login-submit").click()
    expect(page.locator("#current-user")).to_have_text("Root User")
    expect(page).to_have_url(appliance + "/")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-logged-in.png"))

    page.locator("#logout").click()
    expect(page).to_have_url(appliance + "/login")
    expect(page.locator("#login-link")).to_be_visible()
    context.close()


def test_cors_open_on_relay_closed_on_api(appliance):
    foreign = {"Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
    r = httpx.options(f"{appliance}/v1/chat/completions", headers=foreign)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    r = httpx.get(f"{appliance}/api/status", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_about_page(appliance, browser):
    page = browser.new_page()
    page.goto(appliance + "/about")
    expect(page.get_by_role("heading", name="About")).to_be_visible(timeout=20000)
    page.close()
