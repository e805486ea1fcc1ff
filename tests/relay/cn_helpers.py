"""Shared helpers of the native adaptors' tests (baidu, spark, tencent, coze, deepl, replicate, aiproxy; bedrock
reuses run_frames)."""

from __future__ import annotations

from pathlib import Path

import orjson

from oneapi_app.relay.adaptors.base import Call
from oneapi_app.relay.events import Event, Finish, StreamError, TextDelta, UsageReport
from oneapi_app.relay.streaming import SSEReader

FIXTURES = Path(__file__).parent / "fixtures"


def load(provider: str, name: str):
    return orjson.loads((FIXTURES / provider / name).read_bytes())


def raw(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def call(body: dict, kind: str = "chat", stream: bool = False, model: str | None = None) -> Call:
    return Call(kind=kind, path="/v1/chat/completions", model=model or body.get("model", ""), body=body,
                raw=orjson.dumps(body), rewritten=False, stream=stream)


def decode(adaptor, c: Call, data: bytes, chunk: int = 0) -> list[Event]:
    """Run ``data`` through the adaptor's frame reader (SSE when it has none) and decoder, split into
    chunks of ``chunk`` bytes (0: one chunk) so deltas cross chunk boundaries."""
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    return run_frames(adaptor.frame_reader() or SSEReader(), adaptor.decoder(c), pieces)


def run_frames(reader, decoder, pieces: list[bytes]) -> list[Event]:
    """Byte pieces through a frame reader and a decoder, as the pipeline runs them: every event."""
    events: list[Event] = []
    for piece in pieces:
        for frame in reader.feed(piece):
            events += decoder.feed(frame)
    for frame in reader.finish():
        events += decoder.feed(frame)
    return events + decoder.finish()


def text(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def last_usage(events: list[Event]):
    found = [e.usage for e in events if isinstance(e, UsageReport)]
    return found[-1] if found else None


def finishes(events: list[Event]) -> list[str]:
    return [e.reason for e in events if isinstance(e, Finish)]


def errors(events: list[Event]):
    return [e.failure for e in events if isinstance(e, StreamError)]


# -- end to end ---------------------------------------------------------------------------------------------
START = 10_000_000



def expected_quota(runtime, model: str, type_id: int, prompt: int, completion: int) -> int:
    from oneapi_app.services import pricing

    return pricing.price_for(runtime.options, model, type_id, "default").quota(prompt, completion)


async def check_billing(runtime, key: str, quotas: list[int] | None = None) -> list[dict]:
    """remain + used == start, the logs' sum == used, and (when given) each log's quota as expected."""
    from .conftest import logs, row

    entries = await logs(runtime)
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert sum(e["quota"] for e in entries) == token["used_quota"]
    if quotas is not None:
        assert sorted(e["quota"] for e in entries) == sorted(quotas)
    return entries
