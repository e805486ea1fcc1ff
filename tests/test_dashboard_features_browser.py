"""Usage charts, the price table, the playground, the channel editor per type, Test all, redemption download and
user sort in a real browser, against one appliance (module-scoped) and a local fake upstream that streams."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
CHUNKS = ["Streamed ", "answer ", "from the ", "fake upstream"]
RELAY_CALLS = 3


@pytest.fixture(scope="module")
def streaming_upstream():
    """An OpenAI-shaped upstream: JSON answers, or SSE chunks 0.4 s apart when asked to stream."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            seen.append({"path": self.path, "auth": self.headers.get("authorization", ""), "body": body})
            model = body.get("model", "")
            if not body.get("stream"):
                answer = json.dumps({
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(CHUNKS)},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            for index, text in enumerate(CHUNKS):
                event = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
                         "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                if index < len(CHUNKS) - 1:
                    time.sleep(0.4)
            final = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}
            self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _ok(response):
    assert response.status == 200 and response.json()["success"], response.text()
    return response.json()["data"]


@pytest.fixture(scope="module")
def root_page(appliance, browser, streaming_upstream):  # noqa: F811
    """Root logged in, a channel to the fake upstream, a token, and RELAY_CALLS billed requests."""
    upstream, _seen = streaming_upstream
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance)
    rq = page.request
    _ok(rq.post(appliance + "/api/channel/", data={"type": 1, "name": "fake", "key": "sk-upstream",
                                                   "base_url": upstream, "models": "gpt-4o-mini",
                                                   "group": "default"}))
    token = _ok(rq.post(appliance + "/api/token/", data={"name": "play-key", "remain_quota": 0,
                                                          "unlimited_quota": True, "expired_time": -1}))
    key = token["key"] if token["key"].startswith("sk-") else "sk-" + token["key"]
    for _ in range(RELAY_CALLS):
        r = rq.post(appliance + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                    data={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]})
        assert r.status == 200, r.text()
    deadline = time.monotonic() + 30  # consume logs are written by the batched log writer
    while _ok(rq.get(appliance + "/api/log/self/stat", params={"type": 2}))["quota"] <= 0:
        assert time.monotonic() < deadline, "consume logs did not appear"
        time.sleep(0.1)
    yield page
    context.close()


def test_usage_charts_and_price_table(appliance, root_page):  # noqa: F811
    page = root_page
    page.goto(appliance + "/dashboard")
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    expect(page.locator("#sidebar")).to_contain_text("Usage")
    expect(page.locator("#usage-today-requests")).to_have_text(str(RELAY_CALLS))
    expect(page.locator("#usage-range-tokens")).to_have_text(str(RELAY_CALLS * 11))
    expect(page.locator("#usage-top-models")).to_contain_text("gpt-4o-mini")
    expect(page.locator("#usage-top-tokens")).to_contain_text("play-key")
    expect(page.locator("#usage-top-users")).to_contain_text("root")
    # the charts drew today's bar (recharts renders SVG rectangles)
    expect(page.locator("#usage-chart-requests .recharts-bar-rectangle").first).to_be_visible()
    expect(page.locator("#usage-chart-models")).to_contain_text("gpt-4o-mini")
    page.locator("#usage-days").select_option("30")
    expect(page.locator("#usage-chart-requests .recharts-xAxis .recharts-cartesian-axis-tick")).not_to_have_count(0)
    expect(page.locator("#usage-range-requests")).to_have_text(str(RELAY_CALLS))

    page.goto(appliance + "/pricing")
    row = page.locator("#pricing-row-gpt-4o-mini")
    expect(row.locator(".pricing-input")).to_have_text("$0.15")  # ratio 0.075 x $2 per 1M at ratio 1
    expect(row.locator(".pricing-output")).to_have_text("$0.6")  # completion ratio 4
    expect(row.locator(".pricing-model-ratio")).to_have_text("0.075")
    expect(row.locator(".pricing-completion-ratio")).to_have_text("4")
    expect(page.locator(".pricing-row")).to_have_count(1)  # only what the group reaches


def test_playground_streams_an_answer(appliance, root_page, streaming_upstream):  # noqa: F811
    _upstream, seen = streaming_upstream
    page = root_page
    page.goto(appliance + "/playground")
    expect(page.locator("#playground-token")).to_contain_text("play-key")
    expect(page.locator("#playground-model")).to_have_value("gpt-4o-mini")
    page.locator("#playground-message").fill("Say something")
    page.locator("#playground-send").click()
    streaming = page.locator("#playground-streaming")
    expect(streaming).to_contain_text("Streamed")  # the first chunks show before the answer is complete
    assert "fake upstream" not in streaming.inner_text()
    expect(page.locator(".playground-assistant")).to_contain_text("".join(CHUNKS))
    expect(page.locator(".playground-user")).to_contain_text("Say something")
    last = seen[-1]
    assert last["body"]["stream"] is True and last["body"]["messages"][-1]["content"] == "Say something"
    assert last["auth"] == "Bearer sk-upstream"
    # chat links open a new window with the key and this address filled in (the app itself is faked: no internet)
    page.context.route("https://app.nextchat.dev/**", lambda route: route.fulfill(body="NextChat", status=200))
    with page.expect_popup() as popup:
        page.locator("#playground-open-nextchat").click()
    url = unquote(popup.value.url)
    assert url.startswith("https://app.nextchat.dev/#/?settings=") and '"key":"sk-' in url, url
    assert f'"url":"{appliance}"' in url
    popup.value.close()


def _db_channel(appliance_data, name: str) -> tuple[str, str]:
    with sqlite3.connect(appliance_data) as db:
        return db.execute("select key, config from channels where name = ?", (name,)).fetchone()


def _find_channel(tmp_path_factory, name: str) -> tuple[str, str]:
    """The channel's row in whichever appliance's database holds it (other modules start appliances too)."""
    for data_db in sorted(tmp_path_factory.getbasetemp().glob("appliance*/data/one-api.db")):
        row = _db_channel(data_db, name)
        if row is not None:
            return row
    raise AssertionError(f"no appliance database holds the channel {name}")


def test_channel_editor_per_type_and_test_all(appliance, root_page, streaming_upstream, tmp_path_factory):  # noqa: F811
    upstream, _seen = streaming_upstream
    page = root_page
    page.goto(appliance + "/channel")
    page.locator("#channel-add").click()
    page.locator("#channel-type").select_option("3")  # Azure: its API version field
    expect(page.locator("#channel-cfg-api_version")).to_be_visible()
    expect(page.locator("#channel-cfg-region")).to_have_count(0)
    page.locator("#channel-type").select_option("11")
    expect(page.locator("#channel-retired")).to_contain_text("Gemini")
    page.locator("#channel-type").select_option("33")  # AWS: region, AK, SK
    expect(page.locator("#channel-cfg-api_version")).to_have_count(0)
    expect(page.locator("#channel-key")).to_have_attribute("placeholder",
                                                           "empty: built from AK|SK|region[|session token] below")
    expect(page.locator("#channel-cfg-session_token")).to_be_visible()  # temporary credentials (secret)
    page.locator("#channel-cfg-region").fill("us-west-2")
    page.locator("#channel-cfg-ak").fill("AKIABROWSER")
    page.locator("#channel-cfg-sk").fill("aws-secret-browser")
    expect(page.locator("#channel-config")).to_have_value('{\n  "region": "us-west-2",\n  "ak": "AKIABROWSER"\n}')
    page.locator("#channel-config").fill("[not an object")
    expect(page.locator("#channel-config-error")).to_contain_text("JSON object")
    page.locator("#channel-config").fill('{"region": "eu-west-1", "ak": "AKIABROWSER"}')
    expect(page.locator("#channel-config-error")).to_have_count(0)
    expect(page.locator("#channel-cfg-region")).to_have_value("eu-west-1")
    page.locator("#channel-models").fill("claude-3-haiku-20240307")
    page.locator("#channel-custom-model").fill("my-model")
    page.locator("#channel-add-model").click()
    expect(page.locator("#channel-models")).to_have_value("claude-3-haiku-20240307,my-model")
    page.locator("#channel-submit").click()
    expect(page.locator("#channel-error")).to_contain_text(re.compile("name|名称"))  # no name: the service refuses
    page.locator("#channel-name").fill("aws-browser")
    page.locator("#channel-submit").click()
    expect(page.locator("#channel-editor")).to_have_count(0)
    expect(page.locator(".channel-row", has_text="aws-browser")).to_have_count(1)

    key, config = _find_channel(tmp_path_factory, "aws-browser")
    assert json.loads(config) == {"region": "eu-west-1", "ak": "AKIABROWSER", "sk": "aws-secret-browser"}
    assert key == "AKIABROWSER|aws-secret-browser|eu-west-1"
    assert "aws-secret-browser" not in page.content()

    # edit: the secret is not shown; leaving it empty keeps it; the region changes
    page.locator(".channel-row", has_text="aws-browser").locator(".channel-edit").click()
    expect(page.locator("#channel-cfg-region")).to_have_value("eu-west-1")
    expect(page.locator("#channel-cfg-sk")).to_have_value("")
    page.locator("#channel-cfg-region").fill("ap-south-1")
    page.locator("#channel-submit").click()
    expect(page.locator("#channel-editor")).to_have_count(0)
    assert json.loads(_find_channel(tmp_path_factory, "aws-browser")[1]) == {"region": "ap-south-1", "ak": "AKIABROWSER",
                                                                   "sk": "aws-secret-browser"}
    _ok(page.request.delete(appliance + "/api/channel/" + str(next(
        c["id"] for c in _ok(page.request.get(appliance + "/api/channel/search", params={"keyword": "aws-browser"}))))))

    # a test with a model picked among the channel's models
    _ok(page.request.post(appliance + "/api/channel/", data={
        "type": 1, "name": "fake-2", "key": "sk-upstream-2", "base_url": upstream, "models": "gpt-4o-mini,gpt-4o",
        "group": "default"}))
    page.reload()
    fake2 = page.locator(".channel-row", has_text="fake-2")
    fake2.locator(".channel-test-model").click()
    page.locator("#channel-test-model").select_option("gpt-4o")
    page.locator("#channel-test-run").click()
    expect(page.locator("#channel-test-result")).to_contain_text("OK")

    # Test all: a live summary and progress bar, then one result per channel
    page.locator("#channel-test-all").click()
    expect(page.locator("#channel-test-all-progress")).to_be_visible()
    expect(page.locator("#channel-test-all-summary")).to_contain_text("Tested 2 channel(s): 2 OK, 0 failed.")
    expect(page.locator(".channel-test-all-row")).to_have_count(2)
    expect(page.locator(".channel-test-all-row", has_text="fake-2")).to_contain_text("OK")


def test_redemption_download_and_user_sort(appliance, root_page):  # noqa: F811
    page = root_page
    page.goto(appliance + "/redemption")
    page.locator("#redemption-add").click()
    page.locator("#redemption-name").fill("gift 1")
    page.locator("#redemption-count").fill("3")
    page.locator("#redemption-submit").click()
    expect(page.locator(".redemption-code")).to_have_count(3)
    shown = [c.inner_text() for c in page.locator(".redemption-code").all()]
    with page.expect_download() as download:
        page.locator("#redemption-download").click()
    assert download.value.suggested_filename == "redemption-codes-gift-1.txt"
    assert Path(download.value.path()).read_text().split() == shown

    rq = page.request
    for name in ("sortuser1", "sortuser2"):
        _ok(rq.post(appliance + "/api/user/", data={"username": name, "password": "sortpass123"}))
    page.goto(appliance + "/user")
    first = page.locator(".user-row").first
    expect(first).to_contain_text("sortuser2")  # newest id first
    page.locator("#user-sort").select_option("request_count")
    expect(first).to_contain_text("root")  # root made the relay requests
    page.locator("#user-sort").select_option("")
    expect(first).to_contain_text("sortuser2")
