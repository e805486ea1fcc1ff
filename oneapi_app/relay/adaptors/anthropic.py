"""The Anthropic (Claude) adaptor: channel type 14, family ``anthropic``.

The internal form (OpenAI chat completions) goes to ``POST {base}/v1/messages`` (``x-api-key`` +
``anthropic-version``); the answer and its stream come back as ``events.Answer`` and typed events
(conversion helpers: anthropic_messages.py, the stream decoder: anthropic_stream.py). A client of the
Messages dialect (/v1/messages) passes through: its body goes as sent (model mapping aside, its
``anthropic-version``/``anthropic-beta`` headers forwarded) and the answer's bytes come back unchanged.

Only chat is served. Other kinds (completions, embeddings, moderations, edits) fail in ``build_request``
with a 501 ``channel_type_not_supported`` marked retryable, exactly like a channel type without adaptor:
the pipeline then tries another channel of the group, and the client sees the 501 when none is left.

A stream's ``error`` event (e.g. ``overloaded_error`` after the first bytes) becomes a ``StreamError``: the
pipeline ends the client's stream with its dialect's error event and bills what was delivered.
"""

from __future__ import annotations

import orjson

from ...catalog.channel_types import channel_type
from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer
from ..upstream import UpstreamRequest
from .anthropic_messages import answer_of, anthropic_failure, convert_request, failure_in_body, usage_of
from .anthropic_stream import AnthropicDecoder, AnthropicPassStream
from .base import Call, FrameReader, Parsed, Target, load_object, not_supported
from .bedrock_claude import with_thinking  # reasoning_effort -> extended thinking, as on Bedrock and Vertex
from .response_format import response_tool

API_VERSION = "2023-06-01"
def messages_url(target: Target) -> str:
    base = (target.base_url or channel_type(target.channel_type).base_url or "https://api.anthropic.com").rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _load(body: bytes) -> dict:
    data = load_object(body)
    if data.get("type") == "error" or isinstance(data.get("error"), dict):
        raise failure_in_body(data)
    return data


FORWARDED = ("anthropic-beta",)


class AnthropicAdaptor:
    name = "anthropic"
    family = "anthropic"

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise not_supported(msg("relay.anthropic_chat_only", kind=call.kind))
        headers = {"x-api-key": target.key, "anthropic-version": call.headers.get("anthropic-version") or API_VERSION,
                   "content-type": "application/json",
                   "accept": "text/event-stream" if call.stream else "application/json"}
        if call.native:  # a Messages client: its body as sent (or as the gateway changed it)
            for name in FORWARDED:
                if call.headers.get(name):
                    headers[name] = call.headers[name]
            body = orjson.dumps(call.body) if call.rewritten else call.raw
        else:
            converted = with_thinking(convert_request(call.body, call.model, call.stream), call.body, call.model)
            body = orjson.dumps(converted)
        return UpstreamRequest("POST", messages_url(target), headers, body)

    # -- converted (the client speaks another dialect) --
    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return answer_of(_load(body), response_tool(call.body))

    def decoder(self, call: Call) -> AnthropicDecoder:
        return AnthropicDecoder(response_tool(call.body))

    def frame_reader(self) -> FrameReader | None:
        return None

    # -- pass-through (a Messages client) --
    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        data = _load(body)
        text = "".join(b["text"] for b in data.get("content") or ()
                       if isinstance(b, dict) and isinstance(b.get("text"), str))
        return Parsed(body, usage_of(data.get("usage")), text, content_type or "application/json")

    def stream_translator(self, call: Call, client_wants_usage: bool) -> AnthropicPassStream:
        return AnthropicPassStream()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return anthropic_failure(status, body)
