"""OpenAI chat <-> AWS Bedrock Converse API (pure functions and the stream decoder, used by bedrock.py).

Converse is Bedrock's one message format for every model family (Llama, Mistral, Nova, Cohere, DeepSeek...):
``POST /model/{modelId}/converse`` and ``/converse-stream``.

Request: system/developer messages become ``system`` text blocks; user content parts become ``text`` and
``image`` blocks (images as base64 bytes: Converse takes no URLs); assistant ``tool_calls`` become ``toolUse``
blocks and ``tool`` messages ``toolResult`` blocks of a user turn; consecutive turns of one role are merged
(Converse requires alternating roles). max_tokens/temperature/top_p/stop go to ``inferenceConfig``; tools to
``toolConfig``; ``reasoning_effort`` to Nova's ``reasoningConfig``.

Answer: ``output.message.content`` (text, toolUse, reasoningContent) -> ``Answer``; ``usage`` (inputTokens,
outputTokens, cacheReadInputTokens, cacheWriteInputTokens) -> ``Usage`` where prompt tokens count the cached
input too. Stream: the event-stream messages (see bedrock.py's frame reader) -> typed events.
"""

from __future__ import annotations

import uuid

import orjson

from ...errors import RelayError
from ...i18n import msg
from ..events import (
    Answer,
    Event,
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from .bedrock_stream import split_frame, stream_failure
from .chat_blocks import (
    alternate_turns,
    cache_usage,
    content_blocks,
    function_tools,
    is_number,
    stop_sequences,
    text_of,
)

FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
                  "model_context_window_exceeded": "length"}
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
# reasoning_effort -> Nova 2's reasoningConfig.maxReasoningEffort
NOVA_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


# -- request --------------------------------------------------------------------------------------------
def _bad_image() -> RelayError:
    return RelayError(msg("relay.bedrock_image_url"), status=400, code="convert_request_failed")


def _image(part: dict) -> dict:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise _bad_image()
    header, _, data = url.partition(",")
    fmt = IMAGE_FORMATS.get(header[5:].split(";")[0].lower())
    if fmt is None:
        raise _bad_image()
    # In Converse's JSON form the image bytes travel base64-encoded: the data URL's payload as it is.
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _text_block(text: str) -> dict:
    return {"text": text}


def _blocks(content: object) -> list[dict]:
    return content_blocks(content, _text_block, _image)


def _tool_use(call_id: str, name: str, arguments: dict) -> dict:
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}


def _tool_result(message: dict) -> dict:
    content = message.get("content")
    parts: list[dict]
    if isinstance(content, list):
        parts = [{"text": t} for t in (text_of(content),) if t]
    elif isinstance(content, str):
        parts = [{"text": content}] if content else []
    elif content is not None:
        parts = [{"json": content}] if isinstance(content, dict) else [{"text": orjson.dumps(content).decode()}]
    else:
        parts = []
    return {"toolResult": {"toolUseId": str(message.get("tool_call_id") or ""), "content": parts or [{"text": ""}]}}


def convert_messages(messages: list) -> tuple[list[dict], list[dict]]:
    """(system blocks, Converse messages with alternating roles)."""
    system, turns = alternate_turns(messages, blocks=_blocks, tool_use=_tool_use, tool_result=_tool_result,
                                    tool_roles=("tool", "function"))
    return [{"text": text} for text in system], turns


def _tools(tools: object) -> list[dict]:
    return [{"toolSpec": {**spec, "inputSchema": {"json": schema}}} for spec, schema in function_tools(tools)]


def _tool_choice(choice: object) -> dict | None:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        return {"tool": {"name": choice["function"]["name"]}}
    return None  # "none" has no Converse form (see convert_request)


def _has_tool_blocks(messages: list[dict]) -> bool:
    return any("toolUse" in block or "toolResult" in block for m in messages for block in m["content"])


def convert_request(body: dict, model_id: str) -> dict:
    """An OpenAI chat completion body -> a Converse request body (the model id goes in the URL)."""
    system, messages = convert_messages(body.get("messages") or [])
    out: dict = {"messages": messages}
    if system:
        out["system"] = system
    config: dict = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        config["maxTokens"] = max_tokens
    if is_number(body.get("temperature")):
        config["temperature"] = body["temperature"]
    if is_number(body.get("top_p")):
        config["topP"] = body["top_p"]
    stops = stop_sequences(body.get("stop"))
    if stops is not None:
        config["stopSequences"] = stops
    if config:
        out["inferenceConfig"] = config
    tools = _tools(body.get("tools"))
    if tools and body.get("tool_choice") == "none" and not _has_tool_blocks(messages):
        tools = []  # Converse has no "none": no tools declared is the same (unless the history has tool blocks)
    if tools:
        tool_config: dict = {"tools": tools}
        choice = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            tool_config["toolChoice"] = choice
        out["toolConfig"] = tool_config
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in NOVA_EFFORT and ".nova-" in f".{model_id}":
        out["additionalModelRequestFields"] = {
            "reasoningConfig": {"type": "enabled", "maxReasoningEffort": NOVA_EFFORT[effort]}}
    return out


# -- answer ---------------------------------------------------------------------------------------------
def usage_of(data: object) -> Usage | None:
    """Converse usage -> Usage: prompt = input + cache reads + cache writes (Converse reports inputTokens
    without them), cached = cache reads, cache_creation = cache writes."""
    return cache_usage(data, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")


def finish_reason(stop_reason: object) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def parse_answer(data: dict, model: str) -> Answer:
    """A Converse answer -> Answer."""
    output = data.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    texts: list[str] = []
    reasoning: list[str] = []
    signature = ""
    calls: list[ToolCall] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            calls.append(ToolCall(str(use.get("toolUseId") or ""), str(use.get("name") or ""),
                                  orjson.dumps(use.get("input") if use.get("input") is not None else {}).decode()))
        elif isinstance(block.get("reasoningContent"), dict):
            text = block["reasoningContent"].get("reasoningText")
            if isinstance(text, dict):
                reasoning.append(str(text.get("text") or ""))
                signature = str(text.get("signature") or signature)
    return Answer(id=new_id(), model=model, text="".join(texts), reasoning="".join(reasoning),
                  reasoning_signature=signature, tool_calls=calls,
                  finish_reason=finish_reason(data.get("stopReason")), usage=usage_of(data.get("usage")))


# -- stream ---------------------------------------------------------------------------------------------
class ConverseDecoder:
    """ConverseStream events (frames of bedrock_stream.EventStreamReader: event type + JSON payload) -> typed
    events; an exception message becomes a ``StreamError``. ``messageStop`` brings the stop reason and ``metadata`` the usage after it: the ``Finish`` is held
    until the usage came (or the stream ended), so every client format gets its usage with its last event."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._tools: dict[int, int] = {}  # contentBlockIndex -> tool call index
        self._finish: str | None = None
        self._finished = False

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [Start(id=new_id(), model=self.model)]

    def feed_event(self, kind: str, data: dict) -> list[Event]:
        events = self._start()
        if kind == "contentBlockDelta":
            delta = data.get("delta")
            if not isinstance(delta, dict):
                return events
            if isinstance(delta.get("text"), str):
                if delta["text"]:
                    events.append(TextDelta(delta["text"]))
            elif isinstance(delta.get("toolUse"), dict):
                index = self._tool_index(data)
                partial = delta["toolUse"].get("input")
                if isinstance(partial, str) and partial:
                    events.append(ToolCallDelta(index, arguments=partial))
            elif isinstance(delta.get("reasoningContent"), dict):
                reasoning = delta["reasoningContent"]
                text, signature = reasoning.get("text"), reasoning.get("signature")
                if isinstance(text, str) and text or isinstance(signature, str) and signature:
                    events.append(ReasoningDelta(text if isinstance(text, str) else "",
                                                 signature if isinstance(signature, str) else ""))
        elif kind == "contentBlockStart":
            start = data.get("start")
            use = start.get("toolUse") if isinstance(start, dict) else None
            if isinstance(use, dict):
                index = self._tool_index(data)
                events.append(ToolCallDelta(index, id=str(use.get("toolUseId") or ""), name=str(use.get("name") or "")))
        elif kind == "messageStop":
            self._finish = finish_reason(data.get("stopReason"))
        elif kind == "metadata":
            usage = usage_of(data.get("usage"))
            if usage is not None:
                events.append(UsageReport(usage))
            events += self._end()
        return events

    def _tool_index(self, data: dict) -> int:
        block = data.get("contentBlockIndex", -1)
        if block not in self._tools:
            self._tools[block] = len(self._tools)
        return self._tools[block]

    def _end(self) -> list[Event]:
        if self._finished or self._finish is None:
            return []
        self._finished = True
        return [Finish(self._finish)]

    def feed(self, frame: bytes) -> list[Event]:
        tag, data = split_frame(frame)
        if tag.startswith("!"):
            return [StreamError(stream_failure(tag[1:], data))]
        return self.feed_event(tag, data)

    def finish(self) -> list[Event]:
        return self._end()

