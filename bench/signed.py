#!/usr/bin/env python3
"""Signed providers' per-request cost, in process: what the relay adds per request for AWS Bedrock (request
conversion + SigV4 signature; answer conversion; event-stream decoding) and Vertex AI (the credentials step
served from its memo + request conversion), beside the OpenAI adaptor (which forwards bytes) as the baseline.

  python bench/signed.py [--n 5000]

Pure CPU: no network, no server. The end-to-end row (the gateway relaying to a Bedrock channel, beside the
OpenAI row, in one run) is bench/relay.py's, with ``add_bedrock_channel`` and ``bedrock_compare`` below. Each row is the median
of 5 runs of n iterations, in microseconds per request (per stream for the stream rows: 5 text deltas, a
tool call in 2 pieces, stop and usage, as tests/fakes_cloud.py builds them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson

from oneapi_app.relay.adaptors.base import Call, Target
from oneapi_app.relay.adaptors.bedrock import BedrockAdaptor
from oneapi_app.relay.adaptors.bedrock_stream import EventStreamReader
from oneapi_app.relay.adaptors.openai import OpenAIAdaptor
from oneapi_app.relay.adaptors.vertex import VertexAdaptor
from tests.fakes_cloud import (
    TEST_AK,
    TEST_REGION,
    TEST_SK,
    converse_answer,
    converse_stream,
    service_account,
)

BODY = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Write one sentence about the sea. " * 20}],
        "max_tokens": 256, "temperature": 0.7}
TOOLS = [{"type": "function", "function": {"name": "top_song", "parameters": {"type": "object", "properties": {}}}}]


BEDROCK_MODEL = "amazon.nova-pro-v1:0"


async def add_bedrock_channel(env: dict[str, str], mock_url: str) -> None:
    """A Bedrock channel (type 33, SigV4 with test keys) on bench/mock_upstream.py's Converse endpoints."""
    from oneapi_app.models import ChannelCreate
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.channels import create_channels
    from oneapi_app.settings import load_settings

    runtime = Runtime(load_settings(env))
    async with runtime.lifespan():
        async with runtime.db.session() as session:
            config = orjson.dumps({"region": TEST_REGION, "ak": TEST_AK, "sk": TEST_SK}).decode()
            await create_channels(session, ChannelCreate(type=33, key=f"{TEST_AK}|{TEST_SK}|{TEST_REGION}",
                                                         name="bedrock-mock", base_url=mock_url, models=BEDROCK_MODEL,
                                                         config=config), bus=runtime.changes)


def bedrock_compare(cmd: list[str]) -> list[str]:
    """bench/relay.py's load.py compare command, for the Bedrock channel's model: the gateway converts to the
    Converse API, signs with SigV4 and decodes the binary event stream; the direct column is the same mock
    answering the same content in OpenAI's format."""
    out = list(cmd)
    out[out.index("--model") + 1] = BEDROCK_MODEL
    out[out.index("--label") + 1] += " / AWS Bedrock channel (SigV4, Converse, event stream)"
    return out


def call(model: str, stream: bool = False, **extra) -> Call:
    body = {"model": model, **BODY, **extra}
    return Call(kind="chat", path="/v1/chat/completions", model=model, body=body, raw=orjson.dumps(body),
                rewritten=False, stream=stream)


def measure(fn, n: int) -> float:
    fn()  # warm (lazy imports, memo)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    n = parser.parse_args().n

    openai_adaptor, bedrock, vertex = OpenAIAdaptor(), BedrockAdaptor(), VertexAdaptor()
    openai_target = Target(1, "http://127.0.0.1:9", "sk-test")
    bedrock_target = Target(33, "", "", {"ak": TEST_AK, "sk": TEST_SK, "region": TEST_REGION})
    account = service_account("https://oauth2.googleapis.com/token")
    vertex_target = Target(42, "", "", {"region": "us-east5", "vertex_ai_project_id": "p",
                                        "vertex_ai_adc": orjson.dumps(account).decode()}, credential="ya29.x")
    converse_call = call("amazon.nova-pro-v1:0", tools=TOOLS)
    answer = orjson.dumps(converse_answer(converse_call.body))
    stream_bytes = converse_stream(converse_call.body)

    def decode_stream() -> None:
        reader, decoder = EventStreamReader(), bedrock.decoder(converse_call)
        for piece in stream_bytes:
            for frame in reader.feed(piece):
                decoder.feed(frame)
        decoder.finish()

    def vertex_request() -> None:
        vertex.credential_request(vertex_target)
        vertex.build_request(vertex_target, call("gemini-2.0-flash-001"))

    rows = [
        ("openai: build_request (bytes forwarded)", lambda: openai_adaptor.build_request(openai_target, call("gpt-4o"))),
        ("bedrock claude: convert + SigV4", lambda: bedrock.build_request(bedrock_target,
                                                                          call("claude-3-5-sonnet-20240620"))),
        ("bedrock converse: convert + SigV4", lambda: bedrock.build_request(bedrock_target, converse_call)),
        ("bedrock converse: parse answer", lambda: bedrock.parse_answer(converse_call, answer, "application/json")),
        (f"bedrock converse: decode event stream ({len(stream_bytes)} chunks)", decode_stream),
        ("vertex gemini: credentials (memo) + convert", vertex_request),
    ]
    print(f"| step | us per request (median of 5 x {n}) |")
    print("| --- | ---: |")
    for name, fn in rows:
        print(f"| {name} | {measure(fn, n):.1f} |")


if __name__ == "__main__":
    main()
