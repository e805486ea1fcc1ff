"""A hypothesis pass over the relay's inbound formats: generated bodies (arbitrary JSON, near-valid chat,
Anthropic and Gemini requests with wrong types, junk bytes) on /v1 (OpenAI), /v1/messages (Anthropic) and
/v1beta (Gemini), through the whole app, with a working upstream behind it. No input may produce a 500 or a
traceback; every error comes in its format's envelope; afterwards the books agree and no hold is left.

Bounded by a number of examples (derandomized, no database), never by a clock; the count is printed."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from oneapi_app.api import create_app
from oneapi_app.runtime import Runtime
from tests.relay.conftest import add_channel, add_token

from .fault_upstream import FaultUpstream, start

pytestmark = pytest.mark.faults

EXAMPLES = 300
START = 10**9
MODEL = "gpt-4o-mini"

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
                    st.floats(allow_nan=False), st.text(max_size=20))
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)
models = st.one_of(st.just(MODEL), st.sampled_from(["", "no-such-model", " gpt-4o-mini"]), scalars)
roles = st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "developer"]), scalars)
contents = st.one_of(st.text(max_size=30), anything,
                     st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "x"]),
                                                     "text": st.one_of(st.text(max_size=10), scalars)}), max_size=3))
messages = st.one_of(st.lists(st.fixed_dictionaries({"role": roles, "content": contents}), max_size=4), anything)
knobs = {"stream": st.one_of(st.booleans(), scalars), "max_tokens": st.one_of(st.integers(-5, 10**7), scalars),
         "temperature": scalars, "n": st.one_of(st.integers(-1, 3), scalars), "tools": anything,
         "stream_options": anything}
openai_chat = st.fixed_dictionaries({"model": models, "messages": messages}, optional=knobs)
anthropic = st.fixed_dictionaries({"model": models, "messages": messages, "max_tokens": st.one_of(
    st.integers(-5, 4096), scalars)}, optional={"system": contents, "stream": st.one_of(st.booleans(), scalars)})
gemini = st.fixed_dictionaries({}, optional={"contents": st.one_of(st.lists(st.fixed_dictionaries(
    {"role": roles, "parts": st.one_of(st.lists(st.fixed_dictionaries({"text": contents}), max_size=3), anything)}),
    max_size=3), anything), "generationConfig": anything})
PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages",
         f"/v1beta/models/{MODEL}:generateContent", f"/v1beta/models/{MODEL}:streamGenerateContent"]
# near-valid requests (the right shape, generated values) so that a good share reaches the upstream
texts = st.text(min_size=1, max_size=40)
user_turns = st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": texts}), min_size=1, max_size=3)
valid_chat = st.fixed_dictionaries({"model": st.just(MODEL), "messages": user_turns}, optional={
    "stream": st.booleans(), "max_tokens": st.integers(1, 200), "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1), "user": texts})
valid_messages = st.fixed_dictionaries({"model": st.just(MODEL), "messages": user_turns,
                                        "max_tokens": st.integers(1, 200)}, optional={"stream": st.booleans(),
                                                                                      "system": texts})
valid_gemini = st.fixed_dictionaries({"contents": st.lists(st.fixed_dictionaries(
    {"role": st.just("user"), "parts": st.lists(st.fixed_dictionaries({"text": texts}), min_size=1, max_size=2)}),
    min_size=1, max_size=2)})
requests = st.one_of(
    st.tuples(st.just("/v1/chat/completions"), valid_chat.map(orjson.dumps)),
    st.tuples(st.just("/v1/messages"), valid_messages.map(orjson.dumps)),
    st.tuples(st.sampled_from(PATHS[4:]), valid_gemini.map(orjson.dumps)),
    st.tuples(st.sampled_from(PATHS), anything.map(orjson.dumps)),
    st.tuples(st.sampled_from(PATHS[:3]), openai_chat.map(orjson.dumps)),
    st.tuples(st.just("/v1/messages"), anthropic.map(orjson.dumps)),
    st.tuples(st.sampled_from(PATHS[4:]), gemini.map(orjson.dumps)),
    st.tuples(st.sampled_from(PATHS), st.binary(max_size=64)),
)


def _envelope(path: str, status: int, body: bytes) -> None:
    what = f"{path} -> {status}: {body[:300]!r}"
    assert status < 500 or status in (502, 503, 504), what
    assert status != 500, what
    if status < 400:
        return
    error = orjson.loads(body)
    if path == "/v1/messages" and status != 404:  # (404: a build without the Messages dialect: OpenAI's)
        assert error["type"] == "error" and isinstance(error["error"]["message"], str), what
    else:  # OpenAI's and Gemini's both carry error.message
        assert isinstance(error["error"]["message"], str) and error["error"]["message"], what


def test_generated_relay_requests_never_break_the_gateway(make_settings, caplog):
    counted = {"cases": 0, "errors": 0}
    with asyncio.Runner() as runner:
        runtime = Runtime(make_settings())
        lifespan = runtime.lifespan()
        runner.run(lifespan.__aenter__())
        upstream = FaultUpstream()
        upstream_runner = runner.run(start(upstream))
        try:
            runner.run(add_channel(runtime, upstream.url, key="ok", models=MODEL))
            key = runner.run(add_token(runtime, unlimited=False, remain_quota=START))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw",
                                       timeout=30)
            headers = {"Authorization": f"Bearer sk-{key}", "x-api-key": f"sk-{key}", "x-goog-api-key": f"sk-{key}",
                       "Content-Type": "application/json"}

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(requests)
            def check(request: tuple[str, bytes]) -> None:
                path, body = request
                resp = runner.run(client.post(path, content=body, headers=headers))
                counted["cases"] += 1
                counted["errors"] += resp.status_code >= 400
                _envelope(path, resp.status_code, resp.content)

            check()
            runner.run(client.aclose())
            runner.run(runtime.ledger.flush())

            async def books() -> tuple:
                async with runtime.db.engine.connect() as conn:
                    token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens"))).one()
                    logged = (await conn.execute(text("SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs "
                                                      "WHERE type = 2"))).one()
                    holds = (await conn.execute(text("SELECT COUNT(*) FROM ledger_holds"))).scalar_one()
                return token, logged, holds

            token, logged, holds = runner.run(books())
        finally:
            runner.run(upstream_runner.cleanup())
            runner.run(lifespan.__aexit__(None, None, None))
    print(f"\nrelay fuzz: {counted['cases']} generated requests, {counted['errors']} refused with an error envelope, "
          f"{upstream.injected['ok']} reached the upstream, {logged[0]} consume rows; holds left {holds}")
    crashes = [r.getMessage() for r in caplog.records if r.exc_info and r.name.startswith("oneapi_app")]
    assert not crashes, crashes[:3]
    assert counted["cases"] >= EXAMPLES
    assert token.remain_quota + token.used_quota == START and token.used_quota == logged[1]
    assert holds == 0
