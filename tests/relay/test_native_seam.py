"""The seam native adaptors plug into (adaptors/base.py), end to end through the pipeline with a made-up
provider: its own stream framing (newline-delimited JSON, ``frame_reader``), a credentials exchange
(``credential_request``: one exchange for many concurrent first requests), ``parse_answer`` and a
``decoder`` -- answered to an OpenAI client and to an Anthropic one by their dialects."""

from __future__ import annotations

import asyncio

import anthropic
import orjson
import pytest
from aiohttp import web

from oneapi_app.relay import pipeline
from oneapi_app.relay.adaptors.base import Call, CredentialRequest, Target
from oneapi_app.relay.events import Answer, Event, Finish, Start, TextDelta, Usage, UsageReport
from oneapi_app.relay.upstream import UpstreamRequest, status_failure
from tests.local_server import serving

from .conftest import add_channel, add_token, logs, row, sdk


class Lines:
    """Newline-delimited JSON frames."""

    def __init__(self) -> None:
        self.rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        return [line for line in lines if line.strip()]

    def finish(self) -> list[bytes]:
        rest, self.rest = self.rest, b""
        return [rest] if rest.strip() else []


class LinesDecoder:
    def __init__(self) -> None:
        self.started = False

    def feed(self, payload: bytes) -> list[Event]:
        data = orjson.loads(payload)
        out: list[Event] = [] if self.started else [Start("native-1", "")]
        self.started = True
        if "t" in data:
            out.append(TextDelta(data["t"]))
        if data.get("done"):
            out += [Finish("stop"), UsageReport(Usage(data["in"], data["out"]))]
        return out

    def finish(self) -> list[Event]:
        return []


class NativeAdaptor:
    name = family = "native-test"

    def credential_request(self, target: Target) -> CredentialRequest:
        return CredentialRequest(f"native:{target.key}", UpstreamRequest("POST", f"{target.base_url}/token", {},
                                                                         target.key.encode()),
                                 lambda body: (orjson.loads(body)["token"], 3600.0))

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        prompt = call.body["messages"][-1]["content"]
        return UpstreamRequest("POST", f"{target.base_url}/generate", {"Authorization": f"Bearer {target.credential}"},
                               orjson.dumps({"prompt": prompt, "stream": call.stream}))

    def map_error(self, status: int, body: bytes):
        return status_failure(status, body)

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        data = orjson.loads(body)
        return Answer(id="native-1", text=data["text"], usage=Usage(data["in"], data["out"]))

    def decoder(self, call: Call) -> LinesDecoder:
        return LinesDecoder()

    def frame_reader(self) -> Lines:
        return Lines()


@pytest.fixture
async def native(monkeypatch):
    state = {"exchanges": 0}

    async def token(request: web.Request) -> web.Response:
        state["exchanges"] += 1
        await asyncio.sleep(0.05)  # slow enough for concurrent first requests to meet here
        return web.json_response({"token": "tok-" + (await request.read()).decode()})

    async def generate(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer tok-secret":
            return web.json_response({"error": {"message": "bad token"}}, status=401)
        body = await request.json()
        if not body["stream"]:
            return web.json_response({"text": f"echo {body['prompt']}", "in": 5, "out": 2})
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        await resp.write(b'{"t": "echo "}\n{"t": "' + body["prompt"].encode()[:3])  # a frame cut in two
        await resp.write(body["prompt"].encode()[3:] + b'"}\n{"done": true, "in": 5, "out": 2}\n')
        return resp

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/generate", generate)
    adaptor = NativeAdaptor()
    monkeypatch.setattr(pipeline, "adaptor_for", lambda type_id: adaptor)
    async with serving(app) as url:
        yield url, state


async def test_a_native_adaptor_through_both_dialects(runtime, gateway, native):
    url, state = native
    await add_channel(runtime, url, key="secret", models="native-model")
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    oa = sdk(gateway, key)
    ask = [{"role": "user", "content": "hello world"}]
    answers = await asyncio.gather(*[oa.chat.completions.create(model="native-model", messages=ask)
                                     for _ in range(20)])
    assert {a.choices[0].message.content for a in answers} == {"echo hello world"}
    assert state["exchanges"] == 1  # one credentials exchange for 20 concurrent first requests
    stream = await oa.chat.completions.create(model="native-model", messages=ask, stream=True,
                                              stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo hello world"
    assert chunks[-1].usage.prompt_tokens == 5
    claude = anthropic.AsyncAnthropic(base_url=gateway, api_key=f"sk-{key}", max_retries=0)
    async with claude.messages.stream(model="native-model", max_tokens=10, messages=ask) as events:
        text = "".join([t async for t in events.text_stream])
        final = await events.get_final_message()
    assert text == "echo hello world" and final.usage.output_tokens == 2
    await claude.close()
    await oa.close()
    assert state["exchanges"] == 1
    entries = await logs(runtime)
    assert len(entries) == 22 and {(e["prompt_tokens"], e["completion_tokens"]) for e in entries} == {(5, 2)}
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == 1_000_000 == token["remain_quota"] + sum(
        e["quota"] for e in entries)
