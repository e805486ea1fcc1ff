"""Pure pieces of the relay: the OpenAI adaptor on JSON fixtures, URL rules, SSE parsing, prices, choice."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import orjson
import pytest

from oneapi_app.catalog.channel_types import CHANNEL_TYPES, is_openai_family
from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors import adaptor_for
from oneapi_app.relay.adaptors.base import Call, Target, Usage
from oneapi_app.relay.adaptors.openai import OpenAIAdaptor, request_url
from oneapi_app.relay.retry import choose_channel
from oneapi_app.relay.streaming import SSEReader
from oneapi_app.relay.token_count import count_messages, count_text
from oneapi_app.relay.upstream import status_failure
from oneapi_app.services.cache import ChannelInfo, ChannelSnapshot
from oneapi_app.services.options import Options
from oneapi_app.services.pricing import completion_ratio, model_ratio, price_for

FIXTURES = Path(__file__).parent / "fixtures"


def _call(path="/v1/chat/completions", model="gpt-4o", kind="chat", stream=False, body=None, rewritten=False):
    body = body or {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return Call(kind=kind, path=path, model=model, body=body, raw=orjson.dumps(body), rewritten=rewritten,
                stream=stream)


# -- adaptor on fixtures --------------------------------------------------------------------------------
def test_parse_response_fixture_keeps_bytes_and_reads_usage():
    raw = (FIXTURES / "chat_response.json").read_bytes()
    parsed = OpenAIAdaptor().parse_response(_call(), raw, "application/json")
    assert parsed.body is raw
    assert parsed.usage == Usage(prompt_tokens=12, completion_tokens=40, cached_tokens=8, reasoning_tokens=30)
    assert parsed.text == "Paris."


def test_stream_fixture_through_reader_and_translator():
    raw = (FIXTURES / "chat_stream.txt").read_bytes()
    reader, translator = SSEReader(), OpenAIAdaptor().stream_translator(_call(stream=True), client_wants_usage=False)
    out = []
    for i in range(0, len(raw), 7):  # arbitrary network chunking
        out += [translator.feed(p) for p in reader.feed(raw[i:i + 7])]
    out += [translator.feed(p) for p in reader.finish()]
    events = [e for e in out if e is not None]
    assert len(events) == 4 and events[-1] == b"data: [DONE]\n\n"  # usage chunk stripped, comments dropped
    assert all(e.startswith(b"data: {") for e in events[:-1])
    assert translator.text() == "Hello" and translator.usage == Usage(5, 2) and translator.done

    keep = OpenAIAdaptor().stream_translator(_call(stream=True), client_wants_usage=True)
    kept = [keep.feed(p) for p in SSEReader().feed(raw)]
    assert sum(1 for e in kept if e and b'"usage"' in e) == 1


def test_sse_reader_handles_crlf_and_split_lines():
    reader = SSEReader()
    assert reader.feed(b"data: {\"a\"") == []
    assert reader.feed(b":1}\r\n\r\n: comment\r\nevent: x\r\ndata:[DONE]\r\n") == [b'{"a":1}', b"[DONE]"]
    assert reader.feed(b"data: tail") == [] and reader.finish() == [b"tail"]


def test_sse_reader_one_event_fast_path_matches_the_general_path():
    for chunk in (b'data: {"a":1}\n\n', b"data:  spaced\n\n", b"data: crlf\r\n\r\n", b"data: a\n\ndata: b\n\n",
                  b"data: \n\n", b": ping\n\n", b"event: x\ndata: y\n\n"):
        fast = SSEReader().feed(chunk)
        general = SSEReader()
        assert fast == general.feed(chunk[:1]) + general.feed(chunk[1:]), chunk


def test_stream_translator_counts_text_lazily_and_keeps_usage_chunks_with_choices():
    translator = OpenAIAdaptor().stream_translator(_call(stream=True), client_wants_usage=False)
    count = 3 * translator.COMPACT_AT + 5  # crosses the compaction threshold (bounded memory) several times
    for i in range(count):
        event = {"choices": [{"index": 0, "delta": {"content": f"{i},"}}]}
        assert translator.feed(orjson.dumps(event)) == b"data: " + orjson.dumps(event) + b"\n\n"
    mixed = {"choices": [{"index": 0, "delta": {"content": "end"}}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    assert translator.feed(orjson.dumps(mixed)) is not None  # has choices: forwarded even unasked
    assert translator.feed(b'{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}') is None
    assert translator.feed(b"[DONE]") == b"data: [DONE]\n\n" and translator.done
    assert translator.usage == Usage(3, 5)
    assert translator.text() == "".join(f"{i}," for i in range(count)) + "end"
    assert translator.text() == "".join(f"{i}," for i in range(count)) + "end"  # idempotent


def test_error_fixture_is_forwarded_as_openai_error():
    failure = OpenAIAdaptor().map_error(429, (FIXTURES / "error_body.json").read_bytes())
    assert failure.status == 429 and failure.retryable
    body = failure.openai_body("RID")["error"]
    assert body["message"] == "Rate limit reached for gpt-4o (request id: RID)" and body["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(("status", "raw", "message", "retryable"), [
    (500, b'{"message":"boom"}', "boom", True),
    (502, b'{"msg":"bad gateway"}', "bad gateway", True),
    (503, b"<html>down</html>", "bad response status code 503", True),
    (400, b'{"error_msg":"nope"}', "nope", False),
    (401, b'{"header":{"message":"auth"}}', "auth", False),
])
def test_status_failure_message_fallbacks(status, raw, message, retryable):
    failure = status_failure(status, raw)
    assert failure.message == message and failure.retryable is retryable
    error = failure.openai_body()["error"]
    assert error["type"] == "upstream_error" and error["code"] == "bad_response_status_code"
    assert error["param"] == str(status)


def test_build_request_pass_through_and_headers():
    adaptor = OpenAIAdaptor()
    call = _call(path="/v1/chat/completions?x=1")
    request = adaptor.build_request(Target(1, "https://up.example/", "sk-secret"), call)
    assert request.url == "https://up.example/v1/chat/completions?x=1"
    assert request.body is call.raw and request.headers["Authorization"] == "Bearer sk-secret"
    rewritten = adaptor.build_request(Target(20, "", "k"), _call(rewritten=True, body={"model": "m", "a": 1}))
    assert orjson.loads(rewritten.body) == {"model": "m", "a": 1}
    assert rewritten.headers["X-Title"] == "One API" and rewritten.url.startswith("https://openrouter.ai/api/v1/")


@pytest.mark.parametrize(("type_id", "base", "path", "model", "expected"), [
    (3, "https://res.openai.azure.com", "/v1/chat/completions", "gpt-3.5-turbo",
     "https://res.openai.azure.com/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-03-01-preview"),
    (3, "https://gateway.ai.cloudflare.com/v1/a/b/azure-openai/res", "/v1/embeddings", "ada",
     "https://gateway.ai.cloudflare.com/v1/a/b/azure-openai/res/ada/embeddings?api-version=2024-03-01-preview"),
    (1, "https://gateway.ai.cloudflare.com/v1/a/b/openai", "/v1/chat/completions", "m",
     "https://gateway.ai.cloudflare.com/v1/a/b/openai/chat/completions"),
    (50, "https://my.host/api/", "/v1/chat/completions", "m", "https://my.host/api/chat/completions"),
    (40, "", "/v1/embeddings", "m", "https://ark.cn-beijing.volces.com/api/v3/embeddings"),
    (49, "", "/v1/chat/completions", "m", "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
    (27, "", "/v1/chat/completions", "m", "https://api.minimax.chat/v1/text/chatcompletion_v2"),
    (29, "", "/v1/chat/completions", "m", "https://api.groq.com/openai/v1/chat/completions"),
    (16, "", "/v1/chat/completions", "glm-4", "https://open.bigmodel.cn/api/paas/v4/chat/completions"),
    (16, "", "/v1/embeddings", "embedding-3", "https://open.bigmodel.cn/api/paas/v4/embeddings"),
    (17, "", "/v1/chat/completions", "qwen-max", "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
    (30, "http://nas.local:11434/", "/v1/chat/completions", "llama3", "http://nas.local:11434/v1/chat/completions"),
    (30, "", "/v1/embeddings", "nomic-embed-text", "http://localhost:11434/v1/embeddings"),
    (35, "", "/v1/chat/completions", "command-r", "https://api.cohere.ai/compatibility/v1/chat/completions"),
    (37, "", "/v1/chat/completions", "@cf/meta/llama-3.1-8b-instruct",
     "https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1/chat/completions"),
    (37, "https://gateway.ai.cloudflare.com/v1/acc123/gw/workers-ai", "/v1/embeddings", "@cf/baai/bge-base-en-v1.5",
     "https://gateway.ai.cloudflare.com/v1/acc123/gw/workers-ai/v1/embeddings"),
])
def test_request_urls(type_id, base, path, model, expected):
    config = {"user_id": "acc123"} if type_id == 37 else {}
    assert request_url(Target(type_id, base, "k", config), _call(path=path, model=model)) == expected


def test_cloudflare_without_account_is_a_clear_retryable_error():
    with pytest.raises(UpstreamFailure) as caught:
        request_url(Target(37, "", "k"), _call())
    assert caught.value.retryable and "账户 ID" in caught.value.message


def test_azure_uses_api_key_header_and_configured_version():
    request = OpenAIAdaptor().build_request(Target(3, "https://r.azure.com", "az", {"api_version": "2024-06-01"}),
                                            _call(path="/v1/chat/completions?a=b", model="gpt-4o"))
    assert request.headers["api-key"] == "az" and "Authorization" not in request.headers
    assert request.url.endswith("/openai/deployments/gpt-4o/chat/completions?a=b&api-version=2024-06-01")


def test_registry_families():
    assert is_openai_family(1) and is_openai_family(45) and not is_openai_family(14)
    assert adaptor_for(18).family == "xunfei" and adaptor_for(36) is not None and adaptor_for(14).name == "anthropic"
    assert CHANNEL_TYPES[36].base_url == "https://api.deepseek.com"


# -- prices -----------------------------------------------------------------------------------------------
def test_ratio_lookup_order():
    options = Options(ModelRatio='{"gpt-4o": 9, "gpt-4o(3)": 7}', CompletionRatio='{"my-model": 1.5}',
                      GroupRatio='{"default": 1, "vip": 0.5}')
    assert model_ratio(options, "gpt-4o", 3) == 7
    assert model_ratio(options, "gpt-4o", 1) == 9
    assert model_ratio(options, "gpt-4o-mini", 1) == 0.075
    assert model_ratio(options, "unknown-model", 1) == 30
    assert model_ratio(options, "qwen-max-internet", 17) == model_ratio(options, "qwen-max", 17)
    assert completion_ratio(options, "my-model", 1) == 1.5
    assert completion_ratio(options, "gpt-4o-2024-05-13", 1) == 3
    assert completion_ratio(options, "gpt-4o-mini", 1) == 4
    assert completion_ratio(options, "claude-3-opus-20240229", 14) == 5
    assert completion_ratio(options, "llama3-70b-8192", 33) == pytest.approx(1.3207547)
    assert completion_ratio(options, "o3-mini", 1) == 4  # one-api says 1 (no rule for o3): OpenAI's $1.10/$4.40
    price = price_for(options, "gpt-4o-mini", 1, "vip")
    assert price.ratio == pytest.approx(0.0375)
    assert price.quota(1000, 1000) == 188  # ceil((1000 + 4000) * 0.0375)
    assert price.quota(0, 0) == 0 and price.quota(1, 0) == 1


def test_token_counts_offline():
    assert count_text("hello world", "gpt-4o") == 2
    assert count_text("hello world", "gpt-3.5-turbo") == 2
    assert count_messages([{"role": "user", "content": "hi there"}], "gpt-3.5-turbo") == 9


# -- channel choice ---------------------------------------------------------------------------------------
def _snapshot(spec: list[tuple[int, int, int]]) -> ChannelSnapshot:
    channels = {cid: ChannelInfo(id=cid, type=1, name=str(cid), key="k", status=1, base_url="", weight=weight,
                                 priority=priority, model_mapping={}, system_prompt="", config={}, other="")
                for cid, priority, weight in spec}
    tiers: dict[int, list[int]] = {}
    for cid, priority, _ in spec:
        tiers.setdefault(priority, []).append(cid)
    return ChannelSnapshot(channels=channels, routes={("default", "m"): sorted(tiers.items(), key=lambda kv: -kv[0])},
                           group_models={"default": ["m"]}, built_at=0)


def test_choice_is_weighted_within_the_top_tier_then_falls_to_lower_tiers():
    snapshot = _snapshot([(1, 10, 3), (2, 10, 1), (3, 0, 100)])
    rng = random.Random(42)
    picks = [choose_channel(snapshot, "default", "m", set(), rng).id for _ in range(4000)]
    assert set(picks) == {1, 2}
    assert 2700 < picks.count(1) < 3300  # weight 3 : 1
    assert choose_channel(snapshot, "default", "m", {1, 2}, rng).id == 3
    assert choose_channel(snapshot, "default", "m", {1, 2, 3}, rng) is None
    assert choose_channel(snapshot, "vip", "m", set(), rng) is None


def test_weight_zero_counts_as_one():
    snapshot = _snapshot([(1, 0, 0), (2, 0, 0)])
    rng = random.Random(7)
    picks = [choose_channel(snapshot, "default", "m", set(), rng).id for _ in range(2000)]
    assert 800 < picks.count(1) < 1200


# -- the SQLite writer ------------------------------------------------------------------------------------
def ledger_db(path, token_quota: int, user_quota: int):
    """A WAL database with the ledger's three tables (token 1, user 1); the returned connection is autocommit."""
    import sqlite3

    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE tokens (id INTEGER PRIMARY KEY, remain_quota INT, used_quota INT)")
    setup.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, quota INT)")
    setup.execute("INSERT INTO tokens VALUES (1, ?, 0)", (token_quota,))
    setup.execute("INSERT INTO users VALUES (1, ?)", (user_quota,))
    setup.execute("CREATE TABLE ledger_holds (instance TEXT, seq INT, token_id INT, user_id INT, unlimited BOOL, "
                  "amount INT, request_id TEXT, created_at INT, PRIMARY KEY (instance, seq))")
    return setup


async def reserved(writer, hold):
    outcome = writer.reserve_now_or_in_turn(hold)
    return await outcome if isinstance(outcome, asyncio.Future) else outcome


async def test_sqlite_reservations_of_one_loop_turn_share_a_transaction_and_yield_to_a_locked_database(tmp_path):

    from oneapi_app.services.ledger import Hold
    from oneapi_app.services.ledger.sqlite import SqliteWriter

    def hold(unlimited: bool, amount: int, seq: list[int] = [0]) -> Hold:  # noqa: B006 - a counter
        seq[0] += 1
        return Hold(1, unlimited, 1, amount, "i", seq[0])

    path = tmp_path / "w.db"
    setup = ledger_db(path, token_quota=100, user_quota=1000)
    writer = SqliteWriter(str(path), 3000)
    await writer.start()
    try:
        assert writer.reserve_now_or_in_turn(hold(False, 60)) is None  # alone in its turn: committed at once
        changes = setup.execute("PRAGMA data_version").fetchone()[0]
        # more in the same loop turn: they form a group, one transaction, an outcome each
        group = [writer.reserve_now_or_in_turn(hold(False, 60)), writer.reserve_now_or_in_turn(hold(True, 5000)),
                 writer.reserve_now_or_in_turn(hold(False, 1))]
        assert all(isinstance(outcome, asyncio.Future) for outcome in group)
        assert await asyncio.gather(*group) == ["token", "user", None]  # 40 left: refused, nothing held
        assert setup.execute("PRAGMA data_version").fetchone()[0] == changes + 1  # one commit
        setup.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        pending = writer.reserve_now_or_in_turn(hold(False, 10))  # (still grouping): locked, the writer thread waits
        assert isinstance(pending, asyncio.Future)
        await asyncio.sleep(0.05)
        assert not pending.done()
        setup.execute("COMMIT")
        assert await pending is None
        assert writer.reserve_now_or_in_turn(hold(False, 1)) is None  # a turn with one: at once again
        assert setup.execute("SELECT remain_quota, used_quota FROM tokens").fetchone() == (28, 72)
        assert setup.execute("SELECT quota FROM users").fetchone() == (928,)
        assert setup.execute("SELECT seq, amount FROM ledger_holds ORDER BY seq").fetchall() == [
            (1, 60), (4, 1), (5, 10), (6, 1)]
    finally:
        await writer.stop()
        setup.close()


async def test_sqlite_checkpoint_restarts_a_grown_wal_and_never_waits_long_for_a_reader(tmp_path, monkeypatch):
    """Under steady commits a PASSIVE checkpoint never restarts the WAL (it grew without bound: 800 MB after 30 s
    of bench load); past RESTART_AT_FRAMES the checkpointer restarts it, waiting at most RESTART_WAIT_MS."""
    import time

    from oneapi_app.services.ledger import Hold
    from oneapi_app.services.ledger import sqlite as ledger_sqlite

    monkeypatch.setattr(ledger_sqlite, "RESTART_AT_FRAMES", 8)
    path = tmp_path / "w.db"
    setup = ledger_db(path, token_quota=1000000, user_quota=1000000)
    writer = ledger_sqlite.SqliteWriter(str(path), 3000)
    await writer.start()
    wal = tmp_path / "w.db-wal"
    try:
        for seq in range(1, 21):
            assert await reserved(writer, Hold(1, False, 1, 1, "i", seq)) is None
        setup.execute("BEGIN")  # a reader on an old snapshot: the RESTART pass gives up after its short wait
        setup.execute("SELECT COUNT(*) FROM ledger_holds").fetchone()
        for seq in range(21, 41):
            assert await reserved(writer, Hold(1, False, 1, 1, "i", seq)) is None
        started = time.monotonic()
        assert await writer.checkpoint() > 0
        assert time.monotonic() - started < 2
        assert await reserved(writer, Hold(1, False, 1, 1, "i", 41)) is None  # writers are not left blocked
        setup.execute("COMMIT")
        size = wal.stat().st_size
        assert await writer.checkpoint() == 0
        for seq in range(42, 52):  # written from the WAL's start again: the file does not grow
            assert await reserved(writer, Hold(1, False, 1, 1, "i", seq)) is None
        assert wal.stat().st_size == size
        assert setup.execute("SELECT remain_quota, used_quota FROM tokens").fetchone() == (1000000 - 51, 51)
    finally:
        await writer.stop()
        setup.close()


def test_scrub_removes_channel_keys_from_upstream_messages():
    from oneapi_app.relay.upstream import scrub

    failure = status_failure(401, b'{"error":{"message":"Incorrect API key provided: sk-abc***wxyz. Key sk-live-secret123 bad","type":"invalid_request_error","code":"invalid_api_key"}}')
    scrubbed = scrub(failure, "sk-live-secret123")
    text = orjson.dumps(scrubbed.openai_body("r")).decode()
    assert "secret123" not in text and "abc***wxyz" not in text and "Incorrect API key provided" in text


@pytest.mark.parametrize("type_id", [1, 14, 24])
def test_every_adaptor_implements_the_whole_stream_protocol(type_id):
    """The pipeline calls feed, finish and text and reads usage and done on every translator."""
    from oneapi_app.relay.adaptors import adaptor_for
    from oneapi_app.relay.adaptors.base import StreamTranslator

    translator = adaptor_for(type_id).stream_translator(_call(stream=True), False)
    for name in ("feed", "finish", "text"):
        assert callable(getattr(translator, name, None)), name
    assert hasattr(translator, "usage") and hasattr(translator, "done")
    assert {"feed", "finish", "text"} <= {n for n in dir(StreamTranslator) if not n.startswith("_")}
