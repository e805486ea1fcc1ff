#!/usr/bin/env python3
"""Signed providers' per-request cost, in process: what the relay adds per request for AWS Bedrock (request
conversion + SigV4 signature; answer conversion; event-stream decoding) and Vertex AI (the credentials step
served from its memo + request conversion), beside the OpenAI adaptor (which forwards bytes) as the baseline.

  python bench/signed.py [--n 5000]

Pure CPU: no network, no server (the relay's end-to-end numbers are bench/relay.py's). Each row is the median
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
